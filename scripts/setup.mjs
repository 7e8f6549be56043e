#!/usr/bin/env node
// The set-up README's two commands do for themselves on a fresh clone, and .ci/run does on a fresh machine.
// Plain JavaScript because it runs before anything is installed or built.
//
//   node scripts/setup.mjs test     what `npm test` needs: every system tool the tests run, npm dependencies
//   node scripts/setup.mjs demo     what `npm run demo` needs
//
// System tools come first, as Debian packages: installed with apt-get when running as root (as in CI), else the
// script stops at once naming the one command that installs them all. Then the npm dependencies: `npm ci` when
// node_modules is missing or was installed from another package-lock.json. Nothing is skipped: a missing tool
// stops the command, so a test never runs without what it checks.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each tool by how it is looked up (absolute path, else on $PATH), with the Debian package that ships it. */
const TOOLS = {
  // The demo and the end-to-end tests: a real etcd, Prometheus and Alertmanager; openssl makes their certificates.
  demo: [
    ['/usr/bin/etcd', 'etcd-server'],
    ['/usr/bin/etcdctl', 'etcd-client'],
    ['/usr/bin/prometheus', 'prometheus'],
    ['/usr/bin/prometheus-alertmanager', 'prometheus-alertmanager'],
    ['openssl', 'openssl'],
  ],
  test: [
    ['promtool', 'prometheus'],
    ['jsonnet', 'jsonnet'],
    ['htpasswd', 'apache2-utils'],
    // deploy.test.ts verifies the systemd units with it.
    ['systemd-analyze', 'systemd'],
    // toolkit-flags.test.ts passes sockets to the exporter with it, as systemd's socket activation does.
    ['systemd-socket-activate', 'systemd'],
    // The status page's browser tests drive Debian's Chromium through playwright-core (never a downloaded browser).
    ['/usr/bin/chromium', 'chromium'],
    // check and prune are tried against the API test server with the real client.
    ['kubectl', 'kubernetes-client'],
  ],
};

/** The marker npm dependencies were installed with: the hash of the package-lock.json `npm ci` installed from. */
const MARKER = join(ROOT, 'node_modules', '.installed-from-package-lock.sha256');

function onPath(name) {
  const candidates = isAbsolute(name) ? [name] : (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, name));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The Debian packages still missing for a purpose ('demo' or 'test'; the tests run the demo's tools too). */
export function missingPackages(purpose) {
  const tools = purpose === 'test' ? [...TOOLS.demo, ...TOOLS.test] : TOOLS.demo;
  return [...new Set(tools.filter(([tool]) => !onPath(tool)).map(([, pkg]) => pkg))];
}

/** The one command that installs the packages. */
export function installCommand(packages) {
  return `sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}'`;
}

function lockHash() {
  return createHash('sha256').update(readFileSync(join(ROOT, 'package-lock.json'))).digest('hex');
}

/** Why node_modules must be (re)installed, or undefined when it matches package-lock.json. */
export function npmDependenciesStale() {
  if (!existsSync(join(ROOT, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(MARKER)) return 'node_modules was not installed by this script';
  if (readFileSync(MARKER, 'utf8').trim() !== lockHash()) return 'package-lock.json changed since node_modules was installed';
  return undefined;
}

function run(say, cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0) {
    process.stderr.write(`${say.prefix}: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})\n`);
    process.exit(1);
  }
}

/**
 * Installs what `purpose` needs or exits 1 naming the command that does. `npm: false` leaves node_modules as
 * it is (the demo's own test, which runs while other tests use node_modules).
 */
export function setup(purpose, { prefix = 'setup', npm = true } = {}) {
  const say = (msg) => process.stdout.write(`${prefix}: ${msg}\n`);
  say.prefix = prefix;
  const packages = missingPackages(purpose);
  if (packages.length > 0) {
    if (process.getuid?.() !== 0) {
      process.stderr.write(`${prefix}: missing Debian packages ${packages.join(', ')}; install them with:\n  ${installCommand(packages)}\n`);
      process.exit(1);
    }
    say(`installing ${packages.join(', ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run(say, 'apt-get', ['update', '-q'], env);
    run(say, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], env);
    const still = missingPackages(purpose);
    if (still.length > 0) {
      process.stderr.write(`${prefix}: apt-get installed ${packages.join(', ')} but ${still.join(', ')} still provides no tool\n`);
      process.exit(1);
    }
  }
  const stale = npm ? npmDependenciesStale() : undefined;
  if (stale !== undefined) {
    say(`installing npm dependencies (npm ci): ${stale}`);
    const hash = lockHash();
    run(say, 'npm', ['ci', '--no-audit', '--no-fund']);
    writeFileSync(MARKER, `${hash}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const purpose = process.argv[2];
  if (purpose !== 'test' && purpose !== 'demo') {
    process.stderr.write('usage: node scripts/setup.mjs test|demo\n');
    process.exit(2);
  }
  setup(purpose, { prefix: `npm ${purpose === 'test' ? 'test' : 'run demo'}` });
}
