// The status document: one analysis, joined by member ID, with the exact safe next step for every finding. It
// backs `check -o json`, `check`'s table and the status page, so they can never disagree. Pure: the report, the
// snapshots it was built from, the sources' health and the time in; the document out.
import { hostOfURL, isObjectName, type ObjectProblem, type MemberProblem, type Report } from './analysis.js';
import { sinceText, type K0sBehaviour } from './k0s/versions.js';
import { objectNameFor, type EtcdMember, type EtcdMemberObject, type EtcdSnapshot, type KubernetesSnapshot } from './model.js';
import type { SourceName } from './sources/source.js';

/**
 * The runbook the exporter serves (src/web/runbook.ts): under --web.external-url when one is given, else
 * relative to the exporter's root, which resolves from the status page and /status.json wherever they are served.
 */
export function runbookUrl(externalUrl: string | undefined): string {
  return externalUrl === undefined ? 'runbook' : `${externalUrl.replace(/\/+$/, '')}/runbook`;
}

export interface StatusDocument {
  kind: 'K0sEtcdMemberStatus';
  version: 1;
  /** ISO 8601. */
  generatedAt: string;
  /** Every source up and no finding. */
  consistent: boolean;
  /**
   * The k0s version the findings and advice are for (the API server's gitVersion, or --k0s.version); absent when
   * unknown, and the advice is then true for every k0s version.
   */
  k0sVersion?: string;
  sources: StatusSource[];
  /** One per member ID: etcd's members first (by name), then IDs only objects carry, then objects without one (""). */
  rows: StatusRow[];
  findings: StatusFinding[];
  local: StatusLocal | null;
}

export interface StatusSource {
  name: SourceName;
  /** null until the first read has ended. */
  up: boolean | null;
  lastSuccess: string | null;
  reason: string | null;
  error: string | null;
}

export interface StatusRow {
  /** Lowercase hex; "" for objects without a valid one. */
  memberId: string;
  member: { name: string; peerAddress: string; learner: boolean; started: boolean } | null;
  objects: { name: string; peerAddress: string | null; leave: boolean; reconcileStatus: string | null; joined?: string; message?: string }[];
  /** The problems on this row: the member's as they are (`unregistered`), the objects' as `name: problem`. */
  findings: string[];
}

export interface StatusFinding {
  subject: 'object' | 'member' | 'local' | 'cluster';
  name: string;
  memberId: string;
  problem: string;
  /** One line an operator understands. */
  message: string;
  /** The exact safe next step to type, or null when the step needs judgement (the message says what to compare). */
  command: string | null;
  runbook: string;
}

export interface StatusLocal {
  memberName: string;
  memberId: string;
  registrationName: string;
  /** null when the name k0s will register cannot be told (k0s.yaml unreadable, no --node.member-name). */
  nameDrift: boolean | null;
  /** Absent when not predicted (k0s.yaml unreadable, or k0s runs no etcd here). */
  predictedPeerAddress?: string;
  peerAddressDrift?: boolean;
  /** false: etcd cannot listen on predictedPeerAddress on this host (k0s#7876); absent when it cannot be told. */
  peerAddressOnHost?: boolean;
  /** Why the peer address k0s uses at its next start cannot be predicted, when it cannot. */
  peerAddressUnknownWhy?: string;
}

/** A source's health as the document needs it (structurally what the sources report). */
export interface SourceState {
  readonly name: SourceName;
  readonly attempted: boolean;
  readonly up: boolean;
  readonly lastSuccessMs: number | undefined;
  readonly lastError?: { readonly reason: string; readonly message: string } | undefined;
}

export interface StatusInput {
  readonly report: Report;
  /** The snapshots the report was built from (undefined while a source is down). */
  readonly etcd: EtcdSnapshot | undefined;
  readonly kubernetes: KubernetesSnapshot | undefined;
  readonly sources: readonly SourceState[];
  readonly now: Date;
  /** runbookUrl() of the exporter that serves this release's runbook. */
  readonly runbook: string;
}

