// The one shape every source has (etcd, the Kubernetes API, the k0s config file): it owns its loop, its
// deadlines, its health and its error counts; the exporter only combines snapshots and the metrics only read
// health and counts. Also the fixed vocabulary of failure reasons (so source_errors_total stays small and
// alertable) and the deadline helpers every request uses.

import { redact } from '../redact.js';
import { tlsErrorCode } from '../tls-errors.js';

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

export type SourceName = 'etcd' | 'kubernetes' | 'k0s_config';

export interface Source<T> {
  readonly name: SourceName;
  /** Starts the source's own loop; onChange is called (maybe often: callers coalesce) whenever snapshot() may differ; health() is read directly. */
  start(onChange: () => void): void;
  /** Stops the loop and cancels any request in flight; resolves once nothing of the source runs any more. */
  stop(): Promise<void>;
  /** The validated view; undefined while the source is down or not yet read, never a stale one. */
  snapshot(): T | undefined;
  /** Immutable: a change of health is a new object (SourceStatus keeps it so; /metrics relies on it). */
  health(): SourceHealth;
  /** Failures by reason since start, every reason present (0 when none); counts only grow. */
  errorCounts(): ReadonlyMap<ErrorReason, number>;
}

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
  /** Why the source is down; absent while it is up. */
  readonly lastError?: { readonly reason: ErrorReason; readonly message: string };
}

/** The bookkeeping every source shares: health transitions and error counts. */
export class SourceStatus {
  private current: SourceHealth = { attempted: false, up: false, lastSuccessMs: undefined, lastDurationSeconds: undefined };
  private readonly counts = new Map<ErrorReason, number>(ERROR_REASONS.map((r) => [r, 0]));

  health(): SourceHealth {
    return this.current;
  }

  errorCounts(): ReadonlyMap<ErrorReason, number> {
    return this.counts;
  }

  /** Records a successful read; returns whether the source was down (or untried) before. */
  succeeded(durationSeconds: number): boolean {
    const wasDown = !this.current.up;
    this.current = { attempted: true, up: true, lastSuccessMs: Date.now(), lastDurationSeconds: durationSeconds };
    return wasDown;
  }

  /** Records a failed read (counted); returns whether the source was up before. */
  failed(err: SourceError, durationSeconds: number | undefined): boolean {
    const wasUp = this.current.up;
    this.count(err.reason);
    this.current = {
      attempted: true,
      up: false,
      lastSuccessMs: this.current.lastSuccessMs,
      lastDurationSeconds: durationSeconds ?? this.current.lastDurationSeconds,
      lastError: { reason: err.reason, message: err.message },
    };
    return wasUp;
  }

  /** A sign of life between reads (an event or bookmark on an open watch): moves the last success on. */
  alive(): void {
    if (this.current.up) this.current = { ...this.current, lastSuccessMs: Date.now() };
  }

  /** Counts a failure that does not take the source down (a broken watch that is resumed, a skipped object). */
  count(reason: ErrorReason): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }
}

/** The signal of one request: ends at its deadline, or earlier when `parent` (the source stopping, a command's own limit) ends. */
export function requestSignal(timeoutMs: number, parent: AbortSignal | undefined): AbortSignal {
  const deadline = AbortSignal.timeout(timeoutMs);
  // Node 20 holds a timeout signal only while it has listeners of its own; one that only AbortSignal.any()
  // follows can be garbage-collected before it fires, and the request then has no deadline (a list with
  // nothing else to do hung until the server answered, 3 s, in test/kubernetes-list.test.ts).
  deadline.addEventListener('abort', () => {}, { once: true });
  return parent === undefined ? deadline : AbortSignal.any([deadline, parent]);
}

/** Why an aborted signal ended a request, classified: the deadline passed (timeout), else the caller cancelled it. */
export function abortError(signal: AbortSignal, what: string, timeoutMs: number): SourceError {
  const reason: unknown = signal.reason;
  if (reason instanceof SourceError) return reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') return new SourceError('timeout', `${what} took longer than ${timeoutMs} ms`);
  return new SourceError('other', `${what} cancelled`);
}

/**
 * Settles with p, or rejects with abortError() once the signal ends: for work that takes no signal itself
 * (a kubeconfig credential plugin, a gRPC call). The caller still has to stop that work (close the client).
 */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal, what: string, timeoutMs: number): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {}); // settles later, unobserved
    return Promise.reject(abortError(signal, what, timeoutMs));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, what, timeoutMs));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Classifies a Node.js network error code; undefined when it is not one of those. */
export function reasonForNodeError(err: unknown): ErrorReason | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'ETIMEDOUT' || code === 'ABORT_ERR' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(code)) {
    return 'unavailable';
  }
  if (tlsErrorCode(err) !== undefined) return 'tls';
  return undefined;
}

export function errorMessage(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}

/**
 * A pause a loop can have cut short: sleep() ends after `ms`, or at once when wake() is called (a stop, or work
 * that should not wait out the pause). One pause at a time, as each loop has.
 */
export class WakeableSleep {
  private wakeCurrent: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeCurrent = done;
    });
  }

  wake(): void {
    this.wakeCurrent?.();
  }
}
