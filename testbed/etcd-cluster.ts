// A real etcd cluster (the system's /usr/bin/etcd) on loopback, with client and peer mTLS laid out as k0s does:
// <dir>/pki/etcd/ca.crt signs every member's server and peer cert and <dir>/pki/apiserver-etcd-client.crt.
// Member i listens on 127.0.0.(i+1) so peer addresses differ as they do between real controllers.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './wait.js';

export { freePort } from './wait.js';

const ETCD = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';
const ETCDCTL = process.env['ETCDCTL_BIN'] ?? '/usr/bin/etcdctl';
const OPENSSL = 'openssl';
// The 'exit' hook below does not run when this process dies by a signal (e.g. the test runner's SIGTERM on a
// timeout, or SIGKILL); setpriv (util-linux) makes the kernel SIGKILL each member when we die, whatever the cause.
const SETPRIV = fs.existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined;
const START_DEADLINE_MS = 30_000;
const ETCDCTL_TIMEOUT_MS = 15_000;

export interface EtcdTestClusterOptions {
  /** Member names in order; default ['c1.example.org', 'c2.example.org', 'c3.example.org']. At most 254, unique. */
  names?: string[];
  /** The etcd binary; default /usr/bin/etcd (or $ETCD_BIN). For testing the harness's failure handling. */
  etcdBinary?: string;
}

export interface EtcdTestMember {
  name: string;
  /** 127.0.0.(i+1) */
  ip: string;
  clientUrl: string;
  peerUrl: string;
  /** Lowercase hex member ID without padding, as in EtcdMember status.memberID. */
  idHex: string;
  /** The same ID as a decimal uint64 string, as etcd's JSON and gRPC (as a long) give it. */
  idDecimal: string;
  /** etcd's zap log (and any Go panic) for this member; appended to across restarts. */
  logFile: string;
}

