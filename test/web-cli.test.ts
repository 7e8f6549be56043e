// What the process says at start about listening, the web config and credentials in URLs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeKubeconfig } from '../testbed/kubeconfig.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
let dir: string;

function kubeconfig(name: string, server: string, extra = ''): string {
  return writeKubeconfig(join(dir, name), server, extra);
}

function run(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', HOME: dir } });
}

/**
 * Runs the exporter until its log matches `until` (or it exits, or `ms` pass), then SIGTERM; returns its stderr
 * lines and exit code. Start-up alone can take seconds on a loaded machine (importing the Kubernetes client).
 */
function runFor(args: string[], ms: number, until: RegExp = /$^/): Promise<{ lines: string[]; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: dir } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (until.test(stderr)) child.kill('SIGTERM');
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ lines: stderr.trim().split('\n').filter((l) => l !== ''), code });
    });
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'web-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('credentials in URLs (issue 12, fix 1)', () => {
  it('refuses a password in --etcd.endpoints, says to use certificates, and does not print it', () => {
    const r = run(['--etcd.endpoints=https://root:EtcdPW99@127.0.0.1:32379', `--kubeconfig=${kubeconfig('k1', 'https://127.0.0.1:1')}`]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /carries a user name or password.*use client certificates \(--etcd\.cert-file, --etcd\.key-file\)/);
    assert.doesNotMatch(r.stderr, /EtcdPW99/);
  });

  it('does not print the user part of an unsupported kubeconfig server URL', () => {
    const r = run(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k2', 'ftp://admin:S3cretPW@127.0.0.1:21')}`]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /ftp:\/\/admin:xxxxx@127\.0\.0\.1:21/);
    assert.doesNotMatch(r.stderr, /S3cretPW/);
  });

  it('does not log a kubeconfig server password, at start or in failures', async () => {
    const k = kubeconfig('k3', 'http://admin:S3cretPW@127.0.0.1:1', ', insecure-skip-tls-verify: true');
    const { lines } = await runFor(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${k}`, '--web.listen-address=127.0.0.1:0', '--interval=1s', '--log.format=json'], 30_000, /kubernetes source failed[^]*etcd source failed|etcd source failed[^]*kubernetes source failed/);
    assert.ok(lines.length >= 2, lines.join('\n'));
    assert.match(lines[0]!, /"api_server":"http:\/\/admin:xxxxx@127\.0\.0\.1:1"/);
    for (const l of lines) assert.doesNotMatch(l, /S3cretPW/);
  });
});

describe('listening (issue 12, fix 2)', () => {
  let taken: Server;
  let port: number;
  before(async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    port = (taken.address() as { port: number }).port;
  });
  after(() => taken.close());

  it('with the port taken: one error line, exit 1, no "listening"', async () => {
    const { lines, code } = await runFor(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k4', 'https://127.0.0.1:1')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.format=json'], 30_000);
    assert.equal(code, 1, lines.join('\n'));
    assert.equal(lines.filter((l) => /"msg":"listening"/.test(l)).length, 0, lines.join('\n'));
    const errors = lines.filter((l) => /"level":"error"/.test(l));
    assert.equal(errors.length, 1, lines.join('\n'));
    assert.match(errors[0]!, /"msg":"cannot listen".*EADDRINUSE/);
  });

  it('on an address this host does not have: one error line, exit 1, no "listening"', async () => {
    const { lines, code } = await runFor(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k5', 'https://127.0.0.1:1')}`, '--web.listen-address=192.0.2.1:9979', '--log.format=json'], 30_000);
    assert.equal(code, 1, lines.join('\n'));
    assert.equal(lines.filter((l) => /"msg":"listening"/.test(l)).length, 0, lines.join('\n'));
    assert.match(lines.at(-1)!, /"msg":"cannot listen".*EADDRNOTAVAIL/);
  });

  it('names an IPv6 address it cannot listen on as it was given, in brackets', async () => {
    const { lines, code } = await runFor(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k6', 'https://127.0.0.1:1')}`, '--web.listen-address=[2001:db8::1]:9979', '--log.format=json'], 30_000);
    assert.equal(code, 1, lines.join('\n'));
    assert.match(lines.at(-1)!, /"msg":"cannot listen","address":"\[2001:db8::1\]:9979"/);
  });
});

describe('--web.config.file at start', () => {
  it('exits 2 with one line naming the key, and where it is in the file', () => {
    const web = join(dir, 'web.yml');
    writeFileSync(web, 'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS11\n');
    const r = run(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k6', 'https://127.0.0.1:1')}`, `--web.config.file=${web}`]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^k0s-etcdmember-exporter: --web\.config\.file .*web\.yml:4:3: tls_server_config\.min_version: TLS11 is not supported/);
  });

  it('exits 2 naming the file when a certificate cannot be read', () => {
    const web = join(dir, 'web2.yml');
    writeFileSync(web, 'tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n');
    const r = run(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k7', 'https://127.0.0.1:1')}`, `--web.config.file=${web}`]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /tls_server_config\.cert_file: cannot read .*missing\.crt: ENOENT/);
  });

  it('exits 2 when the file itself cannot be read', () => {
    const r = run(['--etcd.endpoints=http://127.0.0.1:1', `--kubeconfig=${kubeconfig('k8', 'https://127.0.0.1:1')}`, `--web.config.file=${join(dir, 'nope.yml')}`]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--web\.config\.file.*nope\.yml.*ENOENT/);
  });
});
