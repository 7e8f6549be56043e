// k0s.yaml and the default peer address as each k0s release reads them (items 6-8 of issue 18), with releases on
// both sides of every boundary, the incidents k0s#4664, #7628 and #7876 as fixtures, and the host's interfaces
// read through real netlink in a network namespace of this kernel.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyse } from '../src/analysis.js';
import { K0sConfigError, parseK0sConfig, rawArgValue } from '../src/k0s/config.js';
import { parseIpAddrJson } from '../src/hostfacts.js';
import { predictDefaultPeerAddress, type HostInterface, type InterfaceReading } from '../src/k0s/peer-address.js';
import { onHost, predictHostFacts } from '../src/k0s/predict.js';
import type { EtcdSnapshot } from '../src/model.js';
import { K0S_FIXTURES } from '../testbed/paths.js';
import { requireTool, skipOrFail } from '../testbed/tools.js';

const parseOrError = (text: string, k0sVersion?: string, single?: boolean): ReturnType<typeof parseK0sConfig> | string => {
  try {
    return parseK0sConfig(text, 'k0s.yaml', { k0sVersion, single });
  } catch (err) {
    assert.ok(err instanceof K0sConfigError, String(err));
    return err.message;
  }
};

describe('k0s.yaml keys by k0s release: refused in strict parts, ignored under spec.storage/api/network/images', () => {
  // [what, yaml, version, want: 'ok' | an error substring | a note substring prefixed with 'note:']
  const cases: [string, string, string | undefined, string][] = [
    ['helm chart forceUpgrade before it exists (1.30.4): refused', 'spec:\n  extensions:\n    helm:\n      charts:\n      - name: a\n        forceUpgrade: true\n', 'v1.30.4+k0s.0', 'unknown field spec.extensions.helm.charts.0.forceUpgrade: k0s refuses to start with it (k0s 1.30.4 does not know it)'],
    ['helm chart forceUpgrade from 1.30.5: known', 'spec:\n  extensions:\n    helm:\n      charts:\n      - name: a\n        forceUpgrade: true\n', 'v1.30.5+k0s.0', 'ok'],
    ['controllerManager.rawArgs on 1.33.13: refused', 'spec:\n  controllerManager:\n    rawArgs: [--v=2]\n', 'v1.33.13+k0s.0', 'unknown field spec.controllerManager.rawArgs'],
    ['controllerManager.rawArgs from 1.34.1: known', 'spec:\n  controllerManager:\n    rawArgs: [--v=2]\n', 'v1.34.1+k0s.0', 'ok'],
    ['storage.etcd.rawArgs on 1.33.13: ignored (lenient storage)', 'spec:\n  storage:\n    etcd:\n      rawArgs: [--name=x]\n', 'v1.33.13+k0s.0', 'note:spec.storage.etcd.rawArgs is not a field k0s knows: k0s ignores it'],
    ['storage.etcd.rawArgs from 1.34.1: known', 'spec:\n  storage:\n    etcd:\n      rawArgs: [--name=x]\n', 'v1.34.1+k0s.0', 'ok'],
    ['api.onlyBindToAddress on 1.30.14: ignored (lenient api)', 'spec:\n  api:\n    onlyBindToAddress: true\n', 'v1.30.14+k0s.0', 'note:spec.api.onlyBindToAddress is not a field k0s knows'],
    ['a version unknown: a key any release knows is accepted', 'spec:\n  controllerManager:\n    rawArgs: [--v=2]\n', undefined, 'ok'],
    ['a top-level typo: refused with the closest key', 'apiVersion: k0s.k0sproject.io/v1beta1\nspecs: {}\n', undefined, 'unknown field specs (did you mean spec?)'],
    ['metadata is a strict ObjectMeta', 'metadata:\n  name: k0s\n  lables: {}\n', undefined, 'unknown field metadata.lables (did you mean metadata.labels?)'],
    ['a network typo is ignored (Network decodes leniently)', 'spec:\n  network:\n    provder: calico\n', undefined, 'note:spec.network.provder is not a field k0s knows (did you mean provider?): k0s ignores it'],
    ['Go matches keys case-insensitively: PeerAddress is peerAddress', 'spec:\n  Storage:\n    ETCD:\n      PeerAddress: 10.0.0.7\n', undefined, 'ok'],
    ['an unknown interval met first is forgiven, and with it every other unknown key', 'spec:\n  telemetry:\n    interval: 10m\n  zzz: 1\n', undefined, 'note:spec.telemetry.interval is not a field k0s knows, but k0s forgives an unknown interval (strictyaml), and so ignores spec.zzz as well'],
    ['an unknown key met before interval is not', 'spec:\n  aaa: 1\n  telemetry:\n    interval: 10m\n', undefined, 'unknown field spec.aaa'],
  ];
  for (const [what, yaml, version, want] of cases) {
    it(what, () => {
      const got = parseOrError(yaml, version);
      if (want === 'ok') assert.ok(typeof got !== 'string' && got.notes === undefined, JSON.stringify(got));
      else if (want.startsWith('note:')) {
        assert.ok(typeof got !== 'string', got as string);
        assert.equal(got.notes?.length, 1, JSON.stringify(got.notes));
        assert.ok(got.notes[0]!.startsWith(want.slice(5)), got.notes[0]);
      } else {
        assert.equal(typeof got, 'string', `want a refusal, got ${JSON.stringify(got)}`);
        assert.ok((got as string).includes(want), got as string);
      }
    });
  }
  it('case-insensitive keys set the value k0s uses', () => {
    const got = parseK0sConfig('spec:\n  Storage:\n    ETCD:\n      PeerAddress: 10.0.0.7\n', 'x');
    assert.equal(got.peerAddress, '10.0.0.7');
  });
  it('rawArgs are not passed before 1.34.1, and are from 1.34.1', () => {
    const yaml = 'spec:\n  storage:\n    etcd:\n      rawArgs: ["--name", "raw-name"]\n';
    assert.equal(parseK0sConfig(yaml, 'x', { k0sVersion: 'v1.33.13+k0s.0' }).rawArgs, undefined);
    assert.deepEqual(parseK0sConfig(yaml, 'x', { k0sVersion: 'v1.34.1+k0s.0' }).rawArgs, ['--name', 'raw-name']);
    assert.equal(rawArgValue(['--name=a', '-name', 'b'], 'name'), 'b', "etcd's flag package: the last one wins, one dash or two");
  });
});

