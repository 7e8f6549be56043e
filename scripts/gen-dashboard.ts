// Generates the Grafana dashboard (grafana/k0s-etcdmember.json) and the sidecar ConfigMap that embeds it
// (deploy/kubernetes/grafana-dashboard-configmap.yaml). Both files are committed; test/dashboard.test.ts fails when
// they differ from what this script produces, so edit this file and rerun:
//   npm run build && node dist/scripts/gen-dashboard.js [--out grafana/k0s-etcdmember.json] [--configmap-out PATH]
// The jsonnet mixin's grafanaDashboards (mixin/) are generated from buildDashboard() by scripts/gen-mixin.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DashboardCursorSync,
  FieldColorModeId,
  MappingType,
  SpecialValueMatch,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DashboardLink,
  type DataSourceRef,
  type DataTransformerConfig,
  type FieldConfig,
  type FieldConfigSource,
  type GridPos,
  type Panel,
  type Threshold,
  type ValueMapping,
  type VariableModel,
} from '@grafana/schema';
import { parse as parseYaml } from 'yaml';
import { MEMBER_PROBLEMS, OBJECT_PROBLEMS, type MemberProblem, type ObjectProblem } from '../src/analysis.js';
import { packageVersion } from '../src/version.js';

export const DASHBOARD_UID = 'k0s-etcdmember';
export const DASHBOARD_TITLE = 'k0s etcd membership';
export const CONFIGMAP_NAME = 'k0s-etcdmember-dashboard';
export const CONFIGMAP_KEY = 'k0s-etcdmember.json';

/** What the mixin's _config can change in the dashboard. */
export interface DashboardConfig {
  /** The label that tells clusters apart (the $cluster variable filters on it). */
  readonly clusterLabel: string;
  /** printf-style URL of a runbook section; %s is the lowercased alert name (GitHub's heading anchor). */
  readonly runbookURLPattern: string;
}

/** The runbook as released with this version: a page must not change under the person on call. */
export const RUNBOOK_URL_PATTERN = `https://github.com/k0s-etcdmember-exporter/k0s-etcdmember-exporter/blob/v${packageVersion()}/docs/runbook.md#%s`;
export const DEFAULT_DASHBOARD_CONFIG: DashboardConfig = { clusterLabel: 'cluster', runbookURLPattern: RUNBOOK_URL_PATTERN };

/** Every panel and target points at the dashboard's datasource variable, never at a fixed uid. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** A Prometheus query; the dashboard schema leaves targets to the datasource plugin. */
export type Target = {
  datasource: DataSourceRef;
  refId: string;
  expr: string;
  legendFormat: string;
  editorMode: 'code';
  format: 'time_series' | 'table';
  instant: boolean;
  range: boolean;
};

/** As Grafana exports a dashboard for sharing: the schema's Dashboard plus the plugins it needs. */
export type ExportedDashboard = Dashboard & { __requires: { type: string; id: string; name: string; version: string }[] };

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_RULES_PATH = resolve(REPO_ROOT, 'alerts', 'k0s-etcdmember.rules.yml');

/** Set by buildDashboard() for the panel builders below. */
let CL = DEFAULT_DASHBOARD_CONFIG.clusterLabel;
let runbookPattern = DEFAULT_DASHBOARD_CONFIG.runbookURLPattern;

export function runbookUrl(alert: string, pattern = runbookPattern): string {
  return pattern.replace('%s', alert.toLowerCase());
}

// `=~` rather than `=`: with All selected the variables expand to `.*`, which also matches series that have no
// cluster label at all (Prometheus without a cluster target label, the common single-cluster case).
const scope = (): string => `${CL}=~"$cluster", instance=~"$instance"`;
const sel = (metric: string, matchers = ''): string => `${metric}{${matchers === '' ? '' : `${matchers}, `}${scope()}}`;
/** A recorded cluster-level series (alerts/k0s-etcdmember.rules.yml): it has no instance to filter on. */
const rec = (series: string, matchers = ''): string => `${series}{${matchers === '' ? '' : `${matchers}, `}${CL}=~"$cluster"}`;
/**
 * Every controller's exporter reports the same cluster-wide view, so cluster-wide figures take the max over
 * instances: a lagging exporter cannot lower a count, and 3 or 5 copies never add up.
 */
const clusterMax = (metric: string, matchers = '', by = ''): string => `max by (${CL}${by === '' ? '' : `, ${by}`}) (${sel(metric, matchers)})`;
/** Copies label `from` to `to`; the caller's `max by` then drops `from`, as PromQL cannot rename in place. */
const renamed = (expr: string, renames: [from: string, to: string][]): string =>
  renames.reduce((e, [from, to]) => `label_replace(${e}, "${to}", "$1", "${from}", "(.*)")`, expr);

const NO_DATA_FIGURE = 'No data: source down or CRD absent';
const OK_GREEN_ABOVE_ZERO_RED: Threshold[] = [
  { color: 'green', value: null },
  { color: 'red', value: 1 },
];
const OK_GREEN_ABOVE_ZERO_YELLOW: Threshold[] = [
  { color: 'green', value: null },
  { color: 'yellow', value: 1 },
];

