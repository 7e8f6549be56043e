// The host's k0s config: parsed as k0s parses it, the member name and peer address k0s uses at its next start
// predicted from it (and from interface lists given as data), compared with etcd's view of the local member, and
// read from disk at every refresh, with every way a file can be unusable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyse } from '../src/analysis.js';
import { K0S_DEFAULTS, K0sConfigError, closest, parseK0sConfig, rawArgValue, type K0sEtcdConfig } from '../src/k0s/config.js';
import { atLeast, parseK0sRelease, type K0sRelease } from '../src/k0s/config-keys.js';
import { firstPublicAddress, type InterfaceList } from '../src/k0s/peer-address.js';
import { predictHostFacts, type HostState } from '../src/k0s/predict.js';
import { createLogger } from '../src/log.js';
import type { EtcdSnapshot } from '../src/model.js';
import { K0sConfigSource, readK0sConfigFile } from '../src/sources/k0s-config.js';
import { K0S_FIXTURES } from '../testbed/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'k0s-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fixture = (name: string): string => readFileSync(join(K0S_FIXTURES, name), 'utf8');
const etcdConfig = (etcd: string): string => `apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  storage:\n    type: etcd\n    etcd:\n${etcd}`;
const errorOf = (text: string, k0sVersion?: string): string => {
  try {
    parseK0sConfig(text, '/etc/k0s/k0s.yaml', { k0sVersion });
  } catch (err) {
    assert.ok(err instanceof K0sConfigError, String(err));
    assert.equal(err.message.split('\n').length, 1, 'one line');
    assert.equal(String(err), `K0sConfigError: ${err.message}`, 'named as such where a stack trace shows it');
    return err.message;
  }
  assert.fail('parsed without error');
};

describe('k0s.yaml as k0s reads it', () => {
  it('takes the member name and peer address from spec.storage.etcd (kind ClusterConfig)', () => {
    assert.deepEqual(parseK0sConfig(fixture('k0s.yaml'), 'k0s.yaml'), { storage: 'etcd', memberName: 'c1.example.org', peerAddress: '10.0.0.1' });
  });
  it('reads the older kind Cluster and leaves unset storage to the defaults', () => {
    assert.deepEqual(parseK0sConfig(fixture('k0s-defaults.yaml'), 'k0s-defaults.yaml'), K0S_DEFAULTS);
  });
  it('says kine and external etcd run no member here', () => {
    assert.equal(parseK0sConfig(fixture('k0s-kine.yaml'), 'k0s-kine.yaml').storage, 'kine');
    const external = etcdConfig('      externalCluster:\n        endpoints: [https://etcd.example.org:2379]\n        etcdPrefix: k0s\n');
    assert.equal(parseK0sConfig(external, 'x').storage, 'external');
  });
  it('treats an empty file, and null sections, as the defaults', () => {
    assert.deepEqual(parseK0sConfig('', 'x'), K0S_DEFAULTS);
    assert.deepEqual(parseK0sConfig('# only a comment\n', 'x'), K0S_DEFAULTS);
    assert.deepEqual(parseK0sConfig('spec:\n  storage:\n    etcd:\n      peerAddress: null\n      extraArgs: ~\n', 'x'), K0S_DEFAULTS);
  });
  it('keeps the name as written (k0s lowercases it only for the object name)', () => {
    assert.equal(parseK0sConfig(etcdConfig('      extraArgs:\n        name: " C1.Example.org"\n'), 'x').memberName, ' C1.Example.org');
  });
  it('reads YAML 1.1 like sigs.k8s.io/yaml: an unquoted yes is a boolean, and names the key, value and line', () => {
    assert.equal(
      errorOf(etcdConfig('      extraArgs:\n        name: yes\n')),
      '/etc/k0s/k0s.yaml:8:9: spec.storage.etcd.extraArgs.name is the boolean true (YAML 1.1 reads yes/no/on/off as booleans); k0s wants a string (quote it)',
    );
  });
  it('names the line of malformed YAML', () => {
    assert.match(errorOf('spec:\n  storage: [\n    etcd: {}\n'), /^\/etc\/k0s\/k0s\.yaml:\d+:\d+: not valid YAML: /);
    assert.match(errorOf('spec:\n  storage: {}\n  storage: {}\n'), /^\/etc\/k0s\/k0s\.yaml:3:3: not valid YAML: Map keys must be unique/);
  });
  it('rejects wrong types, naming the key and the value', () => {
    assert.equal(errorOf(etcdConfig('      peerAddress: 10\n')), "/etc/k0s/k0s.yaml:7:7: spec.storage.etcd.peerAddress is the number 10; k0s wants the address etcd peers reach this host on, e.g. 10.0.0.1");
    assert.equal(errorOf('spec:\n  storage:\n    type: sql\n'), '/etc/k0s/k0s.yaml:3:5: spec.storage.type is the string "sql"; k0s wants etcd or kine');
    assert.equal(errorOf('- spec\n'), '/etc/k0s/k0s.yaml:1:1: the document is a list; k0s wants a ClusterConfig mapping (apiVersion, kind, spec)');
    assert.match(errorOf(etcdConfig('      extraArgs: [name]\n')), /:7:7: spec\.storage\.etcd\.extraArgs is a list/);
  });
  it('ignores an unknown field under spec.storage.etcd, as k0s (StorageSpec decodes leniently): a misspelt peerAddress means the default address, in one note', () => {
    const c = parseK0sConfig(etcdConfig('      peerAdress: 10.0.0.9\n'), 'x');
    assert.equal(c.peerAddress, undefined);
    assert.deepEqual(c.notes, ['spec.storage.etcd.peerAdress is not a field k0s knows (did you mean peerAddress?): k0s ignores it and gives etcd the default peer address']);
  });
  it('refuses an unknown field anywhere else, naming it and the closest known key', () => {
    assert.equal(
      errorOf('spec:\n  storag:\n    etcd: {}\n'),
      '/etc/k0s/k0s.yaml:2:3: unknown field spec.storag (did you mean spec.storage?): k0s refuses to start with it (no k0s release from 1.30 to 1.36 knows it)',
    );
  });
});

