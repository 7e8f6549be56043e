// What a scrape costs, in one run and one table: the exporter against the limits for any exporter built on
// express and on bare Node `http` (both serving the exporter's own current /metrics bytes), and against Debian's
// prometheus-node-exporter, the reference operators know. Load comes from wrk; CPU and RSS from /proc. A
// benchmark prints numbers; it passes or fails nothing, but says which targets of issue 13 the run met.
//
//   npm run bench [-- --objects 1000 --duration 10 --connections 20 --changes 50 --settle-minutes 5 --node-options='...']
//
// Everything listens on loopback, every wait has a deadline, and every process started here is stopped at the
// end (or on SIGINT/SIGTERM). The exporter reads a real 3-member etcd and the Kubernetes API test server.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { KubeApiTestServer, etcdMemberObject, k0s5369Objects } from '../testbed/kube-api-server.js';
import { startK0s5369Scene, sceneExporterOptions, type K0s5369Scene } from '../testbed/k0s5369.js';
import { REPO_ROOT } from '../testbed/paths.js';
import { freePort } from '../testbed/wait.js';

const SELF = fileURLToPath(import.meta.url);
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

// ---- serve mode: the express and bare-http baselines run as their own processes, like the exporter ----

const { values: opt } = parseArgs({
  options: {
    serve: { type: 'string' },
    body: { type: 'string' },
    objects: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    changes: { type: 'string', default: '50' },
    'settle-minutes': { type: 'string', default: '0' },
    // The exporter's Node.js flags; default those the Dockerfile ships.
    'node-options': { type: 'string' },
  },
});

async function serve(kind: string, bodyFile: string | undefined): Promise<void> {
  if (bodyFile === undefined) throw new Error('--serve needs --body FILE');
  const body = readFileSync(bodyFile);
  let server: http.Server;
  if (kind === 'express') {
    // The idiomatic express handler, with express's defaults (ETag included): the ceiling of an express exporter.
    const { default: express } = await import('express');
    const app = express();
    app.get('/metrics', (_req, res) => {
      res.type(CONTENT_TYPE).send(body);
    });
    server = http.createServer(app);
  } else if (kind === 'http') {
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': body.length });
      res.end(body);
    });
  } else {
    throw new Error(`--serve takes express or http, not ${JSON.stringify(kind)}`);
  }
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

// ---- the benchmark ----

function wholeNumber(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench: --${name} takes a whole number of at least ${min}, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

interface Row {
  objects: string;
  server: string;
  bytes: string;
  reqPerSec?: number;
  p50?: number;
  p99?: number;
  cpuMsPerScrape?: number;
  rssIdle?: number;
  rssDuring?: number;
  rssAfter?: number;
  rssSettled?: number;
  note?: string;
}

/** A process the bench measures: its pid and a URL to load. */
interface Target {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
}

const cleanups: (() => unknown)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        process.stderr.write(`bench: cleanup: ${String(err)}\n`);
      }
    }
  })();
  return cleaning;
}

