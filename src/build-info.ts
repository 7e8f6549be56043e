// How this exporter was built. Run from a checkout (tsc's dist/), nothing is stamped: it reads its version from
// package.json and says "unknown" for the rest, as prometheus/common/version does for a binary built without
// -ldflags. scripts/bundle.ts swaps this module for one with the build's facts as constants, because the bundle
// (in the image and inside the single executable) runs with no package.json or .git beside it.
export interface BuildInfo {
  /** dist: tsc's output run by node; bundle: the esbuild bundle run by node (the image); sea: the single executable. */
  readonly kind: 'dist' | 'bundle' | 'sea';
  /** Set only in the bundle. */
  readonly version?: string;
  /** Git revision the bundle was built from (-dirty with uncommitted changes), set only in the bundle. */
  readonly revision?: string;
  /** Git branch the bundle was built from, set only in the bundle. */
  readonly branch?: string;
  /** user@host that built the bundle, as promu stamps Go exporters, set only in the bundle. */
  readonly buildUser?: string;
  /** When the bundle was built, in promu's layout (20060102-15:04:05, UTC), set only in the bundle. */
  readonly date?: string;
}

export const BUILD: BuildInfo = { kind: 'dist' };
