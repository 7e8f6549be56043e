import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyse, hostOfURL, isObjectName, normaliseHost, type Report } from '../src/analysis.js';
import { K0S_FIXTURES } from '../testbed/paths.js';
import { memberIdFromDecimal, normaliseHexMemberId, type EtcdMember, type EtcdMemberObject, type EtcdSnapshot } from '../src/model.js';

const host = { registrationName: 'c1.example.org' };

function member(name: string, id: string, ip: string, extra: Partial<EtcdMember> = {}): EtcdMember {
  return { id, name, peerURLs: [`https://${ip}:2380`], clientURLs: name === '' ? [] : [`https://${ip}:2379`], isLearner: false, ...extra };
}

function object(name: string, memberId: string | undefined, peerAddress: string | undefined, extra: Partial<EtcdMemberObject> = {}): EtcdMemberObject {
  return { name, memberId, invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: undefined, ...extra };
}

const ETCD: EtcdSnapshot = {
  members: [
    member('c1.example.org', 'a1', '10.0.0.1'),
    member('c2.example.org', 'b2', '10.0.0.2'),
    member('c3.example.org', 'c3', '10.0.0.3'),
  ],
  localMemberId: 'a1',
};

function problems(r: Report): string[] {
  return r.objectFindings.map((f) => `${f.name}:${f.problem}`);
}

/** The fixture from k0s#5369, as `kubectl get etcdmember` printed it; placeholder IDs mapped to hex. */
function issue5369Objects(): EtcdMemberObject[] {
  const ids: Record<string, string> = { c1id: 'a1', c2id: 'b2', c3id: 'c3' };
  const text = readFileSync(join(K0S_FIXTURES, 'issue-5369.txt'), 'utf8');
  const rows = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('NAME'));
  return rows.map((row) => {
    const [name, peer, id, joined] = row.trim().split(/\s+/);
    assert.equal(joined, 'True');
    return object(name!, ids[id!], peer);
  });
}

describe('k0s#5369: a hostname changed and changed back', () => {
  const r = analyse(ETCD, { crdPresent: true, objects: issue5369Objects() }, host);

  it('counts members per source', () => {
    assert.equal(r.etcdMembers, 3);
    assert.equal(r.kubernetesMembers, 4);
  });
  it('finds one surplus object and flags only c1 for deletion', () => {
    assert.equal(r.duplicates, 1);
    assert.deepEqual(
      r.objectFindings.filter((f) => f.problem === 'duplicate'),
      [{ name: 'c1', memberId: 'a1', problem: 'duplicate' }],
    );
  });
  it('reports c1 as drifted from its member name and nothing else', () => {
    assert.equal(r.hostnameDrift, 1);
    assert.deepEqual(problems(r), ['c1:duplicate', 'c1:hostname_drift']);
    assert.equal(r.orphanedObjects, 0);
    assert.equal(r.leftObjects, 0);
    assert.equal(r.unregisteredMembers, 0);
    assert.equal(r.peerAddressMismatches, 0);
  });
  it('works the other way round: member c1, stale object c1.example.org', () => {
    const etcd = { ...ETCD, members: [member('c1', 'a1', '10.0.0.1'), ...ETCD.members.slice(1)] };
    const r2 = analyse(etcd, { crdPresent: true, objects: issue5369Objects() }, host);
    assert.deepEqual(problems(r2), ['c1.example.org:duplicate', 'c1.example.org:hostname_drift']);
  });
});

