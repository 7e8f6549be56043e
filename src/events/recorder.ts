// The thin writer of the Events planEvents() asks for: once per interval, and only while this exporter leads,
// it turns the current findings into events.k8s.io/v1 writes as client-go's event recorder makes them (a POST
// for a new Event, a strategic-merge PATCH of its series for a repeat, a new POST when the PATCH finds the Event
// gone). Creates are rate-limited per object like client-go's spam filter (a burst of 25, then one per 5
// minutes); series writes are limited by the plan's refresh interval.
import type { KubeConfig } from '../client-node/index.js';
import type { Logger } from '../log.js';
import type { EtcdMemberObject } from '../model.js';
import type { StatusDocument } from '../status-document.js';
import { WakeableSleep } from '../sources/source.js';
import { ApiCallError, callApi, microTime } from './api.js';
import { desiredEvents, planEvents, type EventSpec, type EventWrite, type SeriesState } from './plan.js';

/** client-go's EventSourceObjectSpamFilter defaults (tools/record): per object, a burst of 25, one more per 300 s. */
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;

/** What the Events are made from; undefined while etcd or the API cannot be read (nothing is judged then). */
export interface EventsInput {
  readonly doc: StatusDocument;
  readonly objects: readonly EtcdMemberObject[];
}

export interface EventRecorderOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  /** The Event's action (required by events.k8s.io/v1). */
  readonly action: string;
  readonly regardingApiVersion: string;
  readonly regardingKind: string;
  readonly intervalMs: number;
  /** How often a lasting finding's series is written after its first repetition. */
  readonly refreshMs: number;
  readonly requestTimeoutMs: number;
  readonly leading: () => boolean;
  readonly input: () => EventsInput | undefined;
  readonly logger: Logger;
  readonly onError: (err: ApiCallError) => void;
  readonly onWrite: (verb: 'create' | 'patch') => void;
}

export class EventRecorder {
  private state: ReadonlyMap<string, SeriesState> = new Map();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** The loop's pause, cut short by stop() (and by news that cannot wait). */
  private readonly pause = new WakeableSleep();
  private lastLogged: string | undefined;

  constructor(private readonly opts: EventRecorderOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.pause.wake();
    await this.loop;
  }

