// docs/runbook.md as this build ships it. A checkout's build (tsc's dist/, the image) reads the file beside
// dist/; scripts/bundle.ts swaps this module for one that holds the text, so the bundle and the single
// executable carry the runbook inside them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the text comes from, for the error when it is missing. */
export const RUNBOOK_SOURCE = fileURLToPath(new URL('../../../docs/runbook.md', import.meta.url));

export function runbookMarkdown(): string {
  return readFileSync(RUNBOOK_SOURCE, 'utf8');
}
