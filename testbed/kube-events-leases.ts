// Events and Leases for the API test server (testbed/kube-api-server.ts), served as kube-apiserver serves them:
// events.k8s.io/v1 Events (create, get, list, strategic-merge and merge patch, with the validation of the v1 API's
// strict create and update rules), the core/v1 view of the same Events that `kubectl describe` lists with
// involvedObject field selectors, and coordination.k8s.io/v1 Leases (create, get, list, update guarded by
// resourceVersion: a stale one is a 409 Conflict, a missing one a 422, as for any object that does not allow
// unconditional updates). Both are namespaced; the namespaces exist implicitly.
import { randomUUID } from 'node:crypto';

export const EVENTS_GROUP = 'events.k8s.io';
export const COORDINATION_GROUP = 'coordination.k8s.io';

type Json = Record<string, unknown>;

export interface NamespacedStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Json;
  status: 'Failure';
  message: string;
  reason: string;
  details?: Json;
  code: number;
}

export class NamespacedApiError extends Error {
  constructor(readonly status: NamespacedStatus) {
    super(status.message);
  }
}

/** Which of these resources a request is about. */
export interface NamespacedRoute {
  /** 'events' for both the events.k8s.io and the core/v1 view; 'leases'. */
  resource: 'events' | 'leases';
  /** events.k8s.io, coordination.k8s.io, or '' for core/v1 events. */
  group: string;
  /** undefined: all namespaces (list only). */
  namespace: string | undefined;
  name: string | undefined;
  verb: string;
}

