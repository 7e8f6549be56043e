// The Kubernetes source on its own, through the Source interface, against the API test server: health
// transitions, error counts by reason, no snapshot while down, deadlines that really cancel, and where a broken
// watch resumes. Also the one-shot listEtcdMembers() the check and prune commands use.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadKubeConfig } from '../src/kubeconfig.js';
import { createLogger } from '../src/log.js';
import { KubernetesSource, listEtcdMembers } from '../src/sources/kubernetes.js';
import { SourceError } from '../src/sources/source.js';
import { KubeApiTestServer, etcdMemberObject, k0s5369Objects, type KubeApiTestServerOptions } from '../testbed/kube-api-server.js';
import { waitFor } from '../testbed/wait.js';

const MEMBERS = [
  { name: 'c1.example.org', memberIdHex: 'a1', peerAddress: '10.0.0.1' },
  { name: 'c2.example.org', memberIdHex: 'b2', peerAddress: '10.0.0.2' },
];
const TIMEOUT_MS = 500;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startApi(opts: KubeApiTestServerOptions = {}): Promise<KubeApiTestServer> {
  const api = await KubeApiTestServer.start(opts);
  cleanups.push(() => api.close());
  if (opts.crdInstalled !== false) for (const o of k0s5369Objects(MEMBERS)) api.create(o);
  return api;
}

function startSource(api: KubeApiTestServer, maxBackoffMs = 500) {
  const logs: string[] = [];
  let changes = 0;
  const source = new KubernetesSource({
    kubeConfig: loadKubeConfig(api.kubeconfigPath).kubeConfig,
    requestTimeoutMs: TIMEOUT_MS,
    crdRecheckMs: 500,
    watchTimeoutSeconds: 60,
    maxBackoffMs,
    logger: createLogger('debug', 'logfmt', (l) => logs.push(l)),
  });
  source.start(() => changes++);
  cleanups.push(() => source.stop());
  return { source, logs, changes: () => changes };
}

const count = (s: KubernetesSource): number | undefined => {
  const v = s.snapshot();
  return v?.crdPresent ? v.objects.length : undefined;
};
const errors = (s: KubernetesSource, reason: Parameters<ReturnType<KubernetesSource['errorCounts']>['get']>[0]): number => s.errorCounts().get(reason) ?? 0;
const watchesFrom = (api: KubeApiTestServer): (string | null)[] =>
  api.requestLog.filter((r) => r.query.includes('watch=')).map((r) => new URLSearchParams(r.query).get('resourceVersion'));
const lists = (api: KubeApiTestServer): number => api.requestLog.filter((r) => r.path.endsWith('/etcdmembers') && !r.query.includes('watch=')).length;

