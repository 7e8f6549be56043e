// The --web.config.file format of Prometheus' exporter-toolkit (web/tls_config.go, web/handler.go), so the file an
// operator already uses for node_exporter works here. Parsed strictly, as the toolkit's yaml.UnmarshalStrict does:
// an unknown key is an error, not a silent no-op. Keys the toolkit has but Node cannot honour are refused by name,
// so nobody believes a protection is on when it is not.
import { dirname, isAbsolute, join } from 'node:path';
import { LineCounter, isAlias, isMap, isNode, isScalar, parseDocument, type Document } from 'yaml';

export class WebConfigError extends Error {
  constructor(
    /** The key at fault, e.g. "tls_server_config.min_version", or "" for the whole file. */
    readonly key: string,
    message: string,
    /** Where in the file (1-based), when the problem is in its text. */
    readonly position?: { readonly line: number; readonly column: number },
  ) {
    super(key === '' ? message : `${key}: ${message}`);
    this.name = 'WebConfigError';
  }
}

/** file:line:column, or the file alone for a problem with no place in its text (an unreadable file, say). */
export function webConfigErrorPlace(file: string, err: WebConfigError): string {
  return `${file}${err.position === undefined ? '' : `:${err.position.line}:${err.position.column}`}`;
}

/** file:line:column: message. */
export function webConfigErrorWhere(file: string, err: WebConfigError): string {
  return `${webConfigErrorPlace(file, err)}: ${err.message}`;
}

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
/** The toolkit's names; TLS10 and TLS11 are known but refused (see parseVersion). */
const TLS_VERSIONS: Record<string, TlsVersion | null> = { TLS13: 'TLSv1.3', TLS12: 'TLSv1.2', TLS11: null, TLS10: null };

/**
 * Go's crypto/tls.CipherSuites() names (the only ones the toolkit accepts) mapped to OpenSSL's. The TLS 1.3
 * suites map to null: Go ignores cipher_suites for TLS 1.3, and so do we.
 */
export const CIPHER_SUITES: Record<string, string | null> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** The toolkit's curve names mapped to OpenSSL's group names (Node's ecdhCurve). */
const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/**
 * Response headers the toolkit lets a web config set, with the values it allows (empty: any value). Private on
 * purpose there "to ensure consistency in the Prometheus ecosystem"; everything else (Content-Type, Set-Cookie,
 * ...) can not be configured.
 */
export const CONFIGURABLE_HEADERS: Record<string, readonly string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

export interface TlsServerConfig {
  /** Absolute paths (relative ones are resolved against the web config file's directory, as the toolkit does). */
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | undefined;
  readonly clientAuthType: ClientAuthType;
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher list for TLS 1.2; undefined: Node's default. */
  readonly ciphers: string | undefined;
  readonly honorCipherOrder: boolean;
  /** OpenSSL group list; undefined: Node's default. */
  readonly ecdhCurve: string | undefined;
}

export interface WebConfig {
  /** Undefined: plain HTTP (the toolkit's "TLS is disabled"). */
  readonly tls: TlsServerConfig | undefined;
  /** User name to bcrypt hash; empty: no authentication. */
  readonly users: ReadonlyMap<string, string>;
  readonly headers: ReadonlyMap<string, string>;
}

const TOP_KEYS = ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit'];
const TLS_KEYS = [
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'cipher_suites',
  'curve_preferences',
  'min_version',
  'max_version',
  'prefer_server_cipher_suites',
  'client_allowed_sans',
];
/** Keys of the toolkit's format this exporter refuses, and why. */
const REFUSED: Record<string, string> = {
  'tls_server_config.cert': 'inline certificates are not supported here; put the certificate in a file and use cert_file',
  'tls_server_config.key': 'inline keys are not supported here; put the key in a file and use key_file',
  'tls_server_config.client_ca': 'inline CAs are not supported here; put the CA in a file and use client_ca_file',
  'tls_server_config.client_allowed_sans': 'is not supported by this exporter; remove it (client certificates are verified against client_ca_file only)',
  rate_limit: "is refused: this exporter does not implement the toolkit's request rate limiter, and accepting a limit that does nothing would be worse; remove it",
};

/** Parses and validates a web config file's text; `path` resolves relative file names. Throws WebConfigError. */
export function parseWebConfig(text: string, path: string): WebConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter: lines });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) throw new WebConfigError('', `not valid YAML: ${yamlError.message.split('\n')[0]}`, place(lines, yamlError.pos[0]));
  try {
    return parseValid(doc, path);
  } catch (err) {
    // parseValid's refusals name their key and no place: the place is found here, in the parsed text.
    if (!(err instanceof WebConfigError)) throw err;
    throw new WebConfigError(err.key, err.message.slice(err.key === '' ? 0 : err.key.length + 2), keyPosition(doc, lines, err.key));
  }
}

