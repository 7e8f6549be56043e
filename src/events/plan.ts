// Which Events should exist, and what to write for them now. Pure: the status document (the findings with the
// same message and safe next step `check` prints) and the objects in; the events and the writes out.
//
// One Event per finding on an EtcdMember object, as client-go's event recorder (tools/events) keeps one per
// isomorphic event: a finding seen again is counted in the Event's series (count, lastObservedTime), written as
// a PATCH, never as a new Event. The first repetition is written at once (series count 2), as client-go does;
// later ones at most once per refresh interval (client-go: every 30 minutes), which also keeps a lasting Event
// from reaching the API server's event TTL. A finding that is gone gets one Normal Event saying so.
//
// Members without an object (unregistered, learner, unstarted) and this host's own findings have no EtcdMember
// to be about, and one exporter writes for the whole cluster: they stay with the metrics and `check`.
import { createHash } from 'node:crypto';
import type { ObjectProblem } from '../analysis.js';
import type { EtcdMemberObject } from '../model.js';
import type { StatusDocument } from '../status-document.js';

/** client-go validation limits of an events.k8s.io/v1 Event (pkg/apis/core/validation/events.go). */
export const NOTE_LIMIT_BYTES = 1024;
const NAME_LIMIT = 253;

/** The reason an Event gives for each finding, CamelCase as Kubernetes reasons are. */
export const EVENT_REASON: Readonly<Record<ObjectProblem, string>> = {
  duplicate: 'DuplicateEtcdMember',
  ambiguous_duplicate: 'AmbiguousDuplicateEtcdMember',
  hostname_drift: 'HostnameDrift',
  orphaned: 'OrphanedEtcdMember',
  left: 'LeftEtcdMember',
  peer_address_mismatch: 'PeerAddressMismatch',
  leave_pending: 'LeavePending',
  leave_ignored: 'LeaveIgnored',
  reconcile_failed: 'ReconcileFailed',
  no_status: 'NoMemberID',
  invalid_member_id: 'InvalidMemberID',
};

/** A completed leave is cleanup, not a fault: Normal. Everything else asks for action: Warning. */
const NORMAL_PROBLEMS: ReadonlySet<ObjectProblem> = new Set(['left']);

