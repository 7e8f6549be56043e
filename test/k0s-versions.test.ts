// What the exporter says, by k0s version: each behaviour on both sides of its boundary, and each real incident
// with the findings expected on the k0s versions it spans. The rules were read in k0s's source (src/k0s/versions.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyse, type Report } from '../src/analysis.js';
import { K0S_RULES, k0sBehaviour, k0sVersionFromGitVersion, parseK0sVersion, type K0sRuleName, type K0sVersion } from '../src/k0s/versions.js';
import type { EtcdMember, EtcdMemberObject, EtcdSnapshot, KubernetesSnapshot } from '../src/model.js';
import { buildStatusDocument, type StatusDocument } from '../src/status-document.js';

const v = (text: string): K0sVersion => parseK0sVersion(text);
const host = { registrationName: 'c1.example.org' };

function member(name: string, id: string, ip: string, extra: Partial<EtcdMember> = {}): EtcdMember {
  return { id, name, peerURLs: [`https://${ip}:2380`], clientURLs: [`https://${ip}:2379`], isLearner: false, ...extra };
}
function object(name: string, memberId: string | undefined, peerAddress: string, extra: Partial<EtcdMemberObject> = {}): EtcdMemberObject {
  return { name, memberId, invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: undefined, joined: 'True', ...extra };
}

const C1 = member('c1.example.org', 'a1', '10.0.0.1');
const C2 = member('c2.example.org', 'b2', '10.0.0.2');
const C3 = member('c3.example.org', 'c3', '10.0.0.3');
const ETCD: EtcdSnapshot = { members: [C1, C2, C3], localMemberId: 'a1' };
const OWN = [object('c1.example.org', 'a1', '10.0.0.1'), object('c2.example.org', 'b2', '10.0.0.2'), object('c3.example.org', 'c3', '10.0.0.3')];
const kube = (objects: EtcdMemberObject[]): KubernetesSnapshot => ({ crdPresent: true, objects });

function findings(r: Report): string[] {
  return [...r.objectFindings.map((f) => `${f.name}:${f.problem}`), ...r.memberFindings.map((f) => `${f.name}:${f.problem}`)];
}
function doc(r: Report, etcd: EtcdSnapshot | undefined, k: KubernetesSnapshot | undefined): StatusDocument {
  const now = new Date('2026-01-01T00:00:00Z');
  const up = (name: 'etcd' | 'kubernetes') => ({ name, attempted: true, up: true, lastSuccessMs: now.getTime() });
  return buildStatusDocument({ report: r, etcd, kubernetes: k, sources: [up('etcd'), up('kubernetes')], now, runbook: 'https://runbook' });
}
function message(d: StatusDocument, problem: string, name?: string): string {
  const f = d.findings.find((x) => x.problem === problem && (name === undefined || x.name === name));
  assert.ok(f, `no ${problem} finding in ${JSON.stringify(d.findings.map((x) => x.problem))}`);
  return f.message;
}