let nextRefId = 0;
function target(expr: string, legendFormat: string, kind: 'instant' | 'range' | 'table'): Target {
  return {
    datasource: DATASOURCE,
    refId: String.fromCharCode(65 + nextRefId++),
    expr,
    legendFormat,
    editorMode: 'code',
    format: kind === 'table' ? 'table' : 'time_series',
    // Stats read the current value: a figure whose source is down has no series now, and a range query with
    // "last not null" would keep showing the value from before the outage.
    instant: kind !== 'range',
    range: kind === 'range',
  };
}

type PanelType = 'stat' | 'timeseries' | 'table';

interface PanelSpec {
  title: string;
  description: string;
  gridPos: GridPos;
  unit: string;
  targets: (() => Target)[];
  /** Alerts whose runbook sections the panel links to: what to do about what it shows. */
  alerts?: readonly string[];
}

/** A panel link to an alert's runbook section. */
function runbookLink(alert: string): DashboardLink {
  return {
    title: `Runbook: ${alert}`,
    url: runbookUrl(alert),
    type: 'link',
    icon: 'doc',
    tooltip: `What ${alert} means and the safe fix`,
    asDropdown: false,
    includeVars: false,
    keepTime: false,
    tags: [],
    targetBlank: true,
  };
}

/** The alert names of the rule file, in its order: the firing-alerts table links every runbook section. */
export function alertNames(path = DEFAULT_RULES_PATH): string[] {
  const doc = parseYaml(readFileSync(path, 'utf8')) as { groups?: { rules?: { alert?: unknown }[] }[] } | null;
  const names = (doc?.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => r.alert)).filter((a): a is string => typeof a === 'string');
  if (names.length === 0) throw new Error(`${path} has no alerting rules`);
  return names;
}

let nextPanelId = 1;
function panel(type: PanelType, spec: PanelSpec, fieldConfig: Omit<FieldConfig, 'unit'>, options: Record<string, unknown>, extra: { transformations?: DataTransformerConfig[]; overrides?: FieldConfigSource['overrides'] } = {}): Panel {
  nextRefId = 0;
  const p: Panel = {
    id: nextPanelId++,
    type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: spec.gridPos,
    fieldConfig: { defaults: { unit: spec.unit, ...fieldConfig }, overrides: extra.overrides ?? [] },
    options,
    targets: spec.targets.map((t) => t()),
  };
  if (spec.alerts !== undefined && spec.alerts.length > 0) p.links = spec.alerts.map(runbookLink);
  if (extra.transformations) p.transformations = extra.transformations;
  return p;
}

const statOptions = (colorMode: 'background' | 'value' | 'none', textMode = 'auto'): Record<string, unknown> => ({
  reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '' },
  orientation: 'auto',
  textMode,
  colorMode,
  graphMode: 'none',
  justifyMode: 'auto',
});

/** What a finding figure is computed from: etcd and the EtcdMember objects, or etcd's member list alone. */
type Needs = 'etcd and objects' | 'etcd';

function findingStat(title: string, metric: string, description: string, x: number, y: number, alerts: readonly string[], steps = OK_GREEN_ABOVE_ZERO_RED, needs: Needs = 'etcd and objects'): Panel {
  const noData =
    needs === 'etcd'
      ? '"No data" means no exporter of this cluster can read etcd (this figure needs etcd only, not the EtcdMember CRD).'
      : '"No data" means a source this figure needs is down, or the EtcdMember CRD is absent (kine or external etcd), so the figure cannot be computed.';
  return panel(
    'stat',
    {
      title,
      description: `${description} Max over this cluster's exporters (they all report the same cluster-wide view). ${noData}`,
      gridPos: { x, y, w: 4, h: 5 },
      unit: 'none',
      targets: [() => target(clusterMax(metric), `{{${CL}}}`, 'instant')],
      alerts,
    },
    { decimals: 0, noValue: needs === 'etcd' ? 'No data: etcd down for every controller' : NO_DATA_FIGURE, color: { mode: FieldColorModeId.Thresholds }, thresholds: { mode: ThresholdsMode.Absolute, steps } },
    statOptions('background'),
  );
}

