// The alert rules as an operator meets them: promtool accepts and unit-tests them, every alert carries what a
// page needs (severity, summary, description, a runbook link that resolves), the committed PrometheusRule is
// exactly what the generator makes of the rule file, and a real Prometheus + Alertmanager deliver
// K0sEtcdMemberDuplicate for k0s#5369 to a webhook once, then the resolution after the stale object is gone.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { AlertmanagerTestServer, PrometheusTestServer, WebhookReceiver, writeRuleFileWithFor } from '../testbed/prometheus.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RULES_PATH = join(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml');
const PROMETHEUSRULE_PATH = join(REPO_ROOT, 'alerts', 'prometheusrule.yaml');
const TESTS_DIR = join(REPO_ROOT, 'alerts', 'tests');
const RUNBOOK_PATH = join(REPO_ROOT, 'docs', 'runbook.md');
const GENERATOR = join(REPO_ROOT, 'dist', 'scripts', 'gen-prometheusrule.js');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// The runbook as released with these rules, not whatever `main` says by the time someone is paged.
const RUNBOOK_BASE = `https://github.com/k0s-etcdmember-exporter/k0s-etcdmember-exporter/blob/v${VERSION}/docs/runbook.md`;
const DASHBOARD_URL = 'http://localhost:3000/d/k0s-etcdmember/k0s-etcd-membership';
const JOB_MATCHER = 'job="k0s-etcdmember-exporter"';

const ALERT_NAMES = [
  'K0sEtcdMemberMembersLost',
  'K0sEtcdMemberUnstarted',
  'K0sEtcdMemberCRDAbsent',
  'K0sEtcdMemberDuplicate',
  'K0sEtcdMemberAmbiguousDuplicate',
  'K0sEtcdMemberHostnameDrift',
  'K0sEtcdMemberOrphaned',
  'K0sEtcdMemberLeft',
  'K0sEtcdMemberUnregistered',
  'K0sEtcdMemberUnregistrable',
  'K0sEtcdMemberPeerAddressMismatch',
  'K0sEtcdMemberLeaveStuck',
  'K0sEtcdMemberLeaveIgnored',
  'K0sEtcdMemberReconcileFailed',
  'K0sEtcdMemberCountMismatch',
  'K0sEtcdMemberLocalNameDrift',
  'K0sEtcdMemberLocalPeerAddressDrift',
  'K0sEtcdMemberLocalPeerAddressNotOnHost',
  'K0sEtcdMemberSourceDown',
  'K0sEtcdMemberExporterDown',
];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

const run = (cmd: string, args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, cwd: opts.cwd ?? REPO_ROOT });

const output = (r: SpawnSyncReturns<string>): string => `${r.error?.message ?? ''}\n${r.stdout ?? ''}\n${r.stderr ?? ''}`;

function promtool(args: string[], cwd?: string): SpawnSyncReturns<string> {
  return run('promtool', args, cwd === undefined ? {} : { cwd });
}

function loadGroups(path = RULES_PATH): RuleGroup[] {
  return (parseYaml(readFileSync(path, 'utf8')) as { groups: RuleGroup[] }).groups;
}

const alerts = (): Rule[] => loadGroups().flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
const testFiles = (): string[] => readdirSync(TESTS_DIR).filter((f) => f.endsWith('.yml')).sort();

