// The exporter as one CommonJS file, for the single executable (scripts/package.ts) and the image (Dockerfile):
// both run this bundle, so both deployments run the same code. esbuild follows the imports from src/main.ts and
// swaps in, at build time, what a checkout does at run time from files:
// - src/build-info.ts: the version, revision, branch, build user and date as constants (no package.json or .git
//   beside the bundle); BUILD_REVISION, BUILD_BRANCH, BUILD_USER and BUILD_DATE in the environment win (the image's
//   build stage has no .git: the Dockerfile passes its build arguments);
// - src/client-node/index.ts: src/client-node/bundled.ts, with client-node's generated API resolved to the shim
//   here instead of by a module hook;
// - @node-rs/bcrypt: src/web/bcrypt-bundled.ts, which loads the same native binding from bcrypt.node beside the
//   bundle or from the executable's asset;
// - etcd3's gRPC definitions: read from its .proto files when the bundle is made, not when it runs;
// - src/web/runbook-source.ts: docs/runbook.md's text, which the exporter serves at /runbook.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { BuildInfo } from '../src/build-info.js';
import { BCRYPT_ADDON } from '../src/web/bcrypt-bundled.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(join(ROOT, 'package.json'));

export interface BundleOptions {
  /** Where the bundle and bcrypt.node go. */
  readonly outDir: string;
}

export interface Bundle {
  readonly script: string;
  readonly bcryptAddon: string;
  readonly version: string;
}

/** The git revision of the checkout, "unknown" outside one (the image's build stage has no .git). */
export function gitRevision(): string {
  if (process.env['BUILD_REVISION']) return process.env['BUILD_REVISION'];
  try {
    const rev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return dirty === '' ? rev : `${rev}-dirty`;
  } catch {
    return 'unknown';
  }
}

/** The checkout's git branch (BUILD_BRANCH wins: the image's build stage has no .git), else "unknown". */
export function gitBranch(): string {
  if (process.env['BUILD_BRANCH']) return process.env['BUILD_BRANCH'];
  try {
    const branch = execFileSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    // A detached HEAD (a CI checkout of a tag or commit) is on no branch.
    return branch === '' || branch === 'HEAD' ? 'unknown' : branch;
  } catch {
    return 'unknown';
  }
}

/** user@host as promu stamps it (BUILD_USER wins). */
export function buildUser(): string {
  if (process.env['BUILD_USER']) return process.env['BUILD_USER'];
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return 'unknown';
  }
}

