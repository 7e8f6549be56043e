// Leader election through a coordination.k8s.io/v1 Lease, against the API test server, with short timings: one
// leader at a time, release on stop, take-over only after the lease duration the follower itself observed, a
// Lease forbidden by RBAC is one warning and never leadership. Also the Lease and Event rules the test server
// enforces as kube-apiserver does (resourceVersion conflicts, the v1 Event validation).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiCallError, callApi, microTime } from '../src/events/api.js';
import { LeaderElector } from '../src/events/lease.js';
import { loadKubeConfig } from '../src/kubeconfig.js';
import { createLogger } from '../src/log.js';
import { KubeApiTestServer } from '../testbed/kube-api-server.js';
import { waitFor } from '../testbed/wait.js';

const LEASE = 'k0s-etcdmember-exporter';
const NS = 'default';
const TIMINGS = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 250 };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Writes the Lease with these spec fields changed, as another client would (GET, then PUT at its resourceVersion). */
async function changeLeaseSpec(api: KubeApiTestServer, change: Record<string, unknown>): Promise<void> {
  const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`;
  const current = await callApi(kubeConfig, { method: 'GET', path, timeoutMs: 2000 });
  await callApi(kubeConfig, { method: 'PUT', path, body: { ...current, spec: { ...(current['spec'] as object), ...change } }, timeoutMs: 2000 });
}

async function startApi(): Promise<KubeApiTestServer> {
  const api = await KubeApiTestServer.start();
  cleanups.push(() => api.close());
  return api;
}

function elector(api: KubeApiTestServer, identity: string) {
  const logs: string[] = [];
  const errors: string[] = [];
  const e = new LeaderElector({
    kubeConfig: loadKubeConfig(api.kubeconfigPath).kubeConfig,
    namespace: NS,
    name: LEASE,
    identity,
    ...TIMINGS,
    requestTimeoutMs: 1000,
    logger: createLogger('debug', 'logfmt', (l) => logs.push(l)),
    onError: (err) => errors.push(err.reason),
    onLeadingChange: () => {},
  });
  e.start();
  cleanups.push(() => e.stop());
  return { e, logs, errors };
}

const holder = (api: KubeApiTestServer): unknown => (api.lease(NS, LEASE)?.['spec'] as { holderIdentity?: string } | undefined)?.holderIdentity;

describe('leader election', () => {
  it('one of two leads, the Lease names it, and they never both lead', async () => {
    const api = await startApi();
    const a = elector(api, 'a');
    const b = elector(api, 'b');
    const leader = await waitFor(() => (a.e.leading() ? a : b.e.leading() ? b : undefined), { what: 'a leader' });
    assert.equal(holder(api), leader.e.identity);
    const spec = api.lease(NS, LEASE)!['spec'] as Record<string, unknown>;
    assert.equal(spec['leaseDurationSeconds'], 2);
    assert.equal(spec['leaseTransitions'], 0);
    // Several lease durations: the leader renews, the follower never takes over, never two at once.
    const end = Date.now() + 3 * TIMINGS.leaseDurationMs;
    while (Date.now() < end) {
      assert.ok(!(a.e.leading() && b.e.leading()), 'both lead');
      assert.ok(leader.e.leading(), 'the leader lost the Lease while renewing it');
      await sleep(50);
    }
    const renewed = api.lease(NS, LEASE)!['spec'] as Record<string, unknown>;
    assert.equal(renewed['acquireTime'], spec['acquireTime'], 'a renewal keeps the acquire time');
    assert.notEqual(renewed['renewTime'], spec['renewTime']);
  });

  it('a leader that stops releases the Lease, and the other takes over within a few retry periods', async () => {
    const api = await startApi();
    const a = elector(api, 'a');
    await waitFor(() => a.e.leading(), { what: 'a leads' });
    const b = elector(api, 'b');
    await sleep(3 * TIMINGS.retryPeriodMs);
    assert.ok(!b.e.leading());
    await a.e.stop();
    assert.ok(a.logs.some((l) => l.includes('msg="released the Lease"')), a.logs.join('\n'));
    // b may have taken the released Lease already: the API test server answers b in this process while a's release
    // answer is on its way.
    const released = api.lease(NS, LEASE)!['spec'] as Record<string, unknown>;
    if (released['holderIdentity'] !== 'b') assert.deepEqual([released['holderIdentity'], released['leaseDurationSeconds']], ['', 1]);
    const t0 = Date.now();
    await waitFor(() => b.e.leading(), { what: 'b leads', intervalMs: 20 });
    // Not a lease duration: a released Lease is free at the next try (at most 2.2 retry periods), plus slack for this machine.
    assert.ok(Date.now() - t0 < TIMINGS.leaseDurationMs, `b took ${Date.now() - t0} ms`);
    assert.equal(holder(api), 'b');
    assert.equal((api.lease(NS, LEASE)!['spec'] as Record<string, unknown>)['leaseTransitions'], 1);
  });

  it('a release refused because a renewal cut off by the shutdown was written reads the Lease again and releases it', async () => {
    const api = await startApi();
    const a = elector(api, 'a');
    await waitFor(() => a.e.leading(), { what: 'a leads' });
    // What a renewal the API server wrote, but whose answer the shutdown cut off, leaves: a newer resourceVersion
    // than the one a kept, with a still the holder.
    await changeLeaseSpec(api, { renewTime: microTime(Date.now() + 1) });
    await a.e.stop();
    const spec = api.lease(NS, LEASE)!['spec'] as Record<string, unknown>;
    assert.deepEqual([spec['holderIdentity'], spec['leaseDurationSeconds']], ['', 1]);
    assert.ok(a.logs.some((l) => l.includes('msg="released the Lease"')), a.logs.join('\n'));
    assert.deepEqual(a.logs.filter((l) => l.includes('level=warn')), []);
  });

  it('a Lease another exporter took before the release is left to it', async () => {
    const api = await startApi();
    const a = elector(api, 'a');
    await waitFor(() => a.e.leading(), { what: 'a leads' });
    await changeLeaseSpec(api, { holderIdentity: 'c' });
    await a.e.stop();
    assert.equal(holder(api), 'c');
    assert.ok(!a.logs.some((l) => l.includes('msg="released the Lease"')), a.logs.join('\n'));
  });

  it('a Lease held by a holder that vanished is taken over only once its duration has passed since the follower saw it', async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const now = microTime(Date.now());
    await callApi(kubeConfig, {
      method: 'POST',
      path: `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE }, spec: { holderIdentity: 'ghost', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 4 } },
      timeoutMs: 2000,
    });
    const t0 = Date.now();
    const b = elector(api, 'b');
    await waitFor(() => b.e.leading(), { what: 'b takes over', timeoutMs: 10_000, intervalMs: 20 });
    const took = Date.now() - t0;
    assert.ok(took >= 2000, `took over after ${took} ms, before the 2 s lease duration`);
    assert.ok(took < 2000 + 2.2 * TIMINGS.retryPeriodMs + 1500, `took over after ${took} ms`);
    const spec = api.lease(NS, LEASE)!['spec'] as Record<string, unknown>;
    assert.equal(spec['holderIdentity'], 'b');
    assert.equal(spec['leaseTransitions'], 5);
  });

  it('a Lease forbidden by RBAC: never leads, one warning line, every failure counted', async () => {
    const api = await startApi();
    api.setForbiddenResources(['leases']);
    const a = elector(api, 'a');
    await sleep(6 * TIMINGS.retryPeriodMs);
    assert.ok(!a.e.leading());
    assert.ok(a.errors.length >= 2 && a.errors.every((r) => r === 'forbidden'), a.errors.join());
    const warnings = a.logs.filter((l) => l.includes('level=warn'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /cannot use the Lease.*get, create and update on leases.coordination.k8s.io/);
    assert.match(warnings[0]!, /cannot get resource \\"leases\\" in API group \\"coordination.k8s.io\\" in the namespace \\"default\\"/);
    api.setForbiddenResources([]);
    await waitFor(() => a.e.leading(), { what: 'a leads once allowed' });
  });
});

