// A Kubernetes API test server for the EtcdMember custom resource. No kube-apiserver can be installed here, so
// the exporter's integration tests, the end-to-end tests and `npm run demo` run against this. It speaks the real
// REST protocol for etcdmembers (list, get, create, update, merge patch, delete, the status subresource, watch
// with resourceVersion, bookmarks and 410 Gone, Status error bodies, bearer auth, TLS) and validates objects
// against the CRD k0s ships (shared/fixtures/k0s). Known simplifications are listed at the end of the file.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const GROUP = 'etcd.k0sproject.io';
const VERSION = 'v1beta1';
const PLURAL = 'etcdmembers';
const KIND = 'EtcdMember';
const CRD_NAME = `${PLURAL}.${GROUP}`;
const COLLECTION = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
const HISTORY_LIMIT = 1000;
const DEFAULT_CRD_PATH = fileURLToPath(new URL('../../../../shared/fixtures/k0s/etcdmembers.etcd.k0sproject.io.yaml', import.meta.url));

export type EtcdMemberObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; generation?: number; [k: string]: unknown };
  spec?: { leave?: boolean; [k: string]: unknown };
  status?: Record<string, unknown>;
  [k: string]: unknown;
};

export interface KubeApiTestServerOptions {
  /** Default true: self-signed CA and a server certificate for 127.0.0.1. */
  tls?: boolean;
  /** The bearer token accepted; default a random one. */
  token?: string;
  /** Default true; false makes every etcd.k0sproject.io path answer 404, as without the CRD (kine, external etcd). */
  crdInstalled?: boolean;
  host?: string;
  port?: number;
  crdPath?: string;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK (kube-apiserver: about a minute). */
  bookmarkIntervalMs?: number;
}

type Status = { kind: 'Status'; apiVersion: 'v1'; metadata: object; status: 'Failure' | 'Success'; message: string; reason: string; code: number; details?: object };
type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: EtcdMemberObject; rv: number };
interface Watcher {
  res: http.ServerResponse;
  timers: NodeJS.Timeout[];
}

class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

function status(code: number, reason: string, message: string, details?: object): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}
const notFoundResource = () => status(404, 'NotFound', 'the server could not find the requested resource');
const notFoundObject = (name: string) =>
  status(404, 'NotFound', `${CRD_NAME} "${name}" not found`, { name, group: GROUP, kind: PLURAL });

export class KubeApiTestServer {
  readonly token: string;
  readonly caFile: string | undefined;
  readonly kubeconfigPath: string;
  /** The last requests, newest last (bounded). */
  readonly requestLog: { method: string; path: string; query: string; status: number }[] = [];

  private readonly objects = new Map<string, EtcdMemberObject>();
  private history: WatchEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  private oldestWatchableRv = 0;
  private rv = 1;
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private failures: { count: number; code: 401 | 403 | 404 | 500 | 503; on: 'list' | 'watch' | 'any' } | undefined;
  private forbidden = false;
  private latencyMs = 0;
  private crdInstalled: boolean;
  private readonly validate: ValidateFunction;
  private readonly crd: Record<string, unknown>;
  private server: http.Server;
  private port = 0;

