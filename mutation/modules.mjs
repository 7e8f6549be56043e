// The modules `npm run mutation` tries, each against its own fast unit test files (stryker.config.mjs).
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

/**
 * `file:first-last`, the lines of the top-level declaration whose line starts with `start`, up to its closing `}`
 * at the start of a line: a range written as line numbers goes stale as soon as code above it moves.
 */
function declaration(file, start) {
  const lines = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').split('\n');
  const first = lines.findIndex((l) => l.startsWith(start));
  const last = lines.findIndex((l, i) => i > first && l === '}');
  if (first < 0 || last < 0) throw new Error(`mutation/modules.mjs: no declaration starting with ${JSON.stringify(start)} in ${file}`);
  return `${file}:${first + 1}-${last + 1}`;
}

/** Module name -> the files (or line ranges) mutated and the compiled test files that must kill the mutants. */
export const MODULES = {
  'gauge-families': { mutate: ['src/gauge-families.ts'], tests: ['gauge-families'] },
  'prune-plan': { mutate: ['src/commands/prune-plan.ts'], tests: ['prune-plan'] },
  // prune's one write: the DELETE with its preconditions and what each answer means.
  'prune-delete': { mutate: [declaration('src/commands/io.ts', 'export async function deleteObject(')], tests: ['prune-delete'] },
  'web-auth': { mutate: ['src/web/auth.ts'], tests: ['web-auth'] },
  'web-config': { mutate: ['src/web/config.ts'], tests: ['web-config'] },
  analysis: { mutate: ['src/analysis.ts'], tests: ['analysis', 'member-id-peer-url'] },
  k0s: { mutate: ['src/k0s/*.ts'], tests: ['k0s-config'] },
  // The watch: resumed from the last resourceVersion seen, relisting on 410, and the events that advance it.
  'kubernetes-watch': { mutate: ['src/sources/kubernetes.ts:145-178', 'src/sources/kubernetes.ts:223-289'], tests: ['kubernetes-source'] },
};
