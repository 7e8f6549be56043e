// Command line and environment, validated at the boundary: every bad value is reported with what would be
// right, and the caller exits 2.
import { existsSync, readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';
import { redact } from './redact.js';
import { checkTimings } from './events/timings.js';
import { K0S_CONFIG_DEFAULT } from './sources/k0s-config.js';
import { versionText } from './version.js';
import { parseK0sVersion, type K0sVersion } from './k0s/versions.js';

export const ENV_PREFIX = 'K0S_ETCDMEMBER_EXPORTER_';
export const DEFAULT_PORT = 9979;

/** Where k0s keeps the etcd client credentials on a controller; used when they exist and no flag says otherwise. */
export const K0S_PKI = {
  caFile: '/var/lib/k0s/pki/etcd/ca.crt',
  certFile: '/var/lib/k0s/pki/apiserver-etcd-client.crt',
  keyFile: '/var/lib/k0s/pki/apiserver-etcd-client.key',
} as const;

export interface Config {
  readonly etcdEndpoints: readonly string[];
  readonly etcdCaFile: string | undefined;
  readonly etcdCertFile: string | undefined;
  readonly etcdKeyFile: string | undefined;
  readonly etcdTimeoutMs: number;
  readonly kubeconfig: string | undefined;
  readonly kubernetesTimeoutMs: number;
  readonly intervalMs: number;
  readonly nodeMemberName: string | undefined;
  /** This host's k0s config file. */
  readonly k0sConfigFile: string;
  /** False for the default path, whose absence means k0s's defaults and whose failures only warn. */
  readonly k0sConfigFileGiven: boolean;
  /** --k0s.version: wins over the API server's /version; undefined to read it from there. */
  readonly k0sVersion: K0sVersion | undefined;
  /** The first --web.listen-address: what check assumes Prometheus reaches the exporter at. */
  readonly listenHost: string | undefined;
  readonly listenPort: number;
  /** Every --web.listen-address, in the order given, each served (exporter-toolkit's repeatable flag). */
  readonly listenAddresses: readonly ListenAddress[];
  /** --web.systemd-socket: serve on the sockets systemd passes (LISTEN_FDS) instead of --web.listen-address. */
  readonly systemdSocket: boolean;
  readonly telemetryPath: string;
  /**
   * The URL users reach the exporter at (behind a reverse proxy, say), as Prometheus's --web.external-url: links
   * to the runbook it serves are made under it. undefined: relative on the status page; check assumes
   * http://<hostname>:<listen port>/ as Prometheus does.
   */
  readonly webExternalUrl: string | undefined;
  /** exporter-toolkit web config (TLS, basic auth, headers); undefined: plain HTTP, no auth. */
  readonly webConfigFile: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Events on the EtcdMember objects, written by the one exporter that holds the Lease. */
  readonly events: EventsConfig;
}

export interface ListenAddress {
  /** undefined: every address. */
  readonly host: string | undefined;
  readonly port: number;
}

export interface EventsConfig {
  readonly enabled: boolean;
  /** Where the Events and the Lease live: the API server takes Events about cluster-scoped objects only in default or kube-system. */
  readonly namespace: string;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** How often a lasting finding's Event gets its series (count, last observed time) written. */
  readonly seriesRefreshMs: number;
}

/** The namespaces kube-apiserver accepts Events about cluster-scoped objects in (ValidateEventCreate). */
export const EVENT_NAMESPACES = ['default', 'kube-system'] as const;

/** One line for stderr and exit 2; any URL in it has its userinfo masked (the line quotes what the user typed). */
export class UsageError extends Error {
  constructor(message: string) {
    super(redact(message));
  }
}

/**
 * Every problem found with the configuration and the files it names, in one line: a host that is not set up
 * learns all that is missing at the first try, not one thing per try. One problem reads as it always did.
 */
export function usageErrorOf(problems: readonly string[]): UsageError {
  return new UsageError(problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`);
}

/** Parses Prometheus-style durations ("15s", "1m30s", "500ms"); rejects anything else, including 0. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === '') throw new InvalidArgumentError(`want a duration such as 15s, 1m or 500ms`);
  const [, h = '0', min = '0', s = '0', ms = '0'] = m;
  const total = ((Number(h) * 60 + Number(min)) * 60 + Number(s)) * 1000 + Number(ms);
  if (total <= 0) throw new InvalidArgumentError('want a duration greater than zero');
  return total;
}

function parseEndpoints(text: string): string[] {
  const endpoints = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw new InvalidArgumentError('want one or more comma-separated URLs such as https://127.0.0.1:2379');
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new InvalidArgumentError(`"${e}" is not a URL; want e.g. https://127.0.0.1:2379`);
    }
    if (url.username !== '' || url.password !== '') {
      // etcd's user/password auth is not implemented here, and a password on the command line shows in ps.
      throw new InvalidArgumentError(`"${redact(e)}" carries a user name or password: etcd credentials in URLs are not supported; use client certificates (--etcd.cert-file, --etcd.key-file)`);
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.port === '' || url.pathname !== '/') {
      throw new InvalidArgumentError(`"${e}" is not an etcd client URL; want scheme://host:port, e.g. https://127.0.0.1:2379`);
    }
  }
  return endpoints;
}