describe('what the author of a k0s.yaml k0s would refuse reads: file:line:column, the key, what it is, what k0s wants', () => {
  // [what, k0s.yaml, the message]
  const cases: [string, string, string][] = [
    ['spec a number', 'spec: 5\n', '1:1: spec is the number 5; k0s wants a mapping'],
    ['spec a timestamp (YAML 1.1)', 'spec: 2001-12-14\n', '1:1: spec is the timestamp 2001-12-14T00:00:00.000Z; k0s wants a mapping'],
    ['storage a list', 'spec:\n  storage: [etcd]\n', '2:3: spec.storage is a list; k0s wants a mapping with type, etcd or kine'],
    ['etcd a string', 'spec:\n  storage:\n    etcd: "10.0.0.1"\n', '3:5: spec.storage.etcd is the string "10.0.0.1"; k0s wants a mapping with peerAddress, extraArgs, ...'],
    ['extraArgs a list', etcdConfig('      extraArgs: [name]\n'), '7:7: spec.storage.etcd.extraArgs is a list; k0s wants a mapping of etcd flag names to string values'],
    ['an extraArgs value a number', etcdConfig('      extraArgs:\n        heartbeat-interval: 100\n'), '8:9: spec.storage.etcd.extraArgs.heartbeat-interval is the number 100; k0s wants a string (quote it)'],
    ['kind a number', 'kind: 1\n', '1:1: kind is the number 1; k0s wants a string such as ClusterConfig'],
    ['apiVersion a mapping', 'apiVersion: {group: k0s}\n', '1:1: apiVersion is a mapping; k0s wants a string such as k0s.k0sproject.io/v1beta1'],
    // kind has no list in k0s's key tree: the key check skips the list's items, and the type check names it.
    ['kind a list of mappings', 'kind: [{a: 1}]\n', '1:1: kind is a list; k0s wants a string such as ClusterConfig'],
    ['type blank', 'spec:\n  storage:\n    type: " "\n', '3:5: spec.storage.type is the empty string " "; k0s wants etcd or kine'],
    ['type empty', 'spec:\n  storage:\n    type: ""\n', '3:5: spec.storage.type is the empty string ""; k0s wants etcd or kine'],
    ['type a timestamp', 'spec:\n  storage:\n    type: 2001-12-14\n', '3:5: spec.storage.type is the timestamp 2001-12-14T00:00:00.000Z; k0s wants etcd or kine'],
    ['type a mapping', 'spec:\n  storage:\n    type: {name: etcd}\n', '3:5: spec.storage.type is a mapping; k0s wants etcd or kine'],
    ['type after another key: its own line', 'spec:\n  api: {}\n  storage:\n    etcd: {}\n    type: sql\n', '5:5: spec.storage.type is the string "sql"; k0s wants etcd or kine'],
    ['keys as written, in any case', 'spec:\n  Storage:\n    TYPE: sql\n', '3:5: spec.Storage.TYPE is the string "sql"; k0s wants etcd or kine'],
    ['rawArgs a string', etcdConfig('      rawArgs: --name=c1\n'), '7:7: spec.storage.etcd.rawArgs is the string "--name=c1"; k0s wants a list of strings, e.g. ["--name=c1"]'],
    ['a rawArgs item a number: the line of the item', etcdConfig('      rawArgs:\n        - --name=c1\n        - 2380\n'), '9:11: spec.storage.etcd.rawArgs.1 is the number 2380; k0s wants a string (quote it)'],
    ['a rawArgs item null', etcdConfig('      rawArgs: [~]\n'), '7:17: spec.storage.etcd.rawArgs.0 is empty; k0s wants a string (quote it)'],
    ['an unknown key: the first in Go\'s order (the JSON of a sorted Go map), not the first written', 'spec:\n  zzz: 1\n  aaa: 1\n', '3:3: unknown field spec.aaa: k0s refuses to start with it (no k0s release from 1.30 to 1.36 knows it)'],
    ['Go sorts keys by their bytes: uppercase first', 'spec:\n  aaa: 1\n  Zzz: 1\n', '3:3: unknown field spec.Zzz: k0s refuses to start with it (no k0s release from 1.30 to 1.36 knows it)'],
    ['the closest key counts every letter of the typo', 'metadata:\n  nam: k0s\n', '2:3: unknown field metadata.nam (did you mean metadata.name?): k0s refuses to start with it (no k0s release from 1.30 to 1.36 knows it)'],
  ];
  for (const [what, yaml, want] of cases) it(what, () => assert.equal(errorOf(yaml), `/etc/k0s/k0s.yaml:${want}`));

  it('too many aliases (a billion laughs): refused before it is expanded, with no line to name', () => {
    const yaml = `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 101 }, (_, i) => `b${i}: *a\n`).join('')}`;
    assert.equal(errorOf(yaml), '/etc/k0s/k0s.yaml: not valid YAML: Excessive alias count indicates a resource exhaustion attack');
  });

  it('a key by k0s release, with runs of releases from backports (spec.konnectivity.externalAddress)', () => {
    const yaml = 'spec:\n  konnectivity:\n    externalAddress: k.example.org\n';
    const known = ['v1.31.13+k0s.0', 'v1.32.10+k0s.0', 'v1.33.6+k0s.0', 'v1.36.3+k0s.2'];
    for (const v of known) assert.deepEqual(parseK0sConfig(yaml, 'x', { k0sVersion: v }), K0S_DEFAULTS, v);
    for (const v of ['v1.31.12+k0s.0', 'v1.32.1+k0s.0', 'v1.32.9+k0s.0', 'v1.33.1+k0s.0', 'v1.33.5+k0s.0']) {
      const [, minor, patch] = parseK0sRelease(v)!;
      assert.equal(errorOf(yaml, v), `/etc/k0s/k0s.yaml:3:5: unknown field spec.konnectivity.externalAddress: k0s refuses to start with it (k0s 1.${minor}.${patch} does not know it)`);
    }
  });
});

