// The release as an operator gets it: `npm run package`'s single executable, copied alone into an empty directory
// and run with an empty environment (no node, no node_modules, no repository), against a real etcd and the API
// test server in the k0s#5369 state; and the release tarball's install.sh, run against a scratch root, laying out
// what the systemd units expect. The build is cached between runs (testbed/release.ts): it takes about a minute.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TARBALL_FILES, platformName } from '../scripts/package.js';
import { startK0s5369Scene, type K0s5369Scene } from '../testbed/k0s5369.js';
import { cachedRelease, type CachedRelease } from '../testbed/release.js';
import { requireTool } from '../testbed/tools.js';
import { htpasswdHash, makeWebPki, type WebPki } from '../testbed/web-pki.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };
const NAME = 'k0s-etcdmember-exporter';
const BASE = `${NAME}-${PKG.version}-${platformName()}`;

let release: CachedRelease;
let scene: K0s5369Scene;
let dir = '';
/** The executable, alone in a directory of its own. */
let exe = '';
let pki: WebPki;
let k0sYaml = '';

before(async () => {
  release = cachedRelease();
  process.stderr.write(`# release ${release.cached ? 'from the cache' : 'built'}: the build took ${release.buildSeconds.toFixed(1)} s\n`);
  scene = await startK0s5369Scene();
  dir = mkdtempSync(join(tmpdir(), 'single-executable-'));
  mkdirSync(join(dir, 'alone'));
  exe = join(dir, 'alone', BASE);
  copyFileSync(join(release.dir, BASE), exe);
  mkdirSync(join(dir, 'pki'));
  pki = makeWebPki(join(dir, 'pki'));
  k0sYaml = join(dir, 'k0s.yaml');
  writeFileSync(k0sYaml, `spec:\n  storage:\n    etcd:\n      peerAddress: ${new URL(scene.etcd.members[0]!.peerUrl).hostname}\n`);
});
after(async () => {
  await Promise.all([scene?.etcd.stop(), scene?.api.close()]);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** The flags that point the exporter, check or prune at the scene; this host is the first member. */
function sceneFlags(): string[] {
  const { etcd, api } = scene;
  return [
    `--etcd.endpoints=${etcd.endpoints.join(',')}`,
    `--etcd.ca-file=${etcd.caFile}`,
    `--etcd.cert-file=${etcd.certFile}`,
    `--etcd.key-file=${etcd.keyFile}`,
    '--etcd.timeout=3s',
    `--kubeconfig=${api.kubeconfigPath}`,
    `--node.member-name=${etcd.members[0]!.name}`,
    `--k0s.config-file=${k0sYaml}`,
  ];
}

// An empty environment: no PATH (so no node to find), no HOME, no KUBECONFIG, no NODE_OPTIONS.
const EMPTY_ENV = {};

describe('npm run package', () => {
  it('prints the path of the executable, named by version, OS and architecture, with a sha256sum file beside it', () => {
    assert.equal(PKG.scripts['package'], 'npm run --silent build && node dist/scripts/package.js', 'this test runs what npm run package runs after the build');
    assert.equal(release.stdout, `${join(release.dir, BASE)}\n`, 'stdout is the path and nothing else');
    assert.match(BASE, /^k0s-etcdmember-exporter-\d+\.\d+\.\d+-linux-(amd64|arm64)$/);
    assert.ok((statSync(join(release.dir, BASE)).mode & 0o111) !== 0, 'executable');
    for (const f of [BASE, `${BASE}.tar.gz`]) {
      assert.match(readFileSync(join(release.dir, `${f}.sha256`), 'utf8'), new RegExp(`^[0-9a-f]{64}  ${f.replace(/\./g, '\\.')}\n$`));
      const check = spawnSync('sha256sum', ['-c', `${f}.sha256`], { cwd: release.dir, encoding: 'utf8', timeout: 60_000 });
      assert.equal(check.status, 0, `sha256sum -c ${f}.sha256: ${check.stdout}${check.stderr}`);
    }
    assert.deepEqual(readdirSync(join(dir, 'alone')), [BASE]);
  });
});

describe('the executable alone, with an empty environment', () => {
  it('--version prints prometheus/common/version.Print\'s layout, stamped with the checkout it was built from, and nothing else', () => {
    const r = spawnSync(exe, ['--version'], { cwd: join(dir, 'alone'), env: EMPTY_ENV, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warning (an experimental-feature notice, a failed require) on stderr');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 6, r.stdout);
    const esc = (t: string): string => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    // The release is cached by its inputs (testbed/release.ts), so it may have been built at an earlier commit or
    // on another branch: the stamp must be a commit of this repository and a branch name, not today's HEAD.
    // A copy of the sources without .git (as CI may test) has nothing to stamp: unknown, as prometheus/common says.
    if (spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).status !== 0) {
      assert.equal(lines[0], `k0s-etcdmember-exporter, version ${PKG.version} (branch: unknown, revision: unknown)`);
    } else {
      const m = new RegExp(`^k0s-etcdmember-exporter, version ${esc(PKG.version)} \\(branch: ([\\w./-]+), revision: ([0-9a-f]{12})(-dirty)?\\)$`).exec(lines[0]!);
      assert.ok(m, lines[0]);
      const commit = spawnSync('git', ['cat-file', '-e', `${m[2]}^{commit}`], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(commit.status, 0, `revision ${m[2]} is no commit of this checkout: ${commit.stderr}`);
    }
    assert.match(lines[1]!, /^ {2}build user: {7}\S+@\S+$/);
    assert.match(lines[2]!, /^ {2}build date: {7}\d{8}-\d\d:\d\d:\d\d$/, "promu's layout, 20060102-15:04:05");
    assert.equal(lines[3], `  node version:     ${process.version}`);
    assert.match(lines[4]!, /^ {2}platform: {9}linux\/(amd64|arm64)$/);
    assert.equal(lines[5], '  tags:             sea');
  });

  it('check finds the #5369 duplicate in real etcd and the API server', { timeout: 60_000 }, async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(exe, ['check', ...sceneFlags()], { cwd: join(dir, 'alone'), env: EMPTY_ENV, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^duplicate c1: .*; next: kubectl delete etcdmember c1$/m);
    assert.equal(r.stderr, '');
  });

  it('refuses to start, naming the cause, when it cannot load its bcrypt library (TMPDIR unusable)', { timeout: 30_000 }, () => {
    const webConfig = join(dir, 'web-config-no-tmp.yml');
    writeFileSync(webConfig, `basic_auth_users:\n  prometheus: ${JSON.stringify(htpasswdHash('scrape-secret', 4))}\n`);
    const r = spawnSync(exe, [...sceneFlags(), `--web.config.file=${webConfig}`, '--web.listen-address=127.0.0.1:0'], {
      cwd: join(dir, 'alone'),
      env: { TMPDIR: join(dir, 'no-such-dir') },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^k0s-etcdmember-exporter: cannot check passwords: cannot load the bcrypt library it carries from a file under \S+no-such-dir: .*ENOENT.* \(TMPDIR must name a writable directory not mounted noexec\)\n$/);
  });

  describe('the exporter, over TLS with basic auth', () => {
    let child: ChildProcess;
    let port = 0;
    const logs: string[] = [];

    before(async () => {
      // The password check loads the bcrypt binding from the executable's asset (src/web/bcrypt-bundled.ts).
      const webConfig = join(dir, 'web-config.yml');
      writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\nbasic_auth_users:\n  prometheus: ${JSON.stringify(htpasswdHash('scrape-secret'))}\n`);
      child = spawn(exe, [...sceneFlags(), `--web.config.file=${webConfig}`, '--web.listen-address=127.0.0.1:0', '--log.format=json', '--interval=1s'], {
        cwd: join(dir, 'alone'),
        env: EMPTY_ENV,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.setEncoding('utf8');
      let pending = '';
      child.stderr!.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        logs.push(...lines);
      });
      port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not listening within 20 s:\n${logs.join('\n')}`)), 20_000);
        const poll = setInterval(() => {
          const line = logs.find((l) => l.includes('"listening"'));
          if (line === undefined) return;
          clearInterval(poll);
          clearTimeout(timer);
          resolve(Number(/:(\d+)$/.exec((JSON.parse(line) as { address: string }).address)?.[1]));
        }, 20);
        child.once('exit', (code) => {
          clearInterval(poll);
          clearTimeout(timer);
          reject(new Error(`exited with ${code}:\n${logs.join('\n')}${pending}`));
        });
      });
    });
    after(async () => {
      if (child === undefined || child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    });

    function get(path: string, auth?: string, accept = '*/*'): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { accept };
        if (auth !== undefined) headers['authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
        const req = request({ host: '127.0.0.1', port, path, ca: readFileSync(pki.caFile), servername: 'localhost', headers, timeout: 10_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
        req.on('error', reject);
        req.end();
      });
    }

    it('serves /metrics with the right password only, both sources up and the duplicate counted', { timeout: 60_000 }, async () => {
      assert.equal((await get('/metrics')).status, 401);
      assert.equal((await get('/metrics', 'prometheus:wrong')).status, 401);
      const deadline = Date.now() + 20_000;
      while ((await get('/readyz')).status !== 200) {
        assert.ok(Date.now() < deadline, `not ready within 20 s:\n${logs.join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const m = await get('/metrics', 'prometheus:scrape-secret');
      assert.equal(m.status, 200, m.body);
      assert.match(m.body, new RegExp(`^k0s_etcdmember_build_info\\{.*version="${PKG.version.replace(/\./g, '\\.')}"`, 'm'));
      assert.match(m.body, /^k0s_etcdmember_source_up\{source="etcd"\} 1$/m);
      assert.match(m.body, /^k0s_etcdmember_source_up\{source="kubernetes"\} 1$/m);
      assert.match(m.body, /^k0s_etcdmember_duplicates 1$/m);
    });

    it('serves the status page, naming c1 as the duplicate', { timeout: 30_000 }, async () => {
      const page = await get('/', 'prometheus:scrape-secret', 'text/html');
      assert.equal(page.status, 200);
      assert.match(page.body, /^<!doctype html>/i);
      assert.match(page.body, /kubectl delete etcdmember c1/);
      // The runbook the page links is inside the executable: no file beside it, no network.
      assert.match(page.body, /<a href="runbook#k0setcdmemberduplicate">/);
      const runbook = await get('/runbook', 'prometheus:scrape-secret', 'text/html');
      assert.equal(runbook.status, 200, runbook.body);
      assert.match(runbook.body, /<h2 id="k0setcdmemberduplicate">K0sEtcdMemberDuplicate<\/h2>/);
      assert.deepEqual(logs.filter((l) => !l.startsWith('{')), [], 'every log line is structured (no runtime warning)');
    });
  });
});

describe('the release tarball', () => {
  let unpacked = '';
  let root = '';

  before(() => {
    const tar = spawnSync('tar', ['-xzf', join(release.dir, `${BASE}.tar.gz`), '-C', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(tar.status, 0, tar.stderr);
    unpacked = join(dir, BASE);
    root = join(dir, 'root');
    mkdirSync(root);
  });

  function install(): { status: number | null; out: string } {
    const r = spawnSync('sh', [join(unpacked, 'install.sh'), '--root', root], { encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin' } });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  it('holds the executable, the units, the web config template, the alerts, the dashboard, the mixin and install.sh', () => {
    // Files at any depth: docs/ has a subfolder (docs/upstream).
    const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile());
    const want = [NAME, ...TARBALL_FILES.flatMap(([from, to]) => (statSync(join(ROOT, from)).isDirectory() ? filesUnder(join(ROOT, from)).map((f) => `${to}/${f}`) : [to]))];
    const got = filesUnder(unpacked);
    assert.deepEqual(got.sort(), want.sort());
    assert.deepEqual(readFileSync(join(unpacked, NAME)), readFileSync(exe), 'the same executable');
    for (const f of ['systemd/k0s-etcdmember-exporter.service', 'systemd/web-config.yml', 'alerts/k0s-etcdmember.rules.yml', 'grafana/k0s-etcdmember.json', 'mixin/mixin.libsonnet', 'docs/runbook.md']) {
      assert.ok(existsSync(join(unpacked, f)), f);
    }
  });

  it('install.sh lays out what the units expect, keeps the operator\'s files on a second run, and the units verify', (t) => {
    const first = install();
    assert.equal(first.status, 0, first.out);
    assert.match(first.out, new RegExp(`^installed k0s-etcdmember-exporter, version ${PKG.version.replace(/\./g, '\\.')} `, 'm'));
    assert.match(first.out, /still needed before the first start/);
    assert.match(first.out, /systemctl enable --now k0s-etcdmember-exporter\.service k0s-etcdmember-exporter-restart\.path/);
    const etc = join(root, 'etc', NAME);
    writeFileSync(join(etc, 'exporter.env'), 'K0S_ETCDMEMBER_EXPORTER_INTERVAL=30s\n');
    for (const f of ['kubeconfig', 'web-tls.crt', 'web-tls.key']) writeFileSync(join(etc, f), 'stand-in\n');
    // The units of the release before the single executable go.
    const units = join(root, 'etc/systemd/system');
    writeFileSync(join(units, `${NAME}-k0s-config.path`), '[Path]\n');
    const second = install();
    assert.equal(second.status, 0, second.out);
    assert.doesNotMatch(second.out, /still needed/);
    assert.ok(!existsSync(join(units, `${NAME}-k0s-config.path`)), 'the old path unit is removed');
    assert.equal(readFileSync(join(etc, 'exporter.env'), 'utf8'), 'K0S_ETCDMEMBER_EXPORTER_INTERVAL=30s\n', 'an edited exporter.env is kept');

    const mode = (p: string): number => statSync(p).mode & 0o777;
    assert.equal(mode(etc), 0o700);
    assert.equal(mode(join(etc, 'web-config.yml')), 0o600, 'the web config holds the password hash');
    const unitText = readFileSync(join(units, `${NAME}.service`), 'utf8');
    // Every absolute file the unit names on the host (ExecStart, EnvironmentFile, LoadCredential sources outside
    // k0s's own directories) is where install.sh put it.
    const execStart = /^ExecStart=(\S+)/m.exec(unitText)?.[1];
    assert.equal(execStart, `/usr/local/bin/${NAME}`);
    assert.ok(mode(join(root, execStart)) & 0o111, 'the executable is executable');
    assert.deepEqual(readFileSync(join(root, execStart)), readFileSync(exe));
    assert.ok(existsSync(join(root, /^EnvironmentFile=-(\S+)/m.exec(unitText)![1]!)));
    for (const m of unitText.matchAll(/^LoadCredential=[^:]+:(\/etc\/k0s-etcdmember-exporter\/\S+)$/gm)) assert.ok(existsSync(join(root, m[1]!)), `${m[1]} (LoadCredential=)`);
    const pathUnit = readFileSync(join(units, `${NAME}-restart.path`), 'utf8');
    const watched = [...pathUnit.matchAll(/^PathChanged=(\S+)$/gm)].map((m) => m[1]!);
    const credentials = [...unitText.matchAll(/^LoadCredential=[^:]+:(\S+)$/gm)].map((m) => m[1]!);
    assert.deepEqual([...watched].sort(), [...credentials].sort(), 'the path unit restarts the exporter when any file it is given changes');

    const analyze = requireTool(t, 'systemd-analyze', 'apt-get install systemd');
    if (analyze === undefined) return;
    // verify checks that ExecStart's file exists: point it at the scratch root's copy.
    const check = join(dir, 'verify');
    mkdirSync(check);
    for (const u of readdirSync(units)) writeFileSync(join(check, u), readFileSync(join(units, u), 'utf8').replace(`ExecStart=/usr/local/bin/${NAME}`, `ExecStart=${join(root, 'usr/local/bin', NAME)}`));
    const r = spawnSync(analyze, ['verify', '--man=no', ...readdirSync(check).map((u) => join(check, u))], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `systemd-analyze verify:\n${r.stdout}${r.stderr}`);
    assert.deepEqual(`${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(NAME)), []);
    assert.deepEqual(readdirSync(units).sort(), [`${NAME}-restart.path`, `${NAME}-restart.service`, `${NAME}.service`]);
    assert.equal(basename(execStart), NAME);
  });

  it('install.sh refuses an executable that does not run here, and leaves the installed one alone', () => {
    const installed = join(root, 'usr/local/bin', NAME);
    assert.ok(existsSync(installed), 'installed by the test before');
    const real = join(unpacked, `${NAME}.real`);
    renameSync(join(unpacked, NAME), real);
    try {
      writeFileSync(join(unpacked, NAME), '#!/bin/sh\nexit 126\n', { mode: 0o755 });
      const r = install();
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /does not run on this host/);
    } finally {
      renameSync(real, join(unpacked, NAME));
    }
    assert.deepEqual(readFileSync(installed), readFileSync(exe));
  });
});
