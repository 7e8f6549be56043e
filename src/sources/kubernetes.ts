// Keeps the EtcdMember objects by list + watch, like a client-go reflector, so a change reaches the analysis
// within a second instead of at the next interval.
//
// client-node is used for what it does well (loading kubeconfig / in-cluster config and applying its
// credentials); the requests themselves are made here because its informer neither restarts after an error
// nor puts a deadline on list requests. Every request here has one signal that ends it at its deadline (or
// when the source stops), and every failure ends in a relist after a bounded, jittered backoff.
import http from 'node:http';
import https from 'node:https';
// From where src/kubeconfig.ts takes the class; '@kubernetes/client-node' itself would load its 56 MB generated API.
import type { KubeConfig } from '../client-node/index.js';
import { normaliseHexMemberId, type EtcdMemberObject, type KubernetesSnapshot } from '../model.js';
import type { Logger } from '../log.js';
import { redact } from '../redact.js';
import {
  SourceError,
  SourceStatus,
  abortError,
  errorMessage,
  raceSignal,
  reasonForNodeError,
  requestSignal,
  type ErrorReason,
  type Source,
  type SourceHealth,
  WakeableSleep,
} from './source.js';

export const GROUP = 'etcd.k0sproject.io';
export const VERSION = 'v1beta1';
export const PLURAL = 'etcdmembers';
const COLLECTION_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
/** Watch lines are single objects; anything larger than this is not an EtcdMember event. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** The most of one answer read (a list of many objects); more is not an API server's answer to us. */
const MAX_BODY_BYTES = 64 * MAX_LINE_BYTES;

export interface KubernetesReadOptions {
  readonly kubeConfig: KubeConfig;
  /** Deadline of a list request (credentials, headers and body), and of receiving a watch's response headers. */
  readonly requestTimeoutMs: number;
}

export interface KubernetesSourceOptions extends KubernetesReadOptions {
  /** How often to look again for the CRD while it is absent. */
  readonly crdRecheckMs: number;
  /** Server-side watch timeout: the server ends the watch then, and the client resumes it. */
  readonly watchTimeoutSeconds: number;
  /** A watch that sent nothing (no event, no bookmark, no end) for this long is dead; longer than watchTimeoutSeconds. */
  readonly watchSilenceMs: number;
  /** A watch the server ends sooner than this without an event is a failure (client-go's "very short watch": 1 s). */
  readonly shortWatchMs: number;
  /** The pause after a first failure (jittered: half to all of it), doubling with each further one up to maxBackoffMs. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly logger: Logger;
}

/** A list's result: the snapshot, the resourceVersion to watch from ("" without the CRD) and how many nameless items were skipped. */
export type EtcdMemberList = KubernetesSnapshot & { readonly resourceVersion: string; readonly skipped: number };

/**
 * One list of the EtcdMember objects, ended by its deadline (options.requestTimeoutMs) or earlier by signal.
 * A 404 means the CRD is not installed (kine or external etcd): crdPresent false, not an error.
 */
export async function listEtcdMembers(options: KubernetesReadOptions, signal: AbortSignal): Promise<EtcdMemberList> {
  const ms = options.requestTimeoutMs;
  const abort = requestSignal(ms, signal);
  try {
    const res = await apiRequest(options.kubeConfig, COLLECTION_PATH, { signal: abort, timeoutMs: ms });
    const body = await readBody(res, abort);
    if (res.statusCode === 404) return { crdPresent: false, resourceVersion: '', skipped: 0 };
    if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, body, 'list');
    const list = asRecord(parseJSON(body, 'list'), 'list');
    const items = list['items'];
    if (!Array.isArray(items)) throw new SourceError('invalid_response', 'etcdmember list has no items array');
    const objects = new Map<string, EtcdMemberObject>();
    let skipped = 0;
    for (const item of items) {
      const o = parseObject(item);
      if (o) objects.set(o.name, o);
      else skipped++;
    }
    return { crdPresent: true, objects: [...objects.values()], resourceVersion: resourceVersionOf(list), skipped };
  } catch (err) {
    if (err instanceof SourceError) throw err;
    if (abort.aborted) throw abortError(abort, `API list of ${PLURAL}`, ms);
    throw toSourceError(err, 'list', options.kubeConfig);
  }
}

