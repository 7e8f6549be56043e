// The Kubernetes API test server must answer like kube-apiserver, or every test built on it proves nothing.
// These tests speak raw HTTP to it, plus @kubernetes/client-node as a second, independent client.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeApiTestServer, etcdMemberObject, k0s5369Objects, type EtcdMemberObject } from '../testbed/kube-api-server.js';

// Per test: generous next to the few hundred milliseconds each takes, short enough that a hang fails fast.
const T = 10_000;
const GROUP = 'etcd.k0sproject.io';
const COLLECTION = '/apis/etcd.k0sproject.io/v1beta1/etcdmembers';
const MEMBERS = [
  { name: 'c1.example.org', memberIdHex: 'a1b2c3d4e5f60708', peerAddress: '10.0.0.1' },
  { name: 'c2.example.org', memberIdHex: 'b2', peerAddress: '10.0.0.2' },
  { name: 'c3.example.org', memberIdHex: 'c3', peerAddress: '10.0.0.3' },
];

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const servers: KubeApiTestServer[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startServer(opts: Parameters<typeof KubeApiTestServer.start>[0] = {}): Promise<KubeApiTestServer> {
  const s = await KubeApiTestServer.start(opts);
  servers.push(s);
  return s;
}

function call(
  api: KubeApiTestServer,
  method: string,
  path: string,
  o: { body?: unknown; token?: string | null; authorization?: string; contentType?: string; timeoutMs?: number; ca?: Buffer | null } = {},
): Promise<Reply> {
  const url = new URL(api.url + path);
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = o.token === undefined ? api.token : o.token;
  if (token !== null) headers['Authorization'] = o.authorization ?? `Bearer ${token}`;
  const payload = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  if (payload !== undefined) {
    headers['Content-Type'] = o.contentType ?? 'application/json';
    // Node sends a DELETE body neither chunked nor sized unless told its length.
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  const ca = o.ca === undefined ? (api.caFile ? readFileSync(api.caFile) : undefined) : o.ca ?? undefined;
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, { method, headers, ...(ca ? { ca } : {}), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), o.timeoutMs ?? 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(payload);
  });
}

interface WatchEvent {
  type: string;
  object: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An open watch: collects events; `ended` says how the stream finished. */
class Watch {
  readonly events: WatchEvent[] = [];
  status = 0;
  contentType = '';
  readonly ended: Promise<'end' | 'error'>;
  private req!: http.ClientRequest;
  private listeners: (() => void)[] = [];