describe('--single, an empty name and an empty peer address, as k0s takes them', () => {
  it('--single makes kine the default only while the file has no spec.storage', () => {
    assert.equal(parseK0sConfig('', 'x', { single: true }).storage, 'kine');
    assert.equal(parseK0sConfig('spec:\n  api: {}\n', 'x', { single: true }).storage, 'kine');
    assert.equal(parseK0sConfig('spec:\n  storage: {}\n', 'x', { single: true }).storage, 'etcd', 'StorageSpec.UnmarshalJSON resets the type to etcd');
    assert.equal(parseK0sConfig('spec:\n  storage: null\n', 'x', { single: true }).storage, 'etcd', 'nil storage becomes DefaultStorageSpec()');
    assert.equal(parseK0sConfig('spec:\n  api: {}\n', 'x').storage, 'etcd');
  });
  const host = { hostname: 'C1', interfaces: { eth0: [{ address: '10.0.0.1', family: 'IPv4' }] } };
  it('an empty extraArgs.name: etcd gets --name=, the object is named after the hostname', () => {
    const c = parseK0sConfig('spec:\n  storage:\n    etcd:\n      extraArgs:\n        name: ""\n', 'x');
    assert.equal(c.memberName, '');
    assert.match(c.notes?.[0] ?? '', /passes --name= to etcd .* names the EtcdMember object after the hostname/);
    assert.equal(predictHostFacts(c, host).registrationName, 'c1');
  });
  it('an empty peerAddress is used as written, and etcd cannot listen on https://:2380', () => {
    const c = parseK0sConfig('spec:\n  storage:\n    etcd:\n      peerAddress: ""\n', 'x');
    assert.equal(c.peerAddress, '');
    const facts = predictHostFacts(c, host);
    assert.equal(facts.predictedPeerAddress, '');
    assert.equal(facts.peerAddressOnHost, false);
  });
  it('extraArgs or rawArgs (1.34.1 on) setting the peer URLs make the address unpredicted, saying why', () => {
    const extra = parseK0sConfig('spec:\n  storage:\n    etcd:\n      extraArgs:\n        listen-peer-urls: https://10.0.0.5:2380\n', 'x');
    assert.match(predictHostFacts(extra, host).peerAddressUnknownWhy ?? '', /extraArgs sets --listen-peer-urls/);
    const raw = parseK0sConfig('spec:\n  storage:\n    etcd:\n      rawArgs: [--initial-advertise-peer-urls=https://10.0.0.5:2380]\n', 'x');
    assert.match(predictHostFacts(raw, host, undefined, 'v1.34.1+k0s.0').peerAddressUnknownWhy ?? '', /rawArgs sets --initial-advertise-peer-urls/);
    assert.equal(predictHostFacts(raw, host, undefined, 'v1.33.13+k0s.0').predictedPeerAddress, '10.0.0.1', 'k0s 1.33 ignores rawArgs: its own pick stands');
  });
});

