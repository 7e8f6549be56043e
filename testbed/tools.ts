// External tools a test runs (promtool, kubectl, systemd-analyze, ...). A test must never pass having checked
// nothing: when its tool is missing it is skipped with the reason, visibly in the report, on a developer's
// machine; in CI (CI=true), where .ci/run installs every tool, it fails instead.
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { TestContext } from 'node:test';

/** The executable's path: `name` itself when absolute, else the first match on $PATH; undefined when none. */
export function findTool(name: string): string | undefined {
  const candidates = isAbsolute(name) ? [name] : (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, name));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The tool's path, or undefined once the test has been marked skipped: the caller then returns at once.
 * `install` tells how to get it (e.g. "apt-get install prometheus"). Under CI=true a missing tool fails the test.
 */
export function requireTool(t: TestContext, name: string, install: string): string | undefined {
  const path = findTool(name);
  if (path === undefined) skipOrFail(t, `${name} is not installed (${install})`);
  return path;
}

/** The same rule for a tool that is there but cannot do what the test needs (an old version, say). */
export function skipOrFail(t: TestContext, reason: string): void {
  if (process.env['CI'] === 'true') assert.fail(`${reason}; CI must provide it`);
  t.skip(reason);
}
