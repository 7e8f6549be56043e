// The few API calls Events and the Lease need, each with its own deadline, on the same HTTP client path as the
// Kubernetes source (apiRequest: client-node's KubeConfig applies the credentials, Node's http(s) sends).
import type { KubeConfig } from '../client-node/index.js';
import { apiRequest, readBody, statusMessage } from '../sources/kubernetes.js';
import { SourceError, abortError, errorMessage, reasonForNodeError, requestSignal } from '../sources/source.js';

/** Why a write of an Event or the Lease failed: the label values of k0s_etcdmember_events_errors_total. */
export const EVENTS_ERROR_REASONS = ['timeout', 'unavailable', 'tls', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'invalid', 'server_error', 'invalid_response', 'other'] as const;
export type EventsErrorReason = (typeof EVENTS_ERROR_REASONS)[number];

/** A failed call, classified; status is the HTTP status (0 when there was no answer). Messages carry no secrets. */
export class ApiCallError extends Error {
  constructor(
    readonly reason: EventsErrorReason,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export interface ApiCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  readonly path: string;
  readonly body?: unknown;
  /** Default application/json. */
  readonly contentType?: string;
  readonly timeoutMs: number;
  /** Ends the call early (shutdown). */
  readonly signal?: AbortSignal;
}

/** One call; resolves with the parsed JSON object of a 2xx answer, rejects with ApiCallError otherwise. */
export async function callApi(kubeConfig: KubeConfig, call: ApiCall): Promise<Record<string, unknown>> {
  const what = `${call.method} ${call.path.split('?')[0] ?? ''}`;
  const signal = requestSignal(call.timeoutMs, call.signal);
  let status = 0;
  let text: string;
  try {
    const res = await apiRequest(kubeConfig, call.path, {
      method: call.method,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      ...(call.contentType === undefined ? {} : { contentType: call.contentType }),
      signal,
      timeoutMs: call.timeoutMs,
    });
    status = res.statusCode ?? 0;
    text = await readBody(res, signal);
  } catch (err) {
    if (signal.aborted) {
      const e = abortError(signal, what, call.timeoutMs);
      throw new ApiCallError(e.reason === 'timeout' ? 'timeout' : 'other', 0, e.message);
    }
    const reason = err instanceof SourceError ? err.reason : (reasonForNodeError(err) ?? 'other');
    throw new ApiCallError(reason === 'timeout' || reason === 'unavailable' || reason === 'tls' ? reason : 'other', 0, `${what} failed: ${errorMessage(err)}`);
  }
  if (status < 200 || status > 299) throw new ApiCallError(reasonOf(status), status, `${what} answered ${status}: ${statusMessage(text)}`);
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new ApiCallError('invalid_response', status, `${what} answered ${status} with a body that is not a JSON object: ${text.slice(0, 120)}`);
}

function reasonOf(status: number): EventsErrorReason {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 400:
    case 422:
      return 'invalid';
    default:
      return status >= 500 ? 'server_error' : 'other';
  }
}

/** metav1.MicroTime as client-go writes it: RFC 3339 with six fractional digits, UTC. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
