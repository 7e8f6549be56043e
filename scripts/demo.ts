// The live demo: a real 3-member etcd on loopback, the Kubernetes API test server holding the k0s#5369
// objects, the exporter, Prometheus with alerts/ loaded and Alertmanager. Ctrl-C stops all of it and removes
// every data directory. Started by scripts/demo.mjs after install and build.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { sceneExporterOptions, startK0s5369Scene } from '../testbed/k0s5369.js';
import { AlertmanagerTestServer, PrometheusTestServer, WebhookReceiver, writeRuleFileWithFor } from '../testbed/prometheus.js';

const RULES = fileURLToPath(new URL('../../alerts/k0s-etcdmember.rules.yml', import.meta.url));
const say = (msg: string): void => void process.stdout.write(`demo: ${msg}\n`);

const stops: (() => unknown)[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  say('stopping every process and removing the data directories');
  for (const stop of stops.reverse()) {
    // A stop that throws synchronously is reported like one that rejects.
    await Promise.resolve().then(stop).catch((err: unknown) => say(`while stopping: ${String(err)}`));
  }
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  say('starting a 3-member etcd on 127.0.0.1, .2 and .3 with mTLS as k0s sets it up,');
  say('and the Kubernetes API test server with the k0s#5369 EtcdMember objects');
  const scene = await startK0s5369Scene();
  const { etcd, api } = scene;
  stops.push(() => etcd.stop(), () => api.close());

  // The demo's files: the rules Prometheus loads and the k0s config of the controller this machine stands in
  // for. The exporter and the operator's printed commands read the same k0s.yaml, so they see the same thing.
  const dataDir = mkdtempSync(join(tmpdir(), 'k0s-etcdmember-demo-'));
  stops.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const k0sConfigFile = join(dataDir, 'k0s.yaml');
  // Its etcd member listens for peers on the first etcd address, as the member's peer URL says.
  writeFileSync(k0sConfigFile, `apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  storage:\n    etcd:\n      peerAddress: "${etcd.members[0]!.ip}"\n`);

  say('starting the exporter');
  const exporter = await ExporterProcess.start({ ...sceneExporterOptions(scene), memberName: etcd.members[0]!.name, k0sConfigFile, interval: '5s' });
  stops.push(() => exporter.stop());

  const webhook = await WebhookReceiver.start();
  stops.push(() => webhook.close());
  const alertmanager = await AlertmanagerTestServer.start({ webhookUrl: webhook.url, groupWait: '1s', groupInterval: '5s' });
  stops.push(() => alertmanager.stop());
  // The shipped rules wait 15 to 30 minutes before firing; the demo shortens every `for` to 10 s (a copy of
  // the rule file, otherwise identical) so the whole path to Alertmanager shows within a minute.
  const demoRules = join(dataDir, 'k0s-etcdmember.rules.yml');
  writeRuleFileWithFor(RULES, demoRules, { '*': '10s', K0sEtcdMemberExporterDown: '1m' });
  say('starting Prometheus with alerts/ loaded (every `for` shortened to 10 s for the demo)');
  const prometheus = await PrometheusTestServer.start({
    scrapeTargets: [exporter.target],
    ruleFiles: [demoRules],
    alertmanagerUrl: alertmanager.url,
    scrapeInterval: '5s',
    evaluationInterval: '5s',
  });
  stops.push(() => prometheus.stop());

  say('running:');
  say(`  status page   ${exporter.url}/`);
  say(`  metrics       ${exporter.url}/metrics`);
  say(`  Prometheus    ${prometheus.url}/alerts`);
  say(`  Alertmanager  ${alertmanager.url}`);
  say(`  etcd          ${etcd.endpoints.join(' ')}`);
  say(`  Kubernetes    ${api.url} (kubeconfig ${api.kubeconfigPath})`);
  // The operator's side, typed in another terminal from the repository root: what kubectl shows, what check
  // says and what prune would do. The variables are the exporter's own flags (K0S_ETCDMEMBER_EXPORTER_*).
  const flags = sceneExporterOptions(scene);
  const env: [string, string][] = [
    ['K0S_ETCDMEMBER_EXPORTER_ETCD_ENDPOINTS', flags.etcdEndpoints.join(',')],
    ['K0S_ETCDMEMBER_EXPORTER_ETCD_CA_FILE', flags.caFile ?? ''],
    ['K0S_ETCDMEMBER_EXPORTER_ETCD_CERT_FILE', flags.certFile ?? ''],
    ['K0S_ETCDMEMBER_EXPORTER_ETCD_KEY_FILE', flags.keyFile ?? ''],
    ['K0S_ETCDMEMBER_EXPORTER_KUBECONFIG', api.kubeconfigPath],
    ['K0S_ETCDMEMBER_EXPORTER_K0S_CONFIG_FILE', k0sConfigFile],
    // This machine stands in for the controller whose etcd member is c1.example.org.
    ['K0S_ETCDMEMBER_EXPORTER_NODE_MEMBER_NAME', etcd.members[0]!.name],
  ];
  say('the operator\'s side, in another terminal at the repository root:');
  for (const [k, v] of env) say(`  export ${k}=${v}`);
  say(`  kubectl --kubeconfig ${api.kubeconfigPath} get etcdmember   # c1 and ${etcd.members[0]!.name} share a MEMBER ID`);
  say('  bin/k0s-etcdmember-exporter check           # exits 1: names c1 as the stale duplicate, with the command to delete it');
  say('  bin/k0s-etcdmember-exporter prune           # dry run: what it would delete and why');
  say('  bin/k0s-etcdmember-exporter prune --yes     # deletes c1 (only c1)');
  say('  bin/k0s-etcdmember-exporter check           # exits 0: consistent; the status page agrees and the alert resolves');
  say('waiting for K0sEtcdMemberDuplicate (Ctrl-C stops everything)');

  let lastState = '';
  const seen = new Set<number>();
  const poll = setInterval(() => {
    void (async () => {
      try {
        const alerts = (await prometheus.alerts()) as { labels: Record<string, string>; state: string }[];
        const duplicate = alerts.filter((a) => a.labels['alertname'] === 'K0sEtcdMemberDuplicate');
        const state = duplicate.map((a) => `${a.labels['name'] ?? '?'}=${a.state}`).join(', ') || 'inactive';
        if (state !== lastState) {
          say(`K0sEtcdMemberDuplicate in ${prometheus.url}/alerts: ${state}`);
          lastState = state;
        }
        webhook.notifications.forEach((n: { status?: string; alerts?: { labels?: Record<string, string> }[] }, i: number) => {
          if (seen.has(i)) return;
          seen.add(i);
          const names = (n.alerts ?? []).map((a) => `${a.labels?.['alertname']}(${a.labels?.['name'] ?? ''})`).join(', ');
          say(`Alertmanager notified the webhook: ${n.status ?? '?'} ${names}`);
        });
      } catch (err) {
        say(`could not ask Prometheus: ${String(err)}`);
      }
    })();
  }, 2000);
  stops.push(() => clearInterval(poll));
} catch (err) {
  process.stderr.write(`demo: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  await stopAll(1);
}
