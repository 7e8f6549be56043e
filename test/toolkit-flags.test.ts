// The exporter-toolkit conventions of the command line, as a user meets them (issue 19, items 7 and 8): a typo's
// suggestion in both flag forms, file:line:column in every YAML error, every missing prerequisite in one line, a
// repeated --web.listen-address all served, --web.systemd-socket through systemd's own activation helper.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { K0S_PKI } from '../src/config.js';
import { parseWebConfig, WebConfigError } from '../src/web/config.js';
import { LISTEN_FDS_START, systemdListenFds } from '../src/web/systemd.js';
import { writeKubeconfig } from '../testbed/kubeconfig.js';
import { findTool } from '../testbed/tools.js';
import { freePorts } from '../testbed/wait.js';
import { makeWebPki, type WebPki } from '../testbed/web-pki.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const SOCKET_ACTIVATE = '/usr/bin/systemd-socket-activate';
let dir: string;
let kubeconfig: string;
let pki: WebPki;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolkit-flags-test-'));
  kubeconfig = join(dir, 'kubeconfig');
  // An API server that is not there: the exporter starts anyway and reports the source down.
  writeKubeconfig(kubeconfig);
  pki = makeWebPki(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env } });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The one line a usage error is, without the program's prefix; fails unless the exit is 2 with exactly one line. */
function usageLine(r: ReturnType<typeof run>, prefix = 'k0s-etcdmember-exporter: '): string {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(prefix), r.stderr);
  return lines[0]!.slice(prefix.length);
}

describe('a mistyped flag: the closest flag is suggested, in both forms', () => {
  for (const [program, args] of [['k0s-etcdmember-exporter', []], ['k0s-etcdmember-exporter check', ['check']], ['k0s-etcdmember-exporter prune', ['prune']]] as const) {
    it(`${program}: --etcd.endpoint=URL and --etcd.endpoint URL`, () => {
      for (const typo of [['--etcd.endpoint=https://127.0.0.1:2379'], ['--etcd.endpoint', 'https://127.0.0.1:2379']]) {
        const line = usageLine(run([...args, ...typo]), `${program}: `);
        assert.match(line, /^unknown option '--etcd\.endpoint(=https:\/\/127\.0\.0\.1:2379)?' \(Did you mean --etcd\.endpoints\?\)$/);
      }
    });
  }
  it('--web.listen-adress=:9979 suggests --web.listen-address', () => {
    assert.match(usageLine(run(['--web.listen-adress=:9979'])), /\(Did you mean --web\.listen-address\?\)$/);
  });
});

describe('every YAML error names file:line:column', () => {
  const base = ['--etcd.endpoints=http://127.0.0.1:1'];
  it('the web config: broken YAML, and a key in the wrong place', () => {
    const broken = file('web-broken.yml', 'tls_server_config:\n  cert_file: a\n    key_file: b\n');
    assert.equal(usageLine(run([...base, `--kubeconfig=${kubeconfig}`, `--web.config.file=${broken}`])),
      `--web.config.file ${broken}:2:14: not valid YAML: Nested mappings are not allowed in compact mappings`);
    const typo = file('web-typo.yml', 'basic_auth_users: {}\ntls_server_config:\n  cert_file: a\n  key_fil: b\n');
    assert.match(usageLine(run([...base, `--kubeconfig=${kubeconfig}`, `--web.config.file=${typo}`])),
      new RegExp(`^--web\\.config\\.file ${typo}:4:3: tls_server_config\\.key_fil: unknown key; want one of `));
  });
  it('k0s.yaml: broken YAML', () => {
    const k0s = file('k0s-broken.yaml', 'spec:\n  storage:\n    type: etcd\n   etcd: {}\n');
    assert.equal(usageLine(run([...base, `--kubeconfig=${kubeconfig}`, `--k0s.config-file=${k0s}`])),
      `--k0s.config-file: ${k0s}:4:1: not valid YAML: All mapping items must start at the same column`);
  });
  it('the kubeconfig: broken YAML, the reason without the file\'s text (it holds tokens)', () => {
    const kc = file('kubeconfig-broken', 'apiVersion: v1\nusers:\n  - name: a\n   user: {token: secret-token}\n');
    const line = usageLine(run([...base, `--kubeconfig=${kc}`]));
    assert.equal(line, `cannot load kubeconfig ${kc}:4:4: not valid YAML: bad indentation of a sequence entry`);
    assert.ok(!line.includes('secret-token'));
  });
  it('check names them the same way', () => {
    const kc = file('kubeconfig-broken-check', 'apiVersion: v1\nusers:\n  - name: a\n   user: {}\n');
    assert.equal(usageLine(run(['check', ...base, `--kubeconfig=${kc}`]), 'k0s-etcdmember-exporter check: '),
      `cannot load kubeconfig ${kc}:4:4: not valid YAML: bad indentation of a sequence entry`);
  });
});

