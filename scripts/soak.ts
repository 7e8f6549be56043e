// npm run soak [-- --minutes=30 --scrapers=50]: the exporter under load while its sources fail and its web config
// rotates, on loopback only. A real 3-member etcd and the Kubernetes API test server in the k0s#5369 state; the
// exporter as users run it, over TLS with basic auth from a web config; N concurrent scrapers over HTTPS (half keep
// their connection, half open a new one for every scrape, so every handshake meets the config of its moment);
// faults cycled every 10 s (etcd members paused, killed and restarted; API slow, down, 500, 403, watches dropped);
// the web config rewritten every 30 s (certificate, password hash, headers, client_auth_type, versions), every
// version one the scrapers can pass. Every 10 s the exporter's RSS, V8 heap (its own nodejs_heap_size_used_bytes:
// the last value, and the least any scrape of the period saw, the floor a leak raises; heap total; external memory),
// open file descriptors and TCP connections (to etcd, to the API server, from scrapers) are sampled. At the end: the
// table, the RSS and heap slopes after the first third (least squares, MiB per hour), and every failed scrape.
// Each period also shows the exporter's time in garbage collection (the first period's includes its start), the
// longest event-loop stall seen by the exporter (the largest
// nodejs_eventloop_lag_max_seconds among its scrapes) and by this process (which runs the API test server and the
// scrapers: a stall here makes scrapes look slow or failed without the exporter being at fault), and the load
// average. The exporter's whole log and a timeline of what the soak did stay in a directory printed at the start
// and the end; its warnings and errors are summed up by message and reason, each against the fault that was on.
import { hash, hashSync } from '@node-rs/bcrypt';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
// Kept after the run (dir is removed): the exporter's log and the soak's own timeline, to read a failure against.
const logDir = mkdtempSync(join(tmpdir(), 'soak-log-'));
const exporterLog = join(logDir, 'exporter.log');
const timelineLog = join(logDir, 'timeline.log');
const note = (what: string): void => appendFileSync(timelineLog, `${new Date().toISOString()} ${what}\n`);
const pki = makeWebPki(dir);
const webFile = join(dir, 'web.yml');
// A new hash (new salt) at every rotation: the exporter's cache of good checks must not outlive the hash.
const users = (h: string): string => `basic_auth_users:\n  soak: '${h}'\n`;
const tlsWith = (cert: string, extra = ''): string => `tls_server_config:\n  cert_file: ${cert}.crt\n  key_file: ${cert}.key\n${extra}`;
/** Web config versions in turn, each one the scrapers (no client certificate, the CA, the password) can pass. */
const webVersions: ((h: string) => string)[] = [
  (h) => `${tlsWith('server')}${users(h)}`,
  (h) => `${tlsWith('other')}${users(h)}http_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
  (h) => `${tlsWith('server', '  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n')}${users(h)}`,
  (h) => `${tlsWith('other', '  client_auth_type: RequestClientCert\n  min_version: TLS13\n')}${users(h)}`,
  (h) => `${tlsWith('server', '  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n')}${users(h)}`,
];
let webVersion = 0;
const writeWeb = (n: number, h: string): void => {
  writeFileSync(`${webFile}.new`, webVersions[n % webVersions.length]!(h));
  renameSync(`${webFile}.new`, webFile);
  webVersion = n % webVersions.length;
  note(`web config version ${webVersion} written`);
};
writeWeb(0, hashSync('soak-pw', 10));
const auth = `Basic ${Buffer.from('soak:soak-pw').toString('base64')}`;
const ca = readFileSync(pki.caFile);

process.stderr.write(`soak: starting etcd (3 members), the API test server and the exporter; ${minutes} min, ${scrapers} scrapers; logs in ${logDir}\n`);
const scene = await startK0s5369Scene();
const exporter = await ExporterProcess.start({
  ...sceneExporterOptions(scene),
  interval: '2s',
  extraArgs: [`--web.config.file=${webFile}`, '--log.level=info'],
  logFile: exporterLog,
});
const { etcd, api } = scene;
const etcdPorts = new Set(etcd.members.map((m) => Number(new URL(m.clientUrl).port)));
const apiPort = Number(new URL(api.url).port);

interface Row {
  t: number;
  fault: string;
  rssMiB: number;
  heapMiB: number;
  heapFloorMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  gcMs: number;
  fds: number;
  etcdConns: number;
  apiConns: number;
  scraperConns: number;
  scrapes: number;
  failed: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
  exporterLagMs: number;
  soakLagMs: number;
  load1: number;
  exporterCpu: number;
  soakCpu: number;
}
const rows: Row[] = [];
let scrapes = 0;
let failed = 0;
let latencies: number[] = [];
let fault = 'none';
let stopping = false;
let heapBytes = 0;
/** The least heap used any scrape of the period saw: close to what survives a collection, where a leak shows. */
let heapFloor = Infinity;
let heapTotalBytes = 0;
let externalBytes = 0;
/** The exporter's time in garbage collection so far (nodejs_gc_duration_seconds_sum over every kind), and at the last sample. */
let gcSeconds = 0;
let gcSecondsAtSample = 0;
let exporterLagMax = 0;
const soakLag = monitorEventLoopDelay({ resolution: 20 });
soakLag.enable();
/** This process's event-loop stalls of over half a second, when they ended (performance.now()) and how long. */
const soakStalls: { end: number; ms: number }[] = [];
let lastTick = performance.now();
const stallWatch = setInterval(() => {
  const now = performance.now();
  if (now - lastTick > 600) {
    soakStalls.push({ end: now, ms: Math.round(now - lastTick - 100) });
    note(`this process stalled ${Math.round(now - lastTick - 100)} ms`);
  }
  lastTick = now;
}, 100);
const failures: string[] = [];
/** When each fault was on, for judging the exporter's log lines. */
const faultWindows: { name: string; from: number; to: number }[] = [];

/** One scrape over HTTPS; `agent` keeps the connection, undefined opens a new one. */
function scrape(agent: Agent | undefined): Promise<{ status: number; body: string }> {
  const t0 = performance.now();
  /** How far the scrape got, for the message of one that failed. */
  const phases: string[] = [];
  const reached = (what: string): void => {
    phases.push(`${what} +${Math.round(performance.now() - t0)} ms`);
  };
  let progressed = false;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: exporter.host, port: exporter.port, path: '/metrics', ca, headers: { authorization: auth }, agent: agent ?? false, timeout: 5000 },
      (res) => {
        reached('response');
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          progressed = true;
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      if (!socket.connecting) {
        reached('kept connection');
        return;
      }
      socket.once('connect', () => reached('TCP connected'));
      socket.once('secureConnect', () => {
        progressed = true;
        reached('TLS done');
      });
    });
    req.on('timeout', () => {
      // This process runs 50 scrapers and the API test server: when it stalls, the timer runs before the answer
      // that arrived meanwhile is read. The poll phase, which reads it, comes before setImmediate's.
      progressed = false;
      setImmediate(() => {
        if (!progressed) req.destroy(new Error(`no answer within 5 s (${phases.join(', ') || 'no connection'})`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A failed scrape, with what a reader needs to place it: when it started and ended, its connection, the fault and web config then. */
function fail(n: number, t0: number, what: string): void {
  failed++;
  const at = (ms: number): string => ((ms - startedPerf) / 1000).toFixed(1);
  const stalled = Math.max(0, ...soakStalls.filter((s) => s.end > t0).map((s) => s.ms));
  const line = `${at(t0)}-${at(performance.now())} s, scraper ${n} (${n % 2 === 0 ? 'kept connection' : 'new connection'}), fault: ${fault}, web config v${webVersion}, longest stall of this process meanwhile ${stalled} ms: ${what}`;
  failures.push(line);
  note(`failed scrape ${line}`);
}

async function scraper(n: number): Promise<void> {
  const agent = n % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
  while (!stopping) {
    const t0 = performance.now();
    try {
      const { status, body } = await scrape(agent);
      if (status !== 200 || !body.includes('k0s_etcdmember_source_up')) {
        fail(n, t0, `status ${status}: ${body.slice(0, 80)}`);
      } else {
        const heap = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(body);
        if (heap) {
          heapBytes = Number(heap[1]);
          heapFloor = Math.min(heapFloor, heapBytes);
        }
        const total = /^nodejs_heap_size_total_bytes (\S+)$/m.exec(body);
        if (total) heapTotalBytes = Number(total[1]);
        const external = /^nodejs_external_memory_bytes (\S+)$/m.exec(body);
        if (external) externalBytes = Number(external[1]);
        const gc = [...body.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
        gcSeconds = Math.max(gcSeconds, gc);
        const lag = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(body);
        if (lag) exporterLagMax = Math.max(exporterLagMax, Number(lag[1]) * 1000);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      fail(n, t0, `${(err as Error).message}${code ? ` (${code})` : ''}`);
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

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number | 'self'): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
let lastCpu = { at: performance.now(), exporter: 0, soak: 0 };

const mib = (bytes: number): number => (Number.isFinite(bytes) ? Math.round(bytes / 104857.6) / 10 : NaN);

function sample(t: number): void {
  const cpu = { at: performance.now(), exporter: cpuSeconds(exporter.pid), soak: cpuSeconds('self') };
  const share = (k: 'exporter' | 'soak'): number => Math.round(((cpu[k] - lastCpu[k]) / ((cpu.at - lastCpu.at) / 1000)) * 100);
  const status = readFileSync(`/proc/${exporter.pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const sorted = latencies.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
  const c = connections();
  rows.push({
    t, fault, rssMiB: Math.round(rssKiB / 102.4) / 10, heapMiB: mib(heapBytes), heapFloorMiB: mib(heapFloor), heapTotalMiB: mib(heapTotalBytes), externalMiB: mib(externalBytes), gcMs: Math.round((gcSeconds - gcSecondsAtSample) * 1000), fds: readdirSync(`/proc/${exporter.pid}/fd`).length, ...c,
    scrapes, failed, p50ms: q(0.5), p99ms: q(0.99), maxms: Math.round(sorted.at(-1) ?? 0),
    exporterLagMs: Math.round(exporterLagMax), soakLagMs: Math.round(soakLag.max / 1e6), load1: loadavg()[0]!, exporterCpu: share('exporter'), soakCpu: share('soak'),
  });
  lastCpu = cpu;
  latencies = [];
  scrapes = 0;
  failed = 0;
  exporterLagMax = 0;
  heapFloor = Infinity;
  gcSecondsAtSample = gcSeconds;
  soakLag.reset();
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
const startedPerf = performance.now();
lastCpu = { at: performance.now(), exporter: cpuSeconds(exporter.pid), soak: cpuSeconds('self') };
note('started');
const workers = Array.from({ length: scrapers }, (_, n) => scraper(n));
let rotations = 0;
// bcrypt off the event loop: a hash made here in line would stall the scrapers and the API test server.
const rotator = setInterval(() => {
  void hash('soak-pw', 10).then((h) => {
    if (!stopping) writeWeb(++rotations, h);
  });
}, ROTATE_MS);
let undo: (() => Promise<void> | void) | undefined;
try {
  for (let i = 0; Date.now() - started < durationMs; i++) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, durationMs - (Date.now() - started))));
    sample(Math.round((Date.now() - started) / 1000));
    // Every other period a fault, every other period recovery: each fault is seen starting and ending.
    if (undo) {
      note(`undoing ${fault}`);
      await undo();
      faultWindows.at(-1)!.to = Date.now();
      note(`undone ${fault}`);
      undo = undefined;
      fault = 'none';
    } else {
      const [name, apply, revert] = faults[(i / 2) % faults.length | 0]!;
      note(`applying ${name}`);
      faultWindows.push({ name, from: Date.now(), to: Infinity });
      await apply();
      note(`applied ${name}`);
      undo = revert;
      fault = name;
    }
  }
} finally {
  clearInterval(rotator);
  clearInterval(stallWatch);
  stopping = true;
  await Promise.allSettled(workers);
  if (undo) await undo();
  note('stopping');
  await exporter.stop();
  await Promise.allSettled([etcd.stop(), api.close()]);
  rmSync(dir, { recursive: true, force: true });
}

