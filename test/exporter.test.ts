// The refresh loop with in-memory sources: what /metrics would show as the sources and the host change.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Exporter, type KubernetesView } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import type { EtcdSnapshot, KubernetesSnapshot } from '../src/model.js';
import { SourceError } from '../src/sources/source.js';

const etcd: EtcdSnapshot = {
  members: [{ id: 'a1', name: 'c1.example.org', peerURLs: ['https://10.0.0.1:2380'], clientURLs: [], isLearner: false }],
  localMemberId: 'a1',
};

function kubeView(snapshot: KubernetesSnapshot | undefined): KubernetesView {
  return {
    start: () => {},
    stop: async () => {},
    snapshot: () => snapshot,
    health: () => ({ attempted: true, up: snapshot !== undefined, lastSuccessMs: undefined, lastDurationSeconds: undefined }),
    settled: () => true,
  };
}

const until = async (what: string, pred: () => boolean): Promise<void> => {
  const deadline = Date.now() + 2000;
  while (!pred()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

let exporter: Exporter | undefined;
afterEach(async () => {
  await exporter?.stop();
});

describe('refresh loop', () => {
  it('reads the hostname at every refresh: restoring it clears local name drift without a restart', async () => {
    let hostname = 'c1';
    exporter = new Exporter({
      etcd: { read: () => Promise.resolve(etcd) },
      kubernetes: kubeView({ crdPresent: true, objects: [] }),
      host: () => ({ registrationName: hostname }),
      intervalMs: 20,
      logger: createLogger('error', 'logfmt', () => {}),
      countError: () => {},
    });
    assert.equal(exporter.ready(), false, 'not ready before the first etcd read');
    exporter.start();
    await until('drift 1', () => exporter!.report().local?.nameDrift === true);
    assert.equal(exporter.ready(), true);
    hostname = 'c1.example.org';
    await until('drift cleared', () => exporter!.report().local?.nameDrift === false);
  });

  it('counts a failed etcd read, drops etcd figures, keeps Kubernetes ones', async () => {
    const errors: string[] = [];
    let fail = false;
    exporter = new Exporter({
      etcd: { read: () => (fail ? Promise.reject(new SourceError('timeout', 'etcd did not answer')) : Promise.resolve(etcd)) },
      kubernetes: kubeView({ crdPresent: true, objects: [] }),
      host: () => ({ registrationName: 'c1.example.org' }),
      intervalMs: 20,
      logger: createLogger('error', 'logfmt', () => {}),
      countError: (source, reason) => errors.push(`${source}/${reason}`),
    });
    exporter.start();
    await until('etcd up', () => exporter!.health('etcd').up);
    fail = true;
    await until('etcd down', () => !exporter!.health('etcd').up);
    assert.equal(exporter.report().etcdMembers, undefined);
    assert.equal(exporter.report().kubernetesMembers, 0);
    assert.ok(errors.includes('etcd/timeout'));
    assert.notEqual(exporter.health('etcd').lastSuccessMs, undefined, 'the last success is kept while down');
  });
});