describe('what k0s takes from a k0s.yaml it accepts', () => {
  const none = { memberName: undefined, peerAddress: undefined };
  // [what, k0s.yaml, --single, the result]
  const cases: [string, string, boolean, K0sEtcdConfig][] = [
    ['spec null: the defaults', 'spec: ~\n', false, K0S_DEFAULTS],
    ['spec null under --single: kine', 'spec: ~\n', true, { ...K0S_DEFAULTS, storage: 'kine' }],
    ['no spec under --single: kine', 'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n', true, { ...K0S_DEFAULTS, storage: 'kine' }],
    ['kind and apiVersion empty: k0s checks neither', 'apiVersion: ""\nkind: ""\n', false, K0S_DEFAULTS],
    ['type null: etcd', 'spec:\n  storage:\n    type: ~\n', false, K0S_DEFAULTS],
    ['kine with etcd null', 'spec:\n  storage:\n    type: kine\n    etcd: ~\n', false, { storage: 'kine', ...none }],
    ['kine with an externalCluster: kine', 'spec:\n  storage:\n    type: kine\n    etcd:\n      externalCluster: {endpoints: [https://e:2379]}\n', false, { storage: 'kine', ...none }],
    ['externalCluster null: etcd here', etcdConfig('      externalCluster: ~\n'), false, K0S_DEFAULTS],
    ['rawArgs null: none', etcdConfig('      rawArgs: ~\n'), false, K0S_DEFAULTS],
    ['extraArgs without name: no name, null values taken as ""', etcdConfig('      extraArgs:\n        data-dir: /var/lib/k0s/etcd\n        quota-backend-bytes: ~\n'), false, K0S_DEFAULTS],
    [
      'extraArgs.name null: --name= as for ""',
      etcdConfig('      extraArgs:\n        name: ~\n'),
      false,
      { ...K0S_DEFAULTS, memberName: '', notes: ['spec.storage.etcd.extraArgs.name is empty: k0s passes --name= to etcd (a member with no name) and names the EtcdMember object after the hostname'] },
    ],
    [
      'extraArgs.name of spaces: etcd gets it, no EtcdMember object can be named after it',
      etcdConfig('      extraArgs:\n        name: "  "\n'),
      false,
      {
        ...K0S_DEFAULTS,
        memberName: '  ',
        notes: ['spec.storage.etcd.extraArgs.name is only spaces ("  "): k0s passes it to etcd as the member name but cannot create an EtcdMember object for this controller (spaces are no valid object name; from k0s 1.34.1 it logs "empty hostname is invalid"); set a real name or remove the key'],
      },
    ],
    [
      'peerAddress blank: taken as written',
      etcdConfig('      peerAddress: "  "\n'),
      false,
      {
        ...K0S_DEFAULTS,
        peerAddress: '  ',
        notes: ['spec.storage.etcd.peerAddress is empty: k0s takes it as written and gives etcd the peer URL https://:2380, which etcd refuses ("expected IP in URL for binding"); k0s picks an address only when the key is absent'],
      },
    ],
    // Go's decoder sets the field from every key that matches it case-insensitively, in the JSON's (sorted) order.
    ['three spellings of peerAddress: the last in Go\'s order wins', etcdConfig('      peeraddress: 10.0.0.3\n      peerAddress: 10.0.0.2\n      PeerAddress: 10.0.0.1\n'), false, { ...K0S_DEFAULTS, peerAddress: '10.0.0.3' }],
    [
      'podSecurityPolicy (of old configs): forgiven by strictyaml',
      'spec:\n  podSecurityPolicy:\n    defaultPolicy: 00-k0s-privileged\n',
      false,
      { ...K0S_DEFAULTS, notes: ['spec.podSecurityPolicy is not a field k0s knows, but k0s forgives an unknown podSecurityPolicy (strictyaml)'] },
    ],
    [
      'interval forgiven, and with it every other unknown key',
      'spec:\n  telemetry:\n    interval: 10m\n  zz1: 1\n  zz2: 2\n',
      false,
      { ...K0S_DEFAULTS, notes: ['spec.telemetry.interval is not a field k0s knows, but k0s forgives an unknown interval (strictyaml), and so ignores spec.zz1, spec.zz2 as well'] },
    ],
    ['an images typo: ignored (Images decodes leniently)', 'spec:\n  images:\n    repositry: r.example.org\n', false, { ...K0S_DEFAULTS, notes: ['spec.images.repositry is not a field k0s knows (did you mean repository?): k0s ignores it'] }],
    ['a network typo: ignored, and the peer address is not concerned', 'spec:\n  network:\n    provder: calico\n', false, { ...K0S_DEFAULTS, notes: ['spec.network.provder is not a field k0s knows (did you mean provider?): k0s ignores it'] }],
    [
      "every key of metadata (a Kubernetes ObjectMeta), any key in labels and annotations",
      [
        'metadata:', '  name: k0s', '  generateName: k0s-', '  namespace: kube-system', '  selfLink: /x', '  uid: "1"', '  resourceVersion: "1"',
        '  generation: 1', '  creationTimestamp: null', '  deletionTimestamp: null', '  deletionGracePeriodSeconds: 0',
        '  labels: {anything: x}', '  annotations: {k0s.example.org/anything: y}', '  ownerReferences: []', '  finalizers: []', '  managedFields: []', '',
      ].join('\n'),
      false,
      K0S_DEFAULTS,
    ],
  ];
  for (const [what, yaml, single, want] of cases) it(what, () => assert.deepEqual(parseK0sConfig(yaml, 'x', { single }), want));
});