describe("k0s's default peer address by release (iface.FirstPublicAddress)", () => {
  const v4 = (address: string, secondary = false) => ({ address, family: 'IPv4', secondary });
  const v6 = (address: string, secondary = false) => ({ address, family: 'IPv6', secondary });
  const nl = (...interfaces: HostInterface[]): InterfaceReading => ({ interfaces, via: 'netlink' });
  // [what, reading, {version: want address | 'unknown'}]
  const cases: [string, InterfaceReading, Record<string, string>][] = [
    [
      'kube-bridge is skipped from 1.30.2 on, taken before',
      nl({ name: 'lo', addresses: [v4('127.0.0.1')] }, { name: 'kube-bridge', addresses: [v4('10.244.0.1')] }, { name: 'eth0', addresses: [v4('10.0.0.1')] }),
      { 'v1.30.1+k0s.0': '10.244.0.1', 'v1.30.2+k0s.0': '10.0.0.1', 'v1.36.3+k0s.2': '10.0.0.1', unknown: 'unknown' },
    ],
    [
      'vxlan.calico is skipped by every release',
      nl({ name: 'vxlan.calico', addresses: [v4('10.244.0.1')] }, { name: 'eth0', addresses: [v4('10.0.0.1')] }),
      { 'v1.30.0+k0s.0': '10.0.0.1', 'v1.36.3+k0s.2': '10.0.0.1', unknown: '10.0.0.1' },
    ],
    [
      'a secondary address listed first is taken up to 1.31, skipped from 1.32.1 (k0s#4664)',
      nl({ name: 'eth0', addresses: [v4('10.0.0.100', true), v4('10.0.0.1')] }),
      { 'v1.31.14+k0s.0': '10.0.0.100', 'v1.32.1+k0s.0': '10.0.0.1', unknown: 'unknown' },
    ],
    [
      'a temporary IPv6 address (the same flag) on an IPv6-only host',
      nl({ name: 'eth0', addresses: [v6('2001:db8::1234', true), v6('2001:db8::1')] }),
      { 'v1.31.14+k0s.0': '2001:db8::1234', 'v1.32.1+k0s.0': '2001:db8::1', unknown: 'unknown' },
    ],
    [
      'an interface that is down still counts',
      nl({ name: 'eth0', addresses: [v4('10.0.0.9')] }, { name: 'eth1', addresses: [v4('10.0.0.1')] }),
      { 'v1.36.3+k0s.2': '10.0.0.9', unknown: '10.0.0.9' },
    ],
  ];
  for (const [what, reading, wants] of cases) {
    for (const [version, want] of Object.entries(wants)) {
      it(`${what}: ${version}`, () => {
        const got = predictDefaultPeerAddress(reading, version === 'unknown' ? undefined : version);
        if (want === 'unknown') {
          assert.equal(got.known, false);
          assert.match(got.known ? '' : got.why, /the k0s version is unknown and the releases pick differently/);
        } else assert.deepEqual(got.known ? got.address : got.why, want);
      });
    }
  }
  it("through os.networkInterfaces(): an interface it hides before the pick makes the address unknown", () => {
    const reading: InterfaceReading = { interfaces: [{ name: 'eth1', index: 3, addresses: [{ address: '10.0.0.1', family: 'IPv4' }] }], via: 'node', hidden: [{ name: 'eth0', index: 2 }] };
    const got = predictDefaultPeerAddress(reading, 'v1.36.3+k0s.2');
    assert.equal(got.known, false);
    assert.match(got.known ? '' : got.why, /does not show eth0, which k0s looks at before eth1/);
    const after: InterfaceReading = { ...reading, hidden: [{ name: 'eth9', index: 9 }] };
    assert.deepEqual(predictDefaultPeerAddress(after, 'v1.36.3+k0s.2'), { known: true, address: '10.0.0.1', interfaceName: 'eth1' });
  });
  it('through os.networkInterfaces(): an IPv6 pick on 1.32.1+ is unknown (no temporary flag), sure before', () => {
    const reading: InterfaceReading = { interfaces: [{ name: 'eth0', addresses: [{ address: '2001:db8::1234', family: 'IPv6' }, { address: '2001:db8::1', family: 'IPv6' }] }], via: 'node', hidden: [] };
    assert.equal(predictDefaultPeerAddress(reading, 'v1.32.1+k0s.0').known, false);
    assert.equal(predictDefaultPeerAddress(reading, 'v1.31.14+k0s.0').known, true);
  });
  it('whether etcd can bind the address here', () => {
    const reading = nl({ name: 'eth0', addresses: [v4('10.0.0.1'), v6('fd00::1')] });
    assert.deepEqual(
      ['10.0.0.1', '10.0.0.2', 'FD00:0::1', '[fd00::1]', 'c1.example.org', '', '0.0.0.0', '127.0.0.5', 'localhost'].map((a) => onHost(a, reading)),
      // [fd00::1]: k0s brackets it again (https://[[fd00::1]]:2380), which etcd refuses.
      [true, false, true, false, false, false, true, true, true],
    );
    assert.equal(onHost('10.0.0.2', { interfaces: reading.interfaces, via: 'node', hidden: [{ name: 'eth1', index: 3 }] }), undefined, 'a hidden interface may hold it');
  });
});

