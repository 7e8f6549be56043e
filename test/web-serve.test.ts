// The web config at work on a real socket: TLS, basic auth with htpasswd's hashes, client certificates, headers,
// and changes to the file taking effect without a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, renameSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createLogger } from '../src/log.js';
import { LiveWebConfig } from '../src/web/live.js';
import { guard, serve } from '../src/web/serve.js';
import { MAX_WAITING_CHECKS } from '../src/web/auth.js';
import { htpasswdHash, htpasswdMissing, makeWebPki, type WebPki } from '../testbed/web-pki.js';

const missing = htpasswdMissing();
function needHtpasswd(t: TestContext): boolean {
  if (missing === undefined) return true;
  if (process.env['CI'] === 'true') assert.fail(missing);
  t.skip(missing);
  return false;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, o: { tls?: boolean; ca?: string; auth?: string; cert?: string; key?: string; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      path,
      method: o.method ?? 'GET',
      headers: o.auth === undefined ? {} : { authorization: `Basic ${Buffer.from(o.auth).toString('base64')}` },
      agent: false as const,
      timeout: 5000,
      ...(o.ca ? { ca: readFileSync(o.ca) } : {}),
      ...(o.cert ? { cert: readFileSync(o.cert), key: readFileSync(o.key!) } : {}),
    };
    const req = (o.tls ? httpsRequest : httpRequest)(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const app = (req: { url?: string }, res: { end: (s: string) => void }): void => res.end(`app saw ${req.url}\n`);

describe('web config on a real socket', () => {
  let dir: string;
  let pki: WebPki;
  const servers: Server[] = [];
  const logs: string[] = [];
  const logger = createLogger('debug', 'json', (l) => logs.push(l));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'web-serve-'));
    pki = makeWebPki(dir);
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(yaml: string, name = 'web.yml'): Promise<{ port: number; file: string; web: LiveWebConfig }> {
    const file = join(dir, name);
    writeFileSync(file, yaml);
    const web = LiveWebConfig.start(file, logger);
    const server = await serve(app, { host: '127.0.0.1', port: 0, web, logger });
    servers.push(server);
    return { port: (server.address() as { port: number }).port, file, web };
  }

  /** Rewrites a file by rename, as editors and Kubernetes secret mounts do. */
  function replace(file: string, text: string): void {
    writeFileSync(`${file}.new`, text);
    renameSync(`${file}.new`, file);
  }

  it('serves TLS with basic auth: the right password passes, a wrong or no password gets 401, health stays open', async (t) => {
    if (!needHtpasswd(t)) return;
    const hash = htpasswdHash('s3cret');
    assert.match(hash, /^\$2y\$10\$/, 'htpasswd -nBC 10 makes $2y$ hashes');
    const { port } = await start(`tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '${hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`, 'auth.yml');
    const ok = await get(port, '/metrics', { tls: true, ca: pki.caFile, auth: 'prometheus:s3cret' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'app saw /metrics\n');
    assert.equal(ok.headers['x-frame-options'], 'deny');
    const wrong = await get(port, '/metrics', { tls: true, ca: pki.caFile, auth: 'prometheus:nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Basic');
    assert.doesNotMatch(wrong.body, /app saw/);
    assert.equal((await get(port, '/metrics', { tls: true, ca: pki.caFile })).status, 401);
    assert.equal((await get(port, '/metrics', { tls: true, ca: pki.caFile, auth: 'nobody:s3cret' })).status, 401);
    assert.equal((await get(port, '/', { tls: true, ca: pki.caFile })).status, 401, 'the landing page is protected too');
    assert.equal((await get(port, '/nope', { tls: true, ca: pki.caFile })).status, 401, 'unknown paths do not tell what exists');
    assert.equal((await get(port, '/healthz', { tls: true, ca: pki.caFile })).status, 200, 'probes need no password');
    assert.equal((await get(port, '/readyz?x=1', { tls: true, ca: pki.caFile })).status, 200);
    assert.equal((await get(port, '/healthz/', { tls: true, ca: pki.caFile })).status, 401, 'only the exact probe paths are open');
    // Plain http to the TLS port: Go's 400 answer, as the toolkit's exporters give, and nothing of the app.
    const plain = await get(port, '/healthz');
    assert.equal(plain.status, 400);
    assert.equal(plain.body, 'Client sent an HTTP request to an HTTPS server.\n');
  });

  it('checks a password with bcrypt once, then from the cache', async (t) => {
    if (!needHtpasswd(t)) return;
    const hash = htpasswdHash('cached', 12); // ~250 ms per bcrypt, so the cache shows in the timing
    const { port } = await start(`basic_auth_users:\n  p: '${hash}'\n`, 'cache.yml');
    let started = performance.now();
    assert.equal((await get(port, '/metrics', { auth: 'p:cached' })).status, 200);
    const first = performance.now() - started;
    started = performance.now();
    for (let i = 0; i < 5; i++) assert.equal((await get(port, '/metrics', { auth: 'p:cached' })).status, 200);
    const nextFive = performance.now() - started;
    assert.ok(nextFive < first, `five cached checks (${nextFive.toFixed(0)} ms) should cost less than one bcrypt (${first.toFixed(0)} ms)`);
    // An unknown user pays a bcrypt of the same cost: no quick "no such user".
    started = performance.now();
    assert.equal((await get(port, '/metrics', { auth: 'someone:else' })).status, 401);
    const unknown = performance.now() - started;
    assert.ok(unknown > first / 3, `unknown user took ${unknown.toFixed(0)} ms, a known one's bcrypt ${first.toFixed(0)} ms`);
  });

  it('wrong passwords faster than bcrypt: above a bound of waiting checks 503 with Retry-After, and checks of clients that left are skipped', { timeout: 60_000 }, async (t) => {
    if (!needHtpasswd(t)) return;
    const hash = htpasswdHash('right', 12); // ~250 ms per bcrypt
    const { port } = await start(`basic_auth_users:\n  p: '${hash}'\n`, 'flood.yml');
    const flood = Array.from({ length: MAX_WAITING_CHECKS + 8 }, (_, i) => {
      let req: ClientRequest | undefined;
      const answer = new Promise<Answer | 'gone'>((resolve) => {
        req = httpRequest({ host: '127.0.0.1', port, path: '/metrics', agent: false, headers: { authorization: `Basic ${Buffer.from(`p:wrong${i}`).toString('base64')}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: '' }));
        });
        req.on('error', () => resolve('gone'));
        req.end();
      });
      return { req: req!, answer };
    });
    // One check runs and MAX_WAITING_CHECKS wait; the other 7 are answered at once, long before the queue drains.
    const busy: Answer[] = [];
    const deadline = Date.now() + 3000;
    while (busy.length < 7 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      busy.length = 0;
      for (const f of flood) {
        const a = await Promise.race([f.answer, Promise.resolve(undefined)]);
        if (a !== undefined && a !== 'gone' && a.status === 503) busy.push(a);
      }
    }
    assert.ok(busy.length >= 7, `${busy.length} answered 503 within 3 s`);
    for (const a of busy) assert.equal(a.headers['retry-after'], '1');
    // Every flooding client leaves: their queued checks must not delay the right password by ~8 s of bcrypt.
    for (const f of flood) f.req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    assert.equal((await get(port, '/metrics', { auth: 'p:right' })).status, 200);
    const took = performance.now() - started;
    assert.ok(took < 4000, `the right password waited ${took.toFixed(0)} ms behind checks of clients that had left`);
  });

  it('a changed password takes effect without restart; a broken file keeps the last good one and is logged once', async (t) => {
    if (!needHtpasswd(t)) return;
    const { port, file } = await start(`basic_auth_users:\n  p: '${htpasswdHash('old')}'\n`, 'rotate.yml');
    assert.equal((await get(port, '/metrics', { auth: 'p:old' })).status, 200);
    replace(file, `basic_auth_users:\n  p: '${htpasswdHash('new')}'\n`);
    assert.equal((await get(port, '/metrics', { auth: 'p:old' })).status, 401, 'the old password no longer works, cached or not');
    assert.equal((await get(port, '/metrics', { auth: 'p:new' })).status, 200);
    const before = logs.length;
    replace(file, `basic_auth_users:\n  p: not-a-hash\n`);
    for (let i = 0; i < 3; i++) assert.equal((await get(port, '/metrics', { auth: 'p:new' })).status, 200, 'last good config still in force');
    const failures = logs.slice(before).filter((l) => l.includes('web config reload failed'));
    assert.equal(failures.length, 1, logs.slice(before).join('\n'));
    assert.match(failures[0]!, /basic_auth_users\.p: is not a bcrypt hash/);
    assert.doesNotMatch(failures[0]!, /not-a-hash/, 'the value of a password field is never logged');
  });

  it('a file that changes while it is read is read again: a rewrite read half-done does not leave basic auth off', async (t) => {
    if (!needHtpasswd(t)) return;
    const file = join(dir, 'race.yml');
    const final = `basic_auth_users:\n  p: '${htpasswdHash('pw')}'\n`;
    writeFileSync(file, final);
    // The read the reload makes finds the file empty (an in-place rewrite caught after its truncate), and the
    // writer finishes right after it.
    let finishWrite = false;
    const web = LiveWebConfig.start(file, logger, (path) => {
      const text = readFileSync(path, 'utf8');
      if (finishWrite) {
        finishWrite = false;
        writeFileSync(path, final);
      }
      return text;
    });
    const server = await serve(app, { host: '127.0.0.1', port: 0, web, logger });
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    assert.equal((await get(port, '/metrics')).status, 401);
    writeFileSync(file, '');
    finishWrite = true;
    // This request saw the empty version (no users), as it was on disk when read.
    assert.equal((await get(port, '/metrics')).status, 200);
    assert.equal(finishWrite, false, 'the reload read the file');
    assert.equal((await get(port, '/metrics')).status, 401, 'the file as it is now asks for a password');
    assert.equal((await get(port, '/metrics', { auth: 'p:pw' })).status, 200);
  });

  it('answers a password check that throws with a 500 and one log line, without the credentials', async () => {
    const lines: string[] = [];
    const users = new (class extends Map<string, string> {
      override get(): string | undefined {
        throw new Error('user table unreadable');
      }
    })([['p', 'x']]);
    const web = { refresh: () => {}, current: () => ({ config: { users, headers: new Map(), tls: undefined }, tls: undefined }) } as unknown as LiveWebConfig;
    const { createServer } = await import('node:http');
    const server = createServer(guard(app, web, createLogger('info', 'json', (l) => lines.push(l))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const answer = await get((server.address() as { port: number }).port, '/metrics', { auth: 'p:hunter2' });
    assert.equal(answer.status, 500);
    assert.match(String(answer.headers['content-type']), /^text\/plain/);
    assert.match(answer.body, /password check failed/);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /"msg":"basic auth check failed"/);
    assert.match(lines[0]!, /user table unreadable/);
    assert.doesNotMatch(lines[0]!, /hunter2/);
  });

  it('picks up a rotated certificate for new connections', async () => {
    const certFile = join(dir, 'rot.crt');
    const keyFile = join(dir, 'rot.key');
    copyFileSync(pki.serverCert, certFile);
    copyFileSync(pki.serverKey, keyFile);
    const { port } = await start(`tls_server_config:\n  cert_file: rot.crt\n  key_file: rot.key\n`, 'rot.yml');
    const serial = async (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', ca: readFileSync(pki.caFile), agent: false }, (res) => {
          resolve((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN as string);
          res.resume();
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await serial(), 'exporter');
    // Key first, then certificate, as a careless rotation would: the half-rotated pair is refused, not served.
    copyFileSync(pki.otherKey, keyFile);
    assert.equal(await serial(), 'exporter', 'a mismatched pair keeps the last good one');
    copyFileSync(pki.otherCert, certFile);
    assert.equal(await serial(), 'exporter-rotated');
  });

  it('RequireAndVerifyClientCert: no client certificate fails the handshake, a CA-signed one passes', async () => {
    const { port } = await start(
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n`,
      'mtls.yml',
    );
    await assert.rejects(get(port, '/healthz', { tls: true, ca: pki.caFile }), (err: NodeJS.ErrnoException) => {
      assert.match(`${err.code} ${err.message}`, /certificate required|ECONNRESET|alert/i);
      return true;
    });
    const ok = await get(port, '/healthz', { tls: true, ca: pki.caFile, cert: pki.clientCert, key: pki.clientKey });
    assert.equal(ok.status, 200);
    // A certificate from another CA is refused too.
    await assert.rejects(get(port, '/healthz', { tls: true, ca: pki.caFile, cert: pki.selfCert, key: pki.selfKey }));
  });

  it('RequireAnyClientCert: a connection without a certificate is closed before any request is read', async () => {
    const { port } = await start(`tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n`, 'any.yml');
    await assert.rejects(get(port, '/healthz', { tls: true, ca: pki.caFile }));
    assert.equal((await get(port, '/healthz', { tls: true, ca: pki.caFile, cert: pki.clientCert, key: pki.clientKey })).status, 200);
  });

  it('min_version TLS13 refuses a TLS 1.2 client', async () => {
    const { port } = await start(`tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n`, 'v13.yml');
    const attempt = (max: 'TLSv1.2' | 'TLSv1.3'): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', ca: readFileSync(pki.caFile), agent: false, maxVersion: max }, (res) => {
          resolve(res.statusCode!);
          res.resume();
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await attempt('TLSv1.3'), 200);
    await assert.rejects(attempt('TLSv1.2'));
  });
});