  /** Leading started: write now rather than up to an interval later. Leading stopped: forget what was written. */
  leadingChanged(leading: boolean): void {
    this.state = new Map();
    if (leading) this.pause.wake();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.tick();
      await this.sleep(this.opts.intervalMs);
    }
  }

  /** One interval: the plan from the current findings, then its writes, while this exporter still leads. */
  async tick(): Promise<void> {
    if (!this.opts.leading()) {
      this.state = new Map();
      return;
    }
    const input = this.opts.input();
    if (input === undefined) return;
    const plan = planEvents(this.state, desiredEvents(input.doc, input.objects, this.opts.regardingApiVersion, this.opts.regardingKind), Date.now(), this.opts.refreshMs);
    this.state = plan.state;
    for (const w of plan.writes) {
      if (this.stopped || !this.opts.leading()) return;
      await this.write(w);
    }
  }

  private async write(w: EventWrite): Promise<void> {
    if (w.kind === 'series') {
      const outcome = await this.patchSeries(w.spec, w.count, w.lastSeen);
      if (outcome === 'gone') {
        // Expired (the API server's event TTL) or deleted: made anew, as client-go does.
        this.record(w.spec.key, { written: 0 });
        await this.create(w.spec);
      }
      return;
    }
    await this.create(w.spec);
  }

  private async create(spec: EventSpec): Promise<void> {
    if (!this.take(spec.regarding.uid)) {
      this.opts.logger.debug('event not written: rate-limited for this object', { regarding: spec.regarding.name, reason: spec.reason });
      return;
    }
    const now = Date.now();
    try {
      await callApi(this.opts.kubeConfig, {
        method: 'POST',
        path: this.path(),
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: spec.name, namespace: this.opts.namespace },
          eventTime: microTime(now),
          reportingController: this.opts.reportingController,
          reportingInstance: this.opts.reportingInstance,
          action: this.opts.action,
          reason: spec.reason,
          regarding: spec.regarding,
          note: spec.note,
          type: spec.type,
        },
        timeoutMs: this.opts.requestTimeoutMs,
        signal: this.stopping.signal,
      });
      this.ok('create');
      this.record(spec.key, { written: 1, lastWritten: now });
      this.opts.logger.info('event written', { regarding: spec.regarding.name, type: spec.type, reason: spec.reason, event: `${this.opts.namespace}/${spec.name}` });
    } catch (err) {
      if (!(err instanceof ApiCallError && err.reason === 'conflict')) return this.failed(err, 'creating an Event');
      // Written before, by this exporter or an earlier leader: this is one more sighting in its series.
      await this.adopt(spec);
    }
  }

  /** The Event exists: an empty patch reads its series (the role has create and patch, not get), then the count goes on. */
  private async adopt(spec: EventSpec): Promise<void> {
    let existing: Record<string, unknown>;
    try {
      existing = await callApi(this.opts.kubeConfig, { method: 'PATCH', path: this.path(spec.name), body: {}, contentType: 'application/strategic-merge-patch+json', timeoutMs: this.opts.requestTimeoutMs, signal: this.stopping.signal });
    } catch (err) {
      return this.failed(err, 'reading an existing Event');
    }
    const series = existing['series'] as { count?: unknown } | undefined | null;
    const had = typeof series?.count === 'number' && Number.isInteger(series.count) && series.count > 1 ? series.count : 1;
    const now = Date.now();
    this.record(spec.key, { count: had + 1, written: had, lastWritten: 0 });
    await this.patchSeries(spec, had + 1, now);
  }

  private async patchSeries(spec: EventSpec, count: number, lastSeen: number): Promise<'ok' | 'gone' | 'failed'> {
    const now = Date.now();
    try {
      await callApi(this.opts.kubeConfig, {
        method: 'PATCH',
        path: this.path(spec.name),
        body: { series: { count, lastObservedTime: microTime(lastSeen) } },
        contentType: 'application/strategic-merge-patch+json',
        timeoutMs: this.opts.requestTimeoutMs,
        signal: this.stopping.signal,
      });
    } catch (err) {
      if (err instanceof ApiCallError && err.status === 404) return 'gone';
      this.failed(err, 'updating an Event\'s series');
      return 'failed';
    }
    this.ok('patch');
    this.record(spec.key, { written: count, lastWritten: now });
    this.opts.logger.debug('event series written', { regarding: spec.regarding.name, reason: spec.reason, count });
    return 'ok';
  }

  /** Updates the kept state of an Event the plan still keeps (a cleared Event is not kept). */
  private record(key: string, change: Partial<Pick<SeriesState, 'count' | 'written' | 'lastWritten'>>): void {
    const s = this.state.get(key);
    if (s === undefined) return;
    const next = new Map(this.state);
    next.set(key, { ...s, ...change });
    this.state = next;
  }

  /** One token of the object's bucket, if it has one. */
  private take(uid: string): boolean {
    const now = Date.now();
    const b = this.buckets.get(uid) ?? { tokens: SPAM_BURST, at: now };
    const tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    if (tokens < 1) {
      this.buckets.set(uid, { tokens, at: now });
      return false;
    }
    this.buckets.set(uid, { tokens: tokens - 1, at: now });
    return true;
  }

  private ok(verb: 'create' | 'patch'): void {
    this.opts.onWrite(verb);
    if (this.lastLogged !== undefined) this.opts.logger.info('events can be written again', { namespace: this.opts.namespace });
    this.lastLogged = undefined;
  }

  private failed(err: unknown, during: string): void {
    const e = err instanceof ApiCallError ? err : new ApiCallError('other', 0, String(err));
    if (this.stopped) return;
    this.opts.onError(e);
    if (this.lastLogged === e.reason) {
      this.opts.logger.debug('event write failed again', { during, reason: e.reason, err: e.message });
      return;
    }
    this.lastLogged = e.reason;
    this.opts.logger.warn(
      e.reason === 'forbidden' ? 'cannot write Events (RBAC: create and patch on events.events.k8s.io are needed; see docs/deploy.md); metrics are not affected' : 'event write failed',
      { namespace: this.opts.namespace, during, reason: e.reason, err: e.message },
    );
  }

  private path(name?: string): string {
    return `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/events${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  private sleep(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.pause.sleep(ms);
  }
}
