// An API server that hangs is down after one --kubernetes.timeout (issue 12, fix 5), as quickly as one that
// refuses, 403s or 500s: not after two request timeouts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExporterProcess, findSample, type Sample } from '../testbed/exporter-process.js';
import { KubeApiTestServer, k0s5369Objects } from '../testbed/kube-api-server.js';

const TIMEOUT_S = 2;
const kubeUp = (s: Sample[]): number | undefined => findSample(s, 'k0s_etcdmember_source_up', { source: 'kubernetes' })?.value;

describe('a hanging API server', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it(`is down within one --kubernetes.timeout (${TIMEOUT_S}s) of the watch breaking`, async () => {
    const api = await KubeApiTestServer.start();
    cleanups.push(() => api.close());
    for (const o of k0s5369Objects([{ name: 'c1.example.org', memberIdHex: 'a1', peerAddress: '10.0.0.1' }])) api.create(o);
    const exporter = await ExporterProcess.start({ etcdEndpoints: ['http://127.0.0.1:1'], kubeconfig: api.kubeconfigPath, kubernetesTimeout: `${TIMEOUT_S}s`, interval: '1s' });
    cleanups.push(() => exporter.stop());
    await exporter.waitFor('up', (s) => kubeUp(s) === 1, 20_000);
    api.setLatency(60_000);
    const t0 = performance.now();
    api.dropWatches();
    const s = await exporter.waitFor('down', (s) => kubeUp(s) === 0, 15_000);
    const took = (performance.now() - t0) / 1000;
    // One timeout, plus the first backoff step (at most 0.5 s) and the 0.1 s poll of this test.
    assert.ok(took < TIMEOUT_S + 1.5, `down after ${took.toFixed(1)} s`);
    assert.ok((findSample(s, 'k0s_etcdmember_source_errors_total', { source: 'kubernetes', reason: 'timeout' })?.value ?? 0) >= 1);
    api.setLatency(0);
  });
});