/** One row of `etcdctl member list`, IDs kept exact. */
export interface EtcdctlMember {
  idHex: string;
  idDecimal: string;
  /** "" until the member has started and published itself. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

type MemberState = 'running' | 'paused' | 'killed';

interface MemberRuntime {
  proc: ChildProcess | undefined;
  state: MemberState;
  exited: Promise<void>;
  args: string[];
  dataDir: string;
}

// Every process this module starts, across all clusters, so a test process that exits without after() hooks
// having run (crash, process.exit) still leaves no etcd behind.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  // A spawn failure (ENOENT) emits 'error' and maybe no 'exit'.
  child.once('error', () => liveChildren.delete(child));
}

function exitedPromise(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

function isAlive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** execFile with a hard timeout, tracked so stop()/exit can kill it. Rejects with stderr in the message. */
function run(file: string, args: string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs, killSignal: 'SIGKILL', env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const why = (err as { killed?: boolean }).killed ? `killed after ${opts.timeoutMs} ms` : err.message.split('\n')[0];
          reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${why}\n${String(stderr).trim()}`));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
    track(child);
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  // etcd and etcdctl read ETCD_* / ETCDCTL_* variables; a developer's shell must not change the cluster.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^ETCD(CTL)?_/.test(k) && k !== 'OPENSSL_CONF') env[k] = v;
  return env;
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

/** etcd's JSON carries uint64 IDs as bare numbers; quote them before JSON.parse so none loses precision. */
function parseMemberListJson(text: string): EtcdctlMember[] {
  const quoted = text.replace(/"(ID|cluster_id|member_id)":(\d+)/g, '"$1":"$2"');
  const parsed = JSON.parse(quoted) as {
    members?: { ID: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }[];
  };
  return (parsed.members ?? []).map((m) => {
    const id = BigInt(m.ID);
    return {
      idHex: id.toString(16),
      idDecimal: id.toString(10),
      name: m.name ?? '',
      peerURLs: m.peerURLs ?? [],
      clientURLs: m.clientURLs ?? [],
      isLearner: m.isLearner === true,
    };
  });
}

// ---- PKI ----

const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
`;

async function makeCa(dir: string, cnf: string): Promise<{ crt: string; key: string }> {
  const crt = path.join(dir, 'ca.crt');
  const key = path.join(dir, 'ca.key');
  await run(
    OPENSSL,
    ['req', '-x509', '-config', cnf, '-extensions', 'v3_ca', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', crt, '-days', '7', '-subj', '/CN=etcd-ca'],
    { timeoutMs: 10_000, env: cleanEnv() },
  );
  return { crt, key };
}

async function makeLeaf(
  ca: { crt: string; key: string },
  cnf: string,
  base: string,
  cn: string,
  usages: string,
  sans: string[],
): Promise<void> {
  const ext = [
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage = ${usages}`,
    ...(sans.length ? [`subjectAltName = ${sans.join(',')}`] : []),
  ].join('\n');
  await fsp.writeFile(`${base}.ext`, ext + '\n');
  const env = cleanEnv();
  await run(
    OPENSSL,
    ['req', '-new', '-config', cnf, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`],
    { timeoutMs: 10_000, env },
  );
  await run(
    OPENSSL,
    ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.crt, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-days', '7', '-extfile', `${base}.ext`, '-out', `${base}.crt`],
    { timeoutMs: 10_000, env },
  );
  await Promise.all([fsp.rm(`${base}.csr`), fsp.rm(`${base}.ext`)]);
}

// ---- cluster ----

export class EtcdTestCluster {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  private readonly rt: MemberRuntime[] = [];
  /** Voting members etcd knows beyond ours (addUnstartedMember), which count toward quorum. */
  private extraVoters = 0;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly members: EtcdTestMember[],
    private readonly etcdBinary: string,
  ) {
    this.caFile = path.join(dir, 'pki', 'etcd', 'ca.crt');
    this.certFile = path.join(dir, 'pki', 'apiserver-etcd-client.crt');
    this.keyFile = path.join(dir, 'pki', 'apiserver-etcd-client.key');
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Starts the cluster; resolves when every member answers `endpoint health` and all IDs are known. */
  static async start(opts: EtcdTestClusterOptions = {}): Promise<EtcdTestCluster> {
    const names = opts.names ?? ['c1.example.org', 'c2.example.org', 'c3.example.org'];
    if (names.length < 1 || names.length > 254) throw new Error(`EtcdTestCluster: need 1..254 members, got ${names.length}`);
    if (new Set(names).size !== names.length) throw new Error(`EtcdTestCluster: member names must be unique: ${names.join(', ')}`);
    // Names end up in file paths, openssl subjects and SANs and --initial-cluster.
    const bad = names.find((n) => !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(n));
    if (bad !== undefined) throw new Error(`EtcdTestCluster: member name ${JSON.stringify(bad)} is not a hostname`);
    // Free ports are only free until someone binds them; tests run in parallel, so a lost race is retried.
    for (let attempt = 1; ; attempt++) {
      const cluster = await EtcdTestCluster.create(names, opts.etcdBinary ?? ETCD);
      try {
        await cluster.boot();
        return cluster;
      } catch (err) {
        const lostPortRace = (err as Error).message.includes('address already in use');
        await cluster.stop();
        if (!lostPortRace || attempt >= 3) throw err;
      }
    }
  }

  private static async create(names: string[], etcdBinary: string): Promise<EtcdTestCluster> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'etcd-cluster-'));
    try {
      const members: EtcdTestMember[] = [];
      for (const [i, name] of names.entries()) {
        const ip = `127.0.0.${i + 1}`;
        const [clientPort, peerPort] = await freePorts(ip, 2);
        members.push({
          name,
          ip,
          clientUrl: `https://${ip}:${clientPort}`,
          peerUrl: `https://${ip}:${peerPort}`,
          idHex: '',
          idDecimal: '',
          logFile: path.join(dir, 'log', `${name}.log`),
        });
      }
      return new EtcdTestCluster(dir, members, etcdBinary);
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private memberPki(i: number): string {
    return path.join(this.dir, 'pki', 'etcd', this.members[i]!.name);
  }

  private async makePki(): Promise<void> {
    const etcdPki = path.join(this.dir, 'pki', 'etcd');
    await fsp.mkdir(etcdPki, { recursive: true, mode: 0o700 });
    const cnf = path.join(this.dir, 'pki', 'openssl.cnf');
    await fsp.writeFile(cnf, OPENSSL_CNF);
    const ca = await makeCa(etcdPki, cnf);
    await Promise.all([
      makeLeaf(ca, cnf, path.join(this.dir, 'pki', 'apiserver-etcd-client'), 'apiserver-etcd-client', 'clientAuth', []),
      ...this.members.map(async (m, i) => {
        const d = this.memberPki(i);
        await fsp.mkdir(d, { recursive: true });
        // Peers dial from 127.0.0.1 whatever address they listen on, and etcd checks a peer's client-cert SANs
        // against the remote address, so 127.0.0.1 belongs in every cert as it does in k0s's.
        const sans = [...new Set([`IP:${m.ip}`, 'IP:127.0.0.1', 'DNS:localhost', `DNS:${m.name}`])];
        await Promise.all([
          makeLeaf(ca, cnf, path.join(d, 'server'), m.name, 'serverAuth,clientAuth', sans),
          makeLeaf(ca, cnf, path.join(d, 'peer'), m.name, 'serverAuth,clientAuth', sans),
        ]);
      }),
    ]);
  }

  private argsFor(i: number): { args: string[]; dataDir: string } {
    const m = this.members[i]!;
    const pki = this.memberPki(i);
    const dataDir = path.join(this.dir, 'data', m.name);
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const args = [
      `--name=${m.name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      // Unique per cluster, so members of two parallel test clusters could never join each other.
      `--initial-cluster-token=${path.basename(this.dir)}`,
      '--client-cert-auth=true',
      `--trusted-ca-file=${this.caFile}`,
      `--cert-file=${path.join(pki, 'server.crt')}`,
      `--key-file=${path.join(pki, 'server.key')}`,
      '--peer-client-cert-auth=true',
      `--peer-trusted-ca-file=${this.caFile}`,
      `--peer-cert-file=${path.join(pki, 'peer.crt')}`,
      `--peer-key-file=${path.join(pki, 'peer.key')}`,
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      '--logger=zap',
      '--log-level=info',
      // stderr goes to logFile, so Go panics land next to the zap log.
      '--log-outputs=stderr',
    ];
    return { args, dataDir };
  }

  private spawnMember(i: number, args: string[]): ChildProcess {
    const m = this.members[i]!;
    const fd = fs.openSync(m.logFile, 'a');
    try {
      fs.writeSync(fd, `--- ${new Date().toISOString()} ${this.etcdBinary} ${args.join(' ')}\n`);
      // setpriv execs etcd in place, so the pid we signal (SIGSTOP, SIGKILL) is etcd's own.
      const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', this.etcdBinary, ...args]] : [this.etcdBinary, args];
      const child = spawn(file, argv, { stdio: ['ignore', fd, fd], env: cleanEnv() });
      track(child);
      return child;
    } finally {
      // The child holds its own copy of the descriptor.
      fs.closeSync(fd);
    }
  }

  private async boot(): Promise<void> {
    const t0 = Date.now();
    await fsp.mkdir(path.join(this.dir, 'log'), { recursive: true });
    await fsp.mkdir(path.join(this.dir, 'data'), { recursive: true, mode: 0o700 });
    await this.makePki();
    for (let i = 0; i < this.members.length; i++) {
      const { args, dataDir } = this.argsFor(i);
      const proc = this.spawnMember(i, args);
      this.rt.push({ proc, state: 'running', exited: exitedPromise(proc), args, dataDir });
    }
    await this.waitHealthy(this.members.map((_, i) => i), START_DEADLINE_MS - (Date.now() - t0), 'cluster start');
    const list = await this.memberList();
    for (const m of this.members) {
      const found = list.find((x) => x.name === m.name);
      if (!found) throw new Error(`member ${m.name} missing from etcdctl member list: ${JSON.stringify(list)}`);
      m.idHex = found.idHex;
      m.idDecimal = found.idDecimal;
    }
  }

  /** Polls `endpoint health` of the given members until all pass; fails early when one of them exits. */
  private async waitHealthy(which: number[], timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const dead = which.filter((i) => !isAlive(this.rt[i]?.proc));
      if (dead.length > 0) {
        const why = dead.map((i) => `${this.members[i]!.name} exited (${this.rt[i]?.proc?.exitCode ?? this.rt[i]?.proc?.signalCode})`).join(', ');
        throw new Error(`${what}: ${why}\n${await this.logTails()}`);
      }
      try {
        await this.ctl(['endpoint', 'health'], which.map((i) => this.members[i]!.clientUrl), Math.min(5000, Math.max(1000, deadline - Date.now())));
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not healthy within ${timeoutMs} ms: ${last}\n${await this.logTails()}`);
      await sleep(150);
    }
  }