  private constructor(
    private readonly dir: string,
    private readonly opts: Required<Pick<KubeApiTestServerOptions, 'tls' | 'host' | 'bookmarkIntervalMs'>>,
    tlsFiles: { cert: string; key: string; ca: string } | undefined,
    token: string,
    crdInstalled: boolean,
    crdPath: string,
  ) {
    this.token = token;
    this.crdInstalled = crdInstalled;
    this.caFile = tlsFiles?.ca;
    this.kubeconfigPath = join(dir, 'kubeconfig');
    this.crd = parseYaml(readFileSync(crdPath, 'utf8')) as Record<string, unknown>;
    const version = ((this.crd['spec'] as { versions: { name: string; schema: { openAPIV3Schema: object } }[] }).versions).find((v) => v.name === VERSION);
    if (!version) throw new Error(`${crdPath} has no version ${VERSION}`);
    // OpenAPI v3 schemas carry Kubernetes extensions (x-kubernetes-*) that are not JSON Schema keywords.
    this.validate = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(version.schema.openAPIV3Schema);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = tlsFiles
      ? https.createServer({ cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) }, handler)
      : http.createServer(handler);
    this.trackSockets();
  }

  static async start(options: KubeApiTestServerOptions = {}): Promise<KubeApiTestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'kube-api-test-'));
    const host = options.host ?? '127.0.0.1';
    const tls = options.tls ?? true;
    const tlsFiles = tls ? makeCertificates(dir, host) : undefined;
    const s = new KubeApiTestServer(
      dir,
      { tls, host, bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000 },
      tlsFiles,
      options.token ?? randomBytes(16).toString('hex'),
      options.crdInstalled ?? true,
      options.crdPath ?? DEFAULT_CRD_PATH,
    );
    await s.listen(options.port ?? 0);
    await s.writeKubeconfig(s.kubeconfigPath);
    return s;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://${this.opts.host}:${this.port}`;
  }

  /** Writes a kubeconfig for this server; a different token makes one the server rejects (401). */
  async writeKubeconfig(path: string, o: { token?: string } = {}): Promise<void> {
    const cluster: Record<string, unknown> = { server: this.url };
    if (this.caFile) cluster['certificate-authority'] = this.caFile;
    else cluster['insecure-skip-tls-verify'] = true;
    writeFileSync(
      path,
      stringifyYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster }],
        users: [{ name: 'exporter', user: { token: o.token ?? this.token } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'exporter' } }],
        'current-context': 'test',
      }),
      { mode: 0o600 },
    );
  }

  // ---- data, through the same code paths as the REST API ----

  create(obj: unknown): EtcdMemberObject {
    return this.doCreate(obj, true);
  }

  update(obj: unknown): EtcdMemberObject {
    const o = this.checkShape(obj);
    return this.doUpdate(o.metadata.name, o, 'main');
  }

  delete(name: string): void {
    this.doDelete(name);
  }

  get(name: string): EtcdMemberObject | undefined {
    const o = this.objects.get(name);
    return o ? structuredClone(o) : undefined;
  }

  list(): EtcdMemberObject[] {
    return [...this.objects.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map((o) => structuredClone(o));
  }

  /** Stores an object without schema validation: data written before the schema existed, or malformed data. */
  seedRaw(obj: unknown): void {
    this.doCreate(obj, false);
  }

  setCrdInstalled(installed: boolean): void {
    this.crdInstalled = installed;
    if (!installed) {
      // Deleting a CRD deletes its objects and ends its watches.
      this.objects.clear();
      this.endWatches();
    }
  }

  // ---- faults ----

  failNext(count: number, code: 401 | 403 | 404 | 500 | 503, on: 'list' | 'watch' | 'any' = 'any'): void {
    this.failures = { count, code, on };
  }

  setForbidden(forbidden: boolean): void {
    this.forbidden = forbidden;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Abruptly destroys every open watch connection, as a network cut or an apiserver restart would. */
  dropWatches(): void {
    for (const w of this.watchers) {
      w.timers.forEach(clearTimeout);
      w.res.socket?.destroy();
    }
    this.watchers.clear();
  }

  /** Forgets the event history, as etcd compaction does: watching from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestWatchableRv = this.rv;
  }

  /** API down: stops listening and destroys every connection; the port is kept for restart(). */
  async stop(): Promise<void> {
    this.dropWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- HTTP ----

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.opts.host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        if (a && typeof a === 'object') this.port = a.port;
        resolve();
      });
    });
  }

  private trackSockets(): void {
    const event = this.opts.tls ? 'secureConnection' : 'connection';
    this.server.on(event, (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    if (this.opts.tls) {
      // Sockets that never finish the handshake must go on stop() too.
      this.server.on('connection', (s: Socket) => {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      });
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const send = (code: number, body: unknown): void => {
      this.log(method, url, code);
      if (res.destroyed) return;
      res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      res.end(JSON.stringify(body));
    };
    try {
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      const body = await readBody(req);
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new ApiError(status(401, 'Unauthorized', 'Unauthorized'));
      const isWatch = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
      this.injectFailure(url.pathname, method, isWatch);
      const route = this.route(method, url, isWatch);
      if (route === 'watch') {
        this.watch(url, res);
        this.log(method, url, 200);
        return;
      }
      const [code, out] = route(body);
      send(code, out);
    } catch (err) {
      if (err instanceof ApiError) send(err.status.code, err.status);
      else send(500, status(500, 'InternalError', `Internal error occurred: ${String(err)}`));
    }
  }

  private injectFailure(path: string, method: string, isWatch: boolean): void {
    const f = this.failures;
    if (!f || f.count <= 0 || !path.startsWith(COLLECTION)) return;
    const isList = method === 'GET' && path === COLLECTION && !isWatch;
    if (f.on === 'list' && !isList) return;
    if (f.on === 'watch' && !isWatch) return;
    f.count--;
    const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 500: 'InternalError', 503: 'ServiceUnavailable' }[f.code];
    throw new ApiError(status(f.code, reason, f.code === 500 ? 'Internal error occurred: injected failure' : `injected ${f.code}`));
  }

  private route(method: string, url: URL, isWatch: boolean): 'watch' | ((body: string) => [number, unknown]) {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method === 'GET' && path === '/version') return () => [200, { major: '1', minor: '34', gitVersion: 'v1.34.0+k0s-etcdmember-test' }];
    if (method === 'GET' && (path === '/healthz' || path === '/readyz' || path === '/livez')) return () => [200, 'ok'];
    if (method === 'GET' && path === '/api') return () => [200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }];
    if (method === 'GET' && path === '/apis') return () => [200, this.groupList()];
    if (path === `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`) {
      if (method !== 'GET') throw new ApiError(status(405, 'MethodNotAllowed', `method ${method} not supported by this test server`));
      if (!this.crdInstalled) throw new ApiError(status(404, 'NotFound', `customresourcedefinitions.apiextensions.k8s.io "${CRD_NAME}" not found`));
      return () => [200, { ...this.crd, status: { conditions: [{ type: 'Established', status: 'True' }] } }];
    }
    if (!path.startsWith(`/apis/${GROUP}`)) throw new ApiError(notFoundResource());
    if (!this.crdInstalled) throw new ApiError(notFoundResource());
    if (path === `/apis/${GROUP}/${VERSION}`) return () => [200, this.resourceList()];
    if (this.forbidden) throw new ApiError(this.forbiddenStatus(method, url, isWatch));

    if (path === COLLECTION) {
      if (method === 'GET') return isWatch ? 'watch' : () => [200, this.listBody()];
      if (method === 'POST') return (body) => [201, this.doCreate(parseJSON(body), true)];
      throw new ApiError(status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    }
    const m = new RegExp(`^${COLLECTION}/([^/]+)(/status)?$`).exec(path);
    if (!m) throw new ApiError(notFoundResource());
    const name = decodeURIComponent(m[1]!);
    const sub = m[2] ? 'status' : 'main';
    switch (method) {
      case 'GET':
        return () => {
          const o = this.objects.get(name);
          if (!o) throw new ApiError(notFoundObject(name));
          return [200, o];
        };
      case 'PUT':
        return (body) => {
          const o = this.checkShape(parseJSON(body));
          if (o.metadata.name !== name) throw new ApiError(status(400, 'BadRequest', `the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`));
          return [200, this.doUpdate(name, o, sub)];
        };
      case 'PATCH':
        return (body) => {
          const o = this.objects.get(name);
          if (!o) throw new ApiError(notFoundObject(name));
          const patched = mergePatch(structuredClone(o), parseJSON(body)) as EtcdMemberObject;
          delete patched.metadata.resourceVersion; // a merge patch without a resourceVersion never conflicts
          return [200, this.doUpdate(name, patched, sub)];
        };
      case 'DELETE':
        return () => {
          if (sub === 'status') throw new ApiError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
          return [200, this.doDelete(name)];
        };
      default:
        throw new ApiError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    }
  }

  private forbiddenStatus(method: string, url: URL, isWatch: boolean): Status {
    const name = /\/etcdmembers\/([^/]+)/.exec(url.pathname)?.[1];
    const verb = isWatch ? 'watch' : ({ GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? method.toLowerCase();
    const subject = 'system:serviceaccount:k0s-etcdmember-exporter:k0s-etcdmember-exporter';
    return status(
      403,
      'Forbidden',
      `${CRD_NAME}${name ? ` "${name}"` : ''} is forbidden: User "${subject}" cannot ${verb} resource "${PLURAL}" in API group "${GROUP}" at the cluster scope`,
      { ...(name ? { name } : {}), group: GROUP, kind: PLURAL },
    );
  }

  private groupList(): object {
    const groups = this.crdInstalled
      ? [{ name: GROUP, versions: [{ groupVersion: `${GROUP}/${VERSION}`, version: VERSION }], preferredVersion: { groupVersion: `${GROUP}/${VERSION}`, version: VERSION } }]
      : [];
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }

  private resourceList(): object {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${GROUP}/${VERSION}`,
      resources: [
        { name: PLURAL, singularName: 'etcdmember', namespaced: false, kind: KIND, verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'] },
        { name: `${PLURAL}/status`, singularName: '', namespaced: false, kind: KIND, verbs: ['get', 'patch', 'update'] },
      ],
    };
  }

  private listBody(): object {
    return { apiVersion: `${GROUP}/${VERSION}`, kind: 'EtcdMemberList', metadata: { resourceVersion: String(this.rv) }, items: this.list() };
  }

  // ---- storage ----

  /** Checks what kube-apiserver checks before the schema: the type and a valid name. */
  private checkShape(obj: unknown): EtcdMemberObject {
    const o = obj as Partial<EtcdMemberObject> | null;
    if (typeof o !== 'object' || o === null) throw new ApiError(status(400, 'BadRequest', 'the body of the request was not a JSON object'));
    if (o.apiVersion !== `${GROUP}/${VERSION}` || o.kind !== KIND) {
      throw new ApiError(status(400, 'BadRequest', `the API version in the data (${String(o.apiVersion)}) and kind (${String(o.kind)}) do not match ${GROUP}/${VERSION}, Kind=${KIND}`));
    }
    const name = o.metadata?.name;
    if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) || name.length > 253) {
      throw new ApiError(
        status(422, 'Invalid', `${KIND}.${GROUP} "${String(name)}" is invalid: metadata.name: Invalid value: "${String(name)}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`, {
          name, group: GROUP, kind: KIND,
        }),
      );
    }
    return structuredClone(o) as EtcdMemberObject;
  }

  private schemaCheck(o: EtcdMemberObject): void {
    const valid: boolean = this.validate(o); // not used as a type guard: o stays an EtcdMemberObject below
    if (valid) return;
    const causes = (this.validate.errors ?? []).map((e) => ({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${e.message ?? 'invalid'}`,
      field: e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '<root>',
    }));
    throw new ApiError(
      status(422, 'Invalid', `${KIND}.${GROUP} "${o.metadata.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, {
        name: o.metadata.name, group: GROUP, kind: KIND, causes,
      }),
    );
  }

  private doCreate(obj: unknown, validate: boolean): EtcdMemberObject {
    if (!this.crdInstalled) throw new ApiError(notFoundResource());
    const o = validate ? this.checkShape(obj) : (structuredClone(obj) as EtcdMemberObject);
    if (validate) this.schemaCheck(o);
    const name = o.metadata.name;
    if (this.objects.has(name)) {
      throw new ApiError(status(409, 'AlreadyExists', `${CRD_NAME} "${name}" already exists`, { name, group: GROUP, kind: PLURAL }));
    }
    o.metadata = { ...o.metadata, uid: randomUUID(), resourceVersion: String(++this.rv), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), generation: 1 };
    this.objects.set(name, o);
    this.emit('ADDED', o);
    return structuredClone(o);
  }

  private doUpdate(name: string, o: EtcdMemberObject, sub: 'main' | 'status'): EtcdMemberObject {
    const current = this.objects.get(name);
    if (!current) throw new ApiError(notFoundObject(name));
    const rv = o.metadata.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) {
      throw new ApiError(
        status(409, 'Conflict', `Operation cannot be fulfilled on ${CRD_NAME} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: GROUP, kind: PLURAL }),
      );
    }
    // With a status subresource, the main resource ignores status and /status ignores everything but status.
    const next: EtcdMemberObject =
      sub === 'status' ? { ...structuredClone(current), status: o.status ?? {} } : { ...o, ...(current.status ? { status: current.status } : {}) };
    if (sub === 'main' && current.status === undefined) delete next.status;
    next.metadata = { ...o.metadata, ...pick(current.metadata, ['uid', 'creationTimestamp']), name, resourceVersion: current.metadata.resourceVersion };
    this.schemaCheck(next);
    const specChanged = JSON.stringify(next.spec) !== JSON.stringify(current.spec);
    next.metadata.generation = (current.metadata.generation ?? 1) + (sub === 'main' && specChanged ? 1 : 0);
    if (JSON.stringify(next) === JSON.stringify(current)) return structuredClone(current); // no-op updates do not bump
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(name, next);
    this.emit('MODIFIED', next);
    return structuredClone(next);
  }

  private doDelete(name: string): EtcdMemberObject {
    if (!this.crdInstalled) throw new ApiError(notFoundResource());
    const o = this.objects.get(name);
    if (!o) throw new ApiError(notFoundObject(name));
    this.objects.delete(name);
    const gone = { ...o, metadata: { ...o.metadata, resourceVersion: String(++this.rv) } };
    this.emit('DELETED', gone);
    return structuredClone(gone);
  }

  private emit(type: WatchEvent['type'], object: EtcdMemberObject): void {
    const event: WatchEvent = { type, object: structuredClone(object), rv: this.rv };
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.oldestWatchableRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) writeEvent(w.res, { type, object: event.object });
  }

  // ---- watch ----

  private watch(url: URL, res: http.ServerResponse): void {
    const from = url.searchParams.get('resourceVersion') ?? '';
    if (from !== '' && !/^\d+$/.test(from)) {
      const s = status(400, 'BadRequest', `invalid resource version: ${from}`);
      res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify(s));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    if (from === '' || from === '0') {
      // Like kube-apiserver: start with the current state as synthetic ADDED events.
      for (const o of this.list()) writeEvent(res, { type: 'ADDED', object: o });
    } else {
      const n = Number(from);
      if (n < this.oldestWatchableRv) {
        writeEvent(res, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${n} (${this.oldestWatchableRv})`) });
        res.end();
        return;
      }
      for (const e of this.history) if (e.rv > n) writeEvent(res, { type: e.type, object: e.object });
    }
    const w: Watcher = { res, timers: [] };
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) {
      w.timers.push(setTimeout(() => {
        this.watchers.delete(w);
        w.timers.forEach(clearTimeout);
        res.end();
      }, timeoutSeconds * 1000));
    }
    if (url.searchParams.get('allowWatchBookmarks') === 'true') {
      const bookmark = (): void => {
        writeEvent(res, { type: 'BOOKMARK', object: { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { resourceVersion: String(this.rv) } } });
        w.timers.push(setTimeout(bookmark, this.opts.bookmarkIntervalMs));
      };
      w.timers.push(setTimeout(bookmark, this.opts.bookmarkIntervalMs));
    }
    this.watchers.add(w);
    res.on('close', () => {
      w.timers.forEach(clearTimeout);
      this.watchers.delete(w);
    });
  }

  private endWatches(): void {
    for (const w of this.watchers) {
      w.timers.forEach(clearTimeout);
      w.res.end();
    }
    this.watchers.clear();
  }

  private log(method: string, url: URL, code: number): void {
    this.requestLog.push({ method, path: url.pathname, query: url.search, status: code });
    if (this.requestLog.length > 1000) this.requestLog.splice(0, this.requestLog.length - 1000);
  }
}

