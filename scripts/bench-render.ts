// What one object change costs the exporter's CPU between the watch event and the scrape that shows it, without
// any network: the analysis, and rendering the report's families with the lines kept between renders
// (src/gauge-families.ts) against prom-client rendering every line from scratch (what the exporter did before).
// Each round adds or removes one object, as `npm run bench`'s change→metric does. A benchmark prints numbers; it
// passes or fails nothing.
//
//   npm run bench:render [-- --objects 1000 --rounds 300]
//
// Run it with the exporter's NODE_OPTIONS (the Dockerfile's) to see the cost under its small young generation.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { analyse } from '../src/analysis.js';
import { GaugeFamilies } from '../src/gauge-families.js';
import { reportFamilies } from '../src/metrics.js';
import type { EtcdMember, EtcdMemberObject } from '../src/model.js';
import { renderFromScratch } from '../testbed/reference-render.js';

const { values: opt } = parseArgs({ options: { objects: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '300' } } });
const objectCount = Number(opt.objects);
const rounds = Number(opt.rounds);
if (!Number.isInteger(objectCount) || objectCount < 4 || !Number.isInteger(rounds) || rounds < 20) {
  process.stderr.write(`bench-render: --objects takes a whole number ≥ 4 and --rounds one ≥ 20, got ${JSON.stringify(opt.objects)} and ${JSON.stringify(opt.rounds)}\n`);
  process.exit(2);
}

// The benchmark's scene: three members, their objects and the stale c1, then objects etcd does not know.
const members: EtcdMember[] = ['c1', 'c2', 'c3'].map((n, i) => ({ id: (0x8e9e05c52164 + i).toString(16), name: `${n}.example.org`, peerURLs: [`https://127.0.0.${i + 1}:2380`], clientURLs: [], isLearner: false }));
const object = (name: string, memberId: string, peerAddress: string): EtcdMemberObject => ({ name, memberId, invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: 'Success' });
const objects = [object('c1', members[0]!.id, '127.0.0.1'), ...members.map((m, i) => object(m.name, m.id, `127.0.0.${i + 1}`))];
for (let i = objects.length; i < objectCount; i++) objects.push(object(`controller-${i}.example.org`, randomBytes(8).toString('hex').replace(/^0+/, ''), `10.0.${i >> 8}.${i & 255}`));
const etcd = { members, localMemberId: members[0]!.id };
const host = { registrationName: 'c1.example.org' };

const families = reportFamilies();
const kept = new GaugeFamilies(families);

const times: Record<'analysis' | 'kept' | 'scratch', number[]> = { analysis: [], kept: [], scratch: [] };
let bytes = 0;
for (let i = 0; i < rounds; i++) {
  const changed = i % 2 === 0 ? [...objects, object(`bench-change-${i}`, randomBytes(8).toString('hex').replace(/^0+/, ''), '10.255.0.1')] : objects;
  const a = performance.now();
  const report = analyse(etcd, { crdPresent: true, objects: changed }, host);
  const b = performance.now();
  const text = await kept.render(report);
  const c = performance.now();
  const reference = await renderFromScratch(families, report);
  const d = performance.now();
  if (text !== reference) throw new Error(`round ${i}: the kept lines render differently from prom-client from scratch`);
  bytes = text.length;
  times.analysis.push(b - a);
  times.kept.push(c - b);
  times.scratch.push(d - c);
}

// The first rounds warm the JIT and fill the kept lines: leave out a tenth.
const stats = (xs: number[]): string => {
  const s = xs.slice(Math.floor(xs.length / 10)).sort((x, y) => x - y);
  const pct = (p: number): number => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  return `p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms, mean ${(s.reduce((x, y) => x + y, 0) / s.length).toFixed(2)} ms`;
};
process.stdout.write(`${objectCount} objects, ${rounds} rounds of one object added or removed, ${(bytes / 1000).toFixed(1)} kB of report families; Node ${process.version}, NODE_OPTIONS=${process.env['NODE_OPTIONS'] ?? ''}\n`);
process.stdout.write(`- analysis:                           ${stats(times.analysis)}\n`);
process.stdout.write(`- render, lines kept between renders: ${stats(times.kept)}\n`);
process.stdout.write(`- render, prom-client from scratch:   ${stats(times.scratch)}\n`);
