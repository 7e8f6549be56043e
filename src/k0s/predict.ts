// What k0s on this host will do at its next start, from its config and the host's own facts. Pure.
import { isIP, isIPv6 } from 'node:net';
import { objectNameFor, type HostFacts } from '../model.js';
import { PEER_URL_FLAGS, passesRawArgs, rawArgValue, type K0sEtcdConfig } from './config.js';
import { hostAddresses, interfacesFromList, predictDefaultPeerAddress, type InterfaceList, type InterfaceReading } from './peer-address.js';

export interface HostState {
  /** The kernel hostname (os.hostname(): what Go's os.Hostname() returns, not `hostname -f`). */
  readonly hostname: string;
  /**
   * The interfaces: a reading (netlink or Node), or a plain list taken as netlink's truth (tests); undefined when
   * they could not be read at all (interfacesError says why).
   */
  readonly interfaces: InterfaceReading | InterfaceList | undefined;
  readonly interfacesError?: string;
}

/**
 * @param k0s the parsed k0s.yaml (K0S_DEFAULTS when there is none), or undefined when it cannot be read: then
 *   only --node.member-name makes the name known, and the peer address is not predicted.
 * @param memberNameOverride --node.member-name, which wins over the file.
 * @param k0sVersion the k0s release on this host (v1.31.3+k0s.0); undefined when unknown: a prediction the
 *   releases disagree on is then unknown.
 */
export function predictHostFacts(k0s: K0sEtcdConfig | undefined, host: HostState, memberNameOverride?: string, k0sVersion?: string): HostFacts {
  // k0s's etcd component: extraArgs.name when present, else os.Hostname(); the EtcdMember object is named after
  // a non-empty extraArgs.name, else the hostname (storage.go GetNodeName / GetMemberName skip ""), trimmed and
  // lowercased. kine or an external etcd: k0s starts no member here, so nothing is predicted.
  const runsEtcd = k0s?.storage === 'etcd';
  const configured = runsEtcd && k0s.memberName !== '' ? k0s.memberName : undefined;
  const registrationName = objectNameFor(memberNameOverride ?? configured ?? host.hostname);
  const facts: HostFacts = {
    registrationName,
    registrationNameKnown: k0s === undefined ? memberNameOverride !== undefined : runsEtcd,
  };
  if (!runsEtcd) return facts;
  const reading = toReading(host.interfaces);
  const peer = predictPeerAddress(k0s, reading, host.interfacesError, k0sVersion);
  if (!peer.known) return { ...facts, predictedPeerAddress: undefined, peerAddressUnknownWhy: peer.why };
  return { ...facts, predictedPeerAddress: peer.address, peerAddressOnHost: reading === undefined ? undefined : onHost(peer.address, reading) };
}

function toReading(interfaces: InterfaceReading | InterfaceList | undefined): InterfaceReading | undefined {
  if (interfaces === undefined) return undefined;
  if ('via' in interfaces && Array.isArray(interfaces.interfaces)) return interfaces as InterfaceReading;
  return { interfaces: interfacesFromList(interfaces as InterfaceList), via: 'netlink' };
}

type Peer = { known: true; address: string } | { known: false; why: string };

function predictPeerAddress(k0s: K0sEtcdConfig, reading: InterfaceReading | undefined, readError: string | undefined, k0sVersion: string | undefined): Peer {
  // extraArgs override k0s's own etcd flags (etcd.go: "overriding etcd flag with user provided value"), rawArgs
  // come after all of them (v1.34.1 on): either can take the peer URLs out of peerAddress's hands.
  if (k0s.peerUrlArgs !== undefined) {
    return { known: false, why: `spec.storage.etcd.extraArgs sets ${k0s.peerUrlArgs.join(' and ')}, which etcd uses instead of peerAddress` };
  }
  const raw = PEER_URL_FLAGS.filter((f) => rawArgValue(k0s.rawArgs, f) !== undefined);
  if (raw.length > 0 && passesRawArgs(k0sVersion) !== false) {
    return { known: false, why: `spec.storage.etcd.rawArgs sets --${raw.join(' and --')}, which etcd uses instead of peerAddress` };
  }
  if (k0s.peerAddress !== undefined) return { known: true, address: k0s.peerAddress };
  if (reading === undefined) return { known: false, why: `the host's interfaces could not be read (${readError ?? 'no reading'})` };
  const pick = predictDefaultPeerAddress(reading, k0sVersion);
  return pick.known ? { known: true, address: pick.address } : { known: false, why: pick.why };
}

/**
 * Whether etcd can listen on the address on this host: it binds --listen-peer-urls, which k0s sets to the peer
 * URL, and exits when the address is not local (k0s#7876: a restore onto a new IP with peerAddress pinned crash-
 * loops). k0s writes the URL as https://<peerAddress>:2380 (GetPeerURL, net.JoinHostPort: storage.go at
 * v1.33.4+k0s.0), the address as written; etcd takes only an IP or `localhost` there ("expected IP in URL for
 * binding": a name, LOCALHOST, a zone (fe80::1%eth0), brackets or spaces make it exit, measured with etcd 3.5).
 * The unspecified addresses bind everywhere. Undefined when the reading cannot tell (Node's omits interfaces that
 * are down, whose addresses still bind).
 */
export function onHost(address: string, reading: InterfaceReading): boolean | undefined {
  if (address === '0.0.0.0' || address === '::' || address === 'localhost') return true;
  if (isIP(address) === 0 || address.includes('%')) return false;
  // 127/8 is always local.
  if (address.startsWith('127.')) return true;
  const mine = new Set(hostAddresses(reading).map(canonical));
  if (mine.has(canonical(address))) return true;
  return reading.via === 'node' && reading.hidden.length > 0 ? undefined : false;
}

/** One spelling per address: IPv6 as the URL parser writes it ([fd00::1] for FD00:0::1), IPv4 as is. */
function canonical(a: string): string {
  return isIPv6(a) ? new URL(`http://[${a}]/`).hostname : a;
}