// ---- objects for tests and the demo ----

/** An EtcdMember as k0s writes it. */
export function etcdMemberObject(
  name: string,
  s: { memberID?: string; peerAddress?: string; reconcileStatus?: string; joined?: boolean },
  spec: { leave?: boolean } = {},
): EtcdMemberObject {
  const status: Record<string, unknown> = {};
  if (s.memberID !== undefined) status['memberID'] = s.memberID;
  if (s.peerAddress !== undefined) status['peerAddress'] = s.peerAddress;
  if (s.reconcileStatus !== undefined) status['reconcileStatus'] = s.reconcileStatus;
  if (s.memberID !== undefined) {
    status['conditions'] = [{ type: 'Joined', status: s.joined === false ? 'False' : 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }];
  }
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name },
    spec: { ...spec },
    ...(Object.keys(status).length > 0 ? { status } : {}),
  };
}

/**
 * The k0s#5369 state: one object per member, named after it, plus the zombie `c1` that carries the first
 * member's ID and peer address (the name from before the hostname was changed back).
 */
export function k0s5369Objects(members: readonly { name: string; memberIdHex: string; peerAddress: string }[]): EtcdMemberObject[] {
  const first = members[0];
  if (!first) throw new Error('k0s5369Objects needs the members');
  const zombie = first.name.split('.')[0]!.toLowerCase();
  return [
    etcdMemberObject(zombie, { memberID: first.memberIdHex, peerAddress: first.peerAddress }),
    ...members.map((m) => etcdMemberObject(m.name.trim().toLowerCase(), { memberID: m.memberIdHex, peerAddress: m.peerAddress })),
  ];
}

// ---- helpers ----

function writeEvent(res: http.ServerResponse, event: { type: string; object: unknown }): void {
  if (!res.destroyed && !res.writableEnded) res.write(JSON.stringify(event) + '\n');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJSON(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new ApiError(status(400, 'BadRequest', `the body of the request was in an unknown format: ${String(err)}`));
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pick<T extends object>(o: T, keys: (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function makeCertificates(dir: string, host: string): { cert: string; key: string; ca: string } {
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=kube-api-test-ca');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=kube-apiserver');
  writeFileSync(f('server.ext'), `subjectAltName=IP:${host},IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext'));
  return { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') };
}

// Simplifications against kube-apiserver, on purpose: no label/field selectors, no pagination (limit/continue
// are ignored and the whole list is returned), no structural pruning of unknown fields, no finalizers (DELETE
// removes at once), no server-side apply, and one bearer token stands for every user.