/** GitHub's anchor for a Markdown heading: lowercased, punctuation other than - and _ dropped, spaces to dashes. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function runbookAnchors(): Set<string> {
  const anchors = new Set<string>();
  for (const line of readFileSync(RUNBOOK_PATH, 'utf8').split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (m?.[1] !== undefined) anchors.add(githubAnchor(m[1]));
  }
  return anchors;
}

/** The runbook's text from a `## name` heading to the next `## ` heading. */
function runbookSection(name: string): string {
  const text = readFileSync(RUNBOOK_PATH, 'utf8');
  const start = text.indexOf(`\n## ${name}\n`);
  assert.ok(start >= 0, `runbook has no "## ${name}" section`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

describe('alert rules and promtool tests', () => {
  before(() => {
    // CI installs promtool; its absence must fail the suite, not skip it.
    const r = promtool(['--version']);
    assert.equal(r.status, 0, `promtool is required (apt-get install prometheus): ${output(r)}`);
  });

  it('promtool check rules accepts the rule file with exactly the twenty alerts and eight recording rules', () => {
    const r = promtool(['check', 'rules', RULES_PATH]);
    assert.equal(r.status, 0, output(r));
    assert.match(r.stdout, /SUCCESS: 28 rules found/);
    assert.deepEqual(alerts().map((a) => a.alert).sort(), [...ALERT_NAMES].sort());
  });

  it('promtool test rules passes every test file in alerts/tests', () => {
    const files = testFiles();
    assert.ok(files.length >= 3, `expected the promtool test files, got ${files.join(', ')}`);
    const r = promtool(['test', 'rules', ...files], TESTS_DIR);
    assert.equal(r.status, 0, output(r));
    assert.equal((r.stdout.match(/SUCCESS/g) ?? []).length, files.length, output(r));
  });

  it('every alert is tested both firing (with description and runbook_url checked) and silent', () => {
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const f of testFiles()) {
      const doc = parseYaml(readFileSync(join(TESTS_DIR, f), 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: { exp_annotations?: Record<string, string> }[] }[] }[];
      };
      for (const t of doc.tests) {
        for (const a of t.alert_rule_test ?? []) {
          if ((a.exp_alerts ?? []).length === 0) {
            silent.add(a.alertname);
            continue;
          }
          firing.add(a.alertname);
          for (const e of a.exp_alerts ?? []) {
            assert.ok(e.exp_annotations?.['description'], `${f}: ${a.alertname} expectation without description`);
            assert.ok(e.exp_annotations?.['runbook_url'], `${f}: ${a.alertname} expectation without runbook_url`);
          }
        }
      }
    }
    for (const name of ALERT_NAMES) {
      assert.ok(firing.has(name), `${name} is never tested firing`);
      assert.ok(silent.has(name), `${name} is never tested silent`);
    }
  });

  it('the k0s#5369 test fails when the rules stop aggregating the exporters away (one alert per controller)', () => {
    // Proves the test can catch the defect it is there for: 3 exporters must not page 3 times.
    const dir = mkdtempSync(join(tmpdir(), 'alerts-mutant-'));
    try {
      const text = readFileSync(RULES_PATH, 'utf8');
      assert.ok(text.includes('max without (instance, pod, node)'));
      writeFileSync(join(dir, 'k0s-etcdmember.rules.yml'), text.replaceAll('max without (instance, pod, node)', 'max without (pod, node)'));
      mkdirAndCopy(join(TESTS_DIR, 'k0s-5369.yml'), join(dir, 'tests', 'k0s-5369.yml'));
      const r = promtool(['test', 'rules', 'k0s-5369.yml'], join(dir, 'tests'));
      assert.notEqual(r.status, 0, 'the k0s#5369 test passed against rules that fire once per exporter');
      assert.match(output(r), /K0sEtcdMemberDuplicate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const file of ['quiet.yml', 'planned-work.yml']) {
    it(`${file} fails when a finding of an exporter blind to etcd is trusted`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'alerts-mutant-'));
      try {
        const text = readFileSync(RULES_PATH, 'utf8');
        const gate = /\n\s*and ignoring \(name, member_id, problem\)\n\s*\(instance:k0s_etcdmember_sources_up:min == 1\)/g;
        assert.ok(gate.test(text), 'the source_up gate is where this test expects it');
        writeFileSync(join(dir, 'k0s-etcdmember.rules.yml'), text.replace(gate, ''));
        mkdirAndCopy(join(TESTS_DIR, file), join(dir, 'tests', file));
        const r = promtool(['test', 'rules', file], join(dir, 'tests'));
        assert.notEqual(r.status, 0, `${file} passed against rules that name c1.example.org while etcd is down`);
        assert.match(output(r), /c1\.example\.org/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('planned-work.yml fails when a completed planned leave no longer explains the missing member', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alerts-mutant-'));
    try {
      const text = readFileSync(RULES_PATH, 'utf8');
      const planned = '- (cluster:k0s_etcdmember_planned_leaves:count or cluster:k0s_etcdmember_started_voting_members:max * 0)';
      assert.ok(text.includes(planned));
      writeFileSync(join(dir, 'k0s-etcdmember.rules.yml'), text.replace(planned, ''));
      mkdirAndCopy(join(TESTS_DIR, 'planned-work.yml'), join(dir, 'tests', 'planned-work.yml'));
      const r = promtool(['test', 'rules', 'planned-work.yml'], join(dir, 'tests'));
      assert.notEqual(r.status, 0, 'a planned replacement paged and the test did not notice');
      assert.match(output(r), /K0sEtcdMemberMembersLost/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('planned-work.yml fails when a leave completed over an hour ago still excuses a lost member', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alerts-mutant-'));
    try {
      const text = readFileSync(RULES_PATH, 'utf8');
      const recent = /\n +unless\n +max_over_time\(cluster:k0s_etcdmember_object_problem:max\{problem="left"\}\[1h\] offset 1h\)/;
      assert.match(text, recent);
      writeFileSync(join(dir, 'k0s-etcdmember.rules.yml'), text.replace(recent, ''));
      mkdirAndCopy(join(TESTS_DIR, 'planned-work.yml'), join(dir, 'tests', 'planned-work.yml'));
      const r = promtool(['test', 'rules', 'planned-work.yml'], join(dir, 'tests'));
      assert.notEqual(r.status, 0, 'an old left object hid a member loss and the test did not notice');
      assert.match(output(r), /K0sEtcdMemberMembersLost/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ambiguous.yml evaluates every alert in each scene and expects no delete command naming an object in any annotation', () => {
    const doc = parseYaml(readFileSync(join(TESTS_DIR, 'ambiguous.yml'), 'utf8')) as {
      tests: { input_series: { series: string }[]; alert_rule_test: { eval_time: string; alertname: string; exp_alerts: { exp_annotations: Record<string, string> }[] }[] }[];
    };
    assert.equal(doc.tests.length, 2);
    for (const t of doc.tests) {
      assert.ok(t.input_series.some((s) => s.series.includes('problem="ambiguous_duplicate"')), 'the scene has an ambiguous group');
      const at45 = new Set(t.alert_rule_test.filter((a) => a.eval_time === '45m').map((a) => a.alertname));
      assert.deepEqual([...at45].sort(), [...ALERT_NAMES].sort(), 'every alert is evaluated at 45m');
      const fired = t.alert_rule_test.flatMap((a) => a.exp_alerts);
      assert.ok(fired.some((e) => e.exp_annotations['summary']?.includes('cannot be told which is stale')));
      // Only the placeholder `<it>` (the object that already has spec.leave, which the operator finds): no object by name.
      for (const e of fired) for (const v of Object.values(e.exp_annotations)) assert.doesNotMatch(v, /kubectl delete etcdmember (?!<it>`)/);
    }
    const amb = alerts().find((a) => a.alert === 'K0sEtcdMemberAmbiguousDuplicate');
    assert.doesNotMatch(JSON.stringify(amb?.annotations), /kubectl delete etcdmember (?!<it>`)|etcdctl member remove/);
    assert.match(amb?.annotations?.['description'] ?? '', /spec\.leave: true .*`kubectl delete etcdmember <it>`/);
  });

  it('summaries are static, so notifications that group several alerts share one', () => {
    for (const a of alerts()) assert.doesNotMatch(a.annotations?.['summary'] ?? '', /\{\{/, `${a.alert}: summary has a template`);
  });

  it('every alert links the dashboard, scoped to its cluster when it has one', () => {
    for (const a of alerts()) {
      assert.equal(a.annotations?.['dashboard_url'], `${DASHBOARD_URL}{{ with $labels.cluster }}?var-cluster={{ . }}{{ end }}`, `${a.alert}`);
    }
  });

  it('only K0sEtcdMemberMembersLost is critical, and it fires within 5 minutes of its condition', () => {
    const critical = alerts().filter((a) => a.labels?.['severity'] === 'critical');
    assert.deepEqual(critical.map((a) => a.alert), ['K0sEtcdMemberMembersLost']);
    const minutes = Number(/^(\d+)m$/.exec(critical[0]?.for ?? '')?.[1]);
    assert.ok(minutes > 0 && minutes < 5, `for: ${critical[0]?.for}`);
  });

  it('every alert has a severity, summary, description and a runbook_url whose anchor is a runbook heading', () => {
    const anchors = runbookAnchors();
    for (const a of alerts()) {
      assert.ok(['critical', 'warning', 'info'].includes(a.labels?.['severity'] ?? ''), `${a.alert}: severity ${a.labels?.['severity']}`);
      assert.ok(a.for, `${a.alert}: no for`);
      for (const k of ['summary', 'description', 'runbook_url']) assert.ok(a.annotations?.[k], `${a.alert}: no ${k}`);
      const url = a.annotations?.['runbook_url'] ?? '';
      assert.ok(url.startsWith(`${RUNBOOK_BASE}#`), `${a.alert}: runbook_url ${url}`);
      const anchor = url.slice(RUNBOOK_BASE.length + 1);
      assert.equal(anchor, githubAnchor(a.alert ?? ''), `${a.alert}: runbook_url should point at its own section`);
      assert.ok(anchors.has(anchor), `${a.alert}: runbook has no heading for #${anchor}`);
    }
  });

  it('per-object alerts name the object and member and the safe check; the duplicate alert forbids spec.leave', () => {
    for (const a of alerts()) {
      if (!/k0s_etcdmember_(object|member)_problem/.test(a.expr) || a.alert === 'K0sEtcdMemberUnstarted') continue;
      const d = a.annotations?.['description'] ?? '';
      assert.match(d, /\{\{ \$labels\.name \}\}/, `${a.alert}: description does not name the object`);
      assert.match(d, /\{\{ \$labels\.member_id \}\}/, `${a.alert}: description does not name the member ID`);
      assert.match(d, /k0s etcd member-list/, `${a.alert}: description does not say to check etcd's member list`);
    }
    const dup = alerts().find((a) => a.alert === 'K0sEtcdMemberDuplicate');
    const left = alerts().find((a) => a.alert === 'K0sEtcdMemberLeft');
    assert.match(left?.annotations?.['description'] ?? '', /`kubectl delete etcdmember \{\{ \$labels\.name \}\}`/);
    assert.match(dup?.annotations?.['description'] ?? '', /`kubectl delete etcdmember \{\{ \$labels\.name \}\}`/);
    assert.match(dup?.annotations?.['description'] ?? '', /Never set spec\.leave/);
    const local = alerts().find((a) => a.alert === 'K0sEtcdMemberLocalNameDrift');
    assert.match(local?.annotations?.['description'] ?? '', /\{\{ \$labels\.instance \}\}/);
  });

  it('the scrape job name appears in one alert only, and the sed from the runbook changes it', () => {
    const withJob = alerts().filter((a) => a.expr.includes('job='));
    assert.deepEqual(withJob.map((a) => a.alert), ['K0sEtcdMemberExporterDown']);
    const sed = /sed -i 's\/job="k0s-etcdmember-exporter"\/job="my-job"\/g' alerts\/k0s-etcdmember\.rules\.yml/;
    assert.match(readFileSync(RUNBOOK_PATH, 'utf8'), sed, 'runbook documents the sed');
    const dir = mkdtempSync(join(tmpdir(), 'alerts-job-'));
    try {
      const copy = join(dir, 'rules.yml');
      writeFileSync(copy, readFileSync(RULES_PATH, 'utf8'));
      const r = run('sed', ['-i', 's/job="k0s-etcdmember-exporter"/job="my-job"/g', copy]);
      assert.equal(r.status, 0, output(r));
      const changed = readFileSync(copy, 'utf8');
      assert.ok(!changed.includes(JOB_MATCHER));
      assert.equal(changed.split('job="my-job"').length - 1, 2);
      const check = promtool(['check', 'rules', copy]);
      assert.equal(check.status, 0, output(check));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('runbook', () => {
  it('has a section per alert saying what it means, causes, how to confirm, the fix and what not to do', () => {
    for (const name of ALERT_NAMES) {
      const s = runbookSection(name);
      for (const part of ['Meaning', 'Likely causes', 'Confirm', 'Fix', 'Do not']) {
        assert.match(s, new RegExp(`\\*\\*${part}`), `${name}: no **${part}** part`);
      }
      assert.match(s, /```/, `${name}: no commands`);
    }
    const dup = runbookSection('K0sEtcdMemberDuplicate');
    for (const cmd of ['k0s etcd member-list', 'kubectl get etcdmember -o wide', 'kubectl get etcdmember c1 -o yaml', 'kubectl delete etcdmember c1', 'curl -s']) {
      assert.ok(dup.includes(cmd), `duplicate section lacks ${cmd}`);
    }
    assert.match(dup, /spec\.leave/);
  });

  it('says what a planned replacement and a rolling upgrade look like, and how to silence what may fire', () => {
    const text = readFileSync(RUNBOOK_PATH, 'utf8');
    const start = text.indexOf('\n## Planned work: replacing a controller, rolling upgrades\n');
    assert.ok(start >= 0);
    const section = text.slice(start, text.indexOf('\n## ', start + 1));
    for (const needle of ['spec.leave', 'left', 'K0sEtcdMemberMembersLost', 'K0sEtcdMemberLeft', 'amtool silence add', 'Rolling k0s upgrades']) {
      assert.ok(section.includes(needle), `planned work section lacks ${needle}`);
    }
    for (const name of ['K0sEtcdMemberMembersLost', 'K0sEtcdMemberLeft', 'K0sEtcdMemberOrphaned']) {
      assert.match(runbookSection(name), /planned-work-replacing-a-controller-rolling-upgrades|spec\.leave/);
    }
    assert.doesNotMatch(runbookSection('K0sEtcdMemberAmbiguousDuplicate'), /kubectl delete etcdmember [a-z]/);
  });

  it('explains k0s#5369 and the choice of aggregation labels, and ExporterDown\'s absent() limitation', () => {
    const text = readFileSync(RUNBOOK_PATH, 'utf8');
    assert.match(text, /^## Background: k0s#5369/m);
    for (const name of ['c1', 'c1.example.org', 'c2.example.org', 'c3.example.org']) assert.ok(text.includes(name));
    assert.match(text, /max without \(instance, pod, node\)/);
    assert.match(runbookSection('K0sEtcdMemberExporterDown'), /absent\(/);
  });
});

describe('PrometheusRule generator', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prometheusrule-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('regenerating with the defaults gives the committed alerts/prometheusrule.yaml', () => {
    const out = join(dir, 'prometheusrule.yaml');
    const r = run(process.execPath, [GENERATOR, '--out', out]);
    assert.equal(r.status, 0, output(r));
    assert.equal(
      readFileSync(out, 'utf8'),
      readFileSync(PROMETHEUSRULE_PATH, 'utf8'),
      'alerts/prometheusrule.yaml is stale: run `npm run build && node dist/scripts/gen-prometheusrule.js`',
    );
  });

  it('the committed PrometheusRule carries the rule file\'s groups unchanged, and promtool accepts its spec', () => {
    const doc = parseYaml(readFileSync(PROMETHEUSRULE_PATH, 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      spec: { groups: RuleGroup[] };
    };
    assert.equal(doc.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(doc.kind, 'PrometheusRule');
    assert.equal(doc.metadata.name, 'k0s-etcdmember-exporter');
    assert.equal(doc.metadata.namespace, 'k0s-etcdmember-exporter');
    assert.deepEqual(doc.spec.groups, loadGroups());
    const spec = join(dir, 'spec.yml');
    writeFileSync(spec, JSON.stringify(doc.spec));
    const r = promtool(['check', 'rules', spec]);
    assert.equal(r.status, 0, output(r));
    assert.match(r.stdout, /SUCCESS: 28 rules found/);
  });

  it('--label, --name, --namespace and --job change only what they name', () => {
    const r = run(process.execPath, [GENERATOR, '--label', 'release=kube-prometheus-stack', '--name', 'etcd-alerts', '--namespace', 'monitoring', '--job', 'k0s/etcdmember', '--out', '-']);
    assert.equal(r.status, 0, output(r));
    const doc = parseYaml(r.stdout) as { metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: { groups: RuleGroup[] } };
    assert.equal(doc.metadata.name, 'etcd-alerts');
    assert.equal(doc.metadata.namespace, 'monitoring');
    assert.equal(doc.metadata.labels['release'], 'kube-prometheus-stack');
    assert.equal(doc.metadata.labels['app.kubernetes.io/name'], 'k0s-etcdmember-exporter');
    const rules = doc.spec.groups.flatMap((g) => g.rules);
    const down = rules.find((x) => x.alert === 'K0sEtcdMemberExporterDown');
    assert.ok(down?.expr.includes('up{job="k0s/etcdmember"} == 0'), down?.expr);
    assert.ok(!r.stdout.includes(JOB_MATCHER));
    const original = loadGroups().flatMap((g) => g.rules);
    assert.deepEqual(
      rules.filter((x) => x.alert !== 'K0sEtcdMemberExporterDown'),
      original.filter((x) => x.alert !== 'K0sEtcdMemberExporterDown'),
    );
  });

  it('--grafana-url points every dashboard_url at that Grafana and changes nothing else', () => {
    const r = run(process.execPath, [GENERATOR, '--grafana-url', 'https://grafana.example.com/sub/', '--out', '-']);
    assert.equal(r.status, 0, output(r));
    const rules = (parseYaml(r.stdout) as { spec: { groups: RuleGroup[] } }).spec.groups.flatMap((g) => g.rules);
    const original = loadGroups().flatMap((g) => g.rules);
    assert.equal(rules.length, original.length);
    rules.forEach((x, i) => {
      const o = original[i]!;
      if (o.alert === undefined) return assert.deepEqual(x, o);
      assert.equal(x.annotations?.['dashboard_url'], o.annotations?.['dashboard_url']?.replace('http://localhost:3000/', 'https://grafana.example.com/sub/'));
      assert.deepEqual({ ...x, annotations: { ...x.annotations, dashboard_url: '' } }, { ...o, annotations: { ...o.annotations, dashboard_url: '' } });
    });
  });

  for (const [args, pattern] of [
    [['--bogus'], /unknown option '--bogus'/],
    [['--grafana-url', 'grafana:3000'], /not an http\(s\) URL|not a URL/],
    [['--label', 'release'], /--label.*key=value/],
    [['--label', 'bad key=x'], /not a valid Kubernetes label key/],
    [['--namespace', 'Not_A_Namespace'], /not a valid namespace/],
    [['--job', 'a"b'], /job name/],
    [['stray'], /too many arguments/],
  ] as const) {
    it(`rejects ${args.join(' ')} with one line on stderr and exit code 2`, () => {
      const r = run(process.execPath, [GENERATOR, ...args, '--out', join(dir, 'never.yaml')]);
      assert.equal(r.status, 2, output(r));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }
});

// Exporter-like /metrics for k0s#5369 as one exporter serves it; `fixed` is the view after `kubectl delete etcdmember c1`.
function k0s5369Metrics(fixed: boolean): string {
  const lines = [
    'k0s_etcdmember_source_up{source="etcd"} 1',
    'k0s_etcdmember_source_up{source="kubernetes"} 1',
    'k0s_etcdmember_crd_present 1',
    'k0s_etcdmember_members{source="etcd"} 3',
    `k0s_etcdmember_members{source="kubernetes"} ${fixed ? 3 : 4}`,
    `k0s_etcdmember_duplicates ${fixed ? 0 : 1}`,
    `k0s_etcdmember_hostname_drift ${fixed ? 0 : 1}`,
    'k0s_etcdmember_local_name_drift 0',
  ];
  if (!fixed) {
    lines.push('k0s_etcdmember_object_problem{name="c1",member_id="8e9e05c52164694d",problem="duplicate"} 1');
    lines.push('k0s_etcdmember_object_problem{name="c1",member_id="8e9e05c52164694d",problem="hostname_drift"} 1');
  }
  return `${lines.join('\n')}\n`;
}

describe('Prometheus and Alertmanager harness with the real rules', () => {
  let dir = '';
  let fixed = false;
  const exporters: Server[] = [];
  let webhook: WebhookReceiver | undefined;
  let alertmanager: AlertmanagerTestServer | undefined;
  let prometheus: PrometheusTestServer | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'alerts-live-'));
    // Three controllers' exporters, each reporting the same cluster-wide view.
    for (let i = 0; i < 3; i++) {
      const srv = createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(k0s5369Metrics(fixed));
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      exporters.push(srv);
    }
    webhook = await WebhookReceiver.start();
    alertmanager = await AlertmanagerTestServer.start({ webhookUrl: webhook.url });
    const rules = join(dir, 'rules.yml');
    // The real expressions and annotations, with `for` shortened so the test takes seconds. ExporterDown keeps a
    // minute: absent(up) holds until the first scrape, ~5 s after start.
    writeRuleFileWithFor(RULES_PATH, rules, { '*': '0s', K0sEtcdMemberExporterDown: '1m' });
    prometheus = await PrometheusTestServer.start({
      scrapeTargets: exporters.map((s) => {
        const a = s.address();
        return `127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
      }),
      ruleFiles: [rules],
      alertmanagerUrl: alertmanager.url,
      extraLabels: { cluster: 'demo' },
    });
  });

  after(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await webhook?.close();
    for (const s of exporters) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes all three exporters and answers instant queries', async () => {
    await prometheus!.waitForTargetsUp(20_000);
    const up = await prometheus!.query('sum(up{job="k0s-etcdmember-exporter"})');
    assert.equal(up[0]?.value?.[1], '3');
    const problems = await prometheus!.query('k0s_etcdmember_object_problem{problem="duplicate"}');
    assert.equal(problems.length, 3);
    assert.ok(problems.every((p) => p.metric.cluster === 'demo' && p.metric.name === 'c1'));
    await assert.rejects(prometheus!.query('sum(('), /bad_data|parse error/);
  });

  it('fires K0sEtcdMemberDuplicate once for c1, delivered to the webhook, and resolves after c1 is deleted', async () => {
    const isDup = (a: { labels: Record<string, string> }): boolean => a.labels['alertname'] === 'K0sEtcdMemberDuplicate';
    const firing = await webhook!.waitFor((n) => n.status === 'firing' && n.alerts.some(isDup), 30_000);
    const alert = firing.alerts.find(isDup);
    assert.ok(alert, JSON.stringify(firing));
    assert.equal(alert.labels.name, 'c1');
    assert.equal(alert.labels.member_id, '8e9e05c52164694d');
    assert.equal(alert.labels.cluster, 'demo');
    assert.equal(alert.labels.severity, 'warning');
    assert.equal(alert.labels.instance, undefined, 'a cluster-wide alert must not carry one exporter\'s instance');
    assert.match(alert.annotations['description'] ?? '', /`kubectl delete etcdmember c1`/);
    assert.equal(alert.annotations.runbook_url, `${RUNBOOK_BASE}#k0setcdmemberduplicate`);

    const active = (await prometheus!.alerts()).filter(isDup);
    assert.equal(active.length, 1, `three exporters, one duplicate, one alert: ${JSON.stringify(active)}`);
    assert.ok(!(await prometheus!.alerts()).some((a) => a.labels.alertname === 'K0sEtcdMemberHostnameDrift'));

    fixed = true;
    const resolved = await webhook!.waitFor((n) => n.status === 'resolved' && n.alerts.some(isDup), 30_000);
    assert.equal(resolved.alerts.find(isDup)?.labels.name, 'c1');
    const dupNotifications = webhook!.notifications.filter((n) => n.alerts.some(isDup));
    assert.ok(dupNotifications.every((n) => n.alerts.filter(isDup).length === 1), JSON.stringify(dupNotifications));
  });
});

function mkdirAndCopy(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, readFileSync(src, 'utf8'));
}
