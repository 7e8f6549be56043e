// k0s's node configuration (k0s.yaml) as k0s reads it, reduced to what k0s reads from it to start etcd on this
// host. Pure: text in, facts out, so every rule is tested on plain strings.
//
// How k0s reads it (pkg/apis/k0s/v1beta1/clusterconfig_types.go MergedWithYAML / ConfigFromString and
// internal/pkg/strictyaml/strictyaml.go, identical in v1.30.0+k0s.0 and v1.36.3+k0s.2):
// - sigs.k8s.io/yaml.UnmarshalStrict: go-yaml v2, i.e. YAML 1.1 (`yes` is a boolean), a duplicate key refused;
//   then Go's encoding/json with DisallowUnknownFields, into ClusterConfig, whose own UnmarshalJSON decodes with a
//   strict decoder again. Go's decoder matches keys case-insensitively (`peeraddress` sets PeerAddress), notes the
//   first unknown key, decodes on, and fails with that one. The JSON comes from a Go map, so keys are met in
//   sorted order, depth first. strictyaml forgives the failure when it names `interval` or `podSecurityPolicy`
//   (keys of old configs): then every other unknown key is ignored as well.
// - Four parts decode themselves with plain json.Unmarshal (UnmarshalJSON in storage.go, api.go, network.go,
//   images.go, v1.30.0 to v1.36.3 alike), which ignores unknown keys: spec.storage, spec.api, spec.network and
//   spec.images, everything under them included. So a `peerAdress` typo under spec.storage.etcd starts k0s with
//   the default peer address; a typo anywhere else (spec.storag, spec.extensions.helm.chart) stops k0s.
// - Which keys exist, per release: clusterconfig-keys.ts, generated from k0s's CRD (made from these Go types).
// - kind and apiVersion are not checked: old configs say `kind: Cluster`, new ones `kind: ClusterConfig`.
// - Anything absent or null keeps k0s's default: storage type etcd, no extraArgs, peerAddress chosen from the
//   host's interfaces at start (DefaultEtcdConfig calls iface.FirstPublicAddress).
// - An empty peerAddress ("") is taken as written: etcd gets --listen-peer-urls https://:2380 (GetPeerURL,
//   net.JoinHostPort) and refuses it ("expected IP in URL for binding", etcd embed/config.go). An empty extraArgs.name reaches etcd as --name= (etcd.go
//   takes ExtraArgs["name"] whenever the key exists), while k0s names the EtcdMember object after the hostname
//   (GetNodeName/GetMemberName skip an empty name). A name of spaces is not skipped: no object can be named after it.
// - spec.storage.etcd.rawArgs (v1.34.1+k0s.0 on, etcd.go `append(args.ToArgs(), e.Config.RawArgs...)`) come last
//   on etcd's command line, so a --name there names the member but not the object. Before 1.34.1 the key is
//   unknown and, under spec.storage, ignored.
// - `k0s controller --single` makes kine the default storage (pkg/config/cfgvars.go NodeConfig), but only while
//   the file has no spec.storage: StorageSpec.UnmarshalJSON resets the type to etcd before it decodes, so even
//   `storage: {}` means etcd; `storage: null` means the default etcd storage too.
// - spec.storage.etcd.externalCluster set, or type kine: k0s runs no etcd member on this host.
import { LineCounter, isMap, isNode, parseDocument, type Document } from 'yaml';
import { CLUSTER_CONFIG_KEYS } from './clusterconfig-keys.js';
import { atLeast, keyKnownIn, parseK0sRelease, type K0sRelease, type KeyEntry, type KeyNode } from './config-keys.js';

export interface K0sEtcdConfig {
  /** etcd: k0s runs an etcd member here; kine or external: it does not. */
  readonly storage: 'etcd' | 'kine' | 'external';
  /**
   * spec.storage.etcd.extraArgs.name as written (k0s passes it to etcd as --name, even when empty); undefined when
   * unset. k0s names the EtcdMember object after it when it is not empty, else after the hostname.
   */
  readonly memberName: string | undefined;
  /** spec.storage.etcd.peerAddress as written ("" included); undefined when unset (k0s then picks an interface address). */
  readonly peerAddress: string | undefined;
  /** spec.storage.etcd.rawArgs as written; k0s passes them to etcd from v1.34.1 on, and ignores them before. */
  readonly rawArgs?: readonly string[];
  /** etcd flags in extraArgs that take the peer address out of k0s's hands (listen-peer-urls, ...). */
  readonly peerUrlArgs?: readonly string[];
  /** What k0s does not do as an operator may think: keys it ignores, an empty name or address. One line each. */
  readonly notes?: readonly string[];
}