describe("the value etcd's flag package gives a flag in rawArgs", () => {
  // [rawArgs, --name's value]
  const cases: [readonly string[] | undefined, string | undefined][] = [
    [undefined, undefined],
    [[], undefined],
    [['--name=a'], 'a'],
    [['-name=a'], 'a'],
    [['--name', 'a'], 'a'],
    [['--name', 'a', 'b'], 'a'],
    [['--name=a=b'], 'a=b'],
    [['--name='], ''],
    [['--name=a\nb'], 'a\nb'],
    [['--name=a', '--data-dir', '/var/lib/etcd'], 'a'],
    // A flag without `=` takes the next argument as its value, even one that looks like a flag.
    [['--name', '--name=b'], '--name=b'],
    // etcd would refuse this one ("flag needs an argument"); the member name it would have is empty.
    [['--name'], ''],
    [['--names=a'], undefined],
    [['x-name=a'], undefined],
  ];
  for (const [args, want] of cases) it(`${JSON.stringify(args)}: ${JSON.stringify(want)}`, () => assert.equal(rawArgValue(args, 'name'), want));
});

describe('k0s versions as the exporter reads them', () => {
  // [version, release]
  const cases: [string, K0sRelease | undefined][] = [
    ['v1.31.3+k0s.0', [1, 31, 3, 0]],
    ['1.31.3', [1, 31, 3, 0]],
    ['v1.31.3+k0s', [1, 31, 3, 0]],
    ['v1.36.3+k0s.2', [1, 36, 3, 2]],
    [' v1.36.3+k0s.12\n', [1, 36, 3, 12]],
    ['v10.1.2', [10, 1, 2, 0]],
    ['v1.32.1-rc.0+k0s.0', [1, 32, 1, 0]],
    ['v1.32.1-rc.0', [1, 32, 1, 0]],
    ['v1.31', undefined],
    ['v1.31.3+k0s.0-dirty', undefined],
    ['k0s v1.31.3', undefined],
    ['v1.31.3+k3s1', undefined],
    ['v1.31.3-', undefined],
    ['v1.31.3-rc_1', undefined],
  ];
  for (const [version, want] of cases) it(JSON.stringify(version), () => assert.deepEqual(parseK0sRelease(version), want));
  it('compares releases number by number, the k0s build last', () => {
    assert.equal(atLeast([1, 36, 3, 2], 'v1.36.3+k0s.2'), true);
    assert.equal(atLeast([1, 36, 3, 1], 'v1.36.3+k0s.2'), false);
    assert.equal(atLeast([1, 36, 4, 0], 'v1.36.3+k0s.2'), true);
    assert.equal(atLeast([2, 0, 0, 0], 'v1.36.3+k0s.2'), true);
    assert.equal(atLeast([1, 9, 9, 9], 'v1.36.3+k0s.2'), false);
    assert.equal(atLeast([0, 40, 0, 0], 'v1.36.3+k0s.2'), false);
  });
});

