// A wrong certificate or key file for etcd is a TLS configuration error that names the file (issue 12, fix 3),
// not reason="other" with bare OpenSSL text.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readEtcd } from '../src/sources/etcd.js';
import { SourceError } from '../src/sources/source.js';
import { makeWebPki, type WebPki } from '../testbed/web-pki.js';

describe('etcd TLS files', () => {
  let dir: string;
  let pki: WebPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-tls-files-'));
    pki = makeWebPki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function failure(files: { caFile: string; certFile: string; keyFile: string }): Promise<SourceError> {
    try {
      // Nothing listens on port 1: a read that got past the files would fail as unavailable, not tls.
      await readEtcd({ endpoints: ['https://127.0.0.1:1'], ...files, timeoutMs: 3000 }, new AbortController().signal);
    } catch (err) {
      assert.ok(err instanceof SourceError, String(err));
      return err;
    }
    assert.fail('the read succeeded');
  }

  it('a key given as the certificate file', async () => {
    const e = await failure({ caFile: pki.caFile, certFile: pki.clientKey, keyFile: pki.clientKey });
    assert.equal(e.reason, 'tls');
    assert.equal(e.message, `etcd client certificate --etcd.cert-file ${pki.clientKey} holds no PEM certificate (it holds a private key: are the certificate and key files swapped?)`);
  });

  it('a key that does not match its certificate', async () => {
    const e = await failure({ caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.serverKey });
    assert.equal(e.reason, 'tls');
    assert.equal(e.message, `etcd client key --etcd.key-file ${pki.serverKey} does not match the certificate in ${pki.clientCert}`);
  });

  it('a CA file that holds no certificate', async () => {
    const e = await failure({ caFile: pki.clientKey, certFile: pki.clientCert, keyFile: pki.clientKey });
    assert.equal(e.reason, 'tls');
    assert.match(e.message, /^etcd CA --etcd\.ca-file .*client\.key holds no PEM certificate/);
  });

  it('good files get as far as the network', async () => {
    const e = await failure({ caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey });
    assert.equal(e.reason, 'unavailable', e.message);
  });
});
