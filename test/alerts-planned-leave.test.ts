// A planned controller removal against the real components: a 3-member etcd with k0s-like mTLS, the Kubernetes API
// test server with one EtcdMember per member, and the exporter as users run it. spec.leave is set on
// c3.example.org's object, its member is removed from etcd (what k0s does next), and the object k0s keeps must be
// reported as `left` (cleanup), never as `orphaned` (an incident), so that neither K0sEtcdMemberOrphaned nor the
// count mismatch pages after every planned replacement.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import { KubeApiTestServer, etcdMemberObject } from '../testbed/kube-api-server.js';

let etcd: EtcdTestCluster | undefined;
let api: KubeApiTestServer | undefined;
let exporter: ExporterProcess | undefined;

const problemsOf = (s: Sample[], name: string): string[] =>
  s.filter((x) => x.name === 'k0s_etcdmember_object_problem' && x.labels['name'] === name).map((x) => `${x.labels['problem']}=${x.value}`).sort();

before(async () => {
  [etcd, api] = await Promise.all([EtcdTestCluster.start(), KubeApiTestServer.start()]);
  for (const m of etcd.members) api.create(etcdMemberObject(m.name, { memberID: m.idHex, peerAddress: m.ip }));
  exporter = await ExporterProcess.start({
    // The first endpoint is c1.example.org's member, which stays.
    etcdEndpoints: etcd.endpoints,
    caFile: etcd.caFile,
    certFile: etcd.certFile,
    keyFile: etcd.keyFile,
    kubeconfig: api.kubeconfigPath,
    interval: '1s',
  });
});

after(async () => {
  await exporter?.stop();
  await Promise.all([etcd?.stop(), api?.close()]);
});

describe('a completed planned leave with the real exporter, etcd and API', { timeout: 60_000 }, () => {
  it('starts healthy: three members, three objects, no finding', async () => {
    const s = await exporter!.waitFor('both sources read', (s) =>
      findSample(s, 'k0s_etcdmember_members', { source: 'etcd' })?.value === 3 && findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value === 3);
    assert.deepEqual(s.filter((x) => x.name === 'k0s_etcdmember_object_problem'), []);
    assert.equal(findSample(s, 'k0s_etcdmember_left_objects')?.value, 0);
  });

  it('spec.leave set while the member is still listed: leave_pending', async () => {
    const c3 = etcd!.members[2]!;
    api!.update(etcdMemberObject(c3.name, { memberID: c3.idHex, peerAddress: c3.ip }, { leave: true }));
    const s = await exporter!.waitFor('leave_pending', (s) => problemsOf(s, c3.name).includes('leave_pending=1'), 10_000);
    assert.deepEqual(problemsOf(s, c3.name), ['leave_pending=1']);
  });

  it('member removed from etcd: the object is left, not orphaned, and counted apart', async () => {
    const c3 = etcd!.members[2]!;
    // --strict-reconfig-check (on in k0s) refuses membership changes until every member has been connected for
    // etcd's health interval: right after start that answers "unhealthy cluster" for a few seconds.
    for (const deadline = Date.now() + 20_000; ; ) {
      try {
        await etcd!.etcdctl(['member', 'remove', c3.idHex]);
        break;
      } catch (err) {
        if (!String(err).includes('unhealthy cluster') || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const s = await exporter!.waitFor('member gone', (s) => findSample(s, 'k0s_etcdmember_members', { source: 'etcd' })?.value === 2, 15_000);
    assert.deepEqual(problemsOf(s, c3.name), ['left=1']);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: c3.name, problem: 'orphaned' }), undefined);
    assert.equal(findSample(s, 'k0s_etcdmember_object_problem', { name: c3.name, problem: 'left' })?.labels['member_id'], c3.idHex);
    assert.equal(findSample(s, 'k0s_etcdmember_left_objects')?.value, 1);
    assert.equal(findSample(s, 'k0s_etcdmember_orphaned_objects')?.value, 0);
    assert.equal(findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value, 3);
    for (const m of etcd!.members.slice(0, 2)) assert.deepEqual(problemsOf(s, m.name), [], m.name);
    const help = await (await fetch(`${exporter!.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    assert.match(help, /^# HELP k0s_etcdmember_object_problem .*\bleft\b.*ambiguous_duplicate|^# HELP k0s_etcdmember_object_problem .*ambiguous_duplicate.*\bleft\b/m);
  });
});
