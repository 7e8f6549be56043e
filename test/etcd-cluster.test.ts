// The real-etcd harness itself: a k0s-like 3-member mTLS cluster on 127.0.0.1-3 and the faults other tests inject.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3, GRPCDeadlineExceededError, GRPCUnavailableError, type IMemberListResponse } from 'etcd3';
import { noop } from 'cockatiel';
import { EtcdTestCluster, freePort } from '../testbed/etcd-cluster.js';
import { waitFor } from '../testbed/wait.js';

let etcd: EtcdTestCluster;
let startMs = 0;

function client(hosts: string | string[], withCert = true): Etcd3 {
  return new Etcd3({
    hosts,
    credentials: withCert
      ? { rootCertificate: fs.readFileSync(etcd.caFile), certChain: fs.readFileSync(etcd.certFile), privateKey: fs.readFileSync(etcd.keyFile) }
      : { rootCertificate: fs.readFileSync(etcd.caFile) },
    // No retries or circuit breaker: each call shows what one endpoint does.
    faultHandling: { host: () => noop, global: noop },
  });
}

async function memberList(hosts: string | string[], timeoutMs: number, withCert = true): Promise<IMemberListResponse> {
  const c = client(hosts, withCert);
  try {
    return await c.cluster.memberList({}, { deadline: Date.now() + timeoutMs });
  } finally {
    c.close();
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

before(async () => {
  const t0 = Date.now();
  etcd = await EtcdTestCluster.start();
  startMs = Date.now() - t0;
  process.stderr.write(`# etcd test cluster started in ${startMs} ms\n`);
});

after(async () => {
  await etcd?.stop();
});

describe('EtcdTestCluster', () => {
  it('starts three members on distinct loopback addresses with IDs that match etcd', async () => {
    assert.ok(startMs < 30_000);
    assert.deepEqual(etcd.members.map((m) => m.name), ['c1.example.org', 'c2.example.org', 'c3.example.org']);
    assert.deepEqual(etcd.members.map((m) => m.ip), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    for (const m of etcd.members) {
      assert.equal(new URL(m.peerUrl).hostname, m.ip);
      assert.equal(new URL(m.clientUrl).hostname, m.ip);
      assert.match(m.idHex, /^[0-9a-f]{1,16}$/);
      assert.ok(!m.idHex.startsWith('0'), 'no padding');
      assert.equal(BigInt(m.idDecimal), BigInt(`0x${m.idHex}`));
      assert.ok(fs.existsSync(m.logFile), `log file ${m.logFile}`);
    }
    assert.deepEqual(etcd.endpoints, etcd.members.map((m) => m.clientUrl));
    assert.equal(new Set(etcd.members.map((m) => m.peerUrl)).size, 3);
    assert.equal(new Set(etcd.members.map((m) => m.idHex)).size, 3);

    // etcdctl's own view, hex IDs from -w simple (no JSON number precision involved).
    const simple = await etcd.etcdctl(['member', 'list', '-w', 'simple']);
    for (const m of etcd.members) {
      assert.ok(simple.split('\n').some((l) => l.startsWith(`${m.idHex}, started, ${m.name}, ${m.peerUrl}, ${m.clientUrl}`)), simple);
    }
  });

  it('lays out client mTLS files as k0s does', () => {
    assert.ok(etcd.caFile.endsWith('/pki/etcd/ca.crt'));
    assert.ok(etcd.certFile.endsWith('/pki/apiserver-etcd-client.crt'));
    assert.ok(etcd.keyFile.endsWith('/pki/apiserver-etcd-client.key'));
    const ca = new X509Certificate(fs.readFileSync(etcd.caFile));
    const cert = new X509Certificate(fs.readFileSync(etcd.certFile));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.match(cert.subject, /CN=apiserver-etcd-client/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'extendedKeyUsage clientAuth only');
  });

  it('answers an etcd3 client with the client cert, with exact uint64 IDs', async () => {
    const res = await memberList(etcd.endpoints, 5000);
    const got = res.members.map((m) => ({ id: m.ID, name: m.name, peer: m.peerURLs, client: m.clientURLs })).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(
      got,
      etcd.members.map((m) => ({ id: m.idDecimal, name: m.name, peer: [m.peerUrl], client: [m.clientUrl] })),
    );
  });

  it('rejects a client without a client cert', async () => {
    await assert.rejects(memberList(etcd.endpoints[0]!, 3000, false), (err: Error) => {
      assert.ok(err instanceof GRPCUnavailableError, `${err.constructor.name}: ${err.message}`);
      assert.match(err.message, /bad certificate|certificate required/);
      return true;
    });
  });

  it('pause: the member accepts TCP but never answers; resume brings it back', async () => {
    etcd.pause(1);
    try {
      const url = new URL(etcd.members[1]!.clientUrl);
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: url.hostname, port: Number(url.port), timeout: 2000 });
        s.once('connect', () => (s.destroy(), resolve()));
        s.once('timeout', () => (s.destroy(), reject(new Error('TCP connect timed out'))));
        s.once('error', reject);
      });
      const t0 = Date.now();
      await assert.rejects(memberList(etcd.members[1]!.clientUrl, 1500), (err: Error) => {
        assert.ok(err instanceof GRPCDeadlineExceededError, `${err.constructor.name}: ${err.message}`);
        return true;
      });
      assert.ok(Date.now() - t0 < 4000, 'the call deadline bounds the call');
      // The harness's etcdctl skips the paused member, and the other two keep quorum.
      const list = await etcd.memberList();
      assert.equal(list.length, 3);
    } finally {
      etcd.resume(1);
    }
    const res = await waitFor(() => memberList(etcd.members[1]!.clientUrl, 2000), { timeoutMs: 10_000, what: 'resumed member answers' });
    assert.equal(res.members.length, 3);
  });

  it('kill: the process is gone and its port refuses; restart: it is healthy again on its data dir', async () => {
    const pidsBefore = etcd.pids();
    assert.equal(pidsBefore.length, 3);
    await etcd.kill(2);
    assert.equal(etcd.pids().length, 2);
    assert.ok(processGone(pidsBefore[2]!), 'killed member exited');
    await assert.rejects(memberList(etcd.members[2]!.clientUrl, 2000), (err: Error) => {
      assert.ok(err instanceof GRPCUnavailableError, `${err.constructor.name}: ${err.message}`);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    const whileDown = await etcd.memberList();
    assert.equal(whileDown.length, 3, 'a dead member stays in the member list');

    await etcd.restart(2);
    assert.equal(etcd.pids().length, 3);
    const health = JSON.parse(await etcd.etcdctl(['endpoint', 'health', '-w', 'json'])) as { endpoint: string; health: boolean }[];
    assert.deepEqual(health.map((h) => [h.endpoint, h.health]).sort(), etcd.endpoints.map((e) => [e, true]));
    const res = await memberList(etcd.members[2]!.clientUrl, 3000);
    assert.ok(res.members.some((m) => m.ID === etcd.members[2]!.idDecimal && m.name === 'c3.example.org'), 'same member ID after restart');
  });

  it('addUnstartedMember and addLearner show up as etcd reports such members', async () => {
    // Learner first: once an unstarted voter exists, etcd's strict reconfig check refuses every further add.
    const learner = await etcd.addLearner('https://127.0.0.5:2380');
    const unstarted = await etcd.addUnstartedMember('https://127.0.0.4:2380');
    await assert.rejects(etcd.addLearner('https://127.0.0.6:2380'), /unstarted voting member/);
    assert.match(unstarted, /^[0-9a-f]{1,16}$/);
    assert.match(learner, /^[0-9a-f]{1,16}$/);

    const list = await etcd.memberList();
    assert.equal(list.length, 5);
    assert.deepEqual(
      list.find((m) => m.idHex === unstarted),
      { idHex: unstarted, idDecimal: BigInt(`0x${unstarted}`).toString(), name: '', peerURLs: ['https://127.0.0.4:2380'], clientURLs: [], isLearner: false },
    );
    assert.equal(list.find((m) => m.idHex === learner)?.isLearner, true);
    assert.match(await etcd.etcdctl(['member', 'list', '-w', 'simple']), new RegExp(`^${unstarted}, unstarted, , https://127\\.0\\.0\\.4:2380, , false$`, 'm'));

    const res = await memberList(etcd.endpoints, 5000);
    const viaGrpc = res.members.find((m) => m.ID === BigInt(`0x${unstarted}`).toString());
    assert.equal(viaGrpc?.name, '');
    assert.deepEqual(viaGrpc?.clientURLs, []);
    assert.equal(res.members.find((m) => m.ID === BigInt(`0x${learner}`).toString())?.isLearner, true);
  });

  it('stop kills every member (paused ones too), removes the dir, and is idempotent', async () => {
    const pids = etcd.pids();
    assert.equal(pids.length, 3);
    etcd.pause(0);
    await Promise.all([etcd.stop(), etcd.stop()]);
    await etcd.stop();
    for (const pid of pids) assert.ok(processGone(pid), `pid ${pid} gone`);
    assert.equal(fs.existsSync(etcd.dir), false);
  });
});

describe('EtcdTestCluster start failure', () => {
  it('throws with the members\' log tails and leaves no process or directory behind', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-etcd-'));
    try {
      // Stands in for an etcd that starts, says why it cannot run, and exits, as on a bad flag or a taken port.
      const fake = path.join(tmp, 'etcd');
      fs.writeFileSync(fake, '#!/bin/sh\necho "fake etcd: refusing to run as $1" >&2\nexit 3\n', { mode: 0o755 });
      let message = '';
      await assert.rejects(EtcdTestCluster.start({ etcdBinary: fake }), (err: Error) => {
        message = err.message;
        return true;
      });
      assert.match(message, /c1\.example\.org exited \(3\)/);
      assert.match(message, /fake etcd: refusing to run as --name=c2\.example\.org/);
      const logPath = /==> (\S+) <==/.exec(message)?.[1];
      assert.ok(logPath, message);
      const dir = logPath.replace(/\/log\/[^/]+$/, '');
      assert.match(dir, /etcd-cluster-/);
      assert.equal(fs.existsSync(dir), false, `${dir} removed`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses duplicate or non-hostname member names before starting anything', async () => {
    await assert.rejects(EtcdTestCluster.start({ names: ['a.example.org', 'a.example.org'] }), /unique/);
    await assert.rejects(EtcdTestCluster.start({ names: ['a,b'] }), /not a hostname/);
  });
});

describe('freePort and waitFor', () => {
  it('freePort finds a port that can be bound on a non-default loopback address', async () => {
    const port = await freePort('127.0.0.3');
    assert.ok(port > 0 && port < 65536);
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.3', () => resolve()));
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });

  it('waitFor returns the first truthy result and names what timed out', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n >= 3 ? `n=${n}` : undefined), { intervalMs: 5 }), 'n=3');
    await assert.rejects(
      waitFor(() => { throw new Error('still down'); }, { timeoutMs: 100, intervalMs: 20, what: 'the moon' }),
      /waiting for the moon.*still down/,
    );
  });
});
