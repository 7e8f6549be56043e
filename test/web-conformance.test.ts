// Conformance with exporter-toolkit's own web tests (web/tls_config_test.go: TestYAMLFiles, TestServerBehaviour,
// TestConfigReloading, as of commit 19a7c2d): each of its cases, its config written out here (certificates made
// with openssl, the toolkit's RSA server certificate and self-signed client certificate alike), its client, and the
// toolkit's outcome. A case either agrees, or is one of the refusals docs/web-config.md lists with its reason (the
// test reads the list there), or is the one listed difference (HTTP/2's cipher rule, for a server that speaks
// HTTP/1.1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { WebConfigError } from '../src/web/config.js';
import { LiveWebConfig, loadWebConfig } from '../src/web/live.js';
import { serve } from '../src/web/serve.js';
import { makeWebPki, type WebPki } from '../testbed/web-pki.js';

const WEB_CONFIG_DOC = readFileSync(fileURLToPath(new URL('../../docs/web-config.md', import.meta.url)), 'utf8');
/** The doc's "Refused at start, by key" item, up to the next item: where a refusal must be named. */
const REFUSALS = /^- \*\*Refused at start, by key:\*\*[\s\S]*?(?=^- \*\*)/m.exec(WEB_CONFIG_DOC)?.[0] ?? '';
const SERVER = `tls_server_config:\n  cert_file: "rsa.crt"\n  key_file: "rsa.key"\n`;
const VERIFY_IF_GIVEN = `${SERVER}  client_auth_type: "VerifyClientCertIfGiven"\n`;

/** The client of a case, as the toolkit's test builds it (getTLSClient, or http.DefaultClient). */
interface Client {
  tls?: boolean;
  maxVersion?: 'TLSv1.1';
  ciphers?: string;
  ecdhCurve?: string;
  clientCert?: boolean;
}

type Outcome =
  | { kind: 'served'; cipher?: string; headers?: Record<string, string> }
  | { kind: 'start-error'; match: RegExp }
  | { kind: 'connection-fails' }
  | { kind: 'plain-http-400' }
  /** A key this exporter refuses at start, listed in docs/web-config.md with its reason. */
  | { kind: 'refused-key'; key: string };

interface Case {
  name: string;
  yaml: string | undefined;
  client?: Client;
  toolkit: Outcome;
  ours?: Outcome;
}

const ALL_CIPHERS = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
];
const SOME_CIPHERS = `${VERIFY_IF_GIVEN}  cipher_suites:\n  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  min_version: TLS12\n  max_version: TLS12\n`;
const SOME_CURVES = `${VERIFY_IF_GIVEN}  min_version: TLS13\n  curve_preferences:\n  - CurveP521\n`;
const ONLY_256 = `${VERIFY_IF_GIVEN}  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  max_version: TLS12\n`;
const USERS = 'basic_auth_users:\n  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n';
const served: Outcome = { kind: 'served' };
const startError = (match: RegExp): Outcome => ({ kind: 'start-error', match });

const YAML_FILES: Case[] = [
  { name: 'path to config yml invalid', yaml: undefined, toolkit: startError(/cannot read .*ENOENT/) },
  { name: 'empty config yml', yaml: '', toolkit: served },
  { name: 'invalid config yml (invalid structure)', yaml: 'hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n', toolkit: startError(/want a mapping/) },
  { name: 'invalid config yml (invalid key)', yaml: 'tls_server_config:\n  cert_filse: "server.crt"\n', toolkit: startError(/cert_filse: unknown key/) },
  { name: 'invalid config yml (cert path empty)', yaml: 'tls_server_config:\n  cert_file: ""\n  key_file: "rsa.key"\n', toolkit: startError(/cert_file/) },
  { name: 'invalid config yml (cert empty)', yaml: 'tls_server_config:\n  cert: ""\n  key_file: "rsa.key"\n', toolkit: startError(/cert/) },
  { name: 'invalid config yml (key path empty)', yaml: 'tls_server_config:\n  cert_file: "rsa.crt"\n  key_file: ""\n', toolkit: startError(/key_file/) },
  { name: 'invalid config yml (key empty)', yaml: 'tls_server_config:\n  cert_file: "rsa.crt"\n  key: ""\n', toolkit: startError(/key/) },
  { name: 'invalid config yml (cert path and key path empty)', yaml: 'tls_server_config:\n  cert_file: ""\n  key_file: ""\n  client_auth_type: "x"\n', toolkit: startError(/cert_file/) },
  { name: 'invalid config yml (cert path invalid)', yaml: 'tls_server_config:\n  cert_file: "somefile"\n  key_file: "rsa.key"\n', toolkit: startError(/cert_file: cannot read .*ENOENT/) },
  { name: 'invalid config yml (key path invalid)', yaml: 'tls_server_config:\n  cert_file: "rsa.crt"\n  key_file: "somefile"\n', toolkit: startError(/key_file: cannot read .*ENOENT/) },
  { name: 'invalid config yml (cert path and key path invalid)', yaml: 'tls_server_config:\n  cert_file: "somefile"\n  key_file: "somefile"\n', toolkit: startError(/cannot read .*ENOENT/) },
  { name: 'invalid config yml (invalid ClientAuth)', yaml: `${SERVER}  client_ca_file: "/dev/null"\n`, toolkit: startError(/client_ca_file: is set but client_auth_type is NoClientCert/) },
  { name: 'invalid config yml (invalid ClientCAs filepath)', yaml: `${SERVER}  client_ca_file: "somefile"\n`, toolkit: startError(/client_ca_file/) },
  { name: 'invalid config yml (invalid user list)', yaml: `${SERVER}basic_auth_users:\n  john: doe\n`, toolkit: startError(/basic_auth_users.john: is not a bcrypt hash/) },
  { name: 'invalid config yml (bad cipher)', yaml: `${VERIFY_IF_GIVEN}  cipher_suites:\n  - TLS_RSA_WITH_NULL_SHA256\n`, toolkit: startError(/unknown cipher/) },
  { name: 'invalid config yml (bad curves)', yaml: `${VERIFY_IF_GIVEN}  curve_preferences:\n    - CurveP257\n`, toolkit: startError(/unknown curve/) },
  { name: 'invalid config yml (bad TLS version)', yaml: `${VERIFY_IF_GIVEN}  min_version: TLS111\n`, toolkit: startError(/unknown TLS version/) },
];

