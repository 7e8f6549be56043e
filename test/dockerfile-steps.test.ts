// There is no Docker daemon in CI, so this test reads the Dockerfile and replays its runtime stage by hand: the
// same files are copied into an empty directory, the same `npm ci` runs there (from the local npm cache only),
// the ENTRYPOINT starts and the HEALTHCHECK command is asked. What would break the image breaks this test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
const LOCK = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
// Node.js lines in (active or maintenance) LTS that the image may use. Odd majors are never LTS.
const LTS_MAJORS = [22, 24];
const NPM_CI_TIMEOUT_MS = 180_000;

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

function envBefore(stage: Stage, ins: Instruction): Map<string, string> {
  const upTo = stage.instructions.slice(0, stage.instructions.indexOf(ins));
  return stageVars({ ...stage, instructions: upTo }, globalArgs).env;
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
  test('is multi-stage: a build stage compiles, the final stage copies only the compiled exporter from it', () => {
    assert.ok(stages.length >= 2, `want a build stage and a runtime stage, got ${stages.length} stage(s)`);
    const build = stages[0]!;
    const buildRuns = only(build, 'RUN').map((i) => i.args).join('\n');
    assert.match(buildRuns, /\bnpm ci\b/, 'the build stage installs the locked dependencies with npm ci');
    assert.match(buildRuns, /\bnpm run build:dist\b/, 'the build stage runs npm run build:dist');
    const fromBuild = only(runtime, 'COPY').map(parseCopy).filter((c) => c.from !== undefined);
    assert.ok(fromBuild.length > 0, 'the runtime stage copies from the build stage');
    for (const c of fromBuild) {
      assert.ok(buildStages.has(c.from!), `COPY --from=${c.from} names no stage`);
      assert.deepEqual(c.sources, ['/app/dist/src'], 'only the compiled exporter (dist/src) comes from the build stage, not tests or node_modules');
    }
    const fromContext = only(runtime, 'COPY').map(parseCopy).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    assert.deepEqual(fromContext.sort(), ['package-lock.json', 'package.json'], 'the runtime stage takes only package.json and the lockfile from the context');
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

  test('the runtime stage installs production dependencies only and runs as a non-root user', () => {
    const npmCi = only(runtime, 'RUN').map((i) => i.args).find((a) => /\bnpm ci\b/.test(a));
    assert.ok(npmCi, 'the runtime stage runs npm ci');
    assert.match(npmCi, /--omit=dev\b/);
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
    assert.deepEqual(execForm(only(runtime, 'ENTRYPOINT')[0], 'ENTRYPOINT'), ['node', 'dist/src/main.js']);
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
    assert.equal(runtimeVars.env.get('BUILD_REVISION'), l.get('org.opencontainers.image.revision'), 'build_info{revision} and the label come from the same ARG');
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
    for (const path of ['node_modules', 'dist', '.git', 'test', 'node_modules/typescript/package.json']) assert.ok(excluded(path), `.dockerignore lets ${path} into the build context`);
  });
});

test('the build stage compiles dist/src from what it copies, without tests or scripts', (t) => {
  // Its `npm ci` is not replayed (it needs the devDependencies, already in this checkout): node_modules is linked.
  const build = stages[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'dockerfile-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const c of only(build, 'COPY').map(parseCopy)) {
    assert.equal(c.from, undefined);
    for (const src of c.sources) cpSync(join(ROOT, src), c.dest.endsWith('/') ? join(dir, src) : join(dir, c.dest), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  assert.equal(PKG.scripts['build:dist'], 'tsc -p tsconfig.build.json', 'this replay runs what npm run build:dist runs');
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(tsc.status, 0, `npm run build:dist would fail in the image:\n${tsc.stdout}${tsc.stderr}`);
  assert.ok(existsSync(join(dir, 'dist/src/main.js')));
  assert.deepEqual(readdirSync(join(dir, 'dist')), ['src']);
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
    assert.ok(existsSync(join(ROOT, 'dist/src/main.js')), 'dist/src/main.js is missing: run npm run build first');
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
            // The build stage's WORKDIR is this checkout: its `npm run build` is the one that made ROOT/dist.
            const stage = buildStages.get(c.from);
            assert.ok(stage, `COPY --from=${c.from} names no stage`);
            const buildDir = workdirAt(stage, stage.instructions.at(-1)!);
            const rel = posix.relative(buildDir, src);
            assert.ok(!rel.startsWith('..'), `COPY --from=${c.from} ${src} is outside the build stage's WORKDIR ${buildDir}`);
            from = join(ROOT, rel);
          }
          assert.ok(existsSync(from), `COPY source ${from} does not exist`);
          const target = c.dest.endsWith('/') ? join(dest, posix.basename(src)) : dest;
          cpSync(from, target, { recursive: true });
        }
      } else if (ins.keyword === 'RUN') {
        for (const step of ins.args.split('&&').map((s) => s.trim())) {
          if (/^npm cache clean\b/.test(step)) continue; // would empty this machine's shared npm cache
          assert.match(step, /^npm ci\b/, `line ${ins.line}: this test does not know how to replay "${step}"; teach it`);
          // --prefer-offline plus a proxy that refuses every connection: the packages come from the local npm
          // cache (warmed by the repository's own npm ci) and the test never reaches the network.
          const args = [...step.split(/\s+/).slice(1), '--prefer-offline', '--fetch-retries=0', '--loglevel=error'];
          const r = spawnSync('npm', args, {
            cwd: join(dir, 'image', workdirAt(runtime, ins)),
            encoding: 'utf8',
            timeout: NPM_CI_TIMEOUT_MS,
            env: {
              ...process.env,
              // The stage's ENV up to this RUN applies, as in docker build (NODE_ENV=production also omits dev).
              ...Object.fromEntries(envBefore(runtime, ins)),
              npm_config_proxy: 'http://127.0.0.1:9',
              npm_config_https_proxy: 'http://127.0.0.1:9',
              npm_config_noproxy: '',
            },
          });
          assert.equal(r.status, 0, `npm ${args.join(' ')} failed (the npm cache must hold every locked package: run npm ci in the repository once):\n${r.stdout}\n${r.stderr}\n${r.error ?? ''}`);
        }
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

  test('the image holds package.json, the lockfile, dist/src and production node_modules, nothing else', () => {
    assert.deepEqual(readdirSync(app).sort(), ['dist', 'node_modules', 'package-lock.json', 'package.json']);
    assert.deepEqual(readdirSync(join(app, 'dist')), ['src'], 'no compiled tests or scripts in the image');
  });

  test('no devDependency was installed; every runtime dependency was', () => {
    const nm = join(app, 'node_modules');
    assert.ok(!existsSync(join(nm, 'typescript')), 'typescript is in the image');
    const devOnly = Object.keys(LOCK.packages).filter((k) => LOCK.packages[k]!.dev === true);
    assert.ok(devOnly.includes('node_modules/typescript'), 'the lockfile marks typescript as dev-only');
    for (const dev of Object.keys(PKG.devDependencies)) {
      // Some @types packages are also dependencies of @kubernetes/client-node; npm keeps those, rightly.
      if (LOCK.packages[`node_modules/${dev}`]?.dev !== true) continue;
      assert.ok(!existsSync(join(nm, dev)), `devDependency ${dev} is in the image`);
    }
    const leaked = devOnly.filter((k) => existsSync(join(app, k)));
    assert.deepEqual(leaked, [], 'packages the lockfile marks dev-only are in the image');
    for (const dep of Object.keys(PKG.dependencies)) assert.ok(existsSync(join(nm, dep, 'package.json')), `runtime dependency ${dep} is missing`);
  });

  test('the ENTRYPOINT serves /metrics with the version from the copied package.json', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const body = await res.text();
    const info = body.split('\n').find((l) => l.startsWith('k0s_etcdmember_build_info{'));
    assert.ok(info, 'build_info is exported');
    assert.match(info, new RegExp(`version="${PKG.version.replace(/\./g, '\\.')}"`));
    assert.match(info, /revision="unknown"/, 'BUILD_REVISION comes from the REVISION build argument, "unknown" by default');
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
