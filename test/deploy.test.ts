// The deployment files, checked as the cluster, systemd and Prometheus would read them: the manifests parse and
// agree with each other, RBAC grants exactly what the exporter needs, every flag they pass is one the exporter
// accepts, and the external validators (promtool, systemd-analyze) accept the files when they are installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { V1Role, V1RoleBinding, V1ClusterRole, V1ClusterRoleBinding, V1ConfigMap, V1Container, V1CustomResourceDefinition, V1DaemonSet, V1LabelSelector, V1Namespace, V1ObjectMeta, V1PodSpec, V1Secret, V1Service, V1ServiceAccount } from '@kubernetes/client-node';
import { CRD_PATH } from '../testbed/paths.js';
import { findTool, requireTool, skipOrFail } from '../testbed/tools.js';
import { parseWebConfig, type WebConfig } from '../src/web/config.js';
import { OPEN_PATHS } from '../src/web/serve.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KUBE_DIR = join(ROOT, 'deploy/kubernetes');
const NAMESPACE = 'k0s-etcdmember-exporter';
const NAME = 'k0s-etcdmember-exporter';
const PRUNE_RBAC = 'prune-rbac.yaml';
const JOB = 'k0s-etcdmember-exporter';
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface ConfigModule {
  DEFAULT_PORT: number;
  K0S_PKI: { caFile: string; certFile: string; keyFile: string };
  buildCommand(version: string): { options: readonly { long?: string }[] };
  envName(flag: string): string;
  parseConfig(argv: readonly string[], version: string, out?: (s: string) => void): {
    etcdEndpoints: readonly string[];
    etcdCaFile: string | undefined;
    etcdCertFile: string | undefined;
    etcdKeyFile: string | undefined;
    kubeconfig: string | undefined;
    intervalMs: number;
    listenHost: string | undefined;
    listenPort: number;
    systemdSocket: boolean;
  };
}
const config = (await import(join(ROOT, 'dist/src/config.js'))) as ConfigModule;
const k0sConfigSource = (await import(join(ROOT, 'dist/src/sources/k0s-config.js'))) as { K0S_CONFIG_DEFAULT: string };
const k0sConfigParser = (await import(join(ROOT, 'dist/src/k0s/config.js'))) as { parseK0sConfig(text: string, file: string): unknown; K0S_DEFAULTS: unknown };
const KNOWN_FLAGS = new Set(config.buildCommand(PKG.version).options.map((o) => o.long).filter((l): l is string => l !== undefined));

// The manifests typed as the API server reads them (@kubernetes/client-node's models); kinds it has no model for
// are typed here with the fields this test reads. Typing asserts nothing: the tests below assert every value.
interface ServiceMonitor {
  apiVersion: string;
  kind: 'ServiceMonitor';
  metadata?: V1ObjectMeta;
  spec?: {
    jobLabel?: string;
    selector?: V1LabelSelector;
    endpoints?: {
      port?: string;
      path?: string;
      relabelings?: unknown[];
      scheme?: string;
      tlsConfig?: { ca?: { secret?: { name?: string; key?: string } }; serverName?: string; insecureSkipVerify?: boolean };
      basicAuth?: { username?: { name?: string; key?: string }; password?: { name?: string; key?: string } };
    }[];
  };
}
interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization';
  metadata?: V1ObjectMeta;
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  secretGenerator?: { name: string; namespace?: string; files?: string[]; options?: { disableNameSuffixHash?: boolean } }[];
}
interface Kinds {
  Namespace: V1Namespace;
  ServiceAccount: V1ServiceAccount;
  ClusterRole: V1ClusterRole;
  ClusterRoleBinding: V1ClusterRoleBinding;
  Role: V1Role;
  RoleBinding: V1RoleBinding;
  DaemonSet: V1DaemonSet;
  Service: V1Service;
  ServiceMonitor: ServiceMonitor;
  ConfigMap: V1ConfigMap;
  Kustomization: Kustomization;
}
type Kind = keyof Kinds;
type AnyManifest = Kinds[Kind];

interface Manifest {
  readonly file: string;
  readonly obj: AnyManifest;
}

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  // prune-rbac.yaml is applied on its own, not with the exporter (its own test below).
  for (const file of readdirSync(KUBE_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== PRUNE_RBAC).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(KUBE_DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors.map(String), [], `${file} does not parse`);
      const obj = doc.toJS() as AnyManifest | null;
      if (obj !== null) out.push({ file, obj });
    }
  }
  return out;
}

const manifests = loadManifests();
const WEB_SECRET = 'k0s-etcdmember-exporter-web';
const TLS_SECRET = 'k0s-etcdmember-exporter-tls';

/**
 * An example web config as the exporter reads it, with a real hash in place of the placeholder (which the
 * exporter refuses, naming the key: nobody runs it without a password by accident).
 */
function exampleWebConfig(file: string, mountedAt: string): WebConfig {
  const text = readFileSync(file, 'utf8');
  assert.throws(() => parseWebConfig(text, mountedAt), /^WebConfigError: basic_auth_users\.prometheus: is not a bcrypt hash/);
  return parseWebConfig(text.replace(/REPLACE-WITH-BCRYPT-HASH-FROM-htpasswd/g, () => "'$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'"), mountedAt);
}

