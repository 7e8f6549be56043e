// Loads the committed Grafana dashboard and lists every query in it with the template variables filled in, so tests
// can check the queries offline (promtool) or run them against a real Prometheus.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from './paths.js';

export { REPO_ROOT };
export const DASHBOARD_PATH = resolve(REPO_ROOT, 'grafana', 'k0s-etcdmember.json');

export interface DashboardDatasourceRef {
  type?: string;
  uid?: string;
}

export interface DashboardTargetJson {
  refId: string;
  expr: string;
  legendFormat?: string;
  format?: 'time_series' | 'table';
  instant?: boolean;
  range?: boolean;
  datasource?: DashboardDatasourceRef;
}

export interface DashboardPanelJson {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: DashboardDatasourceRef;
  gridPos?: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string; noValue?: string; [k: string]: unknown }; overrides?: unknown[] };
  options?: Record<string, unknown>;
  targets?: DashboardTargetJson[];
  transformations?: { id: string; options: Record<string, unknown> }[];
}

export interface DashboardVariableJson {
  name: string;
  type: string;
  query?: unknown;
  datasource?: DashboardDatasourceRef;
  includeAll?: boolean;
  allValue?: string;
  multi?: boolean;
  description?: string;
}

export interface DashboardJson {
  uid: string;
  title: string;
  description?: string;
  tags?: string[];
  schemaVersion: number;
  panels: DashboardPanelJson[];
  templating: { list: DashboardVariableJson[] };
  [k: string]: unknown;
}

export function loadDashboard(path = DASHBOARD_PATH): DashboardJson {
  return JSON.parse(readFileSync(path, 'utf8')) as DashboardJson;
}

/**
 * Values for the dashboard's variables that select everything, as Grafana sends them with All selected, plus
 * Grafana's built-in interval variables. `.*` also matches series without the label.
 */
export const DEFAULT_VARIABLE_VALUES: Readonly<Record<string, string>> = {
  cluster: '.*',
  instance: '.*',
  datasource: 'prometheus',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '1h',
  __range_s: '3600',
};

// $name, ${name}, ${name:format} and the deprecated [[name]]. `$1`-style references are label_replace
// replacement groups, not variables, and Grafana leaves them alone as well.
const VARIABLE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g;

/** Grafana template variables an expression refers to (no duplicates, in order of first use). */
export function variablesUsed(expr: string): string[] {
  const names: string[] = [];
  for (const m of expr.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? m[3] ?? '';
    if (/^\d+$/.test(name)) continue;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Replaces every template variable; throws on a variable without a value so a typo cannot pass silently. */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>> = DEFAULT_VARIABLE_VALUES): string {
  return expr.replace(VARIABLE, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    if (/^\d+$/.test(name)) return whole;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for template variable $${name} in ${expr}`);
    return value;
  });
}

export interface DashboardQuery {
  panelId: number;
  panelTitle: string;
  panelType: string;
  refId: string;
  /** As written in the dashboard, with template variables. */
  expr: string;
  /** With template variables substituted: ready for Prometheus's /api/v1/query or query_range. */
  query: string;
  instant: boolean;
  format: 'time_series' | 'table';
}

/** Every panel target in the dashboard, in panel order. */
export function dashboardQueries(dashboard: DashboardJson = loadDashboard(), values: Readonly<Record<string, string>> = DEFAULT_VARIABLE_VALUES): DashboardQuery[] {
  return dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panelId: p.id,
      panelTitle: p.title,
      panelType: p.type,
      refId: t.refId,
      expr: t.expr,
      query: substituteVariables(t.expr, values),
      instant: t.instant === true,
      format: t.format ?? 'time_series',
    })),
  );
}
