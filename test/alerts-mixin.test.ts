// The jsonnet mixin (mixin/) as a monitoring-mixins user meets it: built with Debian's jsonnet, its default
// _config renders exactly the shipped rule file and dashboard (one source of truth: the mixin is generated from
// them by scripts/gen-mixin.ts), and each _config field changes what it names and nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { renderMixin } from '../scripts/gen-mixin.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MIXIN_DIR = join(REPO_ROOT, 'mixin');
const RULES_PATH = join(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml');
const DASHBOARD_PATH = join(REPO_ROOT, 'grafana', 'k0s-etcdmember.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface Rendered {
  alerts: { groups: { name: string; rules: Rule[] }[] };
  rules: { groups: { name: string; rules: Rule[] }[] };
  dashboards: Record<string, { panels: { targets?: { expr: string }[]; links?: { url: string }[] }[]; templating: { list: { name: string; query?: string }[] } }>;
}

/** Renders the mixin with `overrides` added to _config (a jsonnet object body), the way a user's jsonnet would. */
function render(overrides = ''): Rendered {
  const code = `local m = (import 'mixin/mixin.libsonnet') + { _config+:: { ${overrides} } };
    { alerts: m.prometheusAlerts, rules: m.prometheusRules, dashboards: m.grafanaDashboards }`;
  const r = spawnSync('jsonnet', ['-J', REPO_ROOT, '-e', code], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  // CI installs jsonnet (.ci/run); its absence must fail, not skip, or nothing checks the mixin.
  assert.equal(r.error, undefined, `jsonnet must be installed (apt-get install jsonnet): ${r.error?.message ?? ''}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Rendered;
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mixin-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('jsonnet mixin', () => {
  it('has the ecosystem layout, and the committed files are exactly what scripts/gen-mixin.ts makes', () => {
    const expected = renderMixin(readFileSync(RULES_PATH, 'utf8'));
    assert.deepEqual(readdirSync(MIXIN_DIR).sort(), Object.keys(expected).sort());
    for (const [name, text] of Object.entries(expected)) {
      assert.equal(readFileSync(join(MIXIN_DIR, name), 'utf8'), text, `mixin/${name} is stale: run npm run build && node dist/scripts/gen-mixin.js`);
    }
    const mixin = readFileSync(join(MIXIN_DIR, 'mixin.libsonnet'), 'utf8');
    for (const part of ['config', 'rules', 'alerts', 'dashboards']) assert.match(mixin, new RegExp(`import '${part}\\.libsonnet'`));
  });

  it('renders, with the default _config, exactly the shipped rule file and dashboard', () => {
    const m = render();
    const shipped = parseYaml(readFileSync(RULES_PATH, 'utf8')) as { groups: unknown[] };
    assert.deepEqual([...m.rules.groups, ...m.alerts.groups], shipped.groups);
    assert.ok(m.rules.groups.every((g) => g.rules.every((r) => r.record !== undefined)), 'prometheusRules holds the recording rules');
    assert.ok(m.alerts.groups.every((g) => g.rules.every((r) => r.alert !== undefined)), 'prometheusAlerts holds the alerts');
    assert.deepEqual(m.dashboards['k0s-etcdmember.json'], JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')));
  });

  it('spells no default of _config outside config.libsonnet', () => {
    for (const name of ['rules.libsonnet', 'alerts.libsonnet', 'dashboards.libsonnet']) {
      const text = readFileSync(join(MIXIN_DIR, name), 'utf8');
      for (const literal of ['instance, pod, node', 'job=\\"k0s-etcdmember-exporter\\"', '$labels.cluster ', 'localhost:3000', 'blob/v']) {
        assert.ok(!text.includes(literal), `mixin/${name} hard-codes ${literal}`);
      }
    }
  });

  it('applies each _config field where it belongs, and promtool accepts the result', () => {
    const m = render(`clusterLabel: 'k8s_cluster', perExporterLabels: ['instance', 'pod', 'node', 'hostname'],
      selector: 'job="etcd-members", namespace="monitoring"', grafanaURL: 'https://grafana.example.com',
      runbookURLPattern: 'https://runbooks.example.com/k0s/%s'`);
    const rules = [...m.rules.groups, ...m.alerts.groups].flatMap((g) => g.rules);
    const text = JSON.stringify(rules);
    assert.ok(text.includes('max without (instance, pod, node, hostname)'));
    assert.ok(!text.includes('max without (instance, pod, node)'));
    const down = rules.find((r) => r.alert === 'K0sEtcdMemberExporterDown');
    assert.match(down?.expr ?? '', /up\{job="etcd-members", namespace="monitoring"\} == 0/);
    for (const r of rules.filter((x) => x.alert !== undefined)) {
      assert.equal(r.annotations?.['runbook_url'], `https://runbooks.example.com/k0s/${(r.alert ?? '').toLowerCase()}`);
      assert.ok(r.annotations?.['dashboard_url']?.startsWith('https://grafana.example.com/d/k0s-etcdmember/'), r.alert);
      assert.ok(!JSON.stringify(r.annotations).includes('$labels.cluster '), `${r.alert} still reads the cluster label`);
    }
    assert.match(rules.find((r) => r.alert === 'K0sEtcdMemberMembersLost')?.annotations?.['description'] ?? '', /cluster:k0s_etcdmember_quorum:max\{k8s_cluster=%q\}" \$labels\.k8s_cluster/);
    const file = join(dir, 'rules.yml');
    writeFileSync(file, JSON.stringify({ groups: [...m.rules.groups, ...m.alerts.groups] }));
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);

    const d = m.dashboards['k0s-etcdmember.json']!;
    const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    for (const e of exprs) {
      assert.match(e, /k8s_cluster=~"\$cluster"/, e);
      assert.doesNotMatch(e, /[({,\s]cluster[=,)]/, e);
    }
    assert.equal(d.templating.list.find((v) => v.name === 'cluster')?.query, 'label_values(k0s_etcdmember_build_info, k8s_cluster)');
    const links = d.panels.flatMap((p) => p.links ?? []).map((l) => l.url);
    assert.ok(links.length > 0 && links.every((u) => u.startsWith('https://runbooks.example.com/k0s/')), JSON.stringify(links.slice(0, 3)));
  });
});
