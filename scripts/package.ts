// `npm run package`: the exporter as one file for this machine's platform, like node_exporter's release
// binaries, and a release tarball beside it. Prints the executable's path (progress goes to stderr).
//
// The executable is a Node.js single executable application: a copy of this node binary with the bundle
// (scripts/bundle.ts) and the bcrypt binding injected as a blob (node --experimental-sea-config, then postject).
// It needs no Node.js, node_modules or repository beside it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'postject';
import { BCRYPT_ADDON } from '../src/web/bcrypt-bundled.js';
import { ROOT, bundle } from './bundle.js';

const NAME = 'k0s-etcdmember-exporter';
// The fuse every official node binary carries; postject flips it so node runs the blob instead of its CLI.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** What the tarball holds besides the executable: repository path -> path in the tarball. */
export const TARBALL_FILES: readonly (readonly [string, string])[] = [
  ['deploy/systemd/install.sh', 'install.sh'],
  ['deploy/systemd/k0s-etcdmember-exporter.service', 'systemd/k0s-etcdmember-exporter.service'],
  ['deploy/systemd/k0s-etcdmember-exporter-restart.path', 'systemd/k0s-etcdmember-exporter-restart.path'],
  ['deploy/systemd/k0s-etcdmember-exporter-restart.service', 'systemd/k0s-etcdmember-exporter-restart.service'],
  ['deploy/systemd/k0s-etcdmember-exporter.env', 'systemd/k0s-etcdmember-exporter.env'],
  // Optional socket activation: the socket unit and the drop-in that turns --web.systemd-socket on.
  ['deploy/systemd/k0s-etcdmember-exporter.socket', 'systemd/k0s-etcdmember-exporter.socket'],
  ['deploy/systemd/k0s-etcdmember-exporter.service.d/socket-activation.conf', 'systemd/k0s-etcdmember-exporter.service.d/socket-activation.conf'],
  ['deploy/systemd/web-config.yml', 'systemd/web-config.yml'],
  ['deploy/prometheus/scrape-config.yml', 'prometheus/scrape-config.yml'],
  ['alerts/k0s-etcdmember.rules.yml', 'alerts/k0s-etcdmember.rules.yml'],
  ['alerts/prometheusrule.yaml', 'alerts/prometheusrule.yaml'],
  ['grafana/k0s-etcdmember.json', 'grafana/k0s-etcdmember.json'],
  ['mixin', 'mixin'],
  // README links every doc (flags, metrics, web config, ...): all of docs/ ships with it, so its links work here too.
  ['docs', 'docs'],
  ['README.md', 'README.md'],
];

export interface Release {
  /** The executable, named NAME-version-os-arch. */
  readonly executable: string;
  readonly tarball: string;
  readonly version: string;
}

/** Go's names, as node_exporter's release files use them (linux-amd64, linux-arm64). */
export function platformName(): string {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'armv7', ppc64: 'ppc64le', s390x: 's390x' };
  return `${process.platform}-${arch[process.arch] ?? process.arch}`;
}

function sha256File(path: string): string {
  const line = `${createHash('sha256').update(readFileSync(path)).digest('hex')}  ${basename(path)}\n`;
  writeFileSync(`${path}.sha256`, line);
  return line;
}

/** Builds into outDir: the executable, the tarball, and a .sha256 (sha256sum format) for each. */
export async function buildRelease(outDir: string, log: (line: string) => void = () => undefined): Promise<Release> {
  const work = mkdtempSync(join(tmpdir(), `${NAME}-package-`));
  try {
    const b = await bundle({ outDir: join(work, 'bundle') });
    log(`bundled ${b.script}`);
    const base = `${NAME}-${b.version}-${platformName()}`;
    mkdirSync(outDir, { recursive: true });
    // Only this package's earlier releases go; outDir may hold other things.
    for (const f of readdirSync(outDir)) if (f.startsWith(`${NAME}-`)) rmSync(join(outDir, f), { force: true });

    const blob = join(work, 'sea.blob');
    const seaConfig = join(work, 'sea-config.json');
    writeFileSync(seaConfig, JSON.stringify({ main: b.script, output: blob, disableExperimentalSEAWarning: true, assets: { [BCRYPT_ADDON]: b.bcryptAddon } }));
    execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    const executable = join(outDir, base);
    copyFileSync(process.execPath, executable);
    chmodSync(executable, 0o755);
    await inject(executable, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
    sha256File(executable);
    log(`built ${executable} with Node.js ${process.version}`);

    const tree = join(work, base);
    mkdirSync(tree);
    copyFileSync(executable, join(tree, NAME));
    chmodSync(join(tree, NAME), 0o755);
    for (const [from, to] of TARBALL_FILES) cpSync(join(ROOT, from), join(tree, to), { recursive: true });
    chmodSync(join(tree, 'install.sh'), 0o755);
    const tarball = join(outDir, `${base}.tar.gz`);
    execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', tarball, '-C', work, base], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    sha256File(tarball);
    log(`packed ${tarball}`);
    return { executable, tarball, version: b.version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // --out DIR: where the release goes (the tests build into a cache of their own); default dist/release.
  const args = process.argv.slice(2);
  const out = args[0] === '--out' && args.length === 2 ? resolve(args[1]!) : args.length === 0 ? join(ROOT, 'dist/release') : undefined;
  if (out === undefined) {
    process.stderr.write(`package: usage: node dist/scripts/package.js [--out DIR], got ${JSON.stringify(args)}\n`);
    process.exit(2);
  }
  const release = await buildRelease(out, (line) => process.stderr.write(`package: ${line}\n`));
  process.stdout.write(`${release.executable}\n`);
}
