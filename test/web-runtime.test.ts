// Every key of the web config changed while the exporter runs, in both directions (tighter, then looser, or the
// other way round), and what a real client sees at the very next connection: exporter-toolkit reads its config for
// every handshake and every request (web/tls_config.go, GetConfigForClient), and so must this exporter.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createLogger } from '../src/log.js';
import { LiveWebConfig } from '../src/web/live.js';
import { serve } from '../src/web/serve.js';
import { htpasswdHash, htpasswdMissing, makeWebPki, type WebPki } from '../testbed/web-pki.js';

interface Seen {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  cipher: string;
  protocol: string;
  subject: string;
}

const app = (_req: unknown, res: { end: (s: string) => void }): void => res.end('ok\n');

describe('web config changed at runtime: each key at the next connection, both ways', () => {
  let dir: string;
  let pki: WebPki;
  const servers: Server[] = [];
  const logs: string[] = [];
  const logger = createLogger('debug', 'json', (l) => logs.push(l));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'web-runtime-'));
    pki = makeWebPki(dir);
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const TLS = `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n`;

  /** Starts a server on `yaml`; returns its port and what rewrites its file (by rename, as a Secret mount does). */
  async function start(name: string, yaml: string): Promise<{ port: number; change: (yaml: string) => void }> {
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, yaml);
    const server = await serve(app, { host: '127.0.0.1', port: 0, web: LiveWebConfig.start(file, logger), logger });
    servers.push(server);
    return {
      port: (server.address() as { port: number }).port,
      change: (text) => {
        writeFileSync(`${file}.new`, text);
        renameSync(`${file}.new`, file);
      },
    };
  }

  /** One new connection and one request, as a client with these TLS options sees it. */
  function visit(port: number, o: Omit<RequestOptions, "auth"> & { basic?: string } = {}): Promise<Seen> {
    const { basic, ...tls } = o;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/metrics',
          ca: readFileSync(pki.caFile),
          agent: false,
          timeout: 5000,
          headers: basic === undefined ? {} : { authorization: `Basic ${Buffer.from(basic).toString('base64')}` },
          ...tls,
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          const seen = {
            status: res.statusCode!,
            headers: res.headers,
            cipher: socket.getCipher().standardName,
            protocol: socket.getProtocol() ?? '',
            subject: String(socket.getPeerCertificate().subject.CN),
          };
          res.resume();
          res.on('end', () => resolve(seen));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** The client's connection is refused: a failed handshake or a connection closed before any answer. */
  async function refused(p: Promise<Seen>, what: string): Promise<void> {
    await assert.rejects(p, (err: NodeJS.ErrnoException) => {
      assert.match(`${err.code} ${err.message}`, /ECONNRESET|socket hang up|alert|certificate|handshake|no shared|no suitable|EPIPE/i, what);
      return true;
    }, what);
  }

  const withCert = (): Omit<RequestOptions, "auth"> => ({ cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });
  const withStranger = (): Omit<RequestOptions, "auth"> => ({ cert: readFileSync(pki.selfCert), key: readFileSync(pki.selfKey) });

  it('client_auth_type NoClientCert -> RequireAndVerifyClientCert: a client without a certificate is refused at the first connection after the change; back again, it passes', async () => {
    const { port, change } = await start('verify', TLS);
    assert.equal((await visit(port)).status, 200);
    change(`${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n`);
    await refused(visit(port), 'the first connection after the file requires a certificate');
    await refused(visit(port, withStranger()), 'a certificate of another CA');
    assert.equal((await visit(port, withCert())).status, 200);
    change(TLS);
    assert.equal((await visit(port)).status, 200, 'loosened: no certificate needed at the next connection');
  });

  it('client_auth_type RequireAndVerifyClientCert -> NoClientCert: loosened at the next connection, not at a restart', async () => {
    const { port, change } = await start('loosen', `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n`);
    await refused(visit(port), 'no certificate while one is required');
    change(TLS);
    assert.equal((await visit(port)).status, 200, 'the first connection after the change');
  });

  it('client_auth_type RequestClientCert <-> RequireAnyClientCert', async () => {
    const { port, change } = await start('any', `${TLS}  client_auth_type: RequestClientCert\n`);
    assert.equal((await visit(port)).status, 200);
    change(`${TLS}  client_auth_type: RequireAnyClientCert\n`);
    await refused(visit(port), 'no certificate under RequireAnyClientCert');
    assert.equal((await visit(port, withStranger())).status, 200, 'any certificate will do');
    change(`${TLS}  client_auth_type: RequestClientCert\n`);
    assert.equal((await visit(port)).status, 200);
  });

  it('client_auth_type RequestClientCert <-> VerifyClientCertIfGiven', async () => {
    const { port, change } = await start('ifgiven', `${TLS}  client_auth_type: RequestClientCert\n  client_ca_file: ca.crt\n`);
    assert.equal((await visit(port, withStranger())).status, 200);
    change(`${TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n`);
    await refused(visit(port, withStranger()), 'an unverifiable certificate under VerifyClientCertIfGiven');
    assert.equal((await visit(port)).status, 200, 'no certificate is fine');
    assert.equal((await visit(port, withCert())).status, 200);
    change(`${TLS}  client_auth_type: RequestClientCert\n  client_ca_file: ca.crt\n`);
    assert.equal((await visit(port, withStranger())).status, 200);
  });

  it('client_ca_file: another CA refuses the old clients and admits its own; back again', async () => {
    const mtls = (ca: string): string => `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca}\n`;
    const { port, change } = await start('ca', mtls('ca.crt'));
    assert.equal((await visit(port, withCert())).status, 200);
    await refused(visit(port, withStranger()), 'not signed by ca.crt');
    change(mtls('self.crt'));
    await refused(visit(port, withCert()), 'not signed by self.crt');
    assert.equal((await visit(port, withStranger())).status, 200);
    change(mtls('ca.crt'));
    assert.equal((await visit(port, withCert())).status, 200);
  });

  it('cert_file and key_file: the next connection gets the new certificate, and the old one after a change back', async () => {
    const { port, change } = await start('cert', TLS);
    assert.equal((await visit(port)).subject, 'exporter');
    change(`tls_server_config:\n  cert_file: other.crt\n  key_file: other.key\n`);
    assert.equal((await visit(port)).subject, 'exporter-rotated');
    change(TLS);
    assert.equal((await visit(port)).subject, 'exporter');
  });

  it('min_version and max_version', async () => {
    const { port, change } = await start('versions', TLS);
    assert.equal((await visit(port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    change(`${TLS}  min_version: TLS13\n`);
    await refused(visit(port, { maxVersion: 'TLSv1.2' }), 'a TLS 1.2 client after min_version TLS13');
    assert.equal((await visit(port)).protocol, 'TLSv1.3');
    change(`${TLS}  max_version: TLS12\n`);
    assert.equal((await visit(port)).protocol, 'TLSv1.2', 'max_version TLS12: a TLS 1.3 client speaks 1.2');
    await refused(visit(port, { minVersion: 'TLSv1.3' }), 'a TLS 1.3-only client after max_version TLS12');
    change(TLS);
    assert.equal((await visit(port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.equal((await visit(port)).protocol, 'TLSv1.3');
  });

  it('cipher_suites and prefer_server_cipher_suites', async () => {
    const suites = (names: string[], prefer = true): string =>
      `${TLS}  max_version: TLS12\n  prefer_server_cipher_suites: ${prefer}\n  cipher_suites:\n${names.map((n) => `    - ${n}\n`).join('')}`;
    const AES128 = 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256';
    const AES256 = 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384';
    const offers256 = { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' };
    const offersBoth = { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384' };
    const { port, change } = await start('ciphers', suites([AES128]));
    await refused(visit(port, offers256), 'a client offering only a suite not listed');
    change(suites([AES256, AES128]));
    assert.equal((await visit(port, offers256)).cipher, AES256);
    assert.equal((await visit(port, offersBoth)).cipher, AES256, "the server's order wins");
    change(suites([AES256, AES128], false));
    assert.equal((await visit(port, offersBoth)).cipher, AES128, "prefer_server_cipher_suites false: the client's order wins");
    change(suites([AES128]));
    await refused(visit(port, offers256), 'narrowed again');
  });

  it('curve_preferences', async () => {
    const curves = (c: string): string => `${TLS}  curve_preferences: [${c}]\n`;
    const { port, change } = await start('curves', curves('X25519'));
    await refused(visit(port, { ecdhCurve: 'P-256' }), 'a P-256-only client when only X25519 is allowed');
    change(curves('CurveP256'));
    assert.equal((await visit(port, { ecdhCurve: 'P-256' })).status, 200);
    change(curves('X25519'));
    await refused(visit(port, { ecdhCurve: 'P-256' }), 'X25519 only again');
  });

  it('basic_auth_users: added, changed and removed', async (t: TestContext) => {
    const missing = htpasswdMissing();
    if (missing !== undefined) {
      if (process.env['CI'] === 'true') assert.fail(missing);
      t.skip(missing);
      return;
    }
    const { port, change } = await start('users', TLS);
    assert.equal((await visit(port)).status, 200);
    change(`${TLS}basic_auth_users:\n  prometheus: '${htpasswdHash('one', 4)}'\n`);
    assert.equal((await visit(port)).status, 401, 'a password is needed at the next request');
    assert.equal((await visit(port, { basic: 'prometheus:one' })).status, 200);
    change(`${TLS}basic_auth_users:\n  prometheus: '${htpasswdHash('two', 4)}'\n`);
    assert.equal((await visit(port, { basic: 'prometheus:one' })).status, 401, 'the old password no longer works');
    assert.equal((await visit(port, { basic: 'prometheus:two' })).status, 200);
    change(TLS);
    assert.equal((await visit(port)).status, 200, 'no users: no password needed');
  });

  it('http_server_config.headers: added, changed and removed', async () => {
    const headers = (v: string): string => `${TLS}http_server_config:\n  headers:\n    X-Frame-Options: ${v}\n`;
    const { port, change } = await start('headers', TLS);
    assert.equal((await visit(port)).headers['x-frame-options'], undefined);
    change(headers('deny'));
    assert.equal((await visit(port)).headers['x-frame-options'], 'deny');
    change(headers('sameorigin'));
    assert.equal((await visit(port)).headers['x-frame-options'], 'sameorigin');
    change(TLS);
    assert.equal((await visit(port)).headers['x-frame-options'], undefined);
  });

  it('switching TLS off at runtime is refused loudly and TLS stays on (the safer of the two)', async () => {
    const { port, change } = await start('tls-off', TLS);
    const before = logs.length;
    change('');
    assert.equal((await visit(port)).status, 200, 'still TLS');
    assert.ok(
      logs.slice(before).some((l) => /"level":"error"/.test(l) && /web config reload failed/.test(l) && /switching TLS off needs a restart/.test(l)),
      logs.slice(before).join('\n'),
    );
  });
});