function one<K extends Kind>(kind: K): Kinds[K] {
  const found = manifests.filter((m) => m.obj.kind === kind);
  assert.equal(found.length, 1, `want exactly one ${kind}, found ${found.length}`);
  return found[0]!.obj as Kinds[K];
}

/** The DaemonSet's pod spec and its one container. */
function podOf(ds: V1DaemonSet): { pod: V1PodSpec; c: V1Container } {
  const pod = ds.spec?.template.spec;
  assert.ok(pod, 'the DaemonSet has a pod template');
  assert.equal(pod.containers.length, 1);
  return { pod, c: pod.containers[0]! };
}

/** Flags as --name=value pairs; a flag given twice is a mistake in a manifest. */
function flagMap(args: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const a of args) {
    const m = /^(--[\w.-]+)=(.*)$/.exec(a);
    assert.ok(m, `argument ${a} is not --flag=value`);
    assert.ok(KNOWN_FLAGS.has(m[1]!), `${m[1]} is not a flag of the exporter (known: ${[...KNOWN_FLAGS].join(', ')})`);
    assert.ok(!map.has(m[1]!), `${m[1]} given twice`);
    map.set(m[1]!, m[2]!);
  }
  return map;
}

const EXPECTED_KINDS: Record<Kind, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  DaemonSet: 'apps/v1',
  Service: 'v1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
  ConfigMap: 'v1',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
};
const isKind = (k: string | undefined): k is Kind => k !== undefined && Object.hasOwn(EXPECTED_KINDS, k);

