// The exporter's metrics, in three parts that src/exposition.ts renders each only when its content changed: the
// report's gauge families once per report (each computed from the report as it is rendered, so a figure whose
// source is down, or a deleted object's series, is gone from the next scrape; src/gauge-families.ts keeps the
// lines that did not change), the source health families when a source's health or error count changed, and the
// process and Node.js metrics at most once a second. prom-client formats all of it.
// Nothing here touches etcd or the API, so any number of scrapers cost nothing extra.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { Exposition } from './exposition.js';
import { GaugeFamilies, type GaugeFamily, type Series } from './gauge-families.js';
import { MEMBER_PROBLEMS, OBJECT_PROBLEMS, type Report } from './analysis.js';
import { EVENTS_ERROR_REASONS } from './events/api.js';
import type { EventsStatus } from './events/status.js';
import { ERROR_REASONS, type Source, type SourceHealth } from './sources/source.js';

/** Prometheus scrapes every 15 to 60 s: process figures a second old tell it the same, at a fraction of the cost. */
const PROCESS_METRICS_MAX_AGE_MS = 1000;
const FROM_LAST_REFRESH = 'Value from the last refresh; absent while a source it needs is down.';

/**
 * What the metrics read: the exporter gives both. A source's health() object is replaced, never changed, when
 * the health changes, and its error counts only grow (as SourceStatus keeps them): /metrics relies on both to
 * tell at little cost whether the source families must be rendered again.
 */
export interface MetricsInput {
  report(): Report;
  readonly sources: readonly Pick<Source<unknown>, 'name' | 'health' | 'errorCounts'>[];
  /** Absent when Events are off (--events.enabled=false): no events families then. */
  readonly events?: Pick<EventsStatus, 'leading' | 'errorCounts' | 'writeCounts'>;
}

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly nodejsVersion: string;
}

