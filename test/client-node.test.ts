// src/client-node/ loads client-node's KubeConfig without its generated API (see the comment there): the
// KubeConfig still works, and the process holds far less than with the whole of client-node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const KUBECONFIG_MODULE = fileURLToPath(new URL('../src/kubeconfig.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'client-node-test-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t0ken}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
);

/** In a fresh process: load the kubeconfig with one KubeConfig class, apply it, report headers and heap in use. */
function probe(loader: string): { authorization: string; server: string; heapMb: number } {
  const script = `
    const { KubeConfig } = ${loader};
    const kc = new KubeConfig();
    kc.loadFromFile(${JSON.stringify(kubeconfig)});
    const options = {};
    await kc.applyToHTTPSOptions(options);
    await new Promise((r) => setTimeout(r, 100));
    globalThis.gc();
    console.log(JSON.stringify({ authorization: options.headers.Authorization, server: kc.getCurrentCluster().server, heapMb: process.memoryUsage().heapUsed / 1048576 }));
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, cwd: fileURLToPath(new URL('../../', import.meta.url)) });
  return JSON.parse(out) as { authorization: string; server: string; heapMb: number };
}

describe("client-node's KubeConfig without its generated API", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a kubeconfig and applies its credentials as client-node does, in a fraction of the heap', () => {
    const slim = probe(`await import(${JSON.stringify(KUBECONFIG_MODULE.replace(/kubeconfig\.js$/, 'client-node/index.js'))})`);
    const whole = probe(`await import('@kubernetes/client-node')`);
    assert.equal(slim.authorization, 'Bearer t0ken');
    assert.equal(slim.server, 'https://127.0.0.1:6443');
    assert.deepEqual({ ...slim, heapMb: 0 }, { ...whole, heapMb: 0 });
    // Measured: about 8 MB against about 30 MB.
    assert.ok(slim.heapMb < whole.heapMb - 15, `heap in use: ${slim.heapMb.toFixed(1)} MB without the generated API, ${whole.heapMb.toFixed(1)} MB with all of client-node`);
  });
});