describe('duplicates', () => {
  const objects = [object('c1', 'a1', '10.0.0.1'), object('c1.example.org', 'a1', '10.0.0.1')];
  const ambiguous = (r: Report): string[] => r.objectFindings.filter((f) => f.problem.endsWith('duplicate')).map((f) => `${f.name}:${f.problem}`);
  it('calls every object of the group ambiguous when etcd is down, none duplicate, and still counts them', () => {
    const r = analyse(undefined, { crdPresent: true, objects }, host);
    assert.equal(r.duplicates, 1);
    assert.deepEqual(problems(r), ['c1:ambiguous_duplicate', 'c1.example.org:ambiguous_duplicate']);
    assert.equal(r.hostnameDrift, undefined, 'drift needs etcd');
  });
  it('calls the group ambiguous when no object is named after the member', () => {
    const r = analyse(ETCD, { crdPresent: true, objects: [object('x', 'a1', '10.0.0.1'), object('y', 'a1', '10.0.0.1')] }, host);
    assert.deepEqual(ambiguous(r), ['x:ambiguous_duplicate', 'y:ambiguous_duplicate']);
    assert.equal(r.duplicates, 1);
  });
  it('calls the group ambiguous when its member is unstarted (no name to match yet)', () => {
    const etcd = { ...ETCD, members: [...ETCD.members, member('', 'd4', '10.0.0.4')] };
    const r = analyse(etcd, { crdPresent: true, objects: [object('c4', 'd4', '10.0.0.4'), object('c4.example.org', 'd4', '10.0.0.4')] }, host);
    assert.deepEqual(ambiguous(r), ['c4:ambiguous_duplicate', 'c4.example.org:ambiguous_duplicate']);
  });
  it('calls the group ambiguous when etcd does not know its member, beside orphaned', () => {
    const r = analyse(ETCD, { crdPresent: true, objects: [object('c4', 'dead', '10.0.0.4'), object('c4.example.org', 'dead', '10.0.0.4')] }, host);
    assert.deepEqual(problems(r), ['c4:ambiguous_duplicate', 'c4:orphaned', 'c4.example.org:ambiguous_duplicate', 'c4.example.org:orphaned']);
  });
  it('never gives one object both duplicate and ambiguous_duplicate', () => {
    for (const e of [undefined, ETCD]) {
      const r = analyse(e, { crdPresent: true, objects: issue5369Objects() }, host);
      const names = r.objectFindings.filter((f) => f.problem === 'duplicate').map((f) => f.name);
      assert.deepEqual(r.objectFindings.filter((f) => f.problem === 'ambiguous_duplicate' && names.includes(f.name)), []);
    }
  });
  it('sums surplus objects over groups', () => {
    const r = analyse(ETCD, {
      crdPresent: true,
      objects: [object('a', 'a1', '10.0.0.1'), object('b', 'a1', '10.0.0.1'), object('c', 'a1', '10.0.0.1'), object('d', 'b2', '10.0.0.2'), object('e', 'b2', '10.0.0.2')],
    }, host);
    assert.equal(r.duplicates, 3);
  });
  it('matches names case-insensitively against the etcd member name', () => {
    const etcd = { ...ETCD, members: [member('C1.Example.ORG ', 'a1', '10.0.0.1')] };
    const r = analyse(etcd, { crdPresent: true, objects }, host);
    assert.deepEqual(problems(r), ['c1:duplicate', 'c1:hostname_drift']);
  });
  it('treats zero-padded and upper-case IDs as the same member', () => {
    assert.equal(normaliseHexMemberId('00A1'), 'a1');
    assert.equal(normaliseHexMemberId('xyz'), undefined);
  });
});

