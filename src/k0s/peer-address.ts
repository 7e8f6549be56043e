// The peer address k0s picks when k0s.yaml sets no spec.storage.etcd.peerAddress: iface.FirstPublicAddress
// (internal/pkg/iface/iface.go), called by DefaultEtcdConfig (pkg/apis/k0s/v1beta1/storage.go) at every start.
// It walks net.Interfaces() in the kernel's order, every interface up or down, and returns the first non-loopback
// IPv4 address of the first interface that has one, else the first non-loopback IPv6 address, else 127.0.0.1.
// Which interfaces and addresses it skips depends on the release (read in k0s's source at each tag):
// - v1.30.0, v1.30.1: only vxlan.calico.
// - v1.30.2 on: vxlan.calico, kube-bridge, dummyvip0, veth*, cali*.
// - v1.32.1 on (iface_linux.go, commit b43457c, k0s#4664): also every address flagged IFA_F_SECONDARY, read
//   through netlink. For IPv6 that bit is IFA_F_TEMPORARY: privacy addresses are skipped too.
// Pure: the interfaces come in as data.

import { atLeast, parseK0sRelease } from './config-keys.js';

export interface InterfaceAddress {
  readonly address: string;
  /** 'IPv4' / 'IPv6' (Node 18.4+), or 4 / 6 (Node 18.0-18.3). */
  readonly family: string | number;
  /** IFA_F_SECONDARY (IPv4) / IFA_F_TEMPORARY (IPv6), as netlink shows it; a reading via Node cannot tell. */
  readonly secondary?: boolean | undefined;
}

/** Interface name to its addresses, in the order the kernel lists them (os.networkInterfaces() shape). */
export type InterfaceList = Readonly<Record<string, readonly InterfaceAddress[] | undefined>>;

export interface HostInterface {
  readonly name: string;
  /** The kernel's ifindex, where known: it orders interfaces as net.Interfaces() does. */
  readonly index?: number;
  readonly addresses: readonly InterfaceAddress[];
}

/**
 * The host's interfaces, in the kernel's order (ifindex) as net.Interfaces() lists them, and what the way they were
 * read can show. netlink: every interface, up or down, with each address's secondary flag (`ip -j addr`), as k0s
 * sees them. node: os.networkInterfaces(), which omits interfaces that are not up and running and has no secondary
 * flag; `hidden` names the interfaces the kernel has (/sys/class/net) that it left out: down, or without addresses.
 */
export type InterfaceReading =
  | { readonly interfaces: readonly HostInterface[]; readonly via: 'netlink' }
  | {
      readonly interfaces: readonly HostInterface[];
      readonly via: 'node';
      readonly hidden: readonly { readonly name: string; readonly index: number | undefined }[];
    };

/** How one k0s release range picks the address. */
export interface PickRule {
  readonly label: string;
  readonly skipList: readonly string[];
  readonly skipPrefixes: readonly string[];
  readonly skipSecondary: boolean;
}

const RULE_1_30_0: PickRule = {
  label: 'k0s 1.30.0 to 1.30.1',
  skipList: ['vxlan.calico'],
  // Stryker disable next-line ArrayDeclaration: the mutant's prefix has spaces, which Linux refuses in an interface name (dev_valid_name)
  skipPrefixes: [],
  skipSecondary: false,
};
const SKIPPED = { skipList: ['vxlan.calico', 'kube-bridge', 'dummyvip0'], skipPrefixes: ['veth', 'cali'] };
const RULE_1_30_2: PickRule = { label: 'k0s 1.30.2 to 1.32.0', ...SKIPPED, skipSecondary: false };
const RULE_1_32_1: PickRule = { label: 'k0s 1.32.1 and later', ...SKIPPED, skipSecondary: true };
export const PICK_RULES: readonly PickRule[] = [RULE_1_30_0, RULE_1_30_2, RULE_1_32_1];

/** The rule of a k0s version; undefined when the version is unknown or not one. */
export function pickRuleFor(k0sVersion: string | undefined): PickRule | undefined {
  const release = parseK0sRelease(k0sVersion);
  if (release === undefined) return undefined;
  if (atLeast(release, 'v1.32.1+k0s.0')) return RULE_1_32_1;
  if (atLeast(release, 'v1.30.2+k0s.0')) return RULE_1_30_2;
  return RULE_1_30_0;
}

export const LOOPBACK_FALLBACK = '127.0.0.1';

/** os.networkInterfaces() to the ordered list (object insertion order is the kernel's order there). */
export function interfacesFromList(list: InterfaceList): HostInterface[] {
  return Object.entries(list).map(([name, addresses]) => ({ name, addresses: addresses ?? [] }));
}

/**
 * FirstPublicAddress under one rule. `temporaryMatters`: an IPv6 pick under a rule that skips temporary addresses,
 * so whether it is one decides the pick (if it is, k0s takes the next IPv6 address or falls back): a reading that
 * shows no flags cannot tell.
 */