describe('k0s versions', () => {
  it('reads the k0s version from a kube-apiserver gitVersion, and only k0s builds', () => {
    assert.deepEqual(k0sVersionFromGitVersion('v1.31.3+k0s.0'), { gitVersion: 'v1.31.3+k0s.0', major: 1, minor: 31, patch: 3 });
    assert.deepEqual(k0sVersionFromGitVersion('v1.35.5-rc.0+k0s.0'), { gitVersion: 'v1.35.5-rc.0+k0s.0', major: 1, minor: 35, patch: 5 });
    assert.equal(k0sVersionFromGitVersion('v1.31.3+k0s')?.minor, 31);
    for (const other of ['v1.31.3', 'v1.31.3+k3s1', 'v1.31.3-eks-1234', 'v1.31', 'garbage', '']) assert.equal(k0sVersionFromGitVersion(other), undefined, other);
  });
  it('takes a version from the command line with or without the v and the build', () => {
    assert.equal(parseK0sVersion('1.35.5').patch, 5);
    assert.equal(parseK0sVersion('v1.35.5+k0s.0').gitVersion, 'v1.35.5+k0s.0');
    assert.throws(() => parseK0sVersion('1.35'), /"1.35" is not a k0s version; want e.g. v1.31.3\+k0s.0/);
  });

  // Each rule: the last version before its boundary and the first at it (a release candidate behaves as its release).
  const boundaries: [K0sRuleName, string[], string[]][] = [
    ['keepsEtcdMembers', ['v1.29.15+k0s.0'], ['v1.30.0+k0s.0', 'v1.30.14+k0s.0']],
    ['objectNamesLowercased', ['v1.33.13+k0s.1', 'v1.34.0-beta.0+k0s.0'], ['v1.34.1-rc.0+k0s.0', 'v1.34.1+k0s.0', 'v1.36.3+k0s.2']],
    ['leaveMatchesById', ['v1.34.10+k0s.0', 'v1.35.4+k0s.0'], ['v1.35.5-rc.0+k0s.0', 'v1.35.5+k0s.0', 'v1.36.1+k0s.0']],
    ['failedListSticks', ['v1.35.4+k0s.0'], ['v1.35.5+k0s.0', 'v1.35.7+k0s.0']],
    ['learnerJoin', ['v1.35.4+k0s.0'], ['v1.35.5+k0s.0', 'v1.36.3+k0s.0']],
    ['crdWithoutApplierManager', ['v1.35.7+k0s.0'], ['v1.36.1+k0s.0', 'v2.0.0+k0s.0']],
  ];
  for (const [rule, before, after] of boundaries) {
    it(`${rule} from ${K0S_RULES[rule].since.join('.')} (${K0S_RULES[rule].source.slice(0, 40)}...)`, () => {
      for (const b of before) assert.equal(k0sBehaviour(v(b))[rule], false, b);
      for (const a of after) assert.equal(k0sBehaviour(v(a))[rule], true, a);
      assert.equal(k0sBehaviour(undefined)[rule], undefined);
    });
  }
});

