// The Kubernetes API's lists, on their own: the one-shot listEtcdMembers() the check and prune commands use, and
// the deadline of the source's list. Apart from test/kubernetes-source.test.ts, which the mutation module of the
// watch runs for every mutant: these wait seconds for a server's latency and exercise no watch code.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadKubeConfig } from '../src/kubeconfig.js';
import { createLogger } from '../src/log.js';
import { KubernetesSource, listEtcdMembers } from '../src/sources/kubernetes.js';
import { SourceError } from '../src/sources/source.js';
import { KubeApiTestServer, k0s5369Objects } from '../testbed/kube-api-server.js';
import { waitFor } from '../testbed/wait.js';

const MEMBERS = [
  { name: 'c1.example.org', memberIdHex: 'a1', peerAddress: '10.0.0.1' },
  { name: 'c2.example.org', memberIdHex: 'b2', peerAddress: '10.0.0.2' },
];
const TIMEOUT_MS = 500;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startApi(): Promise<KubeApiTestServer> {
  const api = await KubeApiTestServer.start();
  cleanups.push(() => api.close());
  for (const o of k0s5369Objects(MEMBERS)) api.create(o);
  return api;
}

describe("the Kubernetes source's list", () => {
  it('a hanging answer is cancelled at the deadline: timeout, and the server sees the request go', async () => {
    const api = await startApi();
    api.setLatency(3000);
    const t0 = Date.now();
    const source = new KubernetesSource({
      kubeConfig: loadKubeConfig(api.kubeconfigPath).kubeConfig,
      requestTimeoutMs: TIMEOUT_MS,
      crdRecheckMs: 500,
      watchTimeoutSeconds: 60,
      watchSilenceMs: 90_000,
      shortWatchMs: 1000,
      minBackoffMs: 500,
      maxBackoffMs: 500,
      logger: createLogger('debug', 'logfmt', () => {}),
    });
    source.start(() => {});
    cleanups.push(() => source.stop());
    await waitFor(() => source.health().attempted, { what: 'first list ended', intervalMs: 20 });
    const took = Date.now() - t0;
    assert.ok(took >= TIMEOUT_MS && took < TIMEOUT_MS + 400, `first list ended after ${took} ms`);
    assert.equal(source.health().up, false);
    assert.equal(source.health().lastError?.reason, 'timeout');
    assert.equal(source.errorCounts().get('timeout'), 1);
    await source.stop();
    // The server answers after its latency only if the client is still there: a cancelled request never shows up.
    await new Promise((r) => setTimeout(r, 3300 - (Date.now() - t0)));
    assert.equal(api.requestLog.length, 0, `the server answered ${JSON.stringify(api.requestLog)}`);
  });
});

describe('listEtcdMembers (one-shot)', () => {
  it('returns the snapshot and the resourceVersion to watch from', async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const list = await listEtcdMembers({ kubeConfig, requestTimeoutMs: TIMEOUT_MS }, new AbortController().signal);
    assert.equal(list.crdPresent, true);
    assert.deepEqual(list.crdPresent && list.objects.map((o) => o.name).sort(), ['c1', 'c1.example.org', 'c2.example.org']);
    assert.equal(list.resourceVersion, api.resourceVersion);
  });

  it('times out at its deadline, and the caller can cancel it sooner', async () => {
    const api = await startApi();
    api.setLatency(3000);
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    let t0 = Date.now();
    await assert.rejects(listEtcdMembers({ kubeConfig, requestTimeoutMs: TIMEOUT_MS }, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SourceError && err.reason === 'timeout', String(err));
      assert.match(err.message, /took longer than 500 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 < TIMEOUT_MS + 300);
    t0 = Date.now();
    await assert.rejects(listEtcdMembers({ kubeConfig, requestTimeoutMs: 10_000 }, AbortSignal.timeout(200)), SourceError);
    assert.ok(Date.now() - t0 < 500, `cancelled after ${Date.now() - t0} ms`);
  });

  it("an API server whose certificate does not verify: the message names the server (without userinfo) and the kubeconfig's CA", async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const cluster = kubeConfig.getCurrentCluster()!;
    const server = new URL(cluster.server);
    server.username = 'admin';
    server.password = 'hunter2';
    // The same server with no CA: Node's own roots do not know its self-signed one.
    kubeConfig.clusters = [{ ...cluster, server: server.toString(), caData: undefined, caFile: undefined }];
    await assert.rejects(listEtcdMembers({ kubeConfig, requestTimeoutMs: TIMEOUT_MS }, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SourceError && err.reason === 'tls', String(err));
      assert.ok(err.message.startsWith(`API list at https://admin:xxxxx@127.0.0.1:${server.port}/ failed: `), err.message);
      assert.match(err.message, /certificate.*; check the kubeconfig's certificate-authority for this server$/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });
});
