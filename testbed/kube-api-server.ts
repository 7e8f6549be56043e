// A Kubernetes API test server for the EtcdMember custom resource. No kube-apiserver can be installed here, so
// the exporter's integration tests, the end-to-end tests, `npm run demo` and kubectl in tests run against this.
// It follows kube-apiserver's REST protocol for a cluster-scoped CRD, as far as those clients use it: discovery,
// list and get (as JSON or as the Table kubectl asks for, with the CRD's printer columns), watch with
// resourceVersion, bookmarks and 410 Gone, delete with preconditions, Status error bodies, bearer auth and TLS.
// Objects written through the helpers are validated against the CRD k0s ships (testbed/fixtures/k0s), and
// unknown fields are pruned, as kube-apiserver does. Known differences are listed at the end of the file.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CRD_PATH } from './paths.js';
import { COORDINATION_GROUP, EVENTS_GROUP, EventsAndLeases, NamespacedApiError, classifyNamespaced, forbiddenNamespaced } from './kube-events-leases.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { JSONPath } from 'jsonpath-plus';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const GROUP = 'etcd.k0sproject.io';
const VERSION = 'v1beta1';
const API_VERSION = `${GROUP}/${VERSION}`;
const PLURAL = 'etcdmembers';
const SINGULAR = 'etcdmember';
const KIND = 'EtcdMember';
const LIST_KIND = 'EtcdMemberList';
const CRD_NAME = `${PLURAL}.${GROUP}`;
const CRD_GROUP = 'apiextensions.k8s.io';
const GROUP_PREFIX = `/apis/${GROUP}`;
const HISTORY_LIMIT = 1000;
const REQUEST_LOG_LIMIT = 1000;
// kube-apiserver's default --max-request-body-bytes for JSON bodies.
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const DEFAULT_USER = 'system:serviceaccount:k0s-system:etcdmember-exporter';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

/** An EtcdMember as the API serves it. */
export type EtcdMemberObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  spec?: { leave?: boolean; [k: string]: unknown };
  status?: Record<string, unknown>;
  [k: string]: unknown;
};

export interface KubeApiTestServerOptions {
  /** Default true: a self-signed CA and a server certificate for the host, made with the openssl CLI. */
  tls?: boolean;
  /** The one bearer token accepted; default a random one. */
  token?: string;
  /** Default true; false makes every etcd.k0sproject.io path answer 404, as without the CRD (kine, external etcd). */
  crdInstalled?: boolean;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, kept across stop()/restart(). */
  port?: number;
  /** The CRD manifest; default testbed/fixtures/k0s/etcdmembers.etcd.k0sproject.io.yaml. */
  crdPath?: string;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK; default 5000 (kube-apiserver: about a minute). */
  bookmarkIntervalMs?: number;
  /** The user named in 403 messages; default system:serviceaccount:k0s-system:etcdmember-exporter. */
  user?: string;
  /** The gitVersion /version reports, as k0s's kube-apiserver does; default v1.31.3+k0s.0. Changeable: gitVersion. */
  gitVersion?: string;
}

/** A failure the server answers with, as a Status object. */
export class KubeApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
    this.name = 'KubeApiError';
  }
  get code(): number {
    return this.status.code;
  }
}

type FaultCode = 401 | 403 | 404 | 500 | 503;
type FaultOn = 'list' | 'watch' | 'any';
type Status = {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  code: number;
};
type Json = Record<string, unknown>;
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface HistoryEvent {
  type: EventType;
  rv: number;
  object: EtcdMemberObject;
}
interface Watcher {
  res: http.ServerResponse;
  timers: NodeJS.Timeout[];
  intervals: NodeJS.Timeout[];
}
type Cause = { reason: string; message: string; field: string };
/** One of the CRD version's additionalPrinterColumns. */
interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}
// ObjectMeta's swagger description of name, which kube-apiserver gives the Name column of every Table.
const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
};
type Mode = 'helper' | 'raw';
interface Route {
  kind: 'etcdmembers' | 'crd' | 'other';
  verb: string;
  name?: string;
  subresource?: 'status';
  isWatch: boolean;
  isList: boolean;
}

