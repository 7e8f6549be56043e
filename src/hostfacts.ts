// What k0s on this host will do at its next start: the name it registers and the peer address it gives etcd.
import { hostname, networkInterfaces } from 'node:os';
import type { K0sEtcdConfig } from './k0s/config.js';
import { predictHostFacts } from './k0s/predict.js';
import type { HostFacts } from './model.js';

/**
 * Cheap (one uname call, one getifaddrs call), so it is asked at every analysis rather than once: an operator who
 * restores the hostname or an address sees the drift clear without restarting the exporter.
 *
 * @param k0s this host's k0s config (k0s's defaults when it has no file), or undefined when it cannot be read.
 *
 * The interfaces come from os.networkInterfaces(), in the kernel's order as k0s sees them. Unlike k0s (netlink),
 * it omits interfaces that are down and cannot tell IPv6 temporary addresses apart, which k0s skips: on a host
 * where that matters, set spec.storage.etcd.peerAddress, as k0s then uses it as written.
 */
export function readHostFacts(memberNameOverride: string | undefined, k0s: K0sEtcdConfig | undefined): HostFacts {
  return predictHostFacts(k0s, { hostname: hostname(), interfaces: networkInterfaces() }, memberNameOverride);
}
