// testbed/tools.ts: a missing tool skips the test locally and fails it in CI, never lets it pass silently.
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { findTool, requireTool } from '../testbed/tools.js';

/** Runs fn with CI set as given, then restores it. */
function withCi<T>(ci: string | undefined, fn: () => T): T {
  const saved = process.env['CI'];
  if (ci === undefined) delete process.env['CI'];
  else process.env['CI'] = ci;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  }
}

/** A stand-in TestContext that records skip() instead of skipping the real test. */
function fakeContext(): { t: TestContext; skipped: (string | undefined)[] } {
  const skipped: (string | undefined)[] = [];
  return { t: { skip: (reason?: string) => void skipped.push(reason) } as TestContext, skipped };
}

describe('requireTool', () => {
  it('finds a tool on PATH and by absolute path', () => {
    assert.equal(findTool(process.execPath), process.execPath);
    const onPath = findTool('sh');
    assert.ok(onPath !== undefined && basename(onPath) === 'sh', `sh not found on PATH: ${onPath}`);
    const { t, skipped } = fakeContext();
    assert.equal(requireTool(t, 'sh', 'apt-get install dash'), onPath);
    assert.deepEqual(skipped, []);
  });

  it('skips with the reason when the tool is missing and CI is not set', () => {
    const { t, skipped } = fakeContext();
    const path = withCi(undefined, () => requireTool(t, 'no-such-tool-k0s', 'apt-get install nothing'));
    assert.equal(path, undefined);
    assert.deepEqual(skipped, ['no-such-tool-k0s is not installed (apt-get install nothing)']);
  });

  it('fails when the tool is missing and CI=true', () => {
    const { t, skipped } = fakeContext();
    assert.throws(() => withCi('true', () => requireTool(t, 'no-such-tool-k0s', 'apt-get install nothing')), /no-such-tool-k0s is not installed .*CI must provide it/);
    assert.deepEqual(skipped, []);
  });
});
