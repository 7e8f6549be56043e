// The reason an etcd failure is counted and shown under: what an operator reads in source_up's reason and in
// check/prune's one line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { reasonFor } from '../src/sources/etcd.js';

describe('etcd error reasons', () => {
  it('a deadline is a timeout, whether the client or etcd ends it', () => {
    assert.equal(reasonFor(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded')), 'timeout');
    // etcd without quorum answers a linearizable read at our grpc-timeout with this, not DEADLINE_EXCEEDED.
    assert.equal(reasonFor(new Error('2 UNKNOWN: context deadline exceeded')), 'timeout');
  });

  it('an unreachable member is unavailable, a bad certificate tls, anything else other', () => {
    assert.equal(reasonFor(new GRPCUnavailableError('14 UNAVAILABLE: No connection established')), 'unavailable');
    assert.equal(reasonFor(new Error('self-signed certificate in certificate chain')), 'tls');
    assert.equal(reasonFor(new Error('2 UNKNOWN: etcdserver: something odd')), 'other');
  });
});
