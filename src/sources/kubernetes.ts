// Keeps the EtcdMember objects by list + watch, like a client-go reflector, so a change reaches the analysis
// within a second instead of at the next interval.
//
// client-node is used for what it does well (loading kubeconfig / in-cluster config and applying its
// credentials); the requests themselves are made here because its informer neither restarts after an error
// nor puts a deadline on list requests. Every request here has one, and every failure ends in a relist after a
// bounded, jittered backoff.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { normaliseHexMemberId, type EtcdMemberObject, type KubernetesSnapshot } from '../model.js';
import type { Logger } from '../log.js';
import { SourceError, errorMessage, reasonForNodeError, type ErrorReason, type SourceHealth } from './source.js';

export const GROUP = 'etcd.k0sproject.io';
export const VERSION = 'v1beta1';
export const PLURAL = 'etcdmembers';
const COLLECTION_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
/** Watch lines are single objects; anything larger than this is not an EtcdMember event. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

export interface KubernetesSourceOptions {
  readonly kubeConfig: KubeConfig;
  /** Deadline of a list request, and of receiving a watch's response headers. */
  readonly requestTimeoutMs: number;
  /** How often to look again for the CRD while it is absent. */
  readonly crdRecheckMs: number;
  /** Server-side watch timeout; the client gives up 30 s after it if the stream went silent. */
  readonly watchTimeoutSeconds: number;
  readonly maxBackoffMs: number;
  readonly logger: Logger;
  readonly onChange: () => void;
  readonly onError: (reason: ErrorReason) => void;
}

export class KubernetesSource {
  private objects = new Map<string, EtcdMemberObject>();
  private crdPresent: boolean | undefined;
  private up = false;
  private watching = false;
  private lastSuccessMs: number | undefined;
  /** When the open watch last showed it is alive (opened, an event, a bookmark). */
  private lastWatchActivityMs = 0;
  private lastDurationSeconds: number | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private attempted = false;

  constructor(private readonly opts: KubernetesSourceOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  /** The current objects, or undefined while the API cannot be read. */
  snapshot(): KubernetesSnapshot | undefined {
    if (!this.up) return undefined;
    if (this.crdPresent === false) return { crdPresent: false };
    return { crdPresent: true, objects: [...this.objects.values()] };
  }

  /** True once the first list has ended, successfully or not: /readyz waits for it. */
  settled(): boolean {
    return this.attempted;
  }

  health(): SourceHealth {
    // An open watch keeps the view current: its last sign of life counts as the last successful read.
    return {
      attempted: this.attempted,
      up: this.up,
      lastSuccessMs: this.up && this.watching ? Math.max(this.lastWatchActivityMs, this.lastSuccessMs ?? 0) : this.lastSuccessMs,
      lastDurationSeconds: this.lastDurationSeconds,
    };
  }

  private async run(): Promise<void> {
    // One count of consecutive failures across lists and watches, so the backoff grows whatever fails: a watch
    // that 410s at once, a watch the server ends at once, or one that RBAC forbids can never spin the loop.
    let failures = 0;
    while (!this.stopped) {
      let resourceVersion: string;
      try {
        resourceVersion = await this.list();
      } catch (err) {
        if (this.stopped) return;
        this.fail(err, 'list');
        await this.sleep(backoff(++failures, this.opts.maxBackoffMs));
        continue;
      }
      if (this.crdPresent === false) {
        failures = 0;
        await this.sleep(this.opts.crdRecheckMs);
        continue;
      }
      // Like client-go's reflector: a watch that ends or breaks is resumed from the last resourceVersion seen;
      // a 410 (history compacted) or any other failure leads back to a full relist.
      for (;;) {
        const opened = Date.now();
        let delivered = false;
        try {
          const result = await this.watch(resourceVersion);
          resourceVersion = result.resourceVersion;
          delivered = result.events > 0;
          // A watch that carried events, or stayed open a while, is healthy; one the server ends at once
          // without events (client-go's "very short watch") is a failure, or this loop would spin.
          if (delivered || Date.now() - opened > 1000) failures = 0;
          else await this.sleep(backoff(++failures, this.opts.maxBackoffMs));
        } catch (err) {
          if (this.stopped) return;
          const e = toSourceError(err, 'watch');
          this.opts.onError(e.reason);
          if (e.reason === 'gone') {
            this.opts.logger.info('etcdmember watch expired, relisting', { reason: e.reason, err: e.message });
          } else {
            this.opts.logger.warn('etcdmember watch failed', { reason: e.reason, err: e.message, resume_from: resourceVersion });
          }
          await this.sleep(backoff(++failures, this.opts.maxBackoffMs));
          if (e.reason !== 'watch_dropped') break;
        } finally {
          this.watching = false;
        }
        if (this.stopped) return;
      }
    }
  }

  private fail(err: unknown, what: string): void {
    const e = toSourceError(err, what);
    const wasUp = this.up;
    this.up = false;
    this.watching = false;
    this.opts.onError(e.reason);
    this.opts.logger.error('kubernetes source failed', { reason: e.reason, err: e.message });
    if (wasUp) this.opts.onChange();
  }

  /** Lists the objects, replacing the whole view; returns the list's resourceVersion. */
  private async list(): Promise<string> {
    const started = performance.now();
    try {
      const res = await this.request(COLLECTION_PATH, this.opts.requestTimeoutMs);
      const body = await readBody(res, this.opts.requestTimeoutMs, this.abort.signal);
      if (res.statusCode === 404) {
        if (this.crdPresent !== false) {
          this.opts.logger.warn(
            'EtcdMember CRD not found: this cluster keeps no EtcdMember objects (kine or external etcd?); Kubernetes figures are not exported',
            { resource: `${PLURAL}.${GROUP}` },
          );
        }
        this.crdPresent = false;
        this.objects.clear();
      } else {
        if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, body, 'list');
        const list = asRecord(parseJSON(body, 'list'), 'list');
        const items = list['items'];
        if (!Array.isArray(items)) throw new SourceError('invalid_response', 'etcdmember list has no items array');
        const objects = new Map<string, EtcdMemberObject>();
        for (const item of items) {
          const o = this.parse(item);
          if (o) objects.set(o.name, o);
        }
        const rv = resourceVersionOf(list);
        if (this.crdPresent === false) this.opts.logger.info('EtcdMember CRD found', {});
        this.crdPresent = true;
        this.objects = objects;
        this.markUp(started);
        return rv;
      }
      this.markUp(started);
      return '';
    } finally {
      this.lastDurationSeconds = (performance.now() - started) / 1000;
      this.attempted = true;
    }
  }

