import { readFileSync } from 'node:fs';
import { BUILD } from './build-info.js';

/** The package version: the bundle's constant, else read once from package.json next to the build (dist/src/ -> ../../package.json). */
export function packageVersion(): string {
  if (BUILD.version !== undefined) return BUILD.version;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** A stamped value, or "unknown" when the build stamped none (a checkout) or it has characters a label should not. */
function stamped(value: string | undefined, shape: RegExp): string {
  return value !== undefined && shape.test(value) ? value : 'unknown';
}

/** The source revision the bundle was stamped with at build time, else "unknown" (a checkout's build). */
export function buildRevision(): string {
  return stamped(BUILD.revision, /^[\w.-]+$/);
}

/** The git branch stamped at build time, else "unknown". */
export function buildBranch(): string {
  return stamped(BUILD.branch, /^[\w./-]+$/);
}

/** How this exporter was built and runs: sea (single executable), bundle (node runs the bundle), dist (a checkout). */
export function buildKind(): string {
  return BUILD.kind;
}

/** Go's architecture names, as Prometheus exporters print their platform (linux/amd64). */
function goArch(arch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
}

/**
 * What --version prints: prometheus/common/version.Print's layout, line for line. "go version" is the Node.js
 * version here, named for what it is; "tags" (Go's build tags there) is how this exporter was built: sea (the
 * single executable), bundle (the image's node runs the bundle) or dist (node runs a checkout's tsc build).
 */
export function versionText(version: string): string {
  return [
    `k0s-etcdmember-exporter, version ${version} (branch: ${buildBranch()}, revision: ${buildRevision()})`,
    `  build user:       ${BUILD.buildUser ?? 'unknown'}`,
    `  build date:       ${BUILD.date ?? 'unknown'}`,
    `  node version:     ${process.version}`,
    `  platform:         ${process.platform}/${goArch(process.arch)}`,
    `  tags:             ${buildKind()}`,
  ].join('\n');
}
