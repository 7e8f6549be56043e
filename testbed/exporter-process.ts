// Runs the built exporter as a child process, as users run it, and reads its /metrics over HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface ExporterProcessOptions {
  readonly etcdEndpoints: readonly string[];
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly kubeconfig: string;
  readonly interval?: string;
  readonly etcdTimeout?: string;
  readonly kubernetesTimeout?: string;
  /** --node.member-name; default c1.example.org; null leaves the flag out (the k0s config and hostname decide). */
  readonly memberName?: string | null;
  /**
   * --k0s.config-file; default a k0s.yaml written for this process whose peerAddress is the host of the first
   * etcd endpoint (the testbed's members listen for peers on their client address), as a controller's own config
   * says, so a test never reads the machine's /etc/k0s/k0s.yaml; null leaves the flag out.
   */
  readonly k0sConfigFile?: string | null;
  readonly host?: string;
  readonly extraArgs?: readonly string[];
  /** Appends everything the exporter writes to stderr to this file as well: the whole log of a long run (logs keeps only the last 5000 lines). */
  readonly logFile?: string;
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export class ExporterProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly host: string,
    private readonly logLines: string[],
  ) {}

  /** Starts the exporter on a free port and resolves once it listens. */
  static async start(o: ExporterProcessOptions): Promise<ExporterProcess> {
    const host = o.host ?? '127.0.0.1';
    let tempDir: string | undefined;
    let k0sConfigFile = o.k0sConfigFile;
    if (k0sConfigFile === undefined) {
      tempDir = mkdtempSync(join(tmpdir(), 'exporter-process-'));
      k0sConfigFile = join(tempDir, 'k0s.yaml');
      const peerAddress = new URL(o.etcdEndpoints[0] ?? 'https://127.0.0.1:2379').hostname.replace(/^\[(.*)\]$/, '$1');
      writeFileSync(k0sConfigFile, `apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  storage:\n    etcd:\n      peerAddress: "${peerAddress}"\n`);
    }
    const removeTemp = (): void => {
      if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
    };
    const args = [
      MAIN,
      `--etcd.endpoints=${o.etcdEndpoints.join(',')}`,
      `--kubeconfig=${o.kubeconfig}`,
      `--interval=${o.interval ?? '2s'}`,
      `--etcd.timeout=${o.etcdTimeout ?? '2s'}`,
      `--kubernetes.timeout=${o.kubernetesTimeout ?? '2s'}`,
      ...(o.memberName === null ? [] : [`--node.member-name=${o.memberName ?? 'c1.example.org'}`]),
      ...(k0sConfigFile === null ? [] : [`--k0s.config-file=${k0sConfigFile}`]),
      `--web.listen-address=${host}:0`,
      '--log.format=json',
      '--log.level=debug',
      ...(o.caFile ? [`--etcd.ca-file=${o.caFile}`] : []),
      ...(o.certFile ? [`--etcd.cert-file=${o.certFile}`] : []),
      ...(o.keyFile ? [`--etcd.key-file=${o.keyFile}`] : []),
      ...(o.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KUBECONFIG: '' } });
    // A test that fails before its after() hook must not leave an exporter running.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
      removeTemp();
    };
    process.once('exit', killOnExit);
    child.once('exit', () => {
      process.off('exit', killOnExit);
      removeTemp();
    });
    const logLines: string[] = [];
    let pending = '';
    child.stderr.setEncoding('utf8');
    const logFile = o.logFile === undefined ? undefined : createWriteStream(o.logFile, { flags: 'a' });
    if (logFile !== undefined) child.stderr.once('close', () => logFile.end());
    child.stderr.on('data', (chunk: string) => {
      logFile?.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      logLines.push(...lines);
      // Bounded: a long test must not grow memory without end.
      if (logLines.length > 5000) logLines.splice(0, logLines.length - 5000);
    });
    const port = await new Promise<number>((resolve, reject) => {
      // Generous: on a loaded 2-core machine loading client-node alone can take several seconds. A child that
      // never listens is killed, so a failed start cannot keep the test process alive.
      const timer = setTimeout(() => {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`exporter did not listen within ${START_TIMEOUT_MS / 1000} s:\n${logLines.join('\n')}`));
      }, START_TIMEOUT_MS);
      const poll = setInterval(() => {
        for (const line of logLines) {
          if (!line.includes('"listening"')) continue;
          const m = /:(\d+)$/.exec((JSON.parse(line) as { address: string }).address);
          clearInterval(poll);
          clearTimeout(timer);
          resolve(Number(m?.[1]));
          return;
        }
      }, 20);
      child.on('exit', (code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`exporter exited with ${code}:\n${logLines.join('\n')}`));
      });
    });
    return new ExporterProcess(child, port, host, logLines);
  }

  /** Starts several exporters; if one fails to start, stops those that did, so nothing is left running. */
  static async startAll(options: readonly ExporterProcessOptions[]): Promise<ExporterProcess[]> {
    const started = await Promise.allSettled(options.map((o) => ExporterProcess.start(o)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed === undefined) return running;
    await Promise.all(running.map((x) => x.stop()));
    throw failed.reason;
  }

  /** The exporter's process ID, for reading its CPU time and memory from /proc. */
  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The target as Prometheus names it. */
  get target(): string {
    return `${this.host}:${this.port}`;
  }

  get logs(): readonly string[] {
    return this.logLines;
  }

  async metricsText(timeoutMs = 2000): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    return res.text();
  }

  /** Every sample of the exposition whose name starts with k0s_etcdmember_. */
  async samples(): Promise<Sample[]> {
    return parseExposition(await this.metricsText());
  }

  /** The value of one series, or undefined when it is absent. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return findSample(await this.samples(), name, labels)?.value;
  }

  /** Polls /metrics until pred holds; throws with the last exposition after timeoutMs. */
  async waitFor(what: string, pred: (s: Sample[]) => boolean, timeoutMs = 15_000): Promise<Sample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: Sample[] = [];
    while (Date.now() < deadline) {
      try {
        last = await this.samples();
        if (pred(last)) return last;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last /metrics:\n${last.map(formatSample).join('\n')}\nlogs:\n${this.logLines.slice(-30).join('\n')}`);
  }

  /** Ends the process with SIGKILL, as a crash or a lost node would: nothing runs its shutdown. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 6000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

export function findSample(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function formatSample(s: Sample): string {
  return `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',')}} ${s.value}`;
}

/** Parses the k0s_etcdmember_ samples of a text exposition (our own label values never contain quotes). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^(k0s_etcdmember_\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}
