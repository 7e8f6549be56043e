// k0s's node configuration (k0s.yaml), reduced to what k0s reads from it to start etcd on this host. Pure: text in,
// facts out, so every rule is tested on plain strings.
//
// Mirrors k0s (pkg/config/cfgvars.go NodeConfig, pkg/apis/k0s/v1beta1 ClusterConfig and StorageSpec):
// - sigs.k8s.io/yaml parses with go-yaml v2, i.e. YAML 1.1 (`yes` is a boolean, not a string), strictly: a
//   duplicate key or an unknown field makes k0s refuse the file. Unknown fields are checked here only in
//   spec.storage and spec.storage.etcd, the parts read here; k0s checks the whole file.
// - kind and apiVersion are not checked by k0s: old configs say `kind: Cluster`, new ones `kind: ClusterConfig`.
// - Anything absent or null keeps k0s's default: storage type etcd, no extraArgs, peerAddress chosen from the
//   host's interfaces at start.
// - spec.storage.etcd.externalCluster set, or type kine: k0s runs no etcd member on this host.
import { LineCounter, isMap, isNode, parseDocument, type Document } from 'yaml';

export interface K0sEtcdConfig {
  /** etcd: k0s runs an etcd member here; kine or external: it does not. */
  readonly storage: 'etcd' | 'kine' | 'external';
  /** spec.storage.etcd.extraArgs.name as written (k0s passes it to etcd as --name); undefined when unset. */
  readonly memberName: string | undefined;
  /** spec.storage.etcd.peerAddress as written; undefined when unset (k0s then picks an interface address). */
  readonly peerAddress: string | undefined;
}

/** The k0s defaults: what k0s does with no config file, or an empty one. */
export const K0S_DEFAULTS: K0sEtcdConfig = { storage: 'etcd', memberName: undefined, peerAddress: undefined };

/** A k0s.yaml that k0s would not accept, or that cannot be read; the message is one line naming file and line. */
export class K0sConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
    /** The errno code when the file could not be read (ENOENT, EACCES, EISDIR, ...); undefined for its content. */
    readonly code?: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${detail}`);
    this.name = 'K0sConfigError';
  }
}

const STORAGE_FIELDS = ['etcd', 'kine', 'type'];
const ETCD_FIELDS = ['externalCluster', 'peerAddress', 'extraArgs', 'rawArgs', 'ca'];

/** Parses the text of a k0s.yaml; throws K0sConfigError naming the line of the first problem. */
export function parseK0sConfig(text: string, file: string): K0sEtcdConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', lineCounter, prettyErrors: false, uniqueKeys: true });
  const parseError = doc.errors[0];
  if (parseError !== undefined) {
    throw new K0sConfigError(file, lineCounter.linePos(parseError.pos[0]).line, `not valid YAML: ${parseError.message}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new K0sConfigError(file, undefined, `not valid YAML: ${(err as Error).message}`);
  }
  const at: Locator = new Locator(doc, lineCounter, file);
  if (root === null || root === undefined) return K0S_DEFAULTS;
  at.mapping([], root, 'a ClusterConfig mapping (apiVersion, kind, spec)');
  const r = root as Record<string, unknown>;
  at.optionalString(['kind'], r['kind'], 'a string such as ClusterConfig', true);
  at.optionalString(['apiVersion'], r['apiVersion'], 'a string such as k0s.k0sproject.io/v1beta1', true);

  const spec = r['spec'];
  if (spec === null || spec === undefined) return K0S_DEFAULTS;
  at.mapping(['spec'], spec, 'a mapping');
  const storage = (spec as Record<string, unknown>)['storage'];
  if (storage === null || storage === undefined) return K0S_DEFAULTS;
  at.mapping(['spec', 'storage'], storage, 'a mapping with type, etcd or kine');
  const s = storage as Record<string, unknown>;
  at.knownFields(['spec', 'storage'], s, STORAGE_FIELDS);

  let type: 'etcd' | 'kine' = 'etcd';
  if (s['type'] !== null && s['type'] !== undefined) {
    const t = s['type'];
    if (t !== 'etcd' && t !== 'kine') at.fail(['spec', 'storage', 'type'], t, 'etcd or kine');
    type = t;
  }
  const etcd = s['etcd'];
  if (etcd === null || etcd === undefined) return { ...K0S_DEFAULTS, storage: type };
  const etcdPath = ['spec', 'storage', 'etcd'];
  at.mapping(etcdPath, etcd, 'a mapping with peerAddress, extraArgs, ...');
  const e = etcd as Record<string, unknown>;
  at.knownFields(etcdPath, e, ETCD_FIELDS);

  const peerAddress = at.optionalString([...etcdPath, 'peerAddress'], e['peerAddress'], 'the address etcd peers reach this host on, e.g. 10.0.0.1');
  // k0s takes extraArgs.name whenever the key is present, so an empty name would reach etcd as --name="".
  let memberName: string | undefined;
  const extraArgs = e['extraArgs'];
  if (extraArgs !== null && extraArgs !== undefined) {
    const argsPath = [...etcdPath, 'extraArgs'];
    at.mapping(argsPath, extraArgs, 'a mapping of etcd flag names to string values');
    for (const [key, value] of Object.entries(extraArgs as Record<string, unknown>)) {
      // k0s decodes extraArgs as map[string]string: a null value is an empty string there, any other non-string fails.
      if (value !== null) at.optionalString([...argsPath, key], value, 'a string (quote it)', true);
    }
    const name = (extraArgs as Record<string, unknown>)['name'];
    if (name !== undefined) {
      if (typeof name !== 'string' || name.trim() === '') at.fail([...argsPath, 'name'], name, 'a non-empty etcd member name');
      memberName = name;
    }
  }
  const external = e['externalCluster'] !== null && e['externalCluster'] !== undefined;
  return { storage: type === 'kine' ? 'kine' : external ? 'external' : 'etcd', memberName, peerAddress };
}

/** Finds the line of a value by its path, to name it in errors. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  fail(path: readonly string[], value: unknown, want: string): never {
    const key = path.join('.');
    const shown = describe(value);
    throw new K0sConfigError(this.file, this.lineOf(path), `${key || 'the document'} is ${shown}; k0s wants ${want}`);
  }

  mapping(path: readonly string[], value: unknown, want: string): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) this.fail(path, value, want);
  }

  optionalString(path: readonly string[], value: unknown, want: string, allowEmpty = false): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(path, value, want);
    if (!allowEmpty && value.trim() === '') this.fail(path, value, want);
    return value;
  }

  knownFields(path: readonly string[], value: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        throw new K0sConfigError(
          this.file,
          this.lineOf([...path, key]),
          `unknown field ${[...path, key].join('.')}: k0s refuses to start with it (known: ${known.join(', ')})`,
        );
      }
    }
  }

  private lineOf(path: readonly string[]): number | undefined {
    // The key's line for a mapping entry, else the value's.
    const parent = path.length === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === path[path.length - 1]);
      const node = pair?.key ?? pair?.value;
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    const node = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    return isNode(node) && node.range ? this.lines.linePos(node.range[0]).line : undefined;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'string') return value.trim() === '' ? `the empty string ${JSON.stringify(value)}` : `the string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `the boolean ${value} (YAML 1.1 reads yes/no/on/off as booleans)`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (value instanceof Date) return `the timestamp ${value.toISOString()}`;
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}
