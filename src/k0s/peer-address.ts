// The peer address k0s picks when k0s.yaml sets no spec.storage.etcd.peerAddress, as k0s's
// iface.FirstPublicAddress (internal/pkg/iface/iface.go) does at every start: the first non-loopback IPv4 address
// of the first interface that has one, skipping CNI and k0s's own virtual interfaces; else the first non-loopback
// IPv6 address; else 127.0.0.1. Pure: the interface list comes in as data (os.networkInterfaces() shape).

export interface InterfaceAddress {
  readonly address: string;
  /** 'IPv4' / 'IPv6' (Node 18.4+), or 4 / 6 (Node 18.0-18.3). */
  readonly family: string | number;
}

/** Interface name to its addresses, in the order the kernel lists them. */
export type InterfaceList = Readonly<Record<string, readonly InterfaceAddress[] | undefined>>;

/** Interfaces k0s never takes an address from: Calico's VXLAN, kube-router's bridge, k0s's CPLB dummy. */
const SKIPPED_INTERFACES: readonly string[] = ['vxlan.calico', 'kube-bridge', 'dummyvip0'];
/** Pod interfaces of kube-router (veth*) and Calico (cali*). */
const SKIPPED_PREFIXES: readonly string[] = ['veth', 'cali'];

export const LOOPBACK_FALLBACK = '127.0.0.1';

export function firstPublicAddress(interfaces: InterfaceList): string {
  let ipv6: string | undefined;
  for (const [name, addresses] of Object.entries(interfaces)) {
    if (SKIPPED_INTERFACES.includes(name) || SKIPPED_PREFIXES.some((p) => name.startsWith(p))) continue;
    for (const a of addresses ?? []) {
      const v4 = ipv4Of(a);
      if (v4 !== undefined) {
        if (!v4.startsWith('127.')) return v4;
        continue;
      }
      if (isIPv6(a) && !isIPv6Loopback(a.address) && ipv6 === undefined) ipv6 = a.address;
    }
  }
  return ipv6 ?? LOOPBACK_FALLBACK;
}

/** The IPv4 address, also for an IPv4-mapped IPv6 one (Go's IP.To4() accepts both and prints the IPv4 form). */
function ipv4Of(a: InterfaceAddress): string | undefined {
  if (a.family === 'IPv4' || a.family === 4) return a.address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a.address);
  return isIPv6(a) && mapped ? mapped[1] : undefined;
}

function isIPv6(a: InterfaceAddress): boolean {
  return a.family === 'IPv6' || a.family === 6;
}

function isIPv6Loopback(address: string): boolean {
  try {
    return new URL(`http://[${address}]/`).hostname === '[::1]';
  } catch {
    return false;
  }
}

/** The peer URL k0s gives etcd (EtcdConfig.GetPeerURL): https, port 2380, IPv6 literals in brackets. */
export function k0sPeerURL(peerAddress: string): string {
  return `https://${peerAddress.includes(':') ? `[${peerAddress}]` : peerAddress}:2380`;
}
