// The alert rules end to end with the real exporter: a real 3-member etcd with mTLS and the Kubernetes API test
// server in the k0s#5369 state, one exporter per controller (as deployed), a real Prometheus loading
// alerts/k0s-etcdmember.rules.yml and a real Alertmanager delivering to a webhook in this test. An on-call person
// gets K0sEtcdMemberDuplicate for the stale object c1 exactly once, with a runbook link and the fix in the
// description, and the resolution once c1 is deleted; nothing says a source is down.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { EtcdTestCluster } from '../testbed/etcd-cluster.js';
import { ExporterProcess, findSample } from '../testbed/exporter-process.js';
import type { KubeApiTestServer } from '../testbed/kube-api-server.js';
import { startK0s5369Scene } from '../testbed/k0s5369.js';
import { AlertmanagerTestServer, PrometheusTestServer, WebhookReceiver, writeRuleFileWithFor, type NotifiedAlert, type WebhookNotification } from '../testbed/prometheus.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RULES_PATH = join(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml');
const RUNBOOK_PATH = join(REPO_ROOT, 'docs', 'runbook.md');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const RUNBOOK_BASE = `https://github.com/k0s-etcdmember-exporter/k0s-etcdmember-exporter/blob/v${VERSION}/docs/runbook.md`;

const DUP = 'K0sEtcdMemberDuplicate';
const SOURCE_DOWN = 'K0sEtcdMemberSourceDown';
const alertsIn = (n: WebhookNotification): NotifiedAlert[] => n.alerts;
const isDup = (a: { labels: Record<string, string> }): boolean => a.labels['alertname'] === DUP;

