// Two etcd members and the objects of the k0s#5369 shape, shared by the tests of the metrics and of serving them.
import type { EtcdMemberObject, EtcdSnapshot } from '../src/model.js';

export const etcd: EtcdSnapshot = {
  members: [
    { id: 'a1', name: 'c1.example.org', peerURLs: ['https://10.0.0.1:2380'], clientURLs: [], isLearner: false },
    { id: 'b2', name: 'c2.example.org', peerURLs: ['https://10.0.0.2:2380'], clientURLs: [], isLearner: false },
  ],
  localMemberId: 'a1',
};
export const obj = (name: string, memberId: string): EtcdMemberObject => ({
  name, memberId, invalidMemberId: undefined, peerAddress: memberId === 'a1' ? '10.0.0.1' : '10.0.0.2', leave: false, reconcileStatus: undefined,
});
export const host = { registrationName: 'c1.example.org' };