describe('Kubernetes manifests', () => {
  test('every document is a known kind with its current apiVersion, named consistently', () => {
    assert.ok(manifests.length >= 8, `only ${manifests.length} documents under deploy/kubernetes`);
    for (const { file, obj } of manifests) {
      const kind = obj.kind;
      assert.ok(isKind(kind), `${file}: unexpected kind ${kind}`);
      assert.equal(obj.apiVersion, EXPECTED_KINDS[kind], `${file}: ${kind} apiVersion`);
      if (kind === 'Kustomization' || kind === 'ConfigMap') continue;
      assert.equal(obj.metadata?.name, NAME, `${file}: ${kind} name`);
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(kind);
      // The Events' Role and RoleBinding live where the Events do.
      const inDefault = kind === 'Role' || kind === 'RoleBinding';
      assert.equal(obj.metadata?.namespace, clusterScoped ? undefined : inDefault ? 'default' : NAMESPACE, `${file}: ${kind} namespace`);
    }
  });

  test('the namespace admits the hostNetwork and hostPath pod', () => {
    const ns = one('Namespace');
    assert.equal(ns.metadata?.name, NAMESPACE);
    assert.equal(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  });

  test('the kustomization lists every manifest but the Grafana ConfigMap, and sets the image and the Secret\'s namespace', () => {
    const k = one('Kustomization');
    // A kustomization namespace would move the Events' Role out of "default", where the API server keeps Events
    // about cluster-scoped objects.
    assert.equal(k.namespace, undefined);
    assert.deepEqual(k.secretGenerator?.map((g) => g.namespace), [NAMESPACE]);
    const expected = readdirSync(KUBE_DIR)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && f !== 'grafana-dashboard-configmap.yaml' && f !== PRUNE_RBAC)
      .sort();
    assert.deepEqual([...(k.resources ?? [])].sort(), expected);
    const image = (podOf(one('DaemonSet')).c.image ?? '').split(':');
    assert.deepEqual(k.images, [{ name: image[0], newName: image[0], newTag: PKG.version }]);
  });

  test('RBAC: get/list/watch on etcdmembers and get on their CRD, nothing else', () => {
    const role = one('ClusterRole');
    const crd = parse(readFileSync(CRD_PATH, 'utf8')) as V1CustomResourceDefinition;
    assert.deepEqual(role.rules, [
      { apiGroups: [crd.spec.group], resources: [crd.spec.names.plural], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: [crd.metadata?.name], verbs: ['get'] },
    ]);
    assert.equal(crd.spec.scope, 'Cluster', 'EtcdMember is cluster-scoped, hence a ClusterRole');
    const binding = one('ClusterRoleBinding');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name });
    const sa = one('ServiceAccount');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata?.name, namespace: sa.metadata?.namespace }]);
  });

  test('RBAC for Events: in "default", create and patch on events.k8s.io events, the one Lease (get, update) and creating it, nothing more', () => {
    const role = one('Role');
    assert.equal(role.metadata?.namespace, 'default');
    assert.deepEqual(role.rules, [
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['k0s-etcdmember-exporter'], verbs: ['get', 'update'] },
    ]);
    const binding = one('RoleBinding');
    assert.equal(binding.metadata?.namespace, 'default');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name });
    const sa = one('ServiceAccount');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata?.name, namespace: sa.metadata?.namespace }]);
    // The defaults the Role is written for.
    const cfg = config.parseConfig(['--etcd.endpoints=http://127.0.0.1:2379'], PKG.version) as unknown as { events: { namespace: string; leaseName: string; enabled: boolean } };
    assert.deepEqual([cfg.events.enabled, cfg.events.namespace, cfg.events.leaseName], [true, 'default', 'k0s-etcdmember-exporter']);
  });

  test('prune RBAC: its own ClusterRole with get/list/delete on etcdmembers only, bound to its own ServiceAccount; the exporter\'s role has no write verb', () => {
    const docs = parseAllDocuments(readFileSync(join(KUBE_DIR, PRUNE_RBAC), 'utf8')).map((d) => d.toJS() as { kind?: string });
    const byKind = <T,>(kind: string): T => {
      const found = docs.filter((d) => d.kind === kind);
      assert.equal(found.length, 1, `${PRUNE_RBAC}: want one ${kind}`);
      return found[0] as T;
    };
    const crd = parse(readFileSync(CRD_PATH, 'utf8')) as V1CustomResourceDefinition;
    const role = byKind<V1ClusterRole>('ClusterRole');
    assert.notEqual(role.metadata?.name, one('ClusterRole').metadata?.name, 'a role of its own');
    assert.deepEqual(role.rules, [{ apiGroups: [crd.spec.group], resources: [crd.spec.names.plural], verbs: ['get', 'list', 'delete'] }]);
    const sa = byKind<V1ServiceAccount>('ServiceAccount');
    assert.equal(sa.metadata?.namespace, NAMESPACE);
    const binding = byKind<V1ClusterRoleBinding>('ClusterRoleBinding');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata?.name, namespace: NAMESPACE }]);
    assert.equal(docs.length, 3);
    const exporterVerbs = (one('ClusterRole').rules ?? []).flatMap((r) => r.verbs);
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection', '*']) assert.ok(!exporterVerbs.includes(verb), `exporter role has ${verb}`);
  });

  test('DaemonSet: controller nodes only, host network, the ServiceAccount, the k0s credentials read-only', () => {
    const ds = one('DaemonSet');
    const { pod, c } = podOf(ds);
    const matchLabels = ds.spec?.selector.matchLabels ?? {};
    assert.ok(Object.keys(matchLabels).length > 0, 'the selector matches on labels');
    assert.deepEqual(matchLabels, Object.fromEntries(Object.entries(ds.spec?.template.metadata?.labels ?? {}).filter(([k]) => k in matchLabels)));
    assert.equal(pod.serviceAccountName, one('ServiceAccount').metadata?.name);
    assert.equal(pod.hostNetwork, true, "k0s's etcd listens on the host's loopback");
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.equal(pod.nodeSelector?.['node-role.kubernetes.io/control-plane'], 'true');
    const tolerated = (pod.tolerations ?? []).filter((t) => t.effect === 'NoSchedule' && t.operator === 'Exists').map((t) => t.key);
    for (const key of ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane']) assert.ok(tolerated.includes(key), `no toleration for ${key}`);

    assert.equal(c.image, `registry.example.com/k0s-etcdmember-exporter:${PKG.version}`, 'the image tag follows package.json');
    const sc = c.securityContext;
    assert.ok(sc, 'the container has a securityContext');
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, 'no capability: the key is read as its owner, not via CAP_DAC_OVERRIDE');
    assert.notEqual(sc.privileged, true);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');

    // Every mount read-only: the k0s config directory where the exporter looks by default, and exactly the
    // three k0s credential files, each a hostPath of type File, not the pki directory.
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    const mounts = c.volumeMounts ?? [];
    for (const m of mounts) assert.equal(m.readOnly, true, `volumeMount ${m.name} is writable`);
    const k0sDir = dirname(k0sConfigSource.K0S_CONFIG_DEFAULT);
    const configMounts = mounts.filter((m) => m.mountPath === k0sDir);
    assert.equal(configMounts.length, 1, `${k0sDir} is mounted, so the default --k0s.config-file finds k0s.yaml`);
    assert.deepEqual(volumes.get(configMounts[0]!.name)?.hostPath, { path: k0sDir, type: 'DirectoryOrCreate' },
      "the host's directory, not the file: a file mount would pin the k0s.yaml the pod started with");
    const hostFileAt = new Map<string, string>();
    const secretAt = new Map<string, string>();
    for (const m of mounts.filter((m) => m !== configMounts[0])) {
      const v = volumes.get(m.name);
      assert.ok(v, `volumeMount ${m.name} has no volume`);
      if (v.secret !== undefined) {
        // The web config and its certificate: whole directories (no subPath), so Secret edits reach the pod.
        assert.equal(m.subPath, undefined, `volumeMount ${m.name} uses subPath: kubelet would never update it`);
        secretAt.set(m.mountPath, v.secret.secretName ?? '');
        continue;
      }
      assert.equal(v.hostPath?.type, 'File', `volume ${m.name} must be a single host file`);
      hostFileAt.set(m.mountPath, v.hostPath.path);
    }
    assert.deepEqual([...secretAt.values()].sort(), [WEB_SECRET, TLS_SECRET].sort());
    assert.deepEqual([...hostFileAt.values()].sort(), [config.K0S_PKI.caFile, config.K0S_PKI.certFile, config.K0S_PKI.keyFile].sort());
    assert.equal(volumes.size, mounts.length, 'no unused volumes');

    const flags = flagMap(c.args ?? []);
    assert.equal(hostFileAt.get(flags.get('--etcd.ca-file')!), config.K0S_PKI.caFile, '--etcd.ca-file points at the mounted etcd CA');
    assert.equal(hostFileAt.get(flags.get('--etcd.cert-file')!), config.K0S_PKI.certFile, '--etcd.cert-file points at the mounted client certificate');
    assert.equal(hostFileAt.get(flags.get('--etcd.key-file')!), config.K0S_PKI.keyFile, '--etcd.key-file points at the mounted client key');
    assert.ok(!flags.has('--kubeconfig'), 'in the pod the exporter uses its ServiceAccount');
    assert.ok(!flags.has('--node.member-name'), 'the member name comes from k0s.yaml, else the host name (shared UTS namespace)');
    assert.ok(!flags.has('--k0s.config-file'), 'the default path is mounted');

    const port = (c.ports ?? []).find((p) => p.name === 'metrics');
    assert.ok(port, 'the container has a port named metrics');
    assert.equal(port.containerPort, config.DEFAULT_PORT);
    assert.equal(flags.get('--web.listen-address'), `:${port.containerPort}`);
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'metrics', scheme: 'HTTPS' });
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics', scheme: 'HTTPS' });
    assert.ok(OPEN_PATHS.includes('/healthz') && OPEN_PATHS.includes('/readyz'), 'the probes send no password');

    // --web.config.file is the file the kustomization puts into the mounted web Secret.
    const webFlag = flags.get('--web.config.file') ?? '';
    assert.equal(secretAt.get(dirname(webFlag)), WEB_SECRET, '--web.config.file points into the mounted web Secret');
    const generator = (one('Kustomization').secretGenerator ?? []).find((g) => g.name === WEB_SECRET);
    assert.ok(generator, `the kustomization generates ${WEB_SECRET}`);
    assert.deepEqual(generator.files, [`web/${basename(webFlag)}`]);
    assert.equal(generator.options?.disableNameSuffixHash, true, 'a fixed name, so edits reach running pods instead of rolling them');
    // The example's certificate and key are in the TLS Secret's mount, under the names a kubernetes.io/tls Secret has.
    const web = exampleWebConfig(join(KUBE_DIR, generator.files?.[0] ?? ''), webFlag);
    assert.equal(secretAt.get(dirname(web.tls!.certFile)), TLS_SECRET);
    assert.deepEqual([basename(web.tls!.certFile), basename(web.tls!.keyFile)], ['tls.crt', 'tls.key']);
    const resources = c.resources;
    assert.ok(resources?.requests?.['cpu'] && resources.requests['memory'] && resources.limits?.['memory'], 'requests and a memory limit');
  });

  test('the DaemonSet arguments are accepted by the exporter', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-ds-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { c } = podOf(one('DaemonSet'));
    // The mount paths exist only in the pod: point them at readable stand-ins.
    const args = (c.args ?? []).map((a) =>
      a.replace(/=(\/etc\/.*)$/, (_all, path: string) => {
        const local = join(dir, path.replace(/\//g, '_'));
        writeFileSync(local, 'stand-in\n');
        return `=${local}`;
      }),
    );
    const cfg = config.parseConfig(args, PKG.version);
    assert.deepEqual(cfg.etcdEndpoints, ['https://127.0.0.1:2379']);
    assert.equal(cfg.listenPort, config.DEFAULT_PORT);
    assert.equal(cfg.listenHost, undefined, 'listens on every address so Prometheus can reach the node IP');
  });

  test('Service and ServiceMonitor select the pods and name the same port', () => {
    const ds = one('DaemonSet');
    const podLabels = ds.spec?.template.metadata?.labels ?? {};
    const svc = one('Service');
    assert.equal(svc.spec?.clusterIP, 'None', 'headless: one target per pod');
    for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) assert.equal(podLabels[k], v, `Service selector ${k} does not match the pods`);
    const containerPort = (podOf(ds).c.ports ?? []).find((p) => p.name === 'metrics');
    assert.ok(containerPort, 'the container has a port named metrics');
    assert.deepEqual(svc.spec?.ports, [{ name: 'metrics', port: containerPort.containerPort, targetPort: 'metrics', protocol: 'TCP' }]);

    const sm = one('ServiceMonitor');
    const svcLabels = svc.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(sm.spec?.selector?.matchLabels ?? {})) assert.equal(svcLabels[k], v, `ServiceMonitor selector ${k} does not match the Service`);
    assert.equal(sm.metadata?.namespace, svc.metadata?.namespace, 'without a namespaceSelector the ServiceMonitor looks in its own namespace');
    assert.equal(svcLabels[sm.spec?.jobLabel ?? ''], JOB, 'jobLabel names a Service label whose value is the job name');
    const endpoints = sm.spec?.endpoints ?? [];
    assert.equal(endpoints.length, 1);
    assert.equal(endpoints[0]!.port, svc.spec?.ports?.[0]?.name);
    assert.equal(endpoints[0]!.path, '/metrics');
    assert.deepEqual(endpoints[0]!.relabelings, [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'instance', action: 'replace' }]);
    // Scraped as the web config serves: TLS verified against one name, basic auth from one Secret.
    const e = endpoints[0]!;
    assert.equal(e.scheme, 'https');
    assert.ok(e.tlsConfig?.ca?.secret?.name, 'a CA to verify the exporter with');
    assert.ok(e.tlsConfig.serverName, "node IPs are dialled: verify against the certificate's name");
    assert.notEqual(e.tlsConfig.insecureSkipVerify, true);
    assert.ok(e.basicAuth?.username?.name && e.basicAuth.password?.name, 'basic auth from a Secret');
  });
});