/**
 * The API server's gitVersion (GET /version, as `kubectl version` reads it), within options.requestTimeoutMs.
 * On k0s it names the k0s release (v1.31.3+k0s.0). Throws SourceError.
 */
export async function readServerVersion(options: KubernetesReadOptions, signal: AbortSignal): Promise<string> {
  const ms = options.requestTimeoutMs;
  const abort = requestSignal(ms, signal);
  try {
    const res = await apiRequest(options.kubeConfig, '/version', { signal: abort, timeoutMs: ms });
    const body = await readBody(res, abort);
    if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, body, 'GET /version');
    const gitVersion = asRecord(parseJSON(body, '/version'), '/version')['gitVersion'];
    if (typeof gitVersion !== 'string' || gitVersion === '') {
      throw new SourceError('invalid_response', `/version has no gitVersion string: ${body.slice(0, 120)}`);
    }
    return gitVersion;
  } catch (err) {
    if (err instanceof SourceError) throw err;
    if (abort.aborted) throw abortError(abort, 'API GET /version', ms);
    throw toSourceError(err, 'GET /version', options.kubeConfig);
  }
}

export class KubernetesSource implements Source<KubernetesSnapshot> {
  readonly name = 'kubernetes';
  private readonly status = new SourceStatus();
  private objects = new Map<string, EtcdMemberObject>();
  private crdPresent: boolean | undefined;
  /** Where the next watch starts: the list's resourceVersion, advanced by every event and bookmark seen since. */
  private resourceVersion = '';
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** The loop's pause, cut short by stop() (and by news that cannot wait). */
  private readonly pause = new WakeableSleep();
  private onChange: () => void = () => {};
  /** The API server's gitVersion from the last /version read; undefined before it, or when that read failed. */
  private gitVersion: string | undefined;
  private versionRead: Promise<void> | undefined;
  private versionError: string | undefined;

  constructor(private readonly opts: KubernetesSourceOptions) {}

  /**
   * The API server's gitVersion (on k0s: v1.31.3+k0s.0), read at every list and every watch (re)start, since a
   * rolling k0s upgrade changes it; undefined while it could not be read.
   */
  serverVersion(): string | undefined {
    return this.gitVersion;
  }

  start(onChange: () => void): void {
    if (this.loop) return;
    this.onChange = onChange;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.pause.wake();
    await this.loop;
    await this.versionRead;
  }

  /** The current objects, or undefined while the API cannot be read. */
  snapshot(): KubernetesSnapshot | undefined {
    if (!this.status.health().up) return undefined;
    if (this.crdPresent === false) return { crdPresent: false };
    return { crdPresent: true, objects: [...this.objects.values()] };
  }

  health(): SourceHealth {
    return this.status.health();
  }

