// `npm run demo` as a newcomer runs it: the k0s#5369 duplicate reaches Alertmanager, and Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
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

it('npm run demo: K0sEtcdMemberDuplicate for c1 reaches Alertmanager; Ctrl-C stops every process and removes its data', async () => {
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
