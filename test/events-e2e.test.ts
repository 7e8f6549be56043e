// Events end to end: three exporters (one per controller) on the k0s#5369 scene, a real etcd and the API test
// server, with short leader election timings. One exporter leads and writes ONE Warning Event regarding the
// zombie `c1`, with check's safe next step, kept as one Event whose series count grows; none for the healthy
// objects; the real kubectl describe shows it. With two of the three stopped (the leader killed), a new finding
// still gets its Event within the lease duration plus one interval. Without RBAC for Events and Leases, the
// metrics are those of an exporter with Events off, and one warning is logged.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import { etcdMemberObject } from '../testbed/kube-api-server.js';
import { sceneExporterOptions, startK0s5369Scene, type K0s5369Scene } from '../testbed/k0s5369.js';
import { requireTool } from '../testbed/tools.js';
import { waitFor } from '../testbed/wait.js';

const run = promisify(execFile);
const LEASE_S = 3;
const INTERVAL_S = 2;
const RETRY_S = 0.5;
const EVENT_FLAGS = [`--events.lease-duration=${LEASE_S}s`, '--events.renew-deadline=2s', `--events.retry-period=${RETRY_S * 1000}ms`, '--events.series-refresh=1s'];

type Event = {
  metadata: { name: string; namespace: string };
  regarding: { name: string; kind: string; apiVersion: string; uid: string };
  type: string;
  reason: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  series?: { count: number };
};

describe('Events from three exporters on the k0s#5369 scene', () => {
  let scene: K0s5369Scene;
  let exporters: ExporterProcess[] = [];
  const events = (): Event[] => scene.api.events() as unknown as Event[];
  const leaders = async (): Promise<number[]> =>
    Promise.all(exporters.map(async (x) => (await x.value('k0s_etcdmember_events_leader').catch(() => undefined)) ?? -1));

  before(async () => {
    scene = await startK0s5369Scene();
    const base = sceneExporterOptions(scene);
    // Each exporter as on its own controller: its own member name, its own member's endpoint first.
    exporters = await ExporterProcess.startAll(
      scene.etcd.members.map((m, i) => ({
        ...base,
        etcdEndpoints: [...base.etcdEndpoints.slice(i), ...base.etcdEndpoints.slice(0, i)],
        memberName: m.name,
        interval: `${INTERVAL_S}s`,
        extraArgs: EVENT_FLAGS,
      })),
    );
  });
  after(async () => {
    await Promise.all(exporters.map((x) => x.stop()));
    await Promise.all([scene?.etcd.stop(), scene?.api.close()]);
  });

  it('one exporter leads, and writes one Warning Event regarding c1 with the delete command, kept as one series', async () => {
    const who = await waitFor(async () => {
      const l = await leaders();
      return l.filter((v) => v === 1).length === 1 && l.every((v) => v === 0 || v === 1) ? l : undefined;
    }, { what: 'exactly one leader', timeoutMs: 20_000 });
    const leader = scene.etcd.members[who.indexOf(1)]!.name;
    const first = await waitFor(() => events().find((e) => (e.series?.count ?? 1) >= 2), { what: 'the c1 event seen twice', timeoutMs: 20_000 });
    const c1 = scene.api.get('c1')!;
    assert.deepEqual(first.regarding, { apiVersion: 'etcd.k0sproject.io/v1beta1', kind: 'EtcdMember', name: 'c1', uid: c1.metadata.uid });
    assert.equal(first.type, 'Warning');
    assert.equal(first.reason, 'DuplicateEtcdMember');
    assert.match(first.note, /^c1 is stale: .* Next step: kubectl delete etcdmember c1$/);
    assert.equal(first.reportingController, 'k0s-etcdmember-exporter');
    assert.equal(first.reportingInstance, leader);
    assert.equal(first.metadata.namespace, 'default');
    // Several intervals later: still the one Event, its count grown; nothing about the healthy objects.
    await waitFor(() => (events()[0]?.series?.count ?? 0) >= first.series!.count + 2, { what: 'the series count to grow', timeoutMs: 20_000 });
    const all = events();
    assert.equal(all.length, 1, JSON.stringify(all, null, 1));
    assert.equal(all[0]!.metadata.name, first.metadata.name);
    // Only the leader wrote.
    const writes = await Promise.all(exporters.map(async (x) => findSample(await x.samples(), 'k0s_etcdmember_events_writes_total', { verb: 'create' })?.value));
    assert.deepEqual(writes.map((n) => (n ?? 0) > 0), who.map((v) => v === 1));
  });

  it('kubectl describe etcdmember c1 shows the Event; the healthy objects have none', async (t) => {
    const kubectl = requireTool(t, 'kubectl', 'apt-get install kubernetes-client, or https://kubernetes.io/docs/tasks/tools/');
    if (kubectl === undefined) return;
    const describe = async (name: string): Promise<string> => (await run(kubectl, ['--kubeconfig', scene.api.kubeconfigPath, 'describe', 'etcdmember', name], { encoding: 'utf8', timeout: 30_000 })).stdout;
    const out = await describe('c1');
    assert.match(out, /Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/);
    assert.match(out, /\n\s+Warning\s+DuplicateEtcdMember\s+\S+ \(x\d+ over \S+\)\s+k0s-etcdmember-exporter\s+c1 is stale: .*Next step: kubectl delete etcdmember c1\n/);
    for (const m of scene.etcd.members) assert.match(await describe(m.name), /\nEvents:\s+<none>\n/);
  });

  it('with the leader killed and another stopped, a new finding gets its Event within the lease duration plus one interval', async () => {
    const l = await leaders();
    const leaderIndex = l.indexOf(1);
    const survivor = exporters.findIndex((_, i) => i !== leaderIndex);
    const c1Before = events().find((e) => e.regarding.name === 'c1')!;
    await Promise.all(
      exporters.map(async (x, i) => {
        if (i === leaderIndex) await x.kill();
        else if (i !== survivor) await x.stop();
      }),
    );
    // A new zombie: c2 carrying c2.example.org's member ID.
    const c2 = scene.etcd.members[1]!;
    const t0 = Date.now();
    scene.api.create(etcdMemberObject('c2', { memberID: c2.idHex, peerAddress: c2.ip }));
    const event = await waitFor(() => events().find((e) => e.regarding.name === 'c2'), { what: 'an Event regarding c2', timeoutMs: 30_000, intervalMs: 50 });
    const took = (Date.now() - t0) / 1000;
    // The lease duration (the killed leader never released), one interval, and the follower's jittered retry.
    const bound = LEASE_S + INTERVAL_S + 2.2 * RETRY_S + 1;
    assert.ok(took <= bound, `the c2 Event came ${took} s after the finding (bound ${bound} s)`);
    assert.equal(event.reportingInstance, scene.etcd.members[survivor]!.name);
    assert.match(event.note, /Next step: kubectl delete etcdmember c2$/);
    assert.equal(await exporters[survivor]!.value('k0s_etcdmember_events_leader'), 1);
    // The new leader found c1's Event (its name follows from what it says) and carried its series on: still one
    // Event per zombie, c1's count past where the killed leader left it.
    await waitFor(() => (events().find((e) => e.metadata.name === c1Before.metadata.name)?.series?.count ?? 0) > c1Before.series!.count, { what: 'c1\'s series to go on', timeoutMs: 10_000 });
    assert.deepEqual(events().map((e) => e.regarding.name).sort(), ['c1', 'c2']);
  });
});