describe('the closest known key to a typo', () => {
  it('within a third of its length (at least 1), the first known key of a tie', () => {
    assert.equal(closest('nam', ['name']), 'name');
    assert.equal(closest('nme', ['name']), 'name');
    assert.equal(closest('nm', ['name']), undefined);
    assert.equal(closest('Storag', ['storage']), 'storage', 'case does not count');
    assert.equal(closest('pord', ['port', 'pod']), 'port');
    assert.equal(closest('pord', ['pod', 'port']), 'pod');
    assert.equal(closest('x', []), undefined);
  });
});

describe("k0s's peer address rule (iface.FirstPublicAddress), on interface lists given as data", () => {
  const v4 = (address: string) => ({ address, family: 'IPv4' });
  const v6 = (address: string) => ({ address, family: 'IPv6' });
  const cases: [string, InterfaceList, string][] = [
    ['takes the first non-loopback IPv4 address', { lo: [v4('127.0.0.1'), v6('::1')], eth0: [v6('fe80::1'), v4('10.0.0.1'), v4('10.0.0.100')], eth1: [v4('192.168.1.1')] }, '10.0.0.1'],
    [
      'skips vxlan.calico, kube-bridge, dummyvip0, veth* and cali*',
      {
        lo: [v4('127.0.0.1')],
        'vxlan.calico': [v4('10.244.0.1')],
        'kube-bridge': [v4('10.244.0.2')],
        dummyvip0: [v4('10.0.0.250')],
        veth1234: [v4('10.244.0.3')],
        cali5678: [v4('10.244.0.4')],
        ens3: [v4('10.0.0.2')],
      },
      '10.0.0.2',
    ],
    ['prefers an IPv4 address anywhere to an earlier IPv6 one', { eth0: [v6('fd00::1')], eth1: [v4('10.0.0.3')] }, '10.0.0.3'],
    ['takes else the first IPv6 address, link-local included', { lo: [v4('127.0.0.1'), v6('::1')], eth0: [v6('fe80::2'), v6('fd00::2')] }, 'fe80::2'],
    ['falls back to 127.0.0.1', { lo: [v4('127.0.0.1'), v6('::1')], cali0: [v4('10.244.0.9')] }, '127.0.0.1'],
    ['falls back to 127.0.0.1 with no interface at all', {}, '127.0.0.1'],
    ['skips every 127/8 address as loopback', { lo: [v4('127.0.1.1')], eth0: [v4('10.0.0.4')] }, '10.0.0.4'],
    ['reads numeric families (Node 18.0-18.3)', { eth0: [{ address: 'fd00::5', family: 6 }, { address: '10.0.0.5', family: 4 }] }, '10.0.0.5'],
    ['counts an IPv4-mapped address as IPv4, as Go does', { eth0: [v6('fd00::6'), v6('::ffff:10.0.0.6')] }, '10.0.0.6'],
  ];
  for (const [what, interfaces, want] of cases) {
    it(what, () => assert.equal(firstPublicAddress(interfaces), want));
  }
});