/** The runbook section an operator reads for each finding; a problem added to the vocabulary fails to compile here. */
const RUNBOOK_ANCHOR: Record<ObjectProblem | MemberProblem | LocalProblem, string> = {
  duplicate: 'k0setcdmemberduplicate',
  ambiguous_duplicate: 'k0setcdmemberambiguousduplicate',
  hostname_drift: 'k0setcdmemberhostnamedrift',
  orphaned: 'k0setcdmemberorphaned',
  left: 'k0setcdmemberleft',
  peer_address_mismatch: 'k0setcdmemberpeeraddressmismatch',
  leave_pending: 'k0setcdmemberleavestuck',
  leave_ignored: 'k0setcdmemberleaveignored',
  reconcile_failed: 'k0setcdmemberreconcilefailed',
  no_status: 'k0setcdmembercountmismatch',
  invalid_member_id: 'k0setcdmembercountmismatch',
  unregistered: 'k0setcdmemberunregistered',
  unregistrable: 'k0setcdmemberunregistrable',
  learner: 'k0setcdmembercountmismatch',
  unstarted: 'k0setcdmemberunstarted',
  local_name_drift: 'k0setcdmemberlocalnamedrift',
  local_peer_address_drift: 'k0setcdmemberlocalpeeraddressdrift',
  crd_absent: 'k0setcdmembercrdabsent',
  local_peer_address_not_on_host: 'k0setcdmemberlocalpeeraddressnotonhost',
};

type LocalProblem = 'local_name_drift' | 'local_peer_address_drift' | 'crd_absent' | 'local_peer_address_not_on_host';