/** The k0s defaults: what k0s does with no config file, or an empty one. */
export const K0S_DEFAULTS: K0sEtcdConfig = { storage: 'etcd', memberName: undefined, peerAddress: undefined };

export interface ParseOptions {
  /** The k0s version that will read the file (v1.31.3+k0s.0); undefined: unknown, a key any release knows is accepted. */
  readonly k0sVersion?: string | undefined;
  /** k0s runs as `k0s controller --single`: the default storage is kine. */
  readonly single?: boolean;
}

/** A place in a file's text, 1-based, as editors and compilers name it (file:line:column). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

/** A k0s.yaml that k0s would not accept, or that cannot be read; the message is one line naming file, line and column. */
export class K0sConfigError extends Error {
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(
    readonly file: string,
    at: TextPosition | undefined,
    readonly detail: string,
    /** The errno code when the file could not be read (ENOENT, EACCES, EISDIR, ...); undefined for its content. */
    readonly code?: string,
  ) {
    super(`${file}${at === undefined ? '' : `:${at.line}:${at.column}`}: ${detail}`);
    this.line = at?.line;
    this.column = at?.column;
    this.name = 'K0sConfigError';
  }
}

function textPosition(lines: LineCounter, offset: number): TextPosition {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** The parts whose Go type decodes itself with plain json.Unmarshal: unknown keys there are ignored, not refused. */
export const LENIENT_PARTS: readonly string[] = ['spec.api', 'spec.images', 'spec.network', 'spec.storage'];
/** strictyaml forgives an unknown-field failure naming one of these (clusterconfig_types.go MergedWithYAML). */
export const FORGIVEN_KEYS: readonly string[] = ['interval', 'podSecurityPolicy'];
/**
 * metadata is a Kubernetes ObjectMeta (k8s.io/apimachinery/pkg/apis/meta/v1 types.go, json tags, apimachinery
 * 0.30 to 0.35 as k0s 1.30 to 1.36 vendor it), strict like the rest; the CRD does not spell it out.
 */
export const OBJECT_META_KEYS: readonly string[] = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];
/** etcd flags that set where etcd listens for or advertises peers: in extraArgs or rawArgs they override peerAddress. */
export const PEER_URL_FLAGS: readonly string[] = ['listen-peer-urls', 'initial-advertise-peer-urls'];

