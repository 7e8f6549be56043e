#!/usr/bin/env node
// `npm run mutation [-- <module>... ] [-- --force]`: StrykerJS over each module of stryker.config.mjs in turn (one
// at a time: the machine's cores are shared), then the score of each. Incremental: only mutants whose code or
// tests changed since mutation/<module>.json are tried again; --force tries them all. HTML reports go to
// reports/mutation/<module>.html (not committed). Plain JavaScript: it only starts Stryker and reads its JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { MODULES } from '../mutation/modules.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const names = args.filter((a) => a !== '--force');
for (const n of names) {
  if (!(n in MODULES)) {
    process.stderr.write(`mutation: unknown module ${JSON.stringify(n)}; want one of ${Object.keys(MODULES).join(', ')}\n`);
    process.exit(2);
  }
}

const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
// dist/test first: Stryker reads the compiled test files as input, and its incremental mode keeps a mutant's result
// only while the text of the tests that ran it is unchanged, so they must be built from the sources of this run.
const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  process.stderr.write(`mutation: tsc -p tsconfig.json failed (exit ${build.status}): fix the build first\n`);
  process.exit(1);
}
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
const rows = [];
let failed = false;
for (const name of names.length > 0 ? names : Object.keys(MODULES)) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...(force ? ['--force'] : [])], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MUTATION_MODULE: name },
  });
  const minutes = (Date.now() - started) / 60_000;
  const report = join(root, 'reports', 'mutation', `${name}.json`);
  if (r.status !== 0 || !existsSync(report)) {
    process.stderr.write(`mutation: stryker failed for ${name} (exit ${r.status})\n`);
    failed = true;
    continue;
  }
  rows.push({ name, minutes, ...score(JSON.parse(readFileSync(report, 'utf8'))) });
}

process.stdout.write(`\nmutation score by module, at commit ${commit} (killed + timed out) / (all but those that do not compile):\n`);
for (const r of rows) {
  const pct = r.valid === 0 ? 'n/a' : `${((100 * r.detected) / r.valid).toFixed(1)} %`;
  process.stdout.write(`  ${r.name.padEnd(16)} ${pct.padStart(7)}  ${r.detected}/${r.valid} killed, ${r.survived} survived, ${r.noCoverage} not covered  (${r.minutes.toFixed(1)} min)\n`);
}
process.exit(failed ? 1 : 0);

/** Counts mutants by status in a mutation-testing-report-schema JSON report. */
function score(report) {
  const c = { detected: 0, valid: 0, survived: 0, noCoverage: 0 };
  for (const file of Object.values(report.files)) {
    for (const m of file.mutants) {
      if (m.status === 'CompileError' || m.status === 'RuntimeError' || m.status === 'Ignored') continue;
      c.valid++;
      if (m.status === 'Killed' || m.status === 'Timeout') c.detected++;
      else if (m.status === 'Survived') c.survived++;
      else if (m.status === 'NoCoverage') c.noCoverage++;
    }
  }
  return c;
}
