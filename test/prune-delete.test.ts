// prune's DELETE keeps the exporter's request deadline from the first step: a kubeconfig credential plugin that
// hangs (an exec or OIDC plugin waiting on a login) ends in a timeout, not a prune that never returns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Unreadable, deleteObject } from '../src/commands/io.js';

function hangingPluginConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', 'setTimeout(() => {}, 5000)'], interactiveMode: 'Never' } }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('deleteObject', () => {
  it('a hanging credential plugin ends in a timeout within the request deadline', { timeout: 20_000 }, async () => {
    const started = Date.now();
    const err = await deleteObject(hangingPluginConfig(), 500, 'c1', { uid: 'u1', resourceVersion: '1' }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Unreadable, String(err));
    assert.equal(err.reason, 'timeout', err.message);
    assert.match(err.line, /^cannot read kubernetes \(timeout\): /);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });
});