/** Parses the text of a k0s.yaml; throws K0sConfigError naming the line of the first problem. */
export function parseK0sConfig(text: string, file: string, options: ParseOptions = {}): K0sEtcdConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', lineCounter, prettyErrors: false, uniqueKeys: true });
  const parseError = doc.errors[0];
  if (parseError !== undefined) {
    throw new K0sConfigError(file, textPosition(lineCounter, parseError.pos[0]), `not valid YAML: ${parseError.message}`);
  }
  // yaml's toJS gives null for an empty document (or one of comments only), never undefined.
  let root: NonNullable<unknown> | null;
  try {
    // toJS refuses more than 100 aliases (maxAliasCount's default): a billion laughs fails here, not in memory.
    root = doc.toJS() as NonNullable<unknown> | null;
  } catch (err) {
    throw new K0sConfigError(file, undefined, `not valid YAML: ${(err as Error).message}`);
  }
  const defaults: K0sEtcdConfig = options.single ? { ...K0S_DEFAULTS, storage: 'kine' } : K0S_DEFAULTS;
  const at: Locator = new Locator(doc, lineCounter, file);
  if (root === null) return defaults;
  at.mapping([], root, 'a ClusterConfig mapping (apiVersion, kind, spec)');
  const r = root as Record<string, unknown>;
  const notes = checkKeys(r, parseK0sRelease(options.k0sVersion), at);
  const withNotes = (c: K0sEtcdConfig): K0sEtcdConfig => (notes.length === 0 ? c : { ...c, notes: [...(c.notes ?? []), ...notes] });
  at.optionalString(['kind'], r['kind'], 'a string such as ClusterConfig');
  at.optionalString(['apiVersion'], r['apiVersion'], 'a string such as k0s.k0sproject.io/v1beta1');

  const [specKey, spec] = field(r, 'spec');
  if (spec === null || spec === undefined) return withNotes(defaults);
  at.mapping([specKey], spec, 'a mapping');
  const [storageKey, storage] = field(spec as Record<string, unknown>, 'storage');
  // A spec without storage keeps the default (kine under --single); `storage: null` is Go's nil pointer, which
  // ClusterConfig.UnmarshalJSON replaces with DefaultStorageSpec(): etcd, even under --single.
  if (storage === undefined) return withNotes(defaults);
  if (storage === null) return withNotes(K0S_DEFAULTS);
  const storagePath = [specKey, storageKey];
  at.mapping(storagePath, storage, 'a mapping with type, etcd or kine');
  const s = storage as Record<string, unknown>;

  let type: 'etcd' | 'kine' = 'etcd';
  const [typeKey, t] = field(s, 'type');
  if (t !== null && t !== undefined) {
    if (t !== 'etcd' && t !== 'kine') at.fail([...storagePath, typeKey], t, 'etcd or kine');
    type = t;
  }
  const [etcdKey, etcd] = field(s, 'etcd');
  if (etcd === null || etcd === undefined) return withNotes({ ...K0S_DEFAULTS, storage: type });
  const etcdPath = [...storagePath, etcdKey];
  at.mapping(etcdPath, etcd, 'a mapping with peerAddress, extraArgs, ...');
  const e = etcd as Record<string, unknown>;

  const [peerKey, peerValue] = field(e, 'peerAddress');
  const peerAddress = at.optionalString([...etcdPath, peerKey], peerValue, 'the address etcd peers reach this host on, e.g. 10.0.0.1');
  const more: string[] = [];
  if (peerAddress !== undefined && peerAddress.trim() === '') {
    more.push(`${[...etcdPath, peerKey].join('.')} is empty: k0s takes it as written and gives etcd the peer URL https://:2380, which etcd refuses ("expected IP in URL for binding"); k0s picks an address only when the key is absent`);
  }
  let memberName: string | undefined;
  const peerUrlArgs: string[] = [];
  const [argsKey, extraArgs] = field(e, 'extraArgs');
  if (extraArgs !== null && extraArgs !== undefined) {
    const argsPath = [...etcdPath, argsKey];
    at.mapping(argsPath, extraArgs, 'a mapping of etcd flag names to string values');
    for (const [key, value] of Object.entries(extraArgs as Record<string, unknown>)) {
      // k0s decodes extraArgs as map[string]string: a null value is an empty string there, any other non-string fails.
      at.optionalString([...argsPath, key], value, 'a string (quote it)');
      if (PEER_URL_FLAGS.includes(key)) peerUrlArgs.push(`--${key}`);
    }
    // A Go map key is matched exactly: only `name` is etcd's --name.
    const name = (extraArgs as Record<string, unknown>)['name'];
    if (name !== undefined) {
      memberName = typeof name === 'string' ? name : '';
      if (memberName === '') {
        more.push(`${[...argsPath, 'name'].join('.')} is empty: k0s passes --name= to etcd (a member with no name) and names the EtcdMember object after the hostname`);
      } else if (memberName.trim() === '') {
        // A name of spaces is not skipped like "": GetNodeName returns it as the object name, which the API server
        // refuses (before v1.34.1), and nodeutil.GetHostname trims it to "" and fails (etcd_member_reconciler.go,
        // v1.34.1+k0s.0 on): either way createMemberObject errors and no object is made.
        more.push(`${[...argsPath, 'name'].join('.')} is only spaces (${JSON.stringify(memberName)}): k0s passes it to etcd as the member name but cannot create an EtcdMember object for this controller (spaces are no valid object name; from k0s 1.34.1 it logs "empty hostname is invalid"); set a real name or remove the key`);
      }
    }
  }
  let rawArgs: string[] | undefined;
  const [rawKey, raw] = field(e, 'rawArgs');
  // Before v1.34.1 the key does not exist, and StorageSpec's lenient decoder drops it (noted by checkKeys).
  if (raw !== null && raw !== undefined && passesRawArgs(options.k0sVersion) !== false) {
    if (!Array.isArray(raw)) at.fail([...etcdPath, rawKey], raw, 'a list of strings, e.g. ["--name=c1"]');
    rawArgs = raw.map((a, i) => {
      if (typeof a !== 'string') at.fail([...etcdPath, rawKey, String(i)], a, 'a string (quote it)');
      return a;
    });
  }
  const [, externalValue] = field(e, 'externalCluster');
  const external = externalValue !== null && externalValue !== undefined;
  const out: K0sEtcdConfig = {
    storage: type === 'kine' ? 'kine' : external ? 'external' : 'etcd',
    memberName,
    peerAddress,
    ...(rawArgs === undefined ? {} : { rawArgs }),
    ...(peerUrlArgs.length === 0 ? {} : { peerUrlArgs }),
    ...(more.length === 0 ? {} : { notes: more }),
  };
  return withNotes(out);
}

