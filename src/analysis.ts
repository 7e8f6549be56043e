// The pure core: both membership views and this host's facts in, findings out. No I/O, no clock, so that
// every rule can be tested on plain data and the result is the same wherever it runs.
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
 *   Cleanup, not an incident; it replaces orphaned for that object.
 */
export const OBJECT_PROBLEMS = [
  'duplicate',
  'ambiguous_duplicate',
  'hostname_drift',
  'orphaned',
  'left',
  'peer_address_mismatch',
  'leave_pending',
  'reconcile_failed',
  'no_status',
  'invalid_member_id',
] as const;
export type ObjectProblem = (typeof OBJECT_PROBLEMS)[number];

export const MEMBER_PROBLEMS = ['unregistered', 'learner', 'unstarted'] as const;
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
}

/**
 * @param etcd etcd's view, or undefined when etcd could not be read
 * @param kubernetes the EtcdMember objects, or undefined when the API could not be read
 */
export function analyse(
  etcd: EtcdSnapshot | undefined,
  kubernetes: KubernetesSnapshot | undefined,
  host: HostFacts,
): Report {
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
      const stale = staleInGroup(group, etcd === undefined ? undefined : membersById);
      if (stale === undefined) for (const o of group) flag(o, 'ambiguous_duplicate');
      else for (const o of stale) flag(o, 'duplicate');
    }
    for (const o of objects) {
      if (o.invalidMemberId !== undefined) flag(o, 'invalid_member_id');
      else if (o.memberId === undefined) flag(o, 'no_status');
      if (o.reconcileStatus === 'Failed') flag(o, 'reconcile_failed');
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
        // k0s keeps the object after a completed leave (`k0s etcd leave` or spec.leave): expected, not an orphan.
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
      if (etcdPeerHost !== undefined && normaliseHost(o.peerAddress ?? '') !== etcdPeerHost) {
        peerAddressMismatches++;
        flag(o, 'peer_address_mismatch');
      }
      if (o.leave) flag(o, 'leave_pending');
    }
    const claimed = new Set(objects.map((o) => o.memberId));
    for (const m of etcd.members) {
      if (m.name !== '' && !claimed.has(m.id)) {
        unregisteredMembers++;
        memberFindings.push({ name: m.name, memberId: m.id, problem: 'unregistered' });
      }
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
      .map((m) => ({ name: m.name, memberId: m.id, peerAddress: hostOfURL(m.peerURLs[0] ?? '') ?? '' }))
      .sort(byNameThen),
    objectInfo: (objects ?? [])
      .map((o) => ({ name: o.name, memberId: o.memberId ?? o.invalidMemberId ?? '', peerAddress: o.peerAddress ?? '' }))
      .sort(byNameThen),
    local,
    localPeerAddressOnHost: host.peerAddressOnHost,
  };
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
function staleInGroup(
  group: readonly EtcdMemberObject[],
  membersById: ReadonlyMap<string, EtcdMember> | undefined,
): readonly EtcdMemberObject[] | undefined {
  const member = group[0]?.memberId === undefined ? undefined : membersById?.get(group[0].memberId);
  if (member === undefined || member.name === '') return undefined;
  const expected = objectNameFor(member.name);
  if (!group.some((o) => o.name === expected)) return undefined;
  const stale = group.filter((o) => o.name !== expected);
  const memberNames = new Set([...membersById!.values()].filter((m) => m.name !== '').map((m) => objectNameFor(m.name)));
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
  if (bare.includes(':')) {
    try {
      return new URL(`http://[${bare}]/`).hostname.slice(1, -1) + zone;
    } catch {
      return bare + zone;
    }
  }
  return bare;
}

function byNameThen<T extends { name: string; memberId: string; problem?: string }>(a: T, b: T): number {
  return (
    a.name.localeCompare(b.name) || a.memberId.localeCompare(b.memberId) || (a.problem ?? '').localeCompare(b.problem ?? '')
  );
}