/**
 * Where a dotted key (as WebConfigError names it) is written: the deepest part of its path that is in the document
 * (a missing key is reported at its parent), else the start of the document. "" is the whole file, unless the file
 * has a key "" (the one refused then).
 */
function keyPosition(doc: Document, lines: LineCounter, key: string): { line: number; column: number } | undefined {
  const path = key.split('.');
  while (path.length > 0) {
    const name = path.pop();
    const parent = doc.getIn(path);
    const node = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === name)?.key : undefined;
    if (isNode(node) && node.range) return place(lines, node.range[0]);
  }
  return isNode(doc.contents) && doc.contents.range ? place(lines, doc.contents.range[0]) : undefined;
}

function place(lines: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function parseValid(doc: Document, path: string): WebConfig {
  const root: unknown = doc.toJS() ?? {};
  const top = mapping(root, '');
  checkKeys(top, TOP_KEYS, '');
  const dir = dirname(path);
  return {
    tls: top['tls_server_config'] === undefined || top['tls_server_config'] === null ? undefined : parseTls(top['tls_server_config'], dir),
    users: parseUsers(top['basic_auth_users']),
    headers: parseHttp(top['http_server_config'], headerSources(doc)),
  };
}

function parseTls(raw: unknown, dir: string): TlsServerConfig | undefined {
  const key = 'tls_server_config';
  const t = mapping(raw, key);
  checkKeys(t, TLS_KEYS, key);
  const certFile = optString(t['cert_file'], `${key}.cert_file`);
  const keyFile = optString(t['key_file'], `${key}.key_file`);
  const clientCaFile = optString(t['client_ca_file'], `${key}.client_ca_file`);
  const clientAuthRaw = optString(t['client_auth_type'], `${key}.client_auth_type`);
  // The toolkit's IsEnabled: any of these set means TLS is wanted, and then cert and key must both be there.
  if (certFile === undefined && keyFile === undefined && clientCaFile === undefined && clientAuthRaw === undefined) return undefined;
  if (certFile === undefined) throw new WebConfigError(`${key}.cert_file`, 'missing: TLS needs cert_file and key_file');
  if (keyFile === undefined) throw new WebConfigError(`${key}.key_file`, 'missing: TLS needs cert_file and key_file');
  let clientAuthType: ClientAuthType;
  if (clientAuthRaw === undefined) clientAuthType = 'NoClientCert';
  else if (clientAuthRaw === 'RequireClientCert') clientAuthType = 'RequireAnyClientCert'; // the toolkit's old alias
  else if ((CLIENT_AUTH_TYPES as readonly string[]).includes(clientAuthRaw)) clientAuthType = clientAuthRaw as ClientAuthType;
  else throw new WebConfigError(`${key}.client_auth_type`, `unknown value ${JSON.stringify(clientAuthRaw)}; want one of ${CLIENT_AUTH_TYPES.join(', ')}`);
  if (clientCaFile !== undefined && clientAuthType === 'NoClientCert') {
    throw new WebConfigError(`${key}.client_ca_file`, 'is set but client_auth_type is NoClientCert; set client_auth_type, e.g. RequireAndVerifyClientCert');
  }
  const minVersion = parseVersion(t['min_version'], `${key}.min_version`) ?? 'TLSv1.2';
  const maxVersion = parseVersion(t['max_version'], `${key}.max_version`) ?? 'TLSv1.3';
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2') {
    throw new WebConfigError(`${key}.max_version`, 'is below min_version');
  }
  let ciphers: string | undefined;
  if (t['cipher_suites'] !== undefined && t['cipher_suites'] !== null) {
    const names = stringList(t['cipher_suites'], `${key}.cipher_suites`);
    const openssl: string[] = [];
    for (const name of names) {
      if (!Object.hasOwn(CIPHER_SUITES, name)) {
        throw new WebConfigError(`${key}.cipher_suites`, `unknown cipher ${JSON.stringify(name)}; want Go crypto/tls names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`);
      }
      const mapped = CIPHER_SUITES[name];
      if (mapped) openssl.push(mapped);
    }
    // max_version TLS12 means min TLS12 too: a min above the max was refused above.
    if (openssl.length === 0 && maxVersion === 'TLSv1.2') {
      throw new WebConfigError(`${key}.cipher_suites`, 'lists no TLS 1.2 suite but TLS 1.2 is the only version allowed');
    }
    // TLS 1.3 suites are not configurable (as in Go); keep OpenSSL's defaults for them.
    if (openssl.length > 0) ciphers = openssl.join(':');
  }
  let ecdhCurve: string | undefined;
  if (t['curve_preferences'] !== undefined && t['curve_preferences'] !== null) {
    const names = stringList(t['curve_preferences'], `${key}.curve_preferences`);
    ecdhCurve = names
      .map((n) => {
        const c = lookup(CURVES, n);
        if (c === undefined) throw new WebConfigError(`${key}.curve_preferences`, `unknown curve ${JSON.stringify(n)}; want one of ${Object.keys(CURVES).join(', ')}`);
        return c;
      })
      .join(':');
  }
  const prefer = t['prefer_server_cipher_suites'];
  if (prefer !== undefined && prefer !== null && typeof prefer !== 'boolean') {
    throw new WebConfigError(`${key}.prefer_server_cipher_suites`, `want true or false, got ${JSON.stringify(prefer)}`);
  }
  return {
    certFile: resolvePath(dir, certFile),
    keyFile: resolvePath(dir, keyFile),
    clientCaFile: clientCaFile === undefined ? undefined : resolvePath(dir, clientCaFile),
    clientAuthType,
    minVersion,
    maxVersion,
    ciphers,
    honorCipherOrder: prefer ?? true,
    ecdhCurve,
  };
}

