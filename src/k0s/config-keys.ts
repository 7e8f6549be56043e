// The shape of the key tree in clusterconfig-keys.ts (generated): which keys k0s's ClusterConfig knows, by version.
export interface KeyNode {
  /** The keys of this mapping k0s knows; absent when it is not a mapping k0s spells out. */
  readonly keys?: Readonly<Record<string, KeyEntry>>;
  /** Every key is accepted here (a Go map such as extraArgs, or a RawExtension such as a Helm chart's values). */
  readonly any?: boolean;
  /** The element of a list. */
  readonly items?: KeyNode;
}

export interface KeyEntry extends KeyNode {
  /**
   * The runs of k0s releases (tags, in version order) that know the key: [first, first that does not], or [first]
   * when the last release in range still does. Absent: every release in range. Backports make several runs.
   */
  readonly in?: readonly (readonly [string, string] | readonly [string])[];
}

/** A k0s release as numbers: v1.31.3+k0s.0 -> [1, 31, 3, 0]. */
export type K0sRelease = readonly [number, number, number, number];

/**
 * Parses a k0s version as the API server's /version gitVersion carries it (v1.31.3+k0s.0) or as written by hand
 * (1.31.3, v1.31.3+k0s); undefined when it is not one. A pre-release (v1.32.1-rc.0+k0s.0) counts as its release.
 */
export function parseK0sRelease(version: string | undefined): K0sRelease | undefined {
  if (version === undefined) return undefined;
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+k0s(?:\.(\d+))?)?$/.exec(version.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
}

export function compareReleases(a: K0sRelease, b: K0sRelease): number {
  const i = a.findIndex((n, j) => n !== b[j]);
  return i < 0 ? 0 : a[i]! - b[i]!;
}

/** True when release is at or after `since` (a tag such as v1.32.1+k0s.0). */
export function atLeast(release: K0sRelease, since: string): boolean {
  return compareReleases(release, parseK0sRelease(since)!) >= 0;
}

/** Whether the key exists in that release; with no release (version unknown), whether it exists in any. */
export function keyKnownIn(entry: KeyEntry, release: K0sRelease | undefined): boolean {
  if (entry.in === undefined || release === undefined) return true;
  return entry.in.some(([from, to]) => atLeast(release, from) && (to === undefined || !atLeast(release, to)));
}
