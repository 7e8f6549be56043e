// The etcd source keeps its clients between healthy reads and drops them at any failure (issue 13), against a
// real 3-member etcd. What is observed is the exporter's own TCP connections to etcd's client ports, as the
// kernel lists them (/proc): kept clients are the same connections read after read. grpc-js itself replaces a
// connection that hung, so where that alone would pass a test, the source's debug line "new etcd clients" (with
// the reason the kept ones were dropped) is what shows fresh clients.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLogger } from '../src/log.js';
import { EtcdSource, readEtcd, type EtcdReadOptions } from '../src/sources/etcd.js';
import { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { waitFor } from '../testbed/wait.js';

const TIMEOUT_MS = 700;
const INTERVAL_MS = 150;
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

interface Connection {
  /** The exporter's end, "ip:port": a new connection has a new one. */
  local: string;
  /** Index of the etcd member it goes to. */
  member: number;
}

/** This process's established TCP connections to the cluster's client ports. */
function connections(): Connection[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed between readdir and readlink
    }
  }
  const members = new Map(etcd.members.map((m, i) => [`${m.ip}:${new URL(m.clientUrl).port}`, i]));
  const out: Connection[] = [];
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode; st 01 is ESTABLISHED.
    if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9]!)) continue;
    const member = members.get(address(f[2]!));
    if (member !== undefined) out.push({ local: address(f[1]!), member });
  }
  return out.sort((a, b) => a.member - b.member || a.local.localeCompare(b.local));
}

/** /proc/net/tcp's "0100007F:0959" (little-endian IPv4, hex port) as "127.0.0.1:2393". */
function address(hex: string): string {
  const [ip, port] = hex.split(':') as [string, string];
  const bytes = [0, 2, 4, 6].map((i) => parseInt(ip.slice(i, i + 2), 16)).reverse();
  return `${bytes.join('.')}:${parseInt(port, 16)}`;
}

const locals = (cs: Connection[]): string[] => cs.map((c) => c.local);

/** How many file descriptors this process has open. */
const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

function startSource(opts: Partial<EtcdReadOptions> = {}) {
  let reads = 0;
  const logs: string[] = [];
  const source = new EtcdSource({ ...options, ...opts, intervalMs: INTERVAL_MS, logger: createLogger('debug', 'logfmt', (l) => logs.push(l)) });
  source.start(() => reads++);
  cleanups.push(() => source.stop());
  /** Resolves after `n` more reads have ended. */
  const moreReads = async (n: number, timeoutMs = 10_000): Promise<void> => {
    const target = reads + n;
    await waitFor(() => reads >= target, { what: `${n} more reads`, timeoutMs, intervalMs: 20 });
  };
  /** The reason of each "new etcd clients" line so far: one per set of clients built. */
  const builds = (): string[] => logs.flatMap((l) => /msg="new etcd clients" reason=(\w+)/.exec(l)?.[1] ?? []);
  return { source, moreReads, builds };
}

/** Kills member i; returns what starts it again. A test that fails half way has it started again afterwards. */
async function killed(i: number): Promise<() => Promise<void>> {
  let back = false;
  cleanups.push(async () => {
    if (!back) await etcd.restart(i);
  });
  await etcd.kill(i);
  return () => {
    back = true;
    return etcd.restart(i);
  };
}