const header = ['t(s)', 'fault during the period before', 'RSS MiB', 'heap MiB', 'heap floor MiB', 'heap total MiB', 'external MiB', 'fds', 'etcd conns', 'API conns', 'scraper conns', 'scrapes', 'failed', 'p50 ms', 'p99 ms', 'max ms', 'exporter stall ms', 'exporter GC ms', 'soak stall ms', 'load', 'exporter CPU %', 'soak CPU %'];
const table = rows.map((r) =>
  [r.t, r.fault, r.rssMiB.toFixed(1), r.heapMiB.toFixed(1), r.heapFloorMiB.toFixed(1), r.heapTotalMiB.toFixed(1), r.externalMiB.toFixed(1), r.fds, r.etcdConns, r.apiConns, r.scraperConns, r.scrapes, r.failed, r.p50ms, r.p99ms, r.maxms, r.exporterLagMs, r.gcMs, r.soakLagMs, r.load1.toFixed(1), r.exporterCpu, r.soakCpu].map(String),
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
/**
 * The heap's lows: the least heap used in each 2-minute window after warm-up. Between major collections heap
 * used climbs whatever the live set is; its low in a window long enough to hold a major collection is what
 * survives one, and a leak makes the lows climb.
 */
function lowsLine(): string {
  const lows: { t: number; y: number }[] = [];
  for (let i = 0; i + 12 <= steady.length; i += 12) {
    const w = steady.slice(i, i + 12).filter((r) => Number.isFinite(r.heapFloorMiB));
    if (w.length > 0) lows.push({ t: w[0]!.t, y: Math.min(...w.map((r) => r.heapFloorMiB)) });
  }
  return `heap lows (least used per 2 minutes after warm-up): ${lows.map((l) => l.y).join(', ')} MiB; slope ${slopePerHour(lows).toFixed(1)} MiB/h`;
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
    ...(['heapFloorMiB', 'heapTotalMiB', 'externalMiB'] as const).map((k) => {
      const pts = steady.filter((r) => Number.isFinite(r[k])).map((r) => ({ t: r.t, y: r[k] }));
      return `${{ heapFloorMiB: 'heap floor (least used per period)', heapTotalMiB: 'heap total (V8 reserved)', externalMiB: 'external (Buffers, TLS)' }[k]} slope after warm-up: ${slopePerHour(pts).toFixed(1)} MiB/h (${pts[0]?.y} -> ${pts.at(-1)?.y} MiB, ${Math.min(...pts.map((p) => p.y))}-${Math.max(...pts.map((p) => p.y))})`;
    }),
    lowsLine(),
    `file descriptors: ${stat('fds')}`,
    `connections to etcd: ${stat('etcdConns')}; to the API server: ${stat('apiConns')}`,
    `load average (1 min): ${Math.min(...rows.map((r) => r.load1)).toFixed(1)} min, ${(rows.reduce((a, r) => a + r.load1, 0) / rows.length).toFixed(1)} mean, ${Math.max(...rows.map((r) => r.load1)).toFixed(1)} max`,
    `longest event-loop stall: exporter ${Math.max(...rows.map((r) => r.exporterLagMs))} ms, soak ${Math.max(...rows.map((r) => r.soakLagMs))} ms`,
    ...logSummary(),
    ...failures.map((f) => `failed scrape at ${f}`),
    `exporter log: ${exporterLog}; soak timeline: ${timelineLog}`,
    '',
  ].join('\n'),
);