describe('incidents as fixtures: what the exporter says on each k0s release', () => {
  const dir = join(K0S_FIXTURES, 'incidents');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const fx = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      k0sYaml: string;
      ipAddr: unknown;
      etcdPeerURL: string | null;
      expected: Record<string, { predictedPeerAddress: string | null; peerAddressDrift: boolean | null; peerAddressOnHost: boolean | null }>;
    };
    for (const [version, want] of Object.entries(fx.expected)) {
      it(`${file}: ${version}`, () => {
        const v = version === 'unknown' ? undefined : version;
        const config = parseK0sConfig(fx.k0sYaml, file, { k0sVersion: v });
        const reading: InterfaceReading = { interfaces: parseIpAddrJson(JSON.stringify(fx.ipAddr)), via: 'netlink' };
        const facts = predictHostFacts(config, { hostname: 'c1.example.org', interfaces: reading }, undefined, v);
        const etcd: EtcdSnapshot | undefined =
          fx.etcdPeerURL === null ? undefined : { members: [{ id: 'a1', name: 'c1.example.org', peerURLs: [fx.etcdPeerURL], clientURLs: [], isLearner: false }], localMemberId: 'a1' };
        const report = analyse(etcd, undefined, facts);
        assert.deepEqual(
          { predictedPeerAddress: facts.predictedPeerAddress ?? null, peerAddressDrift: report.local?.peerAddressDrift ?? null, peerAddressOnHost: report.localPeerAddressOnHost ?? null },
          want,
        );
      });
    }
  }
});

