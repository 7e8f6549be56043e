// The exporter-toolkit web config format: what is accepted, what is refused and how the refusal reads.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebConfigError, parseWebConfig } from '../src/web/config.js';
import { loadWebConfig } from '../src/web/live.js';
import { makeWebPki, type WebPki } from '../testbed/web-pki.js';

function refusal(yaml: string): string {
  try {
    parseWebConfig(yaml, '/etc/exporter/web.yml');
  } catch (err) {
    assert.ok(err instanceof WebConfigError, String(err));
    return err.message;
  }
  assert.fail(`accepted:\n${yaml}`);
}

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

describe('parseWebConfig', () => {
  it('reads the toolkit keys with the toolkit defaults, paths relative to the file', () => {
    const c = parseWebConfig(
      `tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n` +
        `  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n` +
        `basic_auth_users:\n  prometheus: '${HASH}'\nhttp_server_config:\n  http2: false\n  headers:\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n`,
      '/etc/exporter/web.yml',
    );
    assert.deepEqual(c.tls, {
      certFile: '/etc/exporter/tls/server.crt',
      keyFile: '/abs/server.key',
      clientCaFile: '/etc/exporter/ca.crt',
      clientAuthType: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
      honorCipherOrder: true,
      ecdhCurve: 'X25519:P-256',
    });
    assert.deepEqual([...c.users], [['prometheus', HASH]]);
    assert.deepEqual([...c.headers], [['X-Content-Type-Options', 'nosniff'], ['Strict-Transport-Security', 'max-age=31536000']]);
  });

  it('an empty file and an auth-only file mean plain HTTP', () => {
    assert.equal(parseWebConfig('', '/w.yml').tls, undefined);
    assert.equal(parseWebConfig(`basic_auth_users:\n  a: '${HASH}'\n`, '/w.yml').tls, undefined);
    assert.equal(parseWebConfig('tls_server_config: {}\n', '/w.yml').tls, undefined);
  });

  it('accepts the hash forms htpasswd, Go and others write', () => {
    for (const prefix of ['$2y$', '$2a$', '$2b$']) {
      assert.equal(parseWebConfig(`basic_auth_users:\n  a: '${prefix}${HASH.slice(4)}'\n`, '/w.yml').users.get('a'), prefix + HASH.slice(4));
    }
  });

  const refused: [string, string, RegExp][] = [
    ['an unknown key (strict, as UnmarshalStrict)', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n', /^tls_server_config\.certfile: unknown key/],
    ['a top-level typo', 'basic_auth_user:\n  a: b\n', /^basic_auth_user: unknown key/],
    ['cert without key', 'tls_server_config:\n  cert_file: a\n', /^tls_server_config\.key_file: missing/],
    ['client CA without a client auth type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n', /^tls_server_config\.client_ca_file: is set but client_auth_type is NoClientCert/],
    ['an unknown client auth type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Always\n', /^tls_server_config\.client_auth_type: unknown value "Always"; want one of NoClientCert, .*RequireAndVerifyClientCert/],
    ['TLS 1.0, which Node cannot serve', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n', /^tls_server_config\.min_version: TLS10 is not supported/],
    ['an unknown TLS version', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS14\n', /^tls_server_config\.max_version: unknown TLS version "TLS14"/],
    ['max below min', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n', /^tls_server_config\.max_version: is below min_version/],
    ['an insecure cipher the toolkit does not know', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n', /^tls_server_config\.cipher_suites: unknown cipher "TLS_RSA_WITH_RC4_128_SHA"/],
    ['inline certificates', 'tls_server_config:\n  cert: "-----BEGIN"\n  key_file: b\n', /^tls_server_config\.cert: inline certificates are not supported here; .*cert_file/],
    ['client_allowed_sans', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n', /^tls_server_config\.client_allowed_sans: is not supported/],
    ['rate_limit', 'rate_limit:\n  burst: 1\n', /^rate_limit: is not supported/],
    ['a header the toolkit keeps private', 'http_server_config:\n  headers:\n    Content-Type: text/html\n', /^http_server_config\.headers\.Content-Type: HTTP header "Content-Type" can not be configured/],
    ['a header value outside its enumeration', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /^http_server_config\.headers\.X-Frame-Options: invalid value "allow"; want one of deny, sameorigin/],
    ['a plain-text password', 'basic_auth_users:\n  alice: hunter2\n', /^basic_auth_users\.alice: is not a bcrypt hash; make one with: htpasswd -nBC 10/],
    ['a user name with a colon', `basic_auth_users:\n  "a:b": '${HASH}'\n`, /^basic_auth_users\.a:b: a user name must be non-empty and contain no ":"/],
    ['a duplicate key', `basic_auth_users:\n  a: '${HASH}'\n  a: '${HASH}'\n`, /^not valid YAML/],
    ['a list at the top', '- a\n', /^want a mapping, got a list/],
  ];
  for (const [what, yaml, want] of refused) {
    it(`refuses ${what}, naming the key`, () => assert.match(refusal(yaml), want));
  }

  it('never quotes a password field in its refusal', () => {
    assert.doesNotMatch(refusal('basic_auth_users:\n  alice: hunter2\n'), /hunter2/);
  });
});

describe('loadWebConfig: certificate and key files', () => {
  let dir: string;
  let pki: WebPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'web-config-'));
    pki = makeWebPki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function load(tls: string): string {
    const file = join(dir, 'web.yml');
    writeFileSync(file, `tls_server_config:\n${tls}`);
    try {
      loadWebConfig(file);
      return 'loaded';
    } catch (err) {
      assert.ok(err instanceof WebConfigError, String(err));
      return err.message;
    }
  }

  it('loads a matching pair', () => assert.equal(load(`  cert_file: server.crt\n  key_file: server.key\n`), 'loaded'));
  it('names a missing file', () =>
    assert.equal(load(`  cert_file: nope.crt\n  key_file: server.key\n`), `tls_server_config.cert_file: cannot read ${join(dir, 'nope.crt')}: ENOENT`));
  it('says a key given as the certificate is a key', () =>
    assert.equal(load(`  cert_file: server.key\n  key_file: server.key\n`), `tls_server_config.cert_file: ${join(dir, 'server.key')} holds no PEM certificate (it holds a private key: are the certificate and key files swapped?)`));
  it('says a certificate given as the key is a certificate', () =>
    assert.match(load(`  cert_file: server.crt\n  key_file: server.crt\n`), /^tls_server_config\.key_file: .*server\.crt holds no PEM private key \(it holds a certificate/));
  it('names both files of a mismatched pair', () =>
    assert.equal(load(`  cert_file: server.crt\n  key_file: other.key\n`), `tls_server_config.key_file: ${join(dir, 'other.key')} does not match the certificate in ${join(dir, 'server.crt')}`));
  it('checks the client CA file', () => {
    copyFileSync(pki.serverKey, join(dir, 'ca-is-a-key.pem'));
    assert.match(load(`  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca-is-a-key.pem\n`), /^tls_server_config\.client_ca_file: .* holds no PEM certificate/);
  });
});
