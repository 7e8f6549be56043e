// prune's rules on plain data: what may be deleted, and everything that never is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyse } from '../src/analysis.js';
import { planPrune, formatAge } from '../src/commands/prune-plan.js';
import type { EtcdMember, EtcdMemberObject, EtcdSnapshot } from '../src/model.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const HOUR = 3_600_000;
const OLD = '2026-11-20T00:00:00Z';

function member(name: string, id: string, ip: string): EtcdMember {
  return { id, name, peerURLs: [`https://${ip}:2380`], clientURLs: name === '' ? [] : [`https://${ip}:2379`], isLearner: false };
}

let uid = 0;
function object(name: string, memberId: string | undefined, peerAddress: string, extra: Partial<EtcdMemberObject> = {}): EtcdMemberObject {
  uid++;
  return { name, memberId, invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: undefined, uid: `uid-${uid}`, resourceVersion: String(100 + uid), creationTimestamp: OLD, ...extra };
}

const ETCD: EtcdSnapshot = {
  members: [member('c1.example.org', 'a1', '10.0.0.1'), member('c2.example.org', 'b2', '10.0.0.2'), member('c3.example.org', 'c3', '10.0.0.3')],
  localMemberId: 'a1',
};
const REAL = (): EtcdMemberObject[] => [object('c1.example.org', 'a1', '10.0.0.1'), object('c2.example.org', 'b2', '10.0.0.2'), object('c3.example.org', 'c3', '10.0.0.3')];

function plan(objects: EtcdMemberObject[], etcd: EtcdSnapshot = ETCD, minAgeMs = HOUR) {
  const kubernetes = { crdPresent: true as const, objects };
  const p = planPrune(analyse(etcd, kubernetes, { registrationName: 'c1.example.org' }), etcd, kubernetes, NOW, minAgeMs);
  return { deleted: p.deletions.map((d) => d.object.name), kept: p.kept.map((k) => `${k.name}:${k.problem}`), plan: p };
}