  private markUp(started: number): void {
    const wasUp = this.up;
    this.up = true;
    this.lastSuccessMs = Date.now();
    this.lastDurationSeconds = (performance.now() - started) / 1000;
    if (!wasUp) this.opts.logger.info('kubernetes source up', { objects: this.objects.size, crd_present: this.crdPresent });
    this.opts.onChange();
  }

  /** Follows a watch until it ends; returns the last resourceVersion seen and how many events came. Throws on any failure. */
  private async watch(fromResourceVersion: string): Promise<{ resourceVersion: string; events: number }> {
    let rv = fromResourceVersion;
    let events = 0;
    const timeoutSeconds = this.opts.watchTimeoutSeconds;
    const query = `?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=${timeoutSeconds}`;
    const res = await this.request(COLLECTION_PATH + query, this.opts.requestTimeoutMs);
    if (res.statusCode !== 200) {
      throw statusError(res.statusCode ?? 0, await readBody(res, this.opts.requestTimeoutMs, this.abort.signal), 'watch');
    }
    this.watching = true;
    this.lastWatchActivityMs = Date.now();
    // Keepalive probes notice a peer that vanished without a reset long before the silence limit below.
    res.socket?.setKeepAlive(true, 15_000);
    // The server ends the stream after timeoutSeconds; if it falls silent past that, the connection is dead.
    const silence = (timeoutSeconds + 30) * 1000;
    await readLines(res, silence, this.abort.signal, (line) => {
      const event = asRecord(parseJSON(line, 'watch event'), 'watch event');
      const obj = event['object'];
      this.lastWatchActivityMs = Date.now();
      if (event['type'] !== 'BOOKMARK') events++;
      switch (event['type']) {
        case 'ADDED':
        case 'MODIFIED': {
          const o = this.parse(obj);
          if (o) this.objects.set(o.name, o);
          rv = resourceVersionOf(obj) || rv;
          this.opts.onChange();
          break;
        }
        case 'DELETED': {
          const name = nameOf(obj);
          if (name !== undefined) this.objects.delete(name);
          rv = resourceVersionOf(obj) || rv;
          this.opts.onChange();
          break;
        }
        case 'BOOKMARK':
          rv = resourceVersionOf(obj) || rv;
          break;
        case 'ERROR': {
          const code = (obj as { code?: unknown } | undefined)?.code;
          if (code === 410) throw new SourceError('gone', `watch from resourceVersion ${rv} expired (410 Gone)`);
          throw statusError(typeof code === 'number' ? code : 0, JSON.stringify(obj), 'watch');
        }
        default:
          throw new SourceError('invalid_response', `watch event of unknown type ${JSON.stringify(event['type'])}`);
      }
    });
    return { resourceVersion: rv, events };
  }