/**
 * The value of a struct field as Go's encoding/json sets it: keys matching the field name case-insensitively all
 * decode into it, in sorted order, so the last one wins. Returns the key used (for messages) and the value.
 */
function field(obj: Record<string, unknown>, name: string): [string, unknown] {
  // Go sorts map keys by their bytes; for the ASCII keys of a k0s.yaml that is sort()'s code-unit order.
  const matches = Object.keys(obj)
    .filter((k) => k.toLowerCase() === name.toLowerCase())
    .sort();
  const key = matches[matches.length - 1];
  return key === undefined ? [name, undefined] : [key, obj[key]];
}


interface UnknownKey {
  readonly path: readonly string[];
  readonly suggestion: string | undefined;
}

/**
 * Every key k0s does not know, in the order its decoder meets them. Throws for the first one in a strict part
 * (unless strictyaml forgives it); returns one note per key k0s ignores.
 */
function checkKeys(root: Record<string, unknown>, release: K0sRelease | undefined, at: Locator): string[] {
  const strict: UnknownKey[] = [];
  const lenient: UnknownKey[] = [];
  const walk = (value: unknown, node: KeyNode, path: string[], inLenient: boolean): void => {
    if (Array.isArray(value)) {
      if (node.items !== undefined) value.forEach((v, i) => walk(v, node.items!, [...path, String(i)], inLenient));
      return;
    }
    if (typeof value !== 'object' || value === null || value instanceof Date) return;
    const known = path.length === 1 && path[0]!.toLowerCase() === 'metadata' ? objectMetaNode : node;
    if (known.any || known.keys === undefined) return;
    for (const key of Object.keys(value).sort()) {
      const entry = lookup(known.keys, key, release);
      const here = [...path, key];
      if (entry === undefined) {
        const names = Object.entries(known.keys).filter(([, e]) => keyKnownIn(e, release)).map(([k]) => k);
        (inLenient ? lenient : strict).push({ path: here, suggestion: closest(key, names) });
        continue;
      }
      walk((value as Record<string, unknown>)[key], entry, here, inLenient || LENIENT_PARTS.includes(here.join('.').toLowerCase()));
    }
  };
  walk(root, CLUSTER_CONFIG_KEYS, [], false);
  const notes: string[] = [];
  const first = strict[0];
  if (first !== undefined) {
    const key = first.path[first.path.length - 1]!;
    if (!FORGIVEN_KEYS.includes(key)) {
      const hint = first.suggestion === undefined ? '' : ` (did you mean ${[...first.path.slice(0, -1), first.suggestion].join('.')}?)`;
      const where = release === undefined ? 'no k0s release from 1.30 to 1.36 knows it' : `k0s ${release.slice(0, 3).join('.')} does not know it`;
      throw new K0sConfigError(at.file, at.positionOf(first.path), `unknown field ${first.path.join('.')}${hint}: k0s refuses to start with it (${where})`);
    }
    notes.push(
      `${first.path.join('.')} is not a field k0s knows, but k0s forgives an unknown ${key} (strictyaml)${strict.length > 1 ? `, and so ignores ${strict.slice(1).map((u) => u.path.join('.')).join(', ')} as well` : ''}`,
    );
  }
  for (const u of lenient) {
    const hint = u.suggestion === undefined ? '' : ` (did you mean ${u.suggestion}?)`;
    // peerAddress is known under spec.storage.etcd only (clusterconfig-keys.ts), so a key taken for it is there.
    const effect = u.suggestion === 'peerAddress' ? ': k0s ignores it and gives etcd the default peer address' : ': k0s ignores it';
    notes.push(`${u.path.join('.')} is not a field k0s knows${hint}${effect}`);
  }
  return notes;
}