  errorCounts(): ReadonlyMap<ErrorReason, number> {
    return this.status.errorCounts();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Starts one /version read unless one runs; it never holds up the list or the watch, and has its own deadline. */
  private refreshVersion(): void {
    if (this.versionRead !== undefined || this.stopped) return;
    this.versionRead = (async () => {
      let version: string | undefined;
      try {
        version = await readServerVersion(this.opts, this.stopping.signal);
        this.versionError = undefined;
      } catch (err) {
        if (this.stopped) return;
        const message = errorMessage(err);
        // One warning per distinct problem: a server that never answers /version would otherwise log every minute.
        if (message !== this.versionError) this.opts.logger.warn('cannot read the API server version; judging as for any k0s version', { err: message });
        this.versionError = message;
      }
      if (version !== this.gitVersion) {
        if (version !== undefined) this.opts.logger.info('API server version', { git_version: version, was: this.gitVersion });
        this.gitVersion = version;
        this.onChange();
      }
    })().finally(() => {
      this.versionRead = undefined;
    });
  }

  private async run(): Promise<void> {
    // One count of consecutive failures across lists and watches, so the backoff grows whatever fails: a watch
    // that 410s at once, a watch the server ends at once, or one that RBAC forbids can never spin the loop.
    let failures = 0;
    while (!this.stopped) {
      if (!(await this.list())) {
        // Stopped: this sleep returns at once and the loop's condition ends it.
        await this.sleep(backoff(++failures, this.opts.minBackoffMs, this.opts.maxBackoffMs));
        continue;
      }
      if (this.crdPresent === false) {
        failures = 0;
        await this.sleep(this.opts.crdRecheckMs);
        continue;
      }
      // Like client-go's reflector: a watch that ends or breaks is resumed from the last resourceVersion seen
      // (kept in this.resourceVersion, so a watch that throws loses nothing); a 410 (history compacted) or any
      // other failure leads back to a full relist. stop() ends it through the catch: a watch open then, or
      // started after, fails at once.
      for (;;) {
        const opened = Date.now();
        this.refreshVersion();
        try {
          const events = await this.watch();
          // A watch that carried events, or stayed open a while, is healthy; one the server ends at once
          // without events (client-go's "very short watch") is a failure, or this loop would spin.
          // Stryker disable next-line EqualityOperator: > and >= differ only for a watch that lasted shortWatchMs to the millisecond (the <= of this line fails the tests of a short and of a long watch)
          const stayedOpen = Date.now() - opened > this.opts.shortWatchMs;
          if (events > 0 || stayedOpen) failures = 0;
          else await this.sleep(backoff(++failures, this.opts.minBackoffMs, this.opts.maxBackoffMs));
        } catch (err) {
          if (this.stopped) return;
          const e = toSourceError(err, 'watch', this.opts.kubeConfig);
          if (e.reason === 'gone') {
            this.status.count(e.reason);
            this.opts.logger.info('etcdmember watch expired, relisting', { reason: e.reason, err: e.message });
          } else if (e.reason === 'watch_dropped') {
            this.status.count(e.reason);
            this.opts.logger.warn('etcdmember watch failed', { reason: e.reason, err: e.message, resume_from: this.resourceVersion });
          } else {
            // The API did not answer the watch (timeout, refused, 403, 5xx): it cannot be read now, so the view
            // is down at once, one deadline after the watch broke, not only once the relist has failed as well.
            const wasUp = this.status.failed(e, undefined);
            this.opts.logger.error('kubernetes source failed', { reason: e.reason, err: e.message, during: 'watch' });
            // Stryker disable next-line ConditionalExpression: a watch opens only after a list that succeeded and only this branch takes the source down, so wasUp is true here (this also drops wasUp → false, which the 403 test catches)
            if (wasUp) this.onChange();
          }
          await this.sleep(backoff(++failures, this.opts.minBackoffMs, this.opts.maxBackoffMs));
          if (e.reason !== 'watch_dropped') break;
        }
      }
    }
  }

  /** Lists the objects, replacing the whole view; false when the list failed (already counted and logged). */
  private async list(): Promise<boolean> {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    let list: EtcdMemberList;
    this.refreshVersion();
    try {
      list = await listEtcdMembers(this.opts, this.stopping.signal);
    } catch (err) {
      if (this.stopped) return false;
      const e = toSourceError(err, 'list', this.opts.kubeConfig);
      const wasUp = this.status.failed(e, seconds());
      this.opts.logger.error('kubernetes source failed', { reason: e.reason, err: e.message });
      if (wasUp) this.onChange();
      return false;
    }
    this.skipped(list.skipped);
    if (!list.crdPresent) {
      if (this.crdPresent !== false) {
        this.opts.logger.warn(
          'EtcdMember CRD not found: this cluster keeps no EtcdMember objects (kine or external etcd?); Kubernetes figures are not exported',
          { resource: `${PLURAL}.${GROUP}` },
        );
      }
      this.objects.clear();
    } else {
      if (this.crdPresent === false) this.opts.logger.info('EtcdMember CRD found', {});
      this.objects = new Map(list.objects.map((o) => [o.name, o]));
    }
    this.crdPresent = list.crdPresent;
    this.resourceVersion = list.resourceVersion;
    if (this.status.succeeded(seconds())) this.opts.logger.info('kubernetes source up', { objects: this.objects.size, crd_present: this.crdPresent });
    this.onChange();
    return true;
  }

  private skipped(count: number): void {
    for (let i = 0; i < count; i++) {
      this.status.count('invalid_response');
      this.opts.logger.warn('skipping EtcdMember object without metadata.name', {});
    }
  }

  /** Follows a watch from this.resourceVersion until it ends, advancing it; returns how many events came. Throws on any failure. */
  private async watch(): Promise<number> {
    const ms = this.opts.requestTimeoutMs;
    const timeoutSeconds = this.opts.watchTimeoutSeconds;
    const from = this.resourceVersion;
    const query = `?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(from)}&timeoutSeconds=${timeoutSeconds}`;
    // The watch's one signal: ended by stop(), by the header deadline below, or by the silence limit.
    const ended = new AbortController();
    const signal = AbortSignal.any([this.stopping.signal, ended.signal]);
    const headerDeadline = AbortSignal.timeout(ms);
    const onDeadline = (): void => ended.abort(headerDeadline.reason);
    // Removed below once the headers came; an AbortSignal aborts at most once.
    headerDeadline.addEventListener('abort', onDeadline);
    let res: http.IncomingMessage;
    try {
      res = await apiRequest(this.opts.kubeConfig, COLLECTION_PATH + query, { signal, timeoutMs: ms });
      if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, await readBody(res, signal), 'watch');
    } catch (err) {
      if (err instanceof SourceError) throw err;
      if (signal.aborted) throw abortError(signal, `API watch of ${PLURAL}`, ms);
      throw err;
    } finally {
      headerDeadline.removeEventListener('abort', onDeadline);
    }
    // An open watch keeps the view current: its opening and every event or bookmark count as a successful read.
    this.status.alive();
    // Keepalive probes notice a peer that vanished without a reset long before the silence limit below.
    // Stryker disable next-line BooleanLiteral: only a network path that goes dead without a reset tells keepalive on from off; no test can make one (the silence limit's test covers such a watch)
    res.socket.setKeepAlive(true, 15_000);
    // The server ends the stream after timeoutSeconds; if it falls silent well past that, the connection is dead.
    const silenceMs = this.opts.watchSilenceMs;
    const onSilence = (): void => ended.abort(new SourceError('watch_dropped', `watch silent for ${silenceMs / 1000} s`));
    let events = 0;
    await readLines(res, signal, silenceMs, onSilence, (line) => {
      const event = asRecord(parseJSON(line, 'watch event'), 'watch event');
      const obj = event['object'];
      this.status.alive();
      if (event['type'] !== 'BOOKMARK') events++;
      switch (event['type']) {
        case 'ADDED':
        case 'MODIFIED': {
          const o = parseObject(obj);
          if (o) this.objects.set(o.name, o);
          else this.skipped(1);
          this.resourceVersion = resourceVersionOf(obj) || this.resourceVersion;
          this.onChange();
          break;
        }
        case 'DELETED': {
          const name = nameOf(obj);
          if (name === undefined) this.skipped(1);
          else this.objects.delete(name);
          this.resourceVersion = resourceVersionOf(obj) || this.resourceVersion;
          this.onChange();
          break;
        }
        case 'BOOKMARK':
          this.resourceVersion = resourceVersionOf(obj) || this.resourceVersion;
          break;
        case 'ERROR': {
          const code = (obj as { code?: unknown } | undefined)?.code;
          if (code === 410) throw new SourceError('gone', `watch from resourceVersion ${from} expired (410 Gone)`);
          throw statusError(typeof code === 'number' ? code : 0, JSON.stringify(obj ?? null), 'watch');
        }
        default:
          throw new SourceError('invalid_response', `watch event of unknown type ${JSON.stringify(event['type'])}`);
      }
    });
    return events;
  }

