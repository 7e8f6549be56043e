import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to the build (dist/src/ -> ../../package.json). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The source revision, injected at image build time (Dockerfile ARG); "unknown" when run from a checkout. */
export function buildRevision(): string {
  const rev = process.env['BUILD_REVISION'];
  return rev && /^[\w.-]+$/.test(rev) ? rev : 'unknown';
}
