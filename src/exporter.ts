// Combines the sources' snapshots into the latest report. Each source runs its own loop and says when it
// changed; the exporter re-runs the (cheap, pure) analysis once per burst of changes, or at the next read of the
// report if that comes first. /metrics only ever reads the report and the sources' health.
import type { Report } from './analysis.js';
import type { Logger } from './log.js';
import type { Source, SourceName } from './sources/source.js';

/** The sources by key; each key's snapshot type is what the analysis gets for it. */
export type Sources = Readonly<Record<string, Source<unknown>>>;
export type Snapshots<S extends Sources> = { readonly [K in keyof S]: S[K] extends Source<infer T> ? T | undefined : never };

export interface ExporterOptions<S extends Sources> {
  readonly sources: S;
  /** Pure: the current snapshots (undefined for a source that is down) in, the report out. */
  readonly analyse: (snapshots: Snapshots<S>) => Report;
  /** Called after a source said it changed, before the analysis runs: for one source to prompt another. */
  readonly onSourceChange?: (source: SourceName) => void;
  readonly logger: Logger;
}

export class Exporter<S extends Sources> {
  /** Every source, in the order given: metrics render them in this order. */
  readonly sources: readonly Source<unknown>[];
  private current: Report;
  /** A source changed since the last analysis. */
  private stale = false;

  constructor(private readonly opts: ExporterOptions<S>) {
    this.sources = Object.values(opts.sources);
    this.current = opts.analyse(this.snapshots());
  }

  /** The report for the sources as they are now: a scrape right after a change never sees a new health beside an old report. */
  report(): Report {
    if (this.stale) this.analyseNow();
    return this.current;
  }

  /** Ready once every source has been tried once, so the first scrape does not see a made-up empty view. */
  ready(): boolean {
    return this.sources.every((s) => s.health().attempted);
  }

  start(): void {
    for (const source of this.sources) source.start(() => this.changed(source.name));
  }

  /** Stops every source; each cancels what it has in flight, so this ends promptly. */
  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.stop()));
  }

  private changed(source: SourceName): void {
    this.opts.onSourceChange?.(source);
    if (this.stale) return;
    this.stale = true;
    setImmediate(() => {
      if (this.stale) this.analyseNow();
    });
  }

  private snapshots(): Snapshots<S> {
    const out: Record<string, unknown> = {};
    for (const [key, source] of Object.entries(this.opts.sources)) out[key] = source.snapshot();
    return out as Snapshots<S>;
  }

  private analyseNow(): void {
    this.stale = false;
    this.current = this.opts.analyse(this.snapshots());
    this.opts.logger.debug('analysed', {
      etcd_members: this.current.etcdMembers,
      objects: this.current.kubernetesMembers,
      findings: this.current.objectFindings.length + this.current.memberFindings.length,
    });
  }
}