export interface Regarding {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** One Event as it should exist. */
export interface EventSpec {
  /** Stable for one finding of one object with one note: the Event's identity across intervals and leaders. */
  readonly key: string;
  /** Deterministic, so a new leader finds the Event the last one wrote (create answers AlreadyExists). */
  readonly name: string;
  readonly regarding: Regarding;
  readonly type: 'Warning' | 'Normal';
  readonly reason: string;
  readonly note: string;
  /** Which finding, for the Event that says it cleared. */
  readonly problem: ObjectProblem;
}

/** The Events the findings call for; objects without a uid (not from an API server) get none. */
export function desiredEvents(doc: StatusDocument, objects: readonly EtcdMemberObject[], apiVersion: string, kind: string): EventSpec[] {
  const uids = new Map(objects.filter((o) => o.uid !== undefined).map((o) => [o.name, o.uid!]));
  const out = new Map<string, EventSpec>();
  const problems = (name: string): Set<string> => new Set(doc.findings.filter((x) => x.subject === 'object' && x.name === name).map((x) => x.problem));
  for (const f of doc.findings) {
    if (f.subject !== 'object') continue;
    const uid = uids.get(f.name);
    if (uid === undefined) continue;
    const problem = f.problem as ObjectProblem;
    // A stale duplicate is also named unlike its member; that finding only points to the duplicate one (as its
    // message says), so the object gets one Warning, the one with the fix.
    if (problem === 'hostname_drift' && problems(f.name).has('duplicate')) continue;
    const reason = EVENT_REASON[problem];
    const spec = eventSpec({ apiVersion, kind, name: f.name, uid }, NORMAL_PROBLEMS.has(problem) ? 'Normal' : 'Warning', reason, note(f.message, f.command), problem);
    out.set(spec.key, spec);
  }
  return [...out.values()];
}

/** The Normal Event that says a finding is gone. */
export function clearedEvent(was: EventSpec): EventSpec {
  // No next step: nothing is left to do, and a command here would outlive the finding it was safe for.
  return eventSpec(was.regarding, 'Normal', `${was.reason}Cleared`, `the ${was.problem} finding on ${was.regarding.name} is gone: etcd's member list and the EtcdMember objects no longer show it`, was.problem);
}

function eventSpec(regarding: Regarding, type: EventSpec['type'], reason: string, text: string, problem: ObjectProblem): EventSpec {
  const key = `${regarding.uid}\n${reason}\n${text}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  // As client-go names Events (<object>.<16 hex digits>), the digits here from what the Event says.
  const base = regarding.name.slice(0, NAME_LIMIT - hash.length - 1).replace(/[.-]+$/, '');
  return { key, name: `${base}.${hash}`, regarding, type, reason, note: text, problem };
}

/** The message and the next step `check` gives (none where it gives none), within the note's limit. */
export function note(message: string, command: string | null): string {
  return fit(message, command === null ? '' : ` Next step: ${command}`);
}

/** text + tail within NOTE_LIMIT_BYTES: text is shortened (ending in …), the tail (a command) never. */
function fit(text: string, tail: string): string {
  if (Buffer.byteLength(text + tail) <= NOTE_LIMIT_BYTES) return text + tail;
  let cut = text;
  while (cut.length > 0 && Buffer.byteLength(`${cut}…${tail}`) > NOTE_LIMIT_BYTES) cut = cut.slice(0, -1);
  return `${cut}…${tail}`;
}

/** What the leader knows of one Event it keeps. */
export interface SeriesState {
  readonly spec: EventSpec;
  /** Times the finding was seen (1 for the first). */
  readonly count: number;
  /** The count the API server has; 0 until the Event is created. */
  readonly written: number;
  /** Date.now() of the first and the last sighting, and of the last write. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly lastWritten: number;
}

export type EventWrite =
  | { readonly kind: 'create'; readonly spec: EventSpec }
  | { readonly kind: 'series'; readonly spec: EventSpec; readonly count: number; readonly lastSeen: number };

export interface EventPlan {
  /** The state after this interval's sightings (writes not yet done: the writer records them). */
  readonly state: ReadonlyMap<string, SeriesState>;
  readonly writes: readonly EventWrite[];
}

/**
 * One interval: every desired Event is seen once more; one not yet created is created, one whose count the
 * server lags is patched at its first repetition and then at most once per refreshMs. A kept Event no longer
 * desired is dropped, and its finding gets a Normal "cleared" Event, unless the same finding of the same object
 * is still there with another note (a changed note is a new Event, as the API keeps a note immutable).
 */
export function planEvents(state: ReadonlyMap<string, SeriesState>, desired: readonly EventSpec[], now: number, refreshMs: number): EventPlan {
  const next = new Map<string, SeriesState>();
  const writes: EventWrite[] = [];
  for (const spec of desired) {
    const was = state.get(spec.key);
    const s: SeriesState = was === undefined ? { spec, count: 1, written: 0, firstSeen: now, lastSeen: now, lastWritten: 0 } : { ...was, count: was.count + 1, lastSeen: now };
    next.set(spec.key, s);
    if (s.written === 0) writes.push({ kind: 'create', spec });
    else if (s.count > s.written && (s.written === 1 || now - s.lastWritten >= refreshMs)) writes.push({ kind: 'series', spec, count: s.count, lastSeen: now });
  }
  const stillFound = new Set(desired.map((d) => `${d.regarding.uid}\n${d.problem}`));
  for (const [key, s] of state) {
    if (next.has(key)) continue;
    // Only Events the server has say something that can clear; the cleared Event itself is not kept.
    if (s.written > 0 && !stillFound.has(`${s.spec.regarding.uid}\n${s.spec.problem}`)) writes.push({ kind: 'create', spec: clearedEvent(s.spec) });
  }
  return { state: next, writes };
}
