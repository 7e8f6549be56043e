// The pure core: both membership views and this host's facts in, findings out. No I/O, no clock, so that
// every rule can be tested on plain data and the result is the same wherever it runs. What k0s does differs by
// version (src/k0s/versions.ts); the version is part of the input, and unknown means: judge as for any version.
import { FAILED_LIST_MESSAGE_PREFIX, k0sBehaviour, type K0sBehaviour, type K0sVersion } from './k0s/versions.js';
import {
  objectNameFor,
  type EtcdMember,
  type EtcdMemberObject,
  type EtcdSnapshot,
  type HostFacts,
  type KubernetesSnapshot,
} from './model.js';

/**
 * Findings on an EtcdMember object.
 * - duplicate: provably stale; another object of its member-ID group is named exactly after the etcd member.
 * - ambiguous_duplicate: in a group of objects sharing one member ID when it cannot be proven which is stale
 *   (etcd unreadable, the member unknown to etcd or unstarted, no object of the group named after the member, or
 *   another object of the group named after some etcd member).
 *   Every object of such a group gets it; an operator compares and decides, nothing names one to delete.
 * - orphaned: etcd does not know the object's member ID and the object does not ask to leave.
 * - left: spec.leave is true and etcd no longer lists the member: a completed leave whose object k0s keeps.
 *   Cleanup, not an incident; it replaces orphaned for that object. (`k0s etcd leave`, the CLI, removes the member
 *   without touching the object: that object keeps spec.leave false and is orphaned, not left.)
 * - leave_pending: spec.leave is true and etcd still lists the member: k0s is removing it, or the leave is stuck.
 * - leave_ignored: spec.leave is true on an object no etcd member is named after, and k0s is older than 1.35.5:
 *   k0s looks the object up by name, finds no member, sets Joined=False and removes nothing. From 1.35.5 it
 *   matches by ID, and the same leave removes the live member: a trap that springs at the upgrade.
 * - reconcile_failed: status.reconcileStatus Failed, except the Failed that k0s >= 1.35.5 writes on every object
 *   after one failed etcd member list (status.message "Failed to list etcd cluster members: ...") and never
 *   clears on an object it has nothing more to do for (its member live and no spec.leave, or its leave done).
 */
export const OBJECT_PROBLEMS = [
  'duplicate',
  'ambiguous_duplicate',
  'hostname_drift',
  'orphaned',
  'left',
  'peer_address_mismatch',
  'leave_pending',
  'leave_ignored',
  'reconcile_failed',
  'no_status',
  'invalid_member_id',
] as const;
export type ObjectProblem = (typeof OBJECT_PROBLEMS)[number];

/**
 * Findings on an etcd member.
 * - unregistered: started, and no object carries its ID. A learner is not unregistered where k0s (>= 1.35.5, or
 *   an unknown version) joins controllers as learners: its object comes after its promotion.
 * - unregistrable: unregistered, and k0s can never register it: the object name k0s derives from the member name
 *   is no valid Kubernetes name (before 1.34.1 an uppercase name, k0s#6336). Restarting k0s cannot help.
 */
export const MEMBER_PROBLEMS = ['unregistered', 'unregistrable', 'learner', 'unstarted'] as const;
export type MemberProblem = (typeof MEMBER_PROBLEMS)[number];

export interface ObjectFinding {
  readonly name: string;
  /** Normalised member ID, or the raw invalid value, or "" when the object has none. */
  readonly memberId: string;
  readonly problem: ObjectProblem;
}

export interface MemberFinding {
  readonly name: string;
  readonly memberId: string;
  readonly problem: MemberProblem;
}

export interface MemberInfo {
  readonly name: string;
  readonly memberId: string;
  readonly peerAddress: string;
}

export interface LocalFacts {
  readonly memberName: string;
  readonly memberId: string;
  readonly registrationName: string;
  /**
   * True when k0s's next start on this host will register a name that is not its member's: a duplicate in
   * waiting. Undefined when the name k0s will register cannot be told (k0s.yaml unreadable).
   */
  readonly nameDrift: boolean | undefined;
  /** The peer address k0s gives etcd at its next start; undefined when it cannot be predicted. */
  readonly predictedPeerAddress: string | undefined;
  /**
   * True when that address differs from the host of the member's peer URL in etcd: at its next start etcd would
   * listen where its peers do not look for it. Undefined when either side is unknown.
   */
  readonly peerAddressDrift: boolean | undefined;
}

/**
 * Every figure is undefined when a source it needs is unavailable (or, for Kubernetes, when the CRD is absent):
 * the exporter then omits it instead of showing a stale or made-up number.
 */
