// A source read by polling: one read every interval (the next one scheduled when the previous one ended, so a
// slow server never piles up reads), with refreshSoon() for when another source hints at a change. etcd is
// its only user; the k0s config file is read synchronously by its own source (k0s-config.ts), not by this one.
import type { Fields, Logger } from '../log.js';
import { SourceError, SourceStatus, errorMessage, type ErrorReason, type Source, type SourceHealth, type SourceName } from './source.js';

/** refreshSoon() reads at most this often, so a burst of hints costs one read. */
const MIN_REFRESH_GAP_MS = 1000;

export interface PolledSourceOptions<T> {
  readonly name: SourceName;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** One read with its own deadline; the signal ends it early when the source stops. */
  readonly read: (signal: AbortSignal) => Promise<T>;
  /** Fields for the "source up" log line. */
  readonly describe: (snapshot: T) => Fields;
  /** Called after each successful read, e.g. to log a change worth one line. */
  readonly observe?: (previous: T | undefined, current: T) => void;
}

export class PolledSource<T> implements Source<T> {
  readonly name: SourceName;
  private readonly status = new SourceStatus();
  private current: T | undefined;
  private onChange: () => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastReadStart = 0;
  private started = false;
  private readonly stopping = new AbortController();

  constructor(private readonly opts: PolledSourceOptions<T>) {
    this.name = opts.name;
  }

  start(onChange: () => void): void {
    if (this.started) return;
    this.started = true;
    this.onChange = onChange;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    // The abort ends a read in flight at once (its clients closed), so waiting for it costs nothing.
    await this.inFlight;
  }

  snapshot(): T | undefined {
    return this.current;
  }

  health(): SourceHealth {
    return this.status.health();
  }

  errorCounts(): ReadonlyMap<ErrorReason, number> {
    return this.status.errorCounts();
  }

  /** Reads again now, unless a read is in flight or began less than a second ago. */
  refreshSoon(): void {
    if (!this.started || this.stopping.signal.aborted || this.inFlight !== undefined || Date.now() - this.lastReadStart < MIN_REFRESH_GAP_MS) return;
    clearTimeout(this.timer);
    this.tick();
  }

  private tick(): void {
    this.lastReadStart = Date.now();
    this.inFlight = this.readOnce().finally(() => {
      this.inFlight = undefined;
      if (!this.stopping.signal.aborted) this.timer = setTimeout(() => this.tick(), this.opts.intervalMs);
    });
  }

  private async readOnce(): Promise<void> {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      const previous = this.current;
      const next = await this.opts.read(this.stopping.signal);
      this.current = next;
      this.opts.observe?.(previous, next);
      if (this.status.succeeded(seconds())) this.opts.logger.info(`${this.name} source up`, this.opts.describe(next));
    } catch (err) {
      // Stopping is no failure of the source: nothing to count or log.
      if (this.stopping.signal.aborted) return;
      const e = err instanceof SourceError ? err : new SourceError('other', errorMessage(err));
      this.current = undefined;
      this.status.failed(e, seconds());
      this.opts.logger.error(`${this.name} source failed`, { reason: e.reason, err: e.message });
    }
    this.onChange();
  }
}
