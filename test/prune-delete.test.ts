// prune's DELETE: it deletes only the object that was judged (its uid and resourceVersion as preconditions), says
// which of deleted, changed since (conflict) or already gone happened, and any other answer is a failure that
// names what to do. It keeps the exporter's request deadline from the first step: a kubeconfig credential plugin
// that hangs (an exec or OIDC plugin waiting on a login) ends in a timeout, not a prune that never returns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Unreadable, deleteObject } from '../src/commands/io.js';
import { loadKubeConfig } from '../src/kubeconfig.js';
import { KubeApiTestServer, etcdMemberObject } from '../testbed/kube-api-server.js';

/** A kubeconfig of one cluster at `server` (TLS unverified) and one user. */
function configFor(server: string, user: Record<string, unknown> = { token: 't' }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

function hangingPluginConfig(): KubeConfig {
  return configFor('https://127.0.0.1:1', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', 'setTimeout(() => {}, 5000)'], interactiveMode: 'Never' } });
}

/** What deleteObject of c1 (uid u1, resourceVersion 1) rejects with; fails the test if it resolves. */
function deleteError(kc: KubeConfig, deadlineMs = 2000): Promise<unknown> {
  return deleteObject(kc, deadlineMs, 'c1', { uid: 'u1', resourceVersion: '1' }).then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
}

describe('deleteObject', () => {
  it('a hanging credential plugin ends in a timeout within the request deadline', { timeout: 20_000 }, async () => {
    const started = Date.now();
    const err = await deleteError(hangingPluginConfig(), 500);
    assert.ok(err instanceof Unreadable, String(err));
    assert.equal(err.reason, 'timeout', err.message);
    // The step that hung is named, as the list's errors name it.
    assert.match(err.line, /^cannot read kubernetes \(timeout\): DELETE of etcdmember c1 at https:\/\/127\.0\.0\.1:1\/? failed: getting Kubernetes credentials \(kubeconfig exec\/auth plugin\) took longer than 500 ms$/);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });
});

describe('deleteObject against no API server', () => {
  it('a refused connection names the API server it went to, its password masked', async () => {
    const err = await deleteError(configFor('https://admin:s3cret@127.0.0.1:1'));
    assert.ok(err instanceof Unreadable, String(err));
    assert.equal(err.reason, 'unavailable', err.message);
    assert.match(err.line, /DELETE of etcdmember c1 at https:\/\/admin:x+@127\.0\.0\.1:1\/? failed/);
    assert.doesNotMatch(err.line, /s3cret/);
  });

  it('a server address that is no URL is a failure (other) that names it', async () => {
    const err = await deleteError(configFor('https://127.0.0.1:99999'));
    assert.ok(err instanceof Unreadable, String(err));
    assert.equal(err.line, 'cannot read kubernetes (other): DELETE of etcdmember c1 at https://127.0.0.1:99999 failed: Invalid URL');
  });
});

describe('deleteObject against the API server', () => {
  let api: KubeApiTestServer;
  let kc: KubeConfig;
  before(async () => {
    api = await KubeApiTestServer.start();
    kc = loadKubeConfig(api.kubeconfigPath).kubeConfig;
  });
  after(() => api.close());

  /** A fresh object named `name`, and the preconditions prune would judge it by. */
  const judged = (name: string): { uid: string; resourceVersion: string } => {
    const o = api.create(etcdMemberObject(name, { memberID: 'abc', peerAddress: '127.0.0.9' }));
    return { uid: o.metadata.uid!, resourceVersion: o.metadata.resourceVersion! };
  };
  const rejected = async (p: Promise<unknown>): Promise<Unreadable> => {
    const err = await p.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Unreadable, String(err));
    return err;
  };

  it('deletes the object that was judged', async () => {
    const pre = judged('judged');
    assert.deepEqual(await deleteObject(kc, 5000, 'judged', pre), { kind: 'deleted' });
    assert.equal(api.get('judged'), undefined);
    const del = api.requestLog.filter((r) => r.method === 'DELETE');
    assert.equal(del.at(-1)?.path, '/apis/etcd.k0sproject.io/v1beta1/etcdmembers/judged');
  });

  it('keeps an object that changed since it was judged: conflict, with the server\'s reason', async () => {
    const pre = judged('changed');
    api.update({ ...api.get('changed')!, spec: { leave: true } });
    const outcome = await deleteObject(kc, 5000, 'changed', pre);
    assert.equal(outcome.kind, 'conflict');
    assert.match(outcome.kind === 'conflict' ? outcome.message : '', /^Operation cannot be fulfilled .*Precondition failed: ResourceVersion in precondition: /);
    assert.ok(api.get('changed'), 'still there');
  });

  it('keeps an object that was replaced by one of the same name since it was judged', async () => {
    const pre = judged('replaced');
    api.delete('replaced');
    judged('replaced');
    const outcome = await deleteObject(kc, 5000, 'replaced', pre);
    assert.equal(outcome.kind, 'conflict');
    assert.match(outcome.kind === 'conflict' ? outcome.message : '', /Precondition failed: UID in precondition: /);
    assert.ok(api.get('replaced'), 'still there');
  });

  it('says an object that is already gone is gone', async () => {
    const outcome = await deleteObject(kc, 5000, 'never-was', { uid: 'u', resourceVersion: '1' });
    assert.equal(outcome.kind, 'gone');
    assert.match(outcome.kind === 'gone' ? outcome.message : '', /"never-was" not found/);
  });

  it('a 403 is a failure that says which RBAC prune needs; a 500 a failure too, and nothing is deleted', async () => {
    const pre = judged('kept');
    api.setForbidden(true);
    try {
      const err = await rejected(deleteObject(kc, 5000, 'kept', pre));
      assert.equal(err.reason, 'forbidden');
      assert.match(err.message, /^DELETE of etcdmember kept at https:\/\/127\.0\.0\.1:\d+ answered 403: .*forbidden.* \(prune needs deploy\/kubernetes\/prune-rbac\.yaml or an admin kubeconfig\)$/);
    } finally {
      api.setForbidden(false);
    }
    api.failNext(1, 500);
    const err = await rejected(deleteObject(kc, 5000, 'kept', pre));
    assert.equal(err.reason, 'server_error');
    assert.match(err.message, /^DELETE of etcdmember kept at https:\/\/127\.0\.0\.1:\d+ answered 500: Internal error occurred: injected fault$/);
    assert.ok(api.get('kept'), 'still there');
  });

  it('an API server that does not answer within the deadline is a timeout that says how long it waited', async () => {
    const pre = judged('slow');
    api.setLatency(3000);
    try {
      const err = await rejected(deleteObject(kc, 300, 'slow', pre));
      assert.equal(err.line, `cannot read kubernetes (timeout): DELETE of etcdmember slow at ${api.url} took longer than 300 ms`);
    } finally {
      api.setLatency(0);
    }
  });
});
