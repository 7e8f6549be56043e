// `npm run demo` as a newcomer runs it: the k0s#5369 duplicate reaches Alertmanager, the operator's steps typed as
// printed end clean, and Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let groupLeader: number | undefined;

/** Every process in the demo's process group (Ctrl-C in a terminal signals exactly this group). */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 5 of /proc/PID/stat is the process group; the command name (field 2) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

after(() => {
  if (groupLeader !== undefined) {
    try {
      process.kill(-groupLeader, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
});

/** The operator's steps as the demo printed them: the export lines, then each command with its comment. */
function operatorSteps(out: string): { exports: string[]; commands: string[] } {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith("demo: the operator's side"));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('demo:   '));
  assert.ok(start >= 0 && end > start, `the demo prints the operator's steps:\n${out}`);
  const steps = lines.slice(start + 1, end).map((l) => l.slice('demo:   '.length));
  return { exports: steps.filter((l) => l.startsWith('export ')), commands: steps.filter((l) => !l.startsWith('export ')) };
}

/** One printed command typed into sh at the repository root after the printed exports, as a user would. */
function type(exports: readonly string[], command: string): { code: number | null; output: string } {
  // The user's own shell may carry anything; only PATH and HOME come along, and the printed lines.
  const r = spawnSync('sh', ['-c', [...exports, command].join('\n')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' } });
  return { code: r.status, output: `$ ${command}\n${r.stdout}${r.stderr}` };
}

it('npm run demo: K0sEtcdMemberDuplicate for c1 reaches Alertmanager; the printed steps typed as printed: check 1, prune --yes 0, check 0, and the alert resolves; Ctrl-C stops every process and removes its data', async () => {
  const child = spawn(process.execPath, [DEMO, '--no-build'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groupLeader = child.pid!;
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const t0 = Date.now();
  while (!/Alertmanager notified the webhook: firing K0sEtcdMemberDuplicate\(c1\)/.test(out)) {
    assert.ok(Date.now() - t0 < 120_000, `no firing K0sEtcdMemberDuplicate(c1) within 2 minutes:\n${out}`);
    assert.equal(child.exitCode, null, `demo exited early:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.match(out, /Prometheus +http:\/\/127\.0\.0\.1:\d+\/alerts/);
  assert.match(out, /K0sEtcdMemberDuplicate in .*: c1=firing/);
  const kubeconfig = /kubeconfig (\/\S+)\)/.exec(out)?.[1];
  assert.ok(kubeconfig && existsSync(kubeconfig), 'the demo prints its kubeconfig');

  const statusPage = /^demo: +status page +(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1];
  assert.ok(statusPage, `the demo prints the status page URL:\n${out}`);
  assert.match(await (await fetch(statusPage, { signal: AbortSignal.timeout(10_000) })).text(), /K0sEtcdMemberDuplicate|duplicate/);

  const { exports, commands } = operatorSteps(out);
  const expected: [RegExp, number][] = [
    [/^kubectl .* get etcdmember\b/, 0],
    [/^bin\/k0s-etcdmember-exporter check\b/, 1],
    [/^bin\/k0s-etcdmember-exporter prune\s+#/, 0],
    [/^bin\/k0s-etcdmember-exporter prune --yes\b/, 0],
    [/^bin\/k0s-etcdmember-exporter check\b/, 0],
  ];
  assert.equal(commands.length, expected.length, `the printed commands:\n${commands.join('\n')}`);
  const typed: string[] = [];
  for (const [i, command] of commands.entries()) {
    const [shape, code] = expected[i]!;
    assert.match(command, shape);
    const r = type(exports, command);
    typed.push(r.output);
    assert.equal(r.code, code, `exit code of the printed step ${i + 1}:\n${typed.join('\n')}`);
  }
  assert.match(typed[1]!, /^duplicate c1: .*next: kubectl delete etcdmember c1$/m);
  assert.match(typed[3]!, /^deleted etcdmember c1 \(duplicate\)/m);
  assert.match(typed[4]!, /^consistent: no findings$/m);
  while (!/Alertmanager notified the webhook: resolved K0sEtcdMemberDuplicate\(c1\)/.test(out)) {
    assert.ok(Date.now() - t0 < 240_000, `K0sEtcdMemberDuplicate(c1) did not resolve after prune --yes:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  const members = groupMembers(child.pid!);
  assert.ok(members.length >= 6, `etcd x3, exporter, Prometheus, Alertmanager and the demo run: ${members.length} processes`);
  process.kill(-child.pid!, 'SIGINT');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
  assert.notEqual(code, 'timeout', `demo did not stop within 20 s of Ctrl-C:\n${out}`);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(groupMembers(child.pid!), [], 'no process of the demo is left');
  assert.equal(existsSync(kubeconfig), false, 'the demo removed its data');
  groupLeader = undefined;
});