  /** Validates one object at the boundary. A nameless object cannot be shown or deleted: it is skipped and logged. */
  private parse(raw: unknown): EtcdMemberObject | undefined {
    const name = nameOf(raw);
    if (name === undefined) {
      this.opts.onError('invalid_response');
      this.opts.logger.warn('skipping EtcdMember object without metadata.name', {});
      return undefined;
    }
    const o = raw as { spec?: { leave?: unknown }; status?: Record<string, unknown> };
    const status = typeof o.status === 'object' && o.status !== null ? o.status : {};
    const rawId = status['memberID'];
    let memberId: string | undefined;
    let invalidMemberId: string | undefined;
    if (typeof rawId === 'string' && rawId !== '') {
      memberId = normaliseHexMemberId(rawId);
      if (memberId === undefined) invalidMemberId = rawId;
    } else if (rawId !== undefined && rawId !== '') {
      invalidMemberId = JSON.stringify(rawId);
    }
    return {
      name,
      memberId,
      invalidMemberId,
      peerAddress: typeof status['peerAddress'] === 'string' ? status['peerAddress'] : undefined,
      leave: o.spec?.leave === true,
      reconcileStatus: typeof status['reconcileStatus'] === 'string' ? status['reconcileStatus'] : undefined,
    };
  }

  /** Starts a GET; resolves with the response once its headers arrived, within timeoutMs. */
  private async request(path: string, timeoutMs: number): Promise<http.IncomingMessage> {
    const cluster = this.opts.kubeConfig.getCurrentCluster();
    if (!cluster) throw new SourceError('other', 'kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
    // Credentials may come from an exec or OIDC plugin that client-node runs without a deadline.
    await withDeadline(this.opts.kubeConfig.applyToHTTPSOptions(options), timeoutMs, 'getting Kubernetes credentials (kubeconfig exec/auth plugin)');
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { ...options, signal: this.abort.signal }, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      const timer = setTimeout(() => {
        req.destroy(new SourceError('timeout', `no response from ${url.origin} within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function asRecord(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SourceError('invalid_response', `${what} is not a JSON object: ${JSON.stringify(v)?.slice(0, 120)}`);
  }
  return v as Record<string, unknown>;
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SourceError('timeout', `${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function backoff(failures: number, maxMs: number): number {
  const base = Math.min(maxMs, 500 * 2 ** Math.min(failures - 1, 10));
  return base / 2 + Math.random() * (base / 2);
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

/** Turns a non-200 answer into a classified error whose message says what to do about it. */
function statusError(code: number, body: string, what: string): SourceError {
  let message = body.slice(0, 300);
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') message = status.message;
  } catch {
    // not a Status object: keep the raw text
  }
  switch (code) {
    case 401:
      return new SourceError('unauthorized', `API ${what} answered 401 Unauthorized: the kubeconfig's credentials were rejected (${message})`);
    case 403:
      return new SourceError(
        'forbidden',
        `API ${what} answered 403 Forbidden: RBAC is missing rule {apiGroups: ["${GROUP}"], resources: ["${PLURAL}"], verbs: ["get","list","watch"]} for this identity (${message})`,
      );
    case 404:
      return new SourceError('not_found', `API ${what} answered 404: ${message}`);
    case 410:
      return new SourceError('gone', `API ${what} answered 410 Gone: ${message}`);
    default:
      if (code >= 500) return new SourceError('server_error', `API ${what} answered ${code}: ${message}`);
      return new SourceError('other', `API ${what} answered ${code}: ${message}`);
  }
}

function toSourceError(err: unknown, what: string): SourceError {
  if (err instanceof SourceError) return err;
  // Errors raised while reading a watch stream are already SourceErrors (watch_dropped); what arrives here
  // raw failed before any response, e.g. connection refused, and means the API cannot be reached.
  const reason = reasonForNodeError(err) ?? (/certificate|tls|ssl/i.test(errorMessage(err)) ? 'tls' : 'other');
  return new SourceError(reason, `API ${what} failed: ${errorMessage(err)}`);
}

function readBody(res: http.IncomingMessage, timeoutMs: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => res.destroy(new SourceError('timeout', `response body not received within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => {
      res.destroy(new SourceError('other', 'stopped'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * MAX_LINE_BYTES) res.destroy(new SourceError('invalid_response', 'response body too large'));
      else chunks.push(c);
    });
    res.on('end', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

/** Feeds each newline-delimited line to onLine; rejects on error, silence longer than silenceMs, or a throw in onLine. */
function readLines(
  res: http.IncomingMessage,
  silenceMs: number,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    let timer = setTimeout(onSilence, silenceMs);
    function onSilence(): void {
      res.destroy(new SourceError('watch_dropped', `watch silent for ${silenceMs / 1000} s`));
    }
    const onAbort = (): void => {
      res.destroy(new SourceError('other', 'stopped'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
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