export function firstPublicAddressBy(
  interfaces: readonly HostInterface[],
  rule: PickRule,
): { address: string; interfaceName: string; temporaryMatters: boolean } | { address: string; interfaceName: undefined; temporaryMatters: false } {
  let ipv6: { address: string; interfaceName: string; temporaryMatters: boolean } | undefined;
  for (const i of interfaces) {
    if (rule.skipList.includes(i.name) || rule.skipPrefixes.some((p) => i.name.startsWith(p))) continue;
    for (const a of i.addresses) {
      // Without the flag, an IPv4 pick is still sure: the kernel lists a subnet's primary before its secondaries,
      // and a secondary needs a primary in its subnet on the same interface, so the first IPv4 is never one.
      if (rule.skipSecondary && a.secondary === true) continue;
      const v4 = ipv4Of(a);
      if (v4 !== undefined) {
        if (!v4.startsWith('127.')) return { address: v4, interfaceName: i.name, temporaryMatters: false };
        continue;
      }
      if (ipv6 === undefined && !isIPv6Loopback(a.address)) ipv6 = { address: a.address, interfaceName: i.name, temporaryMatters: rule.skipSecondary };
    }
  }
  return ipv6 ?? { address: LOOPBACK_FALLBACK, interfaceName: undefined, temporaryMatters: false };
}

/** The address k0s 1.32.1 and later picks (kept for callers that have no version and no flags). */
export function firstPublicAddress(interfaces: InterfaceList): string {
  return firstPublicAddressBy(interfacesFromList(interfaces), RULE_1_32_1).address;
}

export type DefaultPeerAddress =
  | { readonly known: true; readonly address: string; readonly interfaceName: string | undefined }
  | { readonly known: false; readonly why: string };

/**
 * The address k0s picks at its next start on this host. With the version unknown, every release's rule is tried:
 * when they disagree the answer is unknown, and says what each would pick.
 */
export function predictDefaultPeerAddress(reading: InterfaceReading, k0sVersion: string | undefined): DefaultPeerAddress {
  const rule = pickRuleFor(k0sVersion);
  const rules = rule === undefined ? PICK_RULES : [rule];
  const picks = rules.map((r) => ({ rule: r, ...firstPublicAddressBy(reading.interfaces, r) }));
  if (new Set(picks.map((p) => p.address)).size > 1) {
    const each = picks.map((p) => `${p.rule.label} takes ${p.address}`).join(', ');
    return { known: false, why: `the k0s version is unknown and the releases pick differently: ${each}` };
  }
  const pick = picks[0]!;
  const known = { known: true, address: pick.address, interfaceName: pick.interfaceName } as const;
  // netlink shows what k0s sees: every interface, up or down, and each address's flags.
  if (reading.via === 'netlink') return known;
  const flagged = picks.find((p) => p.temporaryMatters);
  if (flagged !== undefined) {
    return { known: false, why: `k0s 1.32.1 and later skip temporary IPv6 addresses, and os.networkInterfaces() does not say whether ${flagged.address} on ${flagged.interfaceName} is one (\`ip\` was not available)` };
  }
  // An interface os.networkInterfaces() leaves out (down) may carry an address k0s would take first: any IPv4
  // one beats an IPv6 pick or the fallback; for an IPv4 pick, only one on an interface that comes before it (the
  // fallback's interface is none, so its index is undefined).
  const pickIndex = reading.interfaces.find((i) => i.name === pick.interfaceName)?.index;
  const v4Pick = !pick.address.includes(':');
  const relevant = reading.hidden.filter(
    (h) =>
      !rules.every((r) => r.skipList.includes(h.name) || r.skipPrefixes.some((p) => h.name.startsWith(p))) &&
      (!v4Pick ||
        pickIndex === undefined ||
        h.index === undefined ||
        // Stryker disable next-line EqualityOperator: a hidden interface and the shown one picked never share an ifindex
        h.index < pickIndex),
  );
  if (relevant.length > 0) {
    return {
      known: false,
      why: `k0s also takes addresses of interfaces that are down, and os.networkInterfaces() does not show ${relevant.map((h) => h.name).join(', ')}, which k0s looks at before ${pick.interfaceName ?? 'falling back to 127.0.0.1'} (\`ip\` was not available)`,
    };
  }
  return known;
}

/**
 * The IPv4 address, also for an IPv4-mapped IPv6 one (Go's IP.To4() accepts both and prints the IPv4 form); any
 * other address is IPv6 (`ip -j addr` and Node list only the two families).
 */
function ipv4Of(a: InterfaceAddress): string | undefined {
  if (a.family === 'IPv4' || a.family === 4) return a.address;
  // Stryker disable next-line Regex: the anchors: inet_ntop (ip, Node) writes a mapped address only as ::ffff:a.b.c.d, nothing before or after
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a.address)?.[1];
}

function isIPv6Loopback(address: string): boolean {
  try {
    return new URL(`http://[${address}]/`).hostname === '[::1]';
  } catch {
    // Stryker disable next-line BooleanLiteral: reached only by text the URL parser refuses as IPv6, which neither `ip -j addr` nor os.networkInterfaces() prints
    return false;
  }
}

/** Every address on the host's interfaces, as read (for "is the peer address on this host"). */
export function hostAddresses(reading: InterfaceReading): string[] {
  return reading.interfaces.flatMap((i) => i.addresses.map((a) => ipv4Of(a) ?? a.address));
}