function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new InvalidArgumentError('want host:port, :port or [ipv6]:port, e.g. :9979');
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

function parseExternalUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('want an absolute http or https URL, e.g. https://exporter.example.org/ or http://proxy/k0s-etcdmember-exporter/');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError(`want an http or https URL, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new InvalidArgumentError('want a URL without a user name or password: it is shown in every runbook link');
  if (url.search !== '' || url.hash !== '') throw new InvalidArgumentError('want a URL without a query or fragment: the runbook path is appended to it');
  return url.href.replace(/\/+$/, '');
}

function parseChoice<T extends string>(choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text)) throw new InvalidArgumentError(`want one of ${choices.join(', ')}`);
    return text as T;
  };
}

function parseName(text: string): string {
  const name = text.trim().toLowerCase();
  if (name === '') throw new InvalidArgumentError('want a non-empty etcd member name');
  return name;
}

function parseBool(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError('want true or false');
}

function parseObjectName(text: string): string {
  if (text.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(text)) {
    throw new InvalidArgumentError('want a Kubernetes object name: lowercase letters, digits, - and ., e.g. k0s-etcdmember-exporter');
  }
  return text;
}

function parsePath(text: string): string {
  if (!text.startsWith('/')) throw new InvalidArgumentError('want a path starting with /, e.g. /metrics');
  return text;
}

function parsePathArg(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('want a file path, e.g. /etc/k0s/k0s.yaml');
  return text;
}

function parseK0sVersionArg(text: string): K0sVersion {
  try {
    return parseK0sVersion(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Why a file cannot be read, or undefined when it can. */
function unreadable(path: string): string | undefined {
  try {
    readFileSync(path, { flag: 'r' }).subarray(0, 0);
  } catch (err) {
    return `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  return undefined;
}

/** The flags naming files that must be readable at start; checked after parsing, so all are reported together. */
const FILE_FLAGS = [
  ['--etcd.ca-file', 'etcd.caFile'],
  ['--etcd.cert-file', 'etcd.certFile'],
  ['--etcd.key-file', 'etcd.keyFile'],
  ['--kubeconfig', 'kubeconfig'],
  ['--web.config.file', 'web.config.file'],
] as const;

function filePath(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('want a file path');
  return text;
}

/** Repeatable --web.listen-address: every value given, each checked; the default only when none is. */
function collectListenAddress(text: string, previous: ListenAddress[] | undefined): ListenAddress[] {
  return [...(previous ?? []), parseListenAddress(text)];
}

/** The environment variable that sets a flag: --etcd.ca-file -> K0S_ETCDMEMBER_EXPORTER_ETCD_CA_FILE. */
export function envName(flag: string): string {
  return ENV_PREFIX + flag.replace(/^--/, '').replace(/[.-]/g, '_').toUpperCase();
}

