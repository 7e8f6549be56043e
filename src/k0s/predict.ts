// What k0s on this host will do at its next start, from its config and the host's own facts. Pure.
import { objectNameFor, type HostFacts } from '../model.js';
import type { K0sEtcdConfig } from './config.js';
import { firstPublicAddress, type InterfaceList } from './peer-address.js';

export interface HostState {
  /** The kernel hostname (os.hostname(): what Go's os.Hostname() returns, not `hostname -f`). */
  readonly hostname: string;
  readonly interfaces: InterfaceList;
}

/**
 * @param k0s the parsed k0s.yaml (K0S_DEFAULTS when there is none), or undefined when it cannot be read: then
 *   only --node.member-name makes the name known, and the peer address is not predicted.
 * @param memberNameOverride --node.member-name, which wins over the file.
 */
export function predictHostFacts(k0s: K0sEtcdConfig | undefined, host: HostState, memberNameOverride?: string): HostFacts {
  // k0s's etcd component: extraArgs.name when present, else os.Hostname(); the EtcdMember object is named after
  // that, trimmed and lowercased. kine or an external etcd: k0s starts no member here, so nothing is predicted.
  const runsEtcd = k0s?.storage === 'etcd';
  const registrationName = objectNameFor(memberNameOverride ?? (runsEtcd ? k0s.memberName : undefined) ?? host.hostname);
  return {
    registrationName,
    registrationNameKnown: k0s === undefined ? memberNameOverride !== undefined : runsEtcd,
    predictedPeerAddress: runsEtcd ? (k0s.peerAddress ?? firstPublicAddress(host.interfaces)) : undefined,
  };
}