function failure(code: number, reason: string, message: string, details?: Record<string, unknown>): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}
const qualifiedDetails = (name?: string, extra: Json = {}): Json => ({ ...(name !== undefined ? { name } : {}), group: GROUP, kind: PLURAL, ...extra });
// The 404 kube-apiserver's NotFound handler gives for any path nothing serves (a missing CRD included).
const notFoundPath = (): Status => failure(404, 'NotFound', 'the server could not find the requested resource', {});
const notFoundObject = (name: string): Status => failure(404, 'NotFound', `${CRD_NAME} "${name}" not found`, qualifiedDetails(name));
const methodNotAllowed = (): Status => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
const badRequest = (message: string): Status => failure(400, 'BadRequest', message);
const conflict = (name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): Status =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${CRD_NAME} "${name}": ${why}`, qualifiedDetails(name));
const expired = (message: string): Status => failure(410, 'Expired', message);
function invalid(name: string, causes: Cause[]): Status {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  return failure(422, 'Invalid', `${KIND}.${GROUP} "${name}" is invalid: ${summary}`, { name, group: GROUP, kind: KIND, causes });
}

export class KubeApiTestServer {
  /** The accepted bearer token. */
  readonly token: string;
  /** The CA that signed the server certificate; undefined without TLS. */
  readonly caFile: string | undefined;
  /** A kubeconfig (server, certificate-authority, token) for this server, in its temp dir. */
  readonly kubeconfigPath: string;
  /**
   * The last 1000 requests, oldest first; status is the HTTP status sent (200 for a watch that started), at is
   * when the request arrived (Date.now()).
   */
  readonly requestLog: { method: string; path: string; query: string; status: number; at: number }[] = [];
  /** How many BOOKMARK events the watches were sent, all together. */
  bookmarksSent = 0;

  private readonly objects = new Map<string, EtcdMemberObject>();
  private history: HistoryEvent[] = [];
  /** Every event after this resourceVersion is in history; watching from below it gets 410 Gone. */
  private compactedRv: number;
  private rv = 100;
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly rvWaiters = new Set<() => void>();
  private faults: { count: number; code: FaultCode; on: FaultOn }[] = [];
  private forbidden = false;
  private forbiddenNamespaced = new Set<string>();
  /** Events (events.k8s.io/v1 and their core/v1 view) and Leases, namespaced. */
  private readonly namespaced = new EventsAndLeases({ next: () => this.bump(), current: () => this.rv });
  private latencyMs = 0;
  private crdInstalled: boolean;
  private crdMeta: Json;
  private readonly validateSchema: ValidateFunction;
  private readonly schema: Json;
  private readonly crd: Json;
  private readonly printerColumns: readonly PrinterColumn[];
  private server: http.Server | undefined;
  private port: number;
  /** What /version reports (kube-apiserver's gitVersion; on k0s e.g. v1.31.3+k0s.0); set it to model an upgrade. */
  gitVersion = 'v1.31.3+k0s.0';

  private constructor(
    private readonly dir: string,
    private readonly opts: { tls: boolean; host: string; bookmarkIntervalMs: number; user: string },
    private readonly tlsFiles: { cert: string; key: string; ca: string } | undefined,
    token: string,
    crdInstalled: boolean,
    crdPath: string,
    port: number,
  ) {
    this.token = token;
    this.crdInstalled = crdInstalled;
    this.caFile = tlsFiles?.ca;
    this.kubeconfigPath = join(dir, 'kubeconfig');
    this.port = port;
    this.crd = parseYaml(readFileSync(crdPath, 'utf8')) as Json;
    const spec = this.crd['spec'] as { versions?: { name: string; schema?: { openAPIV3Schema?: Json }; additionalPrinterColumns?: PrinterColumn[] }[] } | undefined;
    const version = spec?.versions?.find((v) => v.name === VERSION);
    const schema = version?.schema?.openAPIV3Schema;
    if (!schema) throw new Error(`${crdPath} has no openAPIV3Schema for version ${VERSION}`);
    // kube-apiserver serves an Age column only for a CRD version that declares no printer columns.
    this.printerColumns = version?.additionalPrinterColumns?.length ? version.additionalPrinterColumns : [AGE_COLUMN];
    this.schema = schema;
    // OpenAPI v3 schemas carry Kubernetes extensions (x-kubernetes-*) that are no JSON Schema keywords.
    const ajv = new Ajv({ strict: false, allErrors: true, verbose: true });
    ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
    this.validateSchema = ajv.compile(schema);
    this.compactedRv = this.rv;
    this.crdMeta = this.newCrdMeta();
  }

  /** Starts a server on a free port (or opts.port) with the CRD installed unless opts.crdInstalled is false. */
  static async start(options: KubeApiTestServerOptions = {}): Promise<KubeApiTestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'kube-api-test-'));
    try {
      const host = options.host ?? '127.0.0.1';
      const tls = options.tls ?? true;
      const s = new KubeApiTestServer(
        dir,
        { tls, host, bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000, user: options.user ?? DEFAULT_USER },
        tls ? makeCertificates(dir, host) : undefined,
        options.token ?? randomBytes(24).toString('base64url'),
        options.crdInstalled ?? true,
        options.crdPath ?? CRD_PATH,
        options.port ?? 0,
      );
      if (options.gitVersion !== undefined) s.gitVersion = options.gitVersion;
      await s.listen();
      s.writeKubeconfig(s.kubeconfigPath);
      return s;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** e.g. https://127.0.0.1:41234 */
  get url(): string {
    const host = isIP(this.opts.host) === 6 ? `[${this.opts.host}]` : this.opts.host;
    return `${this.opts.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  /** Writes a kubeconfig for this server; another token makes one the server rejects with 401. */
  writeKubeconfig(path: string, o: { token?: string } = {}): void {
    const cluster: Json = { server: this.url };
    // Embedded, as `kubectl config set-cluster --embed-certs` writes it: the file stands on its own.
    if (this.caFile) cluster['certificate-authority-data'] = readFileSync(this.caFile).toString('base64');
    // Plain HTTP: client-node (and so the exporter's loader) takes an http server only with TLS verification off.
    else cluster['insecure-skip-tls-verify'] = true;
    writeFileSync(
      path,
      stringifyYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'kube-api-test', cluster }],
        users: [{ name: 'etcdmember-exporter', user: { token: o.token ?? this.token } }],
        contexts: [{ name: 'kube-api-test', context: { cluster: 'kube-api-test', user: 'etcdmember-exporter' } }],
        'current-context': 'kube-api-test',
        preferences: {},
      }),
      { mode: 0o600 },
    );
  }

  // ---- data: the writes k0s would make (the REST API only serves reads and deletes) ----

  /**
   * Creates an object, status included, as k0s does with a create and a status update; validates against the
   * CRD. `createdAt` backdates creationTimestamp (an object left over from long ago). Throws KubeApiError (409,
   * 422, 404 without CRD).
   */
  create(obj: unknown, o: { createdAt?: Date } = {}): EtcdMemberObject {
    return this.doCreate(obj, 'helper', o.createdAt).object;
  }

  /** Replaces spec, status and metadata of an object; metadata.resourceVersion, when given, must be current. */
  update(obj: unknown): EtcdMemberObject {
    const o = this.decode(obj);
    return this.doUpdate(o.metadata.name, o).object;
  }

  /** Deletes an object. Throws KubeApiError 404. */
  delete(name: string): void {
    this.requireCrd();
    const o = this.objects.get(name);
    if (!o) throw new KubeApiError(notFoundObject(name));
    this.remove(o);
  }

  /** One object, or undefined. */
  get(name: string): EtcdMemberObject | undefined {
    const o = this.objects.get(name);
    return o ? clone(o) : undefined;
  }

  /** Every object, sorted by name. */
  list(): EtcdMemberObject[] {
    return this.sorted().map(clone);
  }

  /** The current resourceVersion (the last write's). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Stores an object without schema validation or pruning: objects written before the schema existed, or malformed data. */
  seedRaw(obj: unknown): void {
    this.doCreate(obj, 'raw');
  }

  /** Installing makes the group served again; uninstalling deletes every object and ends open watches, like deleting the CRD. */
  setCrdInstalled(installed: boolean): void {
    if (installed === this.crdInstalled) return;
    this.crdInstalled = installed;
    if (installed) {
      this.crdMeta = this.newCrdMeta();
      return;
    }
    // Deleting a CRD deletes its objects; the watches of the removed resource end without events.
    this.objects.clear();
    this.bump();
    this.history = [];
    this.compactedRv = this.rv;
    this.endWatches();
  }

  // ---- faults ----

  /** The next `count` matching requests (after authentication) get `status` with a proper Status body. */
  failNext(count: number, status: FaultCode, on: FaultOn = 'any'): void {
    if (count > 0) this.faults.push({ count, code: status, on });
  }

  /** A valid token that RBAC denies: every etcdmembers request gets kube's 403. */
  setForbidden(forbidden: boolean): void {
    this.forbidden = forbidden;
  }

  /** RBAC that denies these namespaced resources (events, leases) every verb: each request gets kube's 403. */
  setForbiddenResources(resources: readonly ('events' | 'leases')[]): void {
    this.forbiddenNamespaced = new Set(resources);
  }

  /** Every Event as stored (events.k8s.io/v1 form), sorted by namespace and name. */
  events(): Record<string, unknown>[] {
    return this.namespaced.listEvents();
  }

  /** One Lease as stored, or undefined. */
  lease(namespace: string, name: string): Record<string, unknown> | undefined {
    return this.namespaced.getLease(namespace, name);
  }

  /** Delay before answering any request, to exercise client timeouts. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Abruptly destroys every open watch connection, as a network cut or an apiserver crash would. */
  dropWatches(): void {
    for (const w of [...this.watchers]) {
      this.forget(w);
      w.res.socket?.destroy();
      w.res.destroy();
    }
  }

  /**
   * Ends every open watch normally (the chunked stream's end), as kube-apiserver does at a watch's timeoutSeconds,
   * at its shutdown or when the watch cache restarts: everything sent before arrives.
   */
  endWatches(): void {
    for (const w of [...this.watchers]) {
      this.forget(w);
      w.res.end();
    }
  }

  /**
   * Every open watch falls silent and stays open: no event, bookmark or end arrives any more, as when the network
   * path to the server dies without a reset. The connections end at stop() or close().
   */
  stallWatches(): void {
    for (const w of [...this.watchers]) this.forget(w);
  }

  /**
   * Ends every open watch with an ERROR event carrying this Status, as kube-apiserver does for an error inside a
   * watch (e.g. 500 InternalError when etcd's watch breaks; a compacted resourceVersion is 410, see compact()).
   */
  failWatches(code: number, reason: string, message: string): void {
    for (const w of [...this.watchers]) {
      this.forget(w);
      writeEvent(w.res, 'ERROR', failure(code, reason, message));
      w.res.end();
    }
  }

  /** Writes one raw line to every open watch: what no kube-apiserver sends (a malformed line, an unknown event type). */
  writeToWatches(line: string): void {
    for (const w of this.watchers) if (!w.res.destroyed && !w.res.writableEnded) w.res.write(`${line}\n`);
  }

  /**
   * A write to some other resource: etcd's revision is every resource's resourceVersion, so it moves on, no
   * etcdmember watch gets an event, and the next bookmark carries the new one (kube-apiserver's do too).
   */
  writeElsewhere(): string {
    return String(this.bump());
  }

  /** Forgets the history, as etcd compaction does: watching from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  /** API down: stops listening and destroys every connection; the port and data are kept for restart(). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of [...this.watchers]) this.forget(w);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    });
  }

  /** Listens again on the same port with the same data. */
  async restart(): Promise<void> {
    if (!this.server) await this.listen();
  }

  /** Stops and removes the temp dir (certificates, kubeconfig). */
  async close(): Promise<void> {
    await this.stop();
    for (const wake of this.rvWaiters) wake();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- HTTP ----

  private listen(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.handle(req, res);
    const server = this.tlsFiles
      ? https.createServer({ cert: readFileSync(this.tlsFiles.cert), key: readFileSync(this.tlsFiles.key) }, handler)
      : http.createServer(handler);
    // Tracks raw TCP sockets, so stop() also cuts connections that never finished a TLS handshake.
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.opts.host, () => {
        server.off('error', reject);
        const a = server.address();
        if (a && typeof a === 'object') this.port = a.port;
        this.server = server;
        resolve();
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const entry = { method, path: url.pathname, query: url.search.replace(/^\?/, ''), status: 0, at: Date.now() };
    const pretty = url.searchParams.get('pretty') === 'true' || url.searchParams.get('pretty') === '1';
    const send = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = code;
      this.log(entry);
      if (res.destroyed || res.headersSent) return;
      const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, pretty ? 2 : undefined)}\n`;
      res.writeHead(code, {
        'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
        'Cache-Control': 'no-cache, private',
        'Audit-Id': randomUUID(),
        ...headers,
      });
      res.end(text);
    };
    try {
      if (this.latencyMs > 0) {
        await sleep(this.latencyMs);
        if (res.destroyed || req.socket.destroyed) return;
      }
      // kube-apiserver takes the scheme case-insensitively ("bearer" works too) and the token up to the next space.
      const [scheme, presented] = (req.headers.authorization ?? '').split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || presented !== this.token) {
        // Drain the body so keep-alive connections stay usable after the error.
        req.resume();
        throw new KubeApiError(failure(401, 'Unauthorized', 'Unauthorized'));
      }
      const nsRoute = classifyNamespaced(method, url);
      if (nsRoute !== undefined) {
        if (this.forbiddenNamespaced.has(nsRoute.resource)) {
          req.resume();
          throw new KubeApiError(forbiddenNamespaced(nsRoute, this.opts.user));
        }
        const body = method === 'GET' ? '' : await readBody(req);
        try {
          const [code, out] = this.namespaced.dispatch(method, url, nsRoute, body, req.headers['content-type']);
          send(code, out);
        } catch (err) {
          if (err instanceof NamespacedApiError) throw new KubeApiError(err.status);
          throw err;
        }
        return;
      }
      const route = classify(method, url);
      this.injectFault(route);
      if (this.forbidden && route.kind === 'etcdmembers') throw new KubeApiError(this.forbiddenStatus(route));
      const media = negotiate(req.headers.accept, route.kind === 'etcdmembers' && method === 'GET' && !route.isWatch);
      const body = method === 'GET' || method === 'HEAD' ? '' : await readBody(req);
      if (route.isWatch && route.kind === 'etcdmembers' && route.name === undefined && this.crdInstalled) {
        await this.watch(url, res, entry);
        return;
      }
      const [code, out, headers] = this.dispatch(method, url, route, body, req.headers['content-type'], media);
      send(code, out, headers);
    } catch (err) {
      if (err instanceof KubeApiError) send(err.status.code, err.status);
      else send(500, failure(500, 'InternalError', `Internal error occurred: ${errorMessage(err)}`, { causes: [{ message: errorMessage(err) }] }));
    }
  }

  private injectFault(route: Route): void {
    const f = this.faults[0];
    if (!f) return;
    if (f.on === 'list' && !(route.kind === 'etcdmembers' && route.isList)) return;
    if (f.on === 'watch' && !(route.kind === 'etcdmembers' && route.isWatch)) return;
    if (--f.count <= 0) this.faults.shift();
    switch (f.code) {
      case 401:
        throw new KubeApiError(failure(401, 'Unauthorized', 'Unauthorized'));
      case 403:
        throw new KubeApiError(this.forbiddenStatus(route));
      case 404:
        throw new KubeApiError(notFoundPath());
      case 500:
        throw new KubeApiError(failure(500, 'InternalError', 'Internal error occurred: injected fault', { causes: [{ message: 'injected fault' }] }));
      case 503:
        throw new KubeApiError(failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', { retryAfterSeconds: 1 }));
    }
  }

  private forbiddenStatus(route: Route): Status {
    const resource = route.kind === 'crd' ? 'customresourcedefinitions' : PLURAL;
    const group = route.kind === 'crd' ? CRD_GROUP : GROUP;
    const qualified = `${resource}.${group}${route.name !== undefined ? ` "${route.name}"` : ''}`;
    const sub = route.subresource ? `/${route.subresource}` : '';
    return failure(
      403,
      'Forbidden',
      `${qualified} is forbidden: User "${this.opts.user}" cannot ${route.verb} resource "${resource}${sub}" in API group "${group}" at the cluster scope`,
      { ...(route.name !== undefined ? { name: route.name } : {}), group, kind: resource },
    );
  }

  private dispatch(method: string, url: URL, route: Route, body: string, contentType: string | undefined, media: Media): [number, unknown, Record<string, string>?] {
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    if (route.kind === 'other') {
      if (method !== 'GET') throw new KubeApiError(path === '/' || !this.servesPath(path) ? notFoundPath() : methodNotAllowed());
      switch (path) {
        case '/version':
          return [200, versionInfo(this.gitVersion)];
        case '/healthz':
        case '/readyz':
        case '/livez':
          // kube-apiserver answers its health checks in plain text.
          return [200, 'ok'];
        case '/api':
          return [200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${this.opts.host}:${this.port}` }] }];
        case '/api/v1':
          return [200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ev'] }] }];
        case `/apis/${EVENTS_GROUP}`:
        case `/apis/${COORDINATION_GROUP}`:
          return [200, { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(path.slice('/apis/'.length), 'v1') }];
        case `/apis/${EVENTS_GROUP}/v1`:
          return [200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${EVENTS_GROUP}/v1`, resources: [{ name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ev'] }] }];
        case `/apis/${COORDINATION_GROUP}/v1`:
          return [200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${COORDINATION_GROUP}/v1`, resources: [{ name: 'leases', singularName: 'lease', namespaced: true, kind: 'Lease', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }] }];
        case '/apis':
          return [200, this.groupList()];
        case `/apis/${CRD_GROUP}`:
          return [200, { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(CRD_GROUP, 'v1') }];
        case `/apis/${CRD_GROUP}/v1`:
          return [200, crdResourceList()];
        case GROUP_PREFIX:
          if (!this.crdInstalled) throw new KubeApiError(notFoundPath());
          return [200, { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(GROUP, VERSION) }];
        case `${GROUP_PREFIX}/${VERSION}`:
          if (!this.crdInstalled) throw new KubeApiError(notFoundPath());
          return [200, this.resourceList()];
        default:
          throw new KubeApiError(notFoundPath());
      }
    }
    if (route.kind === 'crd') return this.dispatchCrd(method, route);

    if (!this.crdInstalled) throw new KubeApiError(notFoundPath());
    if (route.name === undefined) {
      if (method !== 'GET') throw new KubeApiError(methodNotAllowed());
      const list = this.listBody();
      return [200, media === 'json' ? list : this.table(list.items as EtcdMemberObject[], String(this.rv), url.searchParams, media)];
    }
    const name = route.name;
    switch (method) {
      case 'GET': {
        const o = this.objects.get(name);
        if (!o) throw new KubeApiError(notFoundObject(name));
        return [200, media === 'json' ? clone(o) : this.table([o], o.metadata.resourceVersion ?? '', url.searchParams, media)];
      }
      case 'DELETE': {
        if (route.subresource) throw new KubeApiError(methodNotAllowed());
        const o = this.objects.get(name);
        if (!o) throw new KubeApiError(notFoundObject(name));
        // A JSON null body decodes to empty DeleteOptions in kube-apiserver; anything but an object is a 400.
        const decoded = body.trim() === '' ? null : decodeBody(body, contentType);
        if (decoded !== null && (typeof decoded !== 'object' || Array.isArray(decoded))) throw new KubeApiError(badRequest('DeleteOptions must be a JSON object'));
        const opts = (decoded ?? {}) as Json;
        const pre = (opts['preconditions'] ?? {}) as { uid?: string; resourceVersion?: string };
        if (pre.uid !== undefined && pre.uid !== o.metadata.uid) {
          throw new KubeApiError(conflict(name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${o.metadata.uid ?? ''}`));
        }
        if (pre.resourceVersion !== undefined && pre.resourceVersion !== o.metadata.resourceVersion) {
          throw new KubeApiError(conflict(name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${o.metadata.resourceVersion ?? ''}`));
        }
        this.remove(o);
        // Custom resources answer a delete with a Success Status (their store does not return the deleted object).
        return [200, successStatus(o)];
      }
      default:
        throw new KubeApiError(methodNotAllowed());
    }
  }

  private dispatchCrd(method: string, route: Route): [number, unknown] {
    if (method !== 'GET') throw new KubeApiError(methodNotAllowed());
    if (route.name === undefined) {
      return [200, { apiVersion: `${CRD_GROUP}/v1`, items: this.crdInstalled ? [this.crdObject()] : [], kind: 'CustomResourceDefinitionList', metadata: { resourceVersion: String(this.rv) } }];
    }
    if (route.name !== CRD_NAME || !this.crdInstalled) {
      throw new KubeApiError(failure(404, 'NotFound', `customresourcedefinitions.${CRD_GROUP} "${route.name}" not found`, { name: route.name, group: CRD_GROUP, kind: 'customresourcedefinitions' }));
    }
    return [200, this.crdObject()];
  }

  /**
   * A meta.k8s.io Table as the CRD's table convertor builds it: a Name column, then the version's
   * additionalPrinterColumns (Age only when the CRD declares none), one row per object with the first JSONPath
   * match of each column, and the object as includeObject asks (default: its metadata only).
   */
  private table(objects: readonly EtcdMemberObject[], resourceVersion: string, q: URLSearchParams, version: 'v1' | 'v1beta1'): Json {
    const include = q.get('includeObject') ?? 'Metadata';
    if (!['None', 'Metadata', 'Object'].includes(include)) {
      throw new KubeApiError(badRequest(`includeObject: Unsupported value: "${include}": supported values: "None", "Metadata", "Object"`));
    }
    const columns = this.printerColumns;
    return {
      kind: 'Table',
      apiVersion: `meta.k8s.io/${version}`,
      metadata: { resourceVersion },
      columnDefinitions: [
        { name: 'Name', type: 'string', format: 'name', description: NAME_DESCRIPTION, priority: 0 },
        ...columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description: c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          priority: c.priority ?? 0,
        })),
      ],
      rows: objects.map((o) => ({
        cells: [o.metadata.name, ...columns.map((c) => cell(c, o))],
        ...(include === 'None' ? {} : { object: include === 'Object' ? clone(o) : { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: clone(o.metadata) } }),
      })),
    };
  }

  /** Paths served with GET only: other methods on them get 405 rather than 404. */
  private servesPath(path: string): boolean {
    return ['/version', '/healthz', '/readyz', '/livez', '/api', '/api/v1', '/apis', `/apis/${CRD_GROUP}`, `/apis/${CRD_GROUP}/v1`, `/apis/${EVENTS_GROUP}`, `/apis/${EVENTS_GROUP}/v1`, `/apis/${COORDINATION_GROUP}`, `/apis/${COORDINATION_GROUP}/v1`].includes(path) ||
      (this.crdInstalled && (path === GROUP_PREFIX || path === `${GROUP_PREFIX}/${VERSION}`));
  }

  private groupList(): Json {
    const groups = [groupEntry(CRD_GROUP, 'v1'), groupEntry(COORDINATION_GROUP, 'v1'), groupEntry(EVENTS_GROUP, 'v1')];
    if (this.crdInstalled) groups.push(groupEntry(GROUP, VERSION));
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }

  private resourceList(): Json {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: API_VERSION,
      resources: [
        { name: PLURAL, singularName: SINGULAR, namespaced: false, kind: KIND, verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'], storageVersionHash: 'k0sEtcdMbr=' },
        { name: `${PLURAL}/status`, singularName: '', namespaced: false, kind: KIND, verbs: ['get', 'patch', 'update'] },
      ],
    };
  }

  private newCrdMeta(): Json {
    return { creationTimestamp: timestamp(), generation: 1, resourceVersion: String(this.bump()), uid: randomUUID() };
  }

  private crdObject(): Json {
    const crd = clone(this.crd);
    const meta = { ...(crd['metadata'] as Json), ...this.crdMeta };
    const names = (crd['spec'] as { names?: Json }).names ?? {};
    const now = String(meta['creationTimestamp']);
    return sortKeys({
      ...crd,
      apiVersion: `${CRD_GROUP}/v1`,
      kind: 'CustomResourceDefinition',
      metadata: meta,
      status: {
        acceptedNames: names,
        conditions: [
          { lastTransitionTime: now, message: 'no conflicts found', reason: 'NoConflicts', status: 'True', type: 'NamesAccepted' },
          { lastTransitionTime: now, message: 'the initial names have been accepted', reason: 'InitialNamesAccepted', status: 'True', type: 'Established' },
        ],
        storedVersions: [VERSION],
      },
    }) as Json;
  }

  // ---- list ----

  /** Always the newest state; `limit` is not honoured (kubectl's limit=500 chunks just come as one). */
  private listBody(): Json {
    // Custom resource lists are unstructured: keys come sorted and continue is "" (not absent).
    return { apiVersion: API_VERSION, items: this.sorted().map(clone), kind: LIST_KIND, metadata: { continue: '', resourceVersion: String(this.rv) } };
  }

  /** Like the watch cache: a request for a resourceVersion not reached yet waits up to 3 s, then 504. */
  private async waitForRv(n: number): Promise<void> {
    if (n <= this.rv) return;
    const deadline = Date.now() + 3000;
    while (n > this.rv && Date.now() < deadline && this.server) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, deadline - Date.now());
        const waiters = this.rvWaiters;
        function done(): void {
          clearTimeout(t);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
    if (n > this.rv) {
      throw new KubeApiError(
        failure(504, 'Timeout', `Too large resource version: ${n}, current: ${this.rv}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 }),
      );
    }
  }

  // ---- storage ----

  private sorted(): EtcdMemberObject[] {
    return [...this.objects.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  }

  private requireCrd(): void {
    if (!this.crdInstalled) throw new KubeApiError(notFoundPath());
  }

  private bump(): number {
    this.rv++;
    for (const wake of [...this.rvWaiters]) wake();
    return this.rv;
  }

  /** What kube-apiserver checks while decoding: a JSON object of this kind and version. */
  private decode(obj: unknown): EtcdMemberObject {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new KubeApiError(badRequest(`Object 'Kind' is missing in '${JSON.stringify(obj)}'`));
    const o = obj as Json;
    if (typeof o['kind'] !== 'string' || o['kind'] === '') throw new KubeApiError(badRequest(`Object 'Kind' is missing in '${JSON.stringify(obj).slice(0, 200)}'`));
    if (o['apiVersion'] !== API_VERSION) {
      throw new KubeApiError(badRequest(`the API version in the data (${typeof o['apiVersion'] === 'string' ? o['apiVersion'] : JSON.stringify(o['apiVersion'] ?? '')}) does not match the expected API version (${API_VERSION})`));
    }
    if (o['kind'] !== KIND) throw new KubeApiError(badRequest(`the kind in the data (${String(o['kind'])}) does not match the expected kind (${KIND})`));
    const meta = o['metadata'] ?? {};
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new KubeApiError(badRequest('metadata must be an object'));
    const c = clone(o) as EtcdMemberObject;
    c.metadata = clone(meta) as EtcdMemberObject['metadata'];
    if (c.metadata.name === undefined) c.metadata.name = '';
    return c;
  }

  /** Prunes fields the schema does not know and validates metadata and schema, as kube-apiserver admits a write. */
  private admit(o: EtcdMemberObject): void {
    for (const k of Object.keys(o.metadata)) {
      if (!OBJECT_META_FIELDS.has(k)) delete o.metadata[k];
    }
    prune(o, this.schema, '', [], true);
    const causes = [...validateMeta(o.metadata), ...this.schemaCauses(o)];
    if (causes.length > 0) throw new KubeApiError(invalid(o.metadata.name, causes));
  }

  private schemaCauses(o: EtcdMemberObject): Cause[] {
    const causes: Cause[] = [];
    if (!this.validateSchema(o)) {
      for (const e of this.validateSchema.errors ?? []) {
        const cause = toCause(e);
        if (cause && !causes.some((c) => c.field === cause.field && c.message === cause.message)) causes.push(cause);
      }
    }
    // x-kubernetes-list-type: map keyed by type: no two conditions of one type.
    const conditions = (o.status as { conditions?: unknown } | undefined)?.conditions;
    if (Array.isArray(conditions)) {
      const seen = new Set<unknown>();
      conditions.forEach((c: unknown, i) => {
        const type = (c as { type?: unknown } | null)?.type;
        if (type === undefined) return;
        if (seen.has(type)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: map[string]interface {}{"type":${JSON.stringify(type)}}`, field: `status.conditions[${i}]` });
        seen.add(type);
      });
    }
    return causes;
  }

  private doCreate(obj: unknown, mode: Mode, createdAt?: Date): { object: EtcdMemberObject } {
    this.requireCrd();
    let o: EtcdMemberObject;
    if (mode === 'raw') {
      o = clone(obj) as EtcdMemberObject;
      if (typeof o?.metadata?.name !== 'string' || o.metadata.name === '') throw new Error('seedRaw needs metadata.name');
    } else {
      o = this.decode(obj);
      // A cluster-scoped object has no namespace; kube-apiserver clears it, and sets the system fields itself.
      delete o.metadata['namespace'];
      for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink']) delete o.metadata[k];
      this.admit(o);
    }
    const name = o.metadata.name;
    if (this.objects.has(name)) throw new KubeApiError(failure(409, 'AlreadyExists', `${CRD_NAME} "${name}" already exists`, qualifiedDetails(name)));
    // Raw seeds keep the system fields they bring.
    o.metadata = { uid: randomUUID(), creationTimestamp: timestamp(createdAt), generation: 1, ...o.metadata };
    return { object: clone(this.commit('ADDED', o)) };
  }

  private doUpdate(name: string, o: EtcdMemberObject): { object: EtcdMemberObject } {
    this.requireCrd();
    const current = this.objects.get(name);
    if (!current) throw new KubeApiError(notFoundObject(name));
    const rv = o.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw new KubeApiError(conflict(name));
    const next = clone(o);
    delete next.metadata['namespace'];
    for (const k of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
      if (current.metadata[k] === undefined) delete next.metadata[k];
      else next.metadata[k] = current.metadata[k];
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    this.admit(next);
    if (deepEqual(withoutMetaStatus(next), withoutMetaStatus(current)) === false) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    if (deepEqual(sortKeys(next), sortKeys(current))) return { object: clone(current) }; // a no-op write changes nothing, not even resourceVersion
    return { object: clone(this.commit('MODIFIED', next)) };
  }

  private remove(o: EtcdMemberObject): void {
    this.commit('DELETED', clone(o));
  }

  /** The one write path: bumps resourceVersion, stores, records history and notifies watches. */
  private commit(type: EventType, o: EtcdMemberObject): EtcdMemberObject {
    const rv = this.bump();
    const stored = sortKeys({ ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } }) as EtcdMemberObject;
    if (type === 'DELETED') this.objects.delete(stored.metadata.name);
    else this.objects.set(stored.metadata.name, stored);
    const event: HistoryEvent = { type, rv, object: stored };
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) writeEvent(w.res, type, stored);
    return stored;
  }

  // ---- watch ----

  private async watch(url: URL, res: http.ServerResponse, entry: { method: string; path: string; query: string; status: number; at: number }): Promise<void> {
    const q = url.searchParams;
    const from = q.get('resourceVersion') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
    const timeoutParam = q.get('timeoutSeconds');
    const timeoutSeconds = timeoutParam === null || timeoutParam === '' ? 0 : Number(timeoutParam);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw new KubeApiError(badRequest(`invalid timeoutSeconds: ${timeoutParam ?? ''}`));
    const fromRv = from === '' || from === '0' ? undefined : parseRv(from);
    if (fromRv !== undefined) await this.waitForRv(fromRv);

    entry.status = 200;
    this.log(entry);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Audit-Id': randomUUID(), 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { res, timers: [], intervals: [] };
    res.on('close', () => this.forget(w));
    if (fromRv !== undefined && fromRv < this.compactedRv) {
      // A watch cache answers a compacted resourceVersion inside the stream, not with an HTTP status.
      writeEvent(res, 'ERROR', expired(`too old resource version: ${fromRv} (${this.compactedRv})`));
      res.end();
      return;
    }
    // From resourceVersion "" or "0": the current state as synthetic ADDED events first.
    if (fromRv === undefined) for (const o of this.sorted()) writeEvent(res, 'ADDED', o);
    else for (const e of this.history) if (e.rv > fromRv) writeEvent(res, e.type, e.object);
    if (res.destroyed || res.writableEnded) return;
    this.watchers.add(w);
    if (timeoutSeconds > 0) {
      w.timers.push(setTimeout(() => {
        this.forget(w);
        res.end();
      }, timeoutSeconds * 1000));
    }
    if (bookmarks) {
      w.intervals.push(setInterval(() => {
        writeEvent(res, 'BOOKMARK', this.bookmark());
        this.bookmarksSent++;
      }, this.opts.bookmarkIntervalMs));
    }
  }

  private bookmark(): Json {
    return { apiVersion: API_VERSION, kind: KIND, metadata: { creationTimestamp: null, resourceVersion: String(this.rv) } };
  }

  private forget(w: Watcher): void {
    w.timers.forEach(clearTimeout);
    w.intervals.forEach(clearInterval);
    this.watchers.delete(w);
  }

  private log(entry: { method: string; path: string; query: string; status: number; at: number }): void {
    this.requestLog.push(entry);
    if (this.requestLog.length > REQUEST_LOG_LIMIT) this.requestLog.splice(0, this.requestLog.length - REQUEST_LOG_LIMIT);
  }
}