/** The fields of Prometheus' scrape_config this test reads; promtool checks the whole file. */
interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets?: string[]; labels?: Record<string, string> }[];
  relabel_configs?: { source_labels?: string[]; target_label?: string; regex?: string; replacement?: string }[];
  scheme?: string;
  tls_config?: { ca_file?: string; insecure_skip_verify?: boolean };
  basic_auth?: { username?: string; password_file?: string };
}

describe('Prometheus scrape configuration', () => {
  const file = join(ROOT, 'deploy/prometheus/scrape-config.yml');
  const cfg = parse(readFileSync(file, 'utf8')) as { scrape_configs?: ScrapeConfig[] };
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-prom-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one job with the default job name, controller targets on port 9979 and a cluster label', () => {
    const jobs = cfg.scrape_configs ?? [];
    assert.equal(jobs.length, 1);
    const job = jobs[0]!;
    assert.equal(job.job_name, JOB);
    const statics = job.static_configs ?? [];
    assert.ok(statics.length > 0);
    for (const s of statics) {
      const targets = s.targets ?? [];
      assert.ok(targets.length >= 1);
      for (const t of targets) assert.match(t, new RegExp(`:${config.DEFAULT_PORT}$`));
      assert.ok(s.labels?.['cluster'], 'an example cluster label');
    }
  });

  test('scrapes over verified TLS with basic auth, as the systemd web config serves', () => {
    const job = cfg.scrape_configs?.[0];
    assert.ok(job);
    assert.equal(job.scheme, 'https');
    assert.ok(job.tls_config?.ca_file, 'a CA to verify the exporters with');
    assert.notEqual(job.tls_config.insecure_skip_verify, true);
    assert.equal(job.basic_auth?.username, 'prometheus', 'the user the example web config defines');
    assert.ok(job.basic_auth.password_file, 'the password from a file, not in prometheus.yml');
    const web = exampleWebConfig(join(ROOT, 'deploy/systemd/web-config.yml'), '/run/credentials/x/web-config.yml');
    assert.deepEqual([...web.users.keys()], [job.basic_auth.username]);
  });

  test('instance becomes the host name without the port, as the ServiceMonitor makes it the node name', () => {
    const r = (cfg.scrape_configs?.[0]?.relabel_configs ?? []).find((x) => x.target_label === 'instance');
    assert.ok(r);
    assert.deepEqual(r.source_labels, ['__address__']);
    assert.ok(r.regex !== undefined && r.replacement !== undefined, 'instance is rewritten by a regex and a replacement');
    // Prometheus anchors relabel regexes; RE2 and JavaScript agree on this one.
    const m = new RegExp(`^(?:${r.regex})$`).exec('c1.example.org:9979');
    assert.ok(m);
    assert.equal(r.replacement.replace('$1', m[1]!), 'c1.example.org');
  });

  test('promtool accepts a Prometheus configuration embedding it', (t) => {
    const promtool = requireTool(t, 'promtool', 'apt-get install prometheus');
    if (promtool === undefined) return;
    const full = join(dir, 'prometheus.yml');
    writeFileSync(
      full,
      stringify({
        global: { scrape_interval: '15s', evaluation_interval: '15s', external_labels: { replica: 'a' } },
        scrape_configs: [{ job_name: 'prometheus', static_configs: [{ targets: ['127.0.0.1:9090'] }] }, ...(cfg.scrape_configs ?? [])],
      }),
    );
    const r = spawnSync(promtool, ['check', 'config', full], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `promtool check config failed:\n${r.stdout}${r.stderr}`);
    const alone = spawnSync(promtool, ['check', 'config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(alone.status, 0, `promtool rejects the file itself:\n${alone.stdout}${alone.stderr}`);
  });
});

