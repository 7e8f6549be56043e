// prune judges an object "orphaned" by comparing it with etcd's member list: that list must be at least as new as
// the object list, or an object that a rejoin gave a new member ID between the two reads is deleted (its
// resourceVersion still matches the one prune judged). The order is asserted with fake reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSources } from '../src/commands/cli.js';

function recorder() {
  const events: string[] = [];
  const etcd = async () => {
    events.push('etcd start');
    await sleep(5);
    events.push('etcd end');
    return 'members';
  };
  const kube = async () => {
    events.push('kubernetes start');
    await sleep(20);
    events.push('kubernetes end');
    return 'objects';
  };
  return { events, etcd, kube };
}

describe('readSources', () => {
  it('prune starts the linearizable etcd read only after the object list has arrived', async () => {
    const r = recorder();
    const [etcd, kube] = await readSources('prune', r.etcd, r.kube);
    assert.deepEqual(r.events, ['kubernetes start', 'kubernetes end', 'etcd start', 'etcd end']);
    assert.deepEqual([etcd, kube], [{ status: 'fulfilled', value: 'members' }, { status: 'fulfilled', value: 'objects' }]);
  });

  it('prune still reads etcd when the object list failed, so both failures are reported', async () => {
    const r = recorder();
    const [etcd, kube] = await readSources('prune', r.etcd, () => Promise.reject(new Error('list failed')));
    assert.equal(etcd.status, 'fulfilled');
    assert.equal(kube.status, 'rejected');
  });

  it('check reads both at once', async () => {
    const r = recorder();
    await readSources('check', r.etcd, r.kube);
    assert.deepEqual(r.events.slice(0, 2).sort(), ['etcd start', 'kubernetes start']);
  });
});