describe('alert rules end to end: real etcd, API server, exporters, Prometheus and Alertmanager', { timeout: 90_000 }, () => {
  let dir: string | undefined;
  let etcd: EtcdTestCluster | undefined;
  let api: KubeApiTestServer | undefined;
  const exporters: ExporterProcess[] = [];
  let webhook: WebhookReceiver | undefined;
  let alertmanager: AlertmanagerTestServer | undefined;
  let prometheus: PrometheusTestServer | undefined;
  let deletedAt = 0;

  const diagnostics = (): string =>
    `\nprometheus:\n${prometheus?.logs(20) ?? ''}\nalertmanager:\n${alertmanager?.logs(20) ?? ''}\nexporter 0:\n${exporters[0]?.logs.slice(-10).join('\n') ?? ''}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'alerts-e2e-'));
    ({ etcd, api } = await startK0s5369Scene());
    webhook = await WebhookReceiver.start();

    // One exporter per controller, each talking to its local etcd member under its own name, so the
    // "once per cluster" aggregation of the rules is exercised with three real, identical views.
    const started = await Promise.allSettled(
      etcd.members.map((m, i) =>
        ExporterProcess.start({
          etcdEndpoints: [etcd!.endpoints[i]!],
          caFile: etcd!.caFile,
          certFile: etcd!.certFile,
          keyFile: etcd!.keyFile,
          kubeconfig: api!.kubeconfigPath,
          memberName: m.name,
          interval: '1s',
        }),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') exporters.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    // Prometheus starts only once every exporter has read both sources: until its first read the exporter reports
    // source_up 0, which with SourceDown's `for` at 0s would page (see the report on that startup window).
    await Promise.all(
      exporters.map((x) =>
        x.waitFor('both sources up and the duplicate seen', (s) =>
          findSample(s, 'k0s_etcdmember_source_up', { source: 'etcd' })?.value === 1 &&
          findSample(s, 'k0s_etcdmember_source_up', { source: 'kubernetes' })?.value === 1 &&
          findSample(s, 'k0s_etcdmember_duplicates')?.value === 1, 15_000),
      ),
    );

    alertmanager = await AlertmanagerTestServer.start({ webhookUrl: webhook.url });
    const rules = join(dir, 'rules.yml');
    // The real expressions and annotations with `for` at 0s, so a notification arrives within seconds instead of
    // 15 min, and so a single scrape with source_up 0 would fire SourceDown (the quiet check below can fail).
    // ExporterDown keeps 1m: absent(up{job=...}) is true until Prometheus's first scrape, and at 0s it would fire
    // on every start.
    writeRuleFileWithFor(RULES_PATH, rules, { '*': '0s', K0sEtcdMemberExporterDown: '1m' });
    prometheus = await PrometheusTestServer.start({
      scrapeTargets: exporters.map((x) => x.target),
      ruleFiles: [rules],
      alertmanagerUrl: alertmanager.url,
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
  }, { timeout: 60_000 });

  after(async () => {
    // Every step runs even when an earlier one throws: no child may outlive the test.
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => prometheus?.stop(),
      () => alertmanager?.stop(),
      () => webhook?.close(),
      () => Promise.all(exporters.map((x) => x.stop())),
      () => etcd?.stop(),
      () => api?.close(),
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  });

  it('delivers K0sEtcdMemberDuplicate for c1 once, firing, with member 0\'s ID, the runbook link and the fix', { timeout: 40_000 }, async () => {
    await prometheus!.waitForTargetsUp(15_000);
    const firing = await webhook!.waitFor((n) => n.status === 'firing' && alertsIn(n).some(isDup), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}${diagnostics()}`);
    });
    const alert = alertsIn(firing).find(isDup);
    assert.ok(alert, JSON.stringify(firing));
    assert.equal(alert.status, 'firing');
    assert.equal(alert.labels.name, 'c1');
    assert.equal(alert.labels.member_id, etcd!.members[0]!.idHex);
    assert.equal(alert.labels.severity, 'warning');
    assert.equal(alert.labels.instance, undefined, 'one alert per cluster, not per exporter');
    assert.equal(alert.annotations.runbook_url, `${RUNBOOK_BASE}#k0setcdmemberduplicate`);
    assert.ok(
      readFileSync(RUNBOOK_PATH, 'utf8').split('\n').some((l) => l.trim() === `## ${DUP}`),
      'the runbook_url anchor is a heading in docs/runbook.md',
    );
    const description = alert.annotations['description'] ?? '';
    assert.match(description, /`kubectl delete etcdmember c1`/);
    assert.ok(description.includes(etcd!.members[0]!.idHex), description);

    // Three exporters each report c1 (and c1.example.org shares its ID): still one alert, for c1 only.
    const active = (await prometheus!.alerts()).filter(isDup);
    assert.equal(active.length, 1, JSON.stringify(active));
    assert.equal(active[0]?.labels.name, 'c1');
    assert.equal(active[0]?.state, 'firing');
    const delivered = webhook!.notifications.flatMap(alertsIn).filter(isDup);
    assert.deepEqual([...new Set(delivered.map((a) => a.labels.name))], ['c1'], JSON.stringify(delivered));
    // c1 also has hostname_drift; the rules report it as the duplicate only.
    assert.ok(!webhook!.notifications.flatMap(alertsIn).some((a) => a.labels.alertname === 'K0sEtcdMemberHostnameDrift'));
  });

  it('delivers the resolution after kubectl delete etcdmember c1', { timeout: 40_000 }, async () => {
    deletedAt = Date.now();
    api!.delete('c1');
    const resolvedN = await webhook!.waitFor(
      (n) => alertsIn(n).some((a) => isDup(a) && a.status === 'resolved' && a.labels.name === 'c1'),
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}${diagnostics()}`);
    });
    const alert = alertsIn(resolvedN).find(isDup);
    assert.ok(alert, JSON.stringify(resolvedN));
    assert.equal(alert.labels.member_id, etcd!.members[0]!.idHex);
    assert.ok(Date.parse(alert.endsAt) >= deletedAt - 1000, `endsAt ${alert.endsAt} is after the delete`);
    assert.equal((await prometheus!.alerts()).filter(isDup).length, 0);
    const delivered = webhook!.notifications.flatMap(alertsIn).filter(isDup);
    assert.ok(delivered.every((a) => a.labels.name === 'c1'), JSON.stringify(delivered));
  });

  it('never fired K0sEtcdMemberSourceDown', { timeout: 15_000 }, async () => {
    // This Prometheus is fresh, so 10m covers its whole life.
    const window = '10m';
    // Evidence that the quiet check looked at something: every exporter's sources were scraped the whole time.
    const minUp = await prometheus!.query(`min_over_time(k0s_etcdmember_source_up[${window}])`);
    // Each exporter has three sources: etcd, kubernetes and its k0s config file.
    assert.equal(minUp.length, exporters.length * 3, JSON.stringify(minUp));
    for (const s of minUp) assert.equal(s.value?.[1], '1', `source ${s.metric.source} on ${s.metric.instance} was down`);
    const fired = await prometheus!.query(`count_over_time(ALERTS{alertname="${SOURCE_DOWN}"}[${window}])`);
    assert.deepEqual(fired, [], JSON.stringify(fired));
    assert.ok(!webhook!.notifications.flatMap(alertsIn).some((a) => a.labels.alertname === SOURCE_DOWN));
  });
});
