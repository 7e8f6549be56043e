// One writer per cluster: leader election through a coordination.k8s.io/v1 Lease, with the semantics of
// client-go's tools/leaderelection (LeaseLock, ReleaseOnCancel), which no kept npm library offers
// (@kubernetes/client-node 1.4 has none):
// - a candidate tries to acquire every retry period (jittered by up to 1.2 periods, as wait.JitterUntil does);
// - the holder is judged by the time this process last saw the Lease record change, never by the renewTime
//   written in it (so clocks need not agree): it is held while that observed time plus leaseDurationSeconds is
//   in the future;
// - every write is an update guarded by the resourceVersion last read (a conflict means someone else wrote
//   first, and this attempt fails); a missing Lease is created;
// - the leader renews every retry period; when no renewal succeeds within the renew deadline it stops leading;
// - on shutdown the leader releases the Lease (holderIdentity "", leaseDurationSeconds 1), so another exporter
//   takes over at its next try instead of after the lease duration.
// client-go's fast path is kept too: the leader updates from the Lease it last wrote without reading it first,
// and falls back to read-then-update when that fails.
import type { KubeConfig } from '../client-node/index.js';
import type { Logger } from '../log.js';
import { WakeableSleep } from '../sources/source.js';
import { ApiCallError, callApi, microTime } from './api.js';
import { JITTER_FACTOR, type LeaderElectionTimings } from './timings.js';

export interface LeaderElectorOptions extends LeaderElectionTimings {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** Unique per process: the host name and a random suffix, as client-go's users make it. */
  readonly identity: string;
  /** Deadline of one API call; a renewal's calls also end at the renew deadline. */
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** Every failed call, for the error counter. */
  readonly onError: (err: ApiCallError) => void;
  /** Leading started (true) or stopped (false). */
  readonly onLeadingChange: (leading: boolean) => void;
}

/** LeaderElectionRecord: the Lease's spec as client-go reads and writes it. */
interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string | null;
  renewTime: string | null;
  leaseTransitions: number;
}

/** The deadline of the release at shutdown. */
const RELEASE_TIMEOUT_MS = 2000;

export class LeaderElector {
  /** The Lease as last read or written: its resourceVersion guards the next update. */
  private lease: Record<string, unknown> | undefined;
  private observed: LeaseRecord | undefined;
  private observedRaw = '';
  /** When this process last saw the record change (Date.now()). */
  private observedTime = 0;
  private leadingNow = false;
  /** When the last successful acquire or renewal was sent: no other exporter can hold the Lease before this plus its duration. */
  private renewedAt = 0;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** The loop's pause, cut short by stop() (and by news that cannot wait). */
  private readonly pause = new WakeableSleep();
  /** The reason of the failure last logged, so a lasting failure logs one line, not one per try. */
  private lastLogged: string | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {}

  get identity(): string {
    return this.opts.identity;
  }