/** promu's build date layout (Go's 20060102-15:04:05), in UTC; BUILD_DATE wins, for a reproducible build. */
export function buildDate(now: Date = new Date()): string {
  if (process.env['BUILD_DATE']) return process.env['BUILD_DATE'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}:${p(now.getUTCMinutes())}:${p(now.getUTCSeconds())}`;
}

export function packageJsonVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The native binding @node-rs/bcrypt picks on this machine (its loader chooses among glibc, musl, ...). */
function bcryptAddonPath(): string {
  require('@node-rs/bcrypt');
  const loaded = Object.keys(require.cache).filter((k) => k.endsWith('.node') && k.includes(`${join('node_modules', '@node-rs')}`));
  if (loaded.length !== 1) throw new Error(`cannot tell which native binding @node-rs/bcrypt loaded: ${JSON.stringify(loaded)}`);
  return loaded[0]!;
}

// etcd3 1.1.2's options to proto-loader's loadSync, as written in its lib/connection-pool.js.
const ETCD3_PROTO_OPTIONS_TEXT = '{ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, }';
const ETCD3_PROTO_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** etcd3's service definitions as protobufjs JSON, parsed the way etcd3 parses them at run time. */
function etcdProtoJson(options: Record<string, unknown>): string {
  const etcd3 = dirname(require.resolve('etcd3/package.json'));
  const loaderUtil = require(join(dirname(require.resolve('@grpc/proto-loader/package.json')), 'build/src/util.js')) as {
    loadProtosWithOptionsSync(file: string, options: Record<string, unknown>): { toJSON(): unknown };
  };
  return JSON.stringify(loaderUtil.loadProtosWithOptionsSync(join(etcd3, 'proto/rpc.proto'), options).toJSON());
}

function swaps(info: Omit<BuildInfo, 'kind'>): Plugin {
  const src = join(ROOT, 'src');
  return {
    name: 'k0s-etcdmember-exporter-swaps',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]build-info\.ts$/ }, (args) => {
        if (args.path !== join(src, 'build-info.ts')) return undefined;
        // The kind is asked at run time, so the image and the single executable run the very same file.
        const kind = `(require('node:sea').isSea() ? 'sea' : 'bundle')`;
        return { contents: `export const BUILD = { ...${JSON.stringify(info)}, kind: ${kind} };\n`, loader: 'ts' };
      });
      b.onLoad({ filter: /[\\/]src[\\/]web[\\/]runbook-source\.ts$/ }, (args) => {
        if (args.path !== join(src, 'web/runbook-source.ts')) return undefined;
        const text = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
        return { contents: `export const RUNBOOK_SOURCE = '(bundled docs/runbook.md)';\nexport function runbookMarkdown(): string {\n  return ${JSON.stringify(text)};\n}\n`, loader: 'ts' };
      });
      b.onResolve({ filter: /^\.\.?\/client-node\/index\.js$/ }, () => ({ path: join(src, 'client-node/bundled.ts') }));
      b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
        /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]config\.js$/.test(args.importer) ? { path: join(src, 'client-node/gen-shim.ts') } : undefined,
      );
      b.onResolve({ filter: /^@node-rs\/bcrypt$/ }, () => ({ path: join(src, 'web/bcrypt-bundled.ts') }));
      // node-fetch (client-node's) tries an optional package that is not installed; left as a require, the single
      // executable would warn on stderr at every start that it can load built-in modules only. Missing it stays.
      b.onResolve({ filter: /^encoding$/ }, (args) => (/[\\/]node-fetch[\\/]/.test(args.importer) ? { path: 'encoding', namespace: 'not-installed' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'not-installed' }, (args) => ({ contents: `throw new Error(${JSON.stringify(`Cannot find module '${args.path}'`)});`, loader: 'js' }));
      b.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const call = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, (\{[^}]*\})\)/;
        const m = call.exec(text);
        if (!m) throw new Error(`${args.path}: etcd3 no longer loads proto/rpc.proto as scripts/bundle.ts expects; teach it the new way`);
        // The files are parsed here with etcd3's own options (keepCase shapes the parse; the rest apply at run time).
        if (m[1]!.replace(/\s+/g, ' ') !== ETCD3_PROTO_OPTIONS_TEXT) throw new Error(`${args.path}: etcd3's proto-loader options changed to ${m[1]}; update scripts/bundle.ts`);
        return { contents: text.replace(call, `(0, proto_loader_1.fromJSON)(${etcdProtoJson(ETCD3_PROTO_OPTIONS)}, $1)`), loader: 'js' };
      });
    },
  };
}

/** Builds the bundle into outDir: k0s-etcdmember-exporter.cjs and bcrypt.node. */
export async function bundle(opts: BundleOptions): Promise<Bundle> {
  const version = packageJsonVersion();
  // What --version and k0s_etcdmember_build_info say, stamped now (prometheus/common/version's variables).
  const info: Omit<BuildInfo, 'kind'> = { version, revision: gitRevision(), branch: gitBranch(), buildUser: buildUser(), date: buildDate() };
  rmSync(opts.outDir, { recursive: true, force: true });
  mkdirSync(opts.outDir, { recursive: true });
  const script = join(opts.outDir, 'k0s-etcdmember-exporter.cjs');
  const result = await build({
    entryPoints: [join(ROOT, 'src/main.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Node 20's single executable applications run one CommonJS script; import.meta has no meaning there.
    define: { 'import.meta.url': '__import_meta_url' },
    banner: { js: 'const __import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [swaps(info)],
    legalComments: 'eof',
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  if (result.errors.length > 0) throw new Error(`esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  const bcryptAddon = join(opts.outDir, BCRYPT_ADDON);
  copyFileSync(bcryptAddonPath(), bcryptAddon);
  return { script, bcryptAddon, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await bundle({ outDir: join(ROOT, 'dist/bundle') });
  process.stdout.write(`${out.script}\n`);
}