export interface Report {
  /** The k0s version judged by (gitVersion as reported or given); undefined when unknown. */
  readonly k0sVersion: string | undefined;
  /** What that k0s does, rule by rule (every rule undefined when the version is unknown). */
  readonly k0s: K0sBehaviour;
  /**
   * True when etcd answers but the API serves no EtcdMember CRD: nothing can be compared. Undefined while either
   * source is down.
   */
  readonly crdAbsent: boolean | undefined;
  readonly etcdMembers: number | undefined;
  readonly learners: number | undefined;
  readonly unstartedMembers: number | undefined;
  readonly kubernetesMembers: number | undefined;
  readonly crdPresent: boolean | undefined;
  readonly duplicates: number | undefined;
  readonly hostnameDrift: number | undefined;
  /** Objects etcd does not know that do not ask to leave; those that do are counted in leftObjects. */
  readonly orphanedObjects: number | undefined;
  readonly leftObjects: number | undefined;
  readonly unregisteredMembers: number | undefined;
  readonly peerAddressMismatches: number | undefined;
  readonly objectFindings: readonly ObjectFinding[];
  readonly memberFindings: readonly MemberFinding[];
  readonly etcdMemberInfo: readonly MemberInfo[];
  readonly objectInfo: readonly MemberInfo[];
  readonly local: LocalFacts | undefined;
  /**
   * Whether etcd can listen on the peer address k0s gives it at its next start on this host (HostFacts); false:
   * it exits and k0s restarts it in a loop (k0s#7876). Needs no etcd: it matters most while etcd is down.
   * Undefined when it cannot be told.
   */
  readonly localPeerAddressOnHost?: boolean | undefined;
  /** The peer address k0s gives etcd at its next start on this host, as predicted (no etcd needed); undefined when unknown. */
  readonly localPredictedPeerAddress?: string | undefined;
  /** Why that address cannot be predicted, when k0s runs etcd here (one line). */
  readonly localPeerAddressUnknownWhy?: string | undefined;
}

/**
 * @param etcd etcd's view, or undefined when etcd could not be read
 * @param kubernetes the EtcdMember objects, or undefined when the API could not be read
 * @param k0sVersion the k0s version the controllers run, or undefined when unknown
 */