/** The report's gauge families, in the order they are rendered: each computes its series from the report. */
export function reportFamilies(): GaugeFamily<Report>[] {
  const families: GaugeFamily<Report>[] = [];
  const family = (name: string, help: string, series: (r: Report) => Series[]): void => {
    families.push({ name, help: `${help}. ${FROM_LAST_REFRESH}`, series });
  };
  // An unlabelled figure is absent, not 0, while a source it needs is down.
  const figure = (name: string, help: string, value: (r: Report) => number | undefined): void => {
    family(name, help, (r) => {
      const v = value(r);
      return v === undefined ? [] : [{ labels: {}, value: v }];
    });
  };

  family('k0s_etcdmember_members', 'Members in etcd\'s member list (source="etcd") and EtcdMember objects (source="kubernetes")', (r) => [
    ...(r.etcdMembers === undefined ? [] : [{ labels: { source: 'etcd' }, value: r.etcdMembers }]),
    ...(r.kubernetesMembers === undefined ? [] : [{ labels: { source: 'kubernetes' }, value: r.kubernetesMembers }]),
  ]);
  figure('k0s_etcdmember_duplicates', 'Surplus EtcdMember objects: per shared member ID, objects minus one, summed', (r) => r.duplicates);
  figure('k0s_etcdmember_hostname_drift', "EtcdMember objects whose name differs from their etcd member's lowercased name", (r) => r.hostnameDrift);
  figure('k0s_etcdmember_orphaned_objects', 'EtcdMember objects whose member ID etcd does not know, except those with spec.leave true (counted as left)', (r) => r.orphanedObjects);
  figure('k0s_etcdmember_left_objects', 'EtcdMember objects with spec.leave true whose member etcd no longer lists: a completed leave, the object left to delete', (r) => r.leftObjects);
  figure('k0s_etcdmember_unregistered_members', 'Started etcd members that no EtcdMember object claims', (r) => r.unregisteredMembers);
  figure('k0s_etcdmember_peer_address_mismatches', "EtcdMember objects whose status.peerAddress differs from their member's first peer URL", (r) => r.peerAddressMismatches);
  figure('k0s_etcdmember_learners', "Learners in etcd's member list", (r) => r.learners);
  figure('k0s_etcdmember_unstarted_members', "Members in etcd's member list that were added but never started", (r) => r.unstartedMembers);
  figure('k0s_etcdmember_local_name_drift', "1 when the name this controller registers at its next k0s start (k0s.yaml's spec.storage.etcd.extraArgs.name, else the hostname; --node.member-name wins) differs from its etcd member's name (a duplicate EtcdMember in waiting), else 0; absent while that name cannot be told", (r) =>
    r.local?.nameDrift === undefined ? undefined : Number(r.local.nameDrift),
  );
  figure('k0s_etcdmember_local_peer_address_drift', "1 when the peer address k0s gives etcd at its next start on this controller (k0s.yaml's spec.storage.etcd.peerAddress, else k0s's interface rule) differs from the host of its member's peer URL in etcd, else 0; absent while either is unknown", (r) =>
    r.local?.peerAddressDrift === undefined ? undefined : Number(r.local.peerAddressDrift),
  );
  family('k0s_etcdmember_k0s_info', "1; the k0s version the findings are judged by: --k0s.version, else the API server's /version gitVersion (v1.31.3+k0s.0), read again at every watch restart; absent while unknown (then the findings hold for every k0s version)", (r) =>
    r.k0sVersion === undefined ? [] : [{ labels: { version: r.k0sVersion }, value: 1 }],
  );
  family(
    'k0s_etcdmember_local_peer_address_on_host',
    "1 when etcd on this controller can listen on the peer address k0s gives it at its next start (peer_address: k0s.yaml's spec.storage.etcd.peerAddress, else k0s's interface rule), an address of this host; 0 when it cannot (not on any interface here, a host name, or empty): etcd then exits at start and k0s restarts it in a loop (k0s#7876). Needs no etcd. Absent while it cannot be told (k0s.yaml unreadable, no etcd here, the address or the interfaces unknown)",
    (r) => (r.localPeerAddressOnHost === undefined || r.localPredictedPeerAddress === undefined ? [] : [{ labels: { peer_address: r.localPredictedPeerAddress }, value: Number(r.localPeerAddressOnHost) }]),
  );
  figure('k0s_etcdmember_crd_present', '1 when the EtcdMember CRD is installed, 0 when the API does not know it (kine or external etcd)', (r) =>
    r.crdPresent === undefined ? undefined : Number(r.crdPresent),
  );

  family('k0s_etcdmember_object_problem', `1 for each finding on an EtcdMember object; problem is one of ${OBJECT_PROBLEMS.join(', ')}`, (r) =>
    r.objectFindings.map((f) => ({ labels: { name: f.name, member_id: f.memberId, problem: f.problem }, value: 1 })),
  );
  family('k0s_etcdmember_member_problem', `1 for each finding on an etcd member; problem is one of ${MEMBER_PROBLEMS.join(', ')}`, (r) =>
    r.memberFindings.map((f) => ({ labels: { name: f.name, member_id: f.memberId, problem: f.problem }, value: 1 })),
  );
  family('k0s_etcdmember_member_info', '1 for each etcd member (source="etcd", name as etcd has it) and each EtcdMember object (source="kubernetes")', (r) => [
    ...r.etcdMemberInfo.map((m) => ({ labels: { source: 'etcd', name: m.name, member_id: m.memberId, peer_address: m.peerAddress }, value: 1 })),
    ...r.objectInfo.map((m) => ({ labels: { source: 'kubernetes', name: m.name, member_id: m.memberId, peer_address: m.peerAddress }, value: 1 })),
  ]);
  family('k0s_etcdmember_local_member_info', `1; the etcd member behind the first endpoint (this controller's own), the name this host registers at its next k0s start and the peer address k0s gives etcd then ("" when not predicted)`, (r) =>
    r.local === undefined
      ? []
      : [{ labels: { member_name: r.local.memberName, member_id: r.local.memberId, registration_name: r.local.registrationName, predicted_peer_address: r.local.predictedPeerAddress ?? '' }, value: 1 }],
  );
  return families;
}

