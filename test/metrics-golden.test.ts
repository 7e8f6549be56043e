// The exposition of the k0s#5369 scene, byte for byte, against a golden file: rendering may get faster, but what
// Prometheus, the alert rules and the dashboard read must not change by accident. The k0s_etcdmember_ families
// are compared exactly and in order; of the process and Node.js families only the names and types are compared,
// since their values (and some label sets) vary from run to run and between Node.js versions.
//
// After a deliberate change of the rendered text: UPDATE_GOLDEN=1 node --test dist/test/metrics-golden.test.js
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyse } from '../src/analysis.js';
import { createMetrics } from '../src/metrics.js';
import type { EtcdMemberObject, EtcdSnapshot } from '../src/model.js';
import { ERROR_REASONS, type ErrorReason, type SourceHealth, type SourceName } from '../src/sources/source.js';

const GOLDEN = fileURLToPath(new URL('../../test/golden/k0s5369.metrics.txt', import.meta.url));

// testbed/k0s5369.ts with fixed member IDs: three members named after their hosts, one EtcdMember object per
// member, and the stale short-name object c1 carrying c1.example.org's ID and peer address.
const members = [
  { id: '8e9e05c52164694d', name: 'c1.example.org', ip: '127.0.0.1' },
  { id: '91bc3c398fb3c146', name: 'c2.example.org', ip: '127.0.0.2' },
  { id: 'fd422379fda50e48', name: 'c3.example.org', ip: '127.0.0.3' },
];
const etcd: EtcdSnapshot = {
  members: members.map((m) => ({ id: m.id, name: m.name, peerURLs: [`https://${m.ip}:2380`], clientURLs: [`https://${m.ip}:2379`], isLearner: false })),
  localMemberId: members[0]!.id,
};
const object = (name: string, m: (typeof members)[number]): EtcdMemberObject => ({
  name, memberId: m.id, invalidMemberId: undefined, peerAddress: m.ip, leave: false, reconcileStatus: 'Success',
});
const objects = [object('c1', members[0]!), ...members.map((m) => object(m.name, m))];

function renderScene(): Promise<string> {
  const report = analyse(etcd, { crdPresent: true, objects }, { registrationName: 'c1.example.org' });
  const source = (name: SourceName, health: SourceHealth, errors: Partial<Record<ErrorReason, number>>) => ({
    name,
    health: () => health,
    errorCounts: () => new Map(ERROR_REASONS.map((r) => [r, errors[r] ?? 0])),
  });
  const sources = [
    source('etcd', { attempted: true, up: true, lastSuccessMs: 1_764_230_400_000, lastDurationSeconds: 0.012 }, { timeout: 1 }),
    source('kubernetes', { attempted: true, up: true, lastSuccessMs: 1_764_230_401_500, lastDurationSeconds: 0.034 }, {}),
  ];
  return createMetrics({ report: () => report, sources }, { version: '0.1.0', revision: 'golden', nodejsVersion: 'v20.0.0' }).text();
}

/** The k0s_etcdmember_ families as they are, then the other families' TYPE lines, sorted. */
function comparable(exposition: string): string {
  const own: string[] = [];
  const others: string[] = [];
  for (const line of exposition.split('\n')) {
    const name = /^(?:# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
    if (name === undefined) continue;
    if (name.startsWith('k0s_etcdmember_')) own.push(line);
    else if (line.startsWith('# TYPE ')) others.push(line);
  }
  return `${own.join('\n')}\n\n# Other families (values vary; names and types only):\n${others.sort().join('\n')}\n`;
}

describe('rendered text of the k0s#5369 scene', () => {
  it('is the same as the golden file', async () => {
    const got = comparable(await renderScene());
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, got);
    assert.equal(got, readFileSync(GOLDEN, 'utf8'), `the rendered text differs from ${GOLDEN}; if that is intended, regenerate it with UPDATE_GOLDEN=1`);
  });
});
