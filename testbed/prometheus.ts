// Real Prometheus and Alertmanager as child processes, plus a webhook receiver, for tests and the demo: a test
// points Prometheus at exporters (or anything serving /metrics), loads rule files, and watches notifications
// arrive the way an on-call person would receive them. Every server binds a free loopback port and its own temp
// dir; stop()/close() end the child and remove the dir, and a process exit hook kills any child a crashed test
// left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
export const ALERTMANAGER_BIN = process.env['ALERTMANAGER_BIN'] ?? '/usr/bin/prometheus-alertmanager';
export const DEFAULT_JOB_NAME = 'k0s-etcdmember-exporter';

const HTTP_TIMEOUT_MS = 5_000;

// The parts of Prometheus' and Alertmanager's JSON the tests and the demo read, as their HTTP API documents them
// (https://prometheus.io/docs/prometheus/latest/querying/api/, Alertmanager's webhook_config payload). Both
// servers are real and trusted here, so their answers are typed, not validated.

/** One series of a query result: `value` for an instant vector (a scalar comes back as one of these), `values` for a matrix. */
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** One alert of /api/v1/alerts. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** One alert of an Alertmanager webhook notification. */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}

/** An Alertmanager webhook notification (payload version 4). */
export interface WebhookNotification {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: NotifiedAlert[];
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

interface PromResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const LOG_LINES = 2_000;

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** A port that was free a moment ago on 127.0.0.1. The child may still lose a race for it: callers retry. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const text = await res.text();
  let body: PromResponse<T>;
  try {
    body = JSON.parse(text) as PromResponse<T>;
  } catch {
    throw new Error(`GET ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok || body?.status !== 'success' || body.data === undefined) {
    throw new Error(`GET ${url}: HTTP ${res.status} ${body?.errorType ?? ''} ${body?.error ?? text.slice(0, 200)}`.trim());
  }
  return body.data;
}

/** Polls until check() returns a value other than undefined; the last error or value goes into the timeout message. */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
      last = '';
    } catch (err) {
      last = `: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A child process with a bounded log, killed on stop(). */
class Child {
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly child: ChildProcess;

  constructor(readonly name: string, bin: string, args: readonly string[]) {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveChildren.add(child);
    const onData = (chunk: Buffer): void => {
      this.logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      if (this.logs.length > LOG_LINES) this.logs.splice(0, this.logs.length - LOG_LINES);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    this.exited = new Promise((res) => {
      child.once('error', (err) => {
        this.logs.push(`spawn ${bin}: ${err.message}`);
        liveChildren.delete(child);
        this.exitCode = null;
        res(null);
      });
      child.once('exit', (code) => {
        liveChildren.delete(child);
        this.exitCode = code;
        res(code);
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  tail(n = 30): string {
    return this.logs.slice(-n).join('\n');
  }

  async waitReady(url: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    await waitUntil(`${this.name} at ${url}`, timeoutMs, async () => {
      if (!this.running) throw new Error(`${this.name} exited with ${this.exitCode}:\n${this.tail()}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.ok ? true : undefined;
    }, 100);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Starts a server on a free port and waits for its readiness URL; retries on a new port when the child dies
 * early (another process took the port between freePort() and the bind).
 */
async function startOnFreePort(name: string, bin: string, argsFor: (port: number) => string[]): Promise<{ child: Child; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = new Child(name, bin, argsFor(port));
    try {
      await child.waitReady(`http://127.0.0.1:${port}/-/ready`);
      return { child, port };
    } catch (err) {
      lastError = err;
      await child.stop();
      if (!/address already in use/i.test(child.tail(200))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

export interface PrometheusTestServerOptions {
  /** host:port of each target, scraped at /metrics. */
  scrapeTargets: string[];
  /** Default "k0s-etcdmember-exporter", the job the alert rules expect. */
  jobName?: string;
  /** Default "1s". */
  scrapeInterval?: string;
  /** Rule files to load (absolute, or relative to the current directory). */
  ruleFiles?: string[];
  /** e.g. http://127.0.0.1:9093 (AlertmanagerTestServer.url). */
  alertmanagerUrl?: string;
  /** Default "1s". */
  evaluationInterval?: string;
  /** Target labels added to every target, e.g. { cluster: 'demo' }. */
  extraLabels?: Record<string, string>;
  /** More keys of the scrape config, e.g. scheme, tls_config, basic_auth. */
  scrapeExtra?: Record<string, unknown>;
}

export class PrometheusTestServer {
  private constructor(
    private readonly child: Child,
    readonly url: string,
    readonly jobName: string,
    readonly targetCount: number,
    private readonly dir: string,
  ) {}

  static async start(o: PrometheusTestServerOptions): Promise<PrometheusTestServer> {
    const jobName = o.jobName ?? DEFAULT_JOB_NAME;
    const scrapeInterval = o.scrapeInterval ?? '1s';
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
    try {
      const config: Record<string, unknown> = {
        global: { scrape_interval: scrapeInterval, evaluation_interval: o.evaluationInterval ?? '1s' },
        rule_files: (o.ruleFiles ?? []).map((f) => resolve(f)),
        scrape_configs: [
          {
            job_name: jobName,
            scrape_interval: scrapeInterval,
            static_configs: [{ targets: o.scrapeTargets, ...(o.extraLabels ? { labels: o.extraLabels } : {}) }],
            ...o.scrapeExtra,
          },
        ],
      };
      if (o.alertmanagerUrl !== undefined) {
        const am = new URL(o.alertmanagerUrl);
        config['alerting'] = {
          alertmanagers: [
            {
              api_version: 'v2',
              scheme: am.protocol.replace(':', ''),
              path_prefix: am.pathname,
              timeout: '5s',
              static_configs: [{ targets: [am.host] }],
            },
          ],
        };
      }
      const configFile = join(dir, 'prometheus.yml');
      writeFileSync(configFile, stringifyYaml(config));
      const { child, port } = await startOnFreePort('prometheus', PROMETHEUS_BIN, (p) => [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
        '--rules.alert.resend-delay=1s',
        '--log.level=info',
      ]);
      return new PrometheusTestServer(child, `http://127.0.0.1:${port}`, jobName, o.scrapeTargets.length, dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Instant query; the result as a list of { metric, value } (a scalar or string comes back as one element). */
  async query(expr: string): Promise<PromSeries[]> {
    type Data =
      | { resultType: 'vector'; result: PromSeries[] }
      | { resultType: 'matrix'; result: PromSeries[] }
      | { resultType: 'scalar'; result: [number, string] }
      | { resultType: 'string'; result: [number, string] };
    const data = await getJson<Data>(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === 'vector' || data.resultType === 'matrix') return data.result;
    return [{ metric: {}, value: data.result }];
  }

  /** Active alerts (pending and firing) as /api/v1/alerts lists them. */
  async alerts(): Promise<PromAlert[]> {
    return (await getJson<{ alerts: PromAlert[] }>(`${this.url}/api/v1/alerts`)).alerts;
  }

  /** Resolves once every scrape target of the job has been scraped successfully (Prometheus waits ~5 s first). */
  async waitForTargetsUp(timeoutMs: number): Promise<void> {
    await waitUntil(`${this.targetCount} targets of job ${this.jobName} up`, timeoutMs, async () => {
      const data = await getJson<{ activeTargets: PromTarget[] }>(`${this.url}/api/v1/targets?state=active`);
      const mine = data.activeTargets.filter((t) => t.labels['job'] === this.jobName);
      const down = mine.filter((t) => t.health !== 'up');
      if (mine.length === this.targetCount && down.length === 0) return true;
      throw new Error(`${mine.length - down.length}/${this.targetCount} up${down.map((t) => `; ${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('')}`);
    });
  }

  /** The job's active targets with their last scrape's health and error. */
  async targets(): Promise<PromTarget[]> {
    const data = await getJson<{ activeTargets: PromTarget[] }>(`${this.url}/api/v1/targets?state=active`);
    return data.activeTargets.filter((t) => t.labels['job'] === this.jobName);
  }

  /** Polls alerts() until one matches; returns it. */
  async waitForAlert(pred: (alert: PromAlert) => boolean, timeoutMs: number): Promise<PromAlert> {
    return waitUntil('an alert to match', timeoutMs, async () => (await this.alerts()).find(pred));
  }

  /** The last lines Prometheus logged, for failure messages. */
  logs(n = 50): string {
    return this.child.tail(n);
  }

  async stop(): Promise<void> {
    await this.child.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface AlertmanagerTestServerOptions {
  webhookUrl: string;
  /** Defaults "1s", "1s", "1h". */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Default ["..."]: every alert is its own group, so each notification carries exactly one alert. */
  groupBy?: string[];
}

export class AlertmanagerTestServer {
  private constructor(
    private readonly child: Child,
    readonly url: string,
    private readonly dir: string,
  ) {}

  static async start(o: AlertmanagerTestServerOptions): Promise<AlertmanagerTestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'alertmanager-test-'));
    try {
      const config = {
        route: {
          receiver: 'webhook',
          group_by: o.groupBy ?? ['...'],
          group_wait: o.groupWait ?? '1s',
          group_interval: o.groupInterval ?? '1s',
          repeat_interval: o.repeatInterval ?? '1h',
        },
        receivers: [{ name: 'webhook', webhook_configs: [{ url: o.webhookUrl, send_resolved: true }] }],
      };
      const configFile = join(dir, 'alertmanager.yml');
      writeFileSync(configFile, stringifyYaml(config));
      const { child, port } = await startOnFreePort('alertmanager', ALERTMANAGER_BIN, (p) => [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
        // No gossip: a test instance must not look for (or be found by) peers.
        '--cluster.listen-address=',
        '--log.level=info',
      ]);
      return new AlertmanagerTestServer(child, `http://127.0.0.1:${port}`, dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  logs(n = 50): string {
    return this.child.tail(n);
  }

  async stop(): Promise<void> {
    await this.child.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Receives Alertmanager webhook notifications ({ status, alerts: [{ status, labels, annotations }], ... }). */
export class WebhookReceiver {
  readonly notifications: WebhookNotification[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          receiver?.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookNotification);
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => res());
    });
    const addr = server.address();
    if (typeof addr !== 'object' || addr === null) throw new Error('webhook receiver has no address');
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${addr.port}/`);
    return receiver;
  }

  private push(n: WebhookNotification): void {
    this.notifications.push(n);
    for (const w of this.waiters) w();
  }

  /** The first notification (already received or still to come) that matches. */
  waitFor(pred: (n: WebhookNotification) => boolean, timeoutMs: number): Promise<WebhookNotification> {
    const found = this.notifications.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((res, rej) => {
      const check = (): void => {
        const n = this.notifications.find(pred);
        if (n === undefined) return;
        done();
        res(n);
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`no matching webhook notification within ${timeoutMs} ms; got ${JSON.stringify(this.notifications.map(summarise))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}

function summarise(n: WebhookNotification): string {
  return `${n.status}: ${n.alerts.map((a) => `${a.labels['alertname']}(${a.labels['name'] ?? a.labels['instance'] ?? ''})`).join(',')}`;
}

/**
 * Copies a rule file with every alert's `for` replaced, so a live test sees alerts fire in seconds while using
 * the real expressions and annotations. durations: one value for all, or per alert name with '*' as the default
 * (alerts not matched keep their `for`).
 */
export function writeRuleFileWithFor(srcPath: string, destPath: string, durations: string | Record<string, string>): void {
  const doc = parseYaml(readFileSync(srcPath, 'utf8')) as { groups: { rules: { alert?: string; for?: string }[] }[] };
  for (const g of doc.groups) {
    for (const r of g.rules) {
      if (r.alert === undefined) continue;
      const d = typeof durations === 'string' ? durations : (durations[r.alert] ?? durations['*']);
      if (d !== undefined) r.for = d;
    }
  }
  writeFileSync(destPath, stringifyYaml(doc, { lineWidth: 0 }));
}