  private sleep(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.pause.sleep(ms);
  }
}

/** Validates one object at the boundary; undefined for an object without a name, which cannot be shown or deleted. */
export function parseObject(raw: unknown): EtcdMemberObject | undefined {
  const name = nameOf(raw);
  if (name === undefined) return undefined;
  const o = raw as { metadata?: { uid?: unknown; resourceVersion?: unknown; creationTimestamp?: unknown }; spec?: { leave?: unknown }; status?: Record<string, unknown> };
  const status = typeof o.status === 'object' && o.status !== null ? o.status : {};
  const rawId = status['memberID'];
  let memberId: string | undefined;
  let invalidMemberId: string | undefined;
  if (typeof rawId === 'string' && rawId !== '') {
    memberId = normaliseHexMemberId(rawId);
    if (memberId === undefined) invalidMemberId = rawId;
  } else if (rawId !== undefined && rawId !== null && rawId !== '') {
    // null is how a status without the field serialises from some clients: no status yet, like absent.
    invalidMemberId = JSON.stringify(rawId);
  }
  return {
    name,
    memberId,
    invalidMemberId,
    peerAddress: typeof status['peerAddress'] === 'string' ? status['peerAddress'] : undefined,
    leave: o.spec?.leave === true,
    reconcileStatus: typeof status['reconcileStatus'] === 'string' ? status['reconcileStatus'] : undefined,
    ...(typeof status['message'] === 'string' && status['message'] !== '' ? { message: status['message'] } : {}),
    ...joinedCondition(status['conditions']),
    ...metadataStrings(o.metadata),
  };
}