/** The route of an events or leases path, or undefined for any other path. */
export function classifyNamespaced(method: string, url: URL): NamespacedRoute | undefined {
  const segs = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  const isWatch = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
  let group: string;
  let rest: string[];
  if (segs[0] === 'api' && segs[1] === 'v1') {
    group = '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && ((segs[1] === EVENTS_GROUP && segs[2] === 'v1') || (segs[1] === COORDINATION_GROUP && segs[2] === 'v1'))) {
    group = segs[1];
    rest = segs.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  const resource = rest[0];
  if (resource === 'events' && group === COORDINATION_GROUP) return undefined;
  if (resource === 'leases' && group !== COORDINATION_GROUP) return undefined;
  if (resource !== 'events' && resource !== 'leases') return undefined;
  if (namespace === undefined && rest.length === 2) return undefined;
  const name = rest[1];
  const verb = ((): string => {
    switch (method) {
      case 'GET':
        return isWatch ? 'watch' : name === undefined ? 'list' : 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return name === undefined ? 'deletecollection' : 'delete';
      default:
        return method.toLowerCase();
    }
  })();
  return { resource, group, namespace, name, verb };
}

/** kube-apiserver's 403 for a namespaced resource. */
export function forbiddenNamespaced(route: NamespacedRoute, user: string): NamespacedStatus {
  const qualified = route.group === '' ? route.resource : `${route.resource}.${route.group}`;
  const where = route.namespace === undefined ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
  return failure(
    403,
    'Forbidden',
    `${qualified}${route.name !== undefined ? ` "${route.name}"` : ''} is forbidden: User "${user}" cannot ${route.verb} resource "${route.resource}" in API group "${route.group}" ${where}`,
    { ...(route.name !== undefined ? { name: route.name } : {}), group: route.group, kind: route.resource },
  );
}

function failure(code: number, reason: string, message: string, details?: Json): NamespacedStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

type Cause = { reason: string; message: string; field: string };

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** metav1.MicroTime as Go writes and reads it (RFC 3339 with microseconds; Go reads any fraction). */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export class EventsAndLeases {
  /** Events by namespace/name, in their events.k8s.io/v1 form. */
  private readonly events = new Map<string, Json>();
  private readonly leases = new Map<string, Json>();

  constructor(private readonly rv: { next(): number; current(): number }) {}

  /** Every Event (events.k8s.io/v1 form), sorted by namespace and name. */
  listEvents(): Json[] {
    return [...this.events.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => structuredClone(e));
  }

  /** One Lease, or undefined. */
  getLease(namespace: string, name: string): Json | undefined {
    const l = this.leases.get(`${namespace}/${name}`);
    return l === undefined ? undefined : structuredClone(l);
  }

  /** Answers one request: [status code, body]. Throws NamespacedApiError. */
  dispatch(method: string, url: URL, route: NamespacedRoute, body: string, contentType: string | undefined): [number, unknown] {
    if (route.verb === 'watch') throw new NamespacedApiError(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    if (route.resource === 'leases') return this.dispatchLease(method, route, body, contentType);
    return this.dispatchEvent(method, url, route, body, contentType);
  }

  // ---- events ----

  private dispatchEvent(method: string, url: URL, route: NamespacedRoute, body: string, contentType: string | undefined): [number, unknown] {
    const core = route.group === '';
    const view = (e: Json): Json => (core ? toCoreEvent(e) : structuredClone(e));
    const ns = route.namespace;
    if (route.name === undefined) {
      if (method === 'GET') {
        const selector = parseFieldSelector(url.searchParams.get('fieldSelector') ?? '', core ? CORE_EVENT_FIELDS : V1_EVENT_FIELDS);
        const items = this.listEvents().filter((e) => (ns === undefined || metaOf(e)['namespace'] === ns) && selector(coreFields(e)));
        return [200, { kind: 'EventList', apiVersion: core ? 'v1' : `${EVENTS_GROUP}/v1`, metadata: { resourceVersion: String(this.rv.current()) }, items: items.map(view) }];
      }
      if (method === 'POST' && ns !== undefined && !core) return [201, this.createEvent(ns, decode(body, contentType, `${EVENTS_GROUP}/v1`, 'Event'))];
      throw new NamespacedApiError(methodNotAllowed());
    }
    if (ns === undefined) throw new NamespacedApiError(notFoundPath());
    const key = `${ns}/${route.name}`;
    const current = this.events.get(key);
    if (method === 'GET') {
      if (current === undefined) throw new NamespacedApiError(notFound(core ? 'events' : `events.${EVENTS_GROUP}`, route.name, core ? '' : EVENTS_GROUP, 'events'));
      return [200, view(current)];
    }
    if (method === 'PATCH' && !core) {
      if (current === undefined) throw new NamespacedApiError(notFound(`events.${EVENTS_GROUP}`, route.name, EVENTS_GROUP, 'events'));
      const patch = decodePatch(body, contentType);
      const next = mergePatch(structuredClone(current), patch) as Json;
      return [200, this.updateEvent(key, current, next)];
    }
    throw new NamespacedApiError(methodNotAllowed());
  }

  private createEvent(namespace: string, e: Json): Json {
    const meta = { ...metaOf(e) };
    if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
      throw new NamespacedApiError(failure(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
    }
    if ((meta['name'] === undefined || meta['name'] === '') && typeof meta['generateName'] === 'string') meta['name'] = `${meta['generateName']}${randomUUID().slice(0, 5)}`;
    meta['namespace'] = namespace;
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'selfLink']) delete meta[k];
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    const event = { ...withoutUnknown(e, EVENT_FIELDS), metadata: meta };
    const causes = validateEvent(event, namespace);
    if (causes.length > 0) throw new NamespacedApiError(invalid('Event', EVENTS_GROUP, name, causes));
    const key = `${namespace}/${name}`;
    if (this.events.has(key)) throw new NamespacedApiError(failure(409, 'AlreadyExists', `events.${EVENTS_GROUP} "${name}" already exists`, { name, group: EVENTS_GROUP, kind: 'events' }));
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = timestamp();
    meta['resourceVersion'] = String(this.rv.next());
    const stored = sortKeys({ apiVersion: `${EVENTS_GROUP}/v1`, kind: 'Event', ...event, metadata: meta }) as Json;
    this.events.set(key, stored);
    return structuredClone(stored);
  }

  private updateEvent(key: string, current: Json, next: Json): Json {
    const name = String(metaOf(current)['name']);
    const meta = { ...metaOf(current), ...pick(metaOf(next), ['labels', 'annotations']) };
    const candidate = { ...withoutUnknown(next, EVENT_FIELDS), metadata: meta, apiVersion: current['apiVersion'], kind: current['kind'] } as Json;
    const causes = validateEvent(candidate, String(meta['namespace']));
    // ValidateEventUpdate for events.k8s.io/v1: what the event says is immutable; only its series (and metadata) may change.
    for (const field of ['regarding', 'related', 'reason', 'note', 'type', 'eventTime', 'action', 'reportingController', 'reportingInstance']) {
      if (JSON.stringify(sortKeys(candidate[field])) !== JSON.stringify(sortKeys(current[field]))) {
        causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: field is immutable', field });
      }
    }
    if (causes.length > 0) throw new NamespacedApiError(invalid('Event', EVENTS_GROUP, name, causes));
    const stored = sortKeys(candidate) as Json;
    if (JSON.stringify(stored) === JSON.stringify(current)) return structuredClone(current);
    (stored['metadata'] as Json)['resourceVersion'] = String(this.rv.next());
    this.events.set(key, stored);
    return structuredClone(stored);
  }

  // ---- leases ----

  private dispatchLease(method: string, route: NamespacedRoute, body: string, contentType: string | undefined): [number, unknown] {
    const ns = route.namespace;
    if (route.name === undefined) {
      if (method === 'GET') {
        const items = [...this.leases.entries()].filter(([k]) => ns === undefined || k.startsWith(`${ns}/`)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, l]) => structuredClone(l));
        return [200, { kind: 'LeaseList', apiVersion: `${COORDINATION_GROUP}/v1`, metadata: { resourceVersion: String(this.rv.current()) }, items }];
      }
      if (method === 'POST' && ns !== undefined) return [201, this.createLease(ns, decode(body, contentType, `${COORDINATION_GROUP}/v1`, 'Lease'))];
      throw new NamespacedApiError(methodNotAllowed());
    }
    if (ns === undefined) throw new NamespacedApiError(notFoundPath());
    const key = `${ns}/${route.name}`;
    const current = this.leases.get(key);
    switch (method) {
      case 'GET':
        if (current === undefined) throw new NamespacedApiError(notFound(`leases.${COORDINATION_GROUP}`, route.name, COORDINATION_GROUP, 'leases'));
        return [200, structuredClone(current)];
      case 'PUT':
        return [200, this.updateLease(key, route.name, current, decode(body, contentType, `${COORDINATION_GROUP}/v1`, 'Lease'))];
      default:
        throw new NamespacedApiError(methodNotAllowed());
    }
  }

  private createLease(namespace: string, l: Json): Json {
    const meta = { ...metaOf(l) };
    if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
      throw new NamespacedApiError(failure(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
    }
    meta['namespace'] = namespace;
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'selfLink']) delete meta[k];
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    const causes = [...validateName(name), ...validateLeaseSpec(l['spec'])];
    if (causes.length > 0) throw new NamespacedApiError(invalid('Lease', COORDINATION_GROUP, name, causes));
    const key = `${namespace}/${name}`;
    if (this.leases.has(key)) throw new NamespacedApiError(failure(409, 'AlreadyExists', `leases.${COORDINATION_GROUP} "${name}" already exists`, { name, group: COORDINATION_GROUP, kind: 'leases' }));
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = timestamp();
    meta['resourceVersion'] = String(this.rv.next());
    const stored = sortKeys({ apiVersion: `${COORDINATION_GROUP}/v1`, kind: 'Lease', metadata: meta, spec: l['spec'] ?? {} }) as Json;
    this.leases.set(key, stored);
    return structuredClone(stored);
  }

  private updateLease(key: string, name: string, current: Json | undefined, l: Json): Json {
    const meta = metaOf(l);
    if (meta['name'] !== undefined && meta['name'] !== name) {
      throw new NamespacedApiError(failure(400, 'BadRequest', `the name of the object (${JSON.stringify(meta['name'])}) does not match the name on the URL (${name})`));
    }
    // Leases do not allow unconditional updates (and this server does not create on update).
    if (current === undefined) throw new NamespacedApiError(notFound(`leases.${COORDINATION_GROUP}`, name, COORDINATION_GROUP, 'leases'));
    const rv = meta['resourceVersion'];
    if (rv === undefined || rv === '') {
      throw new NamespacedApiError(invalid('Lease', COORDINATION_GROUP, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }]));
    }
    if (rv !== metaOf(current)['resourceVersion']) {
      throw new NamespacedApiError(failure(409, 'Conflict', `Operation cannot be fulfilled on leases.${COORDINATION_GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: COORDINATION_GROUP, kind: 'leases' }));
    }
    const causes = validateLeaseSpec(l['spec']);
    if (causes.length > 0) throw new NamespacedApiError(invalid('Lease', COORDINATION_GROUP, name, causes));
    const next = sortKeys({ ...current, metadata: { ...metaOf(current), ...pick(meta, ['labels', 'annotations']) }, spec: l['spec'] ?? {} }) as Json;
    if (JSON.stringify(next) === JSON.stringify(current)) return structuredClone(current);
    (next['metadata'] as Json)['resourceVersion'] = String(this.rv.next());
    this.leases.set(key, next);
    return structuredClone(next);
  }
}

// ---- events: validation and the core/v1 view ----

const EVENT_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding', 'related', 'note', 'type', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount']);

/** ValidateEventCreate for events.k8s.io/v1 (pkg/apis/core/validation/events.go), the checks this protocol meets. */
function validateEvent(e: Json, namespace: string): Cause[] {
  const causes: Cause[] = [];
  const required = (field: string): void => void causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  causes.push(...validateName(str(metaOf(e)['name'])));
  const regarding = (e['regarding'] ?? {}) as Json;
  if (str(regarding['namespace']) === '' && namespace !== 'default' && namespace !== 'kube-system') {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "": does not match event.namespace', field: 'involvedObject.namespace' });
  } else if (str(regarding['namespace']) !== '' && regarding['namespace'] !== namespace) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(regarding['namespace'])}: does not match event.namespace`, field: 'involvedObject.namespace' });
  }
  const controller = str(e['reportingController']);
  if (controller === '') required('reportingController');
  else if (!validQualifiedName(controller)) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(controller)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`, field: 'reportingController' });
  const limit = (field: string, max: number, what: string): void => {
    const v = str(e[field]);
    if (v === '' && field !== 'note') required(field);
    if (Buffer.byteLength(v) > max) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "": can have at most ${max} ${what}`, field });
  };
  limit('reportingInstance', 128, 'characters');
  limit('action', 128, 'characters');
  limit('reason', 128, 'characters');
  limit('note', 1024, 'characters');
  if (!MICRO_TIME.test(str(e['eventTime']))) required('eventTime');
  if (e['type'] !== 'Normal' && e['type'] !== 'Warning') causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "": has invalid value: ${str(e['type'])}`, field: 'type' });
  const series = e['series'] as Json | undefined | null;
  if (series !== undefined && series !== null) {
    if (typeof series['count'] !== 'number' || series['count'] < 2) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(series['count'] ?? 0)}: should be at least 2`, field: 'series.count' });
    if (!MICRO_TIME.test(str(series['lastObservedTime']))) required('series.lastObservedTime');
  }
  for (const f of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp']) if (e[f] !== undefined && e[f] !== null) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "": needs to be unset', field: f });
  if (e['deprecatedCount'] !== undefined && e['deprecatedCount'] !== 0) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "": needs to be unset', field: 'deprecatedCount' });
  const source = (e['deprecatedSource'] ?? {}) as Json;
  if (str(source['component']) !== '' || str(source['host']) !== '') causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "": needs to be unset', field: 'deprecatedSource' });
  return causes;
}

