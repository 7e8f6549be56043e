// Odd but legal member IDs and peer URLs (issue 12, fix 4): memberID null is "no status yet", a zero-padded ID
// is fine whatever its length as long as the value fits uint64, and an IPv6 peer URL with a zone is compared,
// not silently skipped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyse } from '../src/analysis.js';
import { normaliseHexMemberId, type EtcdSnapshot, type KubernetesSnapshot } from '../src/model.js';
import { parseObject } from '../src/sources/kubernetes.js';

const host = { registrationName: 'c1' };
const object = (status: Record<string, unknown>) => ({ apiVersion: 'etcd.k0sproject.io/v1beta1', kind: 'EtcdMember', metadata: { name: 'c1' }, spec: {}, status });

describe('member IDs', () => {
  it('status.memberID: null is no_status, not invalid_member_id "null"', () => {
    const o = parseObject(object({ memberID: null }))!;
    assert.equal(o.memberId, undefined);
    assert.equal(o.invalidMemberId, undefined);
    const r = analyse(undefined, { crdPresent: true, objects: [o] }, host);
    assert.deepEqual(r.objectFindings, [{ name: 'c1', memberId: '', problem: 'no_status' }]);
  });

  it('accepts zero padding of any length when the value fits uint64', () => {
    assert.equal(normaliseHexMemberId('00701e576a6f6f9e02'), '701e576a6f6f9e02');
    assert.equal(normaliseHexMemberId('0000000000000000000000FFFFFFFFFFFFFFFF'), 'ffffffffffffffff');
    assert.equal(normaliseHexMemberId('0000'), '0');
    assert.equal(parseObject(object({ memberID: '00701e576a6f6f9e02' }))!.memberId, '701e576a6f6f9e02');
  });

  it('refuses what does not fit uint64 or is not hex', () => {
    assert.equal(normaliseHexMemberId('10000000000000000'), undefined);
    assert.equal(normaliseHexMemberId('0x12'), undefined);
    assert.equal(normaliseHexMemberId(''), undefined);
    assert.equal(parseObject(object({ memberID: '10000000000000000' }))!.invalidMemberId, '10000000000000000');
  });
});

describe('IPv6 peer URLs with a zone', () => {
  const etcd = (peerURL: string): EtcdSnapshot => ({
    members: [{ id: 'a1', name: 'c1', peerURLs: [peerURL], clientURLs: [], isLearner: false }],
    localMemberId: 'a1',
  });
  const objects = (peerAddress: string): KubernetesSnapshot => ({
    crdPresent: true,
    objects: [{ name: 'c1', memberId: 'a1', invalidMemberId: undefined, peerAddress, leave: false, reconcileStatus: undefined }],
  });

  it('shows the peer address with its zone', () => {
    const r = analyse(etcd('https://[fe80::1%25eth0]:2380'), objects('fe80::1%eth0'), host);
    assert.deepEqual(r.etcdMemberInfo.map((m) => m.peerAddress), ['fe80::1%eth0']);
  });

  it('a matching address is no mismatch; another address or another zone is', () => {
    assert.equal(analyse(etcd('https://[fe80::1%25eth0]:2380'), objects('fe80::1%eth0'), host).peerAddressMismatches, 0);
    assert.equal(analyse(etcd('https://[FE80:0::1%25eth0]:2380'), objects('[fe80::1%eth0]'), host).peerAddressMismatches, 0);
    const other = analyse(etcd('https://[fe80::1%25eth0]:2380'), objects('fe80::2'), host);
    assert.equal(other.peerAddressMismatches, 1);
    assert.deepEqual(other.objectFindings.map((f) => f.problem), ['peer_address_mismatch']);
    assert.equal(analyse(etcd('https://[fe80::1%25eth0]:2380'), objects('fe80::1%eth1'), host).peerAddressMismatches, 1);
  });
});
