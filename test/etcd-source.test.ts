// The etcd source on its own, through the Source interface, against a real 3-member etcd with k0s-like mTLS:
// health transitions, error counts by reason, no snapshot while down, and deadlines that really end a read
// when a member hangs (SIGSTOP). Also the one-shot readEtcd() the check and prune commands use.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLogger } from '../src/log.js';
import { EtcdSource, readEtcd, type EtcdReadOptions } from '../src/sources/etcd.js';
import { SourceError } from '../src/sources/source.js';
import { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { waitFor } from '../testbed/wait.js';

const TIMEOUT_MS = 700;
let etcd: EtcdTestCluster;
let options: EtcdReadOptions;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  etcd = await EtcdTestCluster.start();
  options = { endpoints: etcd.endpoints, caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile, timeoutMs: TIMEOUT_MS };
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
after(async () => {
  await etcd?.stop();
});

/** Resumes member i even when the test failed half way, so the next test starts from a healthy cluster. */
function paused(i: number): void {
  etcd.pause(i);
  cleanups.push(() => {
    etcd.resume(i);
    return Promise.resolve();
  });
}

function startSource(opts: Partial<EtcdReadOptions> = {}, intervalMs = 300) {
  const logs: string[] = [];
  let changes = 0;
  const source = new EtcdSource({ ...options, ...opts, intervalMs, logger: createLogger('info', 'logfmt', (l) => logs.push(l)) });
  source.start(() => changes++);
  cleanups.push(() => source.stop());
  return { source, logs, changes: () => changes };
}

describe('readEtcd (one-shot)', () => {
  it('reads every member and the local one behind the first endpoint', async () => {
    const s = await readEtcd(options, new AbortController().signal);
    assert.deepEqual(s.members.map((m) => m.name).sort(), etcd.members.map((m) => m.name).sort());
    assert.deepEqual(s.members.map((m) => m.id).sort(), etcd.members.map((m) => m.idHex).sort());
    assert.equal(s.localMemberId, etcd.members[0]!.idHex);
    assert.equal(s.localMemberError, undefined);
  });

  it('a hung first member: the member list still comes from the others, the local member is unknown, within the deadline', async () => {
    paused(0);
    const t0 = Date.now();
    const s = await readEtcd(options, new AbortController().signal);
    const took = Date.now() - t0;
    assert.ok(took < TIMEOUT_MS + 400, `took ${took} ms`);
    assert.equal(s.members.length, 3);
    assert.equal(s.localMemberId, undefined);
    assert.match(s.localMemberError ?? '', /etcd status from .*\(timeout\)|etcd status from .* took longer than 700 ms/);
  });

  it('every member hung: a timeout at the deadline; the caller can cancel sooner', async () => {
    paused(0);
    paused(1);
    paused(2);
    let t0 = Date.now();
    await assert.rejects(readEtcd(options, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SourceError && err.reason === 'timeout', String(err));
      return true;
    });
    assert.ok(Date.now() - t0 < TIMEOUT_MS + 400, `took ${Date.now() - t0} ms`);
    t0 = Date.now();
    await assert.rejects(readEtcd({ ...options, timeoutMs: 10_000 }, AbortSignal.timeout(200)), SourceError);
    assert.ok(Date.now() - t0 < 600, `cancelled after ${Date.now() - t0} ms`);
  });

  it('a CA that did not sign the members: tls', async () => {
    // The client certificate stands in for a foreign CA: it is a certificate, but signed nothing.
    await assert.rejects(readEtcd({ ...options, caFile: etcd.certFile }, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SourceError, String(err));
      assert.equal(err.reason, 'tls', err.message);
      return true;
    });
  });
});

describe('etcd source', () => {
  it('says nothing before its first read, then is up with every error count at 0', async () => {
    const { source, logs, changes } = startSource();
    assert.equal(source.name, 'etcd');
    assert.equal(source.health().attempted, false);
    assert.equal(source.snapshot(), undefined);
    await waitFor(() => source.health().up, { what: 'up' });
    const h = source.health();
    assert.equal(h.lastError, undefined);
    assert.ok(h.lastDurationSeconds !== undefined && h.lastDurationSeconds < TIMEOUT_MS / 1000);
    assert.equal(source.snapshot()?.members.length, 3);
    assert.ok(changes() >= 1);
    assert.deepEqual([...source.errorCounts().values()].filter((n) => n !== 0), []);
    assert.equal(logs.filter((l) => l.includes('etcd source up')).length, 1);
  });

  it('every member hung: down with timeout, no snapshot, counted; up again once they answer', async () => {
    const { source, logs } = startSource();
    await waitFor(() => source.health().up, { what: 'up' });
    const lastSuccess = source.health().lastSuccessMs!;
    for (const i of [0, 1, 2]) etcd.pause(i);
    try {
      await waitFor(() => !source.health().up, { what: 'down', timeoutMs: 300 + TIMEOUT_MS + 1000, intervalMs: 20 });
      assert.equal(source.snapshot(), undefined, 'no stale members while down');
      assert.equal(source.health().lastError?.reason, 'timeout');
      assert.equal(source.health().lastSuccessMs, lastSuccess, 'the last success is kept');
      const d = source.health().lastDurationSeconds!;
      // Ended by its deadline: not before it (less timer granularity), and not long after (a loaded machine adds some).
      assert.ok(d >= (TIMEOUT_MS - 20) / 1000 && d < (TIMEOUT_MS + 1000) / 1000, `the failed read took ${d} s`);
      assert.ok((source.errorCounts().get('timeout') ?? 0) >= 1);
      assert.ok(logs.some((l) => l.includes('etcd source failed') && l.includes('reason=timeout')));
    } finally {
      for (const i of [0, 1, 2]) etcd.resume(i);
    }
    await waitFor(() => source.health().up, { what: 'up again', timeoutMs: 10_000 });
    assert.equal(source.snapshot()?.members.length, 3);
    assert.equal(source.health().lastError, undefined);
  });

  it('member list unreachable: unavailable', async () => {
    const { source } = startSource({ endpoints: ['https://127.0.0.1:1'] });
    await waitFor(() => source.health().attempted, { what: 'first read' });
    assert.equal(source.health().up, false);
    assert.equal(source.health().lastError?.reason, 'unavailable');
    assert.equal(source.errorCounts().get('unavailable'), 1);
  });

  it('refreshSoon() reads again at once, at most once a second', async () => {
    const { source, changes } = startSource({}, 60_000);
    await waitFor(() => source.health().up, { what: 'up' });
    const first = changes();
    source.refreshSoon();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(changes(), first, 'no second read within a second of the first');
    await new Promise((r) => setTimeout(r, 1000));
    source.refreshSoon();
    source.refreshSoon();
    await waitFor(() => changes() > first, { what: 'a read', intervalMs: 10, timeoutMs: TIMEOUT_MS + 500 });
    source.refreshSoon();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(changes(), first + 1, 'one read for three hints');
  });

  it('stop() ends a read stuck on hung members at once, without counting it', async () => {
    for (const i of [0, 1, 2]) paused(i);
    const { source } = startSource({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await source.stop();
    // The read's deadline is 10 s: well under it proves stop() did not wait for the read.
    assert.ok(Date.now() - t0 < 1000, `stop took ${Date.now() - t0} ms`);
    assert.equal(source.health().attempted, false);
  });
});