describe('behaviour 1, object names: an uppercase member name', () => {
  const etcd: EtcdSnapshot = { members: [C1, C2, member('Node3', 'c3', '10.0.0.3')], localMemberId: 'a1' };
  const objects = OWN.slice(0, 2);
  const table: [string | undefined, string][] = [
    ['v1.33.4+k0s.0', 'Node3:unregistrable'],
    ['v1.34.0-beta.0+k0s.0', 'Node3:unregistrable'],
    ['v1.34.1+k0s.0', 'Node3:unregistered'],
    [undefined, 'Node3:unregistered'],
  ];
  for (const [version, expected] of table) {
    it(`${version ?? 'unknown version'}: ${expected}`, () => {
      const r = analyse(etcd, kube(objects), host, version === undefined ? undefined : v(version));
      assert.deepEqual(findings(r), [expected]);
      assert.equal(r.unregisteredMembers, 1);
      const text = message(doc(r, etcd, kube(objects)), expected.split(':')[1]!);
      if (version === 'v1.34.1+k0s.0') assert.match(text, /^etcd member "Node3" \(c3\) has no EtcdMember object: restart k0s/);
      else if (version === undefined) assert.match(text, /restart k0s .*; but k0s before 1\.34\.1 names the object "Node3" unmodified.*k0s#6336/);
      else {
        assert.match(text, /can never register one: it names the object "Node3", which is no valid Kubernetes name/);
        assert.match(text, /restarting k0s cannot help: upgrade k0s to 1\.34\.1 or later.*or give that controller a lowercase name/);
        assert.doesNotMatch(text, /restart k0s on that controller/);
      }
    });
  }
  it('a name that is invalid even lowercased cannot be registered on any version', () => {
    const bad: EtcdSnapshot = { members: [C1, C2, member('node_3', 'c3', '10.0.0.3')], localMemberId: 'a1' };
    for (const version of [undefined, v('v1.31.3+k0s.0'), v('v1.36.3+k0s.0')]) {
      assert.deepEqual(findings(analyse(bad, kube(objects), host, version)), ['node_3:unregistrable']);
    }
  });
});

describe('behaviour 2, spec.leave on the k0s#5369 zombie (c1 carries the ID of live c1.example.org)', () => {
  const objects = [object('c1', 'a1', '10.0.0.1', { leave: true }), ...OWN];
  const table: [string | undefined, string[], RegExp, string | null][] = [
    ['v1.31.3+k0s.0', ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_ignored'], /k0s v1\.31\.3\+k0s\.0 looks the object up among etcd's members by its name, finds no member named c1 and removes nothing.*k0s 1\.35\.5 and later match a leave by member ID and remove live etcd member "c1\.example\.org".*before upgrading k0s/, 'kubectl delete etcdmember c1'],
    ['v1.35.4+k0s.0', ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_ignored'], /removes nothing/, 'kubectl delete etcdmember c1'],
    ['v1.35.5+k0s.0', ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_pending'], /k0s v1\.35\.5\+k0s\.0 matches a leave by member ID and removes that live member from etcd; deleting the stale c1 disarms it/, 'kubectl delete etcdmember c1'],
    [undefined, ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_pending'], /k0s 1\.35\.5 and later match a leave by member ID and remove that live member from etcd \(older k0s ignores this leave until it is upgraded\)/, 'kubectl delete etcdmember c1'],
  ];
  for (const [version, expected, advice, command] of table) {
    it(`${version ?? 'unknown version'}: ${expected.at(-1)}`, () => {
      const r = analyse(ETCD, kube(objects), host, version === undefined ? undefined : v(version));
      assert.deepEqual(findings(r), expected);
      const d = doc(r, ETCD, kube(objects));
      const f = d.findings.find((x) => x.problem === expected.at(-1)!.split(':')[1]);
      assert.match(f!.message, advice);
      assert.equal(f!.command, command);
      assert.doesNotMatch(f!.message, /k0s is removing it/);
      if (version?.startsWith('v1.3') && version < 'v1.35.5') assert.match(message(d, 'duplicate'), /which k0s v1\.3\d\.\d\+k0s\.0 ignores but k0s 1\.35\.5 and later carry out on the live member/);
    });
  }
  it('a leave on an object named exactly like its member is a removal in progress on every version', () => {
    const armed = [object('c1.example.org', 'a1', '10.0.0.1', { leave: true, message: 'Waiting for another controller to take over' }), ...OWN.slice(1)];
    for (const version of [undefined, v('v1.31.3+k0s.0'), v('v1.35.5+k0s.0')]) {
      const r = analyse(ETCD, kube(armed), host, version);
      assert.deepEqual(findings(r), ['c1.example.org:leave_pending']);
      assert.match(message(doc(r, ETCD, kube(armed)), 'leave_pending'), /k0s is removing it from etcd.*\(k0s says: "Waiting for another controller to take over"\)|k0s says: "Waiting for another controller to take over"\): k0s is removing it/);
    }
  });
  it('a leave on the only object of a renamed member: ignored before 1.35.5, carried out from it, both said while unknown', () => {
    const renamed = [object('c1', 'a1', '10.0.0.1', { leave: true }), ...OWN.slice(1)];
    assert.deepEqual(findings(analyse(ETCD, kube(renamed), host, v('v1.33.4+k0s.0'))), ['c1:hostname_drift', 'c1:leave_ignored']);
    const unknown = analyse(ETCD, kube(renamed), host);
    assert.deepEqual(findings(unknown), ['c1:hostname_drift', 'c1:leave_pending']);
    assert.match(message(doc(unknown, ETCD, kube(renamed)), 'leave_pending'), /k0s 1\.35\.5 and later remove that member.*older k0s finds no etcd member named c1, removes nothing, and removes it after an upgrade/);
  });
});

describe('behaviour 3, a Failed status k0s >= 1.35.5 leaves after one failed member list', () => {
  const listFailed = 'Failed to list etcd cluster members: etcd member list failed: context deadline exceeded';
  const table: [string, Partial<EtcdMemberObject>, string | undefined, string[]][] = [
    ['stale on a live member without leave', { reconcileStatus: 'Failed', message: listFailed }, 'v1.35.5+k0s.0', []],
    ['stale on a live member, version unknown (the message is only 1.35.5+)', { reconcileStatus: 'Failed', message: listFailed }, undefined, []],
    ['a leave still to act on: k0s rewrites it, so it is real', { reconcileStatus: 'Failed', message: listFailed, leave: true }, 'v1.35.5+k0s.0', ['c2.example.org:leave_pending', 'c2.example.org:reconcile_failed']],
    ['another Failed on 1.35.5', { reconcileStatus: 'Failed', message: 'Failed to delete member from cluster: etcdserver: unhealthy cluster', leave: true }, 'v1.35.5+k0s.0', ['c2.example.org:leave_pending', 'c2.example.org:reconcile_failed']],
    ['a Failed on 1.31 (a leave etcd refused)', { reconcileStatus: 'Failed', message: 'context deadline exceeded', leave: true }, 'v1.31.3+k0s.0', ['c2.example.org:leave_pending', 'c2.example.org:reconcile_failed']],
    // Before 1.35.5 no Failed sticks: one there is real, whatever its message says.
    ['the same message on 1.35.4', { reconcileStatus: 'Failed', message: listFailed }, 'v1.35.4+k0s.0', ['c2.example.org:reconcile_failed']],
    ['stale on a leave done (its member gone: nothing left for k0s to do)', { memberId: 'ff', reconcileStatus: 'Failed', message: listFailed, leave: true }, 'v1.35.5+k0s.0', ['c2.example.org:left', 'c2.example.org:unregistered']],
  ];
  for (const [what, status, version, expected] of table) {
    it(`${what}: ${expected.join(', ') || 'no finding'}`, () => {
      const objects = [OWN[0]!, object('c2.example.org', 'b2', '10.0.0.2', status), OWN[2]!];
      assert.deepEqual(findings(analyse(ETCD, kube(objects), host, version === undefined ? undefined : v(version))), expected);
    });
  }
  it('a leave still to act on while etcd is down: whether its member is gone cannot be told, so it is real', () => {
    const objects = [object('c2.example.org', 'b2', '10.0.0.2', { reconcileStatus: 'Failed', message: listFailed, leave: true })];
    assert.deepEqual(findings(analyse(undefined, kube(objects), host, v('v1.35.5+k0s.0'))), ['c2.example.org:reconcile_failed']);
  });
  it('says what k0s wrote', () => {
    const objects = [OWN[0]!, object('c2.example.org', 'b2', '10.0.0.2', { reconcileStatus: 'Failed', message: 'context deadline exceeded', leave: true }), OWN[2]!];
    const r = analyse(ETCD, kube(objects), host, v('v1.31.3+k0s.0'));
    assert.match(message(doc(r, ETCD, kube(objects)), 'reconcile_failed'), /status\.reconcileStatus Failed \(k0s says: "context deadline exceeded"\)/);
  });
});

describe('behaviour 4, a started learner without an object', () => {
  const etcd: EtcdSnapshot = { members: [C1, C2, member('c3.example.org', 'c3', '10.0.0.3', { isLearner: true })], localMemberId: 'a1' };
  const table: [string | undefined, string[]][] = [
    ['v1.35.4+k0s.0', ['c3.example.org:learner', 'c3.example.org:unregistered']],
    ['v1.35.5+k0s.0', ['c3.example.org:learner']],
    [undefined, ['c3.example.org:learner']],
  ];
  for (const [version, expected] of table) {
    it(`${version ?? 'unknown version'}: ${expected.join(', ')}`, () => {
      const r = analyse(etcd, kube(OWN.slice(0, 2)), host, version === undefined ? undefined : v(version));
      assert.deepEqual(findings(r).sort(), expected);
      assert.equal(r.unregisteredMembers, expected.length - 1);
      const text = message(doc(r, etcd, kube(OWN.slice(0, 2))), 'learner');
      if (version === 'v1.35.4+k0s.0') assert.match(text, /k0s v1\.35\.4\+k0s\.0 adds no learners: someone added it/);
      else assert.match(text, /a join in progress/);
    });
  }
});

describe('behaviour 5, `k0s etcd leave` (the CLI) removes the member and leaves the object as it was', () => {
  const etcd: EtcdSnapshot = { members: [C1, C2], localMemberId: 'a1' };
  for (const version of [undefined, v('v1.31.3+k0s.0'), v('v1.35.5+k0s.0')]) {
    it(`${version?.gitVersion ?? 'unknown version'}: orphaned, not left`, () => {
      // From 1.35.5 k0s marks the object Joined=False "No such member ID"; spec.leave stays false.
      const objects = [OWN[0]!, OWN[1]!, object('c3.example.org', 'c3', '10.0.0.3', version?.minor === 35 ? { joined: 'False', message: 'No such member ID', reconcileStatus: 'Success' } : {})];
      const r = analyse(etcd, kube(objects), host, version);
      assert.deepEqual(findings(r), ['c3.example.org:orphaned']);
      assert.match(message(doc(r, etcd, kube(objects)), 'orphaned'), /`k0s etcd leave` and etcdctl leave the object as it was/);
    });
  }
});

describe('behaviour 9, the CRD absent while etcd answers', () => {
  const table: [string | undefined, RegExp][] = [
    ['v1.29.15+k0s.0', /k0s v1\.29\.15\+k0s\.0 keeps no EtcdMember objects \(they came with k0s 1\.30\.0\)/],
    ['v1.33.4+k0s.0', /installs the CRD through its applier-manager, so a controller started with --disable-components applier-manager leaves it out; if it was deleted, every EtcdMember object went with it \(k0s#8103\)/],
    ['v1.36.1+k0s.0', /k0s v1\.36\.1\+k0s\.0 applies the CRD itself.*k0s#8103/],
    [undefined, /k0s before 1\.30\.0 keeps no objects, and k0s before 1\.36\.1 installs the CRD only through its applier-manager/],
  ];
  for (const [version, advice] of table) {
    it(`${version ?? 'unknown version'}: not consistent, one crd_absent finding`, () => {
      const r = analyse(ETCD, { crdPresent: false }, host, version === undefined ? undefined : v(version));
      assert.equal(r.crdAbsent, true);
      const d = doc(r, ETCD, { crdPresent: false });
      assert.equal(d.consistent, false);
      assert.deepEqual(d.findings.map((f) => [f.subject, f.problem, f.command]), [['cluster', 'crd_absent', 'kubectl get crd etcdmembers.etcd.k0sproject.io']]);
      assert.match(message(d, 'crd_absent'), advice);
    });
  }
  it('is not judged while etcd cannot be read', () => {
    assert.equal(analyse(undefined, { crdPresent: false }, host).crdAbsent, undefined);
    assert.equal(analyse(ETCD, kube(OWN), host).crdAbsent, false);
  });
});

// The incidents in k0sproject/k0s, each as the exporter would have seen it, with the findings per version.
describe('incidents', () => {
  const V = { '1.29': v('v1.29.15+k0s.0'), '1.31': v('v1.31.3+k0s.0'), '1.33': v('v1.33.4+k0s.0'), '1.34.1': v('v1.34.1+k0s.0'), '1.35.4': v('v1.35.4+k0s.0'), '1.35.5': v('v1.35.5+k0s.0') };
  const each = (versions: (keyof typeof V)[], etcd: EtcdSnapshot | undefined, k: KubernetesSnapshot | undefined, expected: Partial<Record<keyof typeof V, string[]>>, h = host): void => {
    for (const name of versions) {
      const r = analyse(etcd, k, h, V[name]);
      const got = [...findings(r), ...(r.crdAbsent ? ['crd_absent'] : [])];
      assert.deepEqual(got, expected[name], name);
    }
  };

  it('k0s#5369 (1.31.3): zombie c1; a leave on it is ignored on 1.31 and removes c1.example.org on 1.35.5', () => {
    each(['1.31', '1.35.5'], ETCD, kube([object('c1', 'a1', '10.0.0.1'), ...OWN]), { '1.31': ['c1:duplicate', 'c1:hostname_drift'], '1.35.5': ['c1:duplicate', 'c1:hostname_drift'] });
    each(['1.31', '1.35.4', '1.35.5'], ETCD, kube([object('c1', 'a1', '10.0.0.1', { leave: true, joined: 'False' }), ...OWN]), {
      '1.31': ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_ignored'],
      '1.35.4': ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_ignored'],
      '1.35.5': ['c1:duplicate', 'c1:hostname_drift', 'c1:leave_pending'],
    });
  });
  it('k0s#6336 (1.33.4): uppercase hostname, never registered; registered from 1.34.1', () => {
    const etcd: EtcdSnapshot = { members: [member('K0S-CTRL-1', 'a1', '10.0.0.1')], localMemberId: 'a1' };
    each(['1.33', '1.34.1'], etcd, kube([]), { '1.33': ['K0S-CTRL-1:unregistrable'], '1.34.1': ['K0S-CTRL-1:unregistered'] });
    each(['1.34.1'], etcd, kube([object('k0s-ctrl-1', 'a1', '10.0.0.1')]), { '1.34.1': [] });
  });
  it('k0s#5161: the leading controller asked to leave; pending, then left', () => {
    const armed = [object('c1.example.org', 'a1', '10.0.0.1', { leave: true }), ...OWN.slice(1)];
    each(['1.31', '1.35.5'], ETCD, kube(armed), { '1.31': ['c1.example.org:leave_pending'], '1.35.5': ['c1.example.org:leave_pending'] });
    const gone: EtcdSnapshot = { members: [C2, C3], localMemberId: 'b2' };
    each(['1.31', '1.35.5'], gone, kube([object('c1.example.org', 'a1', '10.0.0.1', { leave: true, joined: 'False' }), ...OWN.slice(1)]), { '1.31': ['c1.example.org:left'], '1.35.5': ['c1.example.org:left'] });
  });
  it('k0s#8103: CRD gone while etcd answers; then recreated with every object missing', () => {
    each(['1.29', '1.33', '1.35.5'], ETCD, { crdPresent: false }, { '1.29': ['crd_absent'], '1.33': ['crd_absent'], '1.35.5': ['crd_absent'] });
    const all = ['c1.example.org:unregistered', 'c2.example.org:unregistered', 'c3.example.org:unregistered'];
    each(['1.33', '1.35.5'], ETCD, kube([]), { '1.33': all, '1.35.5': all });
  });
  it('k0s#8141: a leave interrupted by a restart: k0s reset spec.leave to false, the member stays: nothing to report', () => {
    each(['1.31', '1.35.5'], ETCD, kube(OWN), { '1.31': [], '1.35.5': [] });
  });
  it('k0s#7628 (1.35.4): peerAddress pinned to a wrong address', () => {
    const objects = [object('c1.example.org', 'a1', '10.0.0.99'), ...OWN.slice(1)];
    each(['1.35.4', '1.35.5'], ETCD, kube(objects), { '1.35.4': ['c1.example.org:peer_address_mismatch'], '1.35.5': ['c1.example.org:peer_address_mismatch'] });
    // This controller's k0s would start etcd on 10.0.0.99: the local prediction says so before the restart.
    const r = analyse(ETCD, kube(objects), { ...host, predictedPeerAddress: '10.0.0.99' }, V['1.35.4']);
    assert.equal(r.local?.peerAddressDrift, true);
  });
  it('k0s#4664 (1.30.2): a keepalived VIP chosen as peer address; a k0s that skips secondary addresses would move it', () => {
    const vip: EtcdSnapshot = { members: [member('c1.example.org', 'a1', '10.0.0.100'), C2, C3], localMemberId: 'a1' };
    const objects = [object('c1.example.org', 'a1', '10.0.0.100'), ...OWN.slice(1)];
    const r = analyse(vip, kube(objects), { ...host, predictedPeerAddress: '10.0.0.1' }, V['1.34.1']);
    assert.deepEqual(findings(r), []);
    assert.equal(r.local?.peerAddressDrift, true);
  });
  it('k0s#7876: restored onto a new IP with peerAddress pinned: config, prediction and etcd agree, so no membership finding (the address missing on the host is a local figure)', () => {
    const r = analyse(ETCD, kube(OWN), { ...host, predictedPeerAddress: '10.0.0.1' }, V['1.35.5']);
    assert.deepEqual(findings(r), []);
    assert.equal(r.local?.peerAddressDrift, false);
  });
  it('k0s#7644: etcd restored: every object carries an old ID', () => {
    const restored: EtcdSnapshot = { members: [member('c1.example.org', 'd1', '10.0.0.1')], localMemberId: 'd1' };
    const stale = (extra: Partial<EtcdMemberObject>) => OWN.map((o) => ({ ...o, ...extra }));
    const expected = ['c1.example.org:orphaned', 'c2.example.org:orphaned', 'c3.example.org:orphaned', 'c1.example.org:unregistered'];
    each(['1.35.4'], restored, kube(stale({})), { '1.35.4': expected });
    // 1.35.5 marks them Joined=False "No such member ID": still orphaned.
    each(['1.35.5'], restored, kube(stale({ joined: 'False', message: 'No such member ID', reconcileStatus: 'Success' })), { '1.35.5': expected });
  });
});

describe('k0s versions: the strings k0s and others report, and the order of releases', () => {
  // kube-apiserver's /version gitVersion: k0s builds it with KUBE_GIT_VERSION="v$VERSION+k0s"
  // (embedded-bins/kubernetes/Dockerfile at v1.33.4+k0s.0); other distributions add their own build or none.
  const gitVersions: [string, string | undefined][] = [
    ['v1.33.4+k0s', '1.33.4'],
    ['v1.30.14+k0s', '1.30.14'],
    ['v1.36.0-rc.1+k0s', '1.36.0'],
    ['v1.36.3+k0s.2', '1.36.3'],
    ['v1.31.2', undefined],
    ['v1.31.3+k3s1', undefined],
    ['v1.31.3+rke2r1', undefined],
    ['v1.30.5-gke.1014001', undefined],
    ['v1.31.3+k0sx', undefined],
    ['xv1.31.3+k0s', undefined],
    ['v1.31.3+k0s and more', undefined],
    ['v01.31.3+k0s', undefined],
    ['k0s', undefined],
  ];
  for (const [gitVersion, want] of gitVersions) {
    it(`/version ${JSON.stringify(gitVersion)}: ${want === undefined ? 'not k0s' : `k0s ${want}`}`, () => {
      const got = k0sVersionFromGitVersion(gitVersion);
      assert.deepEqual(got && { gitVersion: got.gitVersion, version: `${got.major}.${got.minor}.${got.patch}` }, want && { gitVersion, version: want });
    });
  }
  it('--k0s.version: spaces around are dropped, anything else around the version is refused', () => {
    assert.equal(parseK0sVersion(' v1.35.5+k0s.0\n').gitVersion, 'v1.35.5+k0s.0');
    for (const bad of ['k0s v1.35.5', 'v1.35.5+k0s.0 v1.36.1', 'v1.35.5.1']) {
      assert.throws(() => parseK0sVersion(bad), (err: Error) => err.message.startsWith(`"${bad}" is not a k0s version; want e.g. v1.31.3+k0s.0`), bad);
    }
  });
  it('an early k0s (v0.9.1) has none of the behaviours; releases far ahead (v1.100.0, v10.0.0) have all', () => {
    const rules = Object.keys(K0S_RULES) as K0sRuleName[];
    const early = k0sBehaviour(v('v0.9.1'));
    assert.deepEqual(rules.filter((r) => early[r] !== false), []);
    for (const later of ['v1.100.0+k0s.0', 'v10.0.0+k0s.0']) {
      const b = k0sBehaviour(v(later));
      assert.deepEqual(rules.filter((r) => b[r] !== true), [], later);
    }
  });
  it("a Failed another k0s wrote on a live member without leave is reported on 1.35.5: only k0s's list failure sticks", () => {
    // Written by 1.31 when etcd refused a leave, spec.leave unset since; k0s 1.35.5 clears it only while acting on a leave.
    const objects = [OWN[0]!, object('c2.example.org', 'b2', '10.0.0.2', { reconcileStatus: 'Failed', message: 'context deadline exceeded' }), OWN[2]!];
    assert.deepEqual(findings(analyse(ETCD, kube(objects), host, v('v1.35.5+k0s.0'))), ['c2.example.org:reconcile_failed']);
  });
});