export function buildStatusDocument(input: StatusInput): StatusDocument {
  const { report, etcd, kubernetes } = input;
  const members = [...(etcd?.members ?? [])].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const membersById = new Map(members.map((m) => [m.id, m]));
  const objects = kubernetes?.crdPresent ? [...kubernetes.objects].sort((a, b) => a.name.localeCompare(b.name)) : [];
  const objectsByName = new Map(objects.map((o) => [o.name, o]));
  const membersByObjectName = new Map(members.filter((m) => m.name !== '').map((m) => [objectNameFor(m.name), m]));

  const findings: StatusFinding[] = [];
  for (const f of report.objectFindings) {
    const o = objectsByName.get(f.name);
    const member = o?.memberId === undefined ? undefined : membersById.get(o.memberId);
    const group = o?.memberId === undefined ? [] : objects.filter((x) => x.memberId === o.memberId);
    const problems = new Set(report.objectFindings.filter((x) => x.name === f.name).map((x) => x.problem));
    const k0s = { behaviour: report.k0s, memberNamedLikeObject: members.some((m) => m.name === f.name) };
    findings.push({ subject: 'object', name: f.name, memberId: f.memberId, problem: f.problem, ...objectAdvice(f.problem, f.name, f.memberId, o, member, group, problems, membersByObjectName.get(f.name), membersByObjectName, k0s), runbook: runbook(input.runbook, f.problem) });
  }
  for (const f of report.memberFindings) {
    findings.push({ subject: 'member', name: f.name, memberId: f.memberId, problem: f.problem, ...memberAdvice(f.problem, f.name, f.memberId, report.k0s), runbook: runbook(input.runbook, f.problem) });
  }
  if (report.crdAbsent === true) {
    findings.push({ subject: 'cluster', name: '', memberId: '', problem: 'crd_absent', message: crdAbsentMessage(report.k0s), command: 'kubectl get crd etcdmembers.etcd.k0sproject.io', runbook: runbook(input.runbook, 'crd_absent') });
  }
  const local = report.local;
  if (local?.nameDrift) {
    findings.push({
      subject: 'local',
      name: local.registrationName,
      memberId: local.memberId,
      problem: 'local_name_drift',
      message: `this host would register as "${local.registrationName}" at its next k0s start, but its etcd member is "${local.memberName}": restore the hostname or set spec.storage.etcd.extraArgs.name: ${local.memberName} in k0s.yaml before restarting k0s, or a duplicate follows (k0s#5369)`,
      command: null,
      runbook: runbook(input.runbook, 'local_name_drift'),
    });
  }
  const localMember = local === undefined ? undefined : membersById.get(local.memberId);
  if (local?.peerAddressDrift && local.predictedPeerAddress !== undefined && localMember !== undefined) {
    const known = hostOfURL(localMember.peerURLs[0] ?? '') ?? '';
    findings.push({
      subject: 'local',
      name: local.memberName,
      memberId: local.memberId,
      problem: 'local_peer_address_drift',
      message: `at its next k0s start this host's etcd member "${local.memberName}" would listen for peers on ${local.predictedPeerAddress}, but the cluster reaches it at ${known}: set spec.storage.etcd.peerAddress: ${known} in k0s.yaml before restarting k0s, or, if the address really changed, update the member's peer URL first (runbook)`,
      command: null,
      runbook: runbook(input.runbook, 'local_peer_address_drift'),
    });
  }

  // Needs no etcd: after a restore onto a new IP (k0s#7876) etcd is down here, and this says why.
  if (report.localPeerAddressOnHost === false && report.localPredictedPeerAddress !== undefined) {
    const address = report.localPredictedPeerAddress;
    findings.push({
      subject: 'local',
      name: address,
      memberId: local?.memberId ?? '',
      problem: 'local_peer_address_not_on_host',
      message: `at its next k0s start etcd on this host would listen for peers on ${JSON.stringify(address)}, which this host does not have (or is not an IP address): etcd cannot start and k0s restarts it in a loop (k0s#7876). Set spec.storage.etcd.peerAddress in k0s.yaml to this host's address that the member's peer URL names; if the address really changed, update the member's peer URL first (runbook)`,
      command: null,
      runbook: runbook(input.runbook, 'local_peer_address_not_on_host'),
    });
  }

  const rows: StatusRow[] = [];
  const rowFindings = (memberId: string, member: EtcdMember | undefined, rowObjects: readonly EtcdMemberObject[]): string[] => [
    ...(member ? report.memberFindings.filter((f) => f.memberId === member.id).map((f) => f.problem) : []),
    ...report.objectFindings.filter((f) => rowObjects.some((o) => o.name === f.name) && (memberId === '' || f.memberId === memberId)).map((f) => `${f.name}: ${f.problem}`),
  ];
  const objectRow = (o: EtcdMemberObject): StatusRow['objects'][number] => ({
    name: o.name,
    peerAddress: o.peerAddress ?? null,
    leave: o.leave,
    reconcileStatus: o.reconcileStatus ?? null,
    // Only when k0s wrote them (the Joined condition, status.message), so older documents read the same.
    ...(o.joined === undefined ? {} : { joined: o.joined }),
    ...(o.message === undefined ? {} : { message: o.message }),
  });
  for (const m of members) {
    const mine = objects.filter((o) => o.memberId === m.id);
    rows.push({
      memberId: m.id,
      member: { name: m.name, peerAddress: hostOfURL(m.peerURLs[0] ?? '') ?? '', learner: m.isLearner, started: m.name !== '' },
      objects: mine.map(objectRow),
      findings: rowFindings(m.id, m, mine),
    });
  }
  const unknownIds = [...new Set(objects.filter((o) => o.memberId !== undefined && !membersById.has(o.memberId)).map((o) => o.memberId!))].sort();
  for (const id of unknownIds) {
    const mine = objects.filter((o) => o.memberId === id);
    rows.push({ memberId: id, member: null, objects: mine.map(objectRow), findings: rowFindings(id, undefined, mine) });
  }
  const withoutId = objects.filter((o) => o.memberId === undefined);
  if (withoutId.length > 0) rows.push({ memberId: '', member: null, objects: withoutId.map(objectRow), findings: rowFindings('', undefined, withoutId) });

  const sources: StatusSource[] = input.sources.map((s) => ({
    name: s.name,
    up: s.attempted ? s.up : null,
    lastSuccess: s.lastSuccessMs === undefined ? null : new Date(s.lastSuccessMs).toISOString(),
    reason: s.up || s.lastError === undefined ? null : s.lastError.reason,
    error: s.up || s.lastError === undefined ? null : s.lastError.message,
  }));

  return {
    kind: 'K0sEtcdMemberStatus',
    version: 1,
    generatedAt: input.now.toISOString(),
    consistent: sources.length > 0 && sources.every((s) => s.up === true) && findings.length === 0,
    ...(report.k0sVersion === undefined ? {} : { k0sVersion: report.k0sVersion }),
    sources,
    rows,
    findings,
    local:
      local === undefined
        ? null
        : {
            memberName: local.memberName,
            memberId: local.memberId,
            registrationName: local.registrationName,
            nameDrift: local.nameDrift ?? null,
            ...(local.predictedPeerAddress === undefined ? {} : { predictedPeerAddress: local.predictedPeerAddress }),
            ...(local.peerAddressDrift === undefined ? {} : { peerAddressDrift: local.peerAddressDrift }),
            ...(report.localPeerAddressOnHost === undefined ? {} : { peerAddressOnHost: report.localPeerAddressOnHost }),
            ...(report.localPeerAddressUnknownWhy === undefined ? {} : { peerAddressUnknownWhy: report.localPeerAddressUnknownWhy }),
          },
  };
}