describe('Kubernetes source', () => {
  it('says nothing before its first list, then is up with every object and every error count at 0', async () => {
    const api = await startApi();
    const { source, changes } = startSource(api);
    assert.equal(source.name, 'kubernetes');
    assert.equal(source.health().attempted, false);
    assert.equal(source.snapshot(), undefined);
    await waitFor(() => source.health().up, { what: 'up' });
    const h = source.health();
    assert.equal(h.attempted, true);
    assert.equal(h.lastError, undefined);
    assert.ok(h.lastSuccessMs !== undefined && Date.now() - h.lastSuccessMs < 5000);
    // Measured, not bounded by the request deadline: on a loaded machine the event loop alone can push a list that
    // met its deadline past 0.5 s of wall time.
    assert.ok(h.lastDurationSeconds !== undefined && h.lastDurationSeconds > 0 && h.lastDurationSeconds < 10, `lastDurationSeconds ${h.lastDurationSeconds}`);
    assert.equal(count(source), 3);
    assert.ok(changes() >= 1, 'told the exporter');
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
    assert.equal(source.errorCounts().size, 11);
  });

  it('a dropped watch resumes from the last resourceVersion it saw, not the one it started at', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api);
    await waitFor(() => watchesFrom(api).length === 1, { what: 'first watch open' });
    const listedAt = watchesFrom(api)[0];
    api.create(etcdMemberObject('c4.example.org', { memberID: 'd4', peerAddress: '10.0.0.4' }));
    api.create(etcdMemberObject('c5.example.org', { memberID: 'e5', peerAddress: '10.0.0.5' }));
    await waitFor(() => count(source) === 5, { what: 'both events seen' });
    const lastSeen = api.resourceVersion;
    assert.notEqual(lastSeen, listedAt);
    api.dropWatches();
    await waitFor(() => watchesFrom(api).length === 2, { what: 'second watch' });
    assert.equal(watchesFrom(api)[1], lastSeen, `resumed from ${watchesFrom(api)[1]}; the list was at ${listedAt}, the last event at ${lastSeen}`);
    assert.ok(logs.some((l) => l.includes('watch failed') && l.includes(`resume_from=${lastSeen}`)), 'the log names where it resumes');
    assert.equal(lists(api), 1, 'no relist');
    assert.equal(errors(source, 'watch_dropped'), 1);
    assert.equal(source.health().up, true, 'a resumed watch does not take the source down');
  });

  it('follows the watch: a change and a deletion arrive as events, bookmarks keep it open, nothing relisted', async () => {
    const api = await startApi({ bookmarkIntervalMs: 50 });
    const { source } = startSource(api);
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    api.update(etcdMemberObject('c2.example.org', { memberID: 'b2', peerAddress: '10.0.0.9' }));
    api.delete('c1');
    await waitFor(() => count(source) === 2, { what: 'the deletion seen' });
    const v = source.snapshot();
    assert.equal(v?.crdPresent && v.objects.find((o) => o.name === 'c2.example.org')?.peerAddress, '10.0.0.9', 'the change seen');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(watchesFrom(api).length, 1, 'bookmarks end no watch');
    assert.equal(lists(api), 1);
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
    const lastSeen = api.resourceVersion;
    api.dropWatches();
    await waitFor(() => watchesFrom(api).length === 2, { what: 'second watch' });
    assert.equal(watchesFrom(api)[1], lastSeen, 'resumed from the deletion');
  });

  it("a watch whose answer hangs ends at the request deadline: down, timeout, the watch named", async () => {
    const api = await startApi();
    const { source } = startSource(api);
    await waitFor(() => source.health().up && watchesFrom(api).length === 1, { what: 'watching' });
    api.setLatency(3000);
    api.dropWatches();
    await waitFor(() => !source.health().up, { what: 'down', timeoutMs: 2000 });
    assert.equal(source.health().lastError?.reason, 'timeout');
    assert.match(source.health().lastError?.message ?? '', /^API watch of etcdmembers took longer than 500 ms/);
  });

  it('a failing list backs off, longer each time', async () => {
    const api = await startApi();
    api.failNext(1000, 500, 'list');
    const { source } = startSource(api, 4000);
    await new Promise((r) => setTimeout(r, 2000));
    const attempts = errors(source, 'server_error');
    assert.ok(attempts >= 2 && attempts <= 5, `${attempts} lists in 2 s`);
  });

  it('a watch resumed from a compacted resourceVersion (410 Gone) relists, counted and logged, and stays up', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api);
    api.create(etcdMemberObject('c5', { memberID: 'e5', peerAddress: '10.0.0.5' }));
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 4, { what: 'c5 seen' });
    // Compacted past the last resourceVersion seen while the watch is down: the resumed watch gets 410.
    api.dropWatches();
    api.delete('c5');
    api.compact();
    await waitFor(() => lists(api) === 2 && count(source) === 3, { what: 'relisted' });
    assert.equal(errors(source, 'gone'), 1);
    assert.ok(logs.some((l) => l.includes('etcdmember watch expired, relisting') && l.includes('reason=gone') && l.includes('410 Gone')), logs.join('\n'));
    assert.equal(source.health().up, true);
  });

  it('a watch that fails backs off, longer each time, relisting in between', async () => {
    const api = await startApi();
    const { source } = startSource(api, 4000);
    await waitFor(() => watchesFrom(api).length === 1, { what: 'watching' });
    api.failNext(1000, 500, 'watch');
    api.dropWatches();
    await new Promise((r) => setTimeout(r, 2000));
    // Backoff 0.25-0.5 s, then 0.5-1 s, 1-2 s...: at most 4 watches in 2 s (a shrinking one: a dozen).
    const watches = watchesFrom(api).length;
    assert.ok(watches >= 2 && watches <= 5, `${watches} watches in 2 s`);
    assert.ok(errors(source, 'server_error') >= 1);
  });

  it('API down: source down with the reason, no snapshot, counted; back up without a restart', async () => {
    const api = await startApi();
    const { source } = startSource(api);
    await waitFor(() => source.health().up && watchesFrom(api).length === 1, { what: 'watching' });
    const lastSuccess = source.health().lastSuccessMs;
    await api.stop();
    await waitFor(() => !source.health().up, { what: 'down' });
    assert.equal(source.snapshot(), undefined, 'no stale objects while down');
    assert.equal(source.health().lastError?.reason, 'unavailable');
    assert.ok(source.health().lastSuccessMs! >= lastSuccess!, 'the last success is kept while down');
    assert.ok(errors(source, 'unavailable') >= 1);
    assert.equal(errors(source, 'watch_dropped'), 1);
    await api.restart();
    api.delete('c1');
    await waitFor(() => source.health().up && count(source) === 2, { what: 'up again with the change', timeoutMs: 5000 });
    assert.equal(source.health().lastError, undefined);
  });

  it('counts each failure by its reason: 500s on list, then 403', async () => {
    const api = await startApi();
    api.failNext(2, 500, 'list');
    const { source, logs } = startSource(api);
    await waitFor(() => source.health().up, { what: 'up after two 500s', timeoutMs: 5000 });
    assert.equal(errors(source, 'server_error'), 2);
    api.setForbidden(true);
    api.dropWatches();
    await waitFor(() => !source.health().up, { what: 'forbidden' });
    assert.ok(logs.some((l) => l.includes('kubernetes source failed') && l.includes('during=watch') && l.includes('API watch answered 403')), 'the watch that failed is named');
    assert.equal(source.health().lastError?.reason, 'forbidden');
    assert.match(source.health().lastError?.message ?? '', /RBAC is missing rule/);
    assert.ok(errors(source, 'forbidden') >= 1);
    assert.ok(logs.some((l) => l.includes('kubernetes source failed') && l.includes('reason=forbidden')));
  });

  it('no CRD: up, crdPresent false, nothing counted', async () => {
    const api = await startApi({ crdInstalled: false });
    const { source } = startSource(api);
    await waitFor(() => source.health().up, { what: 'up' });
    assert.deepEqual(source.snapshot(), { crdPresent: false });
    // It looks again for the CRD every crdRecheckMs, and watches nothing meanwhile.
    await waitFor(() => lists(api) >= 2, { what: 'a second look for the CRD' });
    assert.equal(watchesFrom(api).length, 0);
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
  });

  it('a hanging answer is cancelled at the deadline: timeout, and the server sees the request go', async () => {
    const api = await startApi();
    api.setLatency(3000);
    const t0 = Date.now();
    const { source } = startSource(api);
    await waitFor(() => source.health().attempted, { what: 'first list ended', intervalMs: 20 });
    const took = Date.now() - t0;
    assert.ok(took >= TIMEOUT_MS && took < TIMEOUT_MS + 400, `first list ended after ${took} ms`);
    assert.equal(source.health().up, false);
    assert.equal(source.health().lastError?.reason, 'timeout');
    assert.equal(errors(source, 'timeout'), 1);
    await source.stop();
    // The server answers after its latency only if the client is still there: a cancelled request never shows up.
    await new Promise((r) => setTimeout(r, 3300 - (Date.now() - t0)));
    assert.equal(api.requestLog.length, 0, `the server answered ${JSON.stringify(api.requestLog)}`);
  });

  it('stop() ends a hanging request at once', async () => {
    const api = await startApi();
    api.setLatency(3000);
    const { source } = startSource(api);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await source.stop();
    assert.ok(Date.now() - t0 < 100, `stop took ${Date.now() - t0} ms`);
    assert.equal(source.health().attempted, false, 'a cancelled request is no failure of the source');
    assert.equal(errors(source, 'other'), 0);
  });
});