function parseVersion(raw: unknown, key: string): TlsVersion | undefined {
  const v = optString(raw, key);
  if (v === undefined) return undefined;
  const mapped = lookup(TLS_VERSIONS, v);
  if (mapped === undefined) throw new WebConfigError(key, `unknown TLS version ${JSON.stringify(v)}; want TLS12 or TLS13`);
  // OpenSSL 3, which Node uses, allows TLS below 1.2 only at security level 0; refusing is more honest than
  // accepting a setting that would silently not take effect.
  if (mapped === null) throw new WebConfigError(key, `${v} is not supported (Node's OpenSSL refuses TLS below 1.2); want TLS12 or TLS13`);
  return mapped;
}

// bcrypt hashes as htpasswd -B ($2y$), Go (golang.org/x/crypto/bcrypt: $2a$) and others ($2b$) write them.
const BCRYPT = /^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

function parseUsers(raw: unknown): Map<string, string> {
  const users = new Map<string, string>();
  if (raw === undefined || raw === null) return users;
  const m = mapping(raw, 'basic_auth_users');
  for (const [user, hash] of Object.entries(m)) {
    const key = `basic_auth_users.${user}`;
    if (user === '' || user.includes(':')) throw new WebConfigError(key, 'a user name must be non-empty and contain no ":" (HTTP basic auth cannot send it)');
    if (typeof hash !== 'string') throw new WebConfigError(key, 'want a bcrypt hash string such as htpasswd -nBC 10 prints');
    const cost = BCRYPT.exec(hash);
    // Only the shape is reported: the value is a secret-equivalent and stays out of logs.
    if (!cost) throw new WebConfigError(key, 'is not a bcrypt hash; make one with: htpasswd -nBC 10 "" | tr -d \':\\n\'');
    if (Number(cost[1]) < 4 || Number(cost[1]) > 31) throw new WebConfigError(key, `bcrypt cost ${cost[1]} is out of range 4-31`);
    users.set(user, hash);
  }
  return users;
}

