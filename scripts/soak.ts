// npm run soak [-- --minutes=30 --scrapers=50]: the exporter under load while its sources fail and its web config
// rotates, on loopback only. A real 3-member etcd and the Kubernetes API test server in the k0s#5369 state; the
// exporter as users run it, over TLS with basic auth from a web config; N concurrent scrapers over HTTPS (half keep
// their connection, half open a new one for every scrape, so every handshake meets the config of its moment);
// faults cycled every 10 s (etcd members paused, killed and restarted; API slow, down, 500, 403, watches dropped);
// the web config rewritten every 30 s (certificate, password hash, headers, client_auth_type, versions), every
// version one the scrapers can pass. Every 10 s the exporter's RSS, V8 heap (its own nodejs_heap_size_used_bytes),
// open file descriptors and TCP connections (to etcd, to the API server, from scrapers) are sampled. At the end: the
// table, the RSS and heap slopes after the first third (least squares, MiB per hour), and every failed scrape.
import { hashSync } from '@node-rs/bcrypt';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { sceneExporterOptions, startK0s5369Scene } from '../testbed/k0s5369.js';
import { makeWebPki } from '../testbed/web-pki.js';

const SAMPLE_MS = 10_000;
const ROTATE_MS = 30_000;
const { values } = parseArgs({ options: { minutes: { type: 'string', default: '5' }, scrapers: { type: 'string', default: '50' } } });
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) throw new Error(`--minutes=${values.minutes}: want a number of minutes, 0-1440`);
const durationMs = minutes * 60_000;
const scrapers = Number(values.scrapers);
if (!Number.isInteger(scrapers) || scrapers < 1 || scrapers > 500) throw new Error(`--scrapers=${values.scrapers}: want 1-500`);

