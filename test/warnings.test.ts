// src/warnings.ts drops exactly the warnings it is told to: every other warning still reaches stderr.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const WARNINGS = new URL('../src/warnings.js', import.meta.url).href;

describe('dropWarnings', () => {
  it('drops DEP0123 in both call forms and passes every other warning on', () => {
    const script = `
      const { dropWarnings } = await import(${JSON.stringify(WARNINGS)});
      dropWarnings(['DEP0123']);
      process.emitWarning('ip as servername', 'DeprecationWarning', 'DEP0123');
      process.emitWarning('ip as servername, options form', { type: 'DeprecationWarning', code: 'DEP0123' });
      process.emitWarning('another deprecation', 'DeprecationWarning', 'DEP0999');
      process.emitWarning('a plain warning');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /DEP0123|ip as servername/);
    assert.match(r.stderr, /\[DEP0999\] DeprecationWarning: another deprecation/);
    assert.match(r.stderr, /Warning: a plain warning/);
  });
});