describe('the next k0s start, predicted', () => {
  const host: HostState = { hostname: 'ip-10-0-0-1', interfaces: { eth0: [{ address: '10.0.0.1', family: 'IPv4' }] } };
  const pinned = parseK0sConfig(fixture('k0s.yaml'), 'k0s.yaml');
  it('uses extraArgs.name, lowercased and trimmed, then the hostname; --node.member-name wins', () => {
    assert.equal(predictHostFacts({ ...pinned, memberName: ' C1.Example.org ' }, host).registrationName, 'c1.example.org');
    assert.equal(predictHostFacts(K0S_DEFAULTS, host).registrationName, 'ip-10-0-0-1');
    assert.equal(predictHostFacts(pinned, host, 'other').registrationName, 'other');
  });
  it("uses the file's peerAddress, else the interface rule", () => {
    assert.equal(predictHostFacts(pinned, { ...host, interfaces: {} }).predictedPeerAddress, '10.0.0.1');
    assert.equal(predictHostFacts(K0S_DEFAULTS, host).predictedPeerAddress, '10.0.0.1');
  });
  it('predicts nothing it cannot know: an unreadable config or a host without etcd', () => {
    assert.deepEqual(predictHostFacts(undefined, host), { registrationName: 'ip-10-0-0-1', registrationNameKnown: false });
    assert.deepEqual(predictHostFacts(undefined, host, 'c1').registrationNameKnown, true, '--node.member-name makes the name known');
    assert.deepEqual(predictHostFacts({ ...K0S_DEFAULTS, storage: 'kine' }, host), { registrationName: 'ip-10-0-0-1', registrationNameKnown: false });
  });
});