const timeseriesOptions = {
  legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
  tooltip: { mode: 'multi', sort: 'none' },
};
const timeseriesCustom = { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never', spanNulls: false, lineInterpolation: 'stepAfter' };
const tableOptions = (sortBy: string): Record<string, unknown> => ({
  showHeader: true,
  cellHeight: 'sm',
  footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
  sortBy: [{ displayName: sortBy, desc: false }],
});
const tableCustom = { align: 'auto', cellOptions: { type: 'auto' }, inspect: false };
const organize = (excludeByName: string[], order: string[], renameByName: Record<string, string>): DataTransformerConfig => ({
  id: 'organize',
  options: {
    excludeByName: Object.fromEntries(excludeByName.map((n) => [n, true])),
    indexByName: Object.fromEntries(order.map((n, i) => [n, i])),
    renameByName,
  },
});

/** Findings shown yellow in the table: expected for a while during planned work, or cleanup. */
const TRANSIENT: ReadonlySet<ObjectProblem | MemberProblem> = new Set(['learner', 'unstarted', 'leave_pending', 'left']);

/**
 * One row per EtcdMember object and problem, with the etcd member that has the object's member ID beside it; then
 * one row per etcd member problem (unregistered, learner, unstarted); then etcd members nothing else listed. The
 * join is done in PromQL because Grafana's field joins collapse rows that share a key, and k0s#5369 is exactly two
 * objects sharing one member ID.
 */
export function membershipTableExpr(): string {
  const objects = `max by (${CL}, member_id, object_name, object_peer_address) (${renamed(sel('k0s_etcdmember_member_info', 'source="kubernetes"'), [['name', 'object_name'], ['peer_address', 'object_peer_address']])})`;
  const members = `max by (${CL}, member_id, etcd_name, etcd_peer_address) (${renamed(sel('k0s_etcdmember_member_info', 'source="etcd"'), [['name', 'etcd_name'], ['peer_address', 'etcd_peer_address']])})`;
  // Findings from the recording rules the alerts read: only exporters that see both sources count, so an exporter
  // blind to etcd (every rolling k0s upgrade) never paints the live object of a duplicate pair.
  const objectProblems = `max by (${CL}, member_id, object_name, problem) (${renamed(rec('cluster:k0s_etcdmember_object_problem:max'), [['name', 'object_name']])})`;
  const memberProblems = `max by (${CL}, member_id, etcd_name, problem) (${renamed(rec('cluster:k0s_etcdmember_member_problem:max'), [['name', 'etcd_name']])})`;
  // Objects with their etcd member where etcd knows the ID, and the orphans without.
  const objectsBeside = `((${objects} * on (${CL}, member_id) group_left (etcd_name, etcd_peer_address) ${members}) or on (${CL}, member_id, object_name) ${objects})`;
  return [
    `(${objectProblems} * on (${CL}, member_id, object_name) group_left (object_peer_address, etcd_name, etcd_peer_address) ${objectsBeside})`,
    `or on (${CL}, member_id, object_name) ${objectProblems}`,
    `or on (${CL}, member_id, object_name) ${objectsBeside}`,
    `or (${memberProblems} * on (${CL}, member_id) group_left (etcd_peer_address) ${members})`,
    `or on (${CL}, member_id) ${members}`,
  ].join('\n');
}

export function localDriftTableExpr(): string {
  return [
    `max by (${CL}, instance) (${sel('k0s_etcdmember_local_name_drift')})`,
    `* on (${CL}, instance) group_left (member_name, member_id, registration_name)`,
    `max by (${CL}, instance, member_name, member_id, registration_name) (${sel('k0s_etcdmember_local_member_info')})`,
  ].join('\n');
}

export const alertsExpr = (): string => `ALERTS{alertname=~"K0sEtcdMember.*", alertstate="firing", ${CL}=~"$cluster"}`;

function panels(): Panel[] {
  nextPanelId = 1;
  const out: Panel[] = [];

  // Row 1: current figures.
  out.push(
    panel(
      'stat',
      {
        title: 'Members per source',
        description:
          "Members in etcd's member list (etcd) and EtcdMember objects (kubernetes), max over this cluster's exporters. The two should be equal; more objects than members usually means a duplicate or an orphaned object. \"No data\" for kubernetes means the API is down or the EtcdMember CRD is absent.",
        gridPos: { x: 0, y: 0, w: 4, h: 5 },
        unit: 'none',
        alerts: ['K0sEtcdMemberMembersLost', 'K0sEtcdMemberCountMismatch'],
        targets: [() => target(clusterMax('k0s_etcdmember_members', '', 'source'), `{{${CL}}} {{source}}`, 'instant')],
      },
      { decimals: 0, noValue: 'No data: exporter not scraped or sources down', color: { mode: FieldColorModeId.Fixed, fixedColor: 'blue' }, thresholds: { mode: ThresholdsMode.Absolute, steps: [{ color: 'blue', value: null }] } },
      statOptions('value', 'value_and_name'),
    ),
  );
  out.push(findingStat('Duplicates', 'k0s_etcdmember_duplicates', 'Surplus EtcdMember objects: per shared member ID, objects minus one (k0s#5369). Which object is stale: the table below, where problem duplicate marks a provably stale object (K0sEtcdMemberDuplicate gives the exact delete command) and ambiguous_duplicate a group a person must compare and decide on (delete nothing before). Never set spec.leave on any of them: they carry a live member\'s ID.', 4, 0, ['K0sEtcdMemberDuplicate', 'K0sEtcdMemberAmbiguousDuplicate']));
  out.push(findingStat('Hostname drift', 'k0s_etcdmember_hostname_drift', "EtcdMember objects whose name differs from their etcd member's lowercased name.", 8, 0, ['K0sEtcdMemberHostnameDrift']));
  out.push(findingStat('Orphaned objects', 'k0s_etcdmember_orphaned_objects', 'EtcdMember objects whose member ID etcd does not know, except objects of completed leaves (spec.leave true: see Left objects).', 12, 0, ['K0sEtcdMemberOrphaned']));
  out.push(findingStat('Unregistered members', 'k0s_etcdmember_unregistered_members', 'Started etcd members that no EtcdMember object claims.', 16, 0, ['K0sEtcdMemberUnregistered', 'K0sEtcdMemberUnregistrable']));
  out.push(findingStat('Peer address mismatches', 'k0s_etcdmember_peer_address_mismatches', "EtcdMember objects whose status.peerAddress differs from the host of their etcd member's first peer URL.", 20, 0, ['K0sEtcdMemberPeerAddressMismatch']));

  // Row 2: quieter figures.
  out.push(findingStat('Learners', 'k0s_etcdmember_learners', "Learners in etcd's member list; expected briefly while a controller joins, a problem when it stays.", 0, 5, [], OK_GREEN_ABOVE_ZERO_YELLOW, 'etcd'));
  out.push(findingStat('Unstarted members', 'k0s_etcdmember_unstarted_members', "Members added to etcd's list that never started; expected briefly while a controller joins; each one raises the quorum size without voting.", 4, 5, ['K0sEtcdMemberUnstarted'], OK_GREEN_ABOVE_ZERO_YELLOW, 'etcd'));
  out.push(
    panel(
      'stat',
      {
        title: 'EtcdMember CRD',
        description:
          'Whether the EtcdMember CRD is installed (max over this cluster\'s exporters). Absent with kine or external etcd: then the figures that need the objects (duplicates, drift, orphaned, unregistered) have no data by design.',
        gridPos: { x: 8, y: 5, w: 4, h: 5 },
        unit: 'none',
        alerts: ['K0sEtcdMemberCRDAbsent'],
        targets: [() => target(clusterMax('k0s_etcdmember_crd_present'), `{{${CL}}}`, 'instant')],
      },
      {
        noValue: 'No data: Kubernetes API down',
        color: { mode: FieldColorModeId.Thresholds },
        thresholds: { mode: ThresholdsMode.Absolute, steps: [{ color: 'yellow', value: null }, { color: 'green', value: 1 }] },
        mappings: [{ type: MappingType.ValueToText, options: { '0': { text: 'absent', color: 'yellow', index: 0 }, '1': { text: 'installed', color: 'green', index: 1 } } }],
      },
      statOptions('background'),
    ),
  );
  out.push(
    panel(
      'stat',
      {
        title: 'Controllers with local name drift',
        description:
          "Controllers whose next k0s start would register a name that does not match their own etcd member's name (a duplicate EtcdMember in waiting). Summed over instances: this figure is per controller, not cluster-wide. Details in the \"Local name drift per controller\" table.",
        gridPos: { x: 12, y: 5, w: 4, h: 5 },
        unit: 'none',
        alerts: ['K0sEtcdMemberLocalNameDrift'],
        targets: [() => target(`sum by (${CL}) (${sel('k0s_etcdmember_local_name_drift')})`, `{{${CL}}}`, 'instant')],
      },
      { decimals: 0, noValue: 'No data: etcd down for every controller', color: { mode: FieldColorModeId.Thresholds }, thresholds: { mode: ThresholdsMode.Absolute, steps: OK_GREEN_ABOVE_ZERO_RED } },
      statOptions('background'),
    ),
  );
  out.push(
    panel(
      'stat',
      {
        title: 'Source up',
        description: "Per exporter and source (etcd, kubernetes, k0s_config: the controller's own k0s.yaml): UP when the last read succeeded. A DOWN source blanks every figure that needs it. The kubernetes source counts as up when the API answers 404 for the EtcdMember CRD; k0s_config counts as up when the controller has no k0s.yaml (k0s's defaults).",
        gridPos: { x: 16, y: 5, w: 8, h: 5 },
        unit: 'none',
        alerts: ['K0sEtcdMemberSourceDown', 'K0sEtcdMemberExporterDown'],
        targets: [() => target(`max by (${CL}, instance, source) (${sel('k0s_etcdmember_source_up')})`, '{{instance}} {{source}}', 'instant')],
      },
      {
        noValue: 'No data: exporter not scraped',
        color: { mode: FieldColorModeId.Thresholds },
        thresholds: { mode: ThresholdsMode.Absolute, steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] },
        mappings: [{ type: MappingType.ValueToText, options: { '0': { text: 'DOWN', color: 'red', index: 0 }, '1': { text: 'UP', color: 'green', index: 1 } } }],
      },
      statOptions('background', 'value_and_name'),
    ),
  );

  // Row 3: fault tolerance and cleanup, from the recording rules the alerts use.
  out.push(
    panel(
      'stat',
      {
        title: 'Fault tolerance',
        description:
          "How many more started etcd members may fail before etcd loses quorum: started voting members minus quorum (floor(members / 2) + 1, where an unstarted member counts toward the members). 0 means the next failure stops the Kubernetes API. From cluster:k0s_etcdmember_fault_tolerance:max; \"No data\" means no exporter can read etcd (which is what a lost quorum looks like) or the recording rules are not loaded.",
        gridPos: { x: 0, y: 10, w: 4, h: 5 },
        unit: 'none',
        alerts: ['K0sEtcdMemberMembersLost', 'K0sEtcdMemberUnstarted'],
        targets: [() => target(`max by (${CL}) (${rec('cluster:k0s_etcdmember_fault_tolerance:max')})`, `{{${CL}}}`, 'instant')],
      },
      {
        decimals: 0,
        noValue: 'No data: etcd unreadable everywhere, or rules not loaded',
        color: { mode: FieldColorModeId.Thresholds },
        thresholds: { mode: ThresholdsMode.Absolute, steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] },
      },
      statOptions('background'),
    ),
  );
  out.push(findingStat('Left objects', 'k0s_etcdmember_left_objects', 'EtcdMember objects with spec.leave true whose member etcd no longer lists: completed leaves whose objects k0s keeps. Cleanup, not an incident: delete each after its replacement joined (K0sEtcdMemberLeft gives the exact command after 6 hours).', 4, 10, ['K0sEtcdMemberLeft'], OK_GREEN_ABOVE_ZERO_YELLOW));
  out.push(
    panel(
      'timeseries',
      {
        title: 'Members, quorum and fault tolerance over time',
        description:
          "Voting members in etcd's list (started or not), the quorum they need and the fault tolerance, from the recording rules K0sEtcdMemberMembersLost reads. A drop in fault tolerance without a planned leave is what pages.",
        gridPos: { x: 8, y: 10, w: 16, h: 5 },
        unit: 'short',
        alerts: ['K0sEtcdMemberMembersLost'],
        targets: [
          () => target(`max by (${CL}) (${rec('cluster:k0s_etcdmember_voting_members:max')})`, `{{${CL}}} members`, 'range'),
          () => target(`max by (${CL}) (${rec('cluster:k0s_etcdmember_quorum:max')})`, `{{${CL}}} quorum`, 'range'),
          () => target(`max by (${CL}) (${rec('cluster:k0s_etcdmember_fault_tolerance:max')})`, `{{${CL}}} fault tolerance`, 'range'),
        ],
      },
      { decimals: 0, color: { mode: FieldColorModeId.PaletteClassic }, custom: timeseriesCustom },
      timeseriesOptions,
    ),
  );

  // Row 4: history.
  out.push(
    panel(
      'timeseries',
      {
        title: 'Members per source over time',
        description: "Members in etcd's list and EtcdMember objects over time, max over this cluster's exporters. Gaps mean the source was down.",
        gridPos: { x: 0, y: 15, w: 12, h: 8 },
        unit: 'short',
        alerts: ['K0sEtcdMemberMembersLost', 'K0sEtcdMemberCountMismatch'],
        targets: [() => target(clusterMax('k0s_etcdmember_members', '', 'source'), `{{${CL}}} {{source}}`, 'range')],
      },
      { decimals: 0, min: 0, color: { mode: FieldColorModeId.PaletteClassic }, custom: timeseriesCustom },
      timeseriesOptions,
    ),
  );
  out.push(
    panel(
      'timeseries',
      {
        title: 'Findings over time',
        description: "Duplicates, hostname drift, orphaned objects, unregistered members and objects of completed leaves over time, max over this cluster's exporters. Gaps mean a source was down or the EtcdMember CRD is absent.",
        gridPos: { x: 12, y: 15, w: 12, h: 8 },
        unit: 'short',
        alerts: ['K0sEtcdMemberDuplicate', 'K0sEtcdMemberHostnameDrift', 'K0sEtcdMemberOrphaned', 'K0sEtcdMemberUnregistered'],
        targets: [
          () => target(clusterMax('k0s_etcdmember_duplicates'), `{{${CL}}} duplicates`, 'range'),
          () => target(clusterMax('k0s_etcdmember_hostname_drift'), `{{${CL}}} hostname drift`, 'range'),
          () => target(clusterMax('k0s_etcdmember_orphaned_objects'), `{{${CL}}} orphaned`, 'range'),
          () => target(clusterMax('k0s_etcdmember_unregistered_members'), `{{${CL}}} unregistered`, 'range'),
          () => target(clusterMax('k0s_etcdmember_left_objects'), `{{${CL}}} left`, 'range'),
        ],
      },
      { decimals: 0, min: 0, color: { mode: FieldColorModeId.PaletteClassic }, custom: timeseriesCustom },
      timeseriesOptions,
    ),
  );

  // Row 5: who is who.
  const problemMappings: ValueMapping[] = [
    { type: MappingType.ValueToText, options: Object.fromEntries([...OBJECT_PROBLEMS, ...MEMBER_PROBLEMS].map((p, i) => [p, { text: p, color: TRANSIENT.has(p) ? 'yellow' : 'red', index: i }])) },
    { type: MappingType.SpecialValue, options: { match: SpecialValueMatch.Empty, result: { text: 'none', color: 'green', index: 100 } } },
    { type: MappingType.SpecialValue, options: { match: SpecialValueMatch.Null, result: { text: 'none', color: 'green', index: 101 } } },
  ];
  out.push(
    panel(
      'table',
      {
        title: 'EtcdMember objects and etcd members by member ID',
        description:
          "EtcdMember objects (left) beside the etcd member with the same member ID (right), one row per object and problem; etcd members no object claims appear with an empty object side. Built from k0s_etcdmember_member_info, k0s_etcdmember_object_problem and k0s_etcdmember_member_problem, joined by member ID in PromQL (instant, table format) so two objects sharing one ID (k0s#5369) stay two rows. Problems come from the recording rules the alerts use (cluster:k0s_etcdmember_object_problem:max and cluster:k0s_etcdmember_member_problem:max): only exporters that read both sources count, so an exporter blind to etcd never marks the live object. duplicate marks a provably stale object (K0sEtcdMemberDuplicate gives the exact delete command); ambiguous_duplicate marks every object of a group where a person must compare and decide; left marks the object of a completed leave (cleanup). Never set spec.leave on an object that shares its member ID. The panel links each alert's runbook section.",
        gridPos: { x: 0, y: 23, w: 24, h: 10 },
        unit: 'none',
        alerts: ['K0sEtcdMemberDuplicate', 'K0sEtcdMemberAmbiguousDuplicate', 'K0sEtcdMemberOrphaned', 'K0sEtcdMemberLeft', 'K0sEtcdMemberLeaveStuck', 'K0sEtcdMemberLeaveIgnored', 'K0sEtcdMemberReconcileFailed', 'K0sEtcdMemberHostnameDrift', 'K0sEtcdMemberPeerAddressMismatch', 'K0sEtcdMemberUnregistered', 'K0sEtcdMemberUnregistrable', 'K0sEtcdMemberUnstarted'],
        targets: [() => target(membershipTableExpr(), '', 'table')],
      },
      { custom: tableCustom },
      tableOptions('Member ID'),
      {
        transformations: [
          organize(
            ['Time', 'Value'],
            [CL, 'member_id', 'object_name', 'object_peer_address', 'etcd_name', 'etcd_peer_address', 'problem'],
            {
              [CL]: 'Cluster',
              member_id: 'Member ID',
              object_name: 'EtcdMember object',
              object_peer_address: 'Object peer address',
              etcd_name: 'etcd member',
              etcd_peer_address: 'etcd peer address',
              problem: 'Problem',
            },
          ),
        ],
        overrides: [
          {
            matcher: { id: 'byName', options: 'Problem' },
            properties: [
              { id: 'mappings', value: problemMappings },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
      },
    ),
  );

  // Row 6: per controller.
  out.push(
    panel(
      'table',
      {
        title: 'Local name drift per controller',
        description:
          "Per exporter (one per controller): its local etcd member, the name this host would register at its next k0s start (k0s.yaml's spec.storage.etcd.extraArgs.name, else the hostname; --node.member-name wins; trimmed and lowercased), and whether they differ. DRIFT means the next k0s start creates a duplicate EtcdMember. Joined from k0s_etcdmember_local_name_drift and k0s_etcdmember_local_member_info; a controller is missing while its etcd is unreachable, or while its k0s.yaml cannot be read (source k0s_config down) and --node.member-name is not set.",
        gridPos: { x: 0, y: 33, w: 8, h: 8 },
        unit: 'none',
        alerts: ['K0sEtcdMemberLocalNameDrift'],
        targets: [() => target(localDriftTableExpr(), '', 'table')],
      },
      { custom: tableCustom, noValue: 'No data: etcd or k0s.yaml unreadable on every controller' },
      tableOptions('Instance'),
      {
        transformations: [
          organize(['Time'], [CL, 'instance', 'member_name', 'member_id', 'registration_name', 'Value'], {
            [CL]: 'Cluster',
            instance: 'Instance',
            member_name: 'etcd member',
            member_id: 'Member ID',
            registration_name: 'Next registration',
            Value: 'Drift',
          }),
        ],
        overrides: [
          {
            matcher: { id: 'byName', options: 'Drift' },
            properties: [
              { id: 'mappings', value: [{ type: MappingType.ValueToText, options: { '0': { text: 'OK', color: 'green', index: 0 }, '1': { text: 'DRIFT', color: 'red', index: 1 } } }] },
              { id: 'custom.cellOptions', value: { type: 'color-background' } },
            ],
          },
        ],
      },
    ),
  );
  out.push(
    panel(
      'stat',
      {
        title: 'Controllers with local peer address drift',
        description:
          "Controllers whose next k0s start would give their etcd member a peer address (k0s.yaml's spec.storage.etcd.peerAddress, else k0s's pick among the host's interfaces) other than the one the cluster reaches it at: after that restart the member is cut off. Summed over instances: per controller, not cluster-wide. The predicted address is the predicted_peer_address label of k0s_etcdmember_local_member_info. \"No data\" also while a controller's k0s.yaml cannot be read (source k0s_config down). An address the host does not have at all (k0s_etcdmember_local_peer_address_on_host 0: etcd cannot start there) raises K0sEtcdMemberLocalPeerAddressNotOnHost, linked here.",
        gridPos: { x: 8, y: 33, w: 4, h: 8 },
        unit: 'none',
        alerts: ['K0sEtcdMemberLocalPeerAddressDrift', 'K0sEtcdMemberLocalPeerAddressNotOnHost'],
        targets: [() => target(`sum by (${CL}) (${sel('k0s_etcdmember_local_peer_address_drift')})`, `{{${CL}}}`, 'instant')],
      },
      { decimals: 0, noValue: 'No data: etcd or k0s.yaml unreadable on every controller', color: { mode: FieldColorModeId.Thresholds }, thresholds: { mode: ThresholdsMode.Absolute, steps: OK_GREEN_ABOVE_ZERO_RED } },
      statOptions('background'),
    ),
  );
  out.push(
    panel(
      'table',
      {
        title: 'Exporters',
        description: 'Each exporter (one per controller) with its build. A controller missing here is not being scraped.',
        gridPos: { x: 12, y: 33, w: 12, h: 8 },
        unit: 'none',
        alerts: ['K0sEtcdMemberExporterDown'],
        targets: [() => target(`max by (${CL}, instance, version, revision, nodejs_version) (${sel('k0s_etcdmember_build_info')})`, '', 'table')],
      },
      { custom: tableCustom, noValue: 'No data: no exporter scraped' },
      tableOptions('Instance'),
      {
        transformations: [
          organize(['Time', 'Value'], [CL, 'instance', 'version', 'revision', 'nodejs_version'], {
            [CL]: 'Cluster',
            instance: 'Instance',
            version: 'Version',
            revision: 'Revision',
            nodejs_version: 'Node.js',
          }),
        ],
      },
    ),
  );

  // Row 7: source health.
  out.push(
    panel(
      'timeseries',
      {
        title: 'Time since last successful read',
        description: 'Per exporter and source: seconds since the last successful read (time() - k0s_etcdmember_source_last_success_timestamp_seconds). An open Kubernetes watch counts as reading continuously. Growing lines mean a source is failing.',
        gridPos: { x: 0, y: 41, w: 8, h: 8 },
        unit: 's',
        alerts: ['K0sEtcdMemberSourceDown'],
        targets: [() => target(`max by (${CL}, instance, source) (time() - ${sel('k0s_etcdmember_source_last_success_timestamp_seconds')})`, '{{instance}} {{source}}', 'range')],
      },
      { min: 0, color: { mode: FieldColorModeId.PaletteClassic }, custom: { ...timeseriesCustom, lineInterpolation: 'linear' } },
      timeseriesOptions,
    ),
  );
  out.push(
    panel(
      'timeseries',
      {
        title: 'Source read errors',
        description: 'Per exporter, source and reason (timeout, unavailable, tls, unauthorized, forbidden, not_found, gone, server_error, invalid_response, watch_dropped, other): failed reads per second.',
        gridPos: { x: 8, y: 41, w: 8, h: 8 },
        unit: 'cps',
        alerts: ['K0sEtcdMemberSourceDown'],
        targets: [() => target(`sum by (${CL}, instance, source, reason) (rate(${sel('k0s_etcdmember_source_errors_total')}[$__rate_interval]))`, '{{instance}} {{source}} {{reason}}', 'range')],
      },
      { min: 0, color: { mode: FieldColorModeId.PaletteClassic }, custom: { ...timeseriesCustom, lineInterpolation: 'linear' } },
      timeseriesOptions,
    ),
  );
  out.push(
    panel(
      'timeseries',
      {
        title: 'Source read duration',
        description: 'Per exporter and source: how long the last read took.',
        gridPos: { x: 16, y: 41, w: 8, h: 8 },
        unit: 's',
        alerts: ['K0sEtcdMemberSourceDown'],
        targets: [() => target(`max by (${CL}, instance, source) (${sel('k0s_etcdmember_source_duration_seconds')})`, '{{instance}} {{source}}', 'range')],
      },
      { min: 0, color: { mode: FieldColorModeId.PaletteClassic }, custom: { ...timeseriesCustom, lineInterpolation: 'linear' } },
      timeseriesOptions,
    ),
  );

  // Row 8: alerts.
  out.push(
    panel(
      'table',
      {
        title: 'Firing K0sEtcdMember alerts',
        description:
          'Alerts named K0sEtcdMember* that are firing now, from Prometheus\'s ALERTS series. That series exists only while an alert is pending or firing, so an empty table means no such alert fires (or the alert rules are not loaded into this Prometheus). Filtered by cluster only: alerts aggregate over instances.',
        gridPos: { x: 0, y: 49, w: 24, h: 7 },
        unit: 'none',
        alerts: alertNames(),
        targets: [() => target(alertsExpr(), '', 'table')],
      },
      { custom: tableCustom, noValue: 'No K0sEtcdMember alerts firing' },
      tableOptions('alertname'),
      { transformations: [organize(['Time', 'Value', '__name__', 'alertstate'], ['alertname', 'severity', CL], {})] },
    ),
  );
  return out;
}

function variables(): VariableModel[] {
  return [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      description: 'The Prometheus that scrapes the k0s-etcdmember-exporter.',
      hide: VariableHide.dontHide,
      query: 'prometheus',
      options: [],
      regex: '',
    },
    {
      name: 'cluster',
      label: 'Cluster',
      type: 'query',
      description:
        'Value of the cluster target label. Grafana cannot hide a variable by its number of values, so it stays visible; with one cluster, or when Prometheus adds no cluster label, keep All: it expands to .* and every query matches cluster=~"$cluster", which also matches series without the label.',
      hide: VariableHide.dontHide,
      datasource: DATASOURCE,
      query: `label_values(k0s_etcdmember_build_info, ${CL})`,
      refresh: VariableRefresh.onTimeRangeChanged,
      includeAll: true,
      allValue: '.*',
      multi: false,
      sort: VariableSort.alphabeticalAsc,
      options: [],
      regex: '',
    },
    {
      name: 'instance',
      label: 'Exporter',
      type: 'query',
      description: 'Exporter instances (one per controller). Cluster-wide panels take the max over the selected instances.',
      hide: VariableHide.dontHide,
      datasource: DATASOURCE,
      query: `label_values(k0s_etcdmember_build_info{${CL}=~"$cluster"}, instance)`,
      refresh: VariableRefresh.onTimeRangeChanged,
      includeAll: true,
      allValue: '.*',
      multi: true,
      sort: VariableSort.alphabeticalAsc,
      options: [],
      regex: '',
    },
  ];
}

export function buildDashboard(config: DashboardConfig = DEFAULT_DASHBOARD_CONFIG): ExportedDashboard {
  CL = config.clusterLabel;
  runbookPattern = config.runbookURLPattern;
  return {
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'stat', name: 'Stat', version: '' },
      { type: 'panel', id: 'table', name: 'Table', version: '' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
    ],
    annotations: { list: [] },
    description:
      'k0s etcd membership: etcd\'s member list against k0s EtcdMember objects, from k0s-etcdmember-exporter (one per controller, each reporting the same cluster-wide view, so cluster-wide figures take the max over instances). Cluster filter: keep All when there is a single cluster or no cluster label; queries use cluster=~"$cluster" so series without the label still match.',
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: DashboardCursorSync.Crosshair,
    id: null,
    links: [{ ...runbookLink('K0sEtcdMemberDuplicate'), title: 'Runbook', url: runbookUrl('').replace(/#$/, ''), tooltip: 'What each K0sEtcdMember alert means and the safe fix' }],
    panels: panels(),
    refresh: '30s',
    schemaVersion: 39,
    tags: ['k0s', 'etcd', 'etcdmember', 'kubernetes'],
    templating: { list: variables() },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: DASHBOARD_TITLE,
    uid: DASHBOARD_UID,
    version: 1,
    weekStart: '',
  };
}

export function renderDashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

/**
 * Written by hand rather than with a YAML library so that the JSON sits in a literal block exactly as in the
 * dashboard file (a library may fold long lines), and so the generator needs nothing beyond Node.
 */
export function renderConfigMap(dashboardJson: string): string {
  const body = dashboardJson
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return [
    '# Generated by scripts/gen-dashboard.ts from the same source as grafana/k0s-etcdmember.json; do not edit.',
    '# The Grafana sidecar (kube-prometheus-stack, grafana helm chart) loads ConfigMaps labelled grafana_dashboard: "1";',
    '# apply it in the namespace the sidecar watches (kubectl apply -n <namespace> -f ...).',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${CONFIGMAP_NAME}`,
    '  labels:',
    '    grafana_dashboard: "1"',
    '    app.kubernetes.io/name: k0s-etcdmember-exporter',
    '    app.kubernetes.io/component: dashboard',
    'data:',
    `  ${CONFIGMAP_KEY}: |-`,
    body,
    '',
  ].join('\n');
}

export const DEFAULT_DASHBOARD_PATH = resolve(REPO_ROOT, 'grafana', 'k0s-etcdmember.json');
export const DEFAULT_CONFIGMAP_PATH = resolve(REPO_ROOT, 'deploy', 'kubernetes', 'grafana-dashboard-configmap.yaml');

function main(argv: string[]): void {
  let out = DEFAULT_DASHBOARD_PATH;
  let configMapOut = DEFAULT_CONFIGMAP_PATH;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a path`);
      return resolve(v);
    };
    if (flag === '--out') out = value();
    else if (flag === '--configmap-out') configMapOut = value();
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write('usage: gen-dashboard [--out grafana/k0s-etcdmember.json] [--configmap-out deploy/kubernetes/grafana-dashboard-configmap.yaml]\n');
      return;
    } else throw new Error(`unknown argument ${arg}`);
  }
  const json = renderDashboardJson();
  for (const [path, text] of [[out, json], [configMapOut, renderConfigMap(json)]] as const) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`gen-dashboard: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
