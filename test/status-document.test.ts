// The status document behind `check -o json`, check's table and the status page, on plain data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyse } from '../src/analysis.js';
import type { EtcdMember, EtcdMemberObject, EtcdSnapshot, KubernetesSnapshot } from '../src/model.js';
import { renderRunbook } from '../src/web/runbook.js';
import { RUNBOOK_ANCHORS, buildStatusDocument, runbookUrl, type SourceState, type StatusDocument } from '../src/status-document.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../testbed/paths.js';
import { renderCheck } from '../src/commands/cli.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const UP: SourceState[] = [
  { name: 'etcd', attempted: true, up: true, lastSuccessMs: NOW.getTime() },
  { name: 'kubernetes', attempted: true, up: true, lastSuccessMs: NOW.getTime() },
];

function member(name: string, id: string, ip: string, extra: Partial<EtcdMember> = {}): EtcdMember {
  return { id, name, peerURLs: [`https://${ip}:2380`], clientURLs: [], isLearner: false, ...extra };
}
function object(name: string, memberId: string | undefined, peerAddress: string, extra: Partial<EtcdMemberObject> = {}): EtcdMemberObject {
  return { name, memberId, invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: undefined, ...extra };
}
const ETCD: EtcdSnapshot = {
  members: [member('c2.example.org', 'b2', '10.0.0.2'), member('c1.example.org', 'a1', '10.0.0.1'), member('c3.example.org', 'c3', '10.0.0.3')],
  localMemberId: 'a1',
};
const REAL = [object('c1.example.org', 'a1', '10.0.0.1'), object('c2.example.org', 'b2', '10.0.0.2'), object('c3.example.org', 'c3', '10.0.0.3')];

function doc(objects: EtcdMemberObject[], o: { etcd?: EtcdSnapshot | undefined; sources?: SourceState[]; host?: string } = {}): StatusDocument {
  const etcd = 'etcd' in o ? o.etcd : ETCD;
  const kubernetes: KubernetesSnapshot = { crdPresent: true, objects };
  return buildStatusDocument({ report: analyse(etcd, kubernetes, { registrationName: o.host ?? 'c1.example.org' }), etcd, kubernetes, sources: o.sources ?? UP, now: NOW, runbook: runbookUrl('https://exporter.example.org/k0s/') });
}