async function bench(): Promise<void> {
  const objectCount = wholeNumber('objects', opt.objects, 5);
  const duration = wholeNumber('duration', opt.duration, 1);
  const connections = wholeNumber('connections', opt.connections, 1);
  const changes = wholeNumber('changes', opt.changes, 2);
  const settleMinutes = wholeNumber('settle-minutes', opt['settle-minutes'], 0);
  const nodeOptions = opt['node-options'] ?? shippedNodeOptions();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void cleanup().then(() => process.exit(130)));
  }

  const rows: Row[] = [];
  const targets: { what: string; want: string; got: string; met: boolean }[] = [];
  const loads: { exporter: ExporterProcess; label: string; idle: number; endedAt: number; row: Row }[] = [];
  const wrkArgs = (url: string, gzip: boolean): string[] => [
    '-t2', `-c${connections}`, `-d${duration}s`, '--latency', ...(gzip ? ['-H', 'Accept-Encoding: gzip'] : []), url,
  ];
  const machine = `${cpus().length} CPUs (${cpuModel()}), Node ${process.version}, ${wrkVersion()}`;
  // The machine may be shared: its load before and after the run says how far to trust the absolute numbers.
  const loadBefore = loadavg()[0]!;
  process.stderr.write(`bench: ${machine}\n`);

  try {
    const scene = await startK0s5369Scene();
    cleanups.push(() => Promise.all([scene.etcd.stop(), scene.api.close()]));
    const big = await KubeApiTestServer.start();
    cleanups.push(() => big.close());
    seedBig(big, scene, objectCount);

    const cases = [
      { label: '4 (k0s#5369)', short: '4', api: scene.api, objects: 4 },
      { label: objectCount.toLocaleString('en'), short: objectCount.toLocaleString('en'), api: big, objects: objectCount },
    ];
    for (const c of cases) {
      process.stderr.write(`bench: ${c.objects} objects\n`);
      // Only the exporter runs with the shipped flags; the baselines are what any Node.js exporter gets by default.
      const saved = process.env['NODE_OPTIONS'];
      process.env['NODE_OPTIONS'] = nodeOptions;
      const exporter = await ExporterProcess.start({
        ...sceneExporterOptions(scene),
        kubeconfig: c.api.kubeconfigPath,
        interval: '15s',
        etcdTimeout: '5s',
        kubernetesTimeout: '10s',
        extraArgs: ['--log.level=info'],
      }).finally(() => {
        if (saved === undefined) delete process.env['NODE_OPTIONS'];
        else process.env['NODE_OPTIONS'] = saved;
      });
      cleanups.push(() => exporter.stop());
      await exporter.waitFor(
        `${c.objects} objects and 3 etcd members on /metrics`,
        (s) =>
          s.some((x) => x.name === 'k0s_etcdmember_members' && x.labels['source'] === 'kubernetes' && x.value === c.objects) &&
          s.some((x) => x.name === 'k0s_etcdmember_members' && x.labels['source'] === 'etcd' && x.value === 3),
        30_000,
      );
      // Idle: loaded, first reads done, nothing asking.
      await sleep(5000);
      const idle = rssMb(exporter.pid);
      const plain = await get(`${exporter.url}/metrics`, {});
      const gz = await get(`${exporter.url}/metrics`, { 'Accept-Encoding': 'gzip' });
      const gzBytes = gz.headers['content-encoding'] === 'gzip' ? `${kb(gz.body.length)} gzip` : 'no gzip';
      const exporterTarget = { name: 'exporter', pid: exporter.pid, url: `${exporter.url}/metrics` };

      const row = await load(exporterTarget, wrkArgs(exporterTarget.url, false), c.label, kb(plain.body.length), idle);
      rows.push(row);
      loads.push({ exporter, label: c.short, idle, endedAt: Date.now(), row });
      rows.push(await load({ ...exporterTarget, name: 'exporter, Accept-Encoding: gzip' }, wrkArgs(exporterTarget.url, true), c.label, gzBytes, rssMb(exporter.pid)));

      // The same bytes from the two baselines.
      const dir = mkdtempSync(join(tmpdir(), 'bench-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const bodyFile = join(dir, 'metrics.txt');
      writeFileSync(bodyFile, plain.body);
      const baseline: Record<string, Row> = {};
      // Bare Node twice: with Node's defaults (the limit of any Node.js exporter) and with the exporter's own
      // NODE_OPTIONS (the limit under the memory settings the exporter ships with).
      const baselines = [
        { key: 'express', kind: 'express', name: 'express, same bytes', nodeOptions: undefined },
        { key: 'http', kind: 'http', name: 'bare Node http, same bytes', nodeOptions: undefined },
        { key: 'http-shipped', kind: 'http', name: "bare Node http, same bytes, exporter's NODE_OPTIONS", nodeOptions },
      ] as const;
      for (const b of baselines) {
        const child = await startBaseline(b.kind, bodyFile, b.nodeOptions);
        const t = { name: b.name, pid: child.pid!, url: `http://127.0.0.1:${child.port}/metrics` };
        const r = await load(t, wrkArgs(t.url, false), c.label, kb(plain.body.length), rssMb(child.pid!));
        baseline[b.key] = r;
        rows.push(r);
        await stopChild(child);
      }
      if (c.objects === 4) rows.push(await nodeExporterRow(wrkArgs, c.label));

      const latencies = await changeLatency(exporter, c.api, changes);
      rows.push({ objects: c.label, server: `exporter, change→metric (${changes} changes)`, bytes: '', p50: latencies.p50, p99: latencies.p99, note: `max ${latencies.max.toFixed(1)} ms` });

      // The targets of issue 13, as ratios within this run where the machine's noise would blur absolutes.
      const ratio = row.reqPerSec! / baseline['express']!.reqPerSec!;
      if (c.objects === 4) {
        targets.push({ what: '4 objects: req/s vs express, same bytes', want: '≥ 0.6×', got: `${ratio.toFixed(2)}×`, met: ratio >= 0.6 });
        targets.push({ what: '4 objects: CPU per scrape', want: '≤ 0.15 ms', got: `${row.cpuMsPerScrape!.toFixed(3)} ms`, met: row.cpuMsPerScrape! <= 0.15 });
        targets.push({ what: '4 objects: RSS idle', want: '≤ 115 MB', got: `${idle.toFixed(1)} MB`, met: idle <= 115 });
      } else {
        targets.push({ what: `${c.short} objects: CPU per scrape`, want: '≤ 0.5 ms', got: `${row.cpuMsPerScrape!.toFixed(3)} ms`, met: row.cpuMsPerScrape! <= 0.5 });
        const floor = baseline['http-shipped']!.p99!;
        targets.push({ what: `${c.short} objects: p99 at ${connections} concurrent`, want: '≤ 10 ms', got: `${row.p99!.toFixed(2)} ms; bare Node http with the same bytes and NODE_OPTIONS: ${floor.toFixed(2)} ms`, met: row.p99! <= 10 });
      }
      const grown = (row.rssAfter! / idle - 1) * 100;
      targets.push({ what: `${c.short} objects: RSS right after ${duration} s at ${connections} concurrent`, want: '≤ 10 % above idle', got: `${signed(grown)} %`, met: grown <= 10 });
      targets.push({ what: `${c.short} objects: change→metric p99`, want: '< 50 ms', got: `${latencies.p99.toFixed(1)} ms`, met: latencies.p99 < 50 });

      if (settleMinutes === 0) await exporter.stop();
    }

    if (settleMinutes > 0) {
      // Both exporters stay up, each with its own API server, so one wait covers both.
      for (const l of loads) {
        const wait = l.endedAt + settleMinutes * 60_000 - Date.now();
        if (wait > 0) {
          process.stderr.write(`bench: waiting ${Math.round(wait / 1000)} s for RSS ${settleMinutes} min after the load (${l.label} objects)\n`);
          await sleep(wait);
        }
        l.row.rssSettled = rssMb(l.exporter.pid);
        const grown = (l.row.rssSettled / l.idle - 1) * 100;
        targets.push({ what: `${l.label} objects: RSS ${settleMinutes} min after the load`, want: '≤ 5 % above idle', got: `${signed(grown)} %`, met: grown <= 5 });
      }
    }
  } finally {
    await cleanup();
  }

  const command = `npm run bench -- --objects ${objectCount} --duration ${duration} --connections ${connections} --changes ${changes}${settleMinutes > 0 ? ` --settle-minutes ${settleMinutes}` : ''}${opt['node-options'] === undefined ? '' : ` --node-options='${nodeOptions}'`}`;
  process.stdout.write(`Machine: ${machine}\nLoad average (1 min): ${loadBefore.toFixed(2)} before the run, ${loadavg()[0]!.toFixed(2)} after\nCommand: ${command}\nExporter's NODE_OPTIONS: ${nodeOptions}\nLoad: wrk -t2 -c${connections} -d${duration}s --latency, one run per row\n\n`);
  process.stdout.write(table(rows, settleMinutes));
  process.stdout.write('\nTargets (issue 13):\n');
  for (const t of targets) process.stdout.write(`- ${t.met ? 'met    ' : 'MISSED '} ${t.what}: ${t.got} (want ${t.want})\n`);
}

/** The 1,000-object view: the k0s#5369 objects plus generated ones whose member IDs etcd does not know (orphaned). */
function seedBig(api: KubeApiTestServer, scene: K0s5369Scene, total: number): void {
  const sceneObjects = k0s5369Objects(scene.etcd.members.map((m) => ({ name: m.name, memberIdHex: m.idHex, peerAddress: m.ip })));
  for (const o of sceneObjects) api.create(o);
  for (let i = 0; i < total - sceneObjects.length; i++) {
    api.create(etcdMemberObject(`controller-${i}.example.org`, { memberID: randomBytes(8).toString('hex'), peerAddress: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` }));
  }
}

/** Runs wrk against a target and reads its CPU time and RSS around the run. */
async function load(t: Target, args: string[], objects: string, bytes: string, rssIdle: number): Promise<Row> {
  process.stderr.write(`bench:   ${t.name}\n`);
  const before = cpuTicks(t.pid);
  let rssDuring = 0;
  const sampler = setInterval(() => (rssDuring = Math.max(rssDuring, rssMb(t.pid))), 250);
  let out: string;
  try {
    out = await runWrk(args);
  } finally {
    clearInterval(sampler);
  }
  const rssAfter = rssMb(t.pid);
  const cpuMs = ((cpuTicks(t.pid) - before) / CLK_TCK) * 1000;
  const w = parseWrk(out);
  return {
    objects, server: t.name, bytes, reqPerSec: w.reqPerSec, p50: w.p50, p99: w.p99, cpuMsPerScrape: cpuMs / w.requests,
    rssIdle, rssDuring: Math.max(rssDuring, rssAfter), rssAfter,
    ...(w.errors ? { note: w.errors } : {}),
  };
}

function runWrk(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const duration = Number(args.find((a) => a.startsWith('-d'))!.slice(2, -1));
    const timer = setTimeout(() => child.kill('SIGKILL'), (duration + 20) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/** Requests/sec, the 50th and 99th latency percentiles (ms), the request count and any error line of wrk's report. */
function parseWrk(out: string): { reqPerSec: number; p50: number; p99: number; requests: number; errors: string } {
  const ms = (pct: string): number => {
    const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`no ${pct}% latency in wrk's output:\n${out}`);
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const requests = /^\s+(\d+) requests in /m.exec(out);
  if (!rps || !requests) throw new Error(`cannot read wrk's output:\n${out}`);
  const errors = out.split('\n').filter((l) => /Socket errors|Non-2xx/.test(l)).map((l) => l.trim()).join('; ');
  return { reqPerSec: Number(rps[1]), p50: ms('50'), p99: ms('99'), requests: Number(requests[1]), errors };
}

/** The time from an object change in the API to /metrics showing it, polled as fast as one scraper can. */
async function changeLatency(exporter: ExporterProcess, api: KubeApiTestServer, count: number): Promise<{ p50: number; p99: number; max: number }> {
  process.stderr.write(`bench:   change→metric, ${count} changes\n`);
  const url = `${exporter.url}/metrics`;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-change-${i >> 1}`;
    const create = i % 2 === 0;
    const started = performance.now();
    if (create) api.create(etcdMemberObject(name, { memberID: randomBytes(8).toString('hex'), peerAddress: '10.255.0.1' }));
    else api.delete(name);
    const needle = `name="${name}"`;
    for (;;) {
      const text = (await get(url, {})).body.toString('utf8');
      if (text.includes(needle) === create) break;
      if (performance.now() - started > 10_000) throw new Error(`/metrics did not show the ${create ? 'creation' : 'deletion'} of ${name} within 10 s`);
    }
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number): number => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
  return { p50: pct(50), p99: pct(99), max: times[times.length - 1]! };
}

async function nodeExporterRow(wrkArgs: (url: string, gzip: boolean) => string[], objects: string): Promise<Row> {
  const port = await freePort('127.0.0.1');
  const textfiles = mkdtempSync(join(tmpdir(), 'bench-textfile-'));
  cleanups.push(() => rmSync(textfiles, { recursive: true, force: true }));
  // Debian's defaults, minus what walks hardware sensors or mounts: statfs on every mount can hang on a dead
  // network filesystem, and hwmon/rapl/thermal_zone read hardware this benchmark has no business reading.
  const child = spawn(
    NODE_EXPORTER,
    [`--web.listen-address=127.0.0.1:${port}`, `--collector.textfile.directory=${textfiles}`,
      '--no-collector.filesystem', '--no-collector.hwmon', '--no-collector.rapl', '--no-collector.thermal_zone', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const stop = (): Promise<void> => stopChild(child);
  cleanups.push(stop);
  const url = `http://127.0.0.1:${port}/metrics`;
  const deadline = Date.now() + 10_000;
  let body: Buffer | undefined;
  while (body === undefined) {
    body = await get(url, {}).then((r) => r.body, () => undefined);
    if (body === undefined && Date.now() > deadline) throw new Error(`${NODE_EXPORTER} did not answer on ${url} within 10 s`);
    if (body === undefined) await sleep(100);
  }
  const row = await load({ name: 'Debian prometheus-node-exporter 1.5 (own metrics)', pid: child.pid!, url }, wrkArgs(url, false), objects, kb(body.length), rssMb(child.pid!));
  await stop();
  return row;
}

async function startBaseline(kind: 'express' | 'http', bodyFile: string, nodeOptions: string | undefined): Promise<ChildProcess & { port: number }> {
  const env = { ...process.env };
  if (nodeOptions === undefined) delete env['NODE_OPTIONS'];
  else env['NODE_OPTIONS'] = nodeOptions;
  const child = spawn(process.execPath, [SELF, '--serve', kind, '--body', bodyFile], { stdio: ['ignore', 'pipe', 'inherit'], env });
  cleanups.push(() => stopChild(child));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${kind} baseline did not listen within 10 s`)), 10_000);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => reject(new Error(`the ${kind} baseline exited with ${code}`)));
  });
  return Object.assign(child, { port });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** One GET with exactly these request headers (fetch would add Accept-Encoding on its own); body as received. */
function get(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url} answered ${res.statusCode}`));
        else resolve({ headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.on('error', reject);
  });
}

/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m?.[1]?.trim() ?? 'unknown CPU';
}

/** NODE_OPTIONS as the Dockerfile sets it for the exporter. */
function shippedNodeOptions(): string {
  const m = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  if (!m) throw new Error('the Dockerfile sets no ENV NODE_OPTIONS="..." line; give --node-options');
  return m[1]!;
}

/** wrk -v prints its version, then its usage, and exits 1. */
function wrkVersion(): string {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) throw new Error(`wrk is needed (Debian package wrk): ${r.error.message}`);
  return (r.stdout.split('\n')[0] ?? '').replace(/\s*Copyright.*$/, '').trim();
}

function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;
}

function table(rows: Row[], settleMinutes: number): string {
  const f = (n: number | undefined, digits: number): string => (n === undefined ? '—' : n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  const head = ['objects', 'server', 'body', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/scrape', 'RSS MB before', 'during (max)', 'right after'];
  if (settleMinutes > 0) head.push(`after ${settleMinutes} min`);
  head.push('note');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [r.objects, r.server, r.bytes, f(r.reqPerSec, 0), f(r.p50, 2), f(r.p99, 2), f(r.cpuMsPerScrape, 3), f(r.rssIdle, 1), f(r.rssDuring, 1), f(r.rssAfter, 1)];
    if (settleMinutes > 0) cells.push(f(r.rssSettled, 1));
    cells.push(r.note ?? '');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

// Last, so that every module-level binding above is initialised before either mode runs.
if (opt.serve !== undefined) {
  await serve(opt.serve, opt.body);
} else {
  await bench();
}
