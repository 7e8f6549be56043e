// Every panel query of the committed Grafana dashboard, run against a real Prometheus that scrapes three real
// exporters (three controllers of one cluster) reading a real etcd and the Kubernetes API test server in the k0s#5369
// state, with the shipped recording and alerting rules loaded. The third exporter's etcd endpoint is dead, as on the
// controller whose etcd restarts during a rolling k0s upgrade: it cannot tell the stale object from the live one
// and calls both ambiguous. A query that Prometheus rejects, that names a metric or label the exporter does not
// expose, that counts the cluster-wide view once per exporter, or that lets the blind exporter point at the live
// object c1.example.org shows up here as an error, an empty panel or a wrong row.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_VARIABLE_VALUES, REPO_ROOT, dashboardQueries, loadDashboard, type DashboardQuery } from '../testbed/dashboard-queries.js';
import type { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess } from '../testbed/exporter-process.js';
import type { KubeApiTestServer } from '../testbed/kube-api-server.js';
import { startK0s5369Scene } from '../testbed/k0s5369.js';
import { PrometheusTestServer, waitUntil, writeRuleFileWithFor, type PromSeries } from '../testbed/prometheus.js';

const HTTP_TIMEOUT_MS = 5_000;
// Grafana derives $__rate_interval from the scrape interval (at least 4 of them); with the 1 s scrape below, 5s
// holds about five samples, so rate() has data once the targets have been scraped for a few seconds.
const VALUES = { ...DEFAULT_VARIABLE_VALUES, __rate_interval: '5s' };
const dashboard = loadDashboard();
const queries = dashboardQueries(dashboard, VALUES);
const label = (q: DashboardQuery): string => `panel ${q.panelId} "${q.panelTitle}" ${q.refId}`;

let etcd: EtcdTestCluster | undefined;
let api: KubeApiTestServer | undefined;
const exporters: ExporterProcess[] = [];
let prom: PrometheusTestServer | undefined;
let dir: string | undefined;
let closeDead: (() => Promise<void>) | undefined;
/** Result of each query, by label, run once everything is scraped. */
const results = new Map<string, { resultType: string; result: PromSeries[] }>();

/** Runs a query the way Grafana does for the panel (instant or range) and checks the HTTP answer itself. */
async function runPanelQuery(p: PrometheusTestServer, q: DashboardQuery): Promise<{ resultType: string; result: PromSeries[] }> {
  const now = Date.now() / 1000;
  const url = q.instant
    ? `${p.url}/api/v1/query?query=${encodeURIComponent(q.query)}&time=${now}`
    : `${p.url}/api/v1/query_range?query=${encodeURIComponent(q.query)}&start=${now - 5}&end=${now}&step=1`;
  const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const text = await res.text();
  assert.equal(res.status, 200, `${label(q)}: HTTP ${res.status}: ${text.slice(0, 500)}\nquery: ${q.query}`);
  const body = JSON.parse(text) as { status: string; data: { resultType: string; result: PromSeries[] } };
  assert.equal(body.status, 'success', `${label(q)}: ${text.slice(0, 500)}`);
  assert.equal(body.data.resultType, q.instant ? 'vector' : 'matrix', label(q));
  return body.data;
}

const valueOf = (s: PromSeries): number => Number(s.value?.[1]);
const byTitle = (title: string, refId = 'A'): DashboardQuery => {
  const q = queries.find((x) => x.panelTitle === title && x.refId === refId);
  assert.ok(q, `the dashboard has no panel "${title}" (${refId}); update this test when a panel is renamed`);
  return q;
};
const resultOf = (title: string, refId = 'A'): PromSeries[] => {
  const r = results.get(label(byTitle(title, refId)));
  assert.ok(r, `no result recorded for "${title}"`);
  return r.result;
};

/**
 * An etcd endpoint that is down: it accepts and drops every connection. Held for the whole file, so its port cannot
 * be handed to another test's server meanwhile (a closed "free" port could be, and the blind exporter would then
 * read something else).
 */
