// etcd failing under the exporter: a hung member, a dead member, all members dead.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess, findSample } from '../testbed/exporter-process.js';
import type { KubeApiTestServer } from '../testbed/kube-api-server.js';
import { sceneExporterOptions, startK0s5369Scene } from '../testbed/k0s5369.js';

let etcd: EtcdTestCluster;
let api: KubeApiTestServer;
let exporter: ExporterProcess;
const INTERVAL_MS = 2000;
const ETCD_TIMEOUT_MS = 1000;

before(async () => {
  ({ etcd, api } = await startK0s5369Scene());
  exporter = await ExporterProcess.start({
    ...sceneExporterOptions({ etcd, api }),
    interval: `${INTERVAL_MS}ms`,
    etcdTimeout: `${ETCD_TIMEOUT_MS}ms`,
  });
  await exporter.waitFor('etcd up', (s) => findSample(s, 'k0s_etcdmember_hostname_drift') !== undefined);
});

after(async () => {
  await exporter?.stop();
  await Promise.all([etcd?.stop(), api?.close()]);
});

async function timedScrape(): Promise<number> {
  const t0 = performance.now();
  await exporter.metricsText(1000);
  return performance.now() - t0;
}

describe('etcd faults', () => {
  it('a hung local member (SIGSTOP) neither hangs /metrics nor hides the other members', async () => {
    etcd.pause(0);
    try {
      // The read that starts now must wait for the deadline on the hung member's status call.
      const s = await exporter.waitFor('local member gone while paused', (s) => findSample(s, 'k0s_etcdmember_local_name_drift') === undefined, INTERVAL_MS + ETCD_TIMEOUT_MS + 3000);
      assert.equal(findSample(s, 'k0s_etcdmember_source_up', { source: 'etcd' })?.value, 1, 'the other endpoints still answer the member list');
      assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'etcd' })?.value, 3);
      for (let i = 0; i < 5; i++) assert.ok((await timedScrape()) < 100);
    } finally {
      etcd.resume(0);
    }
    await exporter.waitFor('local member back', (s) => findSample(s, 'k0s_etcdmember_local_name_drift')?.value === 0, INTERVAL_MS * 2 + ETCD_TIMEOUT_MS + 3000);
  });

  it('one member down: etcd still read through the others', async () => {
    await etcd.kill(2);
    await new Promise((r) => setTimeout(r, INTERVAL_MS + ETCD_TIMEOUT_MS + 500));
    const s = await exporter.samples();
    assert.equal(findSample(s, 'k0s_etcdmember_source_up', { source: 'etcd' })?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'etcd' })?.value, 3, 'a dead member is still in the member list');
  });

  it('every member killed: /metrics answers within 100 ms, etcd goes down within interval + timeout, Kubernetes figures stay', async () => {
    const t0 = Date.now();
    await Promise.all([etcd.kill(0), etcd.kill(1)]);
    const s = await exporter.waitFor('etcd down', (s) => findSample(s, 'k0s_etcdmember_source_up', { source: 'etcd' })?.value === 0, INTERVAL_MS + ETCD_TIMEOUT_MS + 1000);
    assert.ok(Date.now() - t0 <= INTERVAL_MS + ETCD_TIMEOUT_MS + 1000);
    for (let i = 0; i < 5; i++) {
      const ms = await timedScrape();
      assert.ok(ms < 100, `scrape took ${ms} ms`);
    }
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value, 4);
    assert.equal(findSample(s, 'k0s_etcdmember_duplicates')?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: 'c1', problem: 'ambiguous_duplicate' })?.value, 1, 'etcd down: every object of the group is ambiguous');
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: 'c1.example.org', problem: 'ambiguous_duplicate' })?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { problem: 'duplicate' }), undefined, 'etcd down: nothing is provably stale');
    assert.equal(findSample(s, 'k0s_etcdmember_hostname_drift'), undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'etcd' }), undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_local_name_drift'), undefined);
    assert.ok((findSample(s, 'k0s_etcdmember_source_errors_total', { source: 'etcd', reason: 'unavailable' })?.value ?? 0) >= 1);
  });

  it('etcd back: the exporter recovers without a restart', async () => {
    await Promise.all([etcd.restart(0), etcd.restart(1), etcd.restart(2)]);
    const s = await exporter.waitFor('etcd up again', (s) => findSample(s, 'k0s_etcdmember_hostname_drift') !== undefined, 20_000);
    assert.equal(findSample(s, 'k0s_etcdmember_hostname_drift')?.value, 1);
  });
});