// ---- objects for tests and the demo ----

/** An EtcdMember as k0s writes it; a memberID makes it Joined unless joined is false. */
export function etcdMemberObject(
  name: string,
  status: { memberID?: string; peerAddress?: string; reconcileStatus?: string; joined?: boolean },
  spec: { leave?: boolean } = {},
): EtcdMemberObject {
  const s: Record<string, unknown> = {};
  if (status.memberID !== undefined) s['memberID'] = status.memberID;
  if (status.peerAddress !== undefined) s['peerAddress'] = status.peerAddress;
  if (status.reconcileStatus !== undefined) s['reconcileStatus'] = status.reconcileStatus;
  if (status.joined !== undefined || status.memberID !== undefined) {
    s['conditions'] = [{ lastTransitionTime: '2025-01-01T00:00:00Z', status: status.joined === false ? 'False' : 'True', type: 'Joined' }];
  }
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name },
    spec: { ...spec },
    ...(Object.keys(s).length > 0 ? { status: s } : {}),
  };
}

/**
 * The k0s#5369 state: one object per member, named after it, plus the stale short-name object (`c1` for
 * `c1.example.org`) that carries the first member's ID and peer address.
 */
export function k0s5369Objects(members: readonly { name: string; memberIdHex: string; peerAddress: string }[]): EtcdMemberObject[] {
  const first = members[0];
  if (!first) throw new Error('k0s5369Objects needs the etcd members');
  const stale = first.name.trim().toLowerCase().split('.')[0]!;
  if (members.some((m) => m.name.trim().toLowerCase() === stale)) throw new Error(`k0s5369Objects: member name ${first.name} has no domain to drop`);
  return [
    etcdMemberObject(stale, { memberID: first.memberIdHex, peerAddress: first.peerAddress }),
    ...members.map((m) => etcdMemberObject(m.name.trim().toLowerCase(), { memberID: m.memberIdHex, peerAddress: m.peerAddress })),
  ];
}