/** Each header value's text as written in the file, for scalars YAML reads as numbers or booleans. */
function headerSources(doc: Document): Map<string, string> {
  const out = new Map<string, string>();
  // Stryker disable next-line BooleanLiteral: keepScalar changes only what a scalar gives, and headers is a map.
  const headers = doc.getIn(['http_server_config', 'headers'], true);
  if (!isMap(headers)) return out;
  for (const pair of headers.items) {
    // An alias (*one) stands for the text of its anchor (&one 1.0), as in Go's YAML.
    const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
    if (isScalar(pair.key) && isScalar(value) && typeof value.source === 'string') out.set(String(pair.key.value), value.source);
  }
  return out;
}

function parseHttp(raw: unknown, sources: ReadonlyMap<string, string>): Map<string, string> {
  const headers = new Map<string, string>();
  if (raw === undefined || raw === null) return headers;
  const key = 'http_server_config';
  const h = mapping(raw, key);
  checkKeys(h, ['headers', 'http2'], key);
  // HTTP/2 is an offer the client may take or not; this server answers HTTP/1.1, which every Prometheus speaks
  // (Prometheus scrapes over HTTP/1.1 unless enable_http2 is set, and then falls back).
  if (h['http2'] !== undefined && h['http2'] !== null && typeof h['http2'] !== 'boolean') {
    throw new WebConfigError(`${key}.http2`, `want true or false, got ${JSON.stringify(h['http2'])}`);
  }
  if (h['headers'] === undefined || h['headers'] === null) return headers;
  for (const [name, parsed] of Object.entries(mapping(h['headers'], `${key}.headers`))) {
    const k = `${key}.headers.${name}`;
    // Go's YAML fills a string field from any scalar as written: an unquoted `X-XSS-Protection: 1` is "1" there
    // (the toolkit's own headers test), where YAML 1.2 reads a number. The text as written is taken.
    const value = typeof parsed === 'number' || typeof parsed === 'boolean' ? (sources.get(name) ?? String(parsed)) : parsed;
    const allowed = lookup(CONFIGURABLE_HEADERS, name);
    if (allowed === undefined) throw new WebConfigError(k, `HTTP header ${JSON.stringify(name)} can not be configured; want one of ${Object.keys(CONFIGURABLE_HEADERS).join(', ')}`);
    if (typeof value !== 'string') throw new WebConfigError(k, 'want a string');
    if (allowed.length > 0 && !allowed.includes(value)) throw new WebConfigError(k, `invalid value ${JSON.stringify(value)}; want one of ${allowed.join(', ')}`);
    if (/[\r\n\0]/.test(value)) throw new WebConfigError(k, 'a header value cannot contain line breaks or NUL');
    headers.set(name, value);
  }
  return headers;
}

function mapping(raw: unknown, key: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new WebConfigError(key, `want a mapping, got ${Array.isArray(raw) ? 'a list' : JSON.stringify(raw)}`);
  }
  return raw as Record<string, unknown>;
}

function checkKeys(m: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const k of Object.keys(m)) {
    const full = prefix === '' ? k : `${prefix}.${k}`;
    // Only keys this exporter takes are offered: a refused key (rate_limit, inline certificates) has its own message.
    const offered = known.filter((key) => lookup(REFUSED, prefix === '' ? key : `${prefix}.${key}`) === undefined);
    if (!known.includes(k)) throw new WebConfigError(full, `unknown key; want one of ${offered.join(', ')}`);
    const refused = lookup(REFUSED, full);
    if (refused !== undefined && m[k] !== null) throw new WebConfigError(full, refused);
  }
}

function optString(raw: unknown, key: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw new WebConfigError(key, `want a string, got ${JSON.stringify(raw)}`);
  return raw === '' ? undefined : raw;
}

function stringList(raw: unknown, key: string): string[] {
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) throw new WebConfigError(key, 'want a list of strings');
  return raw as string[];
}

/**
 * The table's entry for a name from the file, its own entries only: `in` and indexing would also find what every
 * object inherits (toString, constructor, __proto__), and take `min_version: toString` for a TLS version.
 */
function lookup<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

function resolvePath(dir: string, p: string): string {
  return isAbsolute(p) ? p : join(dir, p);
}