const dir = mkdtempSync(join(tmpdir(), 'soak-'));
const pki = makeWebPki(dir);
const webFile = join(dir, 'web.yml');
const users = (): string => `basic_auth_users:\n  soak: '${hashSync('soak-pw', 10)}'\n`;
const tlsWith = (cert: string, extra = ''): string => `tls_server_config:\n  cert_file: ${cert}.crt\n  key_file: ${cert}.key\n${extra}`;
/** Web config versions in turn, each one the scrapers (no client certificate, the CA, the password) can pass. */
const webVersions: (() => string)[] = [
  () => `${tlsWith('server')}${users()}`,
  () => `${tlsWith('other')}${users()}http_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
  () => `${tlsWith('server', '  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n')}${users()}`,
  () => `${tlsWith('other', '  client_auth_type: RequestClientCert\n  min_version: TLS13\n')}${users()}`,
  () => `${tlsWith('server', '  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n')}${users()}`,
];
const writeWeb = (text: string): void => {
  writeFileSync(`${webFile}.new`, text);
  renameSync(`${webFile}.new`, webFile);
};
writeWeb(webVersions[0]!());
const auth = `Basic ${Buffer.from('soak:soak-pw').toString('base64')}`;
const ca = readFileSync(pki.caFile);

process.stderr.write(`soak: starting etcd (3 members), the API test server and the exporter; ${minutes} min, ${scrapers} scrapers\n`);
const scene = await startK0s5369Scene();
const exporter = await ExporterProcess.start({ ...sceneExporterOptions(scene), interval: '2s', extraArgs: [`--web.config.file=${webFile}`, '--log.level=info'] });
const { etcd, api } = scene;
const etcdPorts = new Set(etcd.members.map((m) => Number(new URL(m.clientUrl).port)));
const apiPort = Number(new URL(api.url).port);

interface Row {
  t: number;
  fault: string;
  rssMiB: number;
  heapMiB: number;
  fds: number;
  etcdConns: number;
  apiConns: number;
  scraperConns: number;
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
let heapBytes = 0;
const failures: string[] = [];

/** One scrape over HTTPS; `agent` keeps the connection, undefined opens a new one. */
function scrape(agent: Agent | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: exporter.host, port: exporter.port, path: '/metrics', ca, headers: { authorization: auth }, agent: agent ?? false, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

async function scraper(n: number): Promise<void> {
  const agent = n % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
  while (!stopping) {
    const t0 = performance.now();
    try {
      const { status, body } = await scrape(agent);
      if (status !== 200 || !body.includes('k0s_etcdmember_source_up')) {
        failed++;
        failures.push(`${Math.round((Date.now() - started) / 1000)} s: status ${status}: ${body.slice(0, 80)}`);
      } else {
        const heap = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(body);
        if (heap) heapBytes = Number(heap[1]);
      }
    } catch (err) {
      failed++;
      failures.push(`${Math.round((Date.now() - started) / 1000)} s: ${(err as Error).message}`);
    }
    scrapes++;
    latencies.push(performance.now() - t0);
  }
  agent?.destroy();
}

const faults: [string, () => Promise<void> | void, () => Promise<void> | void][] = [
  ['etcd member 2 killed', () => etcd.kill(1), () => etcd.restart(1)],
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
  const c = connections();
  rows.push({ t, fault, rssMiB: Math.round(rssKiB / 102.4) / 10, heapMiB: Math.round(heapBytes / 104857.6) / 10, fds: readdirSync(`/proc/${exporter.pid}/fd`).length, ...c, scrapes, failed, p50ms: q(0.5), p99ms: q(0.99), maxms: Math.round(sorted.at(-1) ?? 0) });
  latencies = [];
  scrapes = 0;
  failed = 0;
}

/** The exporter's established TCP connections, as the kernel lists them: to etcd, to the API server, from scrapers. */
function connections(): { etcdConns: number; apiConns: number; scraperConns: number } {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${exporter.pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${exporter.pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed between readdir and readlink
    }
  }
  const port = (hex: string): number => parseInt(hex.split(':')[1]!, 16);
  const out = { etcdConns: 0, apiConns: 0, scraperConns: 0 };
  for (const file of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${exporter.pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9]!)) continue;
      if (etcdPorts.has(port(f[2]!))) out.etcdConns++;
      else if (port(f[2]!) === apiPort) out.apiConns++;
      else if (port(f[1]!) === exporter.port) out.scraperConns++;
    }
  }
  return out;
}

const started = Date.now();
const workers = Array.from({ length: scrapers }, (_, n) => scraper(n));
let rotations = 0;
const rotator = setInterval(() => writeWeb(webVersions[++rotations % webVersions.length]!()), ROTATE_MS);
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
  clearInterval(rotator);
  stopping = true;
  await Promise.allSettled(workers);
  if (undo) await undo();
  await exporter.stop();
  await Promise.allSettled([etcd.stop(), api.close()]);
  rmSync(dir, { recursive: true, force: true });
}

const header = ['t(s)', 'fault during the period before', 'RSS MiB', 'heap MiB', 'fds', 'etcd conns', 'API conns', 'scraper conns', 'scrapes', 'failed', 'p50 ms', 'p99 ms', 'max ms'];
const table = rows.map((r) =>
  [r.t, r.fault, r.rssMiB.toFixed(1), r.heapMiB.toFixed(1), r.fds, r.etcdConns, r.apiConns, r.scraperConns, r.scrapes, r.failed, r.p50ms, r.p99ms, r.maxms].map(String),
);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
process.stdout.write(`${line(header)}\n${table.map(line).join('\n')}\n`);

/** Least-squares slope of y over t (seconds), in units per hour. */
function slopePerHour(points: { t: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return (num / den) * 3600;
}
// The first third is warm-up (JIT, caches, V8 growing its heap to its working size); the slope is of the rest.
const steady = rows.slice(Math.floor(rows.length / 3));
const stat = (k: 'fds' | 'etcdConns' | 'apiConns'): string => `${rows[0]?.[k]} first, ${steady[0]?.[k]} after warm-up, ${rows.at(-1)?.[k]} last, ${Math.max(...rows.map((r) => r[k]))} max`;
const total = rows.reduce((a, r) => a + r.scrapes, 0);
process.stdout.write(
  [
    `duration: ${minutes} min, ${scrapers} scrapers, ${total} scrapes, ${failures.length} failed; web config rotations: ${rotations}`,
    `RSS slope after warm-up: ${slopePerHour(steady.map((r) => ({ t: r.t, y: r.rssMiB }))).toFixed(1)} MiB/h (${steady[0]?.rssMiB} -> ${rows.at(-1)?.rssMiB} MiB)`,
    `heap slope after warm-up: ${slopePerHour(steady.map((r) => ({ t: r.t, y: r.heapMiB }))).toFixed(1)} MiB/h (${steady[0]?.heapMiB} -> ${rows.at(-1)?.heapMiB} MiB)`,
    `file descriptors: ${stat('fds')}`,
    `connections to etcd: ${stat('etcdConns')}; to the API server: ${stat('apiConns')}`,
    `exporter log lines: ${exporter.logs.length}; errors logged: ${exporter.logs.filter((l) => l.includes('"level":"error"')).length}`,
    ...failures.slice(0, 20).map((f) => `failed scrape at ${f}`),
    '',
  ].join('\n'),
);
