// Property-based: arbitrary EtcdMember objects and etcd member lists, hostile strings included, go through the
// boundary parsing, the analysis and the rendering. Nothing throws, the output is always valid Prometheus text
// (promtool check metrics), no password from a peer URL reaches it, and every object and member is accounted
// for in exactly the findings the rules define.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyse } from '../src/analysis.js';
import { createMetrics } from '../src/metrics.js';
import type { EtcdMemberObject, EtcdSnapshot, KubernetesSnapshot } from '../src/model.js';
import { parseMembers } from '../src/sources/etcd.js';
import { parseObject } from '../src/sources/kubernetes.js';
import { ERROR_REASONS, type ErrorReason } from '../src/sources/source.js';
import { requireTool } from '../testbed/tools.js';

// A small pool of IDs so that objects and members collide, duplicate and miss each other often.
const IDS = ['1', 'a1', 'b2', 'ffffffffffffffff', '701e576a6f6f9e02'];
const hostile = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('c1', 'c1.example.org', 'C1 ', 'a"b\\c\nd', 'nul\u0000x', 'line\u2028sep', 'x'.repeat(300), '{}=,'),
);
const memberIdRaw = fc.oneof(
  fc.constantFrom(...IDS),
  fc.constantFrom(...IDS).map((id) => `000${id.toUpperCase()}`),
  fc.constant(null),
  fc.constant(''),
  fc.constantFrom('10000000000000000', 'zz', '0x12', '-1'),
  fc.integer(),
  fc.constant(undefined),
);
const rawObject = fc.record({
  apiVersion: fc.constant('etcd.k0sproject.io/v1beta1'),
  kind: fc.constant('EtcdMember'),
  metadata: fc.record({ name: hostile }),
  spec: fc.oneof(fc.record({ leave: fc.oneof(fc.boolean(), fc.constant('true')) }), fc.constant(null)),
  status: fc.oneof(
    fc.record({ memberID: memberIdRaw, peerAddress: fc.oneof(hostile, fc.constantFrom('10.0.0.1', 'fe80::1%eth0', '[::1]')), reconcileStatus: fc.constantFrom('Success', 'Failed', undefined) }, { requiredKeys: [] }),
    fc.constant(undefined),
  ),
});
const rawMember = fc.record({
  ID: fc.constantFrom(...IDS).map((hex) => BigInt(`0x${hex}`).toString()),
  name: fc.oneof(hostile, fc.constant('')),
  peerURLs: fc.array(fc.constantFrom('https://10.0.0.1:2380', 'https://[fe80::1%25eth0]:2380', 'https://root:PeerPW@10.0.0.9:2380', 'not a url', 'https://[::1]:2380'), { maxLength: 2 }),
  clientURLs: fc.constant([]),
  isLearner: fc.boolean(),
});
const scenario = fc.record({
  objects: fc.uniqueArray(rawObject, { maxLength: 8, selector: (o) => o.metadata.name }),
  members: fc.uniqueArray(rawMember, { maxLength: 5, selector: (m) => m.ID }),
  etcdUp: fc.boolean(),
  kubeUp: fc.boolean(),
  crdPresent: fc.boolean(),
  registrationName: hostile,
});

async function render(etcd: EtcdSnapshot | undefined, kube: KubernetesSnapshot | undefined, registrationName: string): Promise<{ text: string; report: ReturnType<typeof analyse> }> {
  const report = analyse(etcd, kube, { registrationName });
  const counts = new Map<ErrorReason, number>(ERROR_REASONS.map((r) => [r, 0]));
  const source = (name: 'etcd' | 'kubernetes', up: boolean) => ({
    name,
    health: () => ({ attempted: true, up, lastSuccessMs: up ? 1_700_000_000_000 : undefined, lastDurationSeconds: 0.01 }),
    errorCounts: () => counts,
  });
  const exposition = createMetrics({ report: () => report, sources: [source('etcd', etcd !== undefined), source('kubernetes', kube !== undefined)] }, { version: '0.0.0', revision: 'x', nodejsVersion: process.version });
  return { text: await exposition.text(), report };
}