export function createMetrics(input: MetricsInput, build: BuildInfo): Exposition {
  // Source health, error counts, build info.
  const live = new Registry();
  const processMetrics = new Registry();
  collectDefaultMetrics({ register: processMetrics });

  const perSource = (name: string, help: string, value: (h: SourceHealth) => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['source'] as const,
      registers: [live],
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
    registers: [live],
    // Every reason is rendered, 0 until it happens, so rate() and increase() work from the first failure on.
    collect() {
      this.reset();
      for (const source of input.sources) {
        const counts = source.errorCounts();
        for (const reason of ERROR_REASONS) this.inc({ source: source.name, reason }, counts.get(reason) ?? 0);
      }
    },
  });

  const events = input.events;
  if (events !== undefined) {
    new Gauge({
      name: 'k0s_etcdmember_events_leader',
      help: '1 while this exporter holds the Lease and so is the one that writes Events on the EtcdMember objects, else 0',
      registers: [live],
      collect() {
        this.set(Number(events.leading()));
      },
    });
    new Counter({
      name: 'k0s_etcdmember_events_errors_total',
      help: `Failed API calls for Events and their Lease by reason (${EVENTS_ERROR_REASONS.join(', ')}); conflict is another exporter writing the Lease first`,
      labelNames: ['reason'] as const,
      registers: [live],
      collect() {
        this.reset();
        for (const reason of EVENTS_ERROR_REASONS) this.inc({ reason }, events.errorCounts().get(reason) ?? 0);
      },
    });
    new Counter({
      name: 'k0s_etcdmember_events_writes_total',
      help: 'Events written by this exporter: verb="create" for a new Event, verb="patch" for a lasting finding\'s series (count, last observed time)',
      labelNames: ['verb'] as const,
      registers: [live],
      collect() {
        this.reset();
        for (const [verb, n] of events.writeCounts()) this.inc({ verb }, n);
      },
    });
  }

  new Gauge({
    name: 'k0s_etcdmember_build_info',
    help: 'Always 1; labels say which build of the exporter runs',
    labelNames: ['version', 'revision', 'nodejs_version'] as const,
    registers: [live],
  }).set({ version: build.version, revision: build.revision, nodejs_version: build.nodejsVersion }, 1);

  // The time of the process metrics' last render, moved on once that is a second old.
  let processRenderedAt = -Infinity;
  const processKey = (): number => {
    const now = Date.now();
    if (now - processRenderedAt >= PROCESS_METRICS_MAX_AGE_MS) processRenderedAt = now;
    return processRenderedAt;
  };
  // Everything derived from the report: computed from it as it is rendered, each series' line kept between renders.
  const report = new GaugeFamilies(reportFamilies());
  return new Exposition(live.contentType, [
    // Every analysis makes a new report, most of them equal to the last (every etcd read makes one). Rendering
    // one with kept lines costs less than comparing it with the last (1.6 against 1.9 ms for 1,000 objects), and
    // an unchanged text keeps the last body and its gzip (src/exposition.ts).
    { render: () => report.render(input.report()), key: () => input.report() },
    // Everything the live families read, compared at every scrape without building anything: a health object is
    // never changed, only replaced, and error counts only grow, so their sum moves whenever one of them does.
    // (Serialising it all at every scrape took a tenth of the exporter's CPU under wrk.)
    { render: () => live.metrics(), key: () => liveKey(input), equal: sameItems },
    { render: () => processMetrics.metrics(), key: processKey },
  ]);
}

/** Each source's health object and error total, in turn; then the Events' leadership and totals. */
function liveKey(input: MetricsInput): unknown[] {
  const key: unknown[] = [];
  if (input.events !== undefined) {
    let n = 0;
    for (const v of input.events.errorCounts().values()) n += v;
    for (const v of input.events.writeCounts().values()) n += v;
    key.push(input.events.leading(), n);
  }
  for (const source of input.sources) {
    let errors = 0;
    for (const n of source.errorCounts().values()) errors += n;
    key.push(source.health(), errors);
  }
  return key;
}

function sameItems(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
