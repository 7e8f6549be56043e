// There is no Docker daemon in CI, so this test reads the Dockerfile and replays it by hand: the build stage's
// files are copied into an empty directory and its build runs there (the locked node_modules linked in), the
// runtime stage copies what it names from that into another, the ENTRYPOINT starts and the HEALTHCHECK command is
// asked. What would break the image breaks this test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
// Node.js lines in (active or maintenance) LTS that the image may use. Odd majors are never LTS.
const LTS_MAJORS = [22, 24];

interface Exporter {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logs: string[];
}

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions with continuation lines joined; comment lines (also inside continuations) dropped, as Docker does. */
function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (current === '' && line.trim() === '')) return;
    if (current === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      return;
    }
    current += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(current);
    assert.ok(m, `Dockerfile line ${startLine}: cannot parse ${JSON.stringify(current)}`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: startLine });
    current = '';
  });
  assert.equal(current, '', 'Dockerfile ends inside a continuation line');
  return out;
}

/** ARG name=default pairs; values may be quoted. */
function argDefault(args: string): [string, string | undefined] {
  const m = /^(\w+)(?:=(.*))?$/.exec(args);
  assert.ok(m, `bad ARG ${args}`);
  return [m[1]!, m[2]?.replace(/^"(.*)"$/, '$1')];
}

function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const value = vars.get(name);
    assert.ok(value !== undefined, `Dockerfile uses \${${name}} without a default`);
    return value;
  });
}

function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `line ${ins.line}: cannot parse FROM ${ins.args}`);
      stages.push({ base: substitute(m[1]!, globalArgs), name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(ins.keyword, 'ARG', `line ${ins.line}: only ARG may come before the first FROM`);
      const [name, value] = argDefault(ins.args);
      if (value !== undefined) globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Variables visible in a stage: its ARGs (a bare ARG re-imports a global one) and ENVs, in order. */
function stageVars(stage: Stage, globalArgs: ReadonlyMap<string, string>): { vars: Map<string, string>; env: Map<string, string> } {
  const vars = new Map<string, string>();
  const env = new Map<string, string>();
  for (const ins of stage.instructions) {
    if (ins.keyword === 'ARG') {
      const [name, value] = argDefault(ins.args);
      const v = value ?? globalArgs.get(name);
      if (v !== undefined) vars.set(name, v);
    } else if (ins.keyword === 'ENV') {
      for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
        const v = substitute(m[2]!.replace(/^"(.*)"$/, '$1'), vars);
        vars.set(m[1]!, v);
        env.set(m[1]!, v);
      }
    }
  }
  return { vars, env };
}

function labels(stage: Stage, vars: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === 'LABEL')) {
    for (const m of ins.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out.set(m[1]!, substitute(m[2]!.replace(/^"(.*)"$/, '$1'), vars));
  }
  return out;
}

function execForm(ins: Instruction | undefined, what: string): string[] {
  assert.ok(ins, `Dockerfile has no ${what}`);
  const json = ins.args.replace(/^(?:--[\w-]+=\S+\s+)*CMD\s+/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    assert.fail(`${what} must use the exec (JSON array) form, so no shell is needed; got ${ins.args}`);
  }
  assert.ok(Array.isArray(parsed) && parsed.every((p) => typeof p === 'string'), `${what} is not an array of strings`);
  return parsed;
}

const { globalArgs, stages } = parseDockerfile(DOCKERFILE);
const runtime = stages.at(-1)!;
const runtimeVars = stageVars(runtime, globalArgs);
const buildStages = new Map(stages.filter((s) => s.name !== undefined).map((s) => [s.name!, s]));
const only = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

/** COPY [--from=x] [--chown..] src... dest, split into its parts. */
function parseCopy(ins: Instruction): { from: string | undefined; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop();
  assert.ok(dest !== undefined && words.length > 0, `line ${ins.line}: COPY needs a source and a destination`);
  return { from, sources: words, dest };
}

function workdirAt(stage: Stage, ins: Instruction): string {
  let dir = '/';
  for (const i of stage.instructions) {
    if (i === ins) break;
    if (i.keyword === 'WORKDIR') dir = posix.resolve(dir, i.args);
  }
  return dir;
}