  /** True while this exporter holds the Lease: it renewed within the renew deadline, and surely within the lease duration. */
  leading(): boolean {
    return this.leadingNow && Date.now() < this.renewedAt + this.opts.leaseDurationMs;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops trying; a leader releases the Lease first (with the renew deadline as its deadline). */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.pause.wake();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // acquire
      while (!this.stopped && !(await this.tryAcquireOrRenew(this.opts.requestTimeoutMs))) {
        await this.sleep(this.opts.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
      }
      if (this.stopped) break;
      this.setLeading(true);
      this.opts.logger.info('leading: this exporter writes the Events', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
      // renew
      for (;;) {
        await this.sleep(this.opts.retryPeriodMs);
        if (this.stopped) break;
        const started = Date.now();
        let renewed = false;
        for (;;) {
          const left = started + this.opts.renewDeadlineMs - Date.now();
          if (left <= 0 || this.stopped) break;
          renewed = await this.tryAcquireOrRenew(Math.min(this.opts.requestTimeoutMs, left));
          if (renewed || this.stopped) break;
          await this.sleep(Math.min(this.opts.retryPeriodMs, Math.max(0, started + this.opts.renewDeadlineMs - Date.now())));
        }
        if (this.stopped) break;
        if (!renewed) {
          this.setLeading(false);
          this.opts.logger.warn('stopped leading: the Lease was not renewed within the renew deadline', { lease: `${this.opts.namespace}/${this.opts.name}`, renew_deadline_seconds: this.opts.renewDeadlineMs / 1000 });
          break;
        }
      }
    }
    if (this.leadingNow) {
      this.setLeading(false);
      await this.release();
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leadingNow === leading) return;
    this.leadingNow = leading;
    this.opts.onLeadingChange(leading);
  }

  private isLeader(): boolean {
    return this.observed !== undefined && this.observed.holderIdentity === this.opts.identity;
  }

  private isLeaseValid(now: number): boolean {
    return this.observed !== undefined && this.observedTime + this.observed.leaseDurationSeconds * 1000 > now;
  }

  private setObserved(record: LeaseRecord): void {
    this.observed = record;
    this.observedTime = Date.now();
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const now = Date.now();
    const record: LeaseRecord = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.floor(this.opts.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    // 1. The leader's fast path: update from the Lease last written, assuming nobody wrote since.
    if (this.isLeader() && this.isLeaseValid(now) && this.lease !== undefined && this.observed !== undefined) {
      record.acquireTime = this.observed.acquireTime;
      record.leaseTransitions = this.observed.leaseTransitions;
      try {
        await this.update(record, timeoutMs);
        this.setObserved(record);
        return this.succeeded(now);
      } catch (err) {
        this.failed(err, 'renewing the Lease (fast path)');
      }
    }
    // 2. Read the Lease, or create it.
    let current: Record<string, unknown>;
    try {
      current = await callApi(this.opts.kubeConfig, { method: 'GET', path: this.path(this.opts.name), timeoutMs, signal: this.stopping.signal });
    } catch (err) {
      if (!(err instanceof ApiCallError && err.status === 404)) return this.failed(err, 'reading the Lease');
      try {
        this.lease = await callApi(this.opts.kubeConfig, {
          method: 'POST',
          path: this.path(),
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: record },
          timeoutMs,
          signal: this.stopping.signal,
        });
      } catch (createErr) {
        return this.failed(createErr, 'creating the Lease');
      }
      this.setObserved(record);
      return this.succeeded(now);
    }
    this.lease = current;
    const old = parseRecord(current['spec']);
    // 3. The record seen: a change restarts the clock of its holder's lease.
    const raw = JSON.stringify(old);
    if (raw !== this.observedRaw) {
      this.setObserved(old);
      this.observedRaw = raw;
    }
    if (old.holderIdentity !== '' && this.isLeaseValid(now) && !this.isLeader()) {
      this.lastLogged = undefined;
      return false; // held by another exporter, and not expired
    }
    // 4. Acquire (a new transition) or renew (keeping the acquire time).
    if (this.isLeader()) {
      record.acquireTime = old.acquireTime;
      record.leaseTransitions = old.leaseTransitions;
    } else {
      record.leaseTransitions = old.leaseTransitions + 1;
    }
    try {
      await this.update(record, timeoutMs);
    } catch (err) {
      return this.failed(err, 'updating the Lease');
    }
    this.setObserved(record);
    return this.succeeded(now);
  }

  /** PUT of the Lease last read or written, with this record: its resourceVersion makes it fail if anyone wrote since. */
  private async update(record: LeaseRecord, timeoutMs: number, signal: AbortSignal | null = this.stopping.signal): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) throw new ApiCallError('other', 0, 'the Lease was not read yet');
    this.lease = await callApi(this.opts.kubeConfig, { method: 'PUT', path: this.path(this.opts.name), body: { ...lease, spec: record }, timeoutMs, ...(signal === null ? {} : { signal }) });
  }

  /**
   * ReleaseOnCancel: the holder gives the Lease up, so the next candidate need not wait for it to expire.
   * Shutdown may cut off a renewal the API server had already written: the resourceVersion kept here is then one
   * behind, and the release is refused with 409. Then the Lease is read again and released from what it is now,
   * but only while it still names this exporter (client-go's release gives up at the conflict, and the Lease is
   * held for one more lease duration).
   */
  private async release(): Promise<void> {
    if (!this.isLeader() || this.observed === undefined) return;
    const now = microTime(Date.now());
    const record: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: this.observed.leaseTransitions };
    // Not ended by stopping (this runs because the exporter stops), but kept short: the exporter has 4 s from
    // SIGTERM to exit, and an unreleased Lease only costs one lease duration.
    const deadline = Date.now() + Math.min(this.opts.requestTimeoutMs, this.opts.renewDeadlineMs, RELEASE_TIMEOUT_MS);
    const left = (): number => Math.max(1, deadline - Date.now());
    try {
      try {
        await this.update(record, left(), null);
      } catch (err) {
        if (!(err instanceof ApiCallError && err.reason === 'conflict')) throw err;
        const current = await callApi(this.opts.kubeConfig, { method: 'GET', path: this.path(this.opts.name), timeoutMs: left() });
        const holder = parseRecord(current['spec']).holderIdentity;
        if (holder !== this.opts.identity) {
          this.opts.logger.info('the Lease was taken over before it was released', { lease: `${this.opts.namespace}/${this.opts.name}`, holder });
          return;
        }
        this.lease = current;
        await this.update(record, left(), null);
      }
      this.setObserved(record);
      this.opts.logger.info('released the Lease', { lease: `${this.opts.namespace}/${this.opts.name}` });
    } catch (err) {
      const e = err instanceof ApiCallError ? err : new ApiCallError('other', 0, String(err));
      this.opts.onError(e);
      this.opts.logger.warn('could not release the Lease; another exporter takes over once it expires', { lease: `${this.opts.namespace}/${this.opts.name}`, reason: e.reason, err: e.message });
    }
  }

  private succeeded(sentAt: number): true {
    this.renewedAt = sentAt;
    if (this.lastLogged !== undefined) this.opts.logger.info('the Lease can be written again', { lease: `${this.opts.namespace}/${this.opts.name}` });
    this.lastLogged = undefined;
    return true;
  }

  private failed(err: unknown, during: string): false {
    const e = err instanceof ApiCallError ? err : new ApiCallError('other', 0, String(err));
    if (this.stopped && e.reason !== 'forbidden') return false; // cancelled by shutdown
    this.opts.onError(e);
    // A conflict is another exporter writing first: contention, not a fault worth a warning.
    if (e.reason === 'conflict') {
      this.opts.logger.debug('lost a race for the Lease', { during, err: e.message });
    } else if (this.lastLogged !== e.reason) {
      this.lastLogged = e.reason;
      this.opts.logger.warn(
        e.reason === 'forbidden' ? 'cannot use the Lease, so this exporter writes no Events (RBAC: get, create and update on leases.coordination.k8s.io are needed; see docs/deploy.md)' : 'leader election failed',
        { lease: `${this.opts.namespace}/${this.opts.name}`, during, reason: e.reason, err: e.message },
      );
    } else {
      this.opts.logger.debug('leader election failed again', { during, reason: e.reason, err: e.message });
    }
    return false;
  }

  private path(name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  private sleep(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.pause.sleep(ms);
  }
}

/** The Lease spec as a record; absent or malformed fields read as client-go's zero values. */
function parseRecord(spec: unknown): LeaseRecord {
  const s = (typeof spec === 'object' && spec !== null ? spec : {}) as Record<string, unknown>;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const int = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) ? v : 0);
  return {
    holderIdentity: str(s['holderIdentity']) ?? '',
    leaseDurationSeconds: int(s['leaseDurationSeconds']),
    acquireTime: str(s['acquireTime']),
    renewTime: str(s['renewTime']),
    leaseTransitions: int(s['leaseTransitions']),
  };
}