function validQualifiedName(v: string): boolean {
  const parts = v.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && (parts[0] === '' || parts[0]!.length > 253 || !DNS1123_SUBDOMAIN.test(parts[0]!))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

function validateName(name: string): Cause[] {
  if (name === '') return [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }];
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`, field: 'metadata.name' }];
  }
  return [];
}

function validateLeaseSpec(spec: unknown): Cause[] {
  if (spec === undefined || spec === null) return [];
  if (typeof spec !== 'object' || Array.isArray(spec)) return [{ reason: 'FieldValueTypeInvalid', message: 'Invalid value: spec must be an object', field: 'spec' }];
  const s = spec as Json;
  const causes: Cause[] = [];
  if (s['leaseDurationSeconds'] !== undefined && (typeof s['leaseDurationSeconds'] !== 'number' || s['leaseDurationSeconds'] <= 0)) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(s['leaseDurationSeconds'])}: must be greater than 0`, field: 'spec.leaseDurationSeconds' });
  }
  if (s['leaseTransitions'] !== undefined && (typeof s['leaseTransitions'] !== 'number' || s['leaseTransitions'] < 0)) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(s['leaseTransitions'])}: must be greater than or equal to 0`, field: 'spec.leaseTransitions' });
  }
  for (const f of ['acquireTime', 'renewTime']) {
    if (s[f] !== undefined && s[f] !== null && !(typeof s[f] === 'string' && MICRO_TIME.test(s[f]))) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(s[f])}: not a MicroTime`, field: `spec.${f}` });
  }
  return causes;
}