async function deadEndpoint(): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = createServer((socket) => socket.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const a = srv.address();
  if (a === null || typeof a !== 'object') throw new Error('no port');
  return { url: `https://127.0.0.1:${a.port}`, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-queries-'));
  ({ etcd, api } = await startK0s5369Scene());
  const e = etcd;
  const common = { caFile: e.caFile, certFile: e.certFile, keyFile: e.keyFile, kubeconfig: api.kubeconfigPath, interval: '1s' };
  // Three controllers: each talks to its own member first (that is its local member) and registers its own name;
  // the third one's etcd is down.
  const rotated = [...e.endpoints.slice(1), ...e.endpoints.slice(0, 1)];
  const down = await deadEndpoint();
  closeDead = down.close;
  const dead = down.url;
  exporters.push(
    ...(await ExporterProcess.startAll([
      { ...common, etcdEndpoints: e.endpoints, memberName: e.members[0]!.name },
      { ...common, etcdEndpoints: rotated, memberName: e.members[1]!.name },
      { ...common, etcdEndpoints: [dead], memberName: e.members[2]!.name },
    ])),
  );
  const rules = join(dir, 'rules.yml');
  // The real rules with `for: 0s`, so the firing-alerts table has rows within seconds; ExporterDown keeps a
  // delay so the moment before the first scrape cannot leave an alert behind.
  writeRuleFileWithFor(join(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml'), rules, { '*': '0s', K0sEtcdMemberExporterDown: '1m' });
  prom = await PrometheusTestServer.start({ scrapeTargets: exporters.map((x) => x.target), ruleFiles: [rules], scrapeInterval: '1s' });
  const p = prom;
  await p.waitForTargetsUp(20_000);
  // Ready when the two healthy exporters report etcd figures, the blind one reports its etcd down and both objects
  // of the group ambiguous, a rate over the error counters has the samples it needs for every exporter, the
  // recording rules have run and the duplicate alert fires. Then each query runs exactly once.
  await waitUntil('three exporters scraped, one blind, with rate() data, recorded findings and a firing alert', 30_000, async () => {
    const etcdUp = await p.query('count by (__name__) (k0s_etcdmember_members{source="etcd"})');
    const blind = await p.query(`k0s_etcdmember_object_problem{problem="ambiguous_duplicate", instance="${exporters[2]!.target}"}`);
    const down = await p.query(`k0s_etcdmember_source_up{source="etcd", instance="${exporters[2]!.target}"} == 0`);
    const rate = await p.query('count(count by (instance) (rate(k0s_etcdmember_source_errors_total[5s])))');
    const recorded = await p.query('cluster:k0s_etcdmember_fault_tolerance:max');
    const alerts = await p.query('ALERTS{alertname="K0sEtcdMemberDuplicate", alertstate="firing"}');
    if (etcdUp[0] && valueOf(etcdUp[0]) === 2 && blind.length === 2 && down.length === 1 && rate[0] && valueOf(rate[0]) === 3 && recorded.length === 1 && alerts.length > 0) return true;
    throw new Error(`etcd figures ${JSON.stringify(etcdUp)}, blind ambiguous ${blind.length}, blind down ${down.length}, rate ${JSON.stringify(rate)}, recorded ${recorded.length}, duplicate alerts ${alerts.length}`);
  });
  for (const q of queries) results.set(label(q), await runPanelQuery(p, q));
});

after(async () => {
  await closeDead?.();
  await prom?.stop();
  await Promise.all(exporters.map((x) => x.stop()));
  await Promise.all([etcd?.stop(), api?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboard queries against Prometheus scraping three exporters in the k0s#5369 state, one blind to etcd', () => {
  it('finds the panel queries to run', () => {
    const targets = dashboard.panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0);
    assert.ok(targets >= 20, `only ${targets} panel queries in the dashboard`);
    assert.equal(queries.length, targets);
    assert.equal(results.size, targets, 'every query was run');
  });

  for (const q of queries) {
    // Every panel has data in this state: findings that are zero are exported as 0, the error counters start at
    // 0 for every reason, and the tables join onto series that exist (EtcdMember objects, etcd members, build
    // info, firing alerts). Were a panel legitimately empty here, it would be listed as such, not skipped.
    it(`${label(q)} succeeds with data`, () => {
      const r = results.get(label(q));
      assert.ok(r, label(q));
      assert.ok(r.result.length > 0, `${label(q)} returned no series\nquery: ${q.query}\nPrometheus:\n${prom?.logs(10)}`);
      if (!q.instant) {
        for (const s of r.result) assert.ok((s.values ?? []).length > 0, `${label(q)}: empty series ${JSON.stringify(s.metric)}`);
      }
    });
  }

  it('never returns the live object c1.example.org as a duplicate, from any query', () => {
    let seen = 0;
    for (const [name, r] of results) {
      for (const s of r.result) {
        const object = s.metric['object_name'] ?? s.metric['name'];
        if (object !== 'c1.example.org') continue;
        seen++;
        assert.doesNotMatch(s.metric['problem'] ?? '', /duplicate/, `${name}: ${JSON.stringify(s.metric)}`);
        assert.equal(s.metric['alertname'], undefined, `${name}: an alert names c1.example.org: ${JSON.stringify(s.metric)}`);
      }
    }
    assert.ok(seen > 0, 'c1.example.org appears in the member table (as an object, without a problem)');
  });

  it('shows one duplicate although three exporters report it', () => {
    const raw = resultOf('Duplicates');
    assert.equal(raw.length, 1, JSON.stringify(raw));
    assert.equal(valueOf(raw[0]!), 1);
    const overTime = resultOf('Findings over time', 'A');
    assert.equal(overTime.length, 1);
    for (const [, v] of overTime[0]!.values ?? []) assert.equal(Number(v), 1, 'duplicates over time');
  });

  it('shows the cluster-wide counts once, not per exporter', () => {
    const members = Object.fromEntries(resultOf('Members per source').map((s) => [s.metric['source'] ?? '', valueOf(s)]));
    assert.deepEqual(members, { etcd: 3, kubernetes: 4 });
    const single = (title: string): number => {
      const r = resultOf(title);
      assert.equal(r.length, 1, `${title}: ${JSON.stringify(r)}`);
      return valueOf(r[0]!);
    };
    assert.equal(single('Hostname drift'), 1);
    assert.equal(single('Orphaned objects'), 0);
    assert.equal(single('Unregistered members'), 0);
    assert.equal(single('Peer address mismatches'), 0);
    assert.equal(single('Learners'), 0);
    assert.equal(single('Unstarted members'), 0);
    assert.equal(single('EtcdMember CRD'), 1);
    // Summed on purpose (it counts controllers); both register their member's own name.
    assert.equal(single('Controllers with local name drift'), 0);
  });

  it('shows each exporter and each of its sources', () => {
    const up = resultOf('Source up');
    assert.equal(up.length, 9, JSON.stringify(up.map((s) => s.metric)));
    assert.deepEqual([...new Set(up.map((s) => s.metric['source']))].sort(), ['etcd', 'k0s_config', 'kubernetes']);
    for (const s of up) {
      const blindEtcd = s.metric['instance'] === exporters[2]!.target && s.metric['source'] === 'etcd';
      assert.equal(valueOf(s), blindEtcd ? 0 : 1, JSON.stringify(s.metric));
    }
    assert.deepEqual(resultOf('Exporters').map((s) => s.metric['instance']).sort(), exporters.map((x) => x.target).sort());
    const local = resultOf('Local name drift per controller');
    assert.deepEqual(
      local.map((s) => [s.metric['instance'], s.metric['registration_name'], s.metric['member_name'], valueOf(s)]).sort(),
      [
        [exporters[0]!.target, 'c1.example.org', 'c1.example.org', 0],
        [exporters[1]!.target, 'c2.example.org', 'c2.example.org', 0],
      ].sort(),
    );
  });

  it('lists the stale object c1 in the member table next to its live member', () => {
    const rows = resultOf('EtcdMember objects and etcd members by member ID');
    const c1 = rows.filter((s) => s.metric['object_name'] === 'c1');
    assert.ok(c1.length > 0, `no row for object c1: ${JSON.stringify(rows.map((s) => s.metric))}`);
    assert.ok(c1.some((s) => s.metric['problem'] === 'duplicate'), JSON.stringify(c1.map((s) => s.metric)));
    for (const s of c1) {
      assert.equal(s.metric['member_id'], etcd!.members[0]!.idHex);
      assert.equal(s.metric['etcd_name'], 'c1.example.org', 'the live member the stale object shadows');
    }
    // Rows are per object or member, not per exporter.
    for (const s of rows) assert.equal(s.metric['instance'], undefined, JSON.stringify(s.metric));
    const objects = new Set(rows.map((s) => s.metric['object_name']).filter((n) => n !== undefined));
    assert.deepEqual([...objects].sort(), ['c1', 'c1.example.org', 'c2.example.org', 'c3.example.org']);
  });

  it('lists the firing duplicate alert for c1 once, and the blind exporter\'s etcd as the only source down', () => {
    const firing = resultOf('Firing K0sEtcdMember alerts');
    const dup = firing.filter((s) => s.metric['alertname'] === 'K0sEtcdMemberDuplicate');
    assert.deepEqual(dup.map((s) => s.metric['name']), ['c1']);
    const names = firing.map((s) => s.metric['alertname']).sort();
    // SourceDown fires at once here because the test runs the rules with `for: 0s`.
    assert.deepEqual(names, ['K0sEtcdMemberCountMismatch', 'K0sEtcdMemberDuplicate', 'K0sEtcdMemberSourceDown'], JSON.stringify(firing.map((s) => s.metric)));
    const down = firing.find((s) => s.metric['alertname'] === 'K0sEtcdMemberSourceDown');
    assert.equal(down?.metric['instance'], exporters[2]!.target);
    assert.equal(down?.metric['source'], 'etcd');
  });

  it('shows the cluster\'s fault tolerance from the recorded series: 3 members, quorum 2, tolerates 1', () => {
    assert.deepEqual(resultOf('Fault tolerance').map(valueOf), [1]);
    const lines = ['A', 'B', 'C'].map((ref) => resultOf('Members, quorum and fault tolerance over time', ref).map((s) => Number(s.values?.at(-1)?.[1])));
    assert.deepEqual(lines, [[3], [2], [1]]);
    assert.deepEqual(resultOf('Left objects').map(valueOf), [0]);
  });

  it('shows read errors as a zero rate for the healthy exporters, and the blind exporter\'s etcd errors', () => {
    const errors = resultOf('Source read errors');
    assert.ok(errors.length >= 6, `${errors.length} series`);
    for (const s of errors) {
      if (s.metric['instance'] === exporters[2]!.target && s.metric['source'] === 'etcd') continue;
      for (const [, v] of s.values ?? []) assert.equal(Number(v), 0, JSON.stringify(s.metric));
    }
    const blind = errors.filter((s) => s.metric['instance'] === exporters[2]!.target && s.metric['source'] === 'etcd');
    assert.ok(blind.some((s) => (s.values ?? []).some(([, v]) => Number(v) > 0)), JSON.stringify(blind.map((s) => s.metric)));
  });
});