function option(flags: string, description: string): Option {
  const long = flags.split(' ')[0]!;
  return new Option(flags, description).env(envName(long));
}

export function buildCommand(version: string): Command {
  return new Command('k0s-etcdmember-exporter')
    .description('Prometheus exporter for etcd membership drift between etcd and EtcdMember objects in k0s clusters')
    .version(versionText(version), '--version', 'print the version and how it was built, and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .addOption(option('--etcd.endpoints <urls>', 'etcd client URLs, comma-separated; the first must be this controller\'s own member').default('https://127.0.0.1:2379').argParser(parseEndpoints))
    .addOption(option('--etcd.ca-file <path>', `CA bundle for etcd (default ${K0S_PKI.caFile} when present)`).argParser(filePath))
    .addOption(option('--etcd.cert-file <path>', `client certificate for etcd (default ${K0S_PKI.certFile} when present)`).argParser(filePath))
    .addOption(option('--etcd.key-file <path>', `client key for etcd (default ${K0S_PKI.keyFile} when present)`).argParser(filePath))
    .addOption(option('--etcd.timeout <duration>', 'deadline of one etcd read').default(5000, '5s').argParser(parseDuration))
    .addOption(option('--kubeconfig <path>', 'kubeconfig file (else $KUBECONFIG, else in-cluster service account, else ~/.kube/config)').argParser(filePath))
    .addOption(option('--kubernetes.timeout <duration>', 'deadline of one Kubernetes API request').default(10000, '10s').argParser(parseDuration))
    .addOption(option('--interval <duration>', 'how often to read etcd and re-analyse').default(15000, '15s').argParser(parseDuration))
    .addOption(option('--k0s.config-file <path>', `this host's k0s config, read at every refresh for the member name and peer address k0s uses at its next start (default ${K0S_CONFIG_DEFAULT} when it exists, else k0s's defaults)`).argParser(parsePathArg))
    .addOption(option('--k0s.version <version>', "the k0s version the controllers run, e.g. v1.31.3+k0s.0; wins over the API server's /version (default: read from there, again at every watch restart)").argParser(parseK0sVersionArg))
    .addOption(option('--node.member-name <name>', 'the etcd member name k0s registers on this host; wins over the k0s config (default: its spec.storage.etcd.extraArgs.name, else the kernel hostname)').argParser(parseName))
    // Repeatable, as in exporter-toolkit: every address given is served, with the same web config.
    .addOption(option('--web.listen-address <address>', `address to serve on; repeat to serve on several (default :${DEFAULT_PORT})`).argParser(collectListenAddress))
    // A switch as the toolkit's (--web.systemd-socket alone is on), that also takes =true/=false, so its variable
    // (set by the socket-activation drop-in of the systemd unit) is checked like any other value.
    .addOption(option('--web.systemd-socket [bool]', 'serve on the sockets systemd passes (socket activation, LISTEN_FDS) instead of --web.listen-address').preset('true').argParser(parseBool))
    .addOption(option('--web.telemetry-path <path>', 'path of the metrics endpoint').default('/metrics').argParser(parsePath))
    .addOption(option('--web.external-url <url>', 'the URL users reach the exporter at (e.g. through a reverse proxy): runbook links on the status page and in check point under it; default: relative links on the status page, http://<hostname>:<listen port>/ in check').argParser(parseExternalUrl))
    // Empty means no web config, as in the toolkit (its flag's default is ""): a template can always pass the flag.
    .addOption(option('--web.config.file <path>', 'web config in Prometheus exporter-toolkit format: TLS, basic auth, headers; re-read when it changes; empty: none').argParser((text) => (text === '' ? '' : filePath(text))))
    .addOption(option('--events.enabled <bool>', 'write Kubernetes Events on the EtcdMember objects for every finding (one exporter per cluster writes them, elected through a Lease)').default(true).argParser(parseBool))
    .addOption(option('--events.namespace <namespace>', `namespace of the Events and the Lease; the API server takes Events about cluster-scoped objects only in ${EVENT_NAMESPACES.join(' or ')}`).default('default').argParser(parseChoice(EVENT_NAMESPACES)))
    .addOption(option('--events.lease-name <name>', 'name of the coordination.k8s.io Lease that elects the one exporter writing Events').default('k0s-etcdmember-exporter').argParser(parseObjectName))
    .addOption(option('--events.lease-duration <duration>', 'how long the others wait after the last renewal they saw before taking the Lease over (whole seconds)').default(15000, '15s').argParser(parseDuration))
    .addOption(option('--events.renew-deadline <duration>', 'how long the leader keeps trying to renew the Lease before it stops writing').default(10000, '10s').argParser(parseDuration))
    .addOption(option('--events.retry-period <duration>', 'how often the Lease is renewed or tried for').default(2000, '2s').argParser(parseDuration))
    .addOption(option('--events.series-refresh <duration>', 'how often a lasting finding\'s Event gets its count and last-seen time written (its first repetition at once)').default(300000, '5m').argParser(parseDuration))
    .addOption(option('--log.level <level>', `one of ${LOG_LEVELS.join(', ')}`).default('info').argParser(parseChoice(LOG_LEVELS)))
    .addOption(option('--log.format <format>', `one of ${LOG_FORMATS.join(', ')}`).default('logfmt').argParser(parseChoice(LOG_FORMATS)))
    .allowExcessArguments(false)
    .addHelpText('after', '\nCommands (same source flags; see <command> --help):\n  check   print etcd\'s members and the EtcdMember objects joined by member ID, every finding and its safe next step\n  prune   delete the EtcdMember objects proven stale (dry run unless --yes)');
}

