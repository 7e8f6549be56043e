// Where in the web config file a refusal points (file:line:column), as the exporter's error line gives it.
// Apart from web-config.test.ts so that Stryker's incremental mode (one file, one test) need not try every
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
    assert.match(where('tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n'), /^\/w\.yml:4:3: tls_server_config\.certfile: unknown key; want one of cert_file, /);
    assert.equal(where('tls_server_config:\n  cert_file: a\n'), '/w.yml:1:1: tls_server_config.key_file: missing: TLS needs cert_file and key_file');
    assert.equal(where('- a\n'), '/w.yml:1:1: want a mapping, got a list');
    assert.equal(where('\n\n  5\n'), '/w.yml:3:3: want a mapping, got 5');
    assert.equal(where('http_server_config:\n  headers:\n    X-Frame-Options: allow\n'), '/w.yml:3:5: http_server_config.headers.X-Frame-Options: invalid value "allow"; want one of deny, sameorigin');
    assert.equal(where(`basic_auth_users:\n  ok: '${HASH}'\n  bad: [x]\n`), '/w.yml:3:3: basic_auth_users.bad: want a bcrypt hash string such as htpasswd -nBC 10 prints');
    // A problem with no place in the text (a file that cannot be read) names the file alone.
    assert.equal(webConfigErrorPlace('/w.yml', new WebConfigError('tls_server_config.cert_file', 'cannot read /a: ENOENT')), '/w.yml');
  });
});
