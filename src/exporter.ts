// Keeps the latest report: etcd is polled every interval, the Kubernetes view is pushed by its watch, and
// either change re-runs the (cheap, pure) analysis. /metrics only ever reads the stored report.
import { analyse, type Report } from './analysis.js';
import type { Logger } from './log.js';
import type { EtcdSnapshot, HostFacts, KubernetesSnapshot } from './model.js';
import type { EtcdReader } from './sources/etcd.js';
import { SourceError, errorMessage, type ErrorReason, type SourceHealth, type SourceName } from './sources/source.js';

/** The Kubernetes side as the exporter sees it: a view kept current elsewhere. */
export interface KubernetesView {
  start(): void;
  stop(): Promise<void>;
  snapshot(): KubernetesSnapshot | undefined;
  health(): SourceHealth;
  settled(): boolean;
}

export interface ExporterOptions {
  readonly etcd: EtcdReader;
  readonly kubernetes: KubernetesView;
  /** Read at every analysis: a hostname changed while the exporter runs must show as local name drift. */
  readonly host: () => HostFacts;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly countError: (source: SourceName, reason: ErrorReason) => void;
}

export class Exporter {
  private etcdSnapshot: EtcdSnapshot | undefined;
  private etcdHealth: SourceHealth = { attempted: false, up: false, lastSuccessMs: undefined, lastDurationSeconds: undefined };
  private current: Report;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private analysisQueued = false;
  private lastEtcdReadStart = 0;
  private stopped = false;

  constructor(private readonly opts: ExporterOptions) {
    this.current = analyse(undefined, undefined, opts.host());
  }

  report(): Report {
    return this.current;
  }

  health(source: SourceName): SourceHealth {
    return source === 'etcd' ? this.etcdHealth : this.opts.kubernetes.health();
  }

  /** Ready once both sources have been tried once, so the first scrape does not see a made-up empty view. */
  ready(): boolean {
    return this.etcdHealth.attempted && this.opts.kubernetes.settled();
  }

  start(): void {
    this.opts.kubernetes.start();
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // An etcd read in flight has nothing to flush and ends by its own deadline: waiting for it could only
    // push shutdown past the 5 s a SIGTERM allows.
    await this.opts.kubernetes.stop();
  }

  /** Called by the Kubernetes view on every change; analyses once per burst of events. */
  kubernetesChanged(): void {
    this.refreshEtcdSoon();
    if (this.analysisQueued) return;
    this.analysisQueued = true;
    setImmediate(() => {
      this.analysisQueued = false;
      this.analyseNow();
    });
  }

  /**
   * An object change often comes with an etcd change (a controller joining or leaving): read etcd again now,
   * at most once a second, instead of comparing the new objects with an etcd view up to an interval old.
   */
  private refreshEtcdSoon(): void {
    if (this.stopped || this.inFlight !== undefined || Date.now() - this.lastEtcdReadStart < 1000) return;
    clearTimeout(this.timer);
    this.tick();
  }

  private tick(): void {
    this.lastEtcdReadStart = Date.now();
    // The next read is scheduled after this one ends, so a slow etcd never piles up reads.
    this.inFlight = this.readEtcd().finally(() => {
      this.inFlight = undefined;
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.opts.intervalMs);
    });
  }

  private async readEtcd(): Promise<void> {
    const started = performance.now();
    try {
      const previous = this.etcdSnapshot;
      this.etcdSnapshot = await this.opts.etcd.read();
      // Without the local member, local name drift cannot be judged: say why, once per change.
      if (this.etcdSnapshot.localMemberError !== undefined && previous?.localMemberError === undefined) {
        this.opts.logger.warn('local etcd member unknown: local name drift is not exported', { err: this.etcdSnapshot.localMemberError });
      } else if (this.etcdSnapshot.localMemberError === undefined && previous?.localMemberError !== undefined) {
        this.opts.logger.info('local etcd member known again', { local_member_id: this.etcdSnapshot.localMemberId });
      }
      if (!this.etcdHealth.up) {
        this.opts.logger.info('etcd source up', { members: this.etcdSnapshot.members.length, local_member_id: this.etcdSnapshot.localMemberId });
      }
      this.etcdHealth = { attempted: true, up: true, lastSuccessMs: Date.now(), lastDurationSeconds: (performance.now() - started) / 1000 };
    } catch (err) {
      const e = err instanceof SourceError ? err : new SourceError('other', errorMessage(err));
      this.etcdSnapshot = undefined;
      this.etcdHealth = { ...this.etcdHealth, attempted: true, up: false, lastDurationSeconds: (performance.now() - started) / 1000 };
      this.opts.countError('etcd', e.reason);
      this.opts.logger.error('etcd source failed', { reason: e.reason, err: e.message });
    }
    this.analyseNow();
  }

  private analyseNow(): void {
    const kubernetes = this.opts.kubernetes.snapshot();
    this.current = analyse(this.etcdSnapshot, kubernetes, this.opts.host());
    this.opts.logger.debug('analysed', {
      etcd_members: this.current.etcdMembers,
      objects: this.current.kubernetesMembers,
      findings: this.current.objectFindings.length + this.current.memberFindings.length,
    });
  }
}
