// Done-when of the k0s config prediction, with the real exporter process and a real etcd: the exporter reads the
// host's k0s.yaml (no --node.member-name), an edit to it shows at the next refresh, and a bad one stops it at start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import { writeKubeconfig } from '../testbed/kubeconfig.js';
import { K0S_FIXTURES } from '../testbed/paths.js';
import { readInterfaces } from '../src/hostfacts.js';
import { predictDefaultPeerAddress } from '../src/k0s/peer-address.js';
import { fileURLToPath } from 'node:url';

// A name the machine running the test is surely not called: the file, not the hostname, must decide.
const MEMBER = 'pinned-c1.example.org';
let dir: string;
let etcd: EtcdTestCluster;
let exporter: ExporterProcess;
let k0sYaml: string;

const value = (s: Sample[], name: string, labels: Record<string, string> = {}): number | undefined => findSample(s, name, labels)?.value;
/** The fixture k0s.yaml (kind ClusterConfig, extraArgs.name, peerAddress) with this test's name and address. */
const config = (name: string, peerAddress: string): string =>
  readFileSync(join(K0S_FIXTURES, 'k0s.yaml'), 'utf8').replace('name: c1.example.org', `name: ${name}`).replace('peerAddress: 10.0.0.1', `peerAddress: ${peerAddress}`);

before(async () => {
  assert.notEqual(hostname().trim().toLowerCase(), MEMBER, 'the test needs a hostname that differs from the member name');
  dir = mkdtempSync(join(tmpdir(), 'k0s-config-e2e-'));
  k0sYaml = join(dir, 'k0s.yaml');
  etcd = await EtcdTestCluster.start({ names: [MEMBER] });
  // etcd's peer URL for the member: https://127.0.0.1:<port>; k0s.yaml says the same address.
  assert.equal(new URL(etcd.members[0]!.peerUrl).hostname, '127.0.0.1');
  writeFileSync(k0sYaml, config(MEMBER, '127.0.0.1'));
  // No API server: the local facts need etcd only, and the Kubernetes source is simply down.
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig);
  exporter = await ExporterProcess.start({
    etcdEndpoints: etcd.endpoints, caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile, kubeconfig,
    interval: '1s', memberName: null, k0sConfigFile: k0sYaml,
  });
});

after(async () => {
  await exporter?.stop();
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the exporter reads the host k0s.yaml (no --node.member-name)', () => {
  it('extraArgs.name is the member name on a host named otherwise: local_name_drift 0, no peer drift', async () => {
    const s = await exporter.waitFor('local facts', (s) => value(s, 'k0s_etcdmember_local_name_drift') !== undefined);
    assert.equal(value(s, 'k0s_etcdmember_local_name_drift'), 0);
    assert.equal(value(s, 'k0s_etcdmember_local_peer_address_drift'), 0);
    assert.equal(value(s, 'k0s_etcdmember_source_up', { source: 'k0s_config' }), 1);
    assert.equal(value(s, 'k0s_etcdmember_local_peer_address_on_host', { peer_address: '127.0.0.1' }), 1);
    assert.deepEqual(findSample(s, 'k0s_etcdmember_local_member_info')?.labels, {
      member_name: MEMBER, member_id: etcd.members[0]!.idHex, registration_name: MEMBER, predicted_peer_address: '127.0.0.1',
    });
  });

  it('a changed extraArgs.name shows as local_name_drift 1 at the next refresh', async () => {
    writeFileSync(k0sYaml, config('C1-Renamed ', '127.0.0.1'));
    const s = await exporter.waitFor('name drift', (s) => value(s, 'k0s_etcdmember_local_name_drift') === 1, 5000);
    assert.equal(findSample(s, 'k0s_etcdmember_local_member_info')?.labels['registration_name'], 'c1-renamed');
    assert.equal(value(s, 'k0s_etcdmember_local_peer_address_drift'), 0);
  });

  it("a peerAddress other than etcd's shows as local_peer_address_drift 1", async () => {
    writeFileSync(k0sYaml, config(MEMBER, '10.0.0.9'));
    const s = await exporter.waitFor('peer drift', (s) => value(s, 'k0s_etcdmember_local_peer_address_drift') === 1, 5000);
    assert.equal(value(s, 'k0s_etcdmember_local_name_drift'), 0);
    assert.equal(findSample(s, 'k0s_etcdmember_local_member_info')?.labels['predicted_peer_address'], '10.0.0.9');
    // k0s#7876's shape: an address this host does not have. etcd there would not start.
    assert.equal(value(s, 'k0s_etcdmember_local_peer_address_on_host', { peer_address: '10.0.0.9' }), 0);
  });

  it('a file broken while running: source_up 0, no drift claimed, one warning', async () => {
    writeFileSync(k0sYaml, 'spec:\n  storage: [\n');
    const s = await exporter.waitFor('k0s_config down', (s) => value(s, 'k0s_etcdmember_source_up', { source: 'k0s_config' }) === 0, 5000);
    assert.equal(value(s, 'k0s_etcdmember_local_name_drift'), undefined);
    assert.equal(value(s, 'k0s_etcdmember_local_peer_address_drift'), undefined);
    assert.ok((value(s, 'k0s_etcdmember_source_errors_total', { source: 'k0s_config', reason: 'invalid_response' }) ?? 0) >= 1);
    await new Promise((r) => setTimeout(r, 2500));
    const warnings = exporter.logs.filter((l) => l.includes('k0s config unusable'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`${k0sYaml}:\\d+:\\d+: not valid YAML`));
  });
});