  private async logTails(): Promise<string> {
    const parts = await Promise.all(this.members.map(async (m) => `==> ${m.logFile} <==\n${await tail(m.logFile)}`));
    return parts.join('\n');
  }

  private liveEndpoints(): string[] {
    const live = this.members.filter((_, i) => this.rt[i]?.state === 'running').map((m) => m.clientUrl);
    if (live.length === 0) throw new Error('no running etcd member to talk to');
    return live;
  }

  private async ctl(args: string[], endpoints: string[], timeoutMs = ETCDCTL_TIMEOUT_MS): Promise<string> {
    const secs = Math.max(1, Math.floor(timeoutMs / 1000));
    const { stdout } = await run(
      ETCDCTL,
      [
        `--endpoints=${endpoints.join(',')}`,
        `--cacert=${this.caFile}`,
        `--cert=${this.certFile}`,
        `--key=${this.keyFile}`,
        `--dial-timeout=${Math.min(secs, 3)}s`,
        `--command-timeout=${secs}s`,
        ...args,
      ],
      { timeoutMs: timeoutMs + 2000, env: { ...cleanEnv(), ETCDCTL_API: '3' } },
    );
    return stdout;
  }

  /**
   * etcdctl (API v3) with the client certificate against the members neither killed nor paused; resolves with
   * stdout. etcdctl 3.4 writes `endpoint health` in the simple format to stderr: pass `-w json` for it.
   */
  etcdctl(args: string[]): Promise<string> {
    return this.ctl(args, this.liveEndpoints());
  }