export interface ApiRequest {
  /** GET unless given. */
  readonly method?: string;
  /** A JSON body, sent with its Content-Type and Content-Length. */
  readonly body?: string;
  /** The body's media type; default application/json (a patch names its kind of patch here). */
  readonly contentType?: string;
  /** Ends the request at any step, credentials included: requestSignal(timeoutMs, parent). */
  readonly signal: AbortSignal;
  /** The deadline behind signal, for the timeout's message. */
  readonly timeoutMs: number;
}

/**
 * Starts one request to the API server (path from the cluster's server URL); resolves with the response once its
 * headers arrived. Read the body with readBody(res, signal).
 */
export async function apiRequest(kubeConfig: KubeConfig, path: string, r: ApiRequest): Promise<http.IncomingMessage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new SourceError('other', 'kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
  if (r.body !== undefined) Object.assign(headers, { 'Content-Type': r.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(r.body)) });
  const options: https.RequestOptions = { method: r.method ?? 'GET', headers };
  // Credentials may come from an exec or OIDC plugin that client-node runs without a deadline or a signal.
  try {
    await raceSignal(kubeConfig.applyToHTTPSOptions(options), r.signal, 'getting Kubernetes credentials (kubeconfig exec/auth plugin)', r.timeoutMs);
  } catch (err) {
    throw tlsFileError(err, kubeConfig) ?? err;
  }
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { ...options, signal: r.signal }, resolve);
    req.on('error', reject);
    req.end(r.body);
  });
}

function asRecord(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SourceError('invalid_response', `${what} is not a JSON object: ${JSON.stringify(v)?.slice(0, 120)}`);
  }
  return v as Record<string, unknown>;
}

function backoff(failures: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 10));
  return base / 2 + Math.random() * (base / 2);
}

/** The Joined condition's status, which k0s keeps in status.conditions (a list-map keyed by type). */
function joinedCondition(conditions: unknown): Pick<EtcdMemberObject, 'joined'> {
  if (!Array.isArray(conditions)) return {};
  for (const c of conditions as unknown[]) {
    const { type, status } = (c ?? {}) as { type?: unknown; status?: unknown };
    if (type === 'Joined' && typeof status === 'string' && status !== '') return { joined: status };
  }
  return {};
}

/** uid, resourceVersion and creationTimestamp when they are non-empty strings; absent otherwise. */
function metadataStrings(m: { uid?: unknown; resourceVersion?: unknown; creationTimestamp?: unknown } | undefined): Pick<EtcdMemberObject, 'uid' | 'resourceVersion' | 'creationTimestamp'> {
  const pick = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const uid = pick(m?.uid);
  const resourceVersion = pick(m?.resourceVersion);
  const creationTimestamp = pick(m?.creationTimestamp);
  return { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}), ...(creationTimestamp ? { creationTimestamp } : {}) };
}

function nameOf(raw: unknown): string | undefined {
  const name = (raw as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function resourceVersionOf(raw: unknown): string {
  const rv = (raw as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === 'string' ? rv : '';
}

function parseJSON(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SourceError('invalid_response', `${what} response is not JSON: ${text.slice(0, 120)}`);
  }
}

/** The message of a Kubernetes Status answer; the raw text (bounded) when the body is not one. */
export function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown } | null;
    if (typeof status?.message === 'string') return status.message;
  } catch {
    // not a Status object: keep the raw text
  }
  return body.slice(0, 300);
}

/** The error reason of an HTTP status the API answered; a request's own messages say what to do about it. */
export function statusReason(code: number): ErrorReason {
  switch (code) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 410:
      return 'gone';
    default:
      return code >= 500 ? 'server_error' : 'other';
  }
}

