import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeKubeconfig } from '../testbed/kubeconfig.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
let dir: string;
let kubeconfig: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
  kubeconfig = join(dir, 'kubeconfig');
  // An API server that is not there: the exporter must start anyway and report the source down.
  writeKubeconfig(kubeconfig);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env } });
}

describe('command line', () => {
  const bad: [string[], RegExp][] = [
    [['--interval=5x'], /--interval.*'5x' is invalid.*15s/],
    [['--interval=0s'], /greater than zero/],
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
    [['--etcd.endpoints=127.0.0.1:2379'], /"127.0.0.1:2379" is not an etcd client URL|not a URL/],
    [['--web.listen-address=9979'], /'9979' is invalid.*host:port/],
    [['--log.format=text'], /'text' is invalid.*logfmt, json/],
    [['--etcd.ca-file=/nonexistent/ca.crt'], /cannot read \/nonexistent\/ca.crt: ENOENT/],
    [['--etcd.endpoints=http://127.0.0.1:1'], /no Kubernetes configuration/],
    [['--etcd.endpoints=http://127.0.0.1:1,https://127.0.0.2:2379'], /mixes http and https/],
    [['--etcd.endpoints=https://127.0.0.1:1', '--kubeconfig=KUBECONFIG'], /https etcd endpoints need --etcd.ca-file/],
  ];
  for (const [args, want] of bad) {
    it(`exits 2 with one line for ${args.join(' ')}`, () => {
      const r = run(args.map((a) => a.replace('KUBECONFIG', kubeconfig)));
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, want);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^k0s-etcdmember-exporter: /);
    });
  }

  it('reads flags from the environment', () => {
    const r = run([], { K0S_ETCDMEMBER_EXPORTER_INTERVAL: 'soon' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /from env 'K0S_ETCDMEMBER_EXPORTER_INTERVAL' is invalid/);
  });

  it('prints the version and the help, exit 0', () => {
    const v = run(['--version']);
    assert.equal(v.status, 0);
    // prometheus/common/version.Print's layout line for line; a checkout's build is stamped with nothing, so
    // what Go's would leave empty says unknown, and the tags line says how it was built.
    const arch = ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
    assert.equal(v.stdout, [
      `k0s-etcdmember-exporter, version ${PKG.version} (branch: unknown, revision: unknown)`,
      '  build user:       unknown',
      '  build date:       unknown',
      `  node version:     ${process.version}`,
      `  platform:         ${process.platform}/${arch}`,
      '  tags:             dist',
      '',
    ].join('\n'));
    const h = run(['--help']);
    assert.equal(h.status, 0);
    for (const flag of ['--etcd.endpoints', '--etcd.ca-file', '--etcd.cert-file', '--etcd.key-file', '--etcd.timeout', '--kubeconfig',
      '--interval', '--node.member-name', '--web.listen-address', '--web.telemetry-path', '--log.level', '--log.format']) {
      assert.ok(h.stdout.includes(flag), flag);
    }
  });

  it('serves /metrics with both sources down, logs JSON, and exits 0 within 5 s of SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, '--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig}`,
      '--web.listen-address=127.0.0.1:0', '--log.format=json', '--interval=1s'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let stderr = '';
      child.stderr.setEncoding('utf8');
      const port = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 10_000);
        child.stderr.on('data', (c: string) => {
          stderr += c;
          const m = /"msg":"listening","address":"127.0.0.1:(\d+)"/.exec(stderr);
          if (m) { clearTimeout(t); resolve(Number(m[1])); }
        });
      });
      assert.notEqual(port, 0, 'the log names the real port');
      await new Promise((r) => setTimeout(r, 1500));
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
      assert.match(body, /^k0s_etcdmember_source_up\{source="etcd"\} 0$/m);
      assert.match(body, /^k0s_etcdmember_source_up\{source="kubernetes"\} 0$/m);
      assert.doesNotMatch(body, /^k0s_etcdmember_duplicates /m);
      for (const line of stderr.trim().split('\n')) JSON.parse(line);
      assert.doesNotMatch(stderr, /not-logged/, 'the bearer token never reaches the log');
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const t0 = Date.now();
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