describe('findings that need both sources', () => {
  it('orphaned: the object names a member etcd does not have', () => {
    const r = analyse(ETCD, { crdPresent: true, objects: [object('c4', 'dead', '10.0.0.4')] }, host);
    assert.equal(r.orphanedObjects, 1);
    assert.deepEqual(problems(r), ['c4:orphaned']);
  });
  it('unregistered: a started member that no object claims; an unstarted one is not', () => {
    const etcd = { ...ETCD, members: [...ETCD.members, member('', 'd4', '10.0.0.4')] };
    const r = analyse(etcd, { crdPresent: true, objects: [object('c1.example.org', 'a1', '10.0.0.1')] }, host);
    assert.equal(r.unregisteredMembers, 2);
    assert.deepEqual(
      r.memberFindings.map((f) => `${f.name}:${f.problem}`),
      [':unstarted', 'c2.example.org:unregistered', 'c3.example.org:unregistered'],
    );
    assert.equal(r.unstartedMembers, 1);
  });
  it('peer_address_mismatch: status.peerAddress differs from the first peer URL host', () => {
    const r = analyse(ETCD, { crdPresent: true, objects: [object('c1.example.org', 'a1', '10.0.0.9')] }, host);
    assert.equal(r.peerAddressMismatches, 1);
    assert.deepEqual(problems(r), ['c1.example.org:peer_address_mismatch']);
  });
  it('compares IPv6 peers without brackets and in canonical form', () => {
    const etcd = { members: [member('c1', 'a1', '[fd00:0::1]')], localMemberId: undefined };
    const same = analyse(etcd, { crdPresent: true, objects: [object('c1', 'a1', 'FD00::1')] }, host);
    assert.equal(same.peerAddressMismatches, 0);
    assert.equal(same.etcdMemberInfo[0]?.peerAddress, 'fd00::1');
    const other = analyse(etcd, { crdPresent: true, objects: [object('c1', 'a1', 'fd00::2')] }, host);
    assert.equal(other.peerAddressMismatches, 1);
    assert.equal(normaliseHost('[2001:DB8::0:1]'), '2001:db8::1');
  });
  it('leave_pending: spec.leave is set and etcd still has the member', () => {
    const r = analyse(ETCD, { crdPresent: true, objects: [object('c1.example.org', 'a1', '10.0.0.1', { leave: true })] }, host);
    assert.deepEqual(problems(r), ['c1.example.org:leave_pending']);
  });
  it('left: spec.leave is set and etcd no longer lists the member; not orphaned, counted apart', () => {
    const r = analyse(ETCD, { crdPresent: true, objects: [object('c9', 'ff', '10.0.0.9', { leave: true }), object('c8', 'ee', '10.0.0.8')] }, host);
    assert.deepEqual(problems(r), ['c8:orphaned', 'c9:left']);
    assert.equal(r.leftObjects, 1);
    assert.equal(r.orphanedObjects, 1, 'the left object is not in the orphaned figure');
  });
  it('left needs etcd: with etcd down a leaving object is neither left nor orphaned', () => {
    const r = analyse(undefined, { crdPresent: true, objects: [object('c9', 'ff', '10.0.0.9', { leave: true })] }, host);
    assert.deepEqual(problems(r), []);
    assert.equal(r.leftObjects, undefined);
  });
  it('a planned replacement: the left object of the old member, the new member with its own object, nothing else', () => {
    const etcd = { ...ETCD, members: [ETCD.members[0]!, ETCD.members[1]!, member('c4.example.org', 'd4', '10.0.0.4')] };
    const objects = [
      object('c1.example.org', 'a1', '10.0.0.1'),
      object('c2.example.org', 'b2', '10.0.0.2'),
      object('c3.example.org', 'c3', '10.0.0.3', { leave: true }),
      object('c4.example.org', 'd4', '10.0.0.4'),
    ];
    const r = analyse(etcd, { crdPresent: true, objects }, host);
    assert.deepEqual(problems(r), ['c3.example.org:left']);
    assert.deepEqual(r.memberFindings, []);
    assert.equal(r.orphanedObjects, 0);
  });
  it('exports none of them while etcd is down, and no etcd figures either', () => {
    const r = analyse(undefined, { crdPresent: true, objects: issue5369Objects() }, host);
    assert.equal(r.kubernetesMembers, 4);
    assert.equal(r.duplicates, 1);
    for (const v of [r.etcdMembers, r.hostnameDrift, r.orphanedObjects, r.leftObjects, r.unregisteredMembers, r.peerAddressMismatches, r.learners, r.local]) {
      assert.equal(v, undefined);
    }
  });
  it('exports only etcd figures while Kubernetes is down', () => {
    const r = analyse(ETCD, undefined, host);
    assert.equal(r.etcdMembers, 3);
    assert.equal(r.kubernetesMembers, undefined);
    assert.equal(r.duplicates, undefined);
    assert.equal(r.crdPresent, undefined);
    assert.equal(r.unregisteredMembers, undefined);
    assert.deepEqual(r.objectFindings, []);
  });
  it('exports no Kubernetes figures when the CRD is absent (kine, external etcd)', () => {
    const r = analyse(ETCD, { crdPresent: false }, host);
    assert.equal(r.crdPresent, false);
    assert.equal(r.kubernetesMembers, undefined);
    assert.equal(r.duplicates, undefined);
    assert.equal(r.unregisteredMembers, undefined, 'no object can claim a member without the CRD: not a finding');
    assert.deepEqual(r.memberFindings, []);
  });
});

describe('members without a name or a peer URL yet', () => {
  it('an object that claims an unstarted member has not drifted from its name: there is none yet', () => {
    const etcd = { ...ETCD, members: [...ETCD.members, member('', 'd4', '10.0.0.4')] };
    const r = analyse(etcd, { crdPresent: true, objects: [object('c4', 'd4', '10.0.0.4')] }, host);
    assert.deepEqual(problems(r), []);
    assert.equal(r.hostnameDrift, 0);
  });
  it('a member without a peer URL: no peer address to compare, and an empty one in the info', () => {
    const etcd = { members: [member('c1', 'a1', '10.0.0.1', { peerURLs: [] })], localMemberId: 'a1' };
    const r = analyse(etcd, { crdPresent: true, objects: [object('c1', 'a1', '10.0.0.9')] }, { ...host, predictedPeerAddress: '10.0.0.1' });
    assert.equal(r.peerAddressMismatches, 0);
    assert.deepEqual(r.etcdMemberInfo, [{ name: 'c1', memberId: 'a1', peerAddress: '' }]);
    assert.equal(r.local?.peerAddressDrift, undefined, 'nothing to drift from');
    assert.equal(r.local?.predictedPeerAddress, '10.0.0.1');
  });
});