export function analyse(
  etcd: EtcdSnapshot | undefined,
  kubernetes: KubernetesSnapshot | undefined,
  host: HostFacts,
  k0sVersion?: K0sVersion,
): Report {
  const k0s = k0sBehaviour(k0sVersion);
  const objects = kubernetes?.crdPresent ? kubernetes.objects : undefined;
  const membersById = new Map<string, EtcdMember>();
  for (const m of etcd?.members ?? []) membersById.set(m.id, m);
  const both = etcd !== undefined && objects !== undefined;

  const objectFindings: ObjectFinding[] = [];
  const memberFindings: MemberFinding[] = [];
  const flag = (o: EtcdMemberObject, problem: ObjectProblem): void => {
    objectFindings.push({ name: o.name, memberId: o.memberId ?? o.invalidMemberId ?? '', problem });
  };

  let duplicates: number | undefined;
  let hostnameDrift: number | undefined;
  let orphanedObjects: number | undefined;
  let leftObjects: number | undefined;
  let peerAddressMismatches: number | undefined;
  let unregisteredMembers: number | undefined;

  if (objects !== undefined) {
    duplicates = 0;
    for (const group of groupByMemberId(objects).values()) {
      if (group.length < 2) continue;
      duplicates += group.length - 1;
      // With etcd down membersById is empty: no member to name the group after, so it is ambiguous.
      const stale = staleInGroup(group, membersById);
      if (stale === undefined) for (const o of group) flag(o, 'ambiguous_duplicate');
      else for (const o of stale) flag(o, 'duplicate');
    }
    for (const o of objects) {
      if (o.invalidMemberId !== undefined) flag(o, 'invalid_member_id');
      else if (o.memberId === undefined) flag(o, 'no_status');
      if (o.reconcileStatus === 'Failed' && !staleFailedStatus(o, k0s, etcd === undefined ? undefined : o.memberId !== undefined && membersById.has(o.memberId))) {
        flag(o, 'reconcile_failed');
      }
    }
  }

  if (both) {
    hostnameDrift = 0;
    orphanedObjects = 0;
    leftObjects = 0;
    peerAddressMismatches = 0;
    unregisteredMembers = 0;
    for (const o of objects) {
      if (o.memberId === undefined) continue;
      const member = membersById.get(o.memberId);
      if (member === undefined) {
        // k0s keeps the object after a leave through spec.leave: expected, not an orphan. `k0s etcd leave` (the CLI)
        // never touches the object, so its object keeps spec.leave false and is orphaned.
        if (o.leave) {
          leftObjects++;
          flag(o, 'left');
        } else {
          orphanedObjects++;
          flag(o, 'orphaned');
        }
        continue;
      }
      // An unstarted member has no name yet, so there is nothing to drift from.
      if (member.name !== '' && o.name !== objectNameFor(member.name)) {
        hostnameDrift++;
        flag(o, 'hostname_drift');
      }
      const etcdPeerHost = member.peerURLs[0] === undefined ? undefined : hostOfURL(member.peerURLs[0]);
      // Stryker disable next-line StringLiteral: an object without status.peerAddress differs from every URL host, as "" or any text that is no host
      if (etcdPeerHost !== undefined && normaliseHost(o.peerAddress ?? '') !== etcdPeerHost) {
        peerAddressMismatches++;
        flag(o, 'peer_address_mismatch');
      }
      if (o.leave) {
        // k0s <= 1.35.4 looks the object up among etcd's members by its exact name (R: members[member.Name]).
        const ignored = k0s.leaveMatchesById === false && !etcd.members.some((x) => x.name === o.name);
        flag(o, ignored ? 'leave_ignored' : 'leave_pending');
      }
    }
    const claimed = new Set(objects.map((o) => o.memberId));
    for (const m of etcd.members) {
      if (m.name === '' || claimed.has(m.id)) continue;
      // From k0s 1.35.5 a controller joins as a learner and writes its object only after its promotion.
      if (m.isLearner && k0s.learnerJoin !== false) continue;
      unregisteredMembers++;
      const name = k0s.objectNamesLowercased === false ? m.name : objectNameFor(m.name);
      memberFindings.push({ name: m.name, memberId: m.id, problem: isObjectName(name) ? 'unregistered' : 'unregistrable' });
    }
  }

  for (const m of etcd?.members ?? []) {
    if (m.isLearner) memberFindings.push({ name: m.name, memberId: m.id, problem: 'learner' });
    if (m.name === '') memberFindings.push({ name: m.name, memberId: m.id, problem: 'unstarted' });
  }

  let local: LocalFacts | undefined;
  const localMember = etcd?.localMemberId === undefined ? undefined : membersById.get(etcd.localMemberId);
  if (localMember !== undefined) {
    const etcdPeerHost = localMember.peerURLs[0] === undefined ? undefined : hostOfURL(localMember.peerURLs[0]);
    const predicted = host.predictedPeerAddress === undefined ? undefined : normaliseHost(host.predictedPeerAddress);
    local = {
      memberName: localMember.name,
      memberId: localMember.id,
      registrationName: host.registrationName,
      nameDrift: host.registrationNameKnown === false ? undefined : localMember.name !== '' && objectNameFor(localMember.name) !== host.registrationName,
      predictedPeerAddress: predicted,
      // Hosts only: k0s always uses https and port 2380, and the address is what an operator changes.
      peerAddressDrift: predicted === undefined || etcdPeerHost === undefined ? undefined : predicted !== etcdPeerHost,
    };
  }

  return {
    k0sVersion: k0s.version,
    k0s,
    crdAbsent: etcd === undefined || kubernetes === undefined ? undefined : !kubernetes.crdPresent,
    etcdMembers: etcd?.members.length,
    learners: etcd === undefined ? undefined : etcd.members.filter((m) => m.isLearner).length,
    unstartedMembers: etcd === undefined ? undefined : etcd.members.filter((m) => m.name === '').length,
    kubernetesMembers: objects?.length,
    crdPresent: kubernetes?.crdPresent,
    duplicates,
    hostnameDrift,
    orphanedObjects,
    leftObjects,
    unregisteredMembers,
    peerAddressMismatches,
    objectFindings: objectFindings.sort(byNameThen),
    memberFindings: memberFindings.sort(byNameThen),
    etcdMemberInfo: (etcd?.members ?? [])
      .map((m) => ({ name: m.name, memberId: m.id, peerAddress: (m.peerURLs[0] === undefined ? undefined : hostOfURL(m.peerURLs[0])) ?? '' }))
      .sort(byNameThen),
    objectInfo: (objects ?? [])
      .map((o) => ({ name: o.name, memberId: o.memberId ?? o.invalidMemberId ?? '', peerAddress: o.peerAddress ?? '' }))
      .sort(byNameThen),
    local,
    localPeerAddressOnHost: host.peerAddressOnHost,
    localPredictedPeerAddress: host.predictedPeerAddress,
    localPeerAddressUnknownWhy: host.peerAddressUnknownWhy,
  };
}

