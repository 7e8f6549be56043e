// One build of the release (scripts/package.ts) per change of what goes into it, shared by the test runs: the
// single executable is ~100 MB and takes about a minute to make, so it is cached under the system's temp
// directory, keyed by a hash of every input (sources, lockfile, shipped files, the node binary's version).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INPUTS = ['src', 'scripts/bundle.ts', 'scripts/package.ts', 'package.json', 'package-lock.json', 'deploy', 'alerts', 'grafana', 'mixin', 'docs', 'README.md'];

export interface CachedRelease {
  readonly dir: string;
  /** What `node dist/scripts/package.js` printed on stdout. */
  readonly stdout: string;
  /** How long the build took (the run that made the cache). */
  readonly buildSeconds: number;
  /** True when this call found the build in the cache. */
  readonly cached: boolean;
}

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((f) => files(join(path, f)));
}

function inputHash(): string {
  const h = createHash('sha256').update(process.version).update(process.execPath);
  for (const f of INPUTS.flatMap((i) => files(join(ROOT, i)))) h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

const PREFIX = 'k0s-etcdmember-exporter-release-';
// Each source change makes a new 140 MB build; one untouched this long belongs to sources no test run uses now.
const STALE_MS = 30 * 60_000;

function dropStaleBuilds(keep: string): void {
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (!name.startsWith(PREFIX) || path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another run removed it first.
    }
  }
}

/** The release for the current sources, built by `node dist/scripts/package.js --out DIR` when not cached. */
export function cachedRelease(): CachedRelease {
  const dir = join(tmpdir(), `${PREFIX}${inputHash()}`);
  const meta = join(dir, 'build.json');
  dropStaleBuilds(dir);
  if (existsSync(meta)) {
    const now = new Date();
    utimesSync(dir, now, now);
    return { dir, ...(JSON.parse(readFileSync(meta, 'utf8')) as { stdout: string; buildSeconds: number }), cached: true };
  }
  const building = `${dir}.${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/scripts/package.js'), '--out', building], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`node dist/scripts/package.js failed (${r.status ?? r.signal ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
  const buildSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  // The executable's path as printed names the build directory; the cache keeps it as it will be found.
  const stdout = r.stdout.split(building).join(dir);
  writeFileSync(join(building, 'build.json'), JSON.stringify({ stdout, buildSeconds }));
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return { dir, stdout, buildSeconds, cached: false };
}