describe('the member and object info, as the status page lists them', () => {
  it('sorted by name, whatever order etcd and the API gave; empty strings for what an object lacks', () => {
    const etcd = { members: [ETCD.members[2]!, ETCD.members[0]!, ETCD.members[1]!], localMemberId: undefined };
    const r = analyse(etcd, { crdPresent: true, objects: [object('new', undefined, undefined), object('c2.example.org', 'b2', '10.0.0.2'), object('a', 'a1', '10.0.0.1')] }, host);
    assert.deepEqual(r.etcdMemberInfo.map((i) => i.name), ['c1.example.org', 'c2.example.org', 'c3.example.org']);
    assert.deepEqual(r.objectInfo, [
      { name: 'a', memberId: 'a1', peerAddress: '10.0.0.1' },
      { name: 'c2.example.org', memberId: 'b2', peerAddress: '10.0.0.2' },
      { name: 'new', memberId: '', peerAddress: '' },
    ]);
  });
});

describe('findings on objects alone', () => {
  it('reconcile_failed, no_status and invalid_member_id', () => {
    const r = analyse(ETCD, {
      crdPresent: true,
      objects: [
        object('c1.example.org', 'a1', '10.0.0.1', { reconcileStatus: 'Failed' }),
        object('new', undefined, undefined),
        object('bad', undefined, '10.0.0.5', { invalidMemberId: 'not-hex' }),
      ],
    }, host);
    assert.deepEqual(problems(r), ['bad:invalid_member_id', 'c1.example.org:reconcile_failed', 'new:no_status']);
    assert.equal(r.objectFindings.find((f) => f.name === 'bad')?.memberId, 'not-hex');
    assert.equal(r.orphanedObjects, 0, 'an object without a usable ID is not counted as orphaned');
  });
});

describe('etcd member findings', () => {
  it('counts learners and unstarted members', () => {
    const etcd = { ...ETCD, members: [...ETCD.members, member('c4', 'd4', '10.0.0.4', { isLearner: true }), member('', 'e5', '10.0.0.5')] };
    const r = analyse(etcd, undefined, host);
    assert.equal(r.learners, 1);
    assert.equal(r.unstartedMembers, 1);
    assert.deepEqual(r.memberFindings.map((f) => `${f.name}:${f.memberId}:${f.problem}`), [':e5:unstarted', 'c4:d4:learner']);
  });
});

describe('local name drift: predicting k0s#5369 before the restart', () => {
  it('is 0 when the host registers its member name', () => {
    const r = analyse(ETCD, undefined, { registrationName: 'c1.example.org' });
    assert.deepEqual(r.local, {
      memberName: 'c1.example.org', memberId: 'a1', registrationName: 'c1.example.org', nameDrift: false,
      predictedPeerAddress: undefined, peerAddressDrift: undefined,
    });
  });
  it('is 1 when the hostname changed since the member joined', () => {
    const r = analyse(ETCD, undefined, { registrationName: 'c1' });
    assert.equal(r.local?.nameDrift, true);
  });
  it('ignores case and surrounding space in the member name, as k0s does', () => {
    const etcd = { ...ETCD, members: [member(' C1.Example.org', 'a1', '10.0.0.1')] };
    assert.equal(analyse(etcd, undefined, host).local?.nameDrift, false);
  });
  it('is unknown when the name k0s will register is unknown (k0s.yaml unreadable), and told when it is known', () => {
    assert.equal(analyse(ETCD, undefined, { registrationName: 'c1', registrationNameKnown: false }).local?.nameDrift, undefined);
    assert.equal(analyse(ETCD, undefined, { registrationName: 'c1', registrationNameKnown: true }).local?.nameDrift, true);
    assert.equal(analyse(ETCD, undefined, { registrationName: 'c1.example.org', registrationNameKnown: true }).local?.nameDrift, false);
  });
  it('is 0 while the local member is unstarted: it has no name to drift from', () => {
    const etcd = { members: [member('', 'a1', '10.0.0.1')], localMemberId: 'a1' };
    assert.equal(analyse(etcd, undefined, host).local?.nameDrift, false);
  });
  it('is unknown when the local member did not answer', () => {
    assert.equal(analyse({ ...ETCD, localMemberId: undefined }, undefined, host).local, undefined);
  });
});