/** [Section] key=value lines, continuation lines joined; repeated keys keep every value in order. */
function parseUnit(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let section = '';
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending + raw.trim();
    pending = '';
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1) + ' ';
      continue;
    }
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      sections.set(section, []);
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    assert.ok(kv && section !== '', `unit line not understood: ${line}`);
    sections.get(section)!.push([kv[1]!, kv[2]!.trim()]);
  }
  return sections;
}

describe('systemd unit', () => {
  const unitFile = join(ROOT, 'deploy/systemd/k0s-etcdmember-exporter.service');
  const envFile = join(ROOT, 'deploy/systemd/k0s-etcdmember-exporter.env');
  const unit = parseUnit(readFileSync(unitFile, 'utf8'));
  const service = unit.get('Service') ?? [];
  const values = (key: string): string[] => service.filter(([k]) => k === key).map(([, v]) => v);
  const value = (key: string): string | undefined => values(key).at(-1);
  const execStart = (value('ExecStart') ?? '').split(/\s+/);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-systemd-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a transient user gets copies of the k0s credentials instead of running as root', () => {
    assert.equal(value('DynamicUser'), 'yes');
    assert.equal(value('User'), undefined, 'DynamicUser picks the user');
    const creds = new Map(values('LoadCredential').map((v) => v.split(':') as [string, string]));
    const flags = flagMap(execStart.slice(1));
    const credFor = (flag: string): string | undefined => {
      const m = /^%d\/(.+)$/.exec(flags.get(flag) ?? '');
      assert.ok(m, `${flag} must point into the credentials directory (%d), got ${flags.get(flag)}`);
      return creds.get(m[1]!);
    };
    assert.equal(credFor('--etcd.ca-file'), config.K0S_PKI.caFile);
    assert.equal(credFor('--etcd.cert-file'), config.K0S_PKI.certFile);
    assert.equal(credFor('--etcd.key-file'), config.K0S_PKI.keyFile);
    assert.equal(credFor('--kubeconfig'), '/etc/k0s-etcdmember-exporter/kubeconfig');
    assert.equal(credFor('--web.config.file'), '/etc/k0s-etcdmember-exporter/web-config.yml');
    // The web config's certificate and key, named relative to it, are credentials too.
    const web = exampleWebConfig(join(ROOT, 'deploy/systemd/web-config.yml'), '/run/credentials/x/web-config.yml');
    for (const f of [web.tls!.certFile, web.tls!.keyFile]) {
      assert.equal(dirname(f), '/run/credentials/x', `${f} is not in the credentials directory`);
      assert.ok(creds.has(basename(f)), `no LoadCredential= for ${basename(f)}`);
    }
    assert.equal(credFor('--k0s.config-file'), k0sConfigSource.K0S_CONFIG_DEFAULT);
    assert.equal(execStart[0], '/usr/local/bin/k0s-etcdmember-exporter', 'the single executable, where install.sh puts it');
  });

  test("reads this host's k0s.yaml, k0s's defaults without one, and restarts when it or a credential changes", () => {
    // SetCredential= is systemd's fallback when LoadCredential= finds no file: it must mean k0s's defaults.
    const fallback = values('SetCredential').map((v) => /^k0s\.yaml:(.*)$/.exec(v)).find((m) => m !== null);
    assert.ok(fallback, 'SetCredential=k0s.yaml:... as the fallback for a host without /etc/k0s/k0s.yaml');
    assert.deepEqual(k0sConfigParser.parseK0sConfig(fallback[1]!, 'fallback'), k0sConfigParser.K0S_DEFAULTS);
    const path = parseUnit(readFileSync(join(ROOT, 'deploy/systemd/k0s-etcdmember-exporter-restart.path'), 'utf8'));
    const pathKeys = (k: string): string[] => (path.get('Path') ?? []).filter(([key]) => key === k).map(([, v]) => v);
    // k0s renewing its certificates, an edit of k0s.yaml, a new password hash: each restarts the exporter.
    const sources = values('LoadCredential').map((v) => v.slice(v.indexOf(':') + 1));
    assert.ok(sources.includes(k0sConfigSource.K0S_CONFIG_DEFAULT) && sources.includes(config.K0S_PKI.keyFile));
    assert.deepEqual(pathKeys('PathChanged').sort(), sources.sort());
    assert.deepEqual(pathKeys('Unit'), ['k0s-etcdmember-exporter-restart.service']);
    assert.ok(path.get('Install')?.some(([k]) => k === 'WantedBy'), 'enable-able');
    const restart = parseUnit(readFileSync(join(ROOT, 'deploy/systemd/k0s-etcdmember-exporter-restart.service'), 'utf8'));
    const exec = restart.get('Service')?.find(([k]) => k === 'ExecStart')?.[1] ?? '';
    assert.match(exec, /^\/\S*systemctl try-restart k0s-etcdmember-exporter\.service$/, 'restarts the exporter only if it runs');
  });

  test('is hardened', () => {
    const want: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX AF_NETLINK',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      RestrictNamespaces: 'yes',
      LockPersonality: 'yes',
      UMask: '0077',
    };
    for (const [k, v] of Object.entries(want)) assert.equal(value(k), v, `${k}=${v}`);
    assert.match(value('MemoryMax') ?? '', /^\d+[KMG]$/, 'a memory ceiling');
    assert.notEqual(value('MemoryDenyWriteExecute'), 'yes', "V8's JIT needs writable+executable pages: node would crash");
    assert.equal(value('Restart'), 'on-failure');
    assert.equal(unit.get('Unit')?.find(([k]) => k === 'StartLimitIntervalSec')?.[1], '0', 'keeps retrying until k0s has written its PKI');
  });

  test('the example environment file sets only real exporter variables', () => {
    const byEnv = new Map([...KNOWN_FLAGS].map((f) => [config.envName(f), f]));
    const vars = readFileSync(envFile, 'utf8')
      .split('\n')
      .map((l) => l.replace(/^#(?=K0S_)/, '').trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(vars.length >= 5);
    for (const l of vars) {
      const m = /^(\w+)=(.*)$/.exec(l);
      assert.ok(m, `not VAR=value: ${l}`);
      assert.ok(byEnv.has(m[1]!), `${m[1]} is not an exporter variable`);
    }
    assert.equal(value('EnvironmentFile'), '-/etc/k0s-etcdmember-exporter/exporter.env');
  });

  test('ExecStart with the example environment file is a valid exporter configuration', () => {
    for (const name of ['etcd-ca.crt', 'etcd-client.crt', 'etcd-client.key', 'kubeconfig', 'web-config.yml']) writeFileSync(join(dir, name), 'stand-in\n');
    const args = execStart.slice(1).map((a) => a.replace('%d', dir));
    const env = readFileSync(envFile, 'utf8')
      .split('\n')
      .map((l) => /^(K0S_ETCDMEMBER_EXPORTER_\w+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null);
    const saved = new Map(env.map((m) => [m[1]!, process.env[m[1]!]]));
    try {
      for (const m of env) process.env[m[1]!] = m[2]!;
      const cfg = config.parseConfig(args, PKG.version);
      assert.equal(cfg.etcdCaFile, join(dir, 'etcd-ca.crt'));
      assert.equal(cfg.etcdKeyFile, join(dir, 'etcd-client.key'));
      assert.equal(cfg.kubeconfig, join(dir, 'kubeconfig'));
      assert.equal((cfg as unknown as { k0sConfigFile: string }).k0sConfigFile, join(dir, 'k0s.yaml'));
      assert.deepEqual(cfg.etcdEndpoints, ['https://127.0.0.1:2379']);
      assert.equal(cfg.listenPort, config.DEFAULT_PORT);
      assert.equal(cfg.intervalMs, 15_000);
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('systemd-analyze verifies it without a warning and rates its exposure low', (t) => {
    const analyze = requireTool(t, 'systemd-analyze', 'apt-get install systemd');
    if (analyze === undefined) return;
    // verify insists that ExecStart's binary exists; the executable is not installed here (the release test,
    // single-executable.test.ts, verifies the units as install.sh lays them out).
    const copy = join(dir, 'k0s-etcdmember-exporter.service');
    writeFileSync(copy, readFileSync(unitFile, 'utf8').replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
    const companions = ['k0s-etcdmember-exporter-restart.path', 'k0s-etcdmember-exporter-restart.service'].map((f) => {
      const text = readFileSync(join(ROOT, 'deploy/systemd', f), 'utf8');
      const systemctl = ['/usr/bin/systemctl', '/bin/systemctl'].find((p) => existsSync(p)) ?? '/usr/bin/systemctl';
      writeFileSync(join(dir, f), text.replace('/usr/bin/systemctl', systemctl));
      return join(dir, f);
    });
    const r = spawnSync(analyze, ['verify', '--man=no', copy, ...companions], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.stdout}${r.stderr}`);
    // Unknown or misspelt keys are only warnings, exit status 0: treat any line about the unit as a failure.
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('k0s-etcdmember-exporter'));
    assert.deepEqual(complaints, []);
    const sec = spawnSync(analyze, ['security', '--offline=yes', '--no-pager', copy], { encoding: 'utf8', timeout: 30_000 });
    if (/unrecognized option|unknown option/i.test(sec.stderr)) {
      skipOrFail(t, 'this systemd-analyze has no security --offline (systemd < 250): exposure not rated');
      return;
    }
    const m = /Overall exposure level for \S+: ([\d.]+)/.exec(`${sec.stdout}${sec.stderr}`);
    assert.ok(m, `no exposure level in:\n${sec.stdout}${sec.stderr}`);
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} (want <= 2.0)`);
  });
});

describe('systemd socket activation (deploy/systemd/k0s-etcdmember-exporter.socket and its drop-in)', () => {
  const systemdDir = join(ROOT, 'deploy/systemd');
  const socketFile = join(systemdDir, 'k0s-etcdmember-exporter.socket');
  const dropInFile = join(systemdDir, 'k0s-etcdmember-exporter.service.d/socket-activation.conf');
  const socket = parseUnit(readFileSync(socketFile, 'utf8'));
  const dropIn = parseUnit(readFileSync(dropInFile, 'utf8'));
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-socket-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the socket listens on the exporter\'s default port, one service for every connection', () => {
    assert.deepEqual(socket.get('Socket')?.filter(([k]) => k === 'ListenStream').map(([, v]) => v), [String(config.DEFAULT_PORT)]);
    assert.equal(socket.get('Socket')?.find(([k]) => k === 'Accept')?.[1], 'no', 'Accept=yes would start one exporter per connection');
    assert.deepEqual(socket.get('Install'), [['WantedBy', 'sockets.target']]);
  });

  test('the drop-in turns --web.systemd-socket on through its variable and ties the service to the socket', () => {
    assert.deepEqual(dropIn.get('Unit'), [['Requires', 'k0s-etcdmember-exporter.socket'], ['After', 'k0s-etcdmember-exporter.socket']]);
    const env = dropIn.get('Service')?.filter(([k]) => k === 'Environment').map(([, v]) => v) ?? [];
    assert.deepEqual(env, [`${config.envName('--web.systemd-socket')}=true`]);
    assert.ok(KNOWN_FLAGS.has('--web.systemd-socket'));
    // With the unit's ExecStart flags and the example environment file (which sets a listen address, unused
    // then): a valid configuration that serves systemd's sockets.
    for (const name of ['etcd-ca.crt', 'etcd-client.crt', 'etcd-client.key', 'kubeconfig', 'web-config.yml']) writeFileSync(join(dir, name), 'stand-in\n');
    const unit = parseUnit(readFileSync(join(systemdDir, 'k0s-etcdmember-exporter.service'), 'utf8'));
    const args = (unit.get('Service')?.find(([k]) => k === 'ExecStart')?.[1] ?? '').split(/\s+/).slice(1).map((a) => a.replace('%d', dir));
    const vars = [...readFileSync(join(systemdDir, 'k0s-etcdmember-exporter.env'), 'utf8').matchAll(/^(K0S_ETCDMEMBER_EXPORTER_\w+)=(.*)$/gm), ...env.map((e) => /^(\w+)=(.*)$/.exec(e)!)];
    const saved = new Map(vars.map((m) => [m[1]!, process.env[m[1]!]]));
    try {
      for (const m of vars) process.env[m[1]!] = m[2]!;
      assert.equal(config.parseConfig(args, PKG.version).systemdSocket, true);
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('systemd-analyze verifies the socket, the service and its drop-in without a warning (and does catch a misspelt key)', () => {
    // Not skipped when missing: .ci/run installs it (scripts/setup.mjs), and a check that did not run must not pass.
    const analyze = findTool('/usr/bin/systemd-analyze');
    assert.ok(analyze, '/usr/bin/systemd-analyze is missing: apt-get install systemd (scripts/setup.mjs installs it)');
    const units = join(dir, 'units');
    mkdirSync(join(units, 'k0s-etcdmember-exporter.service.d'), { recursive: true });
    // verify insists that ExecStart's binary exists; the executable is not installed here.
    writeFileSync(join(units, 'k0s-etcdmember-exporter.service'), readFileSync(join(systemdDir, 'k0s-etcdmember-exporter.service'), 'utf8').replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
    writeFileSync(join(units, 'k0s-etcdmember-exporter.socket'), readFileSync(socketFile, 'utf8'));
    writeFileSync(join(units, 'k0s-etcdmember-exporter.service.d/socket-activation.conf'), readFileSync(dropInFile, 'utf8'));
    const verify = (): string => {
      // The unit path holds the drop-in directory, so verify loads the drop-in with the service.
      const r = spawnSync(analyze, ['verify', '--man=no', join(units, 'k0s-etcdmember-exporter.socket'), join(units, 'k0s-etcdmember-exporter.service')], {
        encoding: 'utf8', timeout: 30_000, env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` },
      });
      const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('k0s-etcdmember-exporter'));
      return `${r.status}\n${complaints.join('\n')}`;
    };
    assert.equal(verify(), '0\n');
    // The same check sees a mistake in the drop-in, so its silence above means something.
    writeFileSync(join(units, 'k0s-etcdmember-exporter.service.d/socket-activation.conf'), readFileSync(dropInFile, 'utf8').replace(/^Environment=/m, 'Enviroment='));
    assert.match(verify(), /socket-activation\.conf:\d+: Unknown key '?Enviroment'?/);
    writeFileSync(join(units, 'k0s-etcdmember-exporter.service.d/socket-activation.conf'), readFileSync(dropInFile, 'utf8'));
    writeFileSync(join(units, 'k0s-etcdmember-exporter.socket'), readFileSync(socketFile, 'utf8').replace(/^ListenStream=/m, 'ListenStrem='));
    assert.notEqual(verify(), '0\n');
  });
});

describe('docs/deploy.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');

  test('quotes the RBAC rules as they are in rbac.yaml', () => {
    const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('rules:'));
    assert.ok(block, 'the RBAC rules are shown');
    const shown = parse(block.split('\n').map((l) => l.replace(/^ {2}/, '')).join('\n')) as { rules?: unknown };
    assert.deepEqual(shown.rules, one('ClusterRole').rules);
    const events = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('events.k8s.io'));
    assert.ok(events, 'the Events rules are shown');
    assert.deepEqual((parse(events.split('\n').map((l) => l.replace(/^ {2}/, '')).join('\n')) as { rules?: unknown }).rules, one('Role').rules);
  });

  test('the token Secret it shows belongs to the ServiceAccount the ClusterRoleBinding names', () => {
    const heredoc = /<<'EOF'\n([\s\S]*?)\nEOF/.exec(doc);
    assert.ok(heredoc, 'the token Secret is shown');
    const secret = parse(heredoc[1]!) as V1Secret;
    const subject = one('ClusterRoleBinding').subjects?.[0];
    assert.ok(subject, 'the ClusterRoleBinding has a subject');
    assert.equal(secret.type, 'kubernetes.io/service-account-token');
    assert.equal(secret.metadata?.namespace, subject.namespace);
    assert.equal(secret.metadata?.annotations?.['kubernetes.io/service-account.name'], subject.name);
    assert.ok(doc.includes(`-n ${subject.namespace} create token ${subject.name} --duration=`));
  });

  test('names the files it tells people to install', () => {
    for (const path of doc.matchAll(/\b(deploy\/[\w./-]+\.(?:ya?ml|service|path|env))\b/g)) assert.ok(existsSync(join(ROOT, path[1]!)), `${path[1]} does not exist`);
    assert.ok(doc.includes('/etc/k0s-etcdmember-exporter/kubeconfig'), 'the kubeconfig path the unit loads');
    assert.ok(doc.includes('/etc/k0s-etcdmember-exporter/exporter.env'), 'the env file path the unit reads');
    assert.ok(doc.includes(k0sConfigSource.K0S_CONFIG_DEFAULT), "the host's k0s config, which both ways of running read");
    assert.ok(doc.includes('enable --now k0s-etcdmember-exporter.service k0s-etcdmember-exporter-restart.path'), 'the path unit is enabled with the service');
  });
});