describe("the host's interfaces through real netlink (a network namespace of this kernel)", () => {
  const HOSTFACTS = fileURLToPath(new URL('../src/hostfacts.js', import.meta.url));
  const script = [
    'set -e',
    'ip link set lo up',
    // eth-like first interface, down, with an address: k0s takes it, os.networkInterfaces() does not show it.
    'ip link add br-down type bridge',
    'ip addr add 10.9.0.1/24 dev br-down',
    'ip link add vethA type veth peer name vethB',
    'ip link set vethA up && ip link set vethB up',
    'ip addr add 10.0.0.5/24 dev vethB',
    'ip addr add 10.0.0.100/24 dev vethB',
    `exec node --input-type=module -e "const h = await import('${HOSTFACTS}'); const os = await import('node:os'); const r = await h.readInterfaces(); process.stdout.write(JSON.stringify({ r, node: Object.keys(os.networkInterfaces()) }));"`,
  ].join('\n');
  it('`ip -j addr` shows the down bridge and the secondary flag that Node cannot; the prediction uses them', (t) => {
    const unshare = requireTool(t, 'unshare', 'apt-get install util-linux');
    const ip = requireTool(t, 'ip', 'apt-get install iproute2');
    if (unshare === undefined || ip === undefined) return;
    const r = spawnSync(unshare, ['-rn', 'sh', '-c', script], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) return skipOrFail(t, `cannot make a network namespace with a bridge and veths here: ${r.stderr.trim() || String(r.error)}`);
    const out = JSON.parse(r.stdout) as { r: { reading: InterfaceReading; why?: string }; node: string[] };
    assert.equal(out.r.why, undefined, 'netlink answered');
    assert.equal(out.r.reading.via, 'netlink');
    const names = out.r.reading.interfaces.map((i) => i.name);
    assert.deepEqual(names.slice(0, 2), ['lo', 'br-down']);
    assert.ok(!out.node.includes('br-down'), `os.networkInterfaces() hides the down bridge: ${out.node.join(', ')}`);
    const vethB = out.r.reading.interfaces.find((i) => i.name === 'vethB')!;
    assert.deepEqual(vethB.addresses.filter((a) => a.family === 'IPv4'), [
      { address: '10.0.0.5', family: 'IPv4', secondary: false },
      { address: '10.0.0.100', family: 'IPv4', secondary: true },
    ], 'the kernel lists the primary first and flags the second address of the subnet secondary');
    // k0s looks at br-down (down) before vethB: it takes 10.9.0.1.
    assert.deepEqual(predictDefaultPeerAddress(out.r.reading, 'v1.36.3+k0s.2'), { known: true, address: '10.9.0.1', interfaceName: 'br-down' });
  });
});

