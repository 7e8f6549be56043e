// The exporter against a real 3-member etcd with mTLS and the Kubernetes API test server in the k0s#5369 state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import { etcdMemberObject, type KubeApiTestServer } from '../testbed/kube-api-server.js';
import { sceneExporterOptions, startK0s5369Scene } from '../testbed/k0s5369.js';

let etcd: EtcdTestCluster;
let api: KubeApiTestServer;
let exporter: ExporterProcess;

const problemsOf = (s: Sample[], name: string): string[] =>
  s.filter((x) => x.name === 'k0s_etcdmember_object_problem' && x.labels['name'] === name).map((x) => x.labels['problem']!).sort();

before(async () => {
  ({ etcd, api } = await startK0s5369Scene());
  exporter = await ExporterProcess.start({
    ...sceneExporterOptions({ etcd, api }),
    interval: '5s',
  });
});

after(async () => {
  await exporter?.stop();
  await Promise.all([etcd?.stop(), api?.close()]);
});

describe('k0s#5369 against real etcd and the API', () => {
  it('reports the duplicate c1 and nothing on the real members', async () => {
    const s = await exporter.waitFor('both sources read', (s) =>
      findSample(s, 'k0s_etcdmember_source_up', { source: 'etcd' })?.value === 1 &&
      findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' }) !== undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'etcd' })?.value, 3);
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value, 4);
    assert.equal(findSample(s, 'k0s_etcdmember_duplicates')?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_hostname_drift')?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_orphaned_objects')?.value, 0);
    assert.equal(findSample(s, 'k0s_etcdmember_unregistered_members')?.value, 0);
    assert.equal(findSample(s, 'k0s_etcdmember_peer_address_mismatches')?.value, 0);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: 'c1', problem: 'duplicate' })?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: 'c1' })?.labels['member_id'], etcd.members[0]!.idHex);
    for (const name of ['c1.example.org', 'c2.example.org', 'c3.example.org']) assert.deepEqual(problemsOf(s, name), [], name);
    assert.equal(findSample(s, 'k0s_etcdmember_crd_present')?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_source_up', { source: 'kubernetes' })?.value, 1);
    // The first endpoint is c1.example.org's member and the host registers that name: no local drift.
    assert.equal(findSample(s, 'k0s_etcdmember_local_name_drift')?.value, 0);
    assert.equal(findSample(s, 'k0s_etcdmember_local_member_info')?.labels['member_id'], etcd.members[0]!.idHex);
    const info = s.filter((x) => x.name === 'k0s_etcdmember_member_info' && x.labels['source'] === 'etcd');
    assert.deepEqual(info.map((x) => x.labels['peer_address']).sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const ready = await fetch(`${exporter.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    assert.equal(ready.status, 200);
  });

  it('writes only structured log lines to stderr, though it reached etcd over TLS by IP address', () => {
    // Runs after etcd was read: grpc-js gave TLS 127.0.0.1 as the server name, which makes Node warn DEP0123.
    assert.ok(etcd.endpoints.every((e) => /^https:\/\/127\.0\.0\.\d+:\d+$/.test(e)), etcd.endpoints.join(','));
    assert.ok(exporter.logs.length > 0);
    for (const line of exporter.logs) assert.doesNotThrow(() => JSON.parse(line), `not a structured log line: ${line}`);
  });

  it('predicts the duplicate on a controller whose hostname changed (local name drift)', async () => {
    const drifted = await ExporterProcess.start({ ...sceneExporterOptions({ etcd, api }), memberName: 'C1 ' });
    try {
      const s = await drifted.waitFor('local name drift', (s) => findSample(s, 'k0s_etcdmember_local_name_drift') !== undefined);
      assert.equal(findSample(s, 'k0s_etcdmember_local_name_drift')?.value, 1);
      const { predicted_peer_address: predicted, ...labels } = findSample(s, 'k0s_etcdmember_local_member_info')?.labels ?? {};
      assert.deepEqual(labels, { member_name: 'c1.example.org', member_id: etcd.members[0]!.idHex, registration_name: 'c1' });
      // The testbed's k0s.yaml for this controller: the peer address etcd has, so only the name drifts.
      assert.equal(predicted, '127.0.0.1');
      assert.equal(findSample(s, 'k0s_etcdmember_local_peer_address_drift')?.value, 0);
    } finally {
      await drifted.stop();
    }
  });

  it('reports malformed objects without dropping the rest', async () => {
    api.seedRaw({ apiVersion: 'etcd.k0sproject.io/v1beta1', kind: 'EtcdMember', metadata: { name: 'no-status' } });
    api.seedRaw(etcdMemberObject('bad-id', { memberID: 'zz-not-hex', peerAddress: '127.0.0.9' }));
    try {
      const s = await exporter.waitFor('malformed objects', (s) => problemsOf(s, 'bad-id').length > 0 && problemsOf(s, 'no-status').length > 0, 5000);
      assert.deepEqual(problemsOf(s, 'no-status'), ['no_status']);
      assert.deepEqual(problemsOf(s, 'bad-id'), ['invalid_member_id']);
      assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value, 6);
      assert.equal(findSample(s, 'k0s_etcdmember_duplicates')?.value, 1);
    } finally {
      api.delete('no-status');
      api.delete('bad-id');
    }
  });

  it('sees the fix within 2 s of kubectl delete etcdmember c1, with --interval=5s', async () => {
    await exporter.waitFor('6 objects gone back to 4', (s) => findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value === 4, 5000);
    const t0 = Date.now();
    api.delete('c1');
    const s = await exporter.waitFor('duplicates 0', (s) => findSample(s, 'k0s_etcdmember_duplicates')?.value === 0, 2000);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(findSample(s, 'k0s_etcdmember_hostname_drift')?.value, 0);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: 'c1' }), undefined, 'no stale series for the deleted object');
    assert.equal(findSample(s, 'k0s_etcdmember_member_info', { source: 'kubernetes', name: 'c1' }), undefined);
  });

  it('reports an unstarted member and the member no object claims', async () => {
    const id = await etcd.addUnstartedMember('https://127.0.0.4:2380');
    const s = await exporter.waitFor('unstarted member', (s) => findSample(s, 'k0s_etcdmember_unstarted_members')?.value === 1, 12_000);
    assert.equal(findSample(s, 'k0s_etcdmember_member_problem', { member_id: id, problem: 'unstarted' })?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'etcd' })?.value, 4);
    assert.equal(findSample(s, 'k0s_etcdmember_unregistered_members')?.value, 0, 'an unstarted member has no name to register yet');
    api.delete('c3.example.org');
    const s2 = await exporter.waitFor('unregistered c3', (s) => findSample(s, 'k0s_etcdmember_unregistered_members')?.value === 1, 3000);
    assert.equal(findSample(s2, 'k0s_etcdmember_member_problem', { name: 'c3.example.org', problem: 'unregistered' })?.value, 1);
  });
});
