// Which Events the findings call for, and what is written for them interval by interval (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyse } from '../src/analysis.js';
import type { EtcdMemberObject, EtcdSnapshot, KubernetesSnapshot } from '../src/model.js';
import { buildStatusDocument, type StatusDocument } from '../src/status-document.js';
import { EVENT_REASON, NOTE_LIMIT_BYTES, desiredEvents, note, planEvents, type EventSpec, type SeriesState } from '../src/events/plan.js';

const API_VERSION = 'etcd.k0sproject.io/v1beta1';
const etcd: EtcdSnapshot = {
  members: [
    { id: 'a1', name: 'c1.example.org', peerURLs: ['https://10.0.0.1:2380'], clientURLs: [], isLearner: false },
    { id: 'b2', name: 'c2.example.org', peerURLs: ['https://10.0.0.2:2380'], clientURLs: [], isLearner: false },
  ],
  localMemberId: 'a1',
};
const obj = (name: string, memberId: string, o: Partial<EtcdMemberObject> = {}): EtcdMemberObject => ({
  name, memberId, invalidMemberId: undefined, peerAddress: memberId === 'a1' ? '10.0.0.1' : '10.0.0.2', leave: false, reconcileStatus: undefined, uid: `uid-${name}`, resourceVersion: '1', ...o,
});

function doc(objects: EtcdMemberObject[]): StatusDocument {
  const kubernetes: KubernetesSnapshot = { crdPresent: true, objects };
  const report = analyse(etcd, kubernetes, { registrationName: 'c1.example.org' });
  const up = { attempted: true, up: true, lastSuccessMs: 0 };
  return buildStatusDocument({ report, etcd, kubernetes, sources: [{ name: 'etcd', ...up }, { name: 'kubernetes', ...up }], now: new Date(0), runbook: 'https://example.org/runbook.md' });
}