// No key below metadata's own is checked: labels and annotations are maps, and a node without `keys` is not walked.
const objectMetaNode: KeyNode = { keys: Object.fromEntries(OBJECT_META_KEYS.map((k) => [k, {}])) };

/**
 * The entry for a key as Go's decoder finds its field: an exact match, else a case-insensitive one. No two keys k0s
 * knows in one mapping differ only in case (clusterconfig-keys.ts), so the case-insensitive match is that field.
 */
function lookup(keys: Readonly<Record<string, KeyEntry>>, key: string, release: K0sRelease | undefined): KeyEntry | undefined {
  const folded = Object.entries(keys).find(([k, e]) => k.toLowerCase() === key.toLowerCase() && keyKnownIn(e, release));
  return folded?.[1];
}

/** The known key closest to a misspelt one (edit distance at most a third of its length, at least 1), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  // With no known key at all, bestDistance stays Infinity.
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Whether this k0s release passes spec.storage.etcd.rawArgs to etcd (v1.34.1+k0s.0 on); undefined when the version is unknown. */
export function passesRawArgs(k0sVersion: string | undefined): boolean | undefined {
  const release = parseK0sRelease(k0sVersion);
  return release === undefined ? undefined : atLeast(release, 'v1.34.1+k0s.0');
}

/**
 * The last value an etcd flag gets from rawArgs (etcd's Go flag package: the last occurrence wins; -name and
 * --name, `--name=x` and `--name x` alike); undefined when rawArgs do not set it.
 */
export function rawArgValue(rawArgs: readonly string[] | undefined, flag: string): string | undefined {
  let value: string | undefined;
  // The argument before was the flag, without `=`: this one is its value, whatever it looks like.
  let takesNext = false;
  if (rawArgs === undefined) return undefined;
  for (const arg of rawArgs) {
    if (takesNext) {
      value = arg;
      takesNext = false;
      continue;
    }
    // `.*` with the s flag takes the rest of the argument, newlines included.
    const m = /^--?([^=]+)(?:=(.*))?/s.exec(arg);
    if (m?.[1] !== flag) continue;
    value = m[2] ?? '';
    takesNext = m[2] === undefined;
  }
  return value;
}

/** Finds the line of a value by its path, to name it in errors. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  fail(path: readonly string[], value: unknown, want: string): never {
    const key = path.join('.');
    const shown = describe(value);
    throw new K0sConfigError(this.file, this.positionOf(path), `${key || 'the document'} is ${shown}; k0s wants ${want}`);
  }

  /** The callers keep k0s's default for an absent or null value before they ask for a mapping. */
  mapping(path: readonly string[], value: NonNullable<unknown>, want: string): void {
    if (typeof value !== 'object' || Array.isArray(value) || value instanceof Date) this.fail(path, value, want);
  }

  /** A string as written, "" included (k0s takes an empty one as written too); undefined for absent or null. */
  optionalString(path: readonly string[], value: unknown, want: string): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(path, value, want);
    return value;
  }

  positionOf(path: readonly string[]): TextPosition | undefined {
    // The key's line for a mapping entry, else the value's. getIn([]) is the document's root.
    // A parent is a collection: getIn's keepScalar does not concern it.
    const parent = this.doc.getIn(path.slice(0, -1));
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === path[path.length - 1]);
      const node = pair?.key ?? pair?.value;
      if (isNode(node) && node.range) return textPosition(this.lines, node.range[0]);
    }
    const node = this.doc.getIn(path, true);
    return isNode(node) && node.range ? textPosition(this.lines, node.range[0]) : undefined;
  }
}

function describe(value: unknown): string {
  // No undefined reaches here: it is a YAML value, and YAML has none.
  if (value === null) return 'empty';
  if (typeof value === 'string') return value.trim() === '' ? `the empty string ${JSON.stringify(value)}` : `the string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `the boolean ${value} (YAML 1.1 reads yes/no/on/off as booleans)`;
  // YAML integers are JavaScript numbers here (yaml's intAsBigInt is off).
  if (typeof value === 'number') return `the number ${String(value)}`;
  if (value instanceof Date) return `the timestamp ${value.toISOString()}`;
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}
