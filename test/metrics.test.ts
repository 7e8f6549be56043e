import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyse, type Report } from '../src/analysis.js';
import { createMetrics } from '../src/metrics.js';
import { etcd, host, obj } from './report-fixtures.js';
import { ERROR_REASONS, type ErrorReason, type SourceHealth, type SourceName } from '../src/sources/source.js';


function harness(initial: Report) {
  let report = initial;
  const health: Record<'etcd' | 'kubernetes', SourceHealth> = {
    etcd: { attempted: true, up: true, lastSuccessMs: 1_700_000_000_000, lastDurationSeconds: 0.01 },
    kubernetes: { attempted: true, up: true, lastSuccessMs: 1_700_000_000_000, lastDurationSeconds: 0.02 },
  };
  const counts = new Map<SourceName, Map<ErrorReason, number>>();
  const source = (name: 'etcd' | 'kubernetes') => {
    counts.set(name, new Map(ERROR_REASONS.map((r) => [r, 0])));
    return { name, health: () => health[name], errorCounts: () => counts.get(name)! };
  };
  const exposition = createMetrics({ report: () => report, sources: [source('etcd'), source('kubernetes')] }, { version: '1.2.3', revision: 'abc', nodejsVersion: 'v20.0.0' });
  return {
    set: (r: Report) => (report = r),
    health,
    countError: (name: SourceName, reason: ErrorReason) => counts.get(name)!.set(reason, counts.get(name)!.get(reason)! + 1),
    /** The exposition's k0s_etcdmember samples, one "name{labels} value" string each. */
    samples: async () => (await exposition.text()).split('\n').filter((l) => l.startsWith('k0s_etcdmember_')),
  };
}

describe('metrics rendering', () => {
  it('renders the k0s#5369 figures and one problem series for c1', async () => {
    const h = harness(analyse(etcd, { crdPresent: true, objects: [obj('c1', 'a1'), obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2')] }, host));
    const s = await h.samples();
    assert.ok(s.includes('k0s_etcdmember_members{source="etcd"} 2'));
    assert.ok(s.includes('k0s_etcdmember_members{source="kubernetes"} 3'));
    assert.ok(s.includes('k0s_etcdmember_duplicates 1'));
    assert.ok(s.includes('k0s_etcdmember_hostname_drift 1'));
    assert.ok(s.includes('k0s_etcdmember_object_problem{name="c1",member_id="a1",problem="duplicate"} 1'));
    assert.deepEqual(s.filter((l) => l.startsWith('k0s_etcdmember_object_problem') && !l.includes('name="c1"')), []);
    assert.ok(s.includes('k0s_etcdmember_member_info{source="kubernetes",name="c1",member_id="a1",peer_address="10.0.0.1"} 1'));
    assert.ok(s.includes('k0s_etcdmember_local_name_drift 0'));
    assert.ok(s.includes('k0s_etcdmember_crd_present 1'));
    assert.ok(s.includes('k0s_etcdmember_build_info{version="1.2.3",revision="abc",nodejs_version="v20.0.0"} 1'));
  });

  it('drops the series of a deleted object at the next render', async () => {
    const h = harness(analyse(etcd, { crdPresent: true, objects: [obj('c1', 'a1'), obj('c1.example.org', 'a1')] }, host));
    assert.equal((await h.samples()).filter((l) => l.includes('name="c1"')).length, 3);
    h.set(analyse(etcd, { crdPresent: true, objects: [obj('c1.example.org', 'a1')] }, host));
    const s = await h.samples();
    assert.deepEqual(s.filter((l) => l.includes('name="c1"')), []);
    assert.ok(s.includes('k0s_etcdmember_duplicates 0'));
  });

  it('omits figures whose source is down instead of showing 0', async () => {
    const h = harness(analyse(undefined, { crdPresent: true, objects: [obj('c1', 'a1'), obj('c1.example.org', 'a1')] }, host));
    h.health.etcd = { attempted: true, up: false, lastSuccessMs: 1_700_000_000_000, lastDurationSeconds: 5 };
    const s = await h.samples();
    assert.ok(s.includes('k0s_etcdmember_duplicates 1'));
    assert.ok(s.includes('k0s_etcdmember_source_up{source="etcd"} 0'));
    assert.ok(s.includes('k0s_etcdmember_source_last_success_timestamp_seconds{source="etcd"} 1700000000'));
    for (const gone of ['hostname_drift', 'orphaned_objects', 'unregistered_members', 'peer_address_mismatches', 'learners', 'local_name_drift']) {
      assert.deepEqual(s.filter((l) => l.startsWith(`k0s_etcdmember_${gone}`)), [], gone);
    }
    assert.deepEqual(s.filter((l) => l.startsWith('k0s_etcdmember_members{source="etcd"}')), []);
  });

  it('says nothing about a source before its first read ends', async () => {
    const h = harness(analyse(undefined, undefined, host));
    h.health.etcd = { attempted: false, up: false, lastSuccessMs: undefined, lastDurationSeconds: undefined };
    const s = await h.samples();
    assert.deepEqual(s.filter((l) => l.startsWith('k0s_etcdmember_source_up{source="etcd"}')), []);
    assert.ok(s.includes('k0s_etcdmember_source_up{source="kubernetes"} 1'));
  });

  it('reads error counts from the sources at each scrape, every reason starting at 0', async () => {
    const h = harness(analyse(undefined, undefined, host));
    h.countError('kubernetes', 'forbidden');
    let s = await h.samples();
    assert.ok(s.includes('k0s_etcdmember_source_errors_total{source="kubernetes",reason="forbidden"} 1'));
    assert.ok(s.includes('k0s_etcdmember_source_errors_total{source="etcd",reason="timeout"} 0'));
    assert.equal(s.filter((l) => l.startsWith('k0s_etcdmember_source_errors_total')).length, 2 * ERROR_REASONS.length);
    h.countError('kubernetes', 'forbidden');
    s = await h.samples();
    assert.ok(s.includes('k0s_etcdmember_source_errors_total{source="kubernetes",reason="forbidden"} 2'));
  });
});