describe('planPrune', () => {
  it('deletes the k0s#5369 zombie c1 and nothing else, with the uid and resourceVersion it judged', () => {
    const c1 = object('c1', 'a1', '10.0.0.1');
    const { deleted, kept, plan: p } = plan([c1, ...REAL()]);
    assert.deepEqual(deleted, ['c1']);
    assert.deepEqual(kept, []);
    assert.deepEqual([p.deletions[0]!.object.uid, p.deletions[0]!.object.resourceVersion], [c1.uid, c1.resourceVersion]);
    assert.match(p.deletions[0]!.why, /member ID a1 of etcd member "c1.example.org", whose own object c1.example.org exists/);
  });

  it('deletes a stale duplicate carrying spec.leave: true (the trap of k0s#5369), which disarms it', () => {
    assert.deepEqual(plan([object('c1', 'a1', '10.0.0.1', { leave: true }), ...REAL()]).deleted, ['c1']);
  });

  it('never deletes an ambiguous pair (no object named after the member)', () => {
    const r = plan([object('c1', 'a1', '10.0.0.1'), object('c1.old', 'a1', '10.0.0.1'), ...REAL().slice(1)]);
    assert.deepEqual(r.deleted, []);
    assert.deepEqual(r.kept, ['c1:ambiguous_duplicate', 'c1.old:ambiguous_duplicate']);
    assert.deepEqual(r.plan.kept.map((k) => k.why), Array(2).fill('which object of its member ID is stale cannot be proven: no object of the group is named after the etcd member'));
  });

  it('never deletes an ambiguous group whose member etcd no longer lists, and keeps each object once (k0s#5369 aftermath)', () => {
    // c1.example.org's member was removed; the zombie c1 (spec.leave true) and c1.example.org still carry its ID.
    const etcd: EtcdSnapshot = { members: ETCD.members.slice(1), localMemberId: 'b2' };
    for (const leave of [true, false]) {
      const r = plan([object('c1', 'a1', '10.0.0.1', { leave }), object('c1.example.org', 'a1', '10.0.0.1'), ...REAL().slice(1)], etcd);
      assert.deepEqual(r.deleted, [], `leave ${leave}`);
      assert.deepEqual(r.kept, ['c1:ambiguous_duplicate', 'c1.example.org:ambiguous_duplicate'], `leave ${leave}`);
      assert.ok(r.plan.kept.every((k) => /etcd does not list member ID a1/.test(k.why)), JSON.stringify(r.plan.kept));
    }
  });

  it('never deletes a live member\'s own object, with or without spec.leave', () => {
    for (const leave of [false, true]) {
      const objects = [object('c1', 'a1', '10.0.0.1'), object('c1.example.org', 'a1', '10.0.0.1', { leave }), ...REAL().slice(1)];
      assert.deepEqual(plan(objects).deleted, ['c1'], `leave ${leave}`);
    }
    // An object named after live member c2 that carries another member's ID, and one whose ID etcd does not know.
    const misnamed = plan([object('c2.example.org', 'a1', '10.0.0.2'), object('c1.example.org', 'a1', '10.0.0.1'), object('c2', 'b2', '10.0.0.2'), object('c3.example.org', 'c3', '10.0.0.3')]);
    assert.ok(!misnamed.deleted.includes('c2.example.org'), misnamed.deleted.join());
    assert.match(misnamed.plan.kept.find((k) => k.name === 'c2.example.org')!.why, /named after live etcd member "c2.example.org"/);
    const orphanNamedLive = plan([object('c2.example.org', 'ffff', '10.0.0.2'), object('c2', 'b2', '10.0.0.2'), ...REAL().filter((o) => o.name !== 'c2.example.org')]);
    assert.deepEqual(orphanNamedLive.deleted, []);
  });

  it('keeps a "duplicate" named after another live member: etcd c1/a, c2/b, c3/c; objects c1(a), c2(a), x(b)', () => {
    const etcd: EtcdSnapshot = { members: [member('c1', 'a', '10.0.0.1'), member('c2', 'b', '10.0.0.2'), member('c3', 'c', '10.0.0.3')], localMemberId: 'a' };
    const r = plan([object('c1', 'a', '10.0.0.1'), object('c2', 'a', '10.0.0.2'), object('x', 'b', '10.0.0.2')], etcd);
    assert.deepEqual(r.deleted, []);
    assert.deepEqual(r.kept, ['c1:ambiguous_duplicate', 'c2:ambiguous_duplicate']);
    assert.ok(r.plan.kept.every((k) => /named after live etcd member/.test(k.why)), JSON.stringify(r.plan.kept));
  });

  it('deletes an orphaned object older than --min-age, keeps a young one', () => {
    const young = object('young', 'dead1', '10.0.0.9', { creationTimestamp: new Date(NOW.getTime() - 10 * 60_000).toISOString() });
    const r = plan([object('gone', 'dead2', '10.0.0.8'), young, ...REAL()]);
    assert.deepEqual(r.deleted, ['gone']);
    assert.equal(r.plan.deletions[0]!.why, 'etcd does not list member ID dead2, every started member has its object, and it is 7d12h old');
    assert.deepEqual(r.kept, ['young:orphaned']);
    assert.match(r.plan.kept[0]!.why, /younger than --min-age \(10m < 1h\)/);
    assert.deepEqual(plan([young, ...REAL()], ETCD, 5 * 60_000).deleted, ['young']);
    // Exactly --min-age old is old enough.
    assert.deepEqual(plan([object('just', 'dead5', '10.0.0.5', { creationTimestamp: new Date(NOW.getTime() - HOUR).toISOString() }), ...REAL()]).deleted, ['just']);
    for (const creationTimestamp of [undefined, 'yesterday']) {
      const r2 = plan([object('no-time', 'dead3', '10.0.0.7', { creationTimestamp }), ...REAL()]);
      assert.deepEqual(r2.deleted, [], String(creationTimestamp));
      assert.equal(r2.plan.kept[0]!.why, 'it has no readable creationTimestamp, so its age is unknown');
    }
  });

  it('deletes no orphan while a started etcd member has no object (after an etcd restore every object looks orphaned)', () => {
    const restored: EtcdSnapshot = { members: [member('c1.example.org', 'e1', '10.0.0.1'), member('c2.example.org', 'e2', '10.0.0.2'), member('c3.example.org', 'e3', '10.0.0.3')], localMemberId: 'e1' };
    const r = plan(REAL(), restored);
    assert.deepEqual(r.deleted, []);
    assert.ok(r.plan.kept.every((k) => /named after live etcd member/.test(k.why)), JSON.stringify(r.plan.kept));
    const r2 = plan([object('gone', 'dead2', '10.0.0.8'), ...REAL().slice(0, 2)]);
    assert.deepEqual(r2.deleted, [], 'c3.example.org is unregistered');
    assert.match(r2.plan.kept[0]!.why, /some started etcd member has no object/);
  });

  it('never deletes a completed leave, an object without uid or resourceVersion, or anything without the CRD', () => {
    const left = plan([object('left', 'dead4', '10.0.0.6', { leave: true }), ...REAL()]);
    assert.deepEqual(left.kept, ['left:left']);
    // k0s keeps a completed leave's object forever: prune says so, and what to type.
    assert.equal(left.plan.kept[0]!.why, 'prune leaves completed leaves to you (k0s keeps the object): kubectl delete etcdmember left');
    for (const missing of [{ uid: undefined }, { resourceVersion: undefined }]) {
      const r = plan([object('c1', 'a1', '10.0.0.1', missing), ...REAL()]);
      assert.deepEqual(r.deleted, [], JSON.stringify(missing));
      assert.deepEqual(r.plan.kept, [{ name: 'c1', problem: 'duplicate', why: 'it has no uid or resourceVersion, so its deletion could not be made conditional' }]);
    }
    const none = planPrune(analyse(ETCD, { crdPresent: false }, { registrationName: 'c1.example.org' }), ETCD, { crdPresent: false }, NOW, HOUR);
    assert.deepEqual(none, { deletions: [], kept: [] });
  });

  it('formats ages as the flags are written', () => {
    assert.deepEqual([formatAge(0), formatAge(90_000), formatAge(HOUR), formatAge(26 * HOUR + 5000)], ['0s', '1m30s', '1h', '1d2h5s']);
    assert.deepEqual([formatAge(-5000), formatAge(999), formatAge(60_000), formatAge(24 * HOUR), formatAge(25 * HOUR + 61_000), formatAge(59_999)], ['0s', '0s', '1m', '1d', '1d1h1m1s', '59s']);
  });
});
