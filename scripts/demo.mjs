#!/usr/bin/env node
// `npm run demo` bootstrap, plain JavaScript because it runs before anything is installed or built: installs
// what the demo needs (scripts/setup.mjs, shared with `npm test` and .ci/run), builds, then hands over to the
// TypeScript demo (scripts/demo.ts).
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { join } from 'node:path';
import { ROOT, setup } from './setup.mjs';

// --no-build is for the demo's own test, which runs while other tests use node_modules and dist/: it checks the
// system tools but neither reinstalls nor rebuilds.
const prepared = process.argv.includes('--no-build');
setup('demo', { prefix: 'demo', npm: !prepared });
if (!prepared) {
  process.stdout.write('demo: building\n');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`demo: npm run build failed (${r.error?.message ?? `exit ${r.status}`})\n`);
    process.exit(1);
  }
}
await import(join(ROOT, 'dist', 'scripts', 'demo.js'));