describe('fuzz: parsing, analysis and rendering', () => {
  it('never throws, never leaks a peer URL password, and accounts for every object and member', async () => {
    const texts: string[] = [];
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const objects = s.objects.map((o) => parseObject(o)).filter((o): o is EtcdMemberObject => o !== undefined);
        assert.equal(objects.length, s.objects.filter((o) => o.metadata.name !== '').length, 'only objects without a name are dropped');
        const members = parseMembers(s.members);
        const etcd: EtcdSnapshot | undefined = s.etcdUp ? { members, localMemberId: members[0]?.id } : undefined;
        const kube: KubernetesSnapshot | undefined = s.kubeUp ? (s.crdPresent ? { crdPresent: true, objects } : { crdPresent: false }) : undefined;
        const { text, report } = await render(etcd, kube, s.registrationName);
        texts.push(text);
        assert.doesNotMatch(text, /PeerPW/);

        const visible = kube?.crdPresent ? objects : [];
        const problems = (o: EtcdMemberObject): string[] => report.objectFindings.filter((f) => f.name === o.name).map((f) => f.problem);
        // Findings name only objects and members that exist.
        for (const f of report.objectFindings) assert.ok(visible.some((o) => o.name === f.name), `finding for unknown object ${JSON.stringify(f.name)}`);
        for (const f of report.memberFindings) assert.ok((etcd?.members ?? []).some((m) => m.id === f.memberId), `finding for unknown member ${f.memberId}`);
        const byId = new Map<string, number>();
        for (const o of visible) if (o.memberId !== undefined) byId.set(o.memberId, (byId.get(o.memberId) ?? 0) + 1);
        for (const o of visible) {
          const p = problems(o);
          assert.equal(new Set(p).size, p.length, `a problem twice for ${o.name}: ${p.join(',')}`);
          assert.equal(p.includes('invalid_member_id'), o.invalidMemberId !== undefined, `${o.name}: invalid_member_id`);
          assert.equal(p.includes('no_status'), o.memberId === undefined && o.invalidMemberId === undefined, `${o.name}: no_status`);
          assert.equal(p.includes('reconcile_failed'), o.reconcileStatus === 'Failed', `${o.name}: reconcile_failed`);
          const shared = o.memberId !== undefined && (byId.get(o.memberId) ?? 0) > 1;
          if (!shared) assert.ok(!p.includes('duplicate') && !p.includes('ambiguous_duplicate'), `${o.name}: duplicate without a twin`);
          if (etcd !== undefined && o.memberId !== undefined) {
            const known = etcd.members.some((m) => m.id === o.memberId);
            assert.equal(p.includes('orphaned'), !known && !o.leave, `${o.name}: orphaned`);
            assert.equal(p.includes('left'), !known && o.leave, `${o.name}: left`);
          } else {
            assert.ok(!p.includes('orphaned') && !p.includes('left'), `${o.name}: orphaned/left without both views`);
          }
        }
        if (etcd === undefined || kube === undefined) assert.equal(report.memberFindings.filter((f) => f.problem === 'unregistered').length, 0);
      }),
      { numRuns: 300 },
    );
    assert.ok(texts.length >= 300);
  });

  it('every rendering is valid Prometheus text (promtool check metrics)', async (t) => {
    const promtool = requireTool(t, 'promtool', 'apt-get install prometheus');
    if (promtool === undefined) return;
    const samples = fc.sample(scenario, { numRuns: 40, seed: 12 });
    for (const s of samples) {
      const objects = s.objects.map((o) => parseObject(o)).filter((o): o is EtcdMemberObject => o !== undefined);
      const members = parseMembers(s.members);
      const { text } = await render({ members, localMemberId: members[0]?.id }, { crdPresent: true, objects }, s.registrationName);
      const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
      // promtool also lints names and help texts; exit 3 is lint only, 1 a parse error.
      assert.notEqual(r.status, 1, `promtool cannot parse:\n${r.stdout}${r.stderr}\n${text.slice(0, 2000)}`);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error while linting|parse error|invalid/i, `${r.stdout}${r.stderr}`);
    }
  });
});