function runbook(base: string, problem: ObjectProblem | MemberProblem | LocalProblem): string {
  return `${base}#${RUNBOOK_ANCHOR[problem]}`;
}

/** Every runbook section the document links, for the test that keeps them in docs/runbook.md. */
export const RUNBOOK_ANCHORS: readonly string[] = [...new Set(Object.values(RUNBOOK_ANCHOR))];


function memberLabel(member: EtcdMember | undefined, memberId: string): string {
  return member === undefined ? `member ${memberId}` : `etcd member "${member.name}" (${memberId})`;
}

/** The message and the one safe command for an object finding. Never suggests spec.leave. */
function objectAdvice(
  problem: ObjectProblem,
  name: string,
  memberId: string,
  o: EtcdMemberObject | undefined,
  member: EtcdMember | undefined,
  group: readonly EtcdMemberObject[],
  problems: ReadonlySet<ObjectProblem>,
  /** The etcd member this object is named after, if any: its object is never to be deleted (prune keeps it too). */
  namesake: EtcdMember | undefined,
  /** Every started etcd member by the object name k0s gives it. */
  membersByObjectName: ReadonlyMap<string, EtcdMember>,
  /** The k0s judged by, and whether an etcd member bears exactly this object's name (k0s <= 1.35.4 matches a leave by it). */
  k0s: { readonly behaviour: K0sBehaviour; readonly memberNamedLikeObject: boolean },
): { message: string; command: string | null } {
  const others = group.filter((x) => x.name !== name).map((x) => x.name);
  const said = o?.message === undefined ? '' : ` (k0s says: ${JSON.stringify(o.message)})`;
  const byId = k0s.behaviour.leaveMatchesById;
  const version = k0s.behaviour.version;
  switch (problem) {
    case 'duplicate':
      return {
        message: `${name} is stale: it carries the ID of ${memberLabel(member, memberId)}, whose own object is ${objectNameFor(member?.name ?? '')}; delete ${name} (deleting an object never changes etcd)${o?.leave ? (byId === false ? `, before upgrading k0s: its spec.leave is true, which k0s ${version} ignores but k0s ${sinceText('leaveMatchesById')} and later carry out on the live member` : ', now: its spec.leave is true and k0s may remove the live member') : ''}`,
        command: `kubectl delete etcdmember ${name}`,
      };
    case 'ambiguous_duplicate': {
      const command = `kubectl get etcdmember ${[name, ...others].join(' ')} -o wide`;
      // The analysis also calls a group ambiguous when its right-named object exists but another candidate is
      // named after a different live member: that one may be the other member's own object with a wrong ID.
      const expected = member === undefined || member.name === '' ? undefined : objectNameFor(member.name);
      const claimed = expected === undefined || !group.some((x) => x.name === expected) ? [] : group.filter((x) => x.name !== expected && membersByObjectName.has(x.name));
      if (claimed.length > 0) {
        const why = claimed.map((x) => `${x.name} is named after live ${memberLabel(membersByObjectName.get(x.name), membersByObjectName.get(x.name)!.id)} and may be that member's own object with a wrong ID`).join('; ');
        return { message: `${name} shares member ID ${memberId} with ${others.join(', ')}, and which is stale cannot be proven (${why}): compare with etcd's member list; delete nothing until it is clear which object is whose`, command };
      }
      return {
        message: `${name} shares member ID ${memberId} with ${others.join(', ')}, and which is stale cannot be proven${member === undefined ? ' (etcd does not list the member, or etcd could not be read)' : member.name === '' ? ' (the member has not started)' : ` (no object is named ${objectNameFor(member.name)})`}: compare with etcd's member list and keep the object named after the member; delete nothing until one is`,
        command,
      };
    }
    case 'hostname_drift':
      // A stale duplicate's drift goes with the object: the step that deletes it clears both findings.
      return problems.has('duplicate')
        ? {
            message: `${name} carries the ID of ${memberLabel(member, memberId)}, which k0s would name ${objectNameFor(member?.name ?? '')}: ${name} is the stale duplicate, and deleting it clears this too`,
            command: `kubectl delete etcdmember ${name}`,
          }
        : {
            message: `${name} carries the ID of ${memberLabel(member, memberId)}, which k0s would name ${objectNameFor(member?.name ?? '')}: the controller's hostname or extraArgs.name changed since it joined`,
            command: null,
          };
    case 'orphaned':
    case 'left':
      if (problems.has('ambiguous_duplicate')) {
        // prune deletes nothing of an ambiguous group, so neither does the advice.
        return {
          message: `${name} carries member ID ${memberId}, which etcd does not list${o?.leave ? ' (it asked to leave)' : ''}, and shares it with ${others.join(', ')}: which is stale cannot be proven (see its ambiguous_duplicate finding), so prune deletes none of them; compare with etcd's member list and k0s's controllers before deleting anything`,
          command: null,
        };
      }
      if (problem === 'left') return leftAdvice(name, memberId, namesake);
      return {
        message: `${name} carries member ID ${memberId}, which etcd does not list (created ${o?.creationTimestamp ?? 'at an unknown time'}): its member was removed without spec.leave (\`k0s etcd leave\` and etcdctl leave the object as it was), or etcd was restored; prune's dry run says whether deleting it is provably safe (not right after an etcd restore, when every object looks orphaned)`,
        command: 'k0s-etcdmember-exporter prune --kubeconfig /var/lib/k0s/pki/admin.conf',
      };
    case 'peer_address_mismatch':
      return {
        message: `${name} has status.peerAddress ${o?.peerAddress ?? '(none)'} but etcd's peer URL of ${memberLabel(member, memberId)} is on ${member ? hostOfURL(member.peerURLs[0] ?? '') || '(none)' : '(unknown)'}: compare with the controller's k0s.yaml spec.storage.etcd.peerAddress`,
        command: null,
      };
    case 'leave_pending':
      if (problems.has('duplicate')) {
        return {
          message: `${name} has spec.leave true and carries the ID of live ${memberLabel(member, memberId)}: ${byId === true ? `k0s ${version} matches a leave by member ID and removes that live member from etcd` : `k0s ${sinceText('leaveMatchesById')} and later match a leave by member ID and remove that live member from etcd (older k0s ignores this leave until it is upgraded)`}; deleting the stale ${name} disarms it`,
          command: `kubectl delete etcdmember ${name}`,
        };
      }
      if (problems.has('ambiguous_duplicate') && member !== undefined) {
        // Named after a live member, it may be that member's own object: never offered for deletion (prune keeps it).
        return namesake === undefined
          ? {
              message: `${name} has spec.leave true and carries the ID of live ${memberLabel(member, memberId)}, which other objects share: k0s may remove that live member; unless that removal is planned, delete ${name} now (deleting an EtcdMember never changes etcd)`,
              command: `kubectl delete etcdmember ${name}`,
            }
          : {
              message: `${name} has spec.leave true and carries the ID of live ${memberLabel(member, memberId)}, which other objects share: k0s may remove that live member; ${name} is named after live ${memberLabel(namesake, namesake.id)} and may be its own object, so compare with etcd's member list before deleting anything`,
              command: null,
            };
      }
      if (byId === undefined && !k0s.memberNamedLikeObject) {
        return {
          message: `${name} has spec.leave true and etcd still lists ${memberLabel(member, memberId)}${said}: k0s ${sinceText('leaveMatchesById')} and later remove that member (they match by ID, after its controller stopped); older k0s finds no etcd member named ${name}, removes nothing, and removes it after an upgrade; unless that removal is wanted, clear spec.leave: kubectl patch etcdmember ${name} --type=merge -p '{"spec":{"leave":false}}'`,
          command: null,
        };
      }
      return {
        message: `${name} has spec.leave true and etcd still lists ${memberLabel(member, memberId)}${said}: k0s is removing it from etcd${byId === true ? ' (it first asks that controller to stop and waits for it)' : ''}, or the leave is stuck (see k0s's logs on the controllers)`,
        command: null,
      };
    case 'leave_ignored': {
      const later = `k0s ${sinceText('leaveMatchesById')} and later match a leave by member ID and remove live ${memberLabel(member, memberId)}`;
      const ignored = `${name} has spec.leave true, but k0s ${version} looks the object up among etcd's members by its name, finds no member named ${name} and removes nothing (it sets Joined=False)`;
      if (problems.has('duplicate')) {
        return { message: `${ignored}; ${later}: delete the stale ${name} before upgrading k0s (deleting an EtcdMember never changes etcd)`, command: `kubectl delete etcdmember ${name}` };
      }
      if (problems.has('ambiguous_duplicate')) {
        return { message: `${ignored}; ${later}: before upgrading k0s, find out which of ${[name, ...others].join(', ')} is stale and delete it, or clear spec.leave: kubectl patch etcdmember ${name} --type=merge -p '{"spec":{"leave":false}}'`, command: null };
      }
      return {
        message: `${ignored}; ${later}. If that member is to leave, remove it with \`k0s etcd leave --peer-address <its peer address>\` on a controller (then delete ${name}); if not, clear spec.leave before upgrading k0s: kubectl patch etcdmember ${name} --type=merge -p '{"spec":{"leave":false}}'`,
        command: null,
      };
    }
    case 'reconcile_failed':
      return { message: `${name} has status.reconcileStatus Failed${said}: k0s could not reconcile it; see the k0s controller logs`, command: null };
    case 'no_status':
      return { message: `${name} has no status.memberID: k0s has not registered its member yet, or the object was created by hand`, command: null };
    case 'invalid_member_id':
      return { message: `${name} has status.memberID ${JSON.stringify(memberId)}, which is not hex: it was not written by k0s`, command: null };
  }
}

