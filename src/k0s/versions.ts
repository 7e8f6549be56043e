// What k0s does about etcd membership, by k0s version: the one place the analysis and its advice ask. Pure.
//
// Every rule below was read in k0s's own source (github.com/k0sproject/k0s) at the tags it names, on both sides of
// its boundary. R = pkg/component/controller/etcd_member_reconciler.go, C = cmd/controller/controller.go.
// A release candidate behaves as its release (v1.35.5-rc.0 already carries 1.35.5's reconciler), so only
// major.minor.patch is compared. An unknown version makes every rule unknown, and the analysis then gives
// the advice that is true on every version.

/** A k0s version as the API server reports it (`/version` gitVersion, e.g. v1.31.3+k0s.0) or as given. */
export interface K0sVersion {
  /** As reported or given, e.g. v1.31.3+k0s.0. */
  readonly gitVersion: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

// semver.org's form of major.minor.patch (no leading zeros), a pre-release and build metadata; the build metadata
// is captured without its `+`. No dependency of ours parses semver (package.json), and k0s's own strings are few.
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+([0-9A-Za-z.-]+))?$/;

/**
 * The k0s version in a kube-apiserver gitVersion; undefined unless it is k0s's: k0s builds kube-apiserver with
 * KUBE_GIT_VERSION="v$VERSION+k0s" (embedded-bins/kubernetes/Dockerfile, v1.33.4+k0s.0), so /version says
 * v1.33.4+k0s; `k0s version` says v1.33.4+k0s.0. A plain kube-apiserver's version says nothing about k0s.
 */
export function k0sVersionFromGitVersion(gitVersion: string): K0sVersion | undefined {
  const m = SEMVER.exec(gitVersion);
  const build = m?.[4];
  if (build !== 'k0s' && build?.startsWith('k0s.') !== true) return undefined;
  // A build was matched, so m is not null.
  return versionOf(m!, gitVersion);
}

/** A version given on the command line: v1.31.3+k0s.0, v1.31.3 or 1.31.3. Throws a message naming what is wanted. */
export function parseK0sVersion(text: string): K0sVersion {
  const gitVersion = text.trim();
  const m = SEMVER.exec(gitVersion);
  if (!m) throw new Error(`"${text}" is not a k0s version; want e.g. v1.31.3+k0s.0 (what \`k0s version\` prints)`);
  return versionOf(m, gitVersion);
}

function versionOf(m: RegExpExecArray, gitVersion: string): K0sVersion {
  return { gitVersion, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

type Triple = readonly [number, number, number];

/** major, then minor, then patch: the first that differs decides. */
function atLeast(v: K0sVersion, [major, minor, patch]: Triple): boolean {
  return (v.major - major || v.minor - minor || v.patch - patch) >= 0;
}

/** One behaviour that changed at a k0s version, with where in k0s's source it was read. */
export interface K0sRule {
  /** The first k0s version that behaves so. */
  readonly since: Triple;
  /** k0s file and tags the rule was read at, on both sides of the boundary. */
  readonly source: string;
  readonly what: string;
}

/** The rules, by name. `since` is the first version with the behaviour; before it k0s does otherwise. */
export const K0S_RULES = {
  keepsEtcdMembers: {
    since: [1, 30, 0],
    source: 'C and R at v1.29.15+k0s.0 (neither the CRD nor R exist) and v1.30.0+k0s.0 (k0s#4213 adds both)',
    what: 'k0s installs the EtcdMember CRD (etcd storage, no externalCluster) and writes one object per controller at its start',
  },
  objectNamesLowercased: {
    since: [1, 34, 1],
    source: 'R createMemberObject at v1.34.0-beta.0+k0s.0 (etcdConfig.GetNodeName(): the name unmodified) and v1.34.1+k0s.0 (nodeutil.GetHostname: trimmed, lowercased)',
    what: 'the object is named after the etcd member name trimmed and lowercased; before, unmodified, so an uppercase name is no valid object name and the member is never registered (k0s#6336)',
  },
  leaveMatchesById: {
    since: [1, 35, 5],
    source: 'R reconcileMember at v1.35.4+k0s.0 (`members[member.Name]`: etcd members by name) and v1.35.5+k0s.0 (`m.ID == memberID`)',
    what: 'spec.leave removes the etcd member whose ID status.memberID holds; before, k0s looked the object up among etcd members by its name and, finding none, only set Joined=False',
  },
  failedListSticks: {
    since: [1, 35, 5],
    source: 'R resync at v1.35.5+k0s.0 (a failed member list sets every object Failed, "Failed to list etcd cluster members: ..."; reconcileMember returns early for a live member without spec.leave and never clears it); v1.35.4+k0s.0 sets Failed only while acting on spec.leave',
    what: 'one failed etcd member list leaves status.reconcileStatus Failed on every object, and nothing clears it',
  },
  learnerJoin: {
    since: [1, 35, 5],
    source: 'cmd/api/api.go (AddMemberAsLearner) and R promoteLearners at v1.35.5+k0s.0; v1.35.4+k0s.0 adds voting members',
    what: 'a controller joins etcd as a learner and is promoted; its object is written only once its etcd serves, after promotion',
  },
  crdWithoutApplierManager: {
    since: [1, 36, 1],
    source: 'C at v1.35.7+k0s.0 (NewCRD: the CRD goes through the manifests dir, which only the applier-manager applies) and v1.36.1+k0s.0 (NewCRDStack: applied directly)',
    what: 'the EtcdMember CRD is applied without the applier-manager; before, `--disable-components applier-manager` leaves it uninstalled',
  },
} as const satisfies Record<string, K0sRule>;

export type K0sRuleName = keyof typeof K0S_RULES;

/** Each rule true or false for a known version; undefined for every rule when the version is unknown. */
export type K0sBehaviour = { readonly [R in K0sRuleName]: boolean | undefined } & { readonly version: string | undefined };

export function k0sBehaviour(version: K0sVersion | undefined): K0sBehaviour {
  const out: Record<string, boolean | undefined> = {};
  for (const [name, rule] of Object.entries(K0S_RULES)) out[name] = version === undefined ? undefined : atLeast(version, rule.since);
  return { ...(out as { [R in K0sRuleName]: boolean | undefined }), version: version?.gitVersion };
}

/** "1.35.5", for messages. */
export function sinceText(rule: K0sRuleName): string {
  return K0S_RULES[rule].since.join('.');
}

/** The message k0s >= 1.35.5 writes on every object when its etcd member list failed (R resync). */
export const FAILED_LIST_MESSAGE_PREFIX = 'Failed to list etcd cluster members';