describe('the API test server: Leases and Events as kube-apiserver serves them', () => {
  it('a Lease update needs the current resourceVersion: stale is 409 Conflict, none is 422', async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
    const created = await callApi(kubeConfig, { method: 'POST', path, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE }, spec: { holderIdentity: 'a', leaseDurationSeconds: 2 } }, timeoutMs: 2000 });
    const updated = await callApi(kubeConfig, { method: 'PUT', path: `${path}/${LEASE}`, body: { ...created, spec: { holderIdentity: 'b', leaseDurationSeconds: 2 } }, timeoutMs: 2000 });
    assert.notEqual((updated['metadata'] as Record<string, unknown>)['resourceVersion'], (created['metadata'] as Record<string, unknown>)['resourceVersion']);
    await assert.rejects(callApi(kubeConfig, { method: 'PUT', path: `${path}/${LEASE}`, body: { ...created, spec: { holderIdentity: 'c' } }, timeoutMs: 2000 }), (e: ApiCallError) => e.status === 409 && e.reason === 'conflict' && /the object has been modified/.test(e.message));
    const { resourceVersion: _rv, ...meta } = created['metadata'] as Record<string, unknown>;
    await assert.rejects(callApi(kubeConfig, { method: 'PUT', path: `${path}/${LEASE}`, body: { ...created, metadata: meta }, timeoutMs: 2000 }), (e: ApiCallError) => e.status === 422 && /must be specified for an update/.test(e.message));
    await assert.rejects(callApi(kubeConfig, { method: 'POST', path, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE } }, timeoutMs: 2000 }), (e: ApiCallError) => e.status === 409 && /already exists/.test(e.message));
  });

  it('Events: v1 validation on create (cluster-scoped objects only in default or kube-system), an immutable note, series by patch', async () => {
    const api = await startApi();
    const kubeConfig = loadKubeConfig(api.kubeconfigPath).kubeConfig;
    const event = {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'c1.0123456789abcdef' }, eventTime: microTime(Date.now()),
      reportingController: 'k0s-etcdmember-exporter', reportingInstance: 'c1', action: 'CheckMembership', reason: 'DuplicateEtcdMember',
      regarding: { apiVersion: 'etcd.k0sproject.io/v1beta1', kind: 'EtcdMember', name: 'c1', uid: 'u1' }, note: 'n', type: 'Warning',
    };
    const post = (ns: string, body: unknown): Promise<Record<string, unknown>> => callApi(kubeConfig, { method: 'POST', path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`, body, timeoutMs: 2000 });
    await assert.rejects(post('k0s-etcdmember-exporter', event), (e: ApiCallError) => e.status === 422 && /involvedObject.namespace: .*does not match event.namespace/.test(e.message));
    await assert.rejects(post(NS, { ...event, action: '' }), (e: ApiCallError) => e.status === 422 && /action: Required value/.test(e.message));
    await assert.rejects(post(NS, { ...event, type: 'Error' }), (e: ApiCallError) => e.status === 422 && /type: /.test(e.message));
    await assert.rejects(post(NS, { ...event, note: 'x'.repeat(1025) }), (e: ApiCallError) => e.status === 422 && /note: .*at most 1024/.test(e.message));
    await post(NS, event);
    const patch = (body: unknown): Promise<Record<string, unknown>> =>
      callApi(kubeConfig, { method: 'PATCH', path: `/apis/events.k8s.io/v1/namespaces/${NS}/events/${event.metadata.name}`, body, contentType: 'application/strategic-merge-patch+json', timeoutMs: 2000 });
    await assert.rejects(patch({ note: 'other' }), (e: ApiCallError) => e.status === 422 && /note: .*immutable/.test(e.message));
    await assert.rejects(patch({ series: { count: 1, lastObservedTime: microTime(Date.now()) } }), (e: ApiCallError) => e.status === 422 && /series.count/.test(e.message));
    const patched = await patch({ series: { count: 2, lastObservedTime: microTime(Date.now()) } });
    assert.equal((patched['series'] as { count: number }).count, 2);
    // The core/v1 view kubectl describe lists, selected by the involved object.
    const core = await callApi(kubeConfig, { method: 'GET', path: `/api/v1/events?fieldSelector=${encodeURIComponent('involvedObject.kind=EtcdMember,involvedObject.name=c1,involvedObject.namespace=,involvedObject.uid=u1')}`, timeoutMs: 2000 });
    const items = core['items'] as Record<string, unknown>[];
    assert.equal(items.length, 1);
    assert.equal(items[0]!['message'], 'n');
    assert.equal(items[0]!['reportingComponent'], 'k0s-etcdmember-exporter');
    assert.deepEqual(items[0]!['series'], patched['series']);
    const none = await callApi(kubeConfig, { method: 'GET', path: `/api/v1/events?fieldSelector=${encodeURIComponent('involvedObject.name=c2')}`, timeoutMs: 2000 });
    assert.deepEqual(none['items'], []);
  });
});
