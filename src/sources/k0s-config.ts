// The host's own k0s config file, read again at every refresh: an operator who edits k0s.yaml sees what k0s will
// do at its next start without restarting the exporter. Reading a small local file is cheap and cannot hang, so
// there is no deadline and no backoff here. Beside it, the host's interfaces, from which k0s picks the peer
// address the file leaves unset: read in the background (`ip` has its own deadline) at the same interval.
import { readFileSync, statSync } from 'node:fs';
import { readInterfaces, type InterfacesRead } from '../hostfacts.js';
import { K0S_DEFAULTS, K0sConfigError, parseK0sConfig, type K0sEtcdConfig, type ParseOptions } from '../k0s/config.js';
import type { Logger } from '../log.js';
import { SourceError, SourceStatus, errorMessage, type ErrorReason, type Source, type SourceHealth } from './source.js';

/** Where k0s reads its config unless started with another --config (pkg/constant K0sConfigPathDefault). */
export const K0S_CONFIG_DEFAULT = '/etc/k0s/k0s.yaml';

/** A k0s.yaml is a few kilobytes; anything this large is not one, and is not read into memory. */
const MAX_BYTES = 1 << 20;

export interface K0sConfigSnapshot {
  /** The file read; undefined when the default path does not exist and k0s therefore uses its defaults. */
  readonly file: string | undefined;
  readonly config: K0sEtcdConfig;
  /** The host's interfaces, once read; undefined before the first reading. */
  readonly interfaces?: InterfacesRead | undefined;
}

/**
 * Reads and parses a k0s config file once. Throws K0sConfigError, one line naming the file (and the line, for a
 * parse or type error). `optional`: a missing file is k0s's defaults, as k0s treats its default path.
 */
export function readK0sConfigFile(path: string, optional: boolean, parse: ParseOptions = {}): K0sConfigSnapshot {
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new K0sConfigError(path, undefined, 'is a directory; want the k0s config file (k0s.yaml)', 'EISDIR');
    if (st.size > MAX_BYTES) throw new K0sConfigError(path, undefined, `is ${st.size} bytes; a k0s config is at most ${MAX_BYTES}`, 'EFBIG');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof K0sConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return { file: undefined, config: parse.single ? { ...K0S_DEFAULTS, storage: 'kine' } : K0S_DEFAULTS };
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? `cannot be read (${code}): give the exporter read access` : `cannot be read (${code ?? String(err)})`;
    throw new K0sConfigError(path, undefined, why, code ?? 'EIO');
  }
  return { file: path, config: parseK0sConfig(text, path, parse) };
}

export interface K0sConfigSourceOptions {
  readonly path: string;
  /** True when the path is the default one, whose absence means k0s's defaults. */
  readonly optional: boolean;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** The k0s version on this host when known (it decides which keys exist and how the peer address is picked). */
  readonly k0sVersion?: () => string | undefined;
  /** k0s runs as `k0s controller --single` (kine by default). */
  readonly single?: boolean;
  /** Reads the host's interfaces; readInterfaces (netlink through `ip`, else Node) unless a test gives another. */
  readonly readInterfaces?: () => Promise<InterfacesRead>;
}

/**
 * Not a PolledSource: the read is synchronous and cannot hang, and a file that stays broken is logged once per
 * distinct problem (one warning), not once per read.
 */
export class K0sConfigSource implements Source<K0sConfigSnapshot> {
  readonly name = 'k0s_config' as const;
  private readonly status = new SourceStatus();
  private current: K0sConfigSnapshot | undefined;
  private lastError: string | undefined;
  /** The snapshot as JSON, to tell a changed file from a re-read of the same one. */
  private lastKey: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private interfaces: InterfacesRead | undefined;
  private readingInterfaces = false;
  private stopped = false;

  constructor(private readonly opts: K0sConfigSourceOptions) {}