const SERVER_BEHAVIOUR: Case[] = [
  { name: 'empty string YAMLConfigPath and default client', yaml: undefined, client: {}, toolkit: served },
  { name: 'empty string YAMLConfigPath and TLS client', yaml: undefined, client: { tls: true }, toolkit: { kind: 'connection-fails' } },
  { name: 'valid tls config yml and default client', yaml: VERIFY_IF_GIVEN, client: {}, toolkit: { kind: 'plain-http-400' } },
  { name: 'valid tls config yml and tls client', yaml: VERIFY_IF_GIVEN, client: { tls: true }, toolkit: served },
  {
    name: 'valid tls config yml (cert and key inline) and tls client',
    yaml: 'tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n  key: |\n    -----BEGIN PRIVATE KEY-----\n',
    client: { tls: true },
    toolkit: served,
    ours: { kind: 'refused-key', key: 'tls_server_config.cert' },
  },
  { name: 'valid tls config yml with TLS 1.1 client', yaml: VERIFY_IF_GIVEN, client: { tls: true, maxVersion: 'TLSv1.1' }, toolkit: { kind: 'connection-fails' } },
  { name: 'valid tls config yml with all ciphers', yaml: `${VERIFY_IF_GIVEN}  cipher_suites:\n${ALL_CIPHERS.map((c) => `  - ${c}\n`).join('')}`, client: { tls: true }, toolkit: served },
  { name: 'valid tls config yml with some ciphers', yaml: SOME_CIPHERS, client: { tls: true, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, toolkit: served },
  { name: 'valid tls config yml with no common cipher', yaml: SOME_CIPHERS, client: { tls: true, ciphers: 'ECDHE-RSA-AES256-SHA' }, toolkit: { kind: 'connection-fails' } },
  {
    name: 'valid tls config yml with multiple client ciphers',
    yaml: SOME_CIPHERS,
    client: { tls: true, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' },
    toolkit: { kind: 'served', cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' },
  },
  {
    name: 'valid tls config yml with multiple client ciphers, client chooses cipher',
    yaml: SOME_CIPHERS.replace('  min_version', '  prefer_server_cipher_suites: false\n  min_version'),
    client: { tls: true, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' },
    toolkit: { kind: 'served', cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' },
  },
  { name: 'valid tls config yml with all curves', yaml: `${VERIFY_IF_GIVEN}  curve_preferences:\n    - CurveP256\n    - CurveP384\n    - CurveP521\n    - X25519\n`, client: { tls: true }, toolkit: served },
  { name: 'valid tls config yml with some curves', yaml: SOME_CURVES, client: { tls: true, ecdhCurve: 'P-521' }, toolkit: served },
  { name: 'valid tls config yml with no common curves', yaml: SOME_CURVES, client: { tls: true, ecdhCurve: 'P-384' }, toolkit: { kind: 'connection-fails' } },
  { name: 'valid tls config yml with non-http2 ciphers', yaml: `${ONLY_256}http_server_config:\n  http2: false\n`, client: { tls: true }, toolkit: served },
  {
    name: 'valid tls config yml with non-http2 ciphers but http2 enabled',
    yaml: ONLY_256,
    client: { tls: true },
    toolkit: startError(/HTTP\/2-required/),
    // Go refuses a cipher list without HTTP/2's required suite while http2 is on; this server speaks HTTP/1.1
    // only, so the rule protects nothing here: served, and docs/web-config.md says so.
    ours: served,
  },
  {
    name: 'valid headers config',
    yaml: 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000; includeSubDomains\n    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n    Content-Security-Policy: "default-src \'self\' *.test.example.net"\n',
    client: {},
    toolkit: { kind: 'served', headers: { 'x-xss-protection': '1', 'x-frame-options': 'deny', 'content-security-policy': "default-src 'self' *.test.example.net" } },
  },
  { name: 'invalid X-Content-Type-Options headers config', yaml: 'http_server_config:\n  headers:\n    X-Content-Type-Options: foo\n', toolkit: startError(/invalid value/) },
  { name: 'invalid X-Frame-Options headers config', yaml: 'http_server_config:\n  headers:\n    X-Frame-Options: foo\n', toolkit: startError(/invalid value/) },
  { name: 'HTTP header that can not be overridden', yaml: 'http_server_config:\n  headers:\n    Content-Type: foo\n', toolkit: startError(/HTTP header "Content-Type" can not be configured/) },
  {
    name: 'valid tls config yml and tls client with RequireAnyClientCert (present certificate)',
    yaml: `${SERVER}  client_auth_type: "RequireAnyClientCert"\n`,
    client: { tls: true, clientCert: true },
    toolkit: served,
  },
  {
    // The toolkit's case runs the same file as the one before (its key-inline file is not the one it loads).
    name: 'valid tls config yml (cert from file, key inline) and tls client with RequireAnyClientCert (present certificate)',
    yaml: `${SERVER}  client_auth_type: "RequireAnyClientCert"\n`,
    client: { tls: true, clientCert: true },
    toolkit: served,
  },
  {
    name: 'valid tls config yml and tls client with RequireAndVerifyClientCert (present certificate)',
    yaml: `${SERVER}  client_auth_type: "RequireAndVerifyClientCert"\n  client_ca_file: "self.crt"\n`,
    client: { tls: true, clientCert: true },
    toolkit: served,
  },
  ...['good', 'bad'].map(
    (v): Case => ({
      name: `valid tls config yml and tls client with VerifyPeerCertificate (present ${v === 'good' ? 'good' : 'invalid'} SAN DNS entr${v === 'good' ? 'y' : 'ies'})`,
      yaml: `${SERVER}  client_auth_type: "RequireAndVerifyClientCert"\n  client_ca_file: "self.crt"\n  client_allowed_sans:\n    - "${v === 'good' ? 'test3' : 'one'}"\n`,
      client: { tls: true, clientCert: true },
      toolkit: v === 'good' ? served : { kind: 'connection-fails' },
      ours: { kind: 'refused-key', key: 'tls_server_config.client_allowed_sans' },
    }),
  ),
  ...[
    ["valid rate limiter (no rate limiter set up) that doesn't block", 'rate_limit:\n  interval: 0s\n  burst: 0\n', served],
    ['valid rate limiter with an interval of one second', 'rate_limit:\n  interval: "1s"\n  burst: 0\n', { kind: 'connection-fails' }],
  ].map(([name, yaml, toolkit]): Case => ({ name: name as string, yaml: yaml as string, client: {}, toolkit: toolkit as Outcome, ours: { kind: 'refused-key', key: 'rate_limit' } })),
  // TestYAMLFiles' and TestServerBehaviour's cases with users: the toolkit's users.good files load.
  { name: 'users with TLS (web_config_users.good.yml loads)', yaml: `${SERVER}${USERS}`, toolkit: served },
  { name: 'users without TLS (web_config_users_noTLS.good.yml loads)', yaml: USERS, toolkit: served },
];

describe("exporter-toolkit's web test cases, run against this exporter", () => {
  let dir: string;
  let pki: WebPki;
  const servers: Server[] = [];
  const logger = createLogger('error', 'json', () => {});

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'web-conformance-'));
    pki = makeWebPki(dir);
    // The toolkit's server certificate is RSA (its cipher cases name TLS_ECDHE_RSA suites).
    const openssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rsa.key', '-out', 'rsa.csr', '-subj', '/CN=localhost']);
    writeFileSync(join(dir, 'rsa.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl(['x509', '-req', '-in', 'rsa.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'rsa.crt', '-extfile', 'rsa.ext']);
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  function file(yaml: string | undefined): string {
    const path = join(dir, `case-${n++}.yml`);
    if (yaml !== undefined) writeFileSync(path, yaml);
    return path;
  }

  /** What the case's client sees from a server started on `web` (undefined: no web config). */
  async function visit(web: LiveWebConfig | undefined, client: Client): Promise<Outcome> {
    const server = await serve((_req, res) => res.end('Hello World!'), { host: '127.0.0.1', port: 0, web, logger });
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    return new Promise((resolve) => {
      const options = {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        agent: false as const,
        timeout: 5000,
        ...(client.tls
          ? {
              ca: readFileSync(pki.caFile),
              ...(client.maxVersion ? { maxVersion: client.maxVersion, minVersion: 'TLSv1' as const } : {}),
              ...(client.ciphers ? { ciphers: client.ciphers, maxVersion: 'TLSv1.2' as const } : {}),
              ...(client.ecdhCurve ? { ecdhCurve: client.ecdhCurve } : {}),
              ...(client.clientCert ? { cert: readFileSync(pki.selfCert), key: readFileSync(pki.selfKey) } : {}),
            }
          : {}),
      };
      const req = (client.tls ? httpsRequest : httpRequest)(options, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          if (res.statusCode === 400 && body === 'Client sent an HTTP request to an HTTPS server.\n') return resolve({ kind: 'plain-http-400' });
          if (res.statusCode !== 200 || body !== 'Hello World!') return resolve({ kind: 'start-error', match: new RegExp(`status ${res.statusCode}`) });
          const cipher = client.tls ? (res.socket as TLSSocket).getCipher().standardName : undefined;
          const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
          resolve({ kind: 'served', ...(cipher ? { cipher } : {}), headers });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ kind: 'connection-fails' }));
      req.end();
    });
  }

  async function run(c: Case, viaCli: boolean): Promise<void> {
    const want = c.ours ?? c.toolkit;
    if (c.ours !== undefined && c.ours.kind === 'refused-key') {
      const key = c.ours.key;
      assert.match(REFUSALS, new RegExp(`\`${key.split('.').pop()!}\``), `docs/web-config.md lists the refusal of ${key} under "Refused at start, by key"`);
    }
    if (c.ours !== undefined && c.ours.kind === 'served' && c.toolkit.kind === 'start-error') {
      assert.match(REFUSALS, /HTTP\/2's cipher rule/, 'docs/web-config.md lists the difference');
    }
    let web: LiveWebConfig | undefined;
    if (viaCli) {
      // The toolkit's empty YAMLConfigPath: the flag given empty means no web config.
      assert.equal(parseConfig(['--etcd.endpoints=http://127.0.0.1:2379', '--web.config.file='], 'test').webConfigFile, undefined);
    } else {
      const path = file(c.yaml);
      try {
        loadWebConfig(path);
        web = LiveWebConfig.start(path, logger);
      } catch (err) {
        assert.ok(err instanceof WebConfigError, String(err));
        if (want.kind === 'refused-key') {
          assert.equal(err.key, want.key, err.message);
          return;
        }
        assert.equal(want.kind, 'start-error', `refused at start: ${err.message}`);
        assert.match(err.message, (want as { match: RegExp }).match);
        return;
      }
      assert.notEqual(want.kind, 'start-error', 'loads, but the toolkit refuses it');
      assert.notEqual(want.kind, 'refused-key', 'loads, but this exporter means to refuse it');
    }
    if (c.client === undefined) return;
    const seen = await visit(web, c.client);
    assert.equal(seen.kind, want.kind, JSON.stringify(seen));
    if (want.kind === 'served' && seen.kind === 'served') {
      if (want.cipher) assert.equal(seen.cipher, want.cipher);
      for (const [k, v] of Object.entries(want.headers ?? {})) assert.equal(seen.headers?.[k], v, k);
    }
  }

  describe('TestYAMLFiles', () => {
    for (const c of YAML_FILES) it(c.name, () => run(c, false));
  });
  describe('TestServerBehaviour', () => {
    for (const c of SERVER_BEHAVIOUR) it(c.name, () => run(c, c.yaml === undefined));
  });
  it('TestConfigReloading: a client without a certificate, refused, is served at the next connection after the file stops requiring one', async () => {
    const path = file(`${SERVER}  client_auth_type: "RequireAnyClientCert"\n`);
    const web = LiveWebConfig.start(path, logger);
    const server = await serve((_req, res) => res.end('Hello World!'), { host: '127.0.0.1', port: 0, web, logger });
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    const get = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/', ca: readFileSync(pki.caFile), agent: false, timeout: 5000 }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    await assert.rejects(get());
    writeFileSync(`${path}.new`, VERIFY_IF_GIVEN);
    renameSync(`${path}.new`, path);
    assert.equal(await get(), 200);
  });
});