/** The core/v1 Event kube-apiserver serves for an events.k8s.io/v1 one (the two are one object in storage). */
function toCoreEvent(e: Json): Json {
  const source = (e['deprecatedSource'] ?? {}) as Json;
  return sortKeys({
    kind: 'Event',
    apiVersion: 'v1',
    metadata: e['metadata'],
    involvedObject: e['regarding'] ?? {},
    ...(e['related'] ? { related: e['related'] } : {}),
    reason: e['reason'],
    message: e['note'],
    source,
    firstTimestamp: e['deprecatedFirstTimestamp'] ?? null,
    lastTimestamp: e['deprecatedLastTimestamp'] ?? null,
    ...(e['deprecatedCount'] ? { count: e['deprecatedCount'] } : {}),
    type: e['type'],
    eventTime: e['eventTime'] ?? null,
    ...(e['series'] ? { series: e['series'] } : {}),
    action: e['action'],
    reportingComponent: e['reportingController'] ?? '',
    reportingInstance: e['reportingInstance'] ?? '',
  }) as Json;
}

/** The field set kube-apiserver selects Events by (pkg/registry/core/event/strategy.go ToSelectableFields). */
function coreFields(e: Json): Map<string, string> {
  const r = (e['regarding'] ?? {}) as Json;
  const meta = metaOf(e);
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  const source = s(((e['deprecatedSource'] ?? {}) as Json)['component']) || s(e['reportingController']);
  return new Map([
    ['involvedObject.kind', s(r['kind'])],
    ['involvedObject.namespace', s(r['namespace'])],
    ['involvedObject.name', s(r['name'])],
    ['involvedObject.uid', s(r['uid'])],
    ['involvedObject.apiVersion', s(r['apiVersion'])],
    ['involvedObject.resourceVersion', s(r['resourceVersion'])],
    ['involvedObject.fieldPath', s(r['fieldPath'])],
    ['reason', s(e['reason'])],
    ['reportingComponent', s(e['reportingController'])],
    ['source', source],
    ['type', s(e['type'])],
    ['metadata.name', s(meta['name'])],
    ['metadata.namespace', s(meta['namespace'])],
  ]);
}