/**
 * Checks run once the command line parsed, given the configuration and the flags whose files were unreadable:
 * each returns the problems it finds, which are reported with the command line's own in one line.
 */
export type StartChecks = (cfg: Config, unreadableFlags: ReadonlySet<string>) => readonly string[];

/**
 * Parses argv (without node and script). Throws UsageError with one line naming every problem found (a bad
 * flag value stops at the first, as the parser does; files and combinations are all reported); help/version
 * throw {exitCode: 0}.
 */
export function parseConfig(argv: readonly string[], version: string, out: (s: string) => void = (s) => process.stdout.write(s), more?: StartChecks): Config {
  const cmd = buildCommand(version);
  let errorLine = '';
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: out, writeErr: (s) => (errorLine += s), outputError: (s) => (errorLine += s) });
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') throw new ExitRequest(0);
    const line = (errorLine || e.message || String(err)).trim().replace(/^error: /, '').replace(/\s+/g, ' ');
    throw new UsageError(e.code === 'commander.unknownOption' ? withSuggestion(line, version) : line);
  }
  const o = cmd.opts<Record<string, unknown>>();
  const problems: string[] = [];
  const unreadableFlags = new Set<string>();
  for (const [flag, key] of FILE_FLAGS) {
    const path = o[key] as string | undefined;
    const why = path === undefined || path === '' ? undefined : unreadable(path);
    if (why === undefined) continue;
    problems.push(`${flag}: ${why}`);
    unreadableFlags.add(flag);
  }
  const listen = (o['web.listenAddress'] as ListenAddress[] | undefined) ?? [{ host: undefined, port: DEFAULT_PORT }];
  const endpoints = normaliseEndpoints(o['etcd.endpoints']);
  const tls = endpoints.every((e) => e.startsWith('https:'));
  if (!tls && endpoints.some((e) => e.startsWith('https:'))) {
    problems.push(`--etcd.endpoints mixes http and https (${endpoints.join(',')}); the etcd client uses one scheme for all`);
  }
  // The k0s files are a default only for https: etcd3 would use TLS for every endpoint once it has them.
  const pick = (flag: keyof typeof K0S_PKI, key: string): string | undefined =>
    (o[key] as string | undefined) ?? (tls && existsSync(K0S_PKI[flag]) ? K0S_PKI[flag] : undefined);
  const cfg: Config = {
    etcdEndpoints: endpoints,
    etcdCaFile: pick('caFile', 'etcd.caFile'),
    etcdCertFile: pick('certFile', 'etcd.certFile'),
    etcdKeyFile: pick('keyFile', 'etcd.keyFile'),
    etcdTimeoutMs: o['etcd.timeout'] as number,
    kubeconfig: o['kubeconfig'] as string | undefined,
    kubernetesTimeoutMs: o['kubernetes.timeout'] as number,
    intervalMs: o['interval'] as number,
    nodeMemberName: o['node.memberName'] as string | undefined,
    k0sConfigFile: (o['k0s.configFile'] as string | undefined) ?? K0S_CONFIG_DEFAULT,
    k0sConfigFileGiven: o['k0s.configFile'] !== undefined,
    k0sVersion: o['k0s.version'] as K0sVersion | undefined,
    listenHost: listen[0]!.host,
    listenPort: listen[0]!.port,
    listenAddresses: listen,
    systemdSocket: o['web.systemdSocket'] === true,
    telemetryPath: o['web.telemetryPath'] as string,
    webExternalUrl: o['web.externalUrl'] as string | undefined,
    webConfigFile: (o['web.config.file'] as string | undefined) || undefined,
    logLevel: o['log.level'] as LogLevel,
    logFormat: o['log.format'] as LogFormat,
    events: {
      enabled: o['events.enabled'] as boolean,
      namespace: o['events.namespace'] as string,
      leaseName: o['events.leaseName'] as string,
      leaseDurationMs: o['events.leaseDuration'] as number,
      renewDeadlineMs: o['events.renewDeadline'] as number,
      retryPeriodMs: o['events.retryPeriod'] as number,
      seriesRefreshMs: o['events.seriesRefresh'] as number,
    },
  };
  const timings = checkTimings(cfg.events);
  if (timings !== undefined) problems.push(`--events.lease-duration, --events.renew-deadline, --events.retry-period: ${timings}`);
  if ((cfg.etcdCertFile === undefined) !== (cfg.etcdKeyFile === undefined)) {
    problems.push('--etcd.cert-file and --etcd.key-file go together: give both or neither');
  }
  if (tls && cfg.etcdCaFile === undefined) {
    problems.push(`https etcd endpoints need --etcd.ca-file (${K0S_PKI.caFile} was not found)`);
  }
  if (cfg.systemdSocket && o['web.listenAddress'] !== undefined && cmd.getOptionValueSource('web.listenAddress') === 'cli') {
    problems.push('--web.systemd-socket and --web.listen-address exclude each other: systemd\'s socket unit (ListenStream=) says where to listen');
  }
  problems.push(...(more?.(cfg, unreadableFlags) ?? []));
  if (problems.length > 0) throw usageErrorOf(problems);
  return cfg;
}

/**
 * commander suggests the closest flag for `--flag value`, but weighs `--flag=value` whole, so any value longer
 * than a few characters hides the suggestion. The name alone is asked again, of commander itself, and its
 * suggestion added.
 */
function withSuggestion(line: string, version: string): string {
  const m = /^unknown option '(--[^=']+)=.*'$/s.exec(line);
  if (m === null) return line;
  const again = buildCommand(version);
  let suggestion = '';
  again.exitOverride();
  again.configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: (s) => (suggestion += s) });
  try {
    again.parse([m[1]!], { from: 'user' });
  } catch {
    // The unknown option's error, whose text is in suggestion.
  }
  const hint = / \(Did you mean [^)]*\?\)\s*$/.exec(suggestion.replace(/\s+/g, ' '))?.[0].trimEnd();
  return hint === undefined ? line : `${line}${hint}`;
}

function normaliseEndpoints(v: unknown): string[] {
  // The default is a string that commander does not pass through the parser.
  return Array.isArray(v) ? (v as string[]) : parseEndpoints(String(v));
}

export class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