describe('what the exporter predicts for the next start, message by message', () => {
  const v4 = (address: string) => ({ address, family: 'IPv4' });
  const v6 = (address: string) => ({ address, family: 'IPv6' });
  const lo: HostInterface = { name: 'lo', index: 1, addresses: [v4('127.0.0.1'), v6('::1')] };
  // os.networkInterfaces(): no flags, interfaces that are down left out (hidden, from /sys/class/net).
  const node = (hidden: { name: string; index: number | undefined }[], ...interfaces: HostInterface[]): InterfaceReading => ({ interfaces: [lo, ...interfaces], via: 'node', hidden });
  const why = (got: ReturnType<typeof predictDefaultPeerAddress>): string => (got.known ? `known: ${got.address}` : got.why);

  it('the version unknown: the message says what each release range takes', () => {
    const reading: InterfaceReading = { interfaces: [lo, { name: 'kube-bridge', addresses: [v4('10.244.0.1')] }, { name: 'eth0', addresses: [v4('10.0.0.1')] }], via: 'netlink' };
    assert.equal(
      why(predictDefaultPeerAddress(reading, undefined)),
      'the k0s version is unknown and the releases pick differently: k0s 1.30.0 to 1.30.1 takes 10.244.0.1, k0s 1.30.2 to 1.32.0 takes 10.0.0.1, k0s 1.32.1 and later takes 10.0.0.1',
    );
  });
  it('a secondary address is taken by 1.30.0 to 1.30.1 too (iface.go reads no flags before 1.32.1)', () => {
    const reading: InterfaceReading = { interfaces: [{ name: 'eth0', addresses: [{ ...v4('10.0.0.100'), secondary: true }, v4('10.0.0.1')] }], via: 'netlink' };
    assert.equal(why(predictDefaultPeerAddress(reading, 'v1.30.1+k0s.0')), 'known: 10.0.0.100');
  });
  it('only loopback: k0s falls back to 127.0.0.1, also through os.networkInterfaces()', () => {
    assert.deepEqual(predictDefaultPeerAddress(node([]), 'v1.36.3+k0s.2'), { known: true, address: '127.0.0.1', interfaceName: undefined });
  });
  it('through os.networkInterfaces(): an IPv6 pick is unknown on 1.32.1+ (temporary?), also when it is the only one and the version unknown', () => {
    const reading = node([], { name: 'eth0', index: 2, addresses: [v6('2001:db8::1')] });
    const want = 'k0s 1.32.1 and later skip temporary IPv6 addresses, and os.networkInterfaces() does not say whether 2001:db8::1 on eth0 is one (`ip` was not available)';
    assert.equal(why(predictDefaultPeerAddress(reading, 'v1.32.1+k0s.0')), want);
    assert.equal(why(predictDefaultPeerAddress(reading, undefined)), want);
    assert.equal(why(predictDefaultPeerAddress(reading, 'v1.32.0+k0s.0')), 'known: 2001:db8::1');
  });
  it('through os.networkInterfaces(): hidden interfaces before the pick are named, after loopback', () => {
    const eth2: HostInterface = { name: 'eth2', index: 4, addresses: [v4('10.0.0.1')] };
    assert.equal(
      why(predictDefaultPeerAddress(node([{ name: 'eth0', index: 2 }, { name: 'eth1', index: 3 }], eth2), 'v1.36.3+k0s.2')),
      'k0s also takes addresses of interfaces that are down, and os.networkInterfaces() does not show eth0, eth1, which k0s looks at before eth2 (`ip` was not available)',
    );
    assert.equal(why(predictDefaultPeerAddress(node([{ name: 'eth9', index: 9 }], eth2), 'v1.36.3+k0s.2')), 'known: 10.0.0.1', 'after the pick: k0s never reaches it');
    assert.equal(why(predictDefaultPeerAddress(node([{ name: 'eth9', index: undefined }], eth2), 'v1.36.3+k0s.2')).startsWith('k0s also takes'), true, 'no ifindex: it may come first');
  });
  it('through os.networkInterfaces(): any hidden interface may hold an IPv4 address that beats an IPv6 pick or the fallback', () => {
    const eth0: HostInterface = { name: 'eth0', index: 2, addresses: [v6('2001:db8::1')] };
    assert.match(why(predictDefaultPeerAddress(node([{ name: 'eth1', index: 3 }], eth0), 'v1.31.14+k0s.0')), /does not show eth1, which k0s looks at before eth0 /);
    assert.match(why(predictDefaultPeerAddress(node([{ name: 'eth0', index: 2 }]), 'v1.36.3+k0s.2')), /does not show eth0, which k0s looks at before falling back to 127\.0\.0\.1 /);
  });
  it('through os.networkInterfaces(): hidden interfaces k0s skips do not matter, by release', () => {
    const eth0: HostInterface = { name: 'eth0', index: 9, addresses: [v4('10.0.0.1')] };
    const hidden = (name: string) => [{ name, index: 2 }];
    for (const name of ['vxlan.calico', 'kube-bridge', 'dummyvip0', 'veth1234', 'cali5678']) {
      assert.equal(why(predictDefaultPeerAddress(node(hidden(name), eth0), 'v1.36.3+k0s.2')), 'known: 10.0.0.1', name);
    }
    assert.match(why(predictDefaultPeerAddress(node(hidden('vethx0'), eth0), 'v1.36.3+k0s.2')), /known/);
    assert.match(why(predictDefaultPeerAddress(node(hidden('kube-bridge'), eth0), 'v1.30.1+k0s.0')), /does not show kube-bridge/, '1.30.1 takes kube-bridge');
    assert.match(why(predictDefaultPeerAddress(node(hidden('kube-bridge'), eth0), undefined)), /does not show kube-bridge/, 'some release takes it');
    assert.match(why(predictDefaultPeerAddress(node(hidden('xveth0'), eth0), 'v1.36.3+k0s.2')), /does not show xveth0/, 'veth is a prefix');
  });
  it('an IPv4-mapped IPv6 address is taken as its IPv4 form, as Go does', () => {
    const reading: InterfaceReading = { interfaces: [{ name: 'eth0', addresses: [v6('fd00::6'), v6('::ffff:192.168.10.20')] }], via: 'netlink' };
    assert.equal(why(predictDefaultPeerAddress(reading, 'v1.36.3+k0s.2')), 'known: 192.168.10.20');
  });

  const host = { hostname: 'c1', interfaces: { eth0: [v4('10.0.0.1')] } };
  it('the peer URL flags in extraArgs or rawArgs, both named', () => {
    const extra = parseK0sConfig('spec:\n  storage:\n    etcd:\n      extraArgs:\n        listen-peer-urls: https://10.0.0.5:2380\n        initial-advertise-peer-urls: https://10.0.0.5:2380\n', 'x');
    assert.equal(predictHostFacts(extra, host).peerAddressUnknownWhy, 'spec.storage.etcd.extraArgs sets --listen-peer-urls and --initial-advertise-peer-urls, which etcd uses instead of peerAddress');
    const raw = parseK0sConfig('spec:\n  storage:\n    etcd:\n      rawArgs: [--listen-peer-urls=https://10.0.0.5:2380, --initial-advertise-peer-urls=https://10.0.0.5:2380]\n', 'x');
    assert.equal(
      predictHostFacts(raw, host, undefined, 'v1.34.1+k0s.0').peerAddressUnknownWhy,
      'spec.storage.etcd.rawArgs sets --listen-peer-urls and --initial-advertise-peer-urls, which etcd uses instead of peerAddress',
    );
  });
  it("interfaces that could not be read: the peer address is unknown, saying why; the name is still k0s's", () => {
    const config = parseK0sConfig('', 'x');
    const facts = predictHostFacts(config, { hostname: 'C1', interfaces: undefined, interfacesError: 'ip is not installed; os.networkInterfaces() failed too: EAFNOSUPPORT' });
    assert.deepEqual(facts, {
      registrationName: 'c1',
      registrationNameKnown: true,
      predictedPeerAddress: undefined,
      peerAddressUnknownWhy: "the host's interfaces could not be read (ip is not installed; os.networkInterfaces() failed too: EAFNOSUPPORT)",
    });
    assert.equal(predictHostFacts(config, { hostname: 'c1', interfaces: undefined }).peerAddressUnknownWhy, "the host's interfaces could not be read (no reading)");
  });
  it('a plain interface list is a list, also with an interface named via', () => {
    const facts = predictHostFacts(parseK0sConfig('', 'x'), { hostname: 'c1', interfaces: { via: [v4('10.0.0.7')], eth0: [v4('10.0.0.1')] } });
    assert.equal(facts.predictedPeerAddress, '10.0.0.7');
  });
  it('whether etcd can bind the address: only an IP or localhost, as etcd takes it', () => {
    const reading: InterfaceReading = { interfaces: [lo, { name: 'eth0', addresses: [v4('10.0.0.1'), v6('fd00::1')] }], via: 'netlink' };
    const cases: [string, boolean][] = [
      ['::', true],
      ['fd00::2', false],
      ['fd00::1%eth0', false],
      ['LOCALHOST', false],
      [' 10.0.0.1', false],
      ['010.0.0.1', false],
    ];
    assert.deepEqual(cases.map(([a]) => [a, onHost(a, reading)]), cases);
  });
  it('through os.networkInterfaces(): an address not shown is undefined while an interface is hidden, a name is never bindable', () => {
    const hiddenOne = node([{ name: 'eth1', index: 3 }], { name: 'eth0', index: 2, addresses: [v4('10.0.0.1')] });
    const noneHidden = node([], { name: 'eth0', index: 2, addresses: [v4('10.0.0.1')] });
    assert.deepEqual(['10.0.0.2', '10.0.0.1', 'c1.example.org', '10.0.0.1.nip.io', 'x10.0.0.1'].map((a) => onHost(a, hiddenOne)), [undefined, true, false, false, false]);
    assert.equal(onHost('10.0.0.2', noneHidden), false);
  });
});
