// The exporter judges by the k0s the API server reports: real etcd, the API test server answering /version as
// k0s 1.31.3 and then, after a rolling upgrade (a new gitVersion and a watch restart), as k0s 1.35.5.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../src/status-document.js';
import type { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import type { KubeApiTestServer } from '../testbed/kube-api-server.js';
import { sceneExporterOptions, startK0s5369Scene } from '../testbed/k0s5369.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
// What k0s >= 1.35.5 writes on every object after one failed etcd member list (etcd_member_reconciler.go resync).
const LIST_FAILED = 'Failed to list etcd cluster members: etcd member list failed: context deadline exceeded';

let etcd: EtcdTestCluster;
let api: KubeApiTestServer;
let exporter: ExporterProcess;

const problems = (s: Sample[], name: string): string[] =>
  s.filter((x) => x.name === 'k0s_etcdmember_object_problem' && x.labels['name'] === name).map((x) => x.labels['problem']!).sort();
const version = (s: Sample[]): string | undefined => findSample(s, 'k0s_etcdmember_k0s_info')?.labels['version'];

async function statusDocument(): Promise<StatusDocument> {
  const res = await fetch(`${exporter.url}/status.json`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return (await res.json()) as StatusDocument;
}

before(async () => {
  ({ etcd, api } = await startK0s5369Scene());
  api.gitVersion = 'v1.31.3+k0s.0';
  // The k0s#5369 trap armed: spec.leave on the zombie c1, which k0s 1.31 answered with Joined=False.
  const c1 = api.get('c1')!;
  api.update({ ...c1, spec: { leave: true }, status: { ...c1.status, conditions: [{ type: 'Joined', status: 'False', lastTransitionTime: '2025-01-01T00:00:00Z' }] } });
  // c2.example.org (a live member, no leave) carries the Failed that one failed member list leaves on 1.35.5.
  const c2 = api.get('c2.example.org')!;
  api.update({ ...c2, status: { ...c2.status, reconcileStatus: 'Failed', message: LIST_FAILED } });
  exporter = await ExporterProcess.start({ ...sceneExporterOptions({ etcd, api }), interval: '2s' });
});

after(async () => {
  await exporter?.stop();
  await Promise.all([etcd?.stop(), api?.close()]);
});

describe('judged by the k0s version the API server reports', () => {
  it('on k0s 1.31.3: shows the version, reports the Failed status, and says the leave on c1 is ignored until an upgrade', async () => {
    const s = await exporter.waitFor('k0s 1.31.3 judged', (s) => version(s) === 'v1.31.3+k0s.0' && problems(s, 'c1').includes('leave_ignored'), 30_000);
    assert.deepEqual(problems(s, 'c1'), ['duplicate', 'hostname_drift', 'leave_ignored']);
    assert.deepEqual(problems(s, 'c2.example.org'), ['reconcile_failed']);
    const doc = await statusDocument();
    assert.equal(doc.k0sVersion, 'v1.31.3+k0s.0');
    const leave = doc.findings.find((f) => f.name === 'c1' && f.problem === 'leave_ignored')!;
    assert.match(leave.message, /k0s v1\.31\.3\+k0s\.0 looks the object up among etcd's members by its name, finds no member named c1 and removes nothing/);
    assert.match(leave.message, /k0s 1\.35\.5 and later match a leave by member ID and remove live etcd member "c1\.example\.org".*delete the stale c1 before upgrading k0s/);
    assert.equal(leave.command, 'kubectl delete etcdmember c1');
    assert.deepEqual(doc.rows.flatMap((r) => r.objects).find((o) => o.name === 'c1')?.joined, 'False');
  });

  it('after a rolling upgrade to 1.35.5 (read again at the watch restart): no alarm for the stale Failed, and the leave on c1 removes the live member', async () => {
    api.gitVersion = 'v1.35.5+k0s.0';
    api.dropWatches();
    const s = await exporter.waitFor('k0s 1.35.5 judged', (s) => version(s) === 'v1.35.5+k0s.0' && problems(s, 'c1').includes('leave_pending'), 30_000);
    assert.deepEqual(problems(s, 'c1'), ['duplicate', 'hostname_drift', 'leave_pending']);
    assert.deepEqual(problems(s, 'c2.example.org'), []);
    const doc = await statusDocument();
    assert.equal(doc.k0sVersion, 'v1.35.5+k0s.0');
    const leave = doc.findings.find((f) => f.name === 'c1' && f.problem === 'leave_pending')!;
    assert.match(leave.message, /k0s v1\.35\.5\+k0s\.0 matches a leave by member ID and removes that live member from etcd; deleting the stale c1 disarms it/);
    assert.equal(leave.command, 'kubectl delete etcdmember c1');
    // The object still shows what k0s wrote; it is only not an alarm.
    assert.deepEqual(doc.rows.flatMap((r) => r.objects).find((o) => o.name === 'c2.example.org')?.message, LIST_FAILED);
    assert.ok(exporter.logs.some((l) => l.includes('"API server version"') && l.includes('v1.35.5+k0s.0')), 'the new version is logged');
  });

  it('--k0s.version wins over the API server, and a kube-apiserver that is not k0s leaves the version unknown', async () => {
    api.gitVersion = 'v1.31.3';
    const forced = await ExporterProcess.start({ ...sceneExporterOptions({ etcd, api }), extraArgs: ['--k0s.version=v1.33.4+k0s.0'] });
    try {
      const s = await forced.waitFor('forced version', (s) => version(s) !== undefined && problems(s, 'c1').includes('duplicate'), 30_000);
      assert.equal(version(s), 'v1.33.4+k0s.0');
      assert.deepEqual(problems(s, 'c1'), ['duplicate', 'hostname_drift', 'leave_ignored']);
    } finally {
      await forced.stop();
    }
    // The running exporter re-reads /version at its next watch restart: a plain kube-apiserver names no k0s.
    api.dropWatches();
    const s = await exporter.waitFor('version unknown', (s) => version(s) === undefined && problems(s, 'c2.example.org').length === 0 && problems(s, 'c1').includes('leave_pending'), 30_000);
    assert.equal(findSample(s, 'k0s_etcdmember_k0s_info'), undefined);
  });

  it('check reads /version too, and a bad --k0s.version is a usage error', async () => {
    api.gitVersion = 'v1.31.3+k0s.0';
    const o = sceneExporterOptions({ etcd, api });
    const args = ['check', '-o', 'json', `--etcd.endpoints=${o.etcdEndpoints.join(',')}`, `--etcd.ca-file=${o.caFile}`, `--etcd.cert-file=${o.certFile}`, `--etcd.key-file=${o.keyFile}`, `--kubeconfig=${o.kubeconfig}`, '--node.member-name=c1.example.org', '--k0s.config-file=/dev/null'];
    const run = promisify(execFile);
    const out = await run(process.execPath, [MAIN, ...args], { timeout: 30_000 }).catch((e: { stdout: string; code: number }) => e);
    assert.equal((out as { code?: number }).code, 1);
    const doc = JSON.parse(out.stdout) as StatusDocument;
    assert.equal(doc.k0sVersion, 'v1.31.3+k0s.0');
    assert.ok(doc.findings.some((f) => f.name === 'c1' && f.problem === 'leave_ignored'));
    const bad = await run(process.execPath, [MAIN, ...args, '--k0s.version=1.31'], { timeout: 30_000 }).catch((e: { stderr: string; code: number }) => e);
    assert.equal((bad as { code?: number }).code, 2);
    assert.match((bad as { stderr: string }).stderr, /"1\.31" is not a k0s version; want e\.g\. v1\.31\.3\+k0s\.0/);
  });
});
