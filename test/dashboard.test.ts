// Lint for the generated Grafana dashboard, its ConfigMap and the provisioning file, plus offline PromQL checks with
// promtool: every query must parse, and the joins in the tables must give the rows a user expects for k0s#5369.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { alertNames, buildDashboard, renderConfigMap, renderDashboardJson } from '../scripts/gen-dashboard.js';
import { MEMBER_PROBLEMS, OBJECT_PROBLEMS } from '../src/analysis.js';
import {
  DASHBOARD_PATH,
  DEFAULT_VARIABLE_VALUES,
  REPO_ROOT,
  dashboardQueries,
  loadDashboard,
  substituteVariables,
  variablesUsed,
  type DashboardJson,
  type DashboardPanelJson,
} from '../testbed/dashboard-queries.js';

const RULES_PATH = resolve(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml');
const CONFIGMAP_PATH = resolve(REPO_ROOT, 'deploy', 'kubernetes', 'grafana-dashboard-configmap.yaml');
const PROVISIONING_PATH = resolve(REPO_ROOT, 'grafana', 'provisioning', 'dashboards.yaml');
const GENERATOR = resolve(REPO_ROOT, 'dist', 'scripts', 'gen-dashboard.js');
const DS = { type: 'prometheus', uid: '${datasource}' };

const CONTRACT_METRICS = new Set([
  'k0s_etcdmember_members',
  'k0s_etcdmember_duplicates',
  'k0s_etcdmember_hostname_drift',
  'k0s_etcdmember_orphaned_objects',
  'k0s_etcdmember_left_objects',
  'k0s_etcdmember_unregistered_members',
  'k0s_etcdmember_peer_address_mismatches',
  'k0s_etcdmember_learners',
  'k0s_etcdmember_unstarted_members',
  'k0s_etcdmember_object_problem',
  'k0s_etcdmember_member_problem',
  'k0s_etcdmember_member_info',
  'k0s_etcdmember_local_name_drift',
  'k0s_etcdmember_local_peer_address_drift',
  'k0s_etcdmember_local_member_info',
  'k0s_etcdmember_crd_present',
  'k0s_etcdmember_source_up',
  'k0s_etcdmember_source_last_success_timestamp_seconds',
  'k0s_etcdmember_source_duration_seconds',
  'k0s_etcdmember_source_errors_total',
  'k0s_etcdmember_build_info',
  'ALERTS',
]);
/** Recording rules from alerts/k0s-etcdmember.rules.yml: cluster-level, so they have no instance label. */
const RECORDED = new Set([
  'cluster:k0s_etcdmember_object_problem:max',
  'cluster:k0s_etcdmember_member_problem:max',
  'cluster:k0s_etcdmember_voting_members:max',
  'cluster:k0s_etcdmember_quorum:max',
  'cluster:k0s_etcdmember_fault_tolerance:max',
]);
const PROMQL_FUNCTIONS = new Set(['max', 'min', 'sum', 'count', 'avg', 'topk', 'rate', 'increase', 'label_replace', 'label_join', 'time', 'vector', 'absent']);
const PROMQL_KEYWORDS = new Set(['or', 'and', 'unless', 'bool', 'offset']);
// Grafana unit ids this dashboard may use; a typo would silently render as a plain number.
const KNOWN_UNITS = new Set(['none', 'short', 's', 'ms', 'cps', 'dateTimeAsIso', 'dateTimeFromNow', 'percentunit']);

/** Metric names and function names in a PromQL expression (strings, matchers, ranges and label lists removed). */
function promqlNames(expr: string): { metrics: string[]; functions: string[] } {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b(?:group_left|group_right)\b/g, ' ');
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of stripped.matchAll(/([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const name = m[1] ?? '';
    if (PROMQL_KEYWORDS.has(name)) continue;
    if (m[2] !== undefined) functions.push(name);
    else metrics.push(name);
  }
  return { metrics, functions };
}

/** Every value stored under key `key` anywhere in a JSON tree, with its path. */
function valuesUnder(node: unknown, key: string, path = '$'): { path: string; value: unknown }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => valuesUnder(v, key, `${path}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => [...(k === key ? [{ path: `${path}.${k}`, value: v }] : []), ...valuesUnder(v, key, `${path}.${k}`)]);
}

function panelByTitle(d: DashboardJson, title: string): DashboardPanelJson {
  const p = d.panels.find((x) => x.title === title);
  assert.ok(p, `panel "${title}" exists`);
  return p;
}

function runPromtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 });
  // A missing promtool must fail the suite, not skip it: CI installs it, and without it nothing checks the PromQL.
  assert.equal(r.error, undefined, `promtool must be installed (apt-get install prometheus): ${r.error?.message ?? ''}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-test-'));
});
after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('generated files', () => {
  it('the committed dashboard and ConfigMap are exactly what the generator produces', () => {
    const json = renderDashboardJson();
    assert.equal(readFileSync(DASHBOARD_PATH, 'utf8'), json, 'grafana/k0s-etcdmember.json is stale: run node dist/scripts/gen-dashboard.js');
    assert.equal(readFileSync(CONFIGMAP_PATH, 'utf8'), renderConfigMap(json), 'ConfigMap is stale: run node dist/scripts/gen-dashboard.js');
  });

  it('the CLI writes both files to the given paths, byte for byte the committed ones', () => {
    const out = join(dir, 'out', 'dash.json');
    const cm = join(dir, 'out', 'cm.yaml');
    const r = spawnSync(process.execPath, [GENERATOR, '--out', out, `--configmap-out=${cm}`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(DASHBOARD_PATH, 'utf8'));
    assert.equal(readFileSync(cm, 'utf8'), readFileSync(CONFIGMAP_PATH, 'utf8'));
  });

  it('the CLI rejects unknown arguments', () => {
    const r = spawnSync(process.execPath, [GENERATOR, '--bogus'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown argument --bogus/);
  });
});

describe('dashboard', () => {
  const d = loadDashboard();

  it('is valid JSON with the expected identity', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(buildDashboard())), d);
    assert.equal(d.title, 'k0s etcd membership');
    assert.equal(d.uid, 'k0s-etcdmember');
    assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 41, `schemaVersion ${d.schemaVersion} fits Grafana 10+`);
    assert.ok((d.tags ?? []).includes('k0s') && (d.tags ?? []).includes('etcd'));
    assert.ok((d.description ?? '').includes('cluster=~"$cluster"'), 'dashboard description documents the cluster filter');
  });

  it('uses the datasource variable on every panel, target and query variable', () => {
    const dsVar = d.templating.list.find((v) => v.name === 'datasource');
    assert.equal(dsVar?.type, 'datasource');
    assert.equal(dsVar?.query, 'prometheus');
    for (const p of d.panels) {
      assert.deepEqual(p.datasource, DS, `panel ${p.id} ${p.title}`);
      assert.ok((p.targets ?? []).length > 0, `panel ${p.id} ${p.title} has targets`);
      for (const t of p.targets ?? []) assert.deepEqual(t.datasource, DS, `panel ${p.id} target ${t.refId}`);
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) assert.deepEqual(v.datasource, DS, `variable ${v.name}`);
  });

  it('hard-codes no datasource uid anywhere', () => {
    const uids = valuesUnder(d, 'uid').filter((u) => u.path !== '$.uid');
    assert.ok(uids.length > 0);
    for (const u of uids) assert.equal(u.value, '${datasource}', u.path);
    for (const ds of valuesUnder(d, 'datasource')) {
      assert.ok(typeof ds.value === 'object' && ds.value !== null, `${ds.path} is a {type, uid} reference, not a name`);
    }
    assert.doesNotMatch(JSON.stringify(d), /DS_PROMETHEUS|-- Grafana --/);
  });

  it('gives every panel a unique id, a description, a known unit and a place on the grid', () => {
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `unique ids: ${ids.join(',')}`);
    const cells = new Set<string>();
    for (const p of d.panels) {
      assert.ok(Number.isInteger(p.id) && p.id > 0);
      assert.ok((p.description ?? '').length >= 30, `panel ${p.id} ${p.title} has a description`);
      const unit = p.fieldConfig?.defaults?.unit;
      assert.ok(typeof unit === 'string' && KNOWN_UNITS.has(unit), `panel ${p.id} ${p.title} unit ${String(unit)}`);
      const g = p.gridPos;
      assert.ok(g && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24 && g.y >= 0, `panel ${p.id} gridPos`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `panel ${p.id} ${p.title} overlaps another at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries only metrics from the exporter contract (or ALERTS / time())', () => {
    const queries = dashboardQueries(d);
    assert.ok(queries.length >= 15);
    const seen = new Set<string>();
    for (const q of queries) {
      const { metrics, functions } = promqlNames(q.expr);
      assert.ok(metrics.length > 0, `${q.panelTitle} ${q.refId} selects a metric`);
      for (const m of metrics) {
        assert.ok(CONTRACT_METRICS.has(m) || RECORDED.has(m), `${q.panelTitle} ${q.refId}: ${m} is not in the metric contract`);
        seen.add(m);
      }
      for (const f of functions) assert.ok(PROMQL_FUNCTIONS.has(f), `${q.panelTitle} ${q.refId}: unexpected function ${f}`);
    }
    for (const m of ['k0s_etcdmember_member_info', 'cluster:k0s_etcdmember_object_problem:max', 'k0s_etcdmember_local_name_drift', 'k0s_etcdmember_local_member_info', 'ALERTS']) {
      assert.ok(seen.has(m), `some panel uses ${m}`);
    }
    // The checker itself must catch a metric outside the contract.
    assert.deepEqual(promqlNames('max by (cluster) (k0s_etcdmember_dupes{a="b"}) or time()'), { metrics: ['k0s_etcdmember_dupes'], functions: ['max', 'time'] });
  });

  it('defines every variable an expression uses and filters with regex matchers', () => {
    const defined = new Set(d.templating.list.map((v) => v.name));
    for (const q of dashboardQueries(d)) {
      for (const v of variablesUsed(q.expr)) assert.ok(defined.has(v) || v.startsWith('__'), `${q.panelTitle}: $${v} is not defined`);
      // `cluster="$cluster"` would match nothing with All (.*) and nothing when the label does not exist.
      assert.doesNotMatch(q.expr, /[^=!~]=\s*"\$/, `${q.panelTitle} ${q.refId} uses =~ for template variables`);
      const onlyRecorded = promqlNames(q.expr).metrics.every((m) => RECORDED.has(m));
      if (!q.expr.startsWith('ALERTS') && !onlyRecorded) assert.match(q.expr, /instance=~"\$instance"/, `${q.panelTitle} ${q.refId} honours $instance`);
      assert.match(q.expr, /cluster=~"\$cluster"/, `${q.panelTitle} ${q.refId} honours $cluster`);
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      assert.ok(typeof v.query === 'string');
      for (const used of variablesUsed(v.query)) assert.ok(defined.has(used), `variable ${v.name} uses undefined $${used}`);
    }
    assert.throws(() => substituteVariables('up{a=~"$nope"}'), /nope/);
    assert.equal(substituteVariables('label_replace(x{c=~"$cluster"}, "a", "$1", "b", "(.*)")'), 'label_replace(x{c=~".*"}, "a", "$1", "b", "(.*)")');
  });

  it('has the cluster and instance variables as specified', () => {
    const cluster = d.templating.list.find((v) => v.name === 'cluster');
    assert.equal(cluster?.query, 'label_values(k0s_etcdmember_build_info, cluster)');
    assert.equal(cluster?.includeAll, true);
    assert.equal(cluster?.allValue, '.*');
    assert.match(cluster?.description ?? '', /All/);
    const instance = d.templating.list.find((v) => v.name === 'instance');
    assert.equal(instance?.query, 'label_values(k0s_etcdmember_build_info{cluster=~"$cluster"}, instance)');
    assert.equal(instance?.multi, true);
    assert.equal(instance?.includeAll, true);
  });

  it('colours the finding stats red above 0, green at 0, and explains "No data"', () => {
    for (const title of ['Duplicates', 'Hostname drift', 'Orphaned objects', 'Unregistered members']) {
      const p = panelByTitle(d, title);
      assert.equal(p.type, 'stat');
      const defaults = p.fieldConfig?.defaults ?? {};
      assert.deepEqual(defaults['thresholds'], { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] }, title);
      assert.match(defaults.noValue ?? '', /source down or CRD absent/, title);
      const t = p.targets?.[0];
      assert.equal(t?.instant, true, `${title} shows the current value, not the last one before an outage`);
      assert.match(t?.expr ?? '', /^max by \(cluster\) \(k0s_etcdmember_/, `${title} takes the max over this cluster's exporters`);
    }
  });

  it('says the etcd-only figures (learners, unstarted members) go blank only when etcd is down, not when the CRD is absent', () => {
    for (const title of ['Learners', 'Unstarted members']) {
      const p = panelByTitle(d, title);
      assert.equal(p.fieldConfig?.defaults?.noValue, 'No data: etcd down for every controller', title);
      assert.doesNotMatch(p.description ?? '', /CRD is absent/, title);
    }
  });

  it('has the member table, local drift, source health and alerts panels', () => {
    const members = panelByTitle(d, 'EtcdMember objects and etcd members by member ID');
    assert.equal(members.type, 'table');
    assert.equal(members.targets?.[0]?.format, 'table');
    assert.equal(members.targets?.[0]?.instant, true);
    assert.ok((members.transformations ?? []).some((t) => t.id === 'organize'));

    const drift = panelByTitle(d, 'Local name drift per controller');
    assert.match(drift.targets?.[0]?.expr ?? '', /k0s_etcdmember_local_name_drift[\s\S]*k0s_etcdmember_local_member_info/);

    const since = panelByTitle(d, 'Time since last successful read');
    assert.equal(since.fieldConfig?.defaults?.unit, 's');
    assert.match(since.targets?.[0]?.expr ?? '', /time\(\) - k0s_etcdmember_source_last_success_timestamp_seconds\{/);
    assert.match(panelByTitle(d, 'Source read errors').targets?.[0]?.expr ?? '', /rate\(k0s_etcdmember_source_errors_total\{[^}]*\}\[\$__rate_interval\]\)/);
    assert.match(panelByTitle(d, 'Source up').targets?.[0]?.expr ?? '', /k0s_etcdmember_source_up/);

    const alerts = panelByTitle(d, 'Firing K0sEtcdMember alerts');
    assert.equal(alerts.type, 'table');
    assert.equal(alerts.fieldConfig?.defaults?.noValue, 'No K0sEtcdMember alerts firing');
    assert.match(alerts.targets?.[0]?.expr ?? '', /^ALERTS\{alertname=~"K0sEtcdMember\.\*", alertstate="firing"/);

    for (const title of ['Members per source', 'Members per source over time']) assert.match(panelByTitle(d, title).targets?.[0]?.expr ?? '', /k0s_etcdmember_members\{/);
  });

  it('reads the findings of the member table and the quorum panels from recording rules that exist in alerts/', () => {
    const recorded = new Set(
      (parseYaml(readFileSync(RULES_PATH, 'utf8')) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.record)),
    );
    for (const r of RECORDED) assert.ok(recorded.has(r), `${r} is not recorded by alerts/k0s-etcdmember.rules.yml`);
    const table = panelByTitle(d, 'EtcdMember objects and etcd members by member ID').targets?.[0]?.expr ?? '';
    assert.ok(table.includes('cluster:k0s_etcdmember_object_problem:max{'));
    assert.ok(!/k0s_etcdmember_object_problem\{/.test(table.replaceAll('cluster:k0s_etcdmember_object_problem:max{', '')), 'no raw, ungated object_problem');
    assert.match(panelByTitle(d, 'Fault tolerance').targets?.[0]?.expr ?? '', /cluster:k0s_etcdmember_fault_tolerance:max/);
  });

  it('colours every finding of the vocabulary in the member table, and nothing else', () => {
    const overrides = (panelByTitle(d, 'EtcdMember objects and etcd members by member ID').fieldConfig?.overrides ?? []) as { properties: { id: string; value: unknown }[] }[];
    const mappings = overrides.flatMap((o) => o.properties).find((p) => p.id === 'mappings')?.value as { type: string; options: Record<string, unknown> }[];
    const values = mappings.find((m) => m.type === 'value')?.options ?? {};
    assert.deepEqual(Object.keys(values).sort(), [...OBJECT_PROBLEMS, ...MEMBER_PROBLEMS].sort());
  });

  it('links each alert\'s runbook section at the release tag from a panel that shows what it is about', () => {
    const version = (JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const base = `https://github.com/k0s-etcdmember-exporter/k0s-etcdmember-exporter/blob/v${version}/docs/runbook.md`;
    const anchors = new Set(readFileSync(resolve(REPO_ROOT, 'docs', 'runbook.md'), 'utf8').split('\n').filter((l) => l.startsWith('## ')).map((l) => l.slice(3).trim().toLowerCase()));
    const linked = new Set<string>();
    for (const p of d.panels) {
      for (const link of (p as { links?: { title: string; url: string; targetBlank: boolean }[] }).links ?? []) {
        assert.ok(link.url.startsWith(`${base}#`), `${p.title}: ${link.url}`);
        const anchor = link.url.slice(base.length + 1);
        assert.ok(anchors.has(anchor), `${p.title}: the runbook has no section #${anchor}`);
        assert.equal(link.targetBlank, true);
        if (p.title !== 'Firing K0sEtcdMember alerts') linked.add(anchor);
      }
    }
    for (const a of alertNames()) assert.ok(linked.has(a.toLowerCase()), `no panel links the runbook section of ${a}`);
    assert.equal(alertNames().length, 20);
    assert.deepEqual((d['links'] as { url: string }[]).map((l) => l.url), [base]);
  });
});

describe('ConfigMap and provisioning', () => {
  it('the ConfigMap carries the sidecar label and embeds the dashboard JSON', () => {
    const text = readFileSync(CONFIGMAP_PATH, 'utf8');
    const cm = parseYaml(text) as { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, unknown> }; data: Record<string, string> };
    assert.equal(cm.apiVersion, 'v1');
    assert.equal(cm.kind, 'ConfigMap');
    assert.ok(cm.metadata.name.length > 0);
    assert.equal(cm.metadata.labels['grafana_dashboard'], '1', 'label value is the string "1"');
    const keys = Object.keys(cm.data);
    assert.deepEqual(keys, ['k0s-etcdmember.json']);
    const embedded = cm.data['k0s-etcdmember.json'] ?? '';
    assert.equal(`${embedded}\n`, readFileSync(DASHBOARD_PATH, 'utf8'));
    assert.deepEqual(JSON.parse(embedded), loadDashboard());
  });

  it('the provisioning file parses and points a file provider at a folder', () => {
    const p = parseYaml(readFileSync(PROVISIONING_PATH, 'utf8')) as { apiVersion: number; providers: { name: string; type: string; folder: string; options: { path: string } }[] };
    assert.equal(p.apiVersion, 1);
    assert.equal(p.providers.length, 1);
    const [provider] = p.providers;
    assert.equal(provider?.type, 'file');
    assert.ok((provider?.folder ?? '').length > 0);
    assert.match(provider?.options.path ?? '', /^\//);
  });
});

describe('PromQL (promtool, offline)', () => {
  it('every dashboard query parses', () => {
    const queries = dashboardQueries();
    const rules = {
      groups: [{ name: 'dashboard', rules: queries.map((q) => ({ record: `dashboard:panel_${q.panelId}_${q.refId}`, expr: q.query })) }],
    };
    const file = join(dir, 'dashboard-rules.yaml');
    writeFileSync(file, stringifyYaml(rules));
    const r = runPromtool(['check', 'rules', file]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${queries.length} rules found`));

    // The same check rejects a broken query, so a pass above means something.
    const bad = join(dir, 'bad-rules.yaml');
    writeFileSync(bad, stringifyYaml({ groups: [{ name: 'bad', rules: [{ record: 'x:y', expr: 'max by (cluster (k0s_etcdmember_duplicates)' }] }] }));
    assert.notEqual(runPromtool(['check', 'rules', bad]).status, 0);
  });

  it('the panels show the k0s#5369 cluster as a user expects, from three exporters without a cluster label, one of them blind to etcd', () => {
    const d = loadDashboard();
    const expr = (title: string): string => substituteVariables(panelByTitle(d, title).targets?.[0]?.expr ?? '', DEFAULT_VARIABLE_VALUES);
    const series: { series: string; values: string }[] = [];
    const add = (s: string): void => void series.push({ series: s, values: '1x10' });
    for (const instance of ['c1:9810', 'c2:9810', 'c3:9810']) {
      const l = (labels: string): string => `{job="k0s-etcdmember-exporter", instance="${instance}", ${labels}}`;
      // The exporter on c3 cannot read etcd (a rolling upgrade restarts it): it has no etcd figures and calls
      // both objects of the group ambiguous; an older exporter would call them both duplicate.
      const blind = instance.startsWith('c3');
      series.push({ series: `k0s_etcdmember_source_up${l('source="etcd"')}`, values: blind ? '0x10' : '1x10' });
      add(`k0s_etcdmember_source_up${l('source="kubernetes"')}`);
      if (!blind) {
        for (const [name, id, ip] of [['c1.example.org', 'a1', '10.0.0.1'], ['c2.example.org', 'b2', '10.0.0.2'], ['c3.example.org', 'c3', '10.0.0.3'], ['c4.example.org', 'd4', '10.0.0.4']]) {
          add(`k0s_etcdmember_member_info${l(`source="etcd", name="${name}", member_id="${id}", peer_address="${ip}"`)}`);
        }
      }
      for (const [name, id, ip] of [['c1', 'a1', '10.0.0.1'], ['c1.example.org', 'a1', '10.0.0.1'], ['c2.example.org', 'b2', '10.0.0.2'], ['c3.example.org', 'c3', '10.0.0.3'], ['old', 'ff', '10.0.0.9']]) {
        add(`k0s_etcdmember_member_info${l(`source="kubernetes", name="${name}", member_id="${id}", peer_address="${ip}"`)}`);
      }
      const problems = blind
        ? [['c1', 'a1', 'ambiguous_duplicate'], ['c1.example.org', 'a1', 'ambiguous_duplicate'], ['c1.example.org', 'a1', 'duplicate']]
        : [['c1', 'a1', 'duplicate'], ['c1', 'a1', 'hostname_drift'], ['old', 'ff', 'orphaned']];
      for (const [name, id, problem] of problems) {
        add(`k0s_etcdmember_object_problem${l(`name="${name}", member_id="${id}", problem="${problem}"`)}`);
      }
      if (!blind) add(`k0s_etcdmember_member_problem${l('name="c4.example.org", member_id="d4", problem="unregistered"')}`);
      add(`k0s_etcdmember_duplicates${l('')}`);
      if (blind) continue;
      series.push({ series: `k0s_etcdmember_local_name_drift${l('')}`, values: instance.startsWith('c1') ? '1x10' : '0x10' });
      const self = instance.slice(0, 2);
      const member = self === 'c1' ? 'c1.example.org' : `${self}.example.org`;
      add(`k0s_etcdmember_local_member_info${l(`member_name="${member}", member_id="${self === 'c1' ? 'a1' : self === 'c2' ? 'b2' : 'c3'}", registration_name="${self === 'c1' ? 'c1' : member}"`)}`);
    }
    add('ALERTS{alertname="K0sEtcdMemberDuplicate", alertstate="firing", severity="warning"}');
    add('ALERTS{alertname="K0sEtcdMemberOrphaned", alertstate="pending", severity="warning"}');
    add('ALERTS{alertname="SomethingElse", alertstate="firing", severity="critical"}');

    const row = (labels: Record<string, string>): { labels: string; value: number } => ({
      labels: `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`,
      value: 1,
    });
    const c1Etcd = { etcd_name: 'c1.example.org', etcd_peer_address: '10.0.0.1' };
    const tests = {
      // The recording rules the member table reads, as alerts/ ships them.
      rule_files: [RULES_PATH],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          promql_expr_test: [
            {
              expr: expr('EtcdMember objects and etcd members by member ID'),
              eval_time: '5m',
              exp_samples: [
                row({ member_id: 'a1', object_name: 'c1', object_peer_address: '10.0.0.1', ...c1Etcd, problem: 'duplicate' }),
                row({ member_id: 'a1', object_name: 'c1', object_peer_address: '10.0.0.1', ...c1Etcd, problem: 'hostname_drift' }),
                row({ member_id: 'a1', object_name: 'c1.example.org', object_peer_address: '10.0.0.1', ...c1Etcd }),
                row({ member_id: 'b2', object_name: 'c2.example.org', object_peer_address: '10.0.0.2', etcd_name: 'c2.example.org', etcd_peer_address: '10.0.0.2' }),
                row({ member_id: 'c3', object_name: 'c3.example.org', object_peer_address: '10.0.0.3', etcd_name: 'c3.example.org', etcd_peer_address: '10.0.0.3' }),
                row({ member_id: 'ff', object_name: 'old', object_peer_address: '10.0.0.9', problem: 'orphaned' }),
                row({ member_id: 'd4', etcd_name: 'c4.example.org', etcd_peer_address: '10.0.0.4', problem: 'unregistered' }),
              ],
            },
            // Three exporters report the same view; the stat must say 1, not 3.
            { expr: expr('Duplicates'), eval_time: '5m', exp_samples: [{ labels: '{}', value: 1 }] },
            {
              expr: expr('Local name drift per controller'),
              eval_time: '5m',
              exp_samples: [
                { labels: '{instance="c1:9810", member_name="c1.example.org", member_id="a1", registration_name="c1"}', value: 1 },
                { labels: '{instance="c2:9810", member_name="c2.example.org", member_id="b2", registration_name="c2.example.org"}', value: 0 },
              ],
            },
            { expr: expr('Controllers with local name drift'), eval_time: '5m', exp_samples: [{ labels: '{}', value: 1 }] },
            {
              expr: expr('Firing K0sEtcdMember alerts'),
              eval_time: '5m',
              exp_samples: [{ labels: 'ALERTS{alertname="K0sEtcdMemberDuplicate", alertstate="firing", severity="warning"}', value: 1 }],
            },
          ],
        },
      ],
    };
    const file = join(dir, 'dashboard-semantics.yaml');
    writeFileSync(file, stringifyYaml(tests));
    const r = runPromtool(['test', 'rules', file]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });
});