/** Why the CRD may be absent while etcd answers, for the k0s judged by. */
function crdAbsentMessage(k0s: K0sBehaviour): string {
  const head = "etcd answers, but the API serves no EtcdMember CRD (etcdmembers.etcd.k0sproject.io): no object can be compared with etcd's member list";
  const deleted = 'if it was deleted, every EtcdMember object went with it (k0s#8103): once the CRD is back, restart k0s on each controller in turn so each registers its object again';
  const external = 'k0s with an external etcd (spec.storage.etcd.externalCluster) installs no CRD, and this exporter has nothing to compare there';
  if (k0s.keepsEtcdMembers === false) {
    return `${head}: k0s ${k0s.version} keeps no EtcdMember objects (they came with k0s ${sinceText('keepsEtcdMembers')}); only etcd's view is judged here until k0s is upgraded`;
  }
  if (k0s.crdWithoutApplierManager === false) {
    return `${head}: k0s ${k0s.version} installs the CRD through its applier-manager, so a controller started with --disable-components applier-manager leaves it out; ${deleted}; ${external}`;
  }
  if (k0s.crdWithoutApplierManager === true) return `${head}: k0s ${k0s.version} applies the CRD itself on the leading controller; ${deleted}; ${external}`;
  return `${head}: k0s before ${sinceText('keepsEtcdMembers')} keeps no objects, and k0s before ${sinceText('crdWithoutApplierManager')} installs the CRD only through its applier-manager (not with --disable-components applier-manager); ${deleted}; ${external}`;
}

