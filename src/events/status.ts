// What /metrics shows of the Events: whether this exporter leads, and counts of writes and failures. Counts only
// grow, and the metrics compare their sums to tell whether to render again (as for the sources).
import { EVENTS_ERROR_REASONS, type EventsErrorReason } from './api.js';

export class EventsStatus {
  private readonly errors = new Map<EventsErrorReason, number>(EVENTS_ERROR_REASONS.map((r) => [r, 0]));
  private readonly writes = new Map<'create' | 'patch', number>([
    ['create', 0],
    ['patch', 0],
  ]);

  /** isLeading: the elector's leading(), read at every scrape. */
  constructor(private readonly isLeading: () => boolean) {}

  leading(): boolean {
    return this.isLeading();
  }

  error(reason: EventsErrorReason): void {
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }

  wrote(verb: 'create' | 'patch'): void {
    this.writes.set(verb, (this.writes.get(verb) ?? 0) + 1);
  }

  errorCounts(): ReadonlyMap<EventsErrorReason, number> {
    return this.errors;
  }

  writeCounts(): ReadonlyMap<'create' | 'patch', number> {
    return this.writes;
  }
}
