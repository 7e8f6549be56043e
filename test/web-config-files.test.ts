// The web config's certificate, key and client CA files as loadWebConfig checks them: each refusal names the file
// and what is wrong with it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebConfigError } from '../src/web/config.js';
import { loadWebConfig } from '../src/web/live.js';
import { makeWebPki, type WebPki } from '../testbed/web-pki.js';

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
