// The Kubernetes source on its own, through the Source interface, against the API test server: health
// transitions, error counts by reason, no snapshot while down, deadlines that really cancel, and where a broken
// watch resumes, and what each way a watch can end leads to. The mutation module of the watch runs this file for
// every mutant: its waits are made short by the source's timings; the list's slow cases are in kubernetes-list.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadKubeConfig } from '../src/kubeconfig.js';
import { createLogger } from '../src/log.js';
import { KubernetesSource, type KubernetesSourceOptions } from '../src/sources/kubernetes.js';
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

// Plain HTTP: the watch is the same over either, and a TLS server costs 0.3-0.5 s of openssl to start, every
// test, every mutant. TLS to the API server: kubernetes-list.test.ts and the exporter's end-to-end tests.
async function startApi(opts: KubeApiTestServerOptions = {}): Promise<KubeApiTestServer> {
  const api = await KubeApiTestServer.start({ tls: false, ...opts });
  cleanups.push(() => api.close());
  if (opts.crdInstalled !== false) for (const o of k0s5369Objects(MEMBERS)) api.create(o);
  return api;
}

/** A source with the exporter's timings but shorter pauses (main.ts: backoff from 0.5 s up to 1-30 s), changed by timings. */
function startSource(api: KubeApiTestServer, timings: Partial<Omit<KubernetesSourceOptions, 'kubeConfig' | 'logger'>> = {}, kubeconfigPath = api.kubeconfigPath) {
  const logs: string[] = [];
  let changes = 0;
  const source = new KubernetesSource({
    kubeConfig: loadKubeConfig(kubeconfigPath).kubeConfig,
    requestTimeoutMs: TIMEOUT_MS,
    crdRecheckMs: 500,
    watchTimeoutSeconds: 60,
    watchSilenceMs: 90_000,
    shortWatchMs: 1000,
    minBackoffMs: 50,
    maxBackoffMs: 100,
    ...timings,
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
/** The gaps between the requests, in ms, as the server saw them arrive. */
const gaps = (requests: { at: number }[]): number[] => requests.slice(1).map((r, i) => r.at - requests[i]!.at);
const listRequests = (api: KubeApiTestServer) => api.requestLog.filter((r) => r.path.endsWith('/etcdmembers') && !r.query.includes('watch='));
const watchRequests = (api: KubeApiTestServer) => api.requestLog.filter((r) => r.query.includes('watch='));
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
    // The last event a deletion: its object's resourceVersion is where the watch resumes (no bookmarks here).
    api.delete('c5.example.org');
    await waitFor(() => count(source) === 4, { what: 'the deletion seen' });
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

  it('credentials that hang when the watch asks for them: down, timeout, the credential plugin named, not the watch', async () => {
    const api = await startApi();
    // A kubeconfig exec plugin (as client-node runs it) that answers with the server's token, expired at once so
    // client-node runs it again for the next request, until the file `hang` exists: then it never answers.
    const dir = mkdtempSync(join(tmpdir(), 'kubernetes-source-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const hang = join(dir, 'hang');
    const plugin = `if (require('node:fs').existsSync(process.argv[1])) setTimeout(() => {}, 2000);
      else process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: process.argv[2], expirationTimestamp: new Date().toISOString() } }));`;
    const kubeconfig = parseYaml(readFileSync(api.kubeconfigPath, 'utf8')) as { users: { user: unknown }[] };
    kubeconfig.users[0]!.user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', plugin, hang, api.token], interactiveMode: 'Never' } };
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, stringifyYaml(kubeconfig), { mode: 0o600 });
    const { source } = startSource(api, {}, kubeconfigPath);
    await waitFor(() => source.health().up && watchesFrom(api).length === 1, { what: 'watching' });
    writeFileSync(hang, '');
    api.dropWatches();
    await waitFor(() => !source.health().up, { what: 'down', timeoutMs: 3000 });
    assert.equal(source.health().lastError?.reason, 'timeout');
    assert.match(source.health().lastError?.message ?? '', /^getting Kubernetes credentials \(kubeconfig exec\/auth plugin\) took longer than 500 ms/);
    assert.equal(watchesFrom(api).length, 1, 'the watch that hung never reached the server');
  });

  it('a failing list backs off, longer each time', async () => {
    const api = await startApi();
    api.failNext(1000, 500, 'list');
    const { source } = startSource(api, { minBackoffMs: 100, maxBackoffMs: 10_000 });
    await waitFor(() => listRequests(api).length >= 4, { what: 'four lists' });
    // Backoff 50-100 ms, then 100-200, 200-400: each pause at least half of twice the one before.
    const g = gaps(listRequests(api).slice(0, 4));
    assert.ok(g[0]! >= 50 && g[1]! >= 100 && g[2]! >= 200, `lists ${g.join(', ')} ms apart`);
    assert.ok(errors(source, 'server_error') >= 3);
  });

  it('a watch resumed from a compacted resourceVersion (410 Gone) relists, counted and logged, and stays up', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api);
    api.create(etcdMemberObject('c5', { memberID: 'e5', peerAddress: '10.0.0.5' }));
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 4, { what: 'c5 seen' });
    const lastSeen = api.resourceVersion;
    // Compacted past the last resourceVersion seen while the watch is down: the resumed watch gets 410.
    api.dropWatches();
    api.delete('c5');
    api.compact();
    await waitFor(() => lists(api) === 2 && count(source) === 3, { what: 'relisted' });
    assert.equal(errors(source, 'gone'), 1);
    assert.ok(logs.some((l) => l.includes('etcdmember watch expired, relisting') && l.includes('reason=gone') && l.includes(`watch from resourceVersion ${lastSeen} expired (410 Gone)`)), logs.join('\n'));
    assert.equal(source.health().up, true);
  });

  it('a watch that fails backs off, longer each time, relisting in between', async () => {
    const api = await startApi();
    const { source } = startSource(api, { minBackoffMs: 100, maxBackoffMs: 10_000 });
    await waitFor(() => watchesFrom(api).length === 1, { what: 'watching' });
    api.failNext(1000, 500, 'watch');
    api.dropWatches();
    // The drop: 50-100 ms, resumed without a relist; that watch's 500: 100-200 ms, then a relist and a watch;
    // its 500: 200-400 ms...
    await waitFor(() => watchRequests(api).length >= 4, { what: 'four watches' });
    const g = gaps(watchRequests(api).slice(0, 4));
    assert.ok(g[1]! >= 100 && g[2]! >= 200, `watches ${g.join(', ')} ms apart`);
    assert.ok(errors(source, 'server_error') >= 2);
    assert.equal(errors(source, 'watch_dropped'), 1);
    assert.ok(lists(api) >= 3, 'relisted after each failed watch');
  });

  it('API down: source down with the reason, no snapshot, counted; back up without a restart', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api);
    await waitFor(() => source.health().up && watchesFrom(api).length === 1, { what: 'watching' });
    const lastSuccess = source.health().lastSuccessMs;
    await api.stop();
    await waitFor(() => !source.health().up, { what: 'down' });
    assert.equal(source.snapshot(), undefined, 'no stale objects while down');
    assert.equal(source.health().lastError?.reason, 'unavailable');
    assert.ok(source.health().lastSuccessMs! >= lastSuccess!, 'the last success is kept while down');
    assert.ok(errors(source, 'unavailable') >= 1);
    assert.equal(errors(source, 'watch_dropped'), 1);
    // The resumed watch found no server: the log names the watch and the server it could not reach.
    assert.ok(logs.some((l) => l.includes('kubernetes source failed') && l.includes('during=watch') && l.includes(`API watch at ${api.url}`) && l.includes('ECONNREFUSED')), logs.join('\n'));
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
    const { source } = startSource(api, { crdRecheckMs: 50 });
    await waitFor(() => source.health().up, { what: 'up' });
    assert.deepEqual(source.snapshot(), { crdPresent: false });
    // It looks again for the CRD every crdRecheckMs, and watches nothing meanwhile.
    await waitFor(() => lists(api) >= 2, { what: 'a second look for the CRD' });
    assert.equal(watchesFrom(api).length, 0);
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
  });

  it('a watch the server ends after an event is resumed at once from that event: no pause, no relist, nothing counted', async () => {
    const api = await startApi();
    // Every watch here is "very short" and a pause would be 10-20 s: only a watch that carried events skips it.
    const { source } = startSource(api, { shortWatchMs: 60_000, minBackoffMs: 20_000, maxBackoffMs: 20_000 });
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    api.create(etcdMemberObject('c4.example.org', { memberID: 'd4', peerAddress: '10.0.0.4' }));
    await waitFor(() => count(source) === 4, { what: 'the event seen' });
    const lastSeen = api.resourceVersion;
    api.endWatches();
    await waitFor(() => watchesFrom(api).length === 2, { what: 'the watch resumed without a pause', timeoutMs: 5000 });
    assert.equal(watchesFrom(api)[1], lastSeen);
    assert.equal(lists(api), 1, 'no relist');
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
    assert.equal(source.health().up, true);
  });

  it('a watch the server ends after it stayed open a while, without events, is resumed at once', async () => {
    const api = await startApi();
    const { source } = startSource(api, { shortWatchMs: 100, minBackoffMs: 20_000, maxBackoffMs: 20_000 });
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    const listedAt = watchesFrom(api)[0];
    // Longer than shortWatchMs since the watch opened, whatever the load.
    await new Promise((r) => setTimeout(r, 300));
    api.endWatches();
    await waitFor(() => watchesFrom(api).length === 2, { what: 'the watch resumed without a pause', timeoutMs: 5000 });
    assert.equal(watchesFrom(api)[1], listedAt);
    assert.equal(lists(api), 1, 'no relist');
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
  });

  it('a watch the server ends at once with only bookmarks pauses before it resumes, from the bookmark', async () => {
    const api = await startApi({ bookmarkIntervalMs: 20 });
    const { source } = startSource(api, { shortWatchMs: 60_000, minBackoffMs: 400, maxBackoffMs: 400 });
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    // Another resource written: the resourceVersion moves on without an etcdmember event, and bookmarks carry it.
    const written = api.writeElsewhere();
    const sent = api.bookmarksSent;
    await waitFor(() => api.bookmarksSent > sent, { what: 'a bookmark with the new resourceVersion', intervalMs: 10 });
    const t0 = Date.now();
    // A normal end: what was sent before it arrives.
    api.endWatches();
    await waitFor(() => watchesFrom(api).length === 2, { what: 'the watch resumed', intervalMs: 10 });
    // client-go's "very short watch": bookmarks are no events, so this one counts as failed and backs off 0.2-0.4 s.
    assert.ok(Date.now() - t0 >= 200, `resumed after ${Date.now() - t0} ms`);
    assert.equal(watchesFrom(api)[1], written, 'resumed from the bookmark');
    assert.equal(lists(api), 1, 'no relist');
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
    assert.equal(source.health().up, true);
  });

  it('a watch that falls silent (a dead network path) is dropped at the silence limit, logged and resumed', async () => {
    const api = await startApi({ bookmarkIntervalMs: 50 });
    const { source, logs } = startSource(api, { watchSilenceMs: 400 });
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    api.create(etcdMemberObject('c4.example.org', { memberID: 'd4', peerAddress: '10.0.0.4' }));
    await waitFor(() => count(source) === 4, { what: 'the event seen' });
    const lastSeen = api.resourceVersion;
    const n = watchesFrom(api).length;
    api.stallWatches();
    await waitFor(() => watchesFrom(api).length > n, { what: 'the watch resumed' });
    assert.equal(watchesFrom(api)[n], lastSeen);
    assert.ok(logs.some((l) => l.includes('etcdmember watch failed') && l.includes('reason=watch_dropped') && l.includes('watch silent for 0.4 s') && l.includes(`resume_from=${lastSeen}`)), logs.join('\n'));
    // At least one: on a loaded machine a bookmark (50 ms apart) can come later than the silence limit too.
    assert.ok(errors(source, 'watch_dropped') >= 1);
    assert.equal(lists(api), 1, 'no relist');
    assert.equal(source.health().up, true);
  });

  it('an ERROR event other than 410 ends the watch: down with its code and message, then relisted and up', async () => {
    const api = await startApi();
    const { source, logs, changes } = startSource(api, { minBackoffMs: 50, maxBackoffMs: 50 });
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    const before = changes();
    api.failWatches(500, 'InternalError', 'etcd watch channel closed');
    await waitFor(() => lists(api) === 2 && watchesFrom(api).length === 2, { what: 'relisted and watching again' });
    const failed = logs.find((l) => l.includes('kubernetes source failed'));
    assert.ok(failed?.includes('reason=server_error') && failed.includes('during=watch') && failed.includes('API watch answered 500: etcd watch channel closed'), logs.join('\n'));
    assert.equal(errors(source, 'server_error'), 1);
    assert.ok(changes() >= before + 2, 'the exporter was told it went down, and up again');
    await waitFor(() => source.health().up, { what: 'up again' });
  });

  it('a watch line that is no event ends the watch with invalid_response, named in the log; relisted each time', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api, { minBackoffMs: 20, maxBackoffMs: 20 });
    const cases: [string, string][] = [
      ['not json', 'watch event response is not JSON: not json'],
      ['[1]', 'watch event is not a JSON object: [1]'],
      ['{"type":"SYNC","object":{}}', 'watch event of unknown type \\"SYNC\\"'],
      // A Status without its code: kube-apiserver always sends one.
      ['{"type":"ERROR","object":{"kind":"Status","message":"no code"}}', 'API watch answered 0: no code'],
      ['{"type":"ERROR"}', 'API watch answered 0: null'],
    ];
    for (const [i, [line, said]] of cases.entries()) {
      await waitFor(() => watchesFrom(api).length === i + 1, { what: `watch ${i + 1}` });
      api.writeToWatches(line);
      await waitFor(() => lists(api) === i + 2, { what: `relisted after ${line}` });
      assert.ok(logs.some((l) => l.includes('kubernetes source failed') && l.includes('during=watch') && l.includes(said)), `${said}\n${logs.join('\n')}`);
    }
    assert.equal(errors(source, 'invalid_response'), 3);
    assert.equal(errors(source, 'other'), 2);
  });

  it('a watch event whose object has no name is skipped, counted and logged; the watch goes on', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api);
    await waitFor(() => watchesFrom(api).length === 1 && count(source) === 3, { what: 'watching' });
    api.writeToWatches('{"type":"ADDED","object":{"metadata":{}}}');
    api.writeToWatches('{"type":"DELETED","object":{"metadata":{}}}');
    api.create(etcdMemberObject('c4.example.org', { memberID: 'd4', peerAddress: '10.0.0.4' }));
    await waitFor(() => count(source) === 4, { what: 'the next event seen' });
    assert.equal(errors(source, 'invalid_response'), 2);
    assert.equal(logs.filter((l) => l.includes('skipping EtcdMember object without metadata.name')).length, 2, logs.join('\n'));
    assert.equal(watchesFrom(api).length, 1, 'the same watch');
    assert.equal(lists(api), 1, 'no relist');
    assert.equal(source.health().up, true);
  });

  it('stop() while watching ends the watch at once: nothing logged as failed, nothing counted', async () => {
    const api = await startApi();
    const { source, logs } = startSource(api);
    await waitFor(() => watchesFrom(api).length === 1 && source.health().up, { what: 'watching' });
    const t0 = Date.now();
    await source.stop();
    assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
    assert.deepEqual(logs.filter((l) => l.includes('failed')), []);
    assert.equal(watchesFrom(api).length, 1, 'no watch after stop()');
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