  /** The member list as etcdctl reports it, with exact IDs. */
  async memberList(): Promise<EtcdctlMember[]> {
    return parseMemberListJson(await this.etcdctl(['member', 'list', '-w', 'json']));
  }

  private runtime(i: number): MemberRuntime {
    const r = this.rt[i];
    if (!r) throw new Error(`no member ${i} (cluster has ${this.rt.length})`);
    return r;
  }

  /** SIGKILLs member i (paused or not) and waits until it has exited. */
  async kill(i: number): Promise<void> {
    const r = this.runtime(i);
    if (isAlive(r.proc)) r.proc!.kill('SIGKILL');
    r.state = 'killed';
    await r.exited;
  }

  /** SIGSTOP: a hung member. Its sockets stay open, so TCP connects succeed but nothing ever answers. */
  pause(i: number): void {
    const r = this.runtime(i);
    if (r.state !== 'running' || !isAlive(r.proc)) throw new Error(`cannot pause member ${i}: ${r.state}`);
    r.proc!.kill('SIGSTOP');
    r.state = 'paused';
  }

  /** SIGCONT a paused member. */
  resume(i: number): void {
    const r = this.runtime(i);
    if (r.state !== 'paused' || !isAlive(r.proc)) throw new Error(`cannot resume member ${i}: ${r.state}`);
    r.proc!.kill('SIGCONT');
    r.state = 'running';
  }