  /** Reads at once (the read is synchronous: snapshot() and health() tell how it went as soon as start() returns), then every interval; onChange when the view changes. */
  start(onChange: () => void): void {
    if (this.timer !== undefined) return;
    this.read();
    onChange();
    this.readInterfacesThen(onChange);
    this.timer = setInterval(() => {
      if (this.read()) onChange();
      this.readInterfacesThen(onChange);
    }, this.opts.intervalMs);
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    return Promise.resolve();
  }

  /** The parsed config and the latest interface reading; undefined while the file cannot be read or parsed. */
  snapshot(): K0sConfigSnapshot | undefined {
    return this.current === undefined ? undefined : { ...this.current, interfaces: this.interfaces };
  }

  /** One background reading of the interfaces (never two at once); onChange when it differs from the last. */
  private readInterfacesThen(onChange: () => void): void {
    if (this.readingInterfaces) return;
    this.readingInterfaces = true;
    void (this.opts.readInterfaces ?? readInterfaces)().then((read) => {
      this.readingInterfaces = false;
      if (this.stopped) return;
      const before = this.interfaces;
      this.interfaces = read;
      if (read.why !== before?.why && read.why !== undefined) {
        this.opts.logger.warn("the host's interfaces are read through os.networkInterfaces(), which hides interfaces that are down and secondary flags: a peer address they could change is not predicted", { reason: read.why });
      }
      if (JSON.stringify(read) !== JSON.stringify(before)) onChange();
    });
  }

  health(): SourceHealth {
    return this.status.health();
  }

  errorCounts(): ReadonlyMap<ErrorReason, number> {
    return this.status.errorCounts();
  }

  /** One read; true when what the analysis sees changed. Logs once per change, not once per read. */
  private read(): boolean {
    const started = performance.now();
    const before = this.lastKey;
    try {
      const snap = readK0sConfigFile(this.opts.path, this.opts.optional, { k0sVersion: this.opts.k0sVersion?.(), single: this.opts.single });
      const key = JSON.stringify(snap);
      if (key !== this.lastKey) this.logRead(snap);
      this.current = snap;
      this.lastKey = key;
      this.lastError = undefined;
      this.status.succeeded((performance.now() - started) / 1000);
    } catch (err) {
      const e = new SourceError(k0sConfigErrorReason(err), errorMessage(err));
      if (e.message !== this.lastError) {
        this.opts.logger.warn('k0s config unusable: the name and peer address k0s uses at its next start are not predicted', { reason: e.reason, err: e.message });
      }
      this.status.failed(e, (performance.now() - started) / 1000);
      this.current = undefined;
      this.lastKey = undefined;
      this.lastError = e.message;
    }
    return this.lastKey !== before;
  }

  private logRead(snap: K0sConfigSnapshot): void {
    const c = snap.config;
    // One warning per thing k0s does otherwise than the file seems to say (a key it ignores, an empty address).
    for (const note of c.notes ?? []) this.opts.logger.warn(`k0s config: ${note}`, { file: snap.file ?? this.opts.path });
    if (c.storage !== 'etcd') {
      const what = c.storage === 'kine' ? 'spec.storage.type is kine' : 'spec.storage.etcd.externalCluster is set';
      this.opts.logger.info(`k0s runs no etcd member on this host (${what}): local drift is not judged`, { file: snap.file ?? '' });
      return;
    }
    this.opts.logger.info(snap.file === undefined ? 'no k0s config file: k0s uses its defaults' : 'k0s config read', {
      file: snap.file ?? this.opts.path,
      member_name: c.memberName ?? '(hostname)',
      peer_address: c.peerAddress ?? '(first public interface address)',
    });
  }
}

/** File errors by errno; a file k0s would refuse counts as invalid_response, the vocabulary's word for bad content. */
export function k0sConfigErrorReason(err: unknown): ErrorReason {
  if (!(err instanceof K0sConfigError)) return 'other';
  if (err.code === undefined) return 'invalid_response';
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'forbidden';
  if (err.code === 'ENOENT') return 'not_found';
  return 'other';
}