describe('Dockerfile (static)', () => {
  test('is multi-stage: a build stage bundles, the final stage copies only the bundle from it', () => {
    assert.ok(stages.length >= 2, `want a build stage and a runtime stage, got ${stages.length} stage(s)`);
    const build = stages[0]!;
    const buildRuns = only(build, 'RUN').map((i) => i.args);
    assert.match(buildRuns.join('\n'), /\bnpm ci\b/, 'the build stage installs the locked dependencies with npm ci');
    assert.equal(buildRuns.at(-1), 'npm run bundle', 'the build stage makes the bundle the single executable carries (npm run bundle)');
    const fromBuild = only(runtime, 'COPY').map(parseCopy).filter((c) => c.from !== undefined);
    assert.ok(fromBuild.length > 0, 'the runtime stage copies from the build stage');
    for (const c of fromBuild) {
      assert.ok(buildStages.has(c.from!), `COPY --from=${c.from} names no stage`);
      assert.deepEqual(c.sources, ['/app/dist/bundle/'], 'only the bundle comes from the build stage, not tests, dist/src or node_modules');
    }
    const fromContext = only(runtime, 'COPY').map(parseCopy).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    assert.deepEqual(fromContext, [], 'the runtime stage takes nothing from the build context');
  });

  test('both stages use the same pinned Node.js LTS slim image', () => {
    for (const s of stages) {
      const m = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm|trixie)-slim$/.exec(s.base);
      assert.ok(m, `base image ${s.base} is not a pinned node:<major>.<minor>.<patch>-<debian>-slim tag`);
      assert.ok(LTS_MAJORS.includes(Number(m[1])), `Node.js ${m[1]} is not an LTS line (want one of ${LTS_MAJORS.join(', ')})`);
    }
    assert.equal(new Set(stages.map((s) => s.base)).size, 1, 'build and runtime use the same Node.js');
    assert.ok(PKG.version !== '', 'package.json has a version');
  });

  test('the runtime stage installs nothing and runs as a non-root user', () => {
    assert.deepEqual(only(runtime, 'RUN'), [], 'the bundle carries every runtime dependency: no npm ci, no node_modules');
    const users = only(runtime, 'USER');
    assert.ok(users.length > 0, 'the runtime stage sets USER');
    const user = users.at(-1)!.args.split(':')[0]!;
    assert.ok(!['root', '0'].includes(user), `the image must not run as root, got USER ${user}`);
    assert.match(user, /^\d+$/, 'a numeric USER lets Kubernetes verify runAsNonRoot');
    const lastUser = runtime.instructions.lastIndexOf(users.at(-1)!);
    assert.ok(!runtime.instructions.slice(lastUser).some((i) => i.keyword === 'COPY'), 'files copied after USER would still be owned by root but the order is confusing; copy before USER');
  });

  test('port, HEALTHCHECK and ENTRYPOINT agree with the exporter', async () => {
    const { DEFAULT_PORT } = (await import(join(ROOT, 'dist/src/config.js'))) as { DEFAULT_PORT: number };
    assert.deepEqual(only(runtime, 'EXPOSE').map((i) => i.args), [String(DEFAULT_PORT)]);
    assert.deepEqual(execForm(only(runtime, 'ENTRYPOINT')[0], 'ENTRYPOINT'), ['node', 'k0s-etcdmember-exporter.cjs']);
    const hc = only(runtime, 'HEALTHCHECK')[0];
    const cmd = execForm(hc, 'HEALTHCHECK');
    assert.equal(cmd[0], 'node', 'slim images have no curl or wget; the health check must use node');
    assert.ok(cmd.join(' ').includes(`127.0.0.1:${DEFAULT_PORT}/healthz`), 'the health check asks /healthz on the default port');
    assert.match(hc!.args, /--timeout=\d+s/, 'a health check without a timeout can hang');
  });

  test('OCI labels carry the package version and licence', () => {
    const l = labels(runtime, runtimeVars.vars);
    assert.equal(l.get('org.opencontainers.image.version'), PKG.version, 'ARG VERSION must follow package.json');
    assert.equal(l.get('org.opencontainers.image.licenses'), PKG.license);
    assert.equal(l.get('org.opencontainers.image.title'), 'k0s-etcdmember-exporter');
    assert.equal(l.get('org.opencontainers.image.base.name'), runtime.base);
    assert.ok(l.has('org.opencontainers.image.revision'));
    const buildEnv = stageVars(stages[0]!, globalArgs).env;
    assert.equal(buildEnv.get('BUILD_REVISION'), l.get('org.opencontainers.image.revision'), 'the revision stamped into the bundle (build_info{revision}, --version) and the label come from the same ARG');
    assert.equal(buildEnv.get('BUILD_BRANCH'), 'unknown', 'the branch is stamped from the BRANCH build argument, "unknown" by default');
    assert.equal(runtimeVars.env.get('BUILD_REVISION'), undefined, 'the revision is stamped at build time, not read from the environment at run time');
  });

  test('.dockerignore lets in what the Dockerfile copies and keeps out node_modules, dist and .git', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const toRegExp = (p: string): RegExp =>
      new RegExp(`^${p.replace(/\/+$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(?:/.*)?$`);
    const excluded = (path: string): boolean => {
      let out = false;
      for (const p of patterns) {
        const negate = p.startsWith('!');
        if (toRegExp(negate ? p.slice(1) : p).test(path)) out = !negate;
      }
      return out;
    };
    const copied = stages.flatMap((s) => only(s, 'COPY').map(parseCopy).filter((c) => c.from === undefined).flatMap((c) => c.sources));
    for (const src of copied) assert.ok(!excluded(src.replace(/^\.\//, '')), `.dockerignore excludes ${src}, which the Dockerfile copies`);
    assert.ok(copied.includes('src'), 'the build stage copies src');
    assert.ok(copied.includes('scripts/bundle.ts'), 'the build stage copies the bundler script');
    for (const path of ['node_modules', 'dist', '.git', 'test', 'node_modules/typescript/package.json']) assert.ok(excluded(path), `.dockerignore lets ${path} into the build context`);
  });
});

let buildDir = '';
/** The build stage replayed once into a scratch directory (removed at the end); returns that directory. */
function replayBuildStage(): string {
  if (buildDir !== '') return buildDir;
  // Its `npm ci` is not replayed (it needs the devDependencies, already in this checkout): node_modules is linked.
  const build = stages[0]!;
  buildDir = mkdtempSync(join(tmpdir(), 'dockerfile-build-'));
  for (const c of only(build, 'COPY').map(parseCopy)) {
    assert.equal(c.from, undefined);
    for (const src of c.sources) cpSync(join(ROOT, src), c.dest.endsWith('/') ? join(buildDir, c.dest, posix.basename(src)) : join(buildDir, c.dest), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
  assert.equal(PKG.scripts['bundle'], 'tsc -p tsconfig.bundle.json && node dist/scripts/bundle.js', 'this replay runs what npm run bundle runs');
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bundle.json'], { cwd: buildDir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(tsc.status, 0, `npm run bundle would fail in the image:\n${tsc.stdout}${tsc.stderr}`);
  // RUN sees the stage's ENV (and ARGs), which carry what the bundle is stamped with.
  const stageEnv = Object.fromEntries(stageVars(build, globalArgs).env);
  const bundle = spawnSync(process.execPath, ['dist/scripts/bundle.js'], { cwd: buildDir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...stageEnv } });
  assert.equal(bundle.status, 0, `npm run bundle would fail in the image:\n${bundle.stdout}${bundle.stderr}`);
  return buildDir;
}
after(() => {
  if (buildDir !== '') rmSync(buildDir, { recursive: true, force: true });
});

test('the build stage bundles the exporter from what it copies: one script and the bcrypt binding', () => {
  const dir = replayBuildStage();
  assert.deepEqual(readdirSync(join(dir, 'dist/bundle')).sort(), ['bcrypt.node', 'k0s-etcdmember-exporter.cjs']);
  assert.deepEqual(readdirSync(join(dir, 'dist')).sort(), ['bundle', 'scripts', 'src'], 'no tests compiled');
});

test('tsconfig.build.json compiles src alone, also in a full checkout', () => {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--listFilesOnly'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
  const ours = tsc.stdout.split('\n').filter((f) => f !== '' && !f.includes('/node_modules/'));
  assert.ok(ours.some((f) => f.endsWith('/src/main.ts')), ours.join('\n'));
  assert.deepEqual(ours.filter((f) => !f.startsWith(join(ROOT, 'src') + '/')), [], 'only src/ ships');
});

describe('Dockerfile runtime stage, replayed without Docker', () => {
  let dir = '';
  let app = '';
  let webConfig = '';
  let port = 0;
  /** [0]: plain HTTP, as without a web config; [1]: TLS and basic auth from a web config. */
  const exporters: Exporter[] = [];

  before(async () => {
    const built = replayBuildStage();
    dir = mkdtempSync(join(tmpdir(), 'dockerfile-steps-'));
    const workdir = workdirAt(runtime, runtime.instructions.at(-1)!);
    app = join(dir, 'image', workdir);
    for (const ins of runtime.instructions) {
      if (ins.keyword === 'COPY') {
        const c = parseCopy(ins);
        const dest = join(dir, 'image', posix.resolve(workdirAt(runtime, ins), c.dest));
        for (const src of c.sources) {
          let from: string;
          if (c.from === undefined) {
            from = join(ROOT, src);
          } else {
            // The build stage's WORKDIR is the replayed build's directory.
            const stage = buildStages.get(c.from);
            assert.ok(stage, `COPY --from=${c.from} names no stage`);
            const workdir = workdirAt(stage, stage.instructions.at(-1)!);
            const rel = posix.relative(workdir, src);
            assert.ok(!rel.startsWith('..'), `COPY --from=${c.from} ${src} is outside the build stage's WORKDIR ${workdir}`);
            from = join(built, rel);
          }
          assert.ok(existsSync(from), `COPY source ${from} does not exist`);
          // As Docker does: a directory's contents go to dest; a file goes into dest/ or becomes dest.
          const target = statSync(from).isDirectory() || !c.dest.endsWith('/') ? dest : join(dest, posix.basename(src));
          cpSync(from, target, { recursive: true });
        }
      } else if (ins.keyword === 'RUN') {
        assert.fail(`line ${ins.line}: this test does not know how to replay "${ins.args}"; teach it`);
      }
    }

    // Credentials laid out like k0s's: a CA, a client certificate and key; nothing answers on port 1.
    const pki = join(dir, 'pki');
    const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=etcd-ca', '-keyout', `${pki}.key`, '-out', `${pki}.crt`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(ssl.status, 0, `openssl failed: ${ssl.stderr}`);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: k0s, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: exporter, user: {token: not-a-real-token}}]',
        'contexts: [{name: exporter, context: {cluster: k0s, user: exporter}}]',
        'current-context: exporter',
        '',
      ].join('\n'),
    );

    // A serving certificate for the TLS exporter and a bcrypt hash made as docs/deploy.md says.
    const serving = join(dir, 'serving');
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=k0s-etcdmember-exporter', '-keyout', `${serving}.key`, '-out', `${serving}.crt`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(cert.status, 0, `openssl failed: ${cert.stderr}`);
    const htpasswd = spawnSync('htpasswd', ['-nbBC', '10', '', 'scrape-secret'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(htpasswd.status, 0, `htpasswd (apache2-utils) is needed: ${htpasswd.stderr ?? ''}${htpasswd.error ?? ''}`);
    webConfig = join(dir, 'web-config.yml');
    writeFileSync(
      webConfig,
      `tls_server_config:\n  cert_file: serving.crt\n  key_file: serving.key\nbasic_auth_users:\n  prometheus: ${JSON.stringify(htpasswd.stdout.replace(/[:\n]/g, ''))}\n`,
    );

    const base = [
      `--etcd.endpoints=https://127.0.0.1:1`,
      `--etcd.ca-file=${pki}.crt`,
      `--etcd.cert-file=${pki}.crt`,
      `--etcd.key-file=${pki}.key`,
      `--kubeconfig=${kubeconfig}`,
      '--etcd.timeout=1s',
      '--kubernetes.timeout=1s',
      '--web.listen-address=127.0.0.1:0',
      '--log.format=json',
    ];
    exporters.push(await startExporter(base), await startExporter([...base, `--web.config.file=${webConfig}`]));
    port = exporters[0]!.port;
  });

  async function startExporter(args: string[]): Promise<Exporter> {
    const entrypoint = execForm(only(runtime, 'ENTRYPOINT')[0], 'ENTRYPOINT');
    assert.equal(entrypoint[0], 'node');
    const logs: string[] = [];
    const child = spawn(
      process.execPath,
      [...entrypoint.slice(1), ...args],
      // Only the image's environment: nothing from this checkout may leak in (no KUBECONFIG, no NODE_PATH).
      { cwd: app, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...Object.fromEntries(runtimeVars.env) } },
    );
    child.stderr.setEncoding('utf8');
    let pending = '';
    child.stderr.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      logs.push(...lines);
    });
    const listening = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the exporter did not listen within 15 s:\n${logs.join('\n')}`)), 15_000);
      const poll = setInterval(() => {
        for (const line of logs) {
          if (!line.includes('"listening"')) continue;
          clearInterval(poll);
          clearTimeout(timer);
          resolve(Number(/:(\d+)$/.exec((JSON.parse(line) as { address: string }).address)?.[1]));
          return;
        }
      }, 20);
      child.once('exit', (code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`the exporter exited with ${code}:\n${logs.join('\n')}${pending}`));
      });
    });
    return { child, port: listening, logs };
  }

  after(async () => {
    for (const { child } of exporters) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
      await exited;
      clearTimeout(timer);
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function healthcheck(target = port): { status: number | null; output: string } {
    const cmd = execForm(only(runtime, 'HEALTHCHECK')[0], 'HEALTHCHECK');
    const args = cmd.slice(1).map((a) => a.replace('127.0.0.1:9979', `127.0.0.1:${target}`));
    assert.notDeepEqual(args, cmd.slice(1), 'the health check names 127.0.0.1:9979');
    const r = spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', timeout: 10_000, env: { PATH: process.env['PATH'] ?? '', ...Object.fromEntries(runtimeVars.env) } });
    return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ?? ''}` };
  }

  test('the image holds the bundle and the bcrypt binding, nothing else: no node_modules, no package.json', () => {
    assert.deepEqual(readdirSync(app).sort(), ['bcrypt.node', 'k0s-etcdmember-exporter.cjs']);
  });

  test('the image serves its runbook at /runbook, each alert section by its anchor, from inside the bundle', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/runbook`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    assert.match(body, /<h2 id="k0setcdmemberduplicate">K0sEtcdMemberDuplicate<\/h2>/);
  });

  test('the ENTRYPOINT\'s --version: prometheus/common\'s layout, stamped from the build arguments (unknown by default) when the bundle was made', () => {
    const r = spawnSync(process.execPath, ['k0s-etcdmember-exporter.cjs', '--version'], { cwd: app, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '' } });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `k0s-etcdmember-exporter, version ${PKG.version} (branch: unknown, revision: unknown)`);
    assert.match(lines[1]!, /^ {2}build user: {7}\S+@\S+$/);
    assert.match(lines[2]!, /^ {2}build date: {7}\d{8}-\d\d:\d\d:\d\d$/);
    assert.equal(lines[3], `  node version:     ${process.version}`);
    assert.match(lines[4]!, /^ {2}platform: {9}\w+\/\w+$/);
    assert.equal(lines[5], '  tags:             bundle');
    assert.equal(lines.length, 6, r.stdout);
  });

  test('the ENTRYPOINT serves /metrics with the version the bundle carries', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const body = await res.text();
    const info = body.split('\n').find((l) => l.startsWith('k0s_etcdmember_build_info{'));
    assert.ok(info, 'build_info is exported');
    assert.match(info, new RegExp(`version="${PKG.version.replace(/\./g, '\\.')}"`));
    assert.match(info, /revision="unknown"/, 'the revision is stamped from the REVISION build argument, "unknown" by default');
  });

  test('the HEALTHCHECK command succeeds over plain HTTP while the exporter runs, although etcd and the API are unreachable', () => {
    const r = healthcheck();
    assert.equal(r.status, 0, `health check failed: ${r.output}\nexporter logs:\n${exporters[0]!.logs.join('\n')}`);
  });

  test('the HEALTHCHECK command succeeds when a web config turns on TLS and basic auth, which it cannot see', async () => {
    const tls = exporters[1]!;
    assert.ok(tls.logs.some((l) => l.includes('"listening"') && l.includes('"tls":true')), `the exporter does not say it serves TLS:\n${tls.logs.join('\n')}`);
    // The exporter really speaks only TLS and wants the password: plain http gets Go's 400, and /metrics is closed.
    const plain = await fetch(`http://127.0.0.1:${tls.port}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(plain.status, 400);
    const metrics = spawnSync('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${tls.port}/metrics`], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(metrics.stdout, '401', `curl: ${metrics.stderr}${metrics.error ?? ''}`);
    const authed = spawnSync('curl', ['-sk', '-u', 'prometheus:scrape-secret', `https://127.0.0.1:${tls.port}/metrics`], { encoding: 'utf8', timeout: 10_000 });
    assert.match(authed.stdout, /^k0s_etcdmember_build_info\{/m, `curl with the password: ${authed.stderr}`);
    const r = healthcheck(tls.port);
    assert.equal(r.status, 0, `health check over TLS failed: ${r.output}\nexporter logs:\n${tls.logs.join('\n')}`);
  });

  test('the HEALTHCHECK command fails once the exporter is gone', async () => {
    for (const { child, port: gone } of exporters) {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
      assert.equal(await exited, 0, 'SIGTERM ends the exporter cleanly');
      clearTimeout(timer);
      const r = healthcheck(gone);
      assert.equal(r.status, 1, `health check should fail with nothing listening: ${r.output}`);
    }
  });
});