describe('a host that is not set up: every missing prerequisite in one line, exit 2', () => {
  it('the defaults on a machine without k0s: the etcd CA and the Kubernetes configuration, together', (t) => {
    if (existsSync(K0S_PKI.caFile)) {
      t.skip(`${K0S_PKI.caFile} exists: this machine is a k0s controller, the CA is not missing`);
      return;
    }
    assert.equal(usageLine(run([])), `2 problems: (1) https etcd endpoints need --etcd.ca-file (${K0S_PKI.caFile} was not found); ` +
      '(2) no Kubernetes configuration: give --kubeconfig, set KUBECONFIG, run in a pod, or create ~/.kube/config');
  });
  it('every named file that cannot be read, then what else is wrong, in the order of the flags', () => {
    const missing = (n: string): string => join(dir, 'missing', n);
    const line = usageLine(run([
      `--etcd.ca-file=${missing('ca.crt')}`, `--etcd.cert-file=${missing('client.crt')}`, `--etcd.key-file=${missing('client.key')}`,
      `--kubeconfig=${missing('kubeconfig')}`, `--web.config.file=${missing('web.yml')}`,
      `--k0s.config-file=${file('k0s-typo.yaml', 'spec:\n  storag: {}\n')}`,
    ]));
    assert.equal(line, [
      '6 problems:',
      `(1) --etcd.ca-file: cannot read ${missing('ca.crt')}: ENOENT;`,
      `(2) --etcd.cert-file: cannot read ${missing('client.crt')}: ENOENT;`,
      `(3) --etcd.key-file: cannot read ${missing('client.key')}: ENOENT;`,
      `(4) --kubeconfig: cannot read ${missing('kubeconfig')}: ENOENT;`,
      `(5) --web.config.file: cannot read ${missing('web.yml')}: ENOENT;`,
      `(6) --k0s.config-file: ${join(dir, 'k0s-typo.yaml')}:2:3: unknown field spec.storag (did you mean spec.storage?): k0s refuses to start with it (no k0s release from 1.30 to 1.36 knows it)`,
    ].join(' '));
  });
  it('combinations are reported with the files: a certificate without its key, mixed schemes', () => {
    const line = usageLine(run(['--etcd.endpoints=http://127.0.0.1:1,https://127.0.0.2:2379', `--etcd.cert-file=${pki.clientCert}`, `--kubeconfig=${join(dir, 'nope')}`]));
    assert.equal(line, `3 problems: (1) --kubeconfig: cannot read ${join(dir, 'nope')}: ENOENT; ` +
      '(2) --etcd.endpoints mixes http and https (http://127.0.0.1:1,https://127.0.0.2:2379); the etcd client uses one scheme for all; ' +
      '(3) --etcd.cert-file and --etcd.key-file go together: give both or neither');
  });
  it('npm start is the same program: its script builds and runs dist/src/main.js with the arguments given', () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['start']!, /&& node dist\/src\/main\.js$/);
  });
});

describe('the web config\'s unknown-key message offers only keys this exporter takes', () => {
  const refusedAt: [string, string, RegExp][] = [
    ['', 'rate_limit', /^rate_limit: is refused: this exporter does not implement the toolkit's request rate limiter, and accepting a limit that does nothing would be worse; remove it$/],
    ['tls_server_config', 'cert', /^tls_server_config\.cert: inline certificates are not supported here/],
    ['tls_server_config', 'key', /^tls_server_config\.key: inline keys are not supported here/],
    ['tls_server_config', 'client_ca', /^tls_server_config\.client_ca: inline CAs are not supported here/],
    ['tls_server_config', 'client_allowed_sans', /^tls_server_config\.client_allowed_sans: is not supported by this exporter/],
  ];
  const errorOf = (yaml: string): WebConfigError => {
    try {
      parseWebConfig(yaml, join(dir, 'web.yml'));
    } catch (err) {
      assert.ok(err instanceof WebConfigError, String(err));
      return err;
    }
    assert.fail(`accepted:\n${yaml}`);
  };
  const nest = (section: string, body: string): string => (section === '' ? body : `${section}:\n  cert_file: a\n  key_file: b\n  ${body.replace(/\n(?=.)/g, '\n  ')}`);
  for (const [section, key, refusal] of refusedAt) {
    it(`${section === '' ? '' : `${section}.`}${key}: not offered for a typo beside it, refused by name with why`, () => {
      const typo = errorOf(nest(section, 'no_such_key: 1\n'));
      assert.match(typo.message, /unknown key; want one of /);
      const offered = typo.message.replace(/^.*want one of /, '').split(', ');
      assert.ok(!offered.includes(key), `${key} is offered: ${typo.message}`);
      assert.ok(offered.length > 1, typo.message);
      const refused = errorOf(nest(section, `${key}: [x]\n`));
      assert.match(refused.message, refusal);
    });
  }
  it('rate_limit left empty is no limit asked for, and accepted, as the toolkit does', () => {
    assert.doesNotThrow(() => parseWebConfig('rate_limit:\n', join(dir, 'web.yml')));
  });
});

interface Exporter {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  exit: Promise<number | null>;
}

function startExporter(command: string, args: string[], env: Record<string, string> = {}): Exporter {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env } });
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        logs.push({ raw: l });
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, logs, exit };
}

