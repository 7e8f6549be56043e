// How this exporter was built. Run from a checkout (tsc's dist/), it reads its version from package.json.
// scripts/bundle.ts swaps this module for one with the version, revision and date as constants, because the
// bundle (in the image and inside the single executable) runs with no package.json beside it.
export interface BuildInfo {
  /** dist: tsc's output run by node; bundle: the esbuild bundle run by node (the image); sea: the single executable. */
  readonly kind: 'dist' | 'bundle' | 'sea';
  /** Set only in the bundle. */
  readonly version?: string;
  /** Git revision the bundle was built from, set only in the bundle. */
  readonly revision?: string;
  /** When the bundle was built (ISO 8601), set only in the bundle. */
  readonly date?: string;
}

export const BUILD: BuildInfo = { kind: 'dist' };