describe('listEtcdMembers (one-shot)', () => {
  it('returns the snapshot and the resourceVersion to watch from', async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const list = await listEtcdMembers({ kubeConfig, requestTimeoutMs: TIMEOUT_MS }, new AbortController().signal);
    assert.equal(list.crdPresent, true);
    assert.deepEqual(list.crdPresent && list.objects.map((o) => o.name).sort(), ['c1', 'c1.example.org', 'c2.example.org']);
    assert.equal(list.resourceVersion, api.resourceVersion);
  });

  it('times out at its deadline, and the caller can cancel it sooner', async () => {
    const api = await startApi();
    api.setLatency(3000);
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    let t0 = Date.now();
    await assert.rejects(listEtcdMembers({ kubeConfig, requestTimeoutMs: TIMEOUT_MS }, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SourceError && err.reason === 'timeout', String(err));
      assert.match(err.message, /took longer than 500 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 < TIMEOUT_MS + 300);
    t0 = Date.now();
    await assert.rejects(listEtcdMembers({ kubeConfig, requestTimeoutMs: 10_000 }, AbortSignal.timeout(200)), SourceError);
    assert.ok(Date.now() - t0 < 500, `cancelled after ${Date.now() - t0} ms`);
  });

  it("an API server whose certificate does not verify: the message names the server (without userinfo) and the kubeconfig's CA", async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const cluster = kubeConfig.getCurrentCluster()!;
    const server = new URL(cluster.server);
    server.username = 'admin';
    server.password = 'hunter2';
    // The same server with no CA: Node's own roots do not know its self-signed one.
    kubeConfig.clusters = [{ ...cluster, server: server.toString(), caData: undefined, caFile: undefined }];
    await assert.rejects(listEtcdMembers({ kubeConfig, requestTimeoutMs: TIMEOUT_MS }, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SourceError && err.reason === 'tls', String(err));
      assert.ok(err.message.startsWith(`API list at https://admin:xxxxx@127.0.0.1:${server.port}/ failed: `), err.message);
      assert.match(err.message, /certificate.*; check the kubeconfig's certificate-authority for this server$/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });
});
