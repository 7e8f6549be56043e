// The Kubernetes API failing under the exporter. etcd is deliberately unreachable here: the Kubernetes-only
// figures (object count, duplicates) must live on their own.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import { KubeApiTestServer, etcdMemberObject, k0s5369Objects } from '../testbed/kube-api-server.js';

const MEMBERS = [
  { name: 'c1.example.org', memberIdHex: 'a1', peerAddress: '10.0.0.1' },
  { name: 'c2.example.org', memberIdHex: 'b2', peerAddress: '10.0.0.2' },
  { name: 'c3.example.org', memberIdHex: 'c3', peerAddress: '10.0.0.3' },
];
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
after(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(opts: { crdInstalled?: boolean; kubeconfig?: (api: KubeApiTestServer) => string; interval?: string } = {}) {
  const api = await KubeApiTestServer.start({ crdInstalled: opts.crdInstalled ?? true });
  cleanups.push(() => api.close());
  if (opts.crdInstalled !== false) for (const o of k0s5369Objects(MEMBERS)) api.create(o);
  const kubeconfig = opts.kubeconfig ? opts.kubeconfig(api) : api.kubeconfigPath;
  const exporter = await ExporterProcess.start({
    etcdEndpoints: ['http://127.0.0.1:1'],
    kubeconfig,
    interval: opts.interval ?? '1s',
    kubernetesTimeout: '1s',
  });
  cleanups.push(() => exporter.stop());
  return { api, exporter };
}

const kubeUp = (s: Sample[]) => findSample(s, 'k0s_etcdmember_source_up', { source: 'kubernetes' })?.value;
const count = (s: Sample[]) => findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value;
const errors = (s: Sample[], reason: string) => findSample(s, 'k0s_etcdmember_source_errors_total', { source: 'kubernetes', reason })?.value ?? 0;

describe('Kubernetes API faults', () => {
  it('401: source down, counted, and a log line that says the credentials were rejected', async () => {
    const { exporter } = await setup({
      kubeconfig: (api) => {
        const path = `${api.kubeconfigPath}.bad`;
        api.writeKubeconfig(path, { token: 'wrong-token' });
        return path;
      },
    });
    const s = await exporter.waitFor('unauthorized counted', (s) => errors(s, 'unauthorized') >= 1);
    assert.equal(kubeUp(s), 0);
    assert.equal(count(s), undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_duplicates'), undefined);
    assert.ok(exporter.logs.some((l) => l.includes('401') && l.includes('credentials were rejected')));
    assert.ok(!exporter.logs.some((l) => l.includes('wrong-token')), 'never log the token');
  });

  it('403: the log names the missing RBAC rule', async () => {
    const { api, exporter } = await setup();
    await exporter.waitFor('up', (s) => kubeUp(s) === 1);
    api.setForbidden(true);
    api.dropWatches();
    const s = await exporter.waitFor('forbidden', (s) => kubeUp(s) === 0 && errors(s, 'forbidden') >= 1);
    assert.equal(count(s), undefined, 'no stale object count while the API refuses us');
    // The failure's own line: any line may hold "403" by chance, in its timestamp's milliseconds.
    const line = exporter.logs.find((l) => l.includes('"reason":"forbidden"') && l.includes('403'));
    assert.match(line ?? '', /apiGroups: \[\\"etcd.k0sproject.io\\"\], resources: \[\\"etcdmembers\\"\], verbs: \[\\"get\\",\\"list\\",\\"watch\\"\]/);
    api.setForbidden(false);
    await exporter.waitFor('recovered after RBAC fixed', (s) => kubeUp(s) === 1 && count(s) === 4, 20_000);
  });

  it('404 (no CRD: kine or external etcd): crd_present 0, source up, no Kubernetes figures, one log line', async () => {
    const { api, exporter } = await setup({ crdInstalled: false });
    const s = await exporter.waitFor('crd absent', (s) => findSample(s, 'k0s_etcdmember_crd_present')?.value === 0);
    assert.equal(kubeUp(s), 1);
    assert.equal(count(s), undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_duplicates'), undefined);
    await new Promise((r) => setTimeout(r, 2500)); // two more rechecks
    assert.equal(exporter.logs.filter((l) => l.includes('CRD not found')).length, 1);
    api.setCrdInstalled(true);
    for (const o of k0s5369Objects(MEMBERS)) api.create(o);
    const s2 = await exporter.waitFor('crd installed later', (s) => count(s) === 4, 10_000);
    assert.equal(findSample(s2, 'k0s_etcdmember_crd_present')?.value, 1);
    assert.equal(findSample(s2, 'k0s_etcdmember_duplicates')?.value, 1);
  });

  it('500 on list: retried with backoff, then up', async () => {
    const api = await KubeApiTestServer.start();
    cleanups.push(() => api.close());
    for (const o of k0s5369Objects(MEMBERS)) api.create(o);
    api.failNext(2, 500, 'list');
    const exporter = await ExporterProcess.start({ etcdEndpoints: ['http://127.0.0.1:1'], kubeconfig: api.kubeconfigPath, interval: '1s' });
    cleanups.push(() => exporter.stop());
    const s = await exporter.waitFor('up after 500s', (s) => kubeUp(s) === 1 && count(s) === 4, 10_000);
    assert.equal(errors(s, 'server_error'), 2);
  });

  it('slow API: requests time out, source down, then recovers when it is fast again', async () => {
    const { api, exporter } = await setup();
    await exporter.waitFor('up', (s) => kubeUp(s) === 1);
    api.setLatency(3000);
    api.dropWatches();
    const s = await exporter.waitFor('timeout', (s) => kubeUp(s) === 0 && errors(s, 'timeout') >= 1, 10_000);
    assert.equal(findSample(s, 'k0s_etcdmember_duplicates'), undefined);
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await exporter.metricsText(1000);
      // The API answers after 3 s: a scrape well under that did not wait for it (100 ms proved too tight on a loaded machine).
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `a slow API never slows /metrics (scrape took ${ms.toFixed(0)} ms)`);
    }
    api.setLatency(0);
    await exporter.waitFor('up again', (s) => kubeUp(s) === 1 && count(s) === 4, 15_000);
  });

  it('dropped watch: reconnects and sees changes made meanwhile', async () => {
    const { api, exporter } = await setup();
    await exporter.waitFor('up', (s) => kubeUp(s) === 1 && count(s) === 4);
    api.dropWatches();
    api.create(etcdMemberObject('c4.example.org', { memberID: 'd4', peerAddress: '10.0.0.4' }));
    const s = await exporter.waitFor('c4 seen', (s) => count(s) === 5, 5000);
    assert.ok(errors(s, 'watch_dropped') >= 1);
    api.delete('c1');
    await exporter.waitFor('delete after reconnect seen', (s) => findSample(s, 'k0s_etcdmember_duplicates')?.value === 0, 3000);
  });

  it('a watch that keeps failing backs off instead of spinning', async () => {
    // --interval=5s caps the backoff at 5 s, so the doubling is visible within the 4 s looked at.
    const { api, exporter } = await setup({ interval: '5s' });
    await exporter.waitFor('up', (s) => kubeUp(s) === 1 && count(s) === 4);
    api.failNext(1000, 500, 'watch');
    api.dropWatches();
    const t0 = api.requestLog.length;
    await new Promise((r) => setTimeout(r, 4000));
    const watches = api.requestLog.slice(t0).filter((r) => r.query.includes('watch=')).length;
    // Backoff from 0.25-0.5 s doubling each time: at most 5 attempts fit in 4 s (a fixed 0.25-0.5 s delay: 8 or more).
    assert.ok(watches >= 2 && watches <= 6, `${watches} watch attempts in 4 s`);
    assert.ok(errors(await exporter.samples(), 'server_error') >= 2);
  });

  it('410 Gone: relists and carries on', async () => {
    const { api, exporter } = await setup();
    await exporter.waitFor('up', (s) => kubeUp(s) === 1 && count(s) === 4);
    api.create(etcdMemberObject('c5', { memberID: 'e5', peerAddress: '10.0.0.5' }));
    await exporter.waitFor('c5', (s) => count(s) === 5, 3000);
    // The watch resumes from the last resourceVersion it saw (c5's creation): compacting past it while the
    // watch is down (the delete comes after) is what makes the resumed watch 410.
    api.dropWatches();
    api.delete('c5');
    api.compact();
    const s = await exporter.waitFor('relisted', (s) => count(s) === 4 && errors(s, 'gone') >= 1, 5000);
    assert.equal(kubeUp(s), 1);
  });

  it('API down and back: source down, then recovers without a restart', async () => {
    const { api, exporter } = await setup();
    await exporter.waitFor('up', (s) => kubeUp(s) === 1 && count(s) === 4);
    await api.stop();
    const s = await exporter.waitFor('down', (s) => kubeUp(s) === 0, 10_000);
    assert.equal(count(s), undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_duplicates'), undefined);
    await api.restart();
    api.delete('c1');
    await exporter.waitFor('back with the change', (s) => kubeUp(s) === 1 && count(s) === 3 && findSample(s, 'k0s_etcdmember_duplicates')?.value === 0, 20_000);
  });
});