// ---- protocol helpers ----

/** kube-apiserver's version.Info for a gitVersion: major and minor are taken from it, as the build sets them. */
function versionInfo(gitVersion: string): Json {
  const [, major = '', minor = ''] = /^v?(\d+)\.(\d+)/.exec(gitVersion) ?? [];
  return { ...VERSION_INFO, major, minor, gitVersion };
}

const VERSION_INFO = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.3+k0s.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-11-20T00:00:00Z',
  goVersion: 'go1.22.9',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function groupEntry(group: string, version: string): Json {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

function crdResourceList(): Json {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${CRD_GROUP}/v1`,
    resources: [
      { name: 'customresourcedefinitions', singularName: 'customresourcedefinition', namespaced: false, kind: 'CustomResourceDefinition', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['crd', 'crds'] },
      { name: 'customresourcedefinitions/status', singularName: '', namespaced: false, kind: 'CustomResourceDefinition', verbs: ['get', 'patch', 'update'] },
    ],
  };
}

/** Which resource, verb and name a request is about (for routing, RBAC messages and fault injection). */
function classify(method: string, url: URL): Route {
  const q = url.searchParams;
  const isWatch = method === 'GET' && (q.get('watch') === '1' || q.get('watch') === 'true');
  const segs = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  const verbFor = (named: boolean): string => {
    switch (method) {
      case 'GET':
        return isWatch ? 'watch' : named ? 'get' : 'list';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return named ? 'delete' : 'deletecollection';
      default:
        return method.toLowerCase();
    }
  };
  if (segs[0] === 'apis' && segs[1] === GROUP && segs[2] === VERSION && segs[3] === PLURAL && segs.length <= 6) {
    const name = segs[4];
    if (segs.length === 6 && segs[5] !== 'status') return { kind: 'other', verb: 'get', isWatch: false, isList: false };
    return {
      kind: 'etcdmembers',
      verb: verbFor(name !== undefined),
      ...(name !== undefined ? { name } : {}),
      ...(segs[5] === 'status' ? { subresource: 'status' as const } : {}),
      isWatch: isWatch && name === undefined,
      isList: method === 'GET' && !isWatch && name === undefined,
    };
  }
  if (segs[0] === 'apis' && segs[1] === CRD_GROUP && segs[2] === 'v1' && segs[3] === 'customresourcedefinitions' && segs.length <= 5) {
    const name = segs[4];
    return { kind: 'crd', verb: verbFor(name !== undefined), ...(name !== undefined ? { name } : {}), isWatch, isList: false };
  }
  return { kind: 'other', verb: 'get', isWatch: false, isList: false };
}

type Media = 'json' | 'v1' | 'v1beta1';

/**
 * Content negotiation as kube-apiserver does it: the first media range of Accept that the endpoint can serve
 * wins. A Table (`application/json;as=Table;v=v1;g=meta.k8s.io`, v1beta1 too) only for etcdmembers GETs; other
 * `as=` forms (aggregated discovery, PartialObjectMetadata) are not served, so a client's fallback is used.
 */
export function negotiate(accept: string | undefined, tableAllowed: boolean): Media {
  if (!accept) return 'json';
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim());
    const param = new Map(params.map((p) => [p.split('=')[0]!.toLowerCase(), p.split('=').slice(1).join('=')]));
    const t = type.toLowerCase();
    if (t !== 'application/json' && t !== 'application/*' && t !== '*/*') continue;
    const as = param.get('as');
    if (as === undefined) return 'json';
    if (tableAllowed && as === 'Table' && param.get('g') === 'meta.k8s.io' && (param.get('v') === 'v1' || param.get('v') === 'v1beta1')) {
      return param.get('v') as 'v1' | 'v1beta1';
    }
  }
  throw new KubeApiError(failure(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io'));
}

/** One Table cell: the first JSONPath match, printed as Go's jsonpath prints it for strings; null when absent. */
function cell(c: PrinterColumn, o: EtcdMemberObject): unknown {
  const found = JSONPath<unknown[]>({ path: `$${c.jsonPath}`, json: o as object, wrap: true });
  const v = found[0];
  if (v === undefined || v === null) return null;
  switch (c.type) {
    case 'string':
      // JSON parsed from YAML holds no functions or bigints: JSON.stringify prints numbers and booleans as String would.
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? v : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    default:
      // date: the RFC 3339 string, which kubectl turns into an age.
      return v;
  }
}

function successStatus(o: EtcdMemberObject): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: qualifiedDetails(o.metadata.name, { uid: o.metadata.uid }), code: 200 };
}

function parseRv(v: string): number {
  if (!/^\d+$/.test(v)) throw new KubeApiError(badRequest(`invalid resource version: ${JSON.stringify(v)}`));
  return Number(v);
}

/** Field paths as kube-apiserver prints them: status.conditions[0].type. */
function fieldPath(instancePath: string, extra?: string): string {
  const segs = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) segs.push(extra);
  return segs.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`), '');
}

function goTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** One ajv error in kube-apiserver's words (k8s.io/kube-openapi validate errors). */
function toCause(e: ErrorObject): Cause | undefined {
  const field = fieldPath(e.instancePath);
  const value = e.data;
  const shown = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? 'null';
  switch (e.keyword) {
    case 'required': {
      const missing = String((e.params as { missingProperty?: string }).missingProperty ?? '');
      return { reason: 'FieldValueRequired', message: 'Required value', field: fieldPath(e.instancePath, missing) };
    }
    case 'type': {
      const want = (e.params as { type?: string }).type ?? '';
      return { reason: 'FieldValueTypeInvalid', message: `Invalid value: "${goTypeName(value)}": ${field || 'body'} in body must be of type ${want}: "${goTypeName(value)}"`, field: field || '<root>' };
    }
    case 'pattern': {
      const pattern = (e.params as { pattern?: string }).pattern ?? '';
      return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${field} in body should match '${pattern}'`, field };
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ');
      return { reason: 'FieldValueNotSupported', message: `Unsupported value: ${shown}: supported values: ${allowed}`, field };
    }
    case 'format': {
      const format = (e.params as { format?: string }).format ?? '';
      return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${field} in body must be of type ${format}: ${shown}`, field };
    }
    default:
      return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${e.message ?? 'invalid'}`, field: field || '<root>' };
  }
}

function validateMeta(m: EtcdMemberObject['metadata']): Cause[] {
  const causes: Cause[] = [];
  const name = m.name;
  if (typeof name !== 'string' || name === '') {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      field: 'metadata.name',
    });
  }
  for (const f of ['labels', 'annotations'] as const) {
    const map = m[f];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) {
      causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${goTypeName(map)}": metadata.${f} in body must be of type object: "${goTypeName(map)}"`, field: `metadata.${f}` });
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${goTypeName(v)}": metadata.${f}.${k} in body must be of type string: "${goTypeName(v)}"`, field: `metadata.${f}.${k}` });
      else if (f === 'labels' && (v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))) {
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`, field: `metadata.labels` });
      }
    }
  }
  if (m.finalizers !== undefined && (!Array.isArray(m.finalizers) || m.finalizers.some((f) => typeof f !== 'string'))) {
    causes.push({ reason: 'FieldValueTypeInvalid', message: 'Invalid value: "array": metadata.finalizers in body must be of type array of strings', field: 'metadata.finalizers' });
  }
  return causes;
}

/** Structural pruning: drops fields the schema does not declare (metadata is handled as ObjectMeta). */
function prune(value: unknown, schema: Json, path: string, unknown: string[], root = false): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(value)) {
    const items = schema['items'];
    if (items && typeof items === 'object') value.forEach((v, i) => prune(v, items as Json, `${path}[${i}]`, unknown));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const props = schema['properties'] as Record<string, Json> | undefined;
  const additional = schema['additionalProperties'];
  const o = value as Json;
  for (const k of Object.keys(o)) {
    if (root && k === 'metadata') continue;
    const p = path === '' ? k : `${path}.${k}`;
    const sub = props?.[k] ?? (typeof additional === 'object' && additional !== null ? (additional as Json) : undefined);
    if (sub) prune(o[k], sub, p, unknown);
    else if (additional !== true && props !== undefined) {
      delete o[k];
      unknown.push(p);
    }
  }
}

function decodeBody(body: string, contentType: string | undefined): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (body.trim() === '') throw new KubeApiError(badRequest('the body of the request was empty'));
  if (type === 'application/yaml') {
    try {
      return parseYaml(body) as unknown;
    } catch (err) {
      throw new KubeApiError(badRequest(`error converting YAML to JSON: ${errorMessage(err)}`));
    }
  }
  if (type !== 'application/json' && type !== '*/*') {
    throw new KubeApiError(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`));
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new KubeApiError(badRequest(`couldn't get version/kind; json parse error: ${errorMessage(err)}`));
  }
}

