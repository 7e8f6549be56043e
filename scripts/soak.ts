// npm run soak [-- --duration=1m --scrapers=50]: the exporter under load while its sources fail, on loopback only.
// A real 3-member etcd and the Kubernetes API test server in the k0s#5369 state; the exporter as users run it,
// with basic auth from a web config (so the password cache is on the hot path); N concurrent scrapers; faults
// cycled every 10 s (etcd member paused, killed and restarted; API slow, down, 500, 403, watches dropped). Every 10 s
// the exporter's RSS and open file descriptors are sampled; a table is printed at the end. A script that prints
// numbers, not a test: it passes no judgement, the reader compares the first and last rows.
import { hashSync } from '@node-rs/bcrypt';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config.js';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { sceneExporterOptions, startK0s5369Scene } from '../testbed/k0s5369.js';

const SAMPLE_MS = 10_000;
const { values } = parseArgs({ options: { duration: { type: 'string', default: '5m' }, scrapers: { type: 'string', default: '50' } } });
const durationMs = parseDuration(values.duration);
const scrapers = Number(values.scrapers);
if (!Number.isInteger(scrapers) || scrapers < 1 || scrapers > 500) throw new Error(`--scrapers=${values.scrapers}: want 1-500`);

const dir = mkdtempSync(join(tmpdir(), 'soak-'));
const webFile = join(dir, 'web.yml');
writeFileSync(webFile, `basic_auth_users:\n  soak: '${hashSync('soak-pw', 10)}'\n`);
const auth = `Basic ${Buffer.from('soak:soak-pw').toString('base64')}`;

process.stderr.write(`soak: starting etcd (3 members), the API test server and the exporter; ${values.duration}, ${scrapers} scrapers\n`);
const scene = await startK0s5369Scene();
const exporter = await ExporterProcess.start({ ...sceneExporterOptions(scene), interval: '2s', extraArgs: [`--web.config.file=${webFile}`, '--log.level=info'] });
const { etcd, api } = scene;

interface Row {
  t: number;
  fault: string;
  rssMiB: number;
  fds: number;
  scrapes: number;
  failed: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
}
const rows: Row[] = [];
let scrapes = 0;
let failed = 0;
let latencies: number[] = [];
let fault = 'none';
let stopping = false;

async function scraper(): Promise<void> {
  while (!stopping) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${exporter.url}/metrics`, { headers: { authorization: auth }, signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      if (res.status !== 200 || !body.includes('k0s_etcdmember_source_up')) failed++;
    } catch {
      failed++;
    }
    scrapes++;
    latencies.push(performance.now() - t0);
  }
}

const faults: [string, () => Promise<void> | void, () => Promise<void> | void][] = [
  ['etcd member 2 paused', () => etcd.pause(1), () => etcd.resume(1)],
  ['API slow (3 s)', () => { api.setLatency(3000); api.dropWatches(); }, () => api.setLatency(0)],
  ['etcd member 3 killed', () => etcd.kill(2), () => etcd.restart(2)],
  ['API down', () => api.stop(), () => api.restart()],
  ['API 500s (next 5 requests)', () => { api.failNext(5, 500); api.dropWatches(); }, () => {}],
  ['API 403', () => { api.setForbidden(true); api.dropWatches(); }, () => api.setForbidden(false)],
  ['etcd member 1 paused (local)', () => etcd.pause(0), () => etcd.resume(0)],
];

function sample(t: number): void {
  const status = readFileSync(`/proc/${exporter.pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const sorted = latencies.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
  rows.push({ t, fault, rssMiB: Math.round(rssKiB / 102.4) / 10, fds: readdirSync(`/proc/${exporter.pid}/fd`).length, scrapes, failed, p50ms: q(0.5), p99ms: q(0.99), maxms: Math.round(sorted.at(-1) ?? 0) });
  latencies = [];
  scrapes = 0;
  failed = 0;
}

const started = Date.now();
const workers = Array.from({ length: scrapers }, () => scraper());
let undo: (() => Promise<void> | void) | undefined;
try {
  for (let i = 0; Date.now() - started < durationMs; i++) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, durationMs - (Date.now() - started))));
    sample(Math.round((Date.now() - started) / 1000));
    // Every other period a fault, every other period recovery: each fault is seen starting and ending.
    if (undo) {
      await undo();
      undo = undefined;
      fault = 'none';
    } else {
      const [name, apply, revert] = faults[(i / 2) % faults.length | 0]!;
      await apply();
      undo = revert;
      fault = name;
    }
  }
} finally {
  stopping = true;
  await Promise.allSettled(workers);
  if (undo) await undo();
  await exporter.stop();
  await Promise.allSettled([etcd.stop(), api.close()]);
  rmSync(dir, { recursive: true, force: true });
}

const header = ['t(s)', 'fault during the period before', 'RSS MiB', 'fds', 'scrapes', 'failed', 'p50 ms', 'p99 ms', 'max ms'];
const table = rows.map((r) => [String(r.t), r.fault, r.rssMiB.toFixed(1), String(r.fds), String(r.scrapes), String(r.failed), String(r.p50ms), String(r.p99ms), String(r.maxms)]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
process.stdout.write(`${line(header)}\n${table.map(line).join('\n')}\n`);
process.stdout.write(`exporter log lines: ${exporter.logs.length}; errors logged: ${exporter.logs.filter((l) => l.includes('"level":"error"')).length}\n`);
