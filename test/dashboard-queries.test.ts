// Every panel query of the committed Grafana dashboard, run against a real Prometheus that scrapes two real
// exporters (two controllers of one cluster) reading a real etcd and the Kubernetes API test server in the k0s#5369
// state. A query that Prometheus rejects, that names a metric or label the exporter does not expose, or that
// counts the cluster-wide view once per exporter shows up here as an error, an empty panel or a wrong number.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
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

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-queries-'));
  ({ etcd, api } = await startK0s5369Scene());
  const e = etcd;
  const common = { caFile: e.caFile, certFile: e.certFile, keyFile: e.keyFile, kubeconfig: api.kubeconfigPath, interval: '1s' };
  // Two controllers: each talks to its own member first (that is its local member) and registers its own name.
  const rotated = [...e.endpoints.slice(1), ...e.endpoints.slice(0, 1)];
  exporters.push(
    ...(await Promise.all([
      ExporterProcess.start({ ...common, etcdEndpoints: e.endpoints, memberName: e.members[0]!.name }),
      ExporterProcess.start({ ...common, etcdEndpoints: rotated, memberName: e.members[1]!.name }),
    ])),
  );
  const rules = join(dir, 'rules.yml');
  // The real rules with `for: 0s`, so the firing-alerts table has rows within seconds; ExporterDown keeps a
  // delay so the moment before the first scrape cannot leave an alert behind.
  writeRuleFileWithFor(join(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml'), rules, { '*': '0s', K0sEtcdMemberExporterDown: '1m' });
  prom = await PrometheusTestServer.start({ scrapeTargets: exporters.map((x) => x.target), ruleFiles: [rules], scrapeInterval: '1s' });
  const p = prom;
  await p.waitForTargetsUp(20_000);
  // Ready when both exporters report figures (both sources read), a rate over the error counters has the two
  // samples it needs for every exporter, and the duplicate alert fires. Then each query runs exactly once.
  await waitUntil('both exporters scraped with figures, rate() data and a firing alert', 25_000, async () => {
    const dup = await p.query('count(k0s_etcdmember_duplicates)');
    const rate = await p.query('count(count by (instance) (rate(k0s_etcdmember_source_errors_total[5s])))');
    const alerts = await p.query('ALERTS{alertname="K0sEtcdMemberDuplicate", alertstate="firing"}');
    if (dup[0] && valueOf(dup[0]) === 2 && rate[0] && valueOf(rate[0]) === 2 && alerts.length > 0) return true;
    throw new Error(`duplicates series ${JSON.stringify(dup)}, rate instances ${JSON.stringify(rate)}, duplicate alerts ${alerts.length}`);
  });
  for (const q of queries) results.set(label(q), await runPanelQuery(p, q));
});

after(async () => {
  await prom?.stop();
  await Promise.all(exporters.map((x) => x.stop()));
  await Promise.all([etcd?.stop(), api?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboard queries against Prometheus scraping two exporters in the k0s#5369 state', () => {
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

  it('shows one duplicate although two exporters report it', () => {
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
    assert.equal(up.length, 4, JSON.stringify(up.map((s) => s.metric)));
    for (const s of up) assert.equal(valueOf(s), 1, JSON.stringify(s.metric));
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

  it('lists the firing duplicate alert for c1 once', () => {
    const firing = resultOf('Firing K0sEtcdMember alerts');
    const dup = firing.filter((s) => s.metric['alertname'] === 'K0sEtcdMemberDuplicate');
    assert.deepEqual(dup.map((s) => s.metric['name']), ['c1']);
    assert.ok(!firing.some((s) => s.metric['alertname'] === 'K0sEtcdMemberExporterDown' || s.metric['alertname'] === 'K0sEtcdMemberSourceDown'), JSON.stringify(firing.map((s) => s.metric)));
  });

  it('shows read errors as a zero rate per source and reason while both sources are fine', () => {
    const errors = resultOf('Source read errors');
    assert.ok(errors.length >= 4, `${errors.length} series`);
    for (const s of errors) for (const [, v] of s.values ?? []) assert.equal(Number(v), 0, JSON.stringify(s.metric));
  });
});
