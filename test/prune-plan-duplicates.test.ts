// prune's rules for duplicates on plain data, beside prune-plan.test.ts: what a deletion of a duplicate says, and
// that an ambiguous group is never deleted whatever order the analysis lists its findings in. (A file of its
// own so that Stryker's incremental mode, one file one test, need not try every mutant of prune-plan.ts again.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyse } from '../src/analysis.js';
import { planPrune } from '../src/commands/prune-plan.js';
import type { EtcdMember, EtcdMemberObject, EtcdSnapshot } from '../src/model.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const HOUR = 3_600_000;

function member(name: string, id: string, ip: string): EtcdMember {
  return { id, name, peerURLs: [`https://${ip}:2380`], clientURLs: [`https://${ip}:2379`], isLearner: false };
}

let uid = 0;
function object(name: string, memberId: string, peerAddress: string, extra: Partial<EtcdMemberObject> = {}): EtcdMemberObject {
  uid++;
  return { name, memberId, invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: undefined, uid: `uid-${uid}`, resourceVersion: String(100 + uid), creationTimestamp: '2026-11-20T00:00:00Z', ...extra };
}

const ETCD: EtcdSnapshot = {
  members: [member('c1.example.org', 'a1', '10.0.0.1'), member('c2.example.org', 'b2', '10.0.0.2'), member('c3.example.org', 'c3', '10.0.0.3')],
  localMemberId: 'a1',
};
const REAL = (): EtcdMemberObject[] => [object('c1.example.org', 'a1', '10.0.0.1'), object('c2.example.org', 'b2', '10.0.0.2'), object('c3.example.org', 'c3', '10.0.0.3')];

/** The plan for these snapshots, the analysis' object findings put in the order `order` gives them. */
function plan(etcd: EtcdSnapshot, objects: EtcdMemberObject[], order: <T>(findings: T[]) => T[] = (f) => f) {
  const kubernetes = { crdPresent: true as const, objects };
  const report = analyse(etcd, kubernetes, { registrationName: 'c1.example.org' });
  return planPrune({ ...report, objectFindings: order([...report.objectFindings]) }, etcd, kubernetes, NOW, HOUR);
}

describe('planPrune: duplicates', () => {
  it("names the member a duplicate belongs to and that member's own object", () => {
    const p = plan(ETCD, [object('c2', 'b2', '10.0.0.2'), ...REAL()]);
    assert.deepEqual(p.deletions.map((d) => d.object.name), ['c2']);
    assert.equal(p.deletions[0]!.why, 'it carries member ID b2 of etcd member "c2.example.org", whose own object c2.example.org exists');
  });

  it('keeps every object of an ambiguous group whose member etcd no longer lists, whatever order the findings come in', () => {
    // c1.example.org's member was removed; the zombie c1 and c1.example.org still carry its ID: each object is
    // ambiguous_duplicate and orphaned (or left), and ambiguous_duplicate decides.
    const etcd: EtcdSnapshot = { members: ETCD.members.slice(1), localMemberId: 'b2' };
    for (const leave of [true, false]) {
      for (const order of [<T>(f: T[]): T[] => f, <T>(f: T[]): T[] => f.reverse()]) {
        const p = plan(etcd, [object('c1', 'a1', '10.0.0.1', { leave }), object('c1.example.org', 'a1', '10.0.0.1'), ...REAL().slice(1)], order);
        assert.deepEqual(p.deletions, [], `leave ${leave}`);
        assert.deepEqual(p.kept.map((k) => `${k.name}:${k.problem}`).sort(), ['c1.example.org:ambiguous_duplicate', 'c1:ambiguous_duplicate'], `leave ${leave}`);
      }
    }
  });
});