  /**
   * Starts killed member i again on its data dir, ports and certs. Resolves once it is healthy; when too few
   * members run for a quorum (e.g. restarting one of three dead members alone) it cannot become healthy, so
   * it resolves once the process has survived its start-up. Restart several at once with Promise.all.
   */
  async restart(i: number): Promise<void> {
    const r = this.runtime(i);
    if (r.state !== 'killed') throw new Error(`cannot restart member ${i}: it is ${r.state}`);
    await r.exited;
    // With an existing data dir etcd ignores the initial-cluster flags; "existing" documents the intent.
    const args = r.args.map((a) => (a === '--initial-cluster-state=new' ? '--initial-cluster-state=existing' : a));
    const proc = this.spawnMember(i, args);
    r.proc = proc;
    r.exited = exitedPromise(proc);
    r.state = 'running';
    // Let sibling restart() calls in the same tick spawn theirs before counting who runs.
    await sleep(300);
    const voters = this.members.length + this.extraVoters;
    // A paused member holds no vote either.
    const running = this.rt.filter((x) => x.state === 'running').length;
    if (running >= Math.floor(voters / 2) + 1) {
      await this.waitHealthy([i], START_DEADLINE_MS, `restart of ${this.members[i]!.name}`);
    } else if (!isAlive(proc)) {
      throw new Error(`restart of ${this.members[i]!.name}: exited (${proc.exitCode ?? proc.signalCode})\n${await tail(this.members[i]!.logFile)}`);
    }
  }

  /** `etcdctl member add` for a peer URL nothing will ever serve: returns the new member's hex ID (name "", no client URLs). */
  /**
   * After this, etcd refuses any further `member add` ("unhealthy cluster"): with --strict-reconfig-check it
   * wants to be connected to every voting member, and this one never connects. Add learners first.
   */
  async addUnstartedMember(peerUrl: string): Promise<string> {
    const id = await this.memberAdd(peerUrl, false);
    this.extraVoters++;
    return id;
  }

  /** `etcdctl member add --learner`; returns the hex ID. */
  addLearner(peerUrl: string): Promise<string> {
    return this.memberAdd(peerUrl, true);
  }

  private async memberAdd(peerUrl: string, learner: boolean): Promise<string> {
    // The name given to `member add` is not stored: etcd keeps "" until the member starts and publishes its own.
    const name = `pending-${randomBytes(3).toString('hex')}`;
    const args = ['member', 'add', name, `--peer-urls=${peerUrl}`, ...(learner ? ['--learner'] : [])];
    // --strict-reconfig-check (on by default, as in k0s) refuses changes until every member has been connected
    // for etcd's health interval (5 s): right after start() that answers "unhealthy cluster" for a few seconds.
    const deadline = Date.now() + 20_000;
    let out: string;
    for (;;) {
      try {
        out = await this.etcdctl(args);
        break;
      } catch (err) {
        if (!(err as Error).message.includes('unhealthy cluster')) throw err;
        if (this.extraVoters > 0) {
          throw new Error(`member add refused: an unstarted voting member (addUnstartedMember) keeps the cluster "unhealthy" for --strict-reconfig-check; add members before it\n${(err as Error).message}`);
        }
        if (Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
    const m = /Member\s+([0-9a-f]+)\s+added/i.exec(out);
    if (!m) throw new Error(`unexpected etcdctl member add output: ${out}`);
    // etcdctl prints %16x, which pads with spaces, never zeros; normalise anyway to the unpadded form.
    return BigInt(`0x${m[1]!}`).toString(16);
  }

  /** Resumes paused members, kills all, waits for them and removes the directory. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const r of this.rt) {
        if (!isAlive(r.proc)) continue;
        try {
          if (r.state === 'paused') r.proc!.kill('SIGCONT');
          r.proc!.kill('SIGKILL');
        } catch {
          // raced with its exit
        }
        r.state = 'killed';
      }
      await Promise.all(this.rt.map((r) => r.exited));
      await fsp.rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  /** PIDs of the member processes still alive (for tests that check nothing is left behind). */
  pids(): number[] {
    return this.rt.flatMap((r) => (isAlive(r.proc) ? [r.proc!.pid!] : []));
  }
}
