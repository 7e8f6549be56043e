// Which objects prune may delete: only those the analysis proves stale, never one named after a live etcd
// member, never on a partial view. Pure, so every rule is tested on plain data; the findings come from the one
// analysis (no rule is decided twice).
import type { Report } from '../analysis.js';
import { objectNameFor, type EtcdMemberObject, type EtcdSnapshot, type KubernetesSnapshot } from '../model.js';

export interface PruneDeletion {
  readonly object: EtcdMemberObject & { readonly uid: string; readonly resourceVersion: string };
  readonly problem: 'duplicate' | 'orphaned';
  /** Why it is provably stale, one line. */
  readonly why: string;
}

export interface PruneKept {
  readonly name: string;
  readonly problem: string;
  /** Why prune leaves it, one line. */
  readonly why: string;
}

export interface PrunePlan {
  readonly deletions: readonly PruneDeletion[];
  readonly kept: readonly PruneKept[];
}

/** Findings that are about an object being surplus: prune says what it does about each of them. */
const SURPLUS = new Set(['duplicate', 'ambiguous_duplicate', 'orphaned', 'left']);

/**
 * @param report the analysis of exactly these snapshots
 * @param minAgeMs an orphaned object must be at least this old (from creationTimestamp) to be deleted
 */
export function planPrune(report: Report, etcd: EtcdSnapshot, kubernetes: KubernetesSnapshot, now: Date, minAgeMs: number): PrunePlan {
  if (!kubernetes.crdPresent) return { deletions: [], kept: [] };
  const objects = new Map(kubernetes.objects.map((o) => [o.name, o]));
  // An unstarted member (no name yet) lands on '', which no object is named.
  const liveNames = new Map(etcd.members.map((m) => [objectNameFor(m.name), m]));
  const deletions: PruneDeletion[] = [];
  const kept: PruneKept[] = [];
  const keep = (name: string, problem: string, why: string): void => void kept.push({ name, problem, why });

  // One decision per object, not per finding: every object of an ambiguous group whose member etcd no longer
  // lists is also `orphaned` (or `left`), and walking findings would keep it and then delete it.
  const surplus = new Map<string, { memberId: string; problems: Set<string> }>();
  for (const f of report.objectFindings) {
    if (!SURPLUS.has(f.problem)) continue;
    const entry = surplus.get(f.name) ?? { memberId: f.memberId, problems: new Set<string>() };
    entry.problems.add(f.problem);
    surplus.set(f.name, entry);
  }
  const liveIds = new Set(etcd.members.map((m) => m.id));
  for (const [name, { memberId, problems }] of surplus) {
    const o = objects.get(name);
    if (o === undefined) continue;
    // ambiguous_duplicate wins over every other finding of the object: nothing of such a group is ever deleted.
    const problem = problems.has('ambiguous_duplicate') ? 'ambiguous_duplicate' : [...problems][0]!;
    const f = { problem, memberId };
    const live = liveNames.get(o.name);
    if (live !== undefined) {
      keep(o.name, f.problem, `it is named after live etcd member "${live.name}" (${live.id})`);
      continue;
    }
    if (f.problem === 'ambiguous_duplicate') {
      keep(
        o.name,
        f.problem,
        liveIds.has(memberId)
          ? 'which object of its member ID is stale cannot be proven: no object of the group is named after the etcd member'
          : `other objects share its member ID and etcd does not list member ID ${memberId}, so which object is stale cannot be proven: prune deletes nothing of the group`,
      );
      continue;
    }
    if (f.problem === 'left') {
      // Reached only when the name is no live member's (checked above).
      keep(o.name, f.problem, `prune leaves completed leaves to you (k0s keeps the object): kubectl delete etcdmember ${o.name}`);
      continue;
    }
    if (o.uid === undefined || o.resourceVersion === undefined) {
      keep(o.name, f.problem, 'it has no uid or resourceVersion, so its deletion could not be made conditional');
      continue;
    }
    const judged = { ...o, uid: o.uid, resourceVersion: o.resourceVersion };
    if (f.problem === 'duplicate') {
      // The analysis calls an object a duplicate only beside its live member's own object (staleInGroup).
      const member = etcd.members.find((m) => m.id === o.memberId)!;
      deletions.push({ object: judged, problem: 'duplicate', why: `it carries member ID ${f.memberId} of etcd member "${member.name}", whose own object ${objectNameFor(member.name)} exists` });
      continue;
    }
    // orphaned
    if (report.unregisteredMembers !== 0) {
      keep(o.name, f.problem, 'some started etcd member has no object (after an etcd restore every object looks orphaned): fix that first');
      continue;
    }
    const created = o.creationTimestamp === undefined ? NaN : Date.parse(o.creationTimestamp);
    if (Number.isNaN(created)) {
      keep(o.name, f.problem, 'it has no readable creationTimestamp, so its age is unknown');
      continue;
    }
    const ageMs = now.getTime() - created;
    if (ageMs < minAgeMs) {
      keep(o.name, f.problem, `it is younger than --min-age (${formatAge(ageMs)} < ${formatAge(minAgeMs)})`);
      continue;
    }
    deletions.push({ object: judged, problem: 'orphaned', why: `etcd does not list member ID ${f.memberId}, every started member has its object, and it is ${formatAge(ageMs)} old` });
  }
  return { deletions, kept };
}

/** 90 s -> "1m30s", as the flags are written. */
export function formatAge(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', s || (!d && !h && !m) ? `${s}s` : ''];
  return parts.join('');
}