describe('peer URL hosts and addresses, normalised to compare', () => {
  it('hostOfURL takes IPv6 zones apart by hand (WHATWG URL refuses them), and nothing that is not a URL', () => {
    const cases: [string, string | undefined][] = [
      ['https://10.0.0.1:2380', '10.0.0.1'],
      ['https://[fe80::1%25eth0]:2380', 'fe80::1%eth0'],
      ['https://[FE80::0:1%25eth0]', 'fe80::1%eth0'],
      ['https://[fe80::1%25eth0]/path', 'fe80::1%eth0'],
      ['https://[fe80::1%25eth0]:2380/metrics', 'fe80::1%eth0'],
      ['https://user:pw@[fe80::1%25eth0]:2380', 'fe80::1%eth0'],
      ['1https://[fe80::1%25eth0]:2380', undefined],
      ['https://[fe80::1%25eth0]:2380x', undefined],
      ['https://[fe80::1%25%zz]:2380', undefined],
      ['', undefined],
    ];
    for (const [url, want] of cases) assert.equal(hostOfURL(url), want, url);
  });
  it('normaliseHost: trimmed, lowercased, IPv6 canonical with its zone kept as written; what is no address kept as written', () => {
    const cases: [string, string][] = [
      [' 10.0.0.1 ', '10.0.0.1'],
      ['C1.Example.ORG', 'c1.example.org'],
      ['[FD00:0::1]', 'fd00::1'],
      ['FE80::1%Eth0', 'fe80::1%Eth0'],
      ['fe80::zz', 'fe80::zz'],
      ['C1%Eth0', 'c1%eth0'],
      ['x[::1]', 'x[::1]'],
      ['[::1]x', '[::1]x'],
      ['%Eth0:1', '%Eth0:1'],
    ];
    for (const [h, want] of cases) assert.equal(normaliseHost(h), want, h);
  });
});

describe('member IDs', () => {
  it('converts etcd3 decimal uint64 IDs to EtcdMember hex without losing precision', () => {
    assert.equal(memberIdFromDecimal('18446744073709551615'), 'ffffffffffffffff');
    assert.equal(memberIdFromDecimal('10276657743932975437'), '8e9e05c52164694d');
    assert.throws(() => memberIdFromDecimal('18446744073709551616'), /uint64/);
    assert.throws(() => memberIdFromDecimal('-1'), /decimal/);
  });
});

describe('a duplicate group whose stale candidate is named after another live member', () => {
  // etcd c1/a, c2/b, c3/c; objects c1(a), c2(a), x(b): c2 is not c1's, but it is named after live member c2,
  // whose own object it may well be (carrying a wrong ID). Nothing proves it stale.
  const etcd: EtcdSnapshot = { members: [member('c1', 'a', '10.0.0.1'), member('c2', 'b', '10.0.0.2'), member('c3', 'c', '10.0.0.3')], localMemberId: 'a' };
  const r = analyse(etcd, { crdPresent: true, objects: [object('c1', 'a', '10.0.0.1'), object('c2', 'a', '10.0.0.2'), object('x', 'b', '10.0.0.2')] }, host);
  it('calls the whole group ambiguous, not c2 a duplicate', () => {
    assert.deepEqual(
      r.objectFindings.filter((f) => f.memberId === 'a').map((f) => `${f.name}:${f.problem}`),
      ['c1:ambiguous_duplicate', 'c2:ambiguous_duplicate', 'c2:hostname_drift', 'c2:peer_address_mismatch'],
    );
    assert.equal(r.duplicates, 1, 'the group still holds one surplus object');
  });
  it('stays ambiguous when another candidate of the group is named after no member', () => {
    const r3 = analyse(etcd, { crdPresent: true, objects: [object('c1', 'a', '10.0.0.1'), object('c2', 'a', '10.0.0.1'), object('x', 'a', '10.0.0.1')] }, host);
    assert.deepEqual(
      r3.objectFindings.filter((f) => f.problem.endsWith('duplicate')).map((f) => `${f.name}:${f.problem}`),
      ['c1:ambiguous_duplicate', 'c2:ambiguous_duplicate', 'x:ambiguous_duplicate'],
    );
  });
});

describe('isObjectName: the names kube-apiserver takes for an EtcdMember (an RFC 1123 subdomain)', () => {
  it('takes labels of one character and names of up to 253 characters', () => {
    for (const name of ['c', 'c.d', 'c1.e', 'a-b.c-d', 'a'.repeat(253)]) assert.equal(isObjectName(name), true, name);
  });
  it('refuses longer names, uppercase, and labels that start or end with a dash or are empty', () => {
    for (const name of ['a'.repeat(254), 'C1', '-c', 'c-', 'c.-d', 'c..d', '.c', 'c.', '']) assert.equal(isObjectName(name), false, name);
  });
});
