#!/usr/bin/env node
// `npm run demo` bootstrap, plain JavaScript because it runs before anything is installed or built:
// installs npm dependencies if missing, makes sure etcd and Prometheus are there, builds, then hands over
// to the TypeScript demo (scripts/demo.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stdout.write(`demo: ${msg}\n`);

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`demo: ${cmd} ${args.join(' ')} failed (exit ${r.status})\n`);
    process.exit(1);
  }
};

if (!existsSync(join(root, 'node_modules', 'prom-client'))) {
  say('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const binaries = {
  '/usr/bin/etcd': 'etcd-server',
  '/usr/bin/etcdctl': 'etcd-client',
  '/usr/bin/prometheus': 'prometheus',
  '/usr/bin/prometheus-alertmanager': 'prometheus-alertmanager',
};
const missing = [...new Set(Object.entries(binaries).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg))];
if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`demo: missing ${missing.join(', ')}; install them with:\n  sudo sh -c '${command}'\n`);
    process.exit(1);
  }
  say(`installing ${missing.join(', ')} with apt-get`);
  execFileSync('sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

// --no-build is for the demo's own test, which runs while other tests use dist/.
if (!process.argv.includes('--no-build')) {
  say('building');
  run('npm', ['run', '--silent', 'build']);
}
await import(join(root, 'dist', 'scripts', 'demo.js'));