describe('buildStatusDocument', () => {
  it('k0s#5369: rows joined by member ID, c1 named stale with the exact delete command', () => {
    const d = doc([object('c1', 'a1', '10.0.0.1'), ...REAL]);
    assert.deepEqual([d.kind, d.version, d.generatedAt, d.consistent], ['K0sEtcdMemberStatus', 1, '2026-11-27T12:00:00.000Z', false]);
    assert.deepEqual(d.rows.map((r) => [r.memberId, r.member?.name, r.objects.map((x) => x.name), r.findings]), [
      ['a1', 'c1.example.org', ['c1', 'c1.example.org'], ['c1: duplicate', 'c1: hostname_drift']],
      ['b2', 'c2.example.org', ['c2.example.org'], []],
      ['c3', 'c3.example.org', ['c3.example.org'], []],
    ]);
    assert.deepEqual(d.rows[0]!.member, { name: 'c1.example.org', peerAddress: '10.0.0.1', learner: false, started: true });
    assert.deepEqual(d.rows[0]!.objects[0], { name: 'c1', peerAddress: '10.0.0.1', leave: false, reconcileStatus: null });
    const dup = d.findings.find((f) => f.problem === 'duplicate')!;
    assert.deepEqual([dup.subject, dup.name, dup.memberId, dup.command], ['object', 'c1', 'a1', 'kubectl delete etcdmember c1']);
    assert.equal(dup.runbook, 'https://exporter.example.org/k0s/runbook#k0setcdmemberduplicate');
    // The stale duplicate's drift is cleared by the same step: one next step for the object, not "no command".
    const drift = d.findings.find((f) => f.problem === 'hostname_drift')!;
    assert.equal(drift.command, 'kubectl delete etcdmember c1');
    assert.match(drift.message, /c1 is the stale duplicate, and deleting it clears this too/);
    assert.deepEqual(d.local, { memberName: 'c1.example.org', memberId: 'a1', registrationName: 'c1.example.org', nameDrift: false });
    assert.deepEqual(d.sources, [
      { name: 'etcd', up: true, lastSuccess: '2026-11-27T12:00:00.000Z', reason: null, error: null },
      { name: 'kubernetes', up: true, lastSuccess: '2026-11-27T12:00:00.000Z', reason: null, error: null },
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d, 'plain JSON');
  });

  it('consistent when every source is up and nothing is found', () => {
    const d = doc(REAL);
    assert.equal(d.consistent, true);
    assert.deepEqual(d.findings, []);
    assert.match(renderCheck(d, true), /consistent: no findings/);
  });

  it('not consistent while a source is down or not read yet, with its reason and error', () => {
    const d = doc(REAL, {
      etcd: undefined,
      sources: [{ name: 'etcd', attempted: true, up: false, lastSuccessMs: undefined, lastError: { reason: 'timeout', message: 'etcd did not answer' } }, { name: 'kubernetes', attempted: false, up: false, lastSuccessMs: undefined }],
    });
    assert.equal(d.consistent, false);
    assert.deepEqual(d.sources, [
      { name: 'etcd', up: false, lastSuccess: null, reason: 'timeout', error: 'etcd did not answer' },
      { name: 'kubernetes', up: null, lastSuccess: null, reason: null, error: null },
    ]);
    assert.equal(d.local, null);
  });

  it('an ambiguous pair gets a command that compares, never one that deletes', () => {
    const d = doc([object('c1', 'a1', '10.0.0.1'), object('c1.old', 'a1', '10.0.0.1'), ...REAL.slice(1)]);
    const amb = d.findings.filter((f) => f.problem === 'ambiguous_duplicate');
    assert.deepEqual(amb.map((f) => f.command), ['kubectl get etcdmember c1 c1.old -o wide', 'kubectl get etcdmember c1.old c1 -o wide']);
  });

  it('objects with IDs etcd does not know get their own rows, then those without an ID; local drift is a finding', () => {
    const d = doc([...REAL, object('gone', 'dead', '10.0.0.9'), object('new', undefined, '10.0.0.8')], { host: 'c1' });
    assert.deepEqual(d.rows.slice(3).map((r) => [r.memberId, r.member, r.objects.map((x) => x.name), r.findings]), [
      ['dead', null, ['gone'], ['gone: orphaned']],
      ['', null, ['new'], ['new: no_status']],
    ]);
    assert.equal(d.findings.find((f) => f.problem === 'orphaned')!.command, 'k0s-etcdmember-exporter prune --kubeconfig /var/lib/k0s/pki/admin.conf');
    const local = d.findings.find((f) => f.subject === 'local')!;
    assert.deepEqual([local.problem, local.name, local.memberId, local.command], ['local_name_drift', 'c1', 'a1', null]);
    assert.match(local.message, /register as "c1".*etcd member is "c1.example.org"/);
  });

  it('never suggests spec.leave, and a stale duplicate carrying spec.leave is to be deleted at once', () => {
    const d = doc([object('c1', 'a1', '10.0.0.1', { leave: true }), object('c2', 'b2', '10.0.0.2'), object('c2.example.org', 'b2', '10.0.0.2', { leave: true }), object('c1.example.org', 'a1', '10.0.0.1'), object('c3.example.org', 'c3', '10.0.0.3'), object('left', 'dead', '10.0.0.9', { leave: true })]);
    for (const f of d.findings) assert.doesNotMatch(f.command ?? '', /leave|patch|edit/, `${f.name} ${f.problem}`);
    const trap = d.findings.find((f) => f.name === 'c1' && f.problem === 'leave_pending')!;
    assert.equal(trap.command, 'kubectl delete etcdmember c1');
    assert.equal(d.findings.find((f) => f.name === 'c2.example.org' && f.problem === 'leave_pending')!.command, null, 'a live member\'s own object is never deleted');
    assert.equal(d.findings.find((f) => f.name === 'left' && f.problem === 'left')!.command, 'kubectl delete etcdmember left');
  });

  it('offers neither prune nor a delete for an orphaned or left object of an ambiguous group (prune keeps them too)', () => {
    // k0s#5369 aftermath: c1.example.org's member was removed; the zombie c1 (spec.leave) and c1.example.org remain.
    const etcd: EtcdSnapshot = { members: ETCD.members.filter((m) => m.id !== 'a1'), localMemberId: 'b2' };
    const d = doc([object('c1', 'a1', '10.0.0.1', { leave: true }), object('c1.example.org', 'a1', '10.0.0.1'), ...REAL.slice(1)], { etcd });
    const surplus = d.findings.filter((f) => f.problem === 'orphaned' || f.problem === 'left');
    assert.deepEqual(surplus.map((f) => `${f.name}:${f.problem}`).sort(), ['c1.example.org:orphaned', 'c1:left']);
    for (const f of surplus) {
      assert.equal(f.command, null, `${f.name} ${f.problem}`);
      assert.match(f.message, /see its ambiguous_duplicate finding/, `${f.name} ${f.problem}`);
    }
  });

  it('an ambiguous group whose right-named object exists says which candidate is named after another live member', () => {
    // etcd c1/a, c2/b, c3/c; objects c1(a), c2(a), x(b): c1 exists, but c2 may be member c2's own object with a wrong ID.
    const etcd: EtcdSnapshot = { members: [member('c1', 'a', '10.0.0.1'), member('c2', 'b', '10.0.0.2'), member('c3', 'c', '10.0.0.3')], localMemberId: 'a' };
    const d = doc([object('c1', 'a', '10.0.0.1'), object('c2', 'a', '10.0.0.2'), object('x', 'b', '10.0.0.2')], { etcd });
    for (const f of d.findings.filter((x) => x.problem === 'ambiguous_duplicate')) {
      assert.doesNotMatch(f.message, /no object is named/, f.name);
      assert.match(f.message, /c2 is named after live etcd member "c2" \(b\) and may be that member's own object with a wrong ID/, f.name);
    }
    // Without the right-named object, the message still says so.
    const none = doc([object('c1', 'a1', '10.0.0.1'), object('c1.old', 'a1', '10.0.0.1'), ...REAL.slice(1)]);
    assert.match(none.findings.find((f) => f.problem === 'ambiguous_duplicate')!.message, /\(no object is named c1\.example\.org\)/);
  });

  it('local peer address drift names the peer host etcd reaches, an IPv6 address with a zone included', () => {
    const zoned: EtcdSnapshot = { members: [member('c1.example.org', 'a1', '10.0.0.1', { peerURLs: ['https://[fe80::1%25eth0]:2380'] }), ...ETCD.members.filter((m) => m.id !== 'a1')], localMemberId: 'a1' };
    const objects = [object('c1.example.org', 'a1', 'fe80::1%eth0'), ...REAL.slice(1)];
    const kubernetes: KubernetesSnapshot = { crdPresent: true, objects };
    const report = analyse(zoned, kubernetes, { registrationName: 'c1.example.org', predictedPeerAddress: '10.0.0.1' });
    const d = buildStatusDocument({ report, etcd: zoned, kubernetes, sources: UP, now: NOW, runbook: runbookUrl('https://exporter.example.org/k0s/') });
    const drift = d.findings.find((f) => f.problem === 'local_peer_address_drift')!;
    assert.match(drift.message, /reaches it at fe80::1%eth0: set spec\.storage\.etcd\.peerAddress: fe80::1%eth0 in k0s\.yaml/);
    assert.equal(d.rows.find((r) => r.memberId === 'a1')!.member!.peerAddress, 'fe80::1%eth0');
  });

  it('a pending spec.leave in an ambiguous group of a live member is to be deleted now, unless that removal is planned', () => {
    const d = doc([object('c1', 'a1', '10.0.0.1', { leave: true }), object('c1.old', 'a1', '10.0.0.1'), ...REAL.slice(1)]);
    const leave = d.findings.find((f) => f.name === 'c1' && f.problem === 'leave_pending')!;
    assert.equal(
      leave.message,
      'c1 has spec.leave true and carries the ID of live etcd member "c1.example.org" (a1), which other objects share: k0s may remove that live member; unless that removal is planned, delete c1 now (deleting an EtcdMember never changes etcd)',
    );
    assert.equal(leave.command, 'kubectl delete etcdmember c1');
  });

  it('check prints each source that is down, says incomplete rather than consistent, and an unknown registration name', () => {
    const down: SourceState[] = [...UP, { name: 'k0s_config', attempted: true, up: false, lastSuccessMs: undefined, lastError: { reason: 'unreadable', message: 'EACCES: /etc/k0s/k0s.yaml' } }];
    const kubernetes: KubernetesSnapshot = { crdPresent: true, objects: REAL };
    const report = analyse(ETCD, kubernetes, { registrationName: 'c1.example.org', registrationNameKnown: false });
    const d = buildStatusDocument({ report, etcd: ETCD, kubernetes, sources: down, now: NOW, runbook: runbookUrl('https://exporter.example.org/k0s/') });
    assert.equal(d.consistent, false);
    const text = renderCheck(d, true);
    assert.match(text, /^source k0s_config down \(unreadable\): EACCES: \/etc\/k0s\/k0s\.yaml$/m);
    assert.doesNotMatch(text, /consistent/);
    assert.match(text, /^incomplete: a source is down$/m);
    assert.match(text, /^this host: etcd member "c1\.example\.org" \(a1\), the name k0s would register is unknown \(k0s\.yaml not read\)$/m);
    assert.doesNotMatch(text, /would register "/);
    // With findings too, the source that is down comes first.
    const both = buildStatusDocument({ report: analyse(ETCD, { crdPresent: true, objects: [object('c1', 'a1', '10.0.0.1'), ...REAL] }, { registrationName: 'c1.example.org' }), etcd: ETCD, kubernetes: { crdPresent: true, objects: [object('c1', 'a1', '10.0.0.1'), ...REAL] }, sources: down, now: NOW, runbook: runbookUrl('https://exporter.example.org/k0s/') });
    const lines = renderCheck(both, true).split('\n');
    assert.ok(lines.findIndex((l) => l.startsWith('source k0s_config down')) < lines.findIndex((l) => l.startsWith('duplicate c1:')), lines.join('\n'));
  });

  it('check names an unstarted member (which has no name yet) by its ID', () => {
    const etcd: EtcdSnapshot = { members: [...ETCD.members, member('', 'd4', '10.0.0.4')], localMemberId: 'a1' };
    const text = renderCheck(doc(REAL, { etcd }), true);
    assert.match(text, /^unstarted d4: etcd member d4 was added but never started/m);
    assert.doesNotMatch(text, /unstarted :/);
  });

  it('links only runbook sections that exist in docs/runbook.md, as the exporter serves it', () => {
    const anchors = new Set(renderRunbook(readFileSync(join(REPO_ROOT, 'docs', 'runbook.md'), 'utf8'), '9.9.9').anchors);
    for (const a of RUNBOOK_ANCHORS) assert.ok(anchors.has(a), a);
  });

  it('links the runbook relative to the exporter by default, under --web.external-url when given', () => {
    assert.equal(runbookUrl(undefined), 'runbook');
    assert.equal(runbookUrl('https://proxy.example.org/k0s'), 'https://proxy.example.org/k0s/runbook');
    assert.equal(runbookUrl('https://proxy.example.org/k0s/'), 'https://proxy.example.org/k0s/runbook');
  });

  it('check\'s table pads like kubectl and marks empty cells <none>', () => {
    const d = doc([...REAL.slice(0, 2), object('gone', 'dead', '10.0.0.9')]);
    const lines = renderCheck(d, true).split('\n');
    assert.equal(lines[0], 'MEMBER ID   ETCD NAME        PEER       OBJECTS          FINDINGS');
    assert.equal(lines[3], 'c3          c3.example.org   10.0.0.3   <none>           unregistered');
    assert.equal(lines[4], 'dead        <none>           <none>     gone             gone: orphaned');
  });

  it('never suggests deleting an object named after a live member', () => {
    // etcd c1/a, c2/b, c3/c; objects c1(a), c2(a), x(b): prune keeps c2, so check must not tell anyone to delete it.
    const etcd: EtcdSnapshot = { members: [member('c1', 'a', '10.0.0.1'), member('c2', 'b', '10.0.0.2'), member('c3', 'c', '10.0.0.3')], localMemberId: 'a' };
    const d = doc([object('c1', 'a', '10.0.0.1'), object('c2', 'a', '10.0.0.2', { leave: true }), object('x', 'b', '10.0.0.2')], { etcd });
    for (const f of d.findings) assert.doesNotMatch(f.command ?? '', /delete/, `${f.name} ${f.problem}`);
    // A completed leave whose object is named after a member that is live again (it rejoined with a new ID).
    const rejoined = doc([object('c1.example.org', 'a1', '10.0.0.1'), object('c2.example.org', 'dead', '10.0.0.2', { leave: true }), object('c3.example.org', 'c3', '10.0.0.3')]);
    const left = rejoined.findings.find((f) => f.name === 'c2.example.org' && f.problem === 'left')!;
    assert.equal(left.command, null);
    assert.match(left.message, /named after live etcd member "c2.example.org"/);
  });
});