/**
 * The exporter's warnings and errors by level, message and reason, each counted against the fault that was on when
 * it was logged (or had ended less than GRACE_MS before: a source recovers at its next poll or backoff; a fault
 * starts 10 s after the last one ended, so this is always the last fault that started), and "no fault" when none was. A line under "no fault" is one the soak did not cause, unless a web config or
 * start-up line.
 */
function logSummary(): string[] {
  const GRACE_MS = 15_000;
  const groups = new Map<string, Map<string, number>>();
  let lines = 0;
  for (const text of readFileSync(exporterLog, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue;
    lines++;
    const rec = JSON.parse(text) as { ts: string; level: string; msg: string; reason?: string; source?: string };
    if (rec.level !== 'warn' && rec.level !== 'error') continue;
    const ts = Date.parse(rec.ts);
    // Faults never overlap: the one that started last before the line, if it is still on or just ended.
    const last = faultWindows.filter((w) => w.from <= ts).at(-1);
    const during = last !== undefined && ts <= last.to + GRACE_MS ? last.name : 'no fault';
    const key = `${rec.level} "${rec.msg}"${rec.reason ? ` reason=${rec.reason}` : ''}`;
    const byFault = groups.get(key) ?? new Map<string, number>();
    byFault.set(during, (byFault.get(during) ?? 0) + 1);
    groups.set(key, byFault);
  }
  const out = [`exporter log lines: ${lines}; warnings and errors by message and reason, with the fault on when logged:`];
  for (const [key, byFault] of [...groups].sort()) {
    const total = [...byFault.values()].reduce((a, b) => a + b, 0);
    out.push(`  ${total} ${key}: ${[...byFault].map(([f, c]) => `${c} ${f}`).join(', ')}`);
  }
  return out;
}
