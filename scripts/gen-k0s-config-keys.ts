// Writes src/k0s/clusterconfig-keys.ts: every key of k0s's ClusterConfig (k0s.yaml) by k0s version, taken from the
// ClusterConfig CRD that k0s generates from its Go types (controller-gen over pkg/apis/k0s/v1beta1, json tags),
// one release per tag. The exporter never reads k0s's repository: the committed file is this script's output.
//
//   node dist/scripts/gen-k0s-config-keys.js --repo /path/to/k0s.git [--out src/k0s/clusterconfig-keys.ts|-]
//
// The CRD has lived at three paths (CRD_PATHS) over these releases; each is tried.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CRD_PATHS = [
  'static/_crds/k0s/k0s.k0sproject.io_clusterconfigs.yaml',
  'static/_crds/v1beta1/k0s.k0sproject.io_clusterconfigs.yaml',
  'static/manifests/v1beta1/CustomResourceDefinition/k0s.k0sproject.io_clusterconfigs.yaml',
];

interface Schema {
  properties?: Record<string, Schema>;
  additionalProperties?: unknown;
  items?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  type?: string;
}

/** A mapping's known keys; `any` when every key is accepted (a Go map, or a RawExtension); items for a list. */
interface Node {
  keys?: Map<string, { node: Node; versions: string[] }>;
  any?: boolean;
  items?: Node;
}

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

function versionKey(tag: string): number[] {
  const m = /^v(\d+)\.(\d+)\.(\d+)\+k0s\.(\d+)$/.exec(tag);
  return m ? m.slice(1).map(Number) : [];
}

function compare(a: string, b: string): number {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < 4; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

function merge(into: Node, schema: Schema, tag: string): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties !== undefined) into.any = true;
  if (schema.items !== undefined) merge((into.items ??= {}), schema.items, tag);
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    into.keys ??= new Map();
    let entry = into.keys.get(key);
    if (entry === undefined) into.keys.set(key, (entry = { node: {}, versions: [] }));
    entry.versions.push(tag);
    merge(entry.node, child, tag);
  }
}

function render(node: Node, tags: readonly string[], indent: string): string {
  const parts: string[] = [];
  if (node.any) parts.push('any: true');
  if (node.items) parts.push(`items: ${render(node.items, tags, indent)}`);
  if (node.keys) {
    const lines = [...node.keys.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, { node: child, versions }]) => {
        // Runs of consecutive releases (in version order) that know the key: backports make several.
        const known = new Set(versions);
        const runs: string[] = [];
        let start: string | undefined;
        tags.forEach((t, i) => {
          if (known.has(t) && start === undefined) start = t;
          if (!known.has(t) && start !== undefined) {
            runs.push(`['${start}', '${t}']`);
            start = undefined;
          }
          if (i === tags.length - 1 && start !== undefined) runs.push(start === tags[0] ? '' : `['${start}']`);
        });
        const range = runs.length === 1 && runs[0] === '' ? [] : [`in: [${runs.filter((r) => r !== '').join(', ')}]`];
        const body = render(child, tags, `${indent}  `);
        const fields = [...range, ...(body === '{}' ? [] : [body.slice(1, -1).trim()])].filter((f) => f !== '');
        return `${indent}  ${JSON.stringify(key)}: { ${fields.join(', ')} },`;
      });
    parts.push(`keys: {\n${lines.join('\n')}\n${indent}}`);
  }
  return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
}

function main(): void {
  const args = process.argv.slice(2);
  const repo = args[args.indexOf('--repo') + 1];
  if (!args.includes('--repo') || repo === undefined) throw new Error('usage: gen-k0s-config-keys --repo <k0s git dir> [--out file|-]');
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1]! : resolve(REPO_ROOT, 'src', 'k0s', 'clusterconfig-keys.ts');
  const tags = git(repo, 'tag')
    .split('\n')
    .filter((t) => /^v1\.3[0-6]\.\d+\+k0s\.\d+$/.test(t))
    .sort(compare);
  const root: Node = {};
  for (const tag of tags) {
    let text: string | undefined;
    for (const path of CRD_PATHS) {
      try {
        text = execFileSync('git', ['-C', repo, 'show', `${tag}:${path}`], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
        break;
      } catch {
        // the other path
      }
    }
    if (text === undefined) throw new Error(`${tag}: no ClusterConfig CRD at ${CRD_PATHS.join(' or ')}`);
    const crd = parseYaml(text) as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
    const v1beta1 = crd.spec.versions.find((v) => v.name === 'v1beta1');
    if (v1beta1 === undefined) throw new Error(`${tag}: no v1beta1 in the CRD`);
    merge(root, v1beta1.schema.openAPIV3Schema, tag);
  }
  const text = `// Generated by scripts/gen-k0s-config-keys.ts from k0s's ClusterConfig CRD (k0s.k0sproject.io_clusterconfigs.yaml
// under static/_crds/k0s/, static/_crds/v1beta1/ or static/manifests/v1beta1/CustomResourceDefinition/), which controller-gen
// makes from the Go types in pkg/apis/k0s/v1beta1 (clusterconfig_types.go and the structs it holds), at every
// k0s release tag from ${tags[0]} to ${tags[tags.length - 1]} (${tags.length} tags). Do not edit: rerun the script.
//
// in: the runs of releases, in version order, that know the key: [first, first that does not] or [first] when
// it is still known at the last release. Absent: every release in the range. any: every key is accepted there (a Go map or a RawExtension). metadata is a Kubernetes
// ObjectMeta, which the CRD does not spell out (see OBJECT_META_KEYS in config.ts).
import type { KeyNode } from './config-keys.js';

export const K0S_CONFIG_TAGS = { first: '${tags[0]}', last: '${tags[tags.length - 1]}', count: ${tags.length} } as const;

export const CLUSTER_CONFIG_KEYS: KeyNode = ${render(root, tags, '')};
`;
  if (out === '-') process.stdout.write(text);
  else writeFileSync(out, text);
}

main();