async function until<T>(what: string, get: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(e: Exporter): Promise<void> {
  if (e.child.exitCode === null) e.child.kill('SIGTERM');
  await e.exit;
}

const listening = (e: Exporter): Record<string, unknown>[] => e.logs.filter((l) => l['msg'] === 'listening');

async function scrape(url: string, ca?: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  if (ca === undefined) {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: readFileSync(ca), timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', reject).end();
  });
}

const SOURCES_DOWN = ['--etcd.endpoints=http://127.0.0.1:1', '--log.format=json', '--events.enabled=false'];

describe('--web.listen-address, repeated: every address served', () => {
  it('plain HTTP on IPv4 and IPv6 loopback: one "listening" line each, /metrics on both', { timeout: 60_000 }, async () => {
    const e = startExporter(process.execPath, [MAIN, ...SOURCES_DOWN, `--kubeconfig=${kubeconfig}`, '--web.listen-address=127.0.0.1:0', '--web.listen-address=[::1]:0']);
    try {
      const lines = await until('two listening lines', () => (listening(e).length === 2 ? listening(e) : undefined));
      const addresses = lines.map((l) => String(l['address']));
      assert.match(addresses[0]!, /^127\.0\.0\.1:\d+$/);
      assert.match(addresses[1]!, /^\[::1\]:\d+$/);
      for (const a of addresses) {
        const r = await scrape(`http://${a}/metrics`);
        assert.equal(r.status, 200, a);
        assert.match(r.body, /^k0s_etcdmember_build_info\{/m, a);
      }
    } finally {
      await stop(e);
    }
  });

  it('TLS and basic auth from one web config on both addresses', { timeout: 60_000 }, async () => {
    const web = file('web-two.yml', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`);
    const e = startExporter(process.execPath, [MAIN, ...SOURCES_DOWN, `--kubeconfig=${kubeconfig}`, `--web.config.file=${web}`, '--web.listen-address=127.0.0.1:0', '--web.listen-address=127.0.0.1:0']);
    try {
      const lines = await until('two listening lines', () => (listening(e).length === 2 ? listening(e) : undefined));
      assert.deepEqual(lines.map((l) => l['tls']), [true, true]);
      const addresses = lines.map((l) => String(l['address']));
      assert.notEqual(addresses[0], addresses[1]);
      for (const a of addresses) assert.equal((await scrape(`https://${a}/metrics`, pki.caFile)).status, 200, a);
    } finally {
      await stop(e);
    }
  });

  it('an address that cannot be bound: exit 1 naming it, after the others bound', { timeout: 60_000 }, async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const e = startExporter(process.execPath, [MAIN, ...SOURCES_DOWN, `--kubeconfig=${kubeconfig}`, '--web.listen-address=127.0.0.1:0', `--web.listen-address=127.0.0.1:${port}`]);
      assert.equal(await e.exit, 1);
      const failed = e.logs.filter((l) => l['level'] === 'error');
      assert.equal(failed.length, 1, JSON.stringify(e.logs));
      assert.equal(failed[0]!['msg'], 'cannot listen');
      assert.equal(failed[0]!['address'], `127.0.0.1:${port}`);
      assert.match(String(failed[0]!['err']), /EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('a bad one among good ones is a usage error naming it', () => {
    assert.match(usageLine(run([`--kubeconfig=${kubeconfig}`, '--etcd.endpoints=http://127.0.0.1:1', '--web.listen-address=:9979', '--web.listen-address=9980'])),
      /^option '--web\.listen-address <address>' argument '9980' is invalid\. want host:port, :port or \[ipv6\]:port, e\.g\. :9979$/);
  });
});

describe('--web.systemd-socket', () => {
  it('serves the sockets systemd-socket-activate passes (LISTEN_FDS, LISTEN_PID), and nothing else', { timeout: 90_000 }, async () => {
    assert.ok(findTool(SOCKET_ACTIVATE), `${SOCKET_ACTIVATE} is missing (apt-get install systemd; scripts/setup.mjs installs it)`);
    const [a, b] = await freePorts('127.0.0.1', 2);
    // It binds both, waits for the first connection, then execs the exporter with them as fds 3 and 4.
    const e = startExporter(SOCKET_ACTIVATE, ['-l', `127.0.0.1:${a}`, '-l', `127.0.0.1:${b}`, process.execPath, MAIN, ...SOURCES_DOWN, `--kubeconfig=${kubeconfig}`, '--web.systemd-socket']);
    try {
      // Its own lines ("Listening on 127.0.0.1:PORT as 3."): the sockets are bound, a connection now waits for the exporter.
      await until('systemd-socket-activate to bind both', () => (e.logs.filter((l) => /^Listening on /.test(String(l['raw']))).length === 2 ? true : undefined));
      // Answered once the exporter has started, which takes seconds on a loaded machine.
      const first = await scrape(`http://127.0.0.1:${a}/metrics`, undefined, 45_000);
      assert.equal(first.status, 200);
      assert.match(first.body, /^k0s_etcdmember_build_info\{/m);
      assert.equal((await scrape(`http://127.0.0.1:${b}/healthz`)).status, 200);
      const lines = listening(e);
      assert.deepEqual(lines.map((l) => [l['address'], l['fd']]), [[`127.0.0.1:${a}`, '3'], [`127.0.0.1:${b}`, '4']]);
      // The exporter bound nothing itself: not the default :9979 (which another process may hold here, so the
      // log is what is checked).
      assert.ok(!lines.some((l) => String(l['address']).endsWith(':9979')));
    } finally {
      await stop(e);
    }
  });

  it('without sockets from systemd: exit 2, one line saying so and what to do', () => {
    assert.equal(usageLine(run([`--kubeconfig=${kubeconfig}`, '--etcd.endpoints=http://127.0.0.1:1', '--web.systemd-socket'])),
      '--web.systemd-socket: systemd passed no sockets (LISTEN_FDS and LISTEN_PID are not set); start the exporter through its .socket unit (deploy/systemd/k0s-etcdmember-exporter.socket), or drop the flag and use --web.listen-address');
  });

  it('sockets meant for another process are not taken', () => {
    const line = usageLine(run([`--kubeconfig=${kubeconfig}`, '--etcd.endpoints=http://127.0.0.1:1', '--web.systemd-socket'], { LISTEN_FDS: '1', LISTEN_PID: '1' }));
    assert.match(line, /^--web\.systemd-socket: the sockets systemd passed are for process 1 \(LISTEN_PID\), not this one \(\d+\); /);
  });

  it('from its variable too (the systemd drop-in sets it), checked as a boolean', () => {
    assert.match(usageLine(run([`--kubeconfig=${kubeconfig}`, '--etcd.endpoints=http://127.0.0.1:1'], { K0S_ETCDMEMBER_EXPORTER_WEB_SYSTEMD_SOCKET: 'true' })), /^--web\.systemd-socket: systemd passed no sockets/);
    assert.match(usageLine(run([`--kubeconfig=${kubeconfig}`, '--etcd.endpoints=http://127.0.0.1:1'], { K0S_ETCDMEMBER_EXPORTER_WEB_SYSTEMD_SOCKET: 'yes' })), /K0S_ETCDMEMBER_EXPORTER_WEB_SYSTEMD_SOCKET' is invalid\. want true or false$/);
  });

  it('with --web.listen-address on the command line: refused, the socket unit says where to listen', () => {
    assert.match(usageLine(run([`--kubeconfig=${kubeconfig}`, '--etcd.endpoints=http://127.0.0.1:1', '--web.systemd-socket', '--web.listen-address=:9979'], { LISTEN_FDS: '1', LISTEN_PID: '1' })),
      /^2 problems: \(1\) --web\.systemd-socket and --web\.listen-address exclude each other: systemd's socket unit \(ListenStream=\) says where to listen; \(2\) /);
  });

  it('systemdListenFds: descriptors from 3, and the variables removed so nothing started later takes them', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '4242', LISTEN_FDNAMES: 'a:b', OTHER: 'x' };
    assert.deepEqual(systemdListenFds(env, 4242), { fds: [LISTEN_FDS_START, LISTEN_FDS_START + 1] });
    assert.deepEqual(env, { OTHER: 'x' });
    assert.match((systemdListenFds({ LISTEN_FDS: '0', LISTEN_PID: '7' }, 7) as { problem: string }).problem, /systemd passed no sockets \(LISTEN_FDS="0"\)/);
    assert.match((systemdListenFds({ LISTEN_FDS: 'two', LISTEN_PID: '7' }, 7) as { problem: string }).problem, /LISTEN_FDS="two"/);
  });
});
