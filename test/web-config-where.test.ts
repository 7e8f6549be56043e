// Where in the web config file a refusal points (file:line:column), as the exporter's error line gives it, and
// the refusals Stryker found untested in web-config.test.ts. Apart from web-config.test.ts so that Stryker's incremental mode (one file, one test) need not try every
// mutant of src/web/config.ts again for tests added to it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebConfigError, parseWebConfig, webConfigErrorPlace, webConfigErrorWhere } from '../src/web/config.js';

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

describe('web config refusals: where', () => {
  it('says where in the file each refusal is: the key at fault, a missing key at its parent, a YAML error where it is', () => {
    const where = (yaml: string): string => {
      try {
        parseWebConfig(yaml, '/w.yml');
      } catch (err) {
        assert.ok(err instanceof WebConfigError, String(err));
        return webConfigErrorWhere('/w.yml', err);
      }
      assert.fail(`accepted:\n${yaml}`);
    };
    assert.equal(where("basic_auth_users:\n  a: 'x\n"), "/w.yml:3:1: not valid YAML: Missing closing 'quote");
    assert.equal(where('a: 1\na: 2\n'), '/w.yml:2:1: not valid YAML: Map keys must be unique');
    assert.equal(
      where('tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n'),
      '/w.yml:4:3: tls_server_config.certfile: unknown key; want one of cert_file, key_file, client_auth_type, client_ca_file, cipher_suites, curve_preferences, min_version, max_version, prefer_server_cipher_suites',
    );
    // The keys offered are those this exporter takes: not rate_limit, which has its own refusal.
    assert.equal(where('basic_auth_user:\n  a: b\n'), '/w.yml:1:1: basic_auth_user: unknown key; want one of tls_server_config, http_server_config, basic_auth_users');
    assert.equal(where('tls_server_config:\n  cert_file: a\n'), '/w.yml:1:1: tls_server_config.key_file: missing: TLS needs cert_file and key_file');
    // The parent of a missing key, not the start of the file, when they differ.
    assert.equal(
      where('http_server_config:\n  http2: true\ntls_server_config:\n  cert_file: a\n'),
      '/w.yml:3:1: tls_server_config.key_file: missing: TLS needs cert_file and key_file',
    );
    // An empty key is refused where it is written (its name is "", so the message names none).
    assert.equal(where(`basic_auth_users:\n  ok: '${HASH}'\n"": 1\n`), '/w.yml:3:1: unknown key; want one of tls_server_config, http_server_config, basic_auth_users');
    assert.equal(where('- a\n'), '/w.yml:1:1: want a mapping, got a list');
    assert.equal(where('\n\n  5\n'), '/w.yml:3:3: want a mapping, got 5');
    assert.equal(where('http_server_config:\n  headers:\n    X-Frame-Options: allow\n'), '/w.yml:3:5: http_server_config.headers.X-Frame-Options: invalid value "allow"; want one of deny, sameorigin');
    assert.equal(where(`basic_auth_users:\n  ok: '${HASH}'\n  bad: [x]\n`), '/w.yml:3:3: basic_auth_users.bad: want a bcrypt hash string such as htpasswd -nBC 10 prints');
    // A problem with no place in the text (a file that cannot be read) names the file alone.
    assert.equal(webConfigErrorPlace('/w.yml', new WebConfigError('tls_server_config.cert_file', 'cannot read /a: ENOENT')), '/w.yml');
  });
});

describe('web config refusals: each names its key', () => {
  const refusal = (yaml: string): string => {
    try {
      parseWebConfig(yaml, '/w.yml');
    } catch (err) {
      assert.ok(err instanceof WebConfigError, String(err));
      return err.message;
    }
    assert.fail(`accepted:\n${yaml}`);
  };
  it('a value of the wrong type', () => {
    for (const key of ['cert_file', 'key_file', 'client_ca_file', 'client_auth_type']) {
      assert.equal(refusal(`tls_server_config:\n  ${key}: 5\n`), `tls_server_config.${key}: want a string, got 5`);
    }
    assert.equal(refusal('tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: X25519\n'), 'tls_server_config.curve_preferences: want a list of strings');
    assert.equal(refusal('http_server_config:\n  headers: 5\n'), 'http_server_config.headers: want a mapping, got 5');
  });
  it('a header that cannot be configured, and a value X-Content-Type-Options does not allow', () => {
    assert.equal(
      refusal('http_server_config:\n  headers:\n    Content-Type: text/html\n'),
      'http_server_config.headers.Content-Type: HTTP header "Content-Type" can not be configured; want one of Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy',
    );
    assert.equal(refusal('http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n'), 'http_server_config.headers.X-Content-Type-Options: invalid value "sniff"; want one of nosniff');
  });
  it('joins several TLS 1.2 suites as OpenSSL lists them', () => {
    const c = parseWebConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_CBC_SHA]\n', '/w.yml');
    assert.equal(c.tls?.ciphers, 'AES128-SHA:AES256-SHA');
  });
});