function withoutMetaStatus(o: EtcdMemberObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return sortKeys(rest);
}

/** Go's encoding/json writes map keys sorted, and custom resources are maps. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  const out: Json = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Json)[k];
    if (x !== undefined) out[k] = sortKeys(x);
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function timestamp(at = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function writeEvent(res: http.ServerResponse, type: string, object: unknown): void {
  if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new KubeApiError(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`)));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function makeCertificates(dir: string, host: string): { cert: string; key: string; ca: string } {
  const f = (n: string): string => join(dir, n);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=kube-api-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=kube-apiserver');
  const sans = new Set(['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default.svc']);
  sans.add(isIP(host) ? `IP:${host}` : `DNS:${host}`);
  writeFileSync(f('server.ext'), `subjectAltName=${[...sans].join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext'));
  return { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') };
}

// ---- run directly: node dist/testbed/kube-api-server.js --port N --tls=false --seed-file objects.json ----

function isMain(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(resolvePath(arg)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return pathToFileURL(resolvePath(arg)).href === import.meta.url;
  }
}

async function main(argv: string[]): Promise<void> {
  const opts: KubeApiTestServerOptions = {};
  const seeds: { file: string; raw: boolean }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const bool = (): boolean => (eq >= 0 ? !['false', '0', 'no'].includes(a.slice(eq + 1)) : true);
    switch (flag) {
      case '--port':
        opts.port = Number(value());
        break;
      case '--host':
        opts.host = value();
        break;
      case '--tls':
        opts.tls = bool();
        break;
      case '--token':
        opts.token = value();
        break;
      case '--crd-installed':
        opts.crdInstalled = bool();
        break;
      case '--crd-path':
        opts.crdPath = value();
        break;
      case '--seed-file':
        seeds.push({ file: value(), raw: false });
        break;
      case '--seed-raw-file':
        seeds.push({ file: value(), raw: true });
        break;
      default:
        throw new Error(`unknown flag ${flag} (known: --port, --host, --tls, --token, --crd-installed, --crd-path, --seed-file, --seed-raw-file)`);
    }
  }
  const server = await KubeApiTestServer.start(opts);
  try {
    for (const s of seeds) {
      const data = JSON.parse(readFileSync(s.file, 'utf8')) as unknown;
      const items = Array.isArray(data) ? data : ((data as { items?: unknown[] }).items ?? [data]);
      for (const o of items) {
        if (s.raw) server.seedRaw(o);
        else server.create(o);
      }
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  process.stdout.write(`${JSON.stringify({ url: server.url, kubeconfigPath: server.kubeconfigPath, token: server.token, caFile: server.caFile ?? null })}\n`);
  const shutdown = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (isMain()) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`kube-api-server: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}

// Differences from kube-apiserver, on purpose or for brevity:
// - Events and Leases (testbed/kube-events-leases.ts): create, get, list, and patch (Events, strategic merge or
//   merge patch) or update (Leases); no watch, delete, JSON patch or Table; no event TTL; namespaces need not exist;
// - only what the exporter, check/prune, the demo and kubectl get/delete use is served over REST: discovery,
//   list, get, watch and delete of etcdmembers, get of the CRD; writes (create, update, patch, the status
//   subresource) answer 405 and are made through the helpers, which validate as admission would;
// - one bearer token stands for one user; no anonymous requests (missing token is 401, as with --anonymous-auth=false);
// - setForbidden denies only etcdmembers requests (discovery and the CRD stay readable);
// - lists always serve the newest state and ignore limit, continue, resourceVersion and label or field selectors;
// - watches stream objects, never Tables (kubectl get --watch is not served); no sendInitialEvents;
// - discovery is the legacy form (kubectl falls back from aggregated discovery), /api/v1 lists no resources;
// - no finalizers, no dry run, no managedFields, no protobuf, no HTTP/2, no admission webhooks, no CEL rules;
// - the CRD endpoint serves only etcdmembers.etcd.k0sproject.io.