/** Turns a non-200 answer into a classified error whose message says what to do about it. */
function statusError(code: number, body: string, what: string): SourceError {
  const message = statusMessage(body);
  const detail =
    code === 401
      ? `401 Unauthorized: the kubeconfig's credentials were rejected (${message})`
      : code === 403
        ? `403 Forbidden: RBAC is missing rule {apiGroups: ["${GROUP}"], resources: ["${PLURAL}"], verbs: ["get","list","watch"]} for this identity (${message})`
        : code === 410
          ? `410 Gone: ${message}`
          : `${code}: ${message}`;
  return new SourceError(statusReason(code), `API ${what} answered ${detail}`);
}

/**
 * A TLS file of the kubeconfig that client-node could not read (it reads them at every request), by the file
 * error's code and the path Node names on it: a tls error that says which file; undefined for any other error.
 */
function tlsFileError(err: unknown, kubeConfig: KubeConfig): SourceError | undefined {
  const { code, path } = (err ?? {}) as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof path !== 'string') return undefined;
  const cluster = kubeConfig.getCurrentCluster();
  const user = kubeConfig.getCurrentUser();
  const files: [string, string | undefined][] = [
    ['certificate-authority', cluster?.caFile],
    ['client-certificate', user?.certFile],
    ['client-key', user?.keyFile],
  ];
  const named = files.find(([, file]) => file === path);
  return named === undefined ? undefined : new SourceError('tls', `cannot read the kubeconfig's ${named[0]} ${path} (${code})`);
}

function toSourceError(err: unknown, what: string, kubeConfig: KubeConfig): SourceError {
  if (err instanceof SourceError) return err;
  // Errors raised while reading a watch stream are already SourceErrors (watch_dropped); what arrives here
  // raw failed before any response, e.g. connection refused, and means the API cannot be reached. A TLS failure
  // is told by its code (reasonForNodeError), never by words in the message.
  const reason = reasonForNodeError(err) ?? 'other';
  const hint = reason === 'tls' ? "; check the kubeconfig's certificate-authority for this server" : '';
  return new SourceError(reason, `API ${what} at ${apiServer(kubeConfig)} failed: ${errorMessage(err)}${hint}`);
}

/** The current cluster's server URL for a message, without any userinfo it may carry. */
export function apiServer(kubeConfig: KubeConfig): string {
  const server = kubeConfig.getCurrentCluster()?.server;
  return server === undefined ? '(no current cluster)' : redact(server);
}

/** "GET /apis/…" of a response, for messages; Node keeps the request on it as res.req. */
function requested(res: http.IncomingMessage): string {
  const req = (res as http.IncomingMessage & { req?: http.ClientRequest }).req;
  return req === undefined ? 'an API request' : `${req.method} ${req.path}`;
}

/** The whole body (bounded); rejects when the signal ends first (the caller classifies that by the signal). */
export function readBody(res: http.IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = (): void => {
      res.destroy();
      reject(new Error('response body cancelled'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) res.destroy(new SourceError('invalid_response', `the answer to ${requested(res)} is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB, the most read`));
      else chunks.push(c);
    });
    res.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

/**
 * Feeds each newline-delimited line to onLine; rejects on error, when the signal ends, or on a throw in onLine.
 * onSilence is called (and is expected to end the signal) when nothing came for silenceMs.
 */
function readLines(
  res: http.IncomingMessage,
  signal: AbortSignal,
  silenceMs: number,
  onSilence: () => void,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    let timer = setTimeout(onSilence, silenceMs);
    const onAbort = (): void => {
      res.destroy();
      finish(signal.reason instanceof SourceError ? signal.reason : new SourceError('other', 'watch cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    function finish(err?: Error): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    }
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      clearTimeout(timer);
      timer = setTimeout(onSilence, silenceMs);
      pending += chunk;
      let nl: number;
      try {
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== '') onLine(line);
        }
      } catch (err) {
        res.destroy();
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (pending.length > MAX_LINE_BYTES) {
        res.destroy();
        finish(new SourceError('invalid_response', 'watch event larger than 4 MiB'));
      }
    });
    res.on('end', () => finish());
    // 'aborted' / 'error' both mean the server or the network cut the stream.
    res.on('error', (err) => finish(err instanceof SourceError ? err : new SourceError('watch_dropped', `watch stream broke: ${errorMessage(err)}`)));
    res.on('close', () => {
      if (!res.complete) finish(new SourceError('watch_dropped', 'watch stream closed by the server'));
    });
  });
}