/** Field labels each API version accepts, mapped to the core names (events.k8s.io/v1's conversion functions). */
const CORE_EVENT_FIELDS = new Map([...coreFields({}).keys()].map((k) => [k, k]));
const V1_EVENT_FIELDS = new Map([
  ['reason', 'reason'],
  ['regarding.kind', 'involvedObject.kind'],
  ['regarding.namespace', 'involvedObject.namespace'],
  ['regarding.name', 'involvedObject.name'],
  ['regarding.uid', 'involvedObject.uid'],
  ['regarding.apiVersion', 'involvedObject.apiVersion'],
  ['regarding.resourceVersion', 'involvedObject.resourceVersion'],
  ['regarding.fieldPath', 'involvedObject.fieldPath'],
  ['reportingController', 'reportingComponent'],
  ['type', 'type'],
  ['metadata.namespace', 'metadata.namespace'],
  ['metadata.name', 'metadata.name'],
]);

/** A field selector (a=b, a==b, a!=b, comma-separated, `\` escapes) as a predicate; unknown labels are a 400. */
function parseFieldSelector(text: string, labels: ReadonlyMap<string, string>): (fields: ReadonlyMap<string, string>) => boolean {
  const terms: { field: string; value: string; equal: boolean }[] = [];
  if (text !== '') {
    for (const term of splitUnescaped(text, ',')) {
      const m = /^([^=!]+?)(==|=|!=)(.*)$/s.exec(term);
      if (!m) throw new NamespacedApiError(failure(400, 'BadRequest', `invalid selector: '${text}'; can't understand '${term}'`));
      const field = labels.get(m[1]!);
      if (field === undefined) throw new NamespacedApiError(failure(400, 'BadRequest', `"${m[1]!}" is not a known field selector: only "${[...labels.keys()].join('", "')}"`));
      terms.push({ field, value: m[3]!.replace(/\\(.)/g, '$1'), equal: m[2] !== '!=' });
    }
  }
  return (fields) => terms.every((t) => (fields.get(t.field) === t.value) === t.equal);
}

function splitUnescaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i]!;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

// ---- helpers ----

function decode(body: string, contentType: string | undefined, apiVersion: string, kind: string): Json {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new NamespacedApiError(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`));
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    throw new NamespacedApiError(failure(400, 'BadRequest', `couldn't get version/kind; json parse error: ${(err as Error).message}`));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NamespacedApiError(failure(400, 'BadRequest', `Object 'Kind' is missing in '${body.slice(0, 200)}'`));
  const o = v as Json;
  if (o['kind'] !== undefined && o['kind'] !== kind) throw new NamespacedApiError(failure(400, 'BadRequest', `the kind in the data (${JSON.stringify(o['kind'])}) does not match the expected kind (${kind})`));
  if (o['apiVersion'] !== undefined && o['apiVersion'] !== apiVersion) throw new NamespacedApiError(failure(400, 'BadRequest', `the API version in the data (${JSON.stringify(o['apiVersion'])}) does not match the expected API version (${apiVersion})`));
  return o;
}

/** Strategic merge and JSON merge patches; for an Event's fields (no lists with merge keys) the two agree. */
function decodePatch(body: string, contentType: string | undefined): Json {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/strategic-merge-patch+json' && type !== 'application/merge-patch+json') {
    throw new NamespacedApiError(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`));
  }
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    throw new NamespacedApiError(failure(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NamespacedApiError(failure(400, 'BadRequest', 'patch must be a JSON object'));
  return v as Json;
}

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Json = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function withoutUnknown(o: Json, known: ReadonlySet<string>): Json {
  return Object.fromEntries(Object.entries(o).filter(([k]) => known.has(k) && k !== 'metadata'));
}

function pick(o: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function metaOf(o: Json): Json {
  const m = o['metadata'];
  return typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as Json) : {};
}

const notFoundPath = (): NamespacedStatus => failure(404, 'NotFound', 'the server could not find the requested resource', {});
const methodNotAllowed = (): NamespacedStatus => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
const notFound = (qualified: string, name: string, group: string, kind: string): NamespacedStatus =>
  failure(404, 'NotFound', `${qualified} "${name}" not found`, { name, group, kind });

function invalid(kind: string, group: string, name: string, causes: Cause[]): NamespacedStatus {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  return failure(422, 'Invalid', `${kind}${group === '' ? '' : `.${group}`} "${name}" is invalid: ${summary}`, { name, group, kind, causes });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  const out: Json = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Json)[k];
    if (x !== undefined) out[k] = sortKeys(x);
  }
  return out;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
