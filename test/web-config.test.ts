// The exporter-toolkit web config format: what is accepted, what is refused and how the refusal reads. (The files
// it names: web-config-files.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSecureContext } from 'node:tls';
import { describe, it } from 'node:test';
import { CIPHER_SUITES, CONFIGURABLE_HEADERS, WebConfigError, parseWebConfig, type TlsServerConfig } from '../src/web/config.js';

function refusal(yaml: string): string {
  try {
    parseWebConfig(yaml, '/etc/exporter/web.yml');
  } catch (err) {
    assert.ok(err instanceof WebConfigError, String(err));
    assert.equal(err.name, 'WebConfigError');
    return err.message;
  }
  assert.fail(`accepted:\n${yaml}`);
}

/** The TLS settings of a file with a certificate and key and the lines given under tls_server_config. */
const tls = (lines: string): TlsServerConfig | undefined => parseWebConfig(`tls_server_config:\n  cert_file: a\n  key_file: b\n${lines}`, '/w.yml').tls;

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

  it('accepts the hash forms htpasswd, Go and others write, at every cost bcrypt has', () => {
    const forms = [...['$2y$', '$2a$', '$2b$', '$2x$'].map((prefix) => prefix + HASH.slice(4)), ...['$2y$04$', '$2y$31$'].map((prefix) => prefix + HASH.slice(7))];
    for (const hash of forms) assert.equal(parseWebConfig(`basic_auth_users:\n  a: '${hash}'\n`, '/w.yml').users.get('a'), hash);
  });

  it('maps every Go cipher suite name to the OpenSSL suite of that IANA name (openssl ciphers -stdname), TLS 1.3 ones to none', () => {
    const r = spawnSync('openssl', ['ciphers', '-stdname', 'ALL'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const openssl = new Map(r.stdout.split('\n').map((l) => l.split(/\s+/)).filter((f) => f[1] === '-').map((f) => [f[0]!, { name: f[2]!, version: f[3]! }]));
    for (const [go, mapped] of Object.entries(CIPHER_SUITES)) {
      const o = openssl.get(go);
      assert.ok(o, `${go} is not a suite OpenSSL knows`);
      assert.equal(mapped, o.version === 'TLSv1.3' ? null : o.name, go);
      // One suite at a time, as parseWebConfig gives it to Node.
      if (mapped !== null) assert.equal(tls(`  cipher_suites: [${go}]\n`)?.ciphers, mapped, go);
    }
  });

  it('maps every curve name of the toolkit to one Node accepts', () => {
    const c = tls('  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n');
    assert.equal(c?.ecdhCurve, 'P-256:P-384:P-521:X25519');
    createSecureContext({ ecdhCurve: c.ecdhCurve });
  });

  it('accepts every configurable header with each value it allows, a number or boolean as written', () => {
    for (const [name, values] of Object.entries(CONFIGURABLE_HEADERS)) {
      for (const value of values.length > 0 ? values : ['anything']) {
        assert.deepEqual([...parseWebConfig(`http_server_config:\n  headers:\n    ${name}: ${value}\n`, '/w.yml').headers], [[name, value]]);
      }
    }
    // Go's YAML fills the header's string from the scalar as written; YAML 1.2 reads these as numbers or booleans.
    for (const written of ['1', '0', '1.0', '0x1', 'true']) {
      assert.deepEqual([...parseWebConfig(`http_server_config:\n  headers:\n    X-XSS-Protection: ${written}\n`, '/w.yml').headers], [['X-XSS-Protection', written]]);
    }
    // An alias stands for its anchor's text, as in Go's YAML.
    assert.deepEqual([...parseWebConfig('http_server_config:\n  headers:\n    Strict-Transport-Security: &one 1.0\n    X-XSS-Protection: *one\n', '/w.yml').headers], [
      ['Strict-Transport-Security', '1.0'],
      ['X-XSS-Protection', '1.0'],
    ]);
  });

  it('takes an empty value of a key as the key left out', () => {
    assert.equal(parseWebConfig('tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n', '/w.yml').tls, undefined);
    assert.deepEqual(parseWebConfig('http_server_config:\n  http2:\n  headers:\n', '/w.yml').headers, new Map());
    assert.deepEqual(parseWebConfig('http_server_config:\n  http2: true\n', '/w.yml').headers, new Map());
    // The keys this exporter refuses are refused only when set.
    assert.equal(parseWebConfig('rate_limit:\n', '/w.yml').tls, undefined);
    assert.equal(tls('  cert:\n  key:\n  client_ca:\n  client_allowed_sans:\n')?.certFile, '/a');
    assert.deepEqual(tls('  client_auth_type: ""\n  cipher_suites:\n  curve_preferences:\n  prefer_server_cipher_suites:\n  min_version:\n  max_version:\n'), {
      certFile: '/a',
      keyFile: '/b',
      clientCaFile: undefined,
      clientAuthType: 'NoClientCert',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: undefined,
      honorCipherOrder: true,
      ecdhCurve: undefined,
    });
  });

  it('reads versions, client auth types and the cipher order as given', () => {
    assert.deepEqual([tls('  min_version: TLS13\n'), tls('  max_version: TLS12\n'), tls('  min_version: TLS12\n  max_version: TLS12\n')].map((c) => [c?.minVersion, c?.maxVersion]), [
      ['TLSv1.3', 'TLSv1.3'],
      ['TLSv1.2', 'TLSv1.2'],
      ['TLSv1.2', 'TLSv1.2'],
    ]);
    for (const type of ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert']) {
      assert.equal(tls(`  client_auth_type: ${type}\n`)?.clientAuthType, type);
    }
    assert.equal(tls('  client_auth_type: RequireClientCert\n')?.clientAuthType, 'RequireAnyClientCert', "the toolkit's old name");
    assert.equal(tls('  prefer_server_cipher_suites: false\n')?.honorCipherOrder, false);
    // Only TLS 1.3 suites: OpenSSL's TLS 1.2 defaults stay, unless TLS 1.2 is all there is.
    assert.equal(tls('  cipher_suites: [TLS_AES_128_GCM_SHA256]\n')?.ciphers, undefined);
    assert.equal(tls('  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  min_version: TLS13\n')?.ciphers, undefined);
    assert.equal(tls('  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n  max_version: TLS12\n')?.ciphers, 'AES128-SHA');
  });

  it('wants TLS when any of its keys is set, and then a certificate and a key', () => {
    for (const only of ['key_file: b', 'client_ca_file: c', 'client_auth_type: RequireAnyClientCert']) {
      assert.match(refusal(`tls_server_config:\n  ${only}\n`), /^tls_server_config\.cert_file: missing: TLS needs cert_file and key_file$/, only);
    }
    assert.equal(refusal('tls_server_config:\n  cert_file: a\n'), 'tls_server_config.key_file: missing: TLS needs cert_file and key_file');
  });

  const refused: [string, string, RegExp][] = [
    ['an unknown key (strict, as UnmarshalStrict)', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n', /^tls_server_config\.certfile: unknown key/],
    ['a top-level typo', 'basic_auth_user:\n  a: b\n', /^basic_auth_user: unknown key/],
    ['cert without key', 'tls_server_config:\n  cert_file: a\n', /^tls_server_config\.key_file: missing/],
    ['client CA without a client auth type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n', /^tls_server_config\.client_ca_file: is set but client_auth_type is NoClientCert/],
    ['an unknown client auth type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Always\n', /^tls_server_config\.client_auth_type: unknown value "Always"; want one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert$/],
    ['TLS 1.0, which Node cannot serve', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n', /^tls_server_config\.min_version: TLS10 is not supported/],
    ['TLS 1.1', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS11\n', /^tls_server_config\.max_version: TLS11 is not supported \(Node's OpenSSL refuses TLS below 1\.2\); want TLS12 or TLS13$/],
    ['an unknown TLS version', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS14\n', /^tls_server_config\.max_version: unknown TLS version "TLS14"; want TLS12 or TLS13$/],
    ['a name every object has as a TLS version', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: toString\n', /^tls_server_config\.min_version: unknown TLS version "toString"/],
    ['a version that is not a string', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: 1.2\n', /^tls_server_config\.min_version: want a string, got 1\.2$/],
    ['only TLS 1.3 suites when TLS 1.2 is the only version', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS12\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n', /^tls_server_config\.cipher_suites: lists no TLS 1\.2 suite but TLS 1\.2 is the only version allowed$/],
    ['a name every object has as a cipher', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [constructor]\n', /^tls_server_config\.cipher_suites: unknown cipher "constructor"; want Go crypto\/tls names/],
    ['cipher suites with a number', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256, 1]\n', /^tls_server_config\.cipher_suites: want a list of strings$/],
    ['cipher suites that are not a list', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: TLS_AES_128_GCM_SHA256\n', /^tls_server_config\.cipher_suites: want a list of strings$/],
    ['an unknown curve', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP224]\n', /^tls_server_config\.curve_preferences: unknown curve "CurveP224"; want one of CurveP256, CurveP384, CurveP521, X25519$/],
    ['a name every object has as a curve', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [toString]\n', /^tls_server_config\.curve_preferences: unknown curve "toString"/],
    ['a cipher order that is not a boolean', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: yes\n', /^tls_server_config\.prefer_server_cipher_suites: want true or false, got "yes"$/],
    ['a TLS section that is not a mapping', 'tls_server_config: 5\n', /^tls_server_config: want a mapping, got 5$/],
    ['max below min', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n', /^tls_server_config\.max_version: is below min_version/],
    ['an insecure cipher the toolkit does not know', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n', /^tls_server_config\.cipher_suites: unknown cipher "TLS_RSA_WITH_RC4_128_SHA"/],
    ['inline certificates', 'tls_server_config:\n  cert: "-----BEGIN"\n  key_file: b\n', /^tls_server_config\.cert: inline certificates are not supported here; put the certificate in a file and use cert_file$/],
    ['inline keys', 'tls_server_config:\n  cert_file: a\n  key: "-----BEGIN"\n', /^tls_server_config\.key: inline keys are not supported here; put the key in a file and use key_file$/],
    ['inline client CAs', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca: "-----BEGIN"\n', /^tls_server_config\.client_ca: inline CAs are not supported here; put the CA in a file and use client_ca_file$/],
    ['client_allowed_sans', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n', /^tls_server_config\.client_allowed_sans: is not supported by this exporter; remove it \(client certificates are verified against client_ca_file only\)$/],
    ['rate_limit', 'rate_limit:\n  burst: 1\n', /^rate_limit: is refused: this exporter does not implement the toolkit's request rate limiter, and accepting a limit that does nothing would be worse; remove it$/],
    ['an unknown key of http_server_config', 'http_server_config:\n  header:\n    X-Frame-Options: deny\n', /^http_server_config\.header: unknown key; want one of headers, http2$/],
    ['http2 that is not a boolean', 'http_server_config:\n  http2: "no"\n', /^http_server_config\.http2: want true or false, got "no"$/],
    ['a name every object has as a header', 'http_server_config:\n  headers:\n    constructor: x\n', /^http_server_config\.headers\.constructor: HTTP header "constructor" can not be configured/],
    ['a header value with a line break', 'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\nb"\n', /^http_server_config\.headers\.Content-Security-Policy: a header value cannot contain line breaks or NUL$/],
    ['a header value with a carriage return', 'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\rb"\n', /cannot contain line breaks or NUL$/],
    ['a header value with a NUL', 'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\0b"\n', /cannot contain line breaks or NUL$/],
    ['a header value that is a list', 'http_server_config:\n  headers:\n    Content-Security-Policy: [a]\n', /^http_server_config\.headers\.Content-Security-Policy: want a string$/],
    ['a header the toolkit keeps private', 'http_server_config:\n  headers:\n    Content-Type: text/html\n', /^http_server_config\.headers\.Content-Type: HTTP header "Content-Type" can not be configured/],
    ['a header value outside its enumeration', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /^http_server_config\.headers\.X-Frame-Options: invalid value "allow"; want one of deny, sameorigin/],
    ['a plain-text password', 'basic_auth_users:\n  alice: hunter2\n', /^basic_auth_users\.alice: is not a bcrypt hash; make one with: htpasswd -nBC 10 "" \| tr -d ':\\n'$/],
    ['a hash one character short', `basic_auth_users:\n  a: '${HASH.slice(0, -1)}'\n`, /^basic_auth_users\.a: is not a bcrypt hash/],
    ['a hash with more after it', `basic_auth_users:\n  a: '${HASH}x'\n`, /^basic_auth_users\.a: is not a bcrypt hash/],
    ['a hash with more before it', `basic_auth_users:\n  a: 'x${HASH}'\n`, /^basic_auth_users\.a: is not a bcrypt hash/],
    ['a hash of another version', `basic_auth_users:\n  a: '$2c$${HASH.slice(4)}'\n`, /^basic_auth_users\.a: is not a bcrypt hash/],
    ['a hash with a character bcrypt does not write', `basic_auth_users:\n  a: '${HASH.slice(0, -1)}+'\n`, /^basic_auth_users\.a: is not a bcrypt hash/],
    ['a hash with a one-digit cost', `basic_auth_users:\n  a: '$2y$9$${HASH.slice(7)}x'\n`, /^basic_auth_users\.a: is not a bcrypt hash/],
    ['a cost below 4', `basic_auth_users:\n  a: '$2y$03$${HASH.slice(7)}'\n`, /^basic_auth_users\.a: bcrypt cost 03 is out of range 4-31$/],
    ['a cost above 31', `basic_auth_users:\n  a: '$2y$32$${HASH.slice(7)}'\n`, /^basic_auth_users\.a: bcrypt cost 32 is out of range 4-31$/],
    ['a hash that is not a string', 'basic_auth_users:\n  a: [x]\n', /^basic_auth_users\.a: want a bcrypt hash string such as htpasswd -nBC 10 prints$/],
    ['an empty user name', `basic_auth_users:\n  "": '${HASH}'\n`, /^basic_auth_users\.: a user name must be non-empty and contain no ":"/],
    ['users that are not a mapping', 'basic_auth_users: [a]\n', /^basic_auth_users: want a mapping, got a list$/],
    ['a user name with a colon', `basic_auth_users:\n  "a:b": '${HASH}'\n`, /^basic_auth_users\.a:b: a user name must be non-empty and contain no ":"/],
    ['a duplicate key', `basic_auth_users:\n  a: '${HASH}'\n  a: '${HASH}'\n`, /^not valid YAML: Map keys must be unique$/],
    ['a list at the top', '- a\n', /^want a mapping, got a list/],
  ];
  for (const [what, yaml, want] of refused) {
    it(`refuses ${what}, naming the key`, () => assert.match(refusal(yaml), want));
  }

  it('never quotes a password field in its refusal', () => {
    assert.doesNotMatch(refusal('basic_auth_users:\n  alice: hunter2\n'), /hunter2/);
  });
});
