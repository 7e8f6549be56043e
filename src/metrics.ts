// Renders the latest report at scrape time (kube-state-metrics style): every gauge is rebuilt from the report in
// its collect(), so a figure whose source is down, or a deleted object's series, disappears at the next scrape.
// Source health and error counts are read from the sources themselves at scrape time, the same way.
// Nothing here touches etcd or the API, so any number of scrapers cost nothing extra.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { MEMBER_PROBLEMS, OBJECT_PROBLEMS, type Report } from './analysis.js';
import { ERROR_REASONS, type Source, type SourceHealth } from './sources/source.js';

const FROM_LAST_REFRESH = 'Value from the last refresh; absent while a source it needs is down.';

/** What the metrics read: the exporter gives both. */
export interface MetricsInput {
  report(): Report;
  readonly sources: readonly Pick<Source<unknown>, 'name' | 'health' | 'errorCounts'>[];
}

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly nodejsVersion: string;
}

export function createMetrics(input: MetricsInput, build: BuildInfo): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const figure = (name: string, help: string, value: (r: Report) => number | undefined): void => {
    registry.registerMetric(new OptionalGauge(name, `${help}. ${FROM_LAST_REFRESH}`, () => value(input.report())) as unknown as Metric);
  };

  new Gauge({
    name: 'k0s_etcdmember_members',
    help: `Members in etcd's member list (source="etcd") and EtcdMember objects (source="kubernetes"). ${FROM_LAST_REFRESH}`,
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const r = input.report();
      if (r.etcdMembers !== undefined) this.set({ source: 'etcd' }, r.etcdMembers);
      if (r.kubernetesMembers !== undefined) this.set({ source: 'kubernetes' }, r.kubernetesMembers);
    },
  });
  figure('k0s_etcdmember_duplicates', 'Surplus EtcdMember objects: per shared member ID, objects minus one, summed', (r) => r.duplicates);
  figure('k0s_etcdmember_hostname_drift', "EtcdMember objects whose name differs from their etcd member's lowercased name", (r) => r.hostnameDrift);
  figure('k0s_etcdmember_orphaned_objects', 'EtcdMember objects whose member ID etcd does not know, except those with spec.leave true (counted as left)', (r) => r.orphanedObjects);
  figure('k0s_etcdmember_left_objects', 'EtcdMember objects with spec.leave true whose member etcd no longer lists: a completed leave, the object left to delete', (r) => r.leftObjects);
  figure('k0s_etcdmember_unregistered_members', 'Started etcd members that no EtcdMember object claims', (r) => r.unregisteredMembers);
  figure('k0s_etcdmember_peer_address_mismatches', "EtcdMember objects whose status.peerAddress differs from their member's first peer URL", (r) => r.peerAddressMismatches);
  figure('k0s_etcdmember_learners', "Learners in etcd's member list", (r) => r.learners);
  figure('k0s_etcdmember_unstarted_members', "Members in etcd's member list that were added but never started", (r) => r.unstartedMembers);
  figure('k0s_etcdmember_local_name_drift', "1 when the name this controller registers at its next k0s start differs from its etcd member's name (a duplicate EtcdMember in waiting), else 0", (r) =>
    r.local === undefined ? undefined : Number(r.local.nameDrift),
  );
  figure('k0s_etcdmember_crd_present', '1 when the EtcdMember CRD is installed, 0 when the API does not know it (kine or external etcd)', (r) =>
    r.crdPresent === undefined ? undefined : Number(r.crdPresent),
  );

  new Gauge({
    name: 'k0s_etcdmember_object_problem',
    help: `1 for each finding on an EtcdMember object; problem is one of ${OBJECT_PROBLEMS.join(', ')}. ${FROM_LAST_REFRESH}`,
    labelNames: ['name', 'member_id', 'problem'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of input.report().objectFindings) this.set({ name: f.name, member_id: f.memberId, problem: f.problem }, 1);
    },
  });
  new Gauge({
    name: 'k0s_etcdmember_member_problem',
    help: `1 for each finding on an etcd member; problem is one of ${MEMBER_PROBLEMS.join(', ')}. ${FROM_LAST_REFRESH}`,
    labelNames: ['name', 'member_id', 'problem'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of input.report().memberFindings) this.set({ name: f.name, member_id: f.memberId, problem: f.problem }, 1);
    },
  });
  new Gauge({
    name: 'k0s_etcdmember_member_info',
    help: `1 for each etcd member (source="etcd", name as etcd has it) and each EtcdMember object (source="kubernetes"). ${FROM_LAST_REFRESH}`,
    labelNames: ['source', 'name', 'member_id', 'peer_address'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const r = input.report();
      for (const m of r.etcdMemberInfo) this.set({ source: 'etcd', name: m.name, member_id: m.memberId, peer_address: m.peerAddress }, 1);
      for (const m of r.objectInfo) this.set({ source: 'kubernetes', name: m.name, member_id: m.memberId, peer_address: m.peerAddress }, 1);
    },
  });
  new Gauge({
    name: 'k0s_etcdmember_local_member_info',
    help: `1; the etcd member behind the first endpoint (this controller's own) and the name this host registers at its next k0s start. ${FROM_LAST_REFRESH}`,
    labelNames: ['member_name', 'member_id', 'registration_name'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const l = input.report().local;
      if (l) this.set({ member_name: l.memberName, member_id: l.memberId, registration_name: l.registrationName }, 1);
    },
  });

  const perSource = (name: string, help: string, value: (h: SourceHealth) => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['source'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const source of input.sources) {
          const v = value(source.health());
          if (v !== undefined) this.set({ source: source.name }, v);
        }
      },
    });
  };
  // Absent until the first read ends, so a scrape right after start does not record a failure that never was.
  perSource('k0s_etcdmember_source_up', '1 when the last read of the source succeeded, else 0', (h) => (h.attempted ? Number(h.up) : undefined));
  perSource('k0s_etcdmember_source_last_success_timestamp_seconds', 'Unix time of the last successful read of the source (for Kubernetes, while its watch is open: the last event or bookmark of the watch)', (h) =>
    h.lastSuccessMs === undefined ? undefined : h.lastSuccessMs / 1000,
  );
  perSource('k0s_etcdmember_source_duration_seconds', 'How long the last read of the source took', (h) => h.lastDurationSeconds);

  new Counter({
    name: 'k0s_etcdmember_source_errors_total',
    help: `Failed reads of a source by reason (${ERROR_REASONS.join(', ')})`,
    labelNames: ['source', 'reason'] as const,
    registers: [registry],
    // Every reason is rendered, 0 until it happens, so rate() and increase() work from the first failure on.
    collect() {
      this.reset();
      for (const source of input.sources) {
        const counts = source.errorCounts();
        for (const reason of ERROR_REASONS) this.inc({ source: source.name, reason }, counts.get(reason) ?? 0);
      }
    },
  });

  new Gauge({
    name: 'k0s_etcdmember_build_info',
    help: 'Always 1; labels say which build of the exporter runs',
    labelNames: ['version', 'revision', 'nodejs_version'] as const,
    registers: [registry],
  }).set({ version: build.version, revision: build.revision, nodejs_version: build.nodejsVersion }, 1);

  return registry;
}

/**
 * A gauge without labels that can be absent. prom-client's Gauge always renders an unlabelled series (0 after
 * reset), which would turn "source down" into a made-up 0; the registry accepts any object of this shape.
 */
class OptionalGauge {
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly value: () => number | undefined,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: { value: number; labels: object }[] } {
    const v = this.value();
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: v === undefined ? [] : [{ value: v, labels: {} }] };
  }

  reset(): void {}
}
