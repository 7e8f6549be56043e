import { readFileSync } from 'node:fs';
import { BUILD } from './build-info.js';

/** The package version: the bundle's constant, else read once from package.json next to the build (dist/src/ -> ../../package.json). */
export function packageVersion(): string {
  if (BUILD.version !== undefined) return BUILD.version;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The source revision: injected at image build time (Dockerfile ARG), else the bundle's, else "unknown" (a checkout). */
export function buildRevision(): string {
  const rev = process.env['BUILD_REVISION'] ?? BUILD.revision;
  return rev && /^[\w.-]+$/.test(rev) ? rev : 'unknown';
}

/** How this exporter was built and runs: sea (single executable), bundle (node runs the bundle), dist (a checkout). */
export function buildKind(): string {
  return BUILD.kind;
}

/** Go's architecture names, as Prometheus exporters print their platform (linux/amd64). */
function goArch(arch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
}

/** What --version prints, in the layout of prometheus/common's version.Print, with how this exporter was built. */
export function versionText(version: string): string {
  const kinds: Record<string, string> = { sea: 'sea (single executable)', bundle: 'bundle (node runs one bundled script)', dist: 'dist (node runs a checkout\'s build)' };
  return [
    `k0s-etcdmember-exporter, version ${version} (revision: ${buildRevision()})`,
    `  build kind:       ${kinds[buildKind()] ?? buildKind()}`,
    `  build date:       ${BUILD.date ?? 'unknown'}`,
    `  node version:     ${process.version}`,
    `  platform:         ${process.platform}/${goArch(process.arch)}`,
  ].join('\n');
}