const scene5369 = [obj('c1', 'a1'), obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2')];

describe('desiredEvents', () => {
  it('k0s#5369: one Warning regarding c1, with the delete command check gives; none for the healthy objects', () => {
    const events = desiredEvents(doc(scene5369), scene5369, API_VERSION, 'EtcdMember');
    assert.equal(events.length, 1, JSON.stringify(events, null, 1));
    const e = events[0]!;
    assert.deepEqual(e.regarding, { apiVersion: API_VERSION, kind: 'EtcdMember', name: 'c1', uid: 'uid-c1' });
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'DuplicateEtcdMember');
    assert.match(e.note, /^c1 is stale: it carries the ID of etcd member "c1.example.org" \(a1\).* Next step: kubectl delete etcdmember c1$/);
    assert.match(e.name, /^c1\.[0-9a-f]{16}$/);
  });

  it('the note is check\'s message and command, and has no command where check has none', () => {
    const objects = [obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2', { peerAddress: '10.9.9.9' })];
    const d = doc(objects);
    const [e] = desiredEvents(d, objects, API_VERSION, 'EtcdMember');
    const finding = d.findings.find((f) => f.problem === 'peer_address_mismatch')!;
    assert.equal(finding.command, null);
    assert.equal(e!.reason, 'PeerAddressMismatch');
    assert.equal(e!.note, finding.message);
    assert.doesNotMatch(e!.note, /Next step|kubectl delete/);
  });

  it('a completed leave is Normal (cleanup); a zombie that asks to leave gets Warnings with the fix', () => {
    const left = [obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2'), obj('c3.example.org', 'c3', { leave: true })];
    const [l] = desiredEvents(doc(left), left, API_VERSION, 'EtcdMember');
    assert.equal(l!.type, 'Normal');
    assert.equal(l!.reason, 'LeftEtcdMember');
    assert.match(l!.note, /Next step: kubectl delete etcdmember c3.example.org$/);
    const zombie = [obj('c1', 'a1', { leave: true }), obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2')];
    const events = desiredEvents(doc(zombie), zombie, API_VERSION, 'EtcdMember');
    assert.deepEqual(events.map((e) => [e.type, e.reason]).sort(), [['Warning', 'DuplicateEtcdMember'], ['Warning', 'LeavePending']]);
    for (const e of events) assert.match(e.note, /Next step: kubectl delete etcdmember c1$/);
  });

  it('a healthy cluster, and objects without a uid, get none', () => {
    const healthy = [obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2')];
    assert.deepEqual(desiredEvents(doc(healthy), healthy, API_VERSION, 'EtcdMember'), []);
    const noUid = scene5369.map((o) => ({ ...o, uid: undefined }));
    assert.deepEqual(desiredEvents(doc(noUid), noUid, API_VERSION, 'EtcdMember'), []);
  });

  it('every object problem has a CamelCase reason', () => {
    for (const reason of Object.values(EVENT_REASON)) assert.match(reason, /^[A-Z][A-Za-z]+$/);
  });

  it('a note longer than the API takes is shortened, never its command', () => {
    const n = note('x'.repeat(2000), 'kubectl delete etcdmember c1');
    assert.ok(Buffer.byteLength(n) <= NOTE_LIMIT_BYTES);
    assert.match(n, /x… Next step: kubectl delete etcdmember c1$/);
  });
});

describe('planEvents', () => {
  const spec = desiredEvents(doc(scene5369), scene5369, API_VERSION, 'EtcdMember')[0]!;
  const REFRESH = 10_000;
  const written = (state: ReadonlyMap<string, SeriesState>, key: string, count: number, at: number): Map<string, SeriesState> =>
    new Map([...state].map(([k, s]) => [k, k === key ? { ...s, written: count, lastWritten: at } : s]));

  it('creates once, patches the series at its first repeat, then at most once per refresh interval', () => {
    let p = planEvents(new Map(), [spec], 0, REFRESH);
    assert.deepEqual(p.writes, [{ kind: 'create', spec }]);
    let state = written(p.state, spec.key, 1, 0);
    p = planEvents(state, [spec], 2000, REFRESH);
    assert.deepEqual(p.writes, [{ kind: 'series', spec, count: 2, lastSeen: 2000 }]);
    state = written(p.state, spec.key, 2, 2000);
    p = planEvents(state, [spec], 4000, REFRESH);
    assert.deepEqual(p.writes, [], 'the third sighting waits for the refresh interval');
    assert.equal(p.state.get(spec.key)!.count, 3);
    p = planEvents(p.state, [spec], 12_000, REFRESH);
    assert.deepEqual(p.writes, [{ kind: 'series', spec, count: 4, lastSeen: 12_000 }]);
  });

  it('a create that did not happen is tried again at the next interval', () => {
    const p = planEvents(new Map(), [spec], 0, REFRESH);
    assert.deepEqual(planEvents(p.state, [spec], 2000, REFRESH).writes, [{ kind: 'create', spec }]);
  });

  it('a finding that is gone gets one Normal event without a command, and is forgotten', () => {
    const state = written(planEvents(new Map(), [spec], 0, REFRESH).state, spec.key, 1, 0);
    const p = planEvents(state, [], 2000, REFRESH);
    assert.equal(p.state.size, 0);
    assert.equal(p.writes.length, 1);
    const w = p.writes[0]! as { kind: 'create'; spec: EventSpec };
    assert.equal(w.kind, 'create');
    assert.equal(w.spec.type, 'Normal');
    assert.equal(w.spec.reason, 'DuplicateEtcdMemberCleared');
    assert.deepEqual(w.spec.regarding, spec.regarding);
    assert.doesNotMatch(w.spec.note, /kubectl|Next step/);
    assert.deepEqual(planEvents(p.state, [], 4000, REFRESH).writes, [], 'said once');
  });

  it('a finding never written clears silently; one whose note changed is a new Event, not a cleared one', () => {
    assert.deepEqual(planEvents(planEvents(new Map(), [spec], 0, REFRESH).state, [], 2000, REFRESH).writes, []);
    const state = written(planEvents(new Map(), [spec], 0, REFRESH).state, spec.key, 1, 0);
    const changed: EventSpec = { ...spec, key: `${spec.key}!`, note: `${spec.note}!` };
    assert.deepEqual(planEvents(state, [changed], 2000, REFRESH).writes, [{ kind: 'create', spec: changed }]);
  });
});
