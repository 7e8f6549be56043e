// What k0s on this host will do at its next start: the name it registers and the peer address it gives etcd.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import type { K0sEtcdConfig } from './k0s/config.js';
import type { HostInterface, InterfaceAddress, InterfaceReading } from './k0s/peer-address.js';
import { predictHostFacts } from './k0s/predict.js';
import type { HostFacts } from './model.js';

const execFileAsync = promisify(execFile);

/** `ip` answers in milliseconds; past this it is stuck, and is killed. */
export const IP_DEADLINE_MS = 2000;
/** A host with thousands of pod interfaces prints a few MB; more is not an answer. */
const IP_MAX_BYTES = 16 << 20;

export interface InterfacesRead {
  readonly reading: InterfaceReading | undefined;
  /** Why netlink (`ip -j addr`) was not used, or why nothing could be read; undefined when netlink answered. */
  readonly why?: string;
}

/**
 * The host's interfaces as k0s sees them: through netlink (`ip -j addr show`, with a deadline), which lists every
 * interface, up or down, and each address's secondary/temporary flag, as k0s's netlink.AddrList does. Without
 * `ip` (or when it fails), os.networkInterfaces(), which omits interfaces that are not up and running and has no
 * secondary flag; /sys/class/net then names the interfaces it left out, so a prediction they could change is
 * said to be unknown rather than guessed.
 */
export async function readInterfaces(deadlineMs = IP_DEADLINE_MS, ipCommand = 'ip'): Promise<InterfacesRead> {
  let why: string;
  try {
    const { stdout } = await execFileAsync(ipCommand, ['-j', 'addr', 'show'], { timeout: deadlineMs, killSignal: 'SIGKILL', maxBuffer: IP_MAX_BYTES, encoding: 'utf8' });
    return { reading: { interfaces: parseIpAddrJson(stdout), via: 'netlink' } };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean; stderr?: string };
    why =
      e.code === 'ENOENT'
        ? `${ipCommand} is not installed`
        : e.killed
          ? `${ipCommand} -j addr did not answer within ${deadlineMs} ms`
          : `${ipCommand} -j addr failed: ${(e.stderr ?? e.message).trim().split('\n')[0] ?? ''}`;
  }
  try {
    return { reading: readViaNode(), why };
  } catch (err) {
    // Under systemd's RestrictAddressFamilies= without AF_NETLINK, getifaddrs() fails (errno 97).
    return { reading: undefined, why: `${why}; os.networkInterfaces() failed too: ${(err as Error).message}` };
  }
}

/** `ip -j addr show` output to interfaces in the kernel's order; throws on anything else. */
export function parseIpAddrJson(text: string): HostInterface[] {
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) throw new Error('ip -j addr: not a JSON list');
  return data.map((link: unknown, n) => {
    const l = link as { ifname?: unknown; ifindex?: unknown; addr_info?: unknown };
    if (typeof l.ifname !== 'string') throw new Error(`ip -j addr: entry ${n} has no ifname`);
    const addrInfo = Array.isArray(l.addr_info) ? (l.addr_info as unknown[]) : [];
    const addresses: InterfaceAddress[] = [];
    for (const a of addrInfo) {
      const x = a as { family?: unknown; local?: unknown; secondary?: unknown; temporary?: unknown };
      if (typeof x.local !== 'string' || (x.family !== 'inet' && x.family !== 'inet6')) continue;
      // iproute2 prints IFA_F_SECONDARY as "secondary" for IPv4 and as "temporary" for IPv6 (the same bit).
      addresses.push({ address: x.local, family: x.family === 'inet' ? 'IPv4' : 'IPv6', secondary: x.secondary === true || x.temporary === true });
    }
    return { name: l.ifname, ...(typeof l.ifindex === 'number' ? { index: l.ifindex } : {}), addresses };
  });
}

function readViaNode(): InterfaceReading {
  const shown = networkInterfaces();
  const indexOf = (name: string): number | undefined => {
    try {
      const n = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
      return Number.isInteger(n) ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const interfaces = Object.entries(shown).map(([name, addrs]) => ({
    name,
    index: indexOf(name),
    addresses: (addrs ?? []).map((a) => ({ address: a.address, family: a.family })),
  }));
  let all: string[] = [];
  try {
    all = readdirSync('/sys/class/net');
  } catch {
    // No sysfs: nothing known to be hidden.
  }
  const hidden = all.filter((n) => !(n in shown)).map((name) => ({ name, index: indexOf(name) }));
  return { interfaces, via: 'node', hidden };
}

/**
 * Reads the interfaces in the background, every interval, so that the analysis (synchronous) has a recent
 * reading; `ip` is a process, too slow to start at every scrape.
 */
export class HostInterfaces {
  private latest: InterfacesRead | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly onRead?: (read: InterfacesRead, changed: boolean) => void,
  ) {}

  /** Reads once now (resolves when done), then every interval. */
  start(): Promise<void> {
    if (this.timer === undefined) this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    return this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  refresh(): Promise<void> {
    this.running ??= readInterfaces().then((read) => {
      const changed = JSON.stringify(read) !== JSON.stringify(this.latest);
      this.latest = read;
      this.running = undefined;
      this.onRead?.(read, changed);
    });
    return this.running;
  }

  current(): InterfacesRead | undefined {
    return this.latest;
  }
}

/**
 * @param k0s this host's k0s config (k0s's defaults when it has no file), or undefined when it cannot be read.
 * @param interfaces the latest reading; undefined before the first one.
 * @param k0sVersion the k0s release on this host, when known.
 */
export function readHostFacts(memberNameOverride: string | undefined, k0s: K0sEtcdConfig | undefined, interfaces?: InterfacesRead, k0sVersion?: string): HostFacts {
  return predictHostFacts(
    k0s,
    { hostname: hostname(), interfaces: interfaces?.reading, interfacesError: interfaces === undefined ? 'not read yet' : interfaces.why },
    memberNameOverride,
    k0sVersion,
  );
}