  constructor(api: KubeApiTestServer, query: string) {
    const url = new URL(`${api.url}${COLLECTION}?watch=1&${query}`);
    const transport = url.protocol === 'https:' ? https : http;
    this.ended = new Promise((resolve) => {
      this.req = transport.request(
        url,
        { headers: { Authorization: `Bearer ${api.token}` }, ...(api.caFile ? { ca: readFileSync(api.caFile) } : {}), agent: false },
        (res) => {
          this.status = res.statusCode ?? 0;
          this.contentType = String(res.headers['content-type']);
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              if (line.trim() !== '') this.events.push(JSON.parse(line) as WatchEvent);
            }
            this.listeners.forEach((l) => l());
          });
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('error'));
          res.on('close', () => {
            if (!res.complete) resolve('error');
          });
        },
      );
      this.req.on('error', () => resolve('error'));
      this.req.end();
    });
  }

  /** Resolves once `n` events arrived; fails after timeoutMs. */
  waitFor(n: number, timeoutMs = 3000): Promise<WatchEvent[]> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.events.length >= n) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((l) => l !== check);
          resolve(this.events.slice(0, n));
        }
      };
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`only ${this.events.length} of ${n} watch events within ${timeoutMs} ms: ${JSON.stringify(this.events.map((e) => e.type))}`));
      }, timeoutMs);
      this.listeners.push(check);
      check();
    });
  }

  close(): void {
    this.req.destroy();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

const member = (name: string, memberID = 'abc', peerAddress = '10.0.0.9'): EtcdMemberObject => etcdMemberObject(name, { memberID, peerAddress });

describe('KubeApiTestServer', () => {
  let api: KubeApiTestServer;
  before(async () => {
    api = await startServer({ bookmarkIntervalMs: 200 });
    for (const o of k0s5369Objects(MEMBERS)) api.create(o);
  });

  it('lists the k0s#5369 objects as an EtcdMemberList sorted by name, over TLS', { timeout: T }, async () => {
    const r = await call(api, 'GET', COLLECTION);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.json.kind, 'EtcdMemberList');
    assert.equal(r.json.apiVersion, 'etcd.k0sproject.io/v1beta1');
    assert.deepEqual(Object.keys(r.json), ['apiVersion', 'items', 'kind', 'metadata'], 'keys sorted, as Go encodes unstructured lists');
    assert.deepEqual(r.json.metadata, { continue: '', resourceVersion: api.resourceVersion });
    assert.deepEqual(r.json.items.map((o: EtcdMemberObject) => o.metadata.name), ['c1', 'c1.example.org', 'c2.example.org', 'c3.example.org']);
    for (const o of r.json.items as EtcdMemberObject[]) {
      assert.equal(o.apiVersion, 'etcd.k0sproject.io/v1beta1');
      assert.equal(o.kind, 'EtcdMember');
    }
    const [c1, c1fqdn] = r.json.items as EtcdMemberObject[];
    assert.equal(c1!.status!['memberID'], 'a1b2c3d4e5f60708');
    assert.equal(c1!.status!['memberID'], c1fqdn!.status!['memberID']);
    assert.equal(c1!.status!['peerAddress'], '10.0.0.1');
    assert.match(c1!.metadata.uid!, /^[0-9a-f-]{36}$/);
    assert.equal(c1!.metadata.generation, 1);
    assert.match(c1!.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('paginates with limit and continue, and filters by label and field selectors', { timeout: T }, async () => {
    const first = await call(api, 'GET', `${COLLECTION}?limit=3`);
    assert.equal(first.json.items.length, 3);
    assert.equal(first.json.metadata.remainingItemCount, 1);
    const rest = await call(api, 'GET', `${COLLECTION}?limit=3&continue=${encodeURIComponent(first.json.metadata.continue)}`);
    assert.deepEqual(rest.json.items.map((o: EtcdMemberObject) => o.metadata.name), ['c3.example.org']);
    assert.equal(rest.json.metadata.continue, '', 'an unstructured (custom resource) list carries continue "" on its last page');
    const byName = await call(api, 'GET', `${COLLECTION}?fieldSelector=metadata.name%3Dc2.example.org`);
    assert.deepEqual(byName.json.items.map((o: EtcdMemberObject) => o.metadata.name), ['c2.example.org']);
    const badField = await call(api, 'GET', `${COLLECTION}?fieldSelector=status.memberID%3Dab`);
    assert.equal(badField.status, 400);
    assert.equal(badField.json.reason, 'BadRequest');
    api.create({ ...member('labelled'), metadata: { name: 'labelled', labels: { role: 'test' } } });
    try {
      const byLabel = await call(api, 'GET', `${COLLECTION}?labelSelector=role%3Dtest`);
      assert.deepEqual(byLabel.json.items.map((o: EtcdMemberObject) => o.metadata.name), ['labelled']);
      const notIn = await call(api, 'GET', `${COLLECTION}?labelSelector=role%20notin%20(test)`);
      assert.equal(notIn.json.items.length, 4);
    } finally {
      api.delete('labelled');
    }
  });

  it('@kubernetes/client-node reads it through the written kubeconfig (TLS with the CA file, bearer token)', { timeout: T }, async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    assert.equal(kc.getCurrentCluster()?.server, api.url);
    assert.equal(kc.getCurrentCluster()?.caFile, api.caFile);
    const client = kc.makeApiClient(CustomObjectsApi);
    const list = (await withTimeout(client.listClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'etcdmembers' }), 5000, 'list')) as {
      items: EtcdMemberObject[];
    };
    assert.deepEqual(list.items.map((o) => o.metadata.name), ['c1', 'c1.example.org', 'c2.example.org', 'c3.example.org']);
    const one = (await client.getClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'etcdmembers', name: 'c2.example.org' })) as EtcdMemberObject;
    assert.equal(one.status?.['memberID'], 'b2');
    await assert.rejects(client.getClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'etcdmembers', name: 'nope' }), (err: { code?: number }) => err.code === 404);

    // The remedy for k0s#5369 is deleting the stale object; the client must be able to do that here.
    api.create(member('client-delete', 'dd'));
    const del = (await withTimeout(
      client.deleteClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'etcdmembers', name: 'client-delete' }),
      5000,
      'delete',
    )) as { kind?: string; status?: string; details?: { name?: string } };
    assert.deepEqual([del.kind, del.status, del.details?.name], ['Status', 'Success', 'client-delete']);
    assert.equal(api.get('client-delete'), undefined);
    await assert.rejects(
      client.deleteClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'etcdmembers', name: 'client-delete' }),
      (err: { code?: number; body?: unknown }) => err.code === 404 && String(err.body).includes('etcdmembers.etcd.k0sproject.io \\"client-delete\\" not found'),
    );

    const bad = join(mkdtempSync(join(tmpdir(), 'kube-api-test-kc-')), 'kubeconfig');
    dirs.push(join(bad, '..'));
    await api.writeKubeconfig(bad, { token: 'wrong-token' });
    const kcBad = new KubeConfig();
    kcBad.loadFromFile(bad);
    await assert.rejects(
      kcBad.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'etcdmembers' }),
      (err: { code?: number }) => err.code === 401,
    );
  });

  it('TLS: the server certificate only verifies with its CA', { timeout: T }, async () => {
    assert.ok(api.url.startsWith('https://127.0.0.1:'));
    await assert.rejects(call(api, 'GET', '/version', { ca: null }), /self-signed|unable to verify|certificate/i);
    const r = await call(api, 'GET', '/version');
    assert.equal(r.status, 200);
    assert.equal(r.json.major, '1');
  });

  it('serves discovery: /apis lists the group, the group version lists etcdmembers and etcdmembers/status', { timeout: T }, async () => {
    const groups = await call(api, 'GET', '/apis');
    assert.equal(groups.json.kind, 'APIGroupList');
    assert.ok(groups.json.groups.some((g: { name: string }) => g.name === GROUP));
    const resources = await call(api, 'GET', '/apis/etcd.k0sproject.io/v1beta1');
    assert.equal(resources.json.kind, 'APIResourceList');
    const main = resources.json.resources.find((r: { name: string }) => r.name === 'etcdmembers');
    assert.equal(main.namespaced, false);
    assert.equal(main.kind, 'EtcdMember');
    assert.ok(main.verbs.includes('watch'));
    assert.deepEqual(resources.json.resources.find((r: { name: string }) => r.name === 'etcdmembers/status').verbs, ['get', 'patch', 'update']);
    const crd = await call(api, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/etcdmembers.etcd.k0sproject.io');
    assert.equal(crd.status, 200);
    assert.equal(crd.json.spec.scope, 'Cluster');
    assert.ok(crd.json.status.conditions.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True'));
    assert.equal((await call(api, 'GET', '/healthz')).text, 'ok');
    const unknown = await call(api, 'GET', '/apis/nothing.example/v1/things');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.kind, 'Status');
    const namespaced = await call(api, 'GET', '/apis/etcd.k0sproject.io/v1beta1/namespaces/default/etcdmembers');
    assert.equal(namespaced.status, 404, 'a cluster-scoped resource has no namespaced path');
  });

  it('create, get and delete over REST; a POST cannot set status; AlreadyExists and NotFound Status bodies', { timeout: T }, async () => {
    const body = { ...member('rest-1', 'ff01'), spec: { leave: false } };
    const created = await call(api, 'POST', COLLECTION, { body });
    assert.equal(created.status, 201);
    assert.equal(created.json.metadata.name, 'rest-1');
    assert.equal(created.json.status, undefined, 'the status subresource makes create drop status, like kube-apiserver');
    assert.match(created.json.metadata.resourceVersion, /^\d+$/);
    assert.ok(Number(created.json.metadata.resourceVersion) > 0);
    assert.equal(created.json.metadata.resourceVersion, api.resourceVersion);
    assert.match(created.json.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(Date.parse(created.json.metadata.creationTimestamp) - Date.now()) < 5000, created.json.metadata.creationTimestamp);
    assert.match(created.json.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'RFC 3339 with seconds, as metav1.Time marshals');
    assert.equal(created.json.metadata.generation, 1);
    const got = await call(api, 'GET', `${COLLECTION}/rest-1`);
    assert.deepEqual(got.json, created.json);

    const again = await call(api, 'POST', COLLECTION, { body });
    assert.equal(again.status, 409);
    assert.deepEqual(again.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'etcdmembers.etcd.k0sproject.io "rest-1" already exists', reason: 'AlreadyExists',
      details: { name: 'rest-1', group: GROUP, kind: 'etcdmembers' }, code: 409,
    });

    const status = await call(api, 'PUT', `${COLLECTION}/rest-1/status`, { body: { ...got.json, status: { memberID: 'ff01', peerAddress: '10.0.0.7' } } });
    assert.equal(status.status, 200);
    assert.equal(status.json.status.memberID, 'ff01');
    assert.equal(status.json.metadata.generation, 1, 'a status write does not bump generation');

    const patched = await call(api, 'PATCH', `${COLLECTION}/rest-1`, { body: { spec: { leave: true } }, contentType: 'application/merge-patch+json' });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.spec.leave, true);
    assert.equal(patched.json.metadata.generation, 2);
    assert.equal(patched.json.status.memberID, 'ff01');

    const deleted = await call(api, 'DELETE', `${COLLECTION}/rest-1`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
      details: { name: 'rest-1', group: GROUP, kind: 'etcdmembers', uid: created.json.metadata.uid }, code: 200,
    });
    assert.equal(api.get('rest-1'), undefined);
    const missing = await call(api, 'GET', `${COLLECTION}/rest-1`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'etcdmembers.etcd.k0sproject.io "rest-1" not found', reason: 'NotFound',
      details: { name: 'rest-1', group: GROUP, kind: 'etcdmembers' }, code: 404,
    });
    assert.equal((await call(api, 'DELETE', `${COLLECTION}/rest-1`)).status, 404);
    const x = await call(api, 'GET', `${COLLECTION}/x`);
    assert.equal(x.status, 404);
    assert.equal(x.json.message, 'etcdmembers.etcd.k0sproject.io "x" not found');

    // Some clients send a JSON null as DeleteOptions; kube-apiserver reads it as no options.
    api.create(member('null-delete'));
    const nullBody = await call(api, 'DELETE', `${COLLECTION}/null-delete`, { body: 'null' });
    assert.equal(nullBody.status, 200, nullBody.text);
    assert.equal(api.get('null-delete'), undefined);
  });

  it('status subresource: a PUT on the main resource ignores status, a PUT on /status changes only status', { timeout: T }, async () => {
    api.create(member('sub-1', 'a0', '10.0.0.50'));
    try {
      const cur = (await call(api, 'GET', `${COLLECTION}/sub-1`)).json as EtcdMemberObject;
      const main = await call(api, 'PUT', `${COLLECTION}/sub-1`, { body: { ...cur, spec: { leave: true }, status: { ...cur.status, peerAddress: '10.9.9.9' } } });
      assert.equal(main.status, 200, main.text);
      assert.equal(main.json.spec.leave, true);
      assert.equal(main.json.status.peerAddress, '10.0.0.50', 'the main resource keeps the stored status');
      assert.equal(main.json.metadata.generation, 2, 'a spec change bumps generation');
      assert.ok(Number(main.json.metadata.resourceVersion) > Number(cur.metadata.resourceVersion));

      const statusOnly = await call(api, 'PUT', `${COLLECTION}/sub-1`, { body: { ...main.json, status: { ...main.json.status, memberID: 'ff' } } });
      assert.equal(statusOnly.status, 200);
      assert.equal(statusOnly.json.status.memberID, 'a0');
      assert.equal(statusOnly.json.metadata.resourceVersion, main.json.metadata.resourceVersion, 'a status change on the main resource writes nothing');

      const st = await call(api, 'PUT', `${COLLECTION}/sub-1/status`, {
        body: { ...main.json, metadata: { ...main.json.metadata, labels: { sneaky: 'yes' } }, spec: { leave: false }, status: { ...main.json.status, peerAddress: '10.0.0.51' } },
      });
      assert.equal(st.status, 200, st.text);
      assert.equal(st.json.status.peerAddress, '10.0.0.51');
      assert.equal(st.json.spec.leave, true, '/status ignores spec');
      assert.equal(st.json.metadata.labels, undefined, '/status ignores metadata');
      assert.equal(st.json.metadata.generation, 2, 'a status write does not bump generation');
      assert.ok(Number(st.json.metadata.resourceVersion) > Number(main.json.metadata.resourceVersion));
      assert.deepEqual(api.get('sub-1'), st.json);

      const stale = await call(api, 'PUT', `${COLLECTION}/sub-1/status`, { body: main.json });
      assert.equal(stale.status, 409);
      assert.equal(stale.json.reason, 'Conflict');
      assert.equal((await call(api, 'GET', `${COLLECTION}/sub-1/status`)).json.status.peerAddress, '10.0.0.51');
    } finally {
      api.delete('sub-1');
    }
  });

  it('merge PATCH: merges, null removes a key, /status patches only status, a stale resourceVersion in the patch is a 409', { timeout: T }, async () => {
    api.create({ ...member('patch-1', 'b0', '10.0.0.60'), metadata: { name: 'patch-1', labels: { a: '1', b: '2' } } });
    const mp = (path: string, body: unknown): Promise<Reply> => call(api, 'PATCH', `${COLLECTION}/${path}`, { body, contentType: 'application/merge-patch+json' });
    try {
      const p1 = await mp('patch-1', { metadata: { labels: { b: null, c: '3' } }, spec: { leave: true }, status: { peerAddress: '10.6.6.6' } });
      assert.equal(p1.status, 200, p1.text);
      assert.deepEqual(p1.json.metadata.labels, { a: '1', c: '3' });
      assert.equal(p1.json.spec.leave, true);
      assert.equal(p1.json.metadata.generation, 2);
      assert.deepEqual([p1.json.status.memberID, p1.json.status.peerAddress], ['b0', '10.0.0.60'], 'status is ignored on the main resource');

      const p2 = await mp('patch-1/status', { status: { peerAddress: '10.0.0.61', reconcileStatus: 'Success' }, spec: { leave: false } });
      assert.equal(p2.status, 200, p2.text);
      assert.equal(p2.json.status.peerAddress, '10.0.0.61');
      assert.equal(p2.json.status.reconcileStatus, 'Success');
      assert.equal(p2.json.status.memberID, 'b0', 'a merge patch keeps what it does not name');
      assert.equal(p2.json.status.conditions.length, 1);
      assert.equal(p2.json.spec.leave, true, '/status ignores spec');

      const bad = await mp('patch-1/status', { status: { memberID: 'not-hex!' } });
      assert.equal(bad.status, 422);
      assert.match(bad.json.message, /status\.memberID in body should match '\^\[a-fA-F0-9\]\+\$'/);
      const stale = await mp('patch-1', { metadata: { resourceVersion: p1.json.metadata.resourceVersion }, spec: { leave: false } });
      assert.equal(stale.status, 409);
      assert.equal(stale.json.reason, 'Conflict');
      assert.deepEqual(api.get('patch-1'), p2.json, 'rejected patches change nothing');

      const strategic = await call(api, 'PATCH', `${COLLECTION}/patch-1`, { body: { spec: { leave: false } }, contentType: 'application/strategic-merge-patch+json' });
      assert.equal(strategic.status, 415, 'custom resources do not take strategic merge patches');
      const missing = await mp('nope', { spec: { leave: true } });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.message, 'etcdmembers.etcd.k0sproject.io "nope" not found');
    } finally {
      api.delete('patch-1');
    }
  });

  it('422 Invalid for a memberID that is not hex, from REST and from create(); seedRaw stores it anyway', { timeout: T }, async () => {
    const c2 = (await call(api, 'GET', `${COLLECTION}/c2.example.org`)).json as EtcdMemberObject;
    const r = await call(api, 'PUT', `${COLLECTION}/c2.example.org/status`, { body: { ...c2, status: { ...c2.status, memberID: 'zz-not-hex' } } });
    assert.equal(r.status, 422);
    assert.equal(r.json.reason, 'Invalid');
    assert.equal(r.json.code, 422);
    assert.equal(
      r.json.message,
      `EtcdMember.etcd.k0sproject.io "c2.example.org" is invalid: status.memberID: Invalid value: "zz-not-hex": status.memberID in body should match '^[a-fA-F0-9]+$'`,
    );
    assert.deepEqual(r.json.details.causes, [
      { reason: 'FieldValueInvalid', message: `Invalid value: "zz-not-hex": status.memberID in body should match '^[a-fA-F0-9]+$'`, field: 'status.memberID' },
    ]);
    assert.equal((await call(api, 'GET', `${COLLECTION}/c2.example.org`)).json.status.memberID, 'b2', 'rejected writes change nothing');

    assert.throws(() => api.create(member('bad-hex', 'xyz')), (e: unknown) => e instanceof KubeApiError && e.code === 422);
    assert.throws(() => api.create(etcdMemberObject('no-peer', { memberID: 'ab' })), /status\.peerAddress: Required value/);
    const badType = await call(api, 'POST', COLLECTION, { body: { apiVersion: 'etcd.k0sproject.io/v1beta1', kind: 'EtcdMember', metadata: { name: 'x' }, spec: { leave: 'yes' } } });
    assert.equal(badType.status, 422);
    assert.match(badType.json.message, /spec\.leave in body must be of type boolean/);
    const badName = await call(api, 'POST', COLLECTION, { body: member('Upper_Case') });
    assert.equal(badName.status, 422);
    assert.match(badName.json.message, /metadata\.name: Invalid value: "Upper_Case": a lowercase RFC 1123 subdomain/);

    api.seedRaw(member('raw-bad', 'zz-not-hex'));
    try {
      const raw = await call(api, 'GET', `${COLLECTION}/raw-bad`);
      assert.equal(raw.json.status.memberID, 'zz-not-hex');
    } finally {
      api.delete('raw-bad');
    }
  });

  it('unknown fields are pruned with a warning, or rejected with fieldValidation=Strict', { timeout: T }, async () => {
    const body = { ...member('pruned'), spec: { leave: false, surprise: 1 } };
    const strict = await call(api, 'POST', `${COLLECTION}?fieldValidation=Strict`, { body });
    assert.equal(strict.status, 400);
    assert.match(strict.json.message, /unknown field "spec\.surprise"/);
    const warned = await call(api, 'POST', COLLECTION, { body });
    assert.equal(warned.status, 201);
    assert.deepEqual(warned.json.spec, { leave: false });
    assert.match(String(warned.headers['warning']), /unknown field \\"spec\.surprise\\"/);
    api.delete('pruned');
  });

  it('409 Conflict on a PUT with a stale resourceVersion; 422 without one', { timeout: T }, async () => {
    const before = (await call(api, 'GET', `${COLLECTION}/c3.example.org`)).json as EtcdMemberObject;
    const ok = await call(api, 'PUT', `${COLLECTION}/c3.example.org`, { body: { ...before, spec: { leave: false } } });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.json.metadata.resourceVersion, before.metadata.resourceVersion);
    const stale = await call(api, 'PUT', `${COLLECTION}/c3.example.org`, { body: { ...before, spec: { leave: true } } });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, 'Conflict');
    assert.equal(
      stale.json.message,
      'Operation cannot be fulfilled on etcdmembers.etcd.k0sproject.io "c3.example.org": the object has been modified; please apply your changes to the latest version and try again',
    );
    const { resourceVersion: _rv, ...metaWithoutRv } = before.metadata;
    const unconditional = await call(api, 'PUT', `${COLLECTION}/c3.example.org`, { body: { ...before, metadata: metaWithoutRv } });
    assert.equal(unconditional.status, 422);
    assert.match(unconditional.json.message, /metadata\.resourceVersion: Invalid value: 0x0: must be specified for an update/);
    const same = await call(api, 'PUT', `${COLLECTION}/c3.example.org`, { body: ok.json });
    assert.equal(same.json.metadata.resourceVersion, ok.json.metadata.resourceVersion, 'a no-op update writes nothing');
  });

  it('401 without or with a wrong bearer token, with kube\'s Status body', { timeout: T }, async () => {
    const expected = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
    for (const token of [null, 'wrong-token']) {
      const r = await call(api, 'GET', COLLECTION, { token });
      assert.equal(r.status, 401);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(r.json, expected);
    }
    const wrongScheme = await call(api, 'GET', COLLECTION, { authorization: `Basic ${api.token}` });
    assert.equal(wrongScheme.status, 401);
    const lower = await call(api, 'GET', COLLECTION, { authorization: `bearer ${api.token}` });
    assert.equal(lower.status, 200, 'kube-apiserver reads the scheme case-insensitively');
  });

  it('403 while RBAC denies, with kube\'s exact message', { timeout: T }, async () => {
    api.setForbidden(true);
    try {
      const r = await call(api, 'GET', COLLECTION);
      assert.equal(r.status, 403);
      assert.deepEqual(r.json, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: 'etcdmembers.etcd.k0sproject.io is forbidden: User "system:serviceaccount:k0s-system:etcdmember-exporter" cannot list resource "etcdmembers" in API group "etcd.k0sproject.io" at the cluster scope',
        reason: 'Forbidden', details: { group: GROUP, kind: 'etcdmembers' }, code: 403,
      });
      const w = await call(api, 'GET', `${COLLECTION}?watch=1`);
      assert.match(w.json.message, /cannot watch resource "etcdmembers"/);
      const one = await call(api, 'DELETE', `${COLLECTION}/c1`);
      assert.match(one.json.message, /^etcdmembers\.etcd\.k0sproject\.io "c1" is forbidden: .* cannot delete resource/);
      assert.equal(api.list().length, 4, 'a forbidden delete deletes nothing');
    } finally {
      api.setForbidden(false);
    }
    assert.equal((await call(api, 'GET', COLLECTION)).status, 200);
  });

  it('failNext answers the next matching requests with Status bodies, then serves again', { timeout: T }, async () => {
    api.failNext(2, 500, 'list');
    const w = new Watch(api, 'resourceVersion=0');
    await w.waitFor(4);
    assert.equal(w.status, 200, 'a list fault does not hit watches');
    w.close();
    const first = await call(api, 'GET', COLLECTION);
    const second = await call(api, 'GET', COLLECTION);
    assert.deepEqual([first.status, second.status], [500, 500]);
    assert.equal(first.json.reason, 'InternalError');
    assert.equal((await call(api, 'GET', COLLECTION)).status, 200);
    api.failNext(1, 503);
    const unavailable = await call(api, 'GET', '/version');
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.json.reason, 'ServiceUnavailable');
    api.failNext(1, 404, 'watch');
    const gone = await call(api, 'GET', `${COLLECTION}?watch=1`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.message, 'the server could not find the requested resource');
  });

  it('setLatency delays answers past a client timeout', { timeout: T }, async () => {
    api.setLatency(400);
    try {
      await assert.rejects(call(api, 'GET', COLLECTION, { timeoutMs: 150 }), /timeout/);
    } finally {
      api.setLatency(0);
    }
    assert.equal((await call(api, 'GET', COLLECTION, { timeoutMs: 2000 })).status, 200);
  });

  it('watch from a resourceVersion gets ADDED, MODIFIED and DELETED, then bookmarks, and ends after timeoutSeconds', { timeout: T }, async () => {
    const rv = (await call(api, 'GET', COLLECTION)).json.metadata.resourceVersion as string;
    const w = new Watch(api, `resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=2`);
    const created = api.create(member('watched', 'aa'));
    api.update({ ...created, spec: { leave: true } });
    api.delete('watched');
    const events = await w.waitFor(3);
    assert.equal(w.status, 200);
    assert.equal(w.contentType, 'application/json');
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'watched'], ['MODIFIED', 'watched'], ['DELETED', 'watched']]);
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(rvs[0]! > Number(rv) && rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, `increasing resourceVersions: ${rvs.join(',')}`);
    assert.equal(events[1]!.object.spec.leave, true);
    const [bookmark] = (await w.waitFor(4)).slice(3);
    assert.equal(bookmark!.type, 'BOOKMARK');
    assert.equal(bookmark!.object.metadata.resourceVersion, String(rvs[2]));
    assert.equal(await withTimeout(w.ended, 4000, 'watch end'), 'end', 'timeoutSeconds ends the stream cleanly');

    // A later watch from the same resourceVersion replays the same history.
    const replay = new Watch(api, `resourceVersion=${rv}`);
    assert.deepEqual((await replay.waitFor(3)).map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    replay.close();
  });

  for (const [label, query] of [['absent', ''], ['"0"', 'resourceVersion=0']] as const) {
    it(`watch with resourceVersion ${label} starts with synthetic ADDED events for the current objects, then follows changes`, { timeout: T }, async () => {
      const w = new Watch(api, query);
      try {
        const events = await w.waitFor(4);
        assert.deepEqual(events.map((e) => e.type), ['ADDED', 'ADDED', 'ADDED', 'ADDED']);
        assert.deepEqual(events.map((e) => e.object.metadata.name), ['c1', 'c1.example.org', 'c2.example.org', 'c3.example.org']);
        assert.deepEqual(events[0]!.object, api.get('c1'));
        api.create(member('late'));
        api.delete('late');
        const [late, gone] = (await w.waitFor(6)).slice(4);
        assert.deepEqual([late!.type, late!.object.metadata.name], ['ADDED', 'late']);
        assert.deepEqual([gone!.type, gone!.object.metadata.name], ['DELETED', 'late']);
      } finally {
        w.close();
      }
    });
  }

  it('after compact(), a watch from an older resourceVersion gets one ERROR event with 410 Expired and ends', { timeout: T }, async () => {
    const old = api.resourceVersion;
    api.create(member('to-compact'));
    api.delete('to-compact');
    api.compact();
    const now = api.resourceVersion;
    const w = new Watch(api, `resourceVersion=${old}`);
    assert.equal(await withTimeout(w.ended, 3000, 'expired watch end'), 'end');
    assert.equal(w.status, 200);
    assert.deepEqual(w.events, [
      {
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${now})`, reason: 'Expired', code: 410 },
      },
    ]);
    // From the compaction point on, watching works.
    const fresh = new Watch(api, `resourceVersion=${now}`);
    api.create(member('after-compact'));
    assert.equal((await fresh.waitFor(1))[0]!.object.metadata.name, 'after-compact');
    fresh.close();
    api.delete('after-compact');
  });

  it('dropWatches cuts open watch streams abruptly', { timeout: T }, async () => {
    const w = new Watch(api, `resourceVersion=${api.resourceVersion}`);
    await withTimeout(new Promise<void>((r) => { const t = setInterval(() => { if (w.status === 200) { clearInterval(t); r(); } }, 10); }), 2000, 'watch start');
    api.dropWatches();
    assert.equal(await withTimeout(w.ended, 2000, 'dropped watch'), 'error');
  });
});

describe('KubeApiTestServer without the CRD, and down', () => {
  it('answers 404 for every etcd.k0sproject.io path without the CRD, and serves once it is installed', { timeout: T }, async () => {
    const api = await startServer({ tls: false, crdInstalled: false });
    assert.ok(api.url.startsWith('http://127.0.0.1:'));
    assert.equal(api.caFile, undefined);
    for (const path of [COLLECTION, `${COLLECTION}/c1`, `${COLLECTION}/c1/status`, '/apis/etcd.k0sproject.io', '/apis/etcd.k0sproject.io/v1beta1', `${COLLECTION}?watch=1`]) {
      const r = await call(api, 'GET', path);
      assert.equal(r.status, 404, path);
      assert.deepEqual(r.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 });
    }
    const groups = await call(api, 'GET', '/apis');
    assert.ok(!groups.json.groups.some((g: { name: string }) => g.name === GROUP));
    const crd = await call(api, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/etcdmembers.etcd.k0sproject.io');
    assert.equal(crd.status, 404);
    assert.equal(crd.json.message, 'customresourcedefinitions.apiextensions.k8s.io "etcdmembers.etcd.k0sproject.io" not found');
    assert.throws(() => api.create(member('c1')), (e: unknown) => e instanceof KubeApiError && e.code === 404);

    api.setCrdInstalled(true);
    api.create(member('c1'));
    assert.deepEqual((await call(api, 'GET', COLLECTION)).json.items.map((o: EtcdMemberObject) => o.metadata.name), ['c1']);
    const w = new Watch(api, 'resourceVersion=0');
    await w.waitFor(1);
    api.setCrdInstalled(false);
    assert.equal(await withTimeout(w.ended, 2000, 'watch end on CRD removal'), 'end');
    assert.equal((await call(api, 'GET', COLLECTION)).status, 404);
    assert.deepEqual(api.list(), [], 'removing the CRD removes its objects');
  });

  it('stop() takes the API down and restart() brings it back on the same port with the same data', { timeout: T }, async () => {
    const api = await startServer();
    api.create(member('kept'));
    const url = api.url;
    const w = new Watch(api, '');
    await w.waitFor(1);
    await api.stop();
    assert.equal(await withTimeout(w.ended, 2000, 'watch end on stop'), 'error', 'an API going down cuts its watches');
    await assert.rejects(call(api, 'GET', COLLECTION, { timeoutMs: 2000 }), /ECONNREFUSED/);
    api.delete('kept');
    api.create(member('while-down'));
    await api.restart();
    assert.equal(api.url, url);
    const r = await call(api, 'GET', COLLECTION);
    assert.deepEqual(r.json.items.map((o: EtcdMemberObject) => o.metadata.name), ['while-down']);
    assert.ok(api.requestLog.some((e) => e.path === COLLECTION && e.status === 200));
  });

  it('objects from k0s5369Objects and etcdMemberObject pass the CRD schema unpruned, via create() and via REST with fieldValidation=Strict', { timeout: T }, async () => {
    const api = await startServer({ tls: false });
    const objects = [
      ...k0s5369Objects(MEMBERS),
      etcdMemberObject('joining', { memberID: 'ABCDEF0123', peerAddress: '10.0.0.4', joined: false, reconcileStatus: 'Failed' }),
      etcdMemberObject('leaving', { memberID: '0a', peerAddress: '10.0.0.5', reconcileStatus: 'Success' }, { leave: true }),
      etcdMemberObject('no-status', {}),
    ];
    for (const o of objects) {
      const stored = api.create(o);
      assert.deepEqual([stored.spec, stored.status], [o.spec, o.status], `${o.metadata.name}: nothing pruned`);
      api.delete(o.metadata.name);

      const posted = await call(api, 'POST', `${COLLECTION}?fieldValidation=Strict`, { body: o });
      assert.equal(posted.status, 201, `${o.metadata.name}: ${posted.text}`);
      if (o.status === undefined) continue;
      const st = await call(api, 'PUT', `${COLLECTION}/${o.metadata.name}/status?fieldValidation=Strict`, { body: { ...posted.json, status: o.status } });
      assert.equal(st.status, 200, `${o.metadata.name}: ${st.text}`);
      assert.deepEqual(st.json.status, o.status);
      assert.equal(st.headers['warning'], undefined);
    }
    assert.equal(api.list().length, objects.length);
    // The same helpers with a bad ID are refused, so the checks above can fail.
    assert.throws(() => api.create(etcdMemberObject('bad', { memberID: '0xab', peerAddress: '10.0.0.6' })), /status\.memberID in body should match/);
  });

  it('runs as a program: prints its URL and kubeconfig as one JSON line and serves the seeded objects', { timeout: T }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-api-test-cli-'));
    dirs.push(dir);
    const seed = join(dir, 'objects.json');
    writeFileSync(seed, JSON.stringify(k0s5369Objects(MEMBERS)));
    const script = fileURLToPath(new URL('../testbed/kube-api-server.js', import.meta.url));
    const child = spawn(process.execPath, [script, '--port', '0', '--tls=false', '--seed-file', seed], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const line = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}`)));
      }),
      10_000,
      'program start',
    );
    const info = JSON.parse(line) as { url: string; kubeconfigPath: string; token: string };
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(readFileSync(info.kubeconfigPath, 'utf8'), new RegExp(info.url.replace(/[.:/]/g, '\\$&')));
    const r = await fetch(`${info.url}${COLLECTION}`, { headers: { Authorization: `Bearer ${info.token}` }, signal: AbortSignal.timeout(3000) });
    assert.equal(((await r.json()) as { items: unknown[] }).items.length, 4);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await withTimeout(exited, 5000, 'program exit'), 0);
  });
});