describe('a named k0s.yaml as k0s judges it (the real exporter process)', () => {
  it('an unknown key under spec.storage.etcd (peerAdress): runs, one warning naming it, the default peer address used', async () => {
    const file = join(dir, 'k0s-etcd-typo.yaml');
    copyFileSync(join(K0S_FIXTURES, 'k0s-etcd-typo.yaml'), file);
    const kubeconfig = join(dir, 'kubeconfig');
    const typo = await ExporterProcess.start({
      etcdEndpoints: etcd.endpoints, caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile, kubeconfig,
      interval: '1s', memberName: null, k0sConfigFile: file,
    });
    try {
      const pick = predictDefaultPeerAddress((await readInterfaces()).reading!, undefined);
      assert.ok(pick.known, 'this machine has a predictable default address');
      const s = await typo.waitFor('local facts', (s) => findSample(s, 'k0s_etcdmember_local_member_info') !== undefined, 10_000);
      assert.equal(value(s, 'k0s_etcdmember_source_up', { source: 'k0s_config' }), 1);
      assert.equal(findSample(s, 'k0s_etcdmember_local_member_info')?.labels['predicted_peer_address'], pick.address, 'the default, not the misspelt 10.0.9.9');
      await new Promise((r) => setTimeout(r, 2500));
      const warnings = typo.logs.filter((l) => l.includes('"level":"warn"') && l.includes('peerAdress'));
      assert.equal(warnings.length, 1, typo.logs.join('\n'));
      assert.match(warnings[0]!, /spec\.storage\.etcd\.peerAdress is not a field k0s knows \(did you mean peerAddress\?\): k0s ignores it and gives etcd the default peer address/);
    } finally {
      await typo.stop();
    }
  });

  it('an unknown key elsewhere under spec (konectivity): exits 2, one line naming it and the key meant', () => {
    const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
    const file = join(K0S_FIXTURES, 'k0s-spec-typo.yaml');
    // A usable kubeconfig, so the k0s config is the one problem reported (all are, at once).
    const kubeconfig = join(dir, 'konectivity-kubeconfig');
    writeKubeconfig(kubeconfig);
    const r = spawnSync(process.execPath, [main, '--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig}`, `--k0s.config-file=${file}`], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', HOME: dir } });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `k0s-etcdmember-exporter: --k0s.config-file: ${file}:8:3: unknown field spec.konectivity (did you mean spec.konnectivity?): k0s refuses to start with it (no k0s release from 1.30 to 1.36 knows it)`,
    );
  });

  it('check refuses the same file: exit 2 naming the key', () => {
    const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
    // /dev/null is no kubeconfig: both problems are named at once, the k0s config's first.
    const r = spawnSync(process.execPath, [main, 'check', '--etcd.endpoints=http://127.0.0.1:1', '--kubeconfig=/dev/null', `--k0s.config-file=${join(K0S_FIXTURES, 'k0s-spec-typo.yaml')}`], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', HOME: dir } });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^k0s-etcdmember-exporter check: 2 problems: \(1\) --k0s.config-file: .*k0s-spec-typo\.yaml:8:3: unknown field spec\.konectivity \(did you mean spec\.konnectivity\?\).*; \(2\) cannot load kubeconfig \/dev\/null: /);
  });
});

describe('--k0s.config-file at start (the real exporter process)', () => {
  // A usable kubeconfig, so the k0s config is the one problem reported (all are, at once).
  const run = (args: string[]) => {
    const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
    const kubeconfig = join(dir, 'start-kubeconfig');
    writeKubeconfig(kubeconfig);
    return spawnSync(process.execPath, [main, '--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig}`, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', HOME: dir } });
  };
  it('exits 2 with one line naming the file, line and column of a malformed one', () => {
    const p = join(dir, 'start-bad.yaml');
    writeFileSync(p, 'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  storage:\n    type: etcd\n    etcd:\n      peerAddress: [10.0.0.1\n');
    const r = run([`--k0s.config-file=${p}`]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^k0s-etcdmember-exporter: --k0s.config-file: ${p}:\\d+:\\d+: not valid YAML`));
  });
  it('exits 2 for a directory and for a missing file, naming it', () => {
    const r = run([`--k0s.config-file=${dir}`]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `k0s-etcdmember-exporter: --k0s.config-file: ${dir}: is a directory; want the k0s config file (k0s.yaml)`);
    const m = run([`--k0s.config-file=${join(dir, 'nope.yaml')}`]);
    assert.equal(m.status, 2);
    assert.equal(m.stderr.trim(), `k0s-etcdmember-exporter: --k0s.config-file: ${join(dir, 'nope.yaml')}: does not exist`);
  });
});