/** A completed leave: deleting it is safe unless the object is named after a live member (prune keeps it too). */
function leftAdvice(name: string, memberId: string, namesake: EtcdMember | undefined): { message: string; command: string | null } {
  return namesake === undefined
    ? {
        message: `${name} asked to leave (spec.leave) and etcd no longer lists member ${memberId}: the leave is complete and k0s keeps the object; delete it to clean up`,
        command: `kubectl delete etcdmember ${name}`,
      }
    : {
        message: `${name} asked to leave (spec.leave) and etcd no longer lists member ${memberId}, but it is named after live etcd member "${namesake.name}" (${namesake.id}): nothing proves it is not that member's object, so compare with etcd's member list before deleting anything`,
        command: null,
      };
}

function memberAdvice(problem: MemberProblem, name: string, memberId: string, k0s: K0sBehaviour): { message: string; command: string | null } {
  const lowercase = `give that controller a lowercase name (its hostname, or spec.storage.etcd.extraArgs.name in k0s.yaml) and restart k0s there: etcd takes the new member name at that start`;
  switch (problem) {
    case 'unregistered': {
      const restart = `etcd member "${name}" (${memberId}) has no EtcdMember object: restart k0s on that controller (one at a time) once its local name and peer address drift are clear; it registers the object at start`;
      // Only an unknown version gets here with a name that is no object name unmodified: k0s < 1.34.1 would never register it.
      if (k0s.objectNamesLowercased === undefined && !isObjectName(name)) {
        return { message: `${restart}; but k0s before ${sinceText('objectNamesLowercased')} names the object "${name}" unmodified, which is no valid object name, and can never register it (k0s#6336): there, upgrade k0s or ${lowercase}`, command: null };
      }
      return { message: restart, command: null };
    }
    case 'unregistrable': {
      const objectName = k0s.objectNamesLowercased === false ? name : objectNameFor(name);
      const cannot = `etcd member "${name}" (${memberId}) has no EtcdMember object, and k0s ${k0s.version ?? ''}${k0s.version === undefined ? '' : ' '}can never register one: it names the object "${objectName}", which is no valid Kubernetes name (lowercase letters, digits, '-' and '.')`;
      if (k0s.objectNamesLowercased === false && isObjectName(objectNameFor(name))) {
        return { message: `${cannot} (k0s#6336); restarting k0s cannot help: upgrade k0s to ${sinceText('objectNamesLowercased')} or later, which lowercases the name, or ${lowercase}`, command: null };
      }
      return { message: `${cannot}; restarting k0s cannot help: ${lowercase.replace('a lowercase name', "a name of lowercase letters, digits, '-' and '.'")}`, command: null };
    }
    case 'learner':
      return {
        message:
          k0s.learnerJoin === false
            ? `etcd member "${name}" (${memberId}) is a learner, and k0s ${k0s.version} adds no learners: someone added it (etcdctl member add --learner); promote it (etcdctl member promote) or remove it`
            : `etcd member "${name}" (${memberId}) is a learner: a join in progress (k0s ${sinceText('learnerJoin')} and later join controllers as learners and promote them; the controller registers its object once promoted)`,
        command: null,
      };
    case 'unstarted':
      return { message: `etcd member ${memberId} was added but never started: its controller did not finish joining`, command: null };
  }
}