/**
 * A Failed status that k0s >= 1.35.5 left behind after one failed etcd member list and will never clear: it
 * rewrites the status only while it acts on spec.leave for a live member. The message is k0s's own and was
 * written by no earlier version, so it tells this Failed apart even where the version is unknown.
 * @param memberLive whether etcd lists the object's member; undefined while etcd cannot be read
 */
function staleFailedStatus(o: EtcdMemberObject, k0s: K0sBehaviour, memberLive: boolean | undefined): boolean {
  // Stryker disable next-line StringLiteral: with no message, "" and any text but k0s's prefix alike do not start with it
  if (k0s.failedListSticks === false || !(o.message ?? '').startsWith(FAILED_LIST_MESSAGE_PREFIX)) return false;
  return !o.leave || memberLive === false;
}

/** A valid Kubernetes object name (RFC 1123 subdomain), as kube-apiserver checks EtcdMember names. */
export function isObjectName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

function groupByMemberId(objects: readonly EtcdMemberObject[]): Map<string, EtcdMemberObject[]> {
  const groups = new Map<string, EtcdMemberObject[]>();
  for (const o of objects) {
    if (o.memberId === undefined) continue;
    const group = groups.get(o.memberId);
    if (group) group.push(o);
    else groups.set(o.memberId, [o]);
  }
  return groups;
}

/**
 * The provably stale objects of one duplicate group: those not named after the etcd member they point at, when
 * exactly that name is among the group. Undefined when it cannot be proven (etcd unavailable, member unknown or
 * unstarted, no object carries the member's name, or a candidate is named after another etcd member: it may be
 * that member's own object with a wrong ID): then the whole group is ambiguous and an operator decides.
 */
function staleInGroup(group: readonly EtcdMemberObject[], membersById: ReadonlyMap<string, EtcdMember>): readonly EtcdMemberObject[] | undefined {
  const member = group[0]?.memberId === undefined ? undefined : membersById.get(group[0].memberId);
  if (member === undefined) return undefined;
  // An unstarted member (no name yet) expects the name "", which no object has: parseObject skips nameless ones.
  const expected = objectNameFor(member.name);
  if (!group.some((o) => o.name === expected)) return undefined;
  const stale = group.filter((o) => o.name !== expected);
  const memberNames = new Set([...membersById.values()].map((m) => objectNameFor(m.name)));
  return stale.some((o) => memberNames.has(o.name)) ? undefined : stale;
}

/**
 * Host part of a peer URL, brackets of an IPv6 literal removed; undefined when the URL does not parse. WHATWG
 * URL refuses IPv6 zones (https://[fe80::1%25eth0]:2380), which etcd accepts: those are taken apart by hand.
 */
export function hostOfURL(url: string): string | undefined {
  try {
    return normaliseHost(new URL(url).hostname);
  } catch {
    const zoned = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?\[([0-9a-fA-F:.]+)%25([^\]]+)\](?::\d*)?(?:[/?#].*)?$/i.exec(url);
    if (!zoned) return undefined;
    let zone: string;
    try {
      zone = decodeURIComponent(zoned[2]!);
    } catch {
      return undefined;
    }
    return normaliseHost(`${zoned[1]!}%${zone}`);
  }
}

/**
 * Lowercase host, IPv6 brackets removed and the address in its canonical form, so that different spellings of
 * one address compare equal. A zone (fe80::1%eth0) is kept as written: interface names are case-sensitive.
 */
export function normaliseHost(host: string): string {
  const trimmed = host.trim().replace(/^\[(.*)\]$/, '$1');
  const percent = trimmed.indexOf('%');
  const zone = percent >= 0 && trimmed.includes(':') ? trimmed.slice(percent) : '';
  const bare = (zone === '' ? trimmed : trimmed.slice(0, percent)).toLowerCase();
  // An IPv6 address in canonical form; URL refuses anything else in brackets (a name, an IPv4 address, no address
  // at all), which is kept as written.
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1) + zone;
  } catch {
    return bare + zone;
  }
}

function byNameThen<T extends { name: string; memberId: string; problem?: string }>(a: T, b: T): number {
  return (
    // Stryker disable next-line StringLiteral: problem is absent only in the infos, where no two share name and member ID
    a.name.localeCompare(b.name) || a.memberId.localeCompare(b.memberId) || (a.problem ?? '').localeCompare(b.problem ?? '')
  );
}