describe('local drift from the host config (default flags: no --node.member-name)', () => {
  const etcd: EtcdSnapshot = {
    members: [
      { id: 'a1', name: 'c1.example.org', peerURLs: ['https://10.0.0.1:2380'], clientURLs: [], isLearner: false },
      { id: 'b2', name: 'c2.example.org', peerURLs: ['https://10.0.0.2:2380'], clientURLs: [], isLearner: false },
    ],
    localMemberId: 'a1',
  };
  const host: HostState = { hostname: 'ip-10-0-0-1', interfaces: { eth0: [{ address: '10.0.0.1', family: 'IPv4' }] } };
  const local = (k0sYaml: string | undefined) =>
    analyse(etcd, undefined, predictHostFacts(k0sYaml === undefined ? undefined : parseK0sConfig(k0sYaml, 'k0s.yaml'), host)).local;

  it('extraArgs.name set and matching etcd: no drift although the hostname differs', () => {
    assert.deepEqual(local(fixture('k0s.yaml')), {
      memberName: 'c1.example.org', memberId: 'a1', registrationName: 'c1.example.org', nameDrift: false,
      predictedPeerAddress: '10.0.0.1', peerAddressDrift: false,
    });
  });
  it('extraArgs.name changed: name drift', () => {
    const l = local(fixture('k0s.yaml').replace('name: c1.example.org', 'name: c1-renamed'));
    assert.equal(l?.registrationName, 'c1-renamed');
    assert.equal(l?.nameDrift, true);
  });
  it('peerAddress set and different from etcd: peer address drift', () => {
    const l = local(fixture('k0s.yaml').replace('peerAddress: 10.0.0.1', 'peerAddress: 10.0.9.9'));
    assert.equal(l?.predictedPeerAddress, '10.0.9.9');
    assert.equal(l?.peerAddressDrift, true);
    assert.equal(l?.nameDrift, false);
  });
  it('peerAddress unset: the interface rule decides, and IPv6 forms compare canonically', () => {
    assert.equal(local(fixture('k0s-defaults.yaml'))?.peerAddressDrift, false);
    const v6 = { ...etcd, members: [{ ...etcd.members[0]!, peerURLs: ['https://[fd00::1]:2380'] }] };
    const facts = predictHostFacts(K0S_DEFAULTS, { ...host, interfaces: { eth0: [{ address: 'FD00:0::1', family: 'IPv6' }] } });
    assert.equal(analyse(v6, undefined, facts).local?.peerAddressDrift, false);
  });
  it('without the k0s config (hostname only): no name drift claimed and no peer drift claimed', () => {
    const l = local(undefined);
    assert.equal(l?.registrationName, 'ip-10-0-0-1');
    assert.equal(l?.nameDrift, undefined);
    assert.equal(l?.peerAddressDrift, undefined);
  });
});