describe('Events and Leases forbidden by RBAC', () => {
  let scene: K0s5369Scene;
  const exporters: ExporterProcess[] = [];
  before(async () => {
    scene = await startK0s5369Scene();
    scene.api.setForbiddenResources(['events', 'leases']);
  });
  after(async () => {
    await Promise.all(exporters.map((x) => x.stop()));
    await Promise.all([scene?.etcd.stop(), scene?.api.close()]);
  });

  it('the metrics are those of an exporter with Events off, the status page and readiness answer, and one warning is logged', async () => {
    const base = { ...sceneExporterOptions(scene), interval: `${INTERVAL_S}s` };
    const [forbidden, off] = await ExporterProcess.startAll([{ ...base, extraArgs: EVENT_FLAGS }, { ...base, extraArgs: ['--events.enabled=false'] }]);
    exporters.push(forbidden!, off!);
    await forbidden!.waitFor('several forbidden Lease tries', (s) => (findSample(s, 'k0s_etcdmember_events_errors_total', { reason: 'forbidden' })?.value ?? 0) >= 3, 20_000);
    await off!.waitFor('the objects read', (s) => findSample(s, 'k0s_etcdmember_members', { source: 'kubernetes' })?.value === 4, 20_000);
    const volatile = /_(timestamp_seconds|duration_seconds)$|^k0s_etcdmember_events_|^k0s_etcdmember_build_info$/;
    const stable = (s: Sample[]): string[] => s.filter((x) => !volatile.test(x.name)).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).sort();
    assert.deepEqual(stable(await forbidden!.samples()), stable(await off!.samples()));
    assert.ok(stable(await off!.samples()).some((l) => l.startsWith('k0s_etcdmember_object_problem{"name":"c1"')), 'the finding is in the metrics');
    assert.equal(await forbidden!.value('k0s_etcdmember_events_leader'), 0);
    assert.equal(await off!.value('k0s_etcdmember_events_leader'), undefined, 'no events families with Events off');
    for (const path of ['/status.json', '/readyz']) assert.equal((await fetch(`${forbidden!.url}${path}`, { signal: AbortSignal.timeout(5000) })).status, 200, path);
    const warnings = forbidden!.logs.filter((l) => l.includes('"level":"warn"'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /cannot use the Lease, so this exporter writes no Events/);
    assert.deepEqual(scene.api.events(), []);
  });
});
