// The exporter with in-memory sources: what /metrics would show as the sources and the host change.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { analyse } from '../src/analysis.js';
import { Exporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import type { EtcdSnapshot, KubernetesSnapshot } from '../src/model.js';
import { ERROR_REASONS, type Source, type SourceHealth, type SourceName } from '../src/sources/source.js';

const etcdView: EtcdSnapshot = {
  members: [{ id: 'a1', name: 'c1.example.org', peerURLs: ['https://10.0.0.1:2380'], clientURLs: [], isLearner: false }],
  localMemberId: 'a1',
};

/** A source whose snapshot the test sets; set() tells the exporter, as a real source's loop would. */
class FakeSource<T> implements Source<T> {
  private value: T | undefined;
  private attempted = false;
  private onChange: (() => void) | undefined;
  started = 0;
  stopped = 0;
  constructor(readonly name: SourceName) {}
  start(onChange: () => void): void {
    this.started++;
    this.onChange = onChange;
  }
  stop(): Promise<void> {
    this.stopped++;
    return Promise.resolve();
  }
  snapshot(): T | undefined {
    return this.value;
  }
  health(): SourceHealth {
    return { attempted: this.attempted, up: this.value !== undefined, lastSuccessMs: undefined, lastDurationSeconds: undefined };
  }
  errorCounts() {
    return new Map(ERROR_REASONS.map((r) => [r, 0]));
  }
  set(value: T | undefined): void {
    this.value = value;
    this.attempted = true;
    this.onChange?.();
  }
}

const until = async (what: string, pred: () => boolean): Promise<void> => {
  const deadline = Date.now() + 2000;
  while (!pred()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

let exporter: { stop(): Promise<void> } | undefined;
afterEach(async () => {
  await exporter?.stop();
  exporter = undefined;
});

function build(hostname: () => string) {
  const etcd = new FakeSource<EtcdSnapshot>('etcd');
  const kubernetes = new FakeSource<KubernetesSnapshot>('kubernetes');
  const changes: SourceName[] = [];
  const e = new Exporter({
    sources: { etcd, kubernetes },
    analyse: (s) => analyse(s.etcd, s.kubernetes, { registrationName: hostname() }),
    onSourceChange: (name) => changes.push(name),
    logger: createLogger('error', 'logfmt', () => {}),
  });
  exporter = e;
  return { exporter: e, etcd, kubernetes, changes };
}

describe('exporter', () => {
  it('starts and stops every source, and is ready only once each has been tried', async () => {
    const { exporter, etcd, kubernetes } = build(() => 'c1.example.org');
    assert.deepEqual(exporter.sources.map((s) => s.name), ['etcd', 'kubernetes']);
    exporter.start();
    assert.equal(etcd.started + kubernetes.started, 2);
    assert.equal(exporter.ready(), false, 'not ready before any read');
    etcd.set(undefined);
    assert.equal(exporter.ready(), false, 'Kubernetes not tried yet');
    kubernetes.set({ crdPresent: true, objects: [] });
    assert.equal(exporter.ready(), true, 'ready once both were tried, even with etcd down');
    await exporter.stop();
    assert.equal(etcd.stopped + kubernetes.stopped, 2);
  });

  it('analyses at every change of any source, and re-reads the host each time', async () => {
    let hostname = 'c1';
    const { exporter, etcd, kubernetes, changes } = build(() => hostname);
    exporter.start();
    assert.equal(exporter.report().etcdMembers, undefined, 'nothing made up before the first read');
    etcd.set(etcdView);
    kubernetes.set({ crdPresent: true, objects: [] });
    await until('drift 1', () => exporter.report().local?.nameDrift === true);
    assert.equal(exporter.report().kubernetesMembers, 0);
    hostname = 'c1.example.org';
    etcd.set(etcdView);
    await until('drift cleared', () => exporter.report().local?.nameDrift === false);
    assert.deepEqual(changes, ['etcd', 'kubernetes', 'etcd'], 'each change is passed on, with the source that changed');
  });

  it('a source going down drops its figures and keeps the others', async () => {
    const { exporter, etcd, kubernetes } = build(() => 'c1.example.org');
    exporter.start();
    etcd.set(etcdView);
    kubernetes.set({ crdPresent: true, objects: [] });
    await until('etcd figures', () => exporter.report().etcdMembers === 1);
    etcd.set(undefined);
    // Read at once, as a scrape arriving right after the change would: never etcd down beside etcd figures.
    assert.equal(exporter.report().etcdMembers, undefined);
    assert.equal(exporter.report().kubernetesMembers, 0);
    assert.equal(exporter.report().local, undefined);
  });
});
