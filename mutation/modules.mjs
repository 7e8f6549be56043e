// The modules `npm run mutation` tries, each against its own fast unit test files (stryker.config.mjs).
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

/**
 * `file:first-last`, the lines of the declaration whose line starts with `start` (after its indentation: a class's
 * method too), up to its closing `}` at the same indentation: a range written as line numbers goes stale as soon
 * as code above it moves.
 */
function declaration(file, start) {
  const lines = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').split('\n');
  const first = lines.findIndex((l) => l.trimStart().startsWith(start));
  const indent = first < 0 ? '' : lines[first].slice(0, lines[first].length - lines[first].trimStart().length);
  const last = lines.findIndex((l, i) => i > first && l === `${indent}}`);
  if (first < 0 || last < 0) throw new Error(`mutation/modules.mjs: no declaration starting with ${JSON.stringify(start)} in ${file}`);
  return `${file}:${first + 1}-${last + 1}`;
}

/** Module name -> the files (or line ranges) mutated and the compiled test files that must kill the mutants. */
export const MODULES = {
  'gauge-families': { mutate: ['src/gauge-families.ts'], tests: ['gauge-families'] },
  'prune-plan': { mutate: ['src/commands/prune-plan.ts'], tests: ['prune-plan', 'prune-plan-duplicates'] },
  // prune's one write: the DELETE with its preconditions and what each answer means.
  'prune-delete': { mutate: [declaration('src/commands/io.ts', 'export async function deleteObject(')], tests: ['prune-delete'] },
  'web-auth': { mutate: ['src/web/auth.ts'], tests: ['web-auth'] },
  'web-config': { mutate: ['src/web/config.ts'], tests: ['web-config', 'web-config-where'] },
  // k0s-versions judges the same snapshots on both sides of each k0s version boundary.
  analysis: { mutate: ['src/analysis.ts'], tests: ['analysis', 'member-id-peer-url', 'k0s-versions'] },
  // clusterconfig-keys.ts is data generated from k0s's CRDs (scripts/gen-k0s-config-keys.ts), not code: a mutant
  // there is a key list k0s never had, which only a test restating the list could catch.
  k0s: {
    mutate: ['src/k0s/*.ts', '!src/k0s/clusterconfig-keys.ts'],
    tests: ['k0s-versions', 'k0s-next-start', 'k0s-config'],
  },
  // The watch: resumed from the last resourceVersion seen, relisting on 410, and the events that advance it
  // (KubernetesSource's run() and watch()).
  'kubernetes-watch': {
    mutate: [
      declaration('src/sources/kubernetes.ts', 'private async run(): Promise<void> {'),
      declaration('src/sources/kubernetes.ts', 'private async watch(): Promise<number> {'),
    ],
    tests: ['kubernetes-source'],
  },
};
