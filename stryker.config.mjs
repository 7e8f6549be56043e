// StrykerJS over the modules where a bug costs most, one module at a time: `npm run mutation` (scripts/mutation.mjs)
// sets MUTATION_MODULE to each name below in turn. Each module is tried against its own fast unit test files only
// (the end-to-end suites cost a minute a run, times hundreds of mutants), in incremental mode: the results are kept
// in mutation/<module>.json (committed), so a run only tries the mutants whose code or tests changed since.
// Survivors and why each is left: docs/mutation.md.
//
// Runner: Stryker has no runner for Node's own test runner; its TAP runner runs each test file as `node <file>`,
// and a node:test file run that way prints TAP. It counts a file as one test, so coverage is per file: a mutant
// runs only the listed files that reach it, and a file stops at its first failure.

import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { MODULES } from './mutation/modules.mjs';

const name = process.env['MUTATION_MODULE'] ?? '';
const module = MODULES[name];
if (module === undefined) throw new Error(`MUTATION_MODULE=${JSON.stringify(name)}: want one of ${Object.keys(MODULES).join(', ')}`);

// What the TypeScript checker compiles: the mutated files and what they import, not the files that import them.
// Measured on analysis: with all of src (1,226 files with client-node's types) the checker took 2.5 s of CPU a
// mutant, six times the test runs; with the mutated file alone it takes a fraction of that. The price: a mutant
// that breaks only an importer (say, a name dropped from a union type) is run instead of dropped as not compiling.
// Generated here from `mutate` (line ranges cut off, exclusions left out) and not committed (.gitignore).
const tsconfigFile = 'mutation/tsconfig.generated.json';
const include = [...new Set(module.mutate.filter((p) => !p.startsWith('!')).map((p) => `../${p.replace(/:[\d-]+$/, '')}`))];
writeFileSync(new URL(tsconfigFile, import.meta.url), `${JSON.stringify({ extends: '../tsconfig.json', include }, null, 2)}\n`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: module.mutate,
  testRunner: 'tap',
  tap: {
    testFiles: module.tests.map((t) => `dist/test/${t}.test.js`),
    // A mutant that leaves a server or timer open must not keep its file running until Stryker's timeout.
    nodeArgs: ['-r', '{{hookFile}}', '--import=./mutation/setup.mjs', '--test-force-exit', '{{testFile}}'],
  },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile,
  buildCommand: 'npx tsc -p tsconfig.json',
  // Two cores shared with other work: one test runner next to the type checker.
  concurrency: Number(process.env['MUTATION_CONCURRENCY'] ?? 2),
  // A busy machine: a mutant's run may take longer than the dry run by more than Stryker's default 5 s.
  timeoutMS: 20_000,
  incremental: true,
  incrementalFile: `mutation/${name}.json`,
  // dist/test stays in Stryker's input: the TAP runner's tests are those files, and incremental mode compares their
  // text with the last run's to know which results still hold (with all of dist left out, every test looked removed).
  ignorePatterns: ['dist/*', '!dist/test', '.demo', 'reports', 'mutation/*.json'],
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
