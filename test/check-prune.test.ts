// `check` and `prune` as an operator runs them, against a real 3-member etcd with mTLS and the Kubernetes API
// test server in the k0s#5369 state; the real kubectl shows the result.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { analyse } from '../src/analysis.js';
import { deleteObject, listObjectsOnce, readEtcdLinearizable } from '../src/commands/io.js';
import { planPrune } from '../src/commands/prune-plan.js';
import type { StatusDocument } from '../src/status-document.js';
import type { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { etcdMemberObject, type KubeApiTestServer } from '../testbed/kube-api-server.js';
import { startK0s5369Scene } from '../testbed/k0s5369.js';
import { requireTool } from '../testbed/tools.js';
import { makeWebPki } from '../testbed/web-pki.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
let etcd: EtcdTestCluster;
let api: KubeApiTestServer;
let cache: string;
let k0sYaml: string;

before(async () => {
  ({ etcd, api } = await startK0s5369Scene());
  cache = mkdtempSync(join(tmpdir(), 'check-prune-kubectl-'));
  // This host's k0s.yaml as the first controller's would say, never the machine's own /etc/k0s/k0s.yaml.
  k0sYaml = join(cache, 'k0s.yaml');
  writeFileSync(k0sYaml, `spec:\n  storage:\n    etcd:\n      peerAddress: ${new URL(etcd.members[0]!.peerUrl).hostname}\n`);
});
after(async () => {
  await Promise.all([etcd?.stop(), api?.close()]);
  if (cache) rmSync(cache, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, env: { ...process.env, KUBECONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The exporter binary's subcommand with the scene's flags; this host registers as the first member's name. */
function cli(command: 'check' | 'prune', ...extra: string[]): Promise<Run> {
  return run(process.execPath, [
    MAIN,
    command,
    `--etcd.endpoints=${etcd.endpoints.join(',')}`,
    `--etcd.ca-file=${etcd.caFile}`,
    `--etcd.cert-file=${etcd.certFile}`,
    `--etcd.key-file=${etcd.keyFile}`,
    '--etcd.timeout=3s',
    `--kubeconfig=${api.kubeconfigPath}`,
    `--node.member-name=${etcd.members[0]!.name}`,
    `--k0s.config-file=${k0sYaml}`,
    ...extra,
  ]);
}

const names = (): string[] => api.list().map((o) => o.metadata.name);

describe('check and prune in the k0s#5369 scene', () => {
  it('check exits 1, names c1 as the stale duplicate with the command to delete it, and never suggests spec.leave', { timeout: 60_000 }, async () => {
    const r = await cli('check');
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines[0]!.split(/\s{2,}/), ['MEMBER ID', 'ETCD NAME', 'PEER', 'OBJECTS', 'FINDINGS']);
    const c1 = etcd.members[0]!;
    assert.deepEqual(lines[1]!.split(/\s{2,}/), [c1.idHex, c1.name, '127.0.0.1', `c1,${c1.name}`, 'c1: duplicate,c1: hostname_drift']);
    assert.match(r.stdout, /^duplicate c1: .*; next: kubectl delete etcdmember c1$/m);
    assert.doesNotMatch(r.stdout, /leave/);
    assert.equal(r.stderr, '');
  });

  it('check -o json prints the status document', { timeout: 60_000 }, async () => {
    const r = await cli('check', '-o', 'json');
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as StatusDocument;
    assert.deepEqual([doc.kind, doc.version, doc.consistent], ['K0sEtcdMemberStatus', 1, false]);
    assert.deepEqual(doc.sources.map((s) => [s.name, s.up]), [['etcd', true], ['kubernetes', true], ['k0s_config', true]]);
    assert.equal(doc.rows.length, 3);
    const dup = doc.findings.find((f) => f.problem === 'duplicate');
    assert.deepEqual([dup?.subject, dup?.name, dup?.memberId, dup?.command], ['object', 'c1', etcd.members[0]!.idHex, 'kubectl delete etcdmember c1']);
    // Without --web.external-url: the exporter on this host, as Prometheus names its own external URL.
    assert.equal(dup!.runbook, `http://${hostname()}:9979/runbook#k0setcdmemberduplicate`);
  });

  it('prune without --yes deletes nothing and says what it would delete', { timeout: 60_000 }, async () => {
    const r = await cli('prune');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^would delete etcdmember c1 \(duplicate\): /m);
    assert.match(r.stdout, /dry run: deleted nothing/);
    assert.deepEqual(names(), ['c1', 'c1.example.org', 'c2.example.org', 'c3.example.org']);
  });

  it('a changed object is left alone: the delete carries the judged uid and resourceVersion', { timeout: 60_000 }, async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const objects = await listObjectsOnce(kc, 5000);
    const plan = planPrune(analyse(await etcdSnapshot(), objects, { registrationName: etcd.members[0]!.name }), await etcdSnapshot(), objects, new Date(), 3_600_000);
    assert.deepEqual(plan.deletions.map((d) => d.object.name), ['c1']);
    const judged = plan.deletions[0]!.object;
    // Someone changes c1 between the judgement and the delete.
    const c1 = api.get('c1')!;
    api.update({ ...c1, metadata: { ...c1.metadata, labels: { touched: 'yes' } } });
    const outcome = await deleteObject(kc, 5000, 'c1', { uid: judged.uid, resourceVersion: judged.resourceVersion });
    assert.equal(outcome.kind, 'conflict');
    assert.match(outcome.kind === 'conflict' ? outcome.message : '', /Precondition failed: ResourceVersion in precondition/);
    assert.ok(api.get('c1'), 'c1 is still there');
  });

  it('prune --yes keeps a young orphan and deletes exactly c1; then check exits 0 and kubectl shows three objects', { timeout: 90_000 }, async (t) => {
    api.create(etcdMemberObject('young-orphan', { memberID: 'dead1', peerAddress: '127.0.0.9' }));
    const r = await cli('prune', '--yes');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^deleted etcdmember c1 \(duplicate\): /m);
    assert.match(r.stdout, /^keeping etcdmember young-orphan \(orphaned\): it is younger than --min-age/m);
    assert.deepEqual(names(), ['c1.example.org', 'c2.example.org', 'c3.example.org', 'young-orphan']);
    api.delete('young-orphan');

    const check = await cli('check');
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /consistent: no findings/);
    assert.equal((await cli('prune')).stdout.trim(), 'nothing to prune: no object is proven stale');

    const kubectl = requireTool(t, 'kubectl', 'apt-get install kubernetes-client, or https://kubernetes.io/docs/tasks/tools/');
    if (kubectl === undefined) return;
    const get = await run(kubectl, ['--kubeconfig', api.kubeconfigPath, '--cache-dir', cache, 'get', 'etcdmember']);
    assert.equal(get.code, 0, get.stderr);
    const lines = get.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.trimEnd().split(/\s{2,}/), ['NAME', 'PEER ADDRESS', 'MEMBER ID', 'JOINED', 'RECONCILE STATUS']);
    assert.deepEqual(
      lines.slice(1).map((l) => l.trim().split(/\s+/)),
      etcd.members.map((m, i) => [m.name, `127.0.0.${i + 1}`, m.idHex, 'True']),
    );
  });

  it('prune --yes deletes nothing of an ambiguous pair whose member etcd no longer lists, and keeps each object once', { timeout: 60_000 }, async () => {
    // k0s#5369 aftermath: the member is gone; the zombie (spec.leave) and the right-named object both carry its ID.
    api.create(etcdMemberObject('ghost', { memberID: 'dead2', peerAddress: '127.0.0.9' }, { leave: true }));
    api.create(etcdMemberObject('ghost.example.org', { memberID: 'dead2', peerAddress: '127.0.0.9' }));
    try {
      const r = await cli('prune', '--yes', '--min-age=1ms');
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /deleted|would delete/);
      assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('keeping ')).map((l) => l.split(':')[0]), ['keeping etcdmember ghost (ambiguous_duplicate)', 'keeping etcdmember ghost.example.org (ambiguous_duplicate)']);
      assert.ok(names().includes('ghost') && names().includes('ghost.example.org'), names().join());
    } finally {
      for (const n of ['ghost', 'ghost.example.org']) if (api.get(n)) api.delete(n);
    }
  });

  it('prune\'s confirmed read names no local member when the first endpoint (this controller\'s) is not the one that answered', { timeout: 60_000 }, async () => {
    const options = { caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile, timeoutMs: 3000 };
    const own = await readEtcdLinearizable({ ...options, endpoints: [etcd.endpoints[0]!, etcd.endpoints[1]!] });
    assert.equal(own.members.length, 3);
    // The first endpoint answered (it may race the second): either way no other member is called this host's.
    assert.ok(own.localMemberId === etcd.members[0]!.idHex || own.localMemberId === undefined, own.localMemberId);
    const refused = await readEtcdLinearizable({ ...options, endpoints: ['https://127.0.0.1:1', etcd.endpoints[1]!] });
    assert.equal(refused.members.length, 3);
    assert.equal(refused.localMemberId, undefined, 'the second endpoint\'s member is not this controller\'s');
    assert.match(refused.localMemberError ?? '', /first endpoint https:\/\/127\.0\.0\.1:1 did not answer the linearizable read/);
  });

  it('prune names why no linearizable read succeeded: a CA that did not sign etcd\'s certificate is tls, not unavailable', { timeout: 60_000 }, async () => {
    const pkiDir = mkdtempSync(join(tmpdir(), 'check-prune-pki-'));
    try {
      const stranger = makeWebPki(pkiDir);
      const before = names();
      const r = await cli('prune', '--yes', `--etcd.ca-file=${stranger.caFile}`);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stderr, /^k0s-etcdmember-exporter prune: cannot read etcd \(tls\): no etcd endpoint answered a linearizable read .*; deleted nothing\n$/);
      assert.deepEqual(names(), before, 'nothing deleted');
    } finally {
      rmSync(pkiDir, { recursive: true, force: true });
    }
  });

  it('prune refuses, deleting nothing, when etcd cannot confirm its member list by a linearizable read', { timeout: 90_000 }, async () => {
    api.create(etcdMemberObject('c1', { memberID: etcd.members[0]!.idHex, peerAddress: '127.0.0.1' }));
    // Two of three members gone: the survivor still answers MemberList, but not a quorum read (it never answers: timeout).
    await Promise.all([etcd.kill(1), etcd.kill(2)]);
    const r = await run(process.execPath, [
      MAIN, 'prune', '--yes', `--etcd.endpoints=${etcd.endpoints[0]}`, `--etcd.ca-file=${etcd.caFile}`, `--etcd.cert-file=${etcd.certFile}`,
      `--etcd.key-file=${etcd.keyFile}`, '--etcd.timeout=2s', `--kubeconfig=${api.kubeconfigPath}`,
    ]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /^k0s-etcdmember-exporter prune: cannot read etcd \(timeout\): no etcd endpoint answered a linearizable read .*; deleted nothing\n$/);
    assert.ok(api.get('c1'), 'nothing deleted');
  });

  it('with etcd down, check and prune exit 3 with one line and prune deletes nothing', { timeout: 90_000 }, async () => {
    await etcd.kill(0); // the other two are down since the test before
    const check = await cli('check');
    assert.equal(check.code, 3);
    assert.equal(check.stdout, '');
    assert.match(check.stderr, /^k0s-etcdmember-exporter check: cannot read etcd \([a-z_]+\): .+\n$/);
    const prune = await cli('prune', '--yes');
    assert.equal(prune.code, 3);
    assert.match(prune.stderr, /^k0s-etcdmember-exporter prune: cannot read etcd .*; deleted nothing\n$/);
    assert.ok(api.get('c1'), 'nothing deleted');
  });
});

async function etcdSnapshot(): Promise<import('../src/model.js').EtcdSnapshot> {
  const { readEtcdOnce } = await import('../src/commands/io.js');
  return readEtcdOnce({ endpoints: etcd.endpoints, caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile, timeoutMs: 5000 });
}