describe('reading the file', () => {
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  it('reads a file, and a missing default path means the defaults', () => {
    assert.deepEqual(readK0sConfigFile(write('ok.yaml', fixture('k0s.yaml')), false).config.memberName, 'c1.example.org');
    assert.deepEqual(readK0sConfigFile(join(dir, 'absent.yaml'), true), { file: undefined, config: K0S_DEFAULTS });
    assert.throws(() => readK0sConfigFile(join(dir, 'absent.yaml'), false), { message: `${join(dir, 'absent.yaml')}: does not exist` });
  });
  it('a directory', () => {
    mkdirSync(join(dir, 'k0s.d'));
    assert.throws(() => readK0sConfigFile(join(dir, 'k0s.d'), true), { message: `${join(dir, 'k0s.d')}: is a directory; want the k0s config file (k0s.yaml)` });
  });
  it('malformed YAML', () => {
    const p = write('bad.yaml', 'spec:\n  storage:\n    etcd: {peerAddress: 10.0.0.1\n');
    assert.throws(() => readK0sConfigFile(p, true), (err: Error) => /^:[34]:\d+: not valid YAML/.test(err.message.slice(p.length)));
  });
  it('an unreadable file (mode 0600, owned by another user)', (t) => {
    const p = write('secret.yaml', fixture('k0s.yaml'));
    chmodSync(p, 0o600);
    if (process.getuid?.() !== 0) {
      chmodSync(p, 0o000);
      assert.throws(() => readK0sConfigFile(p, true), { message: `${p}: cannot be read (EACCES): give the exporter read access` });
      return;
    }
    // As root every file is readable: read it as nobody instead, as the exporter would run.
    chownSync(p, 0, 0);
    chmodSync(dir, 0o755);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { readK0sConfigFile } = await import(${JSON.stringify(new URL('../src/sources/k0s-config.js', import.meta.url).href)});
      try { readK0sConfigFile(${JSON.stringify(p)}, true); console.log('read'); } catch (err) { console.log(err.message); }
    `], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
    if (r.error || /EACCES.*k0s-config\.js|Cannot find module/.test(r.stderr)) return t.skip(`cannot run node as nobody here: ${r.error?.message ?? r.stderr}`);
    assert.equal(r.stdout.trim(), `${p}: cannot be read (EACCES): give the exporter read access`, r.stderr);
  });
});

describe('the k0s_config source', () => {
  it('re-reads at every refresh, goes down with one warning on a bad file, and up again', async () => {
    const p = join(dir, 'live.yaml');
    writeFileSync(p, fixture('k0s.yaml'));
    const logs: string[] = [];
    const source = new K0sConfigSource({ path: p, optional: true, intervalMs: 10, logger: createLogger('info', 'json', (l) => logs.push(l)) });
    let changes = 0;
    source.start(() => changes++);
    try {
      assert.equal(source.snapshot()?.config.memberName, 'c1.example.org', 'read at start, before any timer');
      assert.equal(source.health().up, true);
      writeFileSync(p, fixture('k0s.yaml').replace('name: c1.example.org', 'name: c1-renamed'));
      await until(() => source.snapshot()?.config.memberName === 'c1-renamed');
      assert.ok(changes >= 1, 'onChange called');
      writeFileSync(p, 'spec: [\n');
      await until(() => !source.health().up);
      assert.equal(source.snapshot(), undefined, 'no stale config while down');
      await new Promise((r) => setTimeout(r, 50));
      const warnings = logs.filter((l) => l.includes('"level":"warn"'));
      assert.equal(warnings.length, 1, `one warning per distinct failure, not per read:\n${warnings.join('\n')}`);
      assert.match(warnings[0]!, new RegExp(`${p}:\\d+:\\d+: not valid YAML`));
      assert.ok((source.errorCounts().get('invalid_response') ?? 0) >= 2, 'every failed read counted');
      assert.equal(source.health().lastError?.reason, 'invalid_response');
      writeFileSync(p, fixture('k0s-kine.yaml'));
      await until(() => source.health().up);
      assert.equal(logs.filter((l) => l.includes('spec.storage.type is kine')).length, 1, 'kine says so in one log line');
    } finally {
      await source.stop();
    }
  });
});

async function until(pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!pred()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