describe('etcd clients kept between reads', () => {
  it('healthy reads keep the same connection to every member', async () => {
    const { source, moreReads, builds } = startSource();
    await waitFor(() => source.health().up, { what: 'up' });
    await moreReads(1);
    const first = connections();
    assert.deepEqual([...new Set(first.map((c) => c.member))], [0, 1, 2], `a connection to every member: ${JSON.stringify(first)}`);
    await moreReads(8);
    assert.equal(source.health().up, true);
    assert.deepEqual(locals(connections()), locals(first), 'the same connections after 8 more reads');
    assert.deepEqual(builds(), ['none_kept'], 'clients built once');
  });

  it('the one-shot read of check and prune leaves no connection open', async () => {
    await readEtcd(options, new AbortController().signal);
    await waitFor(() => connections().length === 0, { what: 'no connection to etcd', timeoutMs: 2000, intervalMs: 20 });
  });

  it('stop() closes the kept connections', async () => {
    const { source, moreReads } = startSource();
    await waitFor(() => source.health().up, { what: 'up' });
    await moreReads(1);
    assert.notEqual(connections().length, 0);
    await source.stop();
    await waitFor(() => connections().length === 0, { what: 'no connection to etcd after stop()', timeoutMs: 2000, intervalMs: 20 });
  });

  it('a hung member whose call fails after the read returned: the clients are not kept', async () => {
    const { source, moreReads, builds } = startSource();
    await waitFor(() => source.health().up, { what: 'up' });
    await moreReads(1);
    etcd.pause(2);
    try {
      // The member list comes from members 0 and 1 at once; member 2's call ends at its deadline, later.
      await waitFor(() => builds().includes('call_failed'), { what: 'new clients after the hung call failed', timeoutMs: TIMEOUT_MS + 2000, intervalMs: 20 });
      assert.equal(source.health().up, true, 'a hung member that is not the first costs nothing');
      assert.equal(source.errorCounts().get('timeout'), 0);
    } finally {
      etcd.resume(2);
    }
    await moreReads(2);
    assert.deepEqual([...new Set(connections().map((c) => c.member))], [0, 1, 2], 'connected to every member again');
  });

  it('after a failed read (every member hung past the deadline) the next reads use fresh connections and succeed', async () => {
    const { source, builds } = startSource();
    await waitFor(() => source.health().up, { what: 'up' });
    const before = locals(connections());
    assert.equal(before.length, 3);
    for (const i of [0, 1, 2]) etcd.pause(i);
    try {
      await waitFor(() => !source.health().up, { what: 'down', timeoutMs: INTERVAL_MS + TIMEOUT_MS + 1000, intervalMs: 20 });
      assert.equal(source.health().lastError?.reason, 'timeout');
    } finally {
      for (const i of [0, 1, 2]) etcd.resume(i);
    }
    await waitFor(() => source.health().up, { what: 'up again', timeoutMs: 3000, intervalMs: 20 });
    const now = connections();
    assert.deepEqual(locals(now).filter((c) => before.includes(c)), [], 'no connection of before the failure is used');
    assert.deepEqual([...new Set(now.map((c) => c.member))], [0, 1, 2], `a new connection to every member: ${JSON.stringify(now)}`);
    assert.equal(builds()[0], 'none_kept');
    assert.ok(builds().slice(1).some((r) => r === 'read_failed' || r === 'call_failed'), `clients built anew after the failure: ${builds().join(', ')}`);
  });

  it('new bytes in the TLS files: clients built from them (a wrong CA shows as tls, the right one brings etcd back)', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'etcd-clients-tls-'));
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    const caFile = path.join(dir, 'ca.crt');
    await fsp.copyFile(etcd.caFile, caFile);
    // Replaced whole (rename), as a renewal should, so no read sees half a file.
    const replaceCa = async (from: string): Promise<void> => {
      await fsp.copyFile(from, `${caFile}.new`);
      await fsp.rename(`${caFile}.new`, caFile);
    };
    const { source, builds } = startSource({ caFile });
    await waitFor(() => source.health().up, { what: 'up' });
    // The client certificate stands in for a foreign CA: it is a certificate, but signed no member.
    await replaceCa(etcd.certFile);
    await waitFor(() => !source.health().up, { what: 'down after the CA changed', timeoutMs: 3000, intervalMs: 20 });
    assert.equal(source.health().lastError?.reason, 'tls', source.health().lastError?.message);
    assert.equal(builds()[1], 'tls_files_changed');
    await replaceCa(etcd.caFile);
    await waitFor(() => source.health().up, { what: 'up after the CA was restored', timeoutMs: 3000, intervalMs: 20 });
    assert.equal(source.snapshot()?.members.length, 3);
  });

  it('a killed first member: fresh clients after each failed call, and the first reads after its restart reach it', async () => {
    const { source, moreReads, builds } = startSource();
    await waitFor(() => source.snapshot()?.localMemberId === etcd.members[0]!.idHex, { what: 'local member known' });
    const restart = await killed(0);
    await waitFor(() => source.snapshot()?.localMemberError !== undefined, { what: 'local member unknown', timeoutMs: 5000 });
    assert.equal(source.health().up, true, 'the member list still comes from the others');
    await moreReads(2);
    assert.ok(builds().length >= 2 && builds().slice(1).every((r) => r === 'read_failed' || r === 'call_failed'), `fresh clients after each failed call: ${builds().join(', ')}`);
    // Several reads while it is down, each dropping the clients whose call to it failed: a channel kept through
    // this would be waiting out gRPC's reconnect backoff (1 s, then 1.6 times longer after each failed attempt).
    await new Promise((r) => setTimeout(r, 3000));
    await restart();
    const t0 = Date.now();
    await moreReads(2, 3000);
    assert.equal(source.snapshot()?.localMemberId, etcd.members[0]!.idHex, `local member known ${Date.now() - t0} ms after the restart`);
  });

  it('a member restarted 12 times: afterwards at most one connection per member, and file descriptors back near their start', { timeout: 180_000 }, async () => {
    const { source, moreReads } = startSource();
    await waitFor(() => source.health().up, { what: 'up' });
    await moreReads(2);
    const fdsAtStart = openFds();
    for (let round = 0; round < 12; round++) {
      const restart = await killed(1);
      // Reads fail on it meanwhile, and clients are dropped while gRPC waits to reconnect to it.
      await new Promise((r) => setTimeout(r, 1200));
      await restart();
      await waitFor(() => connections().some((c) => c.member === 1), { what: `member 1 reached after restart ${round + 1}`, timeoutMs: 5000, intervalMs: 20 });
    }
    // gRPC's reconnect backoff of a channel closed while waiting is at most a few seconds here: a connection
    // made after its client was closed shows up within this wait.
    await new Promise((r) => setTimeout(r, 6000));
    await moreReads(2);
    const perMember = [0, 1, 2].map((m) => connections().filter((c) => c.member === m).length);
    assert.ok(perMember.every((n) => n <= 1), `connections per member after 12 restarts: ${perMember.join(', ')}: ${JSON.stringify(connections())}`);
    const fds = openFds();
    assert.ok(fds <= fdsAtStart + 3, `file descriptors: ${fdsAtStart} at start, ${fds} after 12 restarts`);
  });
});
