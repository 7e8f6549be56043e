// What every source shares: a fixed vocabulary of failure reasons (so source_errors_total stays small and
// alertable) and the health record the metrics render.

import { redact } from '../redact.js';

export const ERROR_REASONS = [
  'timeout',
  'unavailable',
  'tls',
  'unauthorized',
  'forbidden',
  'not_found',
  'gone',
  'server_error',
  'invalid_response',
  'watch_dropped',
  'other',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

export type SourceName = 'etcd' | 'kubernetes';

/** A failure of a source, already classified; message is safe to log (no secrets). */
export class SourceError extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
  ) {
    // Messages quote URLs from kubeconfigs, flags and libraries; none may carry a password further.
    super(redact(message));
    this.name = 'SourceError';
  }
}

/** The health of one source as /metrics shows it. */
export interface SourceHealth {
  /** False until the first read has ended: before that the source is neither up nor down, and says nothing. */
  readonly attempted: boolean;
  readonly up: boolean;
  /** Unix milliseconds of the last successful read; undefined before the first. */
  readonly lastSuccessMs: number | undefined;
  /** Duration of the last read (successful or not), in seconds. */
  readonly lastDurationSeconds: number | undefined;
}

/** Classifies a Node.js network error code; undefined when it is not one of those. */
export function reasonForNodeError(err: unknown): ErrorReason | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'ETIMEDOUT' || code === 'ABORT_ERR' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(code)) {
    return 'unavailable';
  }
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return 'tls';
  }
  return undefined;
}

export function errorMessage(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}
