// A TLS failure is counted under reason="tls" (k0s_etcdmember_source_errors_total, source_up's last error, check's
// one line) because of the code Node or OpenSSL gave it, and nothing else is: real failures against real TLS
// servers, for etcd (grpc-js, which keeps only the text) and the Kubernetes API (Node's https, which keeps the code).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { callApi } from '../src/events/api.js';
import { loadKubeConfig } from '../src/kubeconfig.js';
import { readEtcd } from '../src/sources/etcd.js';
import { listEtcdMembers } from '../src/sources/kubernetes.js';
import { SourceError } from '../src/sources/source.js';
import { tlsCodeInText, tlsErrorCode } from '../src/tls-errors.js';
import { makeWebPki, type WebPki } from '../testbed/web-pki.js';

let dir: string;
let pki: WebPki;
let expiredCert: string;
const servers: NetServer[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tls-error-reason-'));
  pki = makeWebPki(dir);
  // The server's key pair again, signed by the same CA with a validity that ended yesterday.
  writeFileSync(join(dir, 'expired.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  execFileSync('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '-1', '-out', 'expired.crt', '-extfile', 'expired.ext'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  expiredCert = join(dir, 'expired.crt');
});
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A TLS server on a free loopback port that answers every request with 403: past TLS, a client meets "forbidden". */
async function tlsServer(o: { cert: string; key: string; clientCa?: string }): Promise<number> {
  const options: TlsOptions = {
    cert: readFileSync(o.cert),
    key: readFileSync(o.key),
    ALPNProtocols: ['h2', 'http/1.1'],
    ...(o.clientCa === undefined ? {} : { ca: readFileSync(o.clientCa), requestCert: true, rejectUnauthorized: true }),
  };
  const server = createTlsServer(options, (socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'));
  });
  server.on('tlsClientError', () => {});
  return listen(server);
}

/** A server that accepts the connection and closes it at once: a member going away in the middle of the handshake. */
async function closingServer(): Promise<number> {
  return listen(createNetServer((socket) => socket.destroy()));
}

async function listen(server: NetServer): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('etcd (grpc-js): the reason of a failed read', () => {
  async function etcdFailure(port: number, files: { caFile: string; certFile?: string; keyFile?: string }): Promise<SourceError> {
    try {
      await readEtcd({ endpoints: [`https://127.0.0.1:${port}`], certFile: undefined, keyFile: undefined, ...files, timeoutMs: 3000 }, new AbortController().signal);
    } catch (err) {
      assert.ok(err instanceof SourceError, String(err));
      return err;
    }
    assert.fail('the read succeeded');
  }

  it('a server certificate the CA did not sign: tls', async () => {
    const port = await tlsServer({ cert: pki.serverCert, key: pki.serverKey });
    const e = await etcdFailure(port, { caFile: pki.selfCert });
    assert.equal(e.reason, 'tls', e.message);
    assert.match(e.message, /unable to verify the first certificate/);
  });

  it('an expired server certificate: tls', async () => {
    const port = await tlsServer({ cert: expiredCert, key: pki.serverKey });
    const e = await etcdFailure(port, { caFile: pki.caFile });
    assert.equal(e.reason, 'tls', e.message);
    assert.match(e.message, /certificate has expired/);
  });

  it('a server that wants a client certificate this client does not have: tls', async () => {
    const port = await tlsServer({ cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caFile });
    const e = await etcdFailure(port, { caFile: pki.caFile });
    assert.equal(e.reason, 'tls', e.message);
  });

  it('a member that drops the connection during the handshake is unavailable, though the message says "TLS"', async () => {
    const port = await closingServer();
    const e = await etcdFailure(port, { caFile: pki.caFile });
    assert.equal(e.reason, 'unavailable', e.message);
  });

  it('a TLS file that is missing or cannot be read: tls, naming the flag, the file and the error code', async () => {
    let e = await etcdFailure(1, { caFile: join(dir, 'no-such-ca.crt') });
    assert.equal(e.reason, 'tls');
    assert.equal(e.message, `etcd CA --etcd.ca-file ${join(dir, 'no-such-ca.crt')} cannot be read (ENOENT)`);
    // A directory where the key should be: unreadable even for root, who reads a file of mode 000.
    const keyDir = join(dir, 'key-dir');
    mkdirSync(keyDir, { recursive: true });
    e = await etcdFailure(1, { caFile: pki.caFile, certFile: pki.clientCert, keyFile: keyDir });
    assert.equal(e.reason, 'tls');
    assert.equal(e.message, `etcd client key --etcd.key-file ${keyDir} cannot be read (EISDIR)`);
  });
});

describe('Kubernetes API (Node https): the reason of a failed list and of a failed Event write', () => {
  function kubeconfig(port: number, ca: string): string {
    const file = join(dir, `kubeconfig-${port}-${Math.random().toString(36).slice(2)}`);
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:' + port + '", certificate-authority: "' + ca + '"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
        '',
      ].join('\n'),
    );
    return file;
  }

  async function reasons(port: number, ca: string): Promise<{ list: SourceError; event: { reason: string; message: string } }> {
    const { kubeConfig } = loadKubeConfig(kubeconfig(port, ca));
    let list: SourceError | undefined;
    try {
      await listEtcdMembers({ kubeConfig, requestTimeoutMs: 3000 }, new AbortController().signal);
    } catch (err) {
      assert.ok(err instanceof SourceError, String(err));
      list = err;
    }
    assert.ok(list, 'the list succeeded');
    let event: { reason: string; message: string } | undefined;
    try {
      await callApi(kubeConfig, { method: 'POST', path: '/apis/events.k8s.io/v1/namespaces/default/events', body: {}, timeoutMs: 3000 });
    } catch (err) {
      event = err as { reason: string; message: string };
    }
    assert.ok(event, 'the Event write succeeded');
    return { list, event };
  }

  it('the right CA gets as far as the API (forbidden), which shows these servers are reachable', async () => {
    const port = await tlsServer({ cert: pki.serverCert, key: pki.serverKey });
    const { list, event } = await reasons(port, pki.caFile);
    assert.equal(list.reason, 'forbidden', list.message);
    assert.equal(event.reason, 'forbidden', event.message);
  });

  it('a server certificate the CA did not sign: tls (UNABLE_TO_VERIFY_LEAF_SIGNATURE)', async () => {
    const port = await tlsServer({ cert: pki.serverCert, key: pki.serverKey });
    const { list, event } = await reasons(port, pki.selfCert);
    assert.equal(list.reason, 'tls', list.message);
    assert.match(list.message, /unable to verify the first certificate; check the kubeconfig's certificate-authority for this server$/);
    assert.equal(event.reason, 'tls', event.message);
  });

  it('an expired server certificate: tls (CERT_HAS_EXPIRED)', async () => {
    const port = await tlsServer({ cert: expiredCert, key: pki.serverKey });
    const { list, event } = await reasons(port, pki.caFile);
    assert.equal(list.reason, 'tls', list.message);
    assert.match(list.message, /certificate has expired/);
    assert.equal(event.reason, 'tls', event.message);
  });

  it("the kubeconfig's CA file is missing: tls, naming the file", async () => {
    const port = await tlsServer({ cert: pki.serverCert, key: pki.serverKey });
    const missing = join(dir, 'gone-ca.crt');
    const { list, event } = await reasons(port, missing);
    assert.equal(list.reason, 'tls', list.message);
    assert.equal(list.message, `cannot read the kubeconfig's certificate-authority ${missing} (ENOENT)`);
    assert.equal(event.reason, 'tls', event.message);
  });

  it('an API server that drops the connection during the handshake is unavailable', async () => {
    const port = await closingServer();
    const { list, event } = await reasons(port, pki.caFile);
    assert.equal(list.reason, 'unavailable', list.message);
    assert.equal(event.reason, 'unavailable', event.message);
  });
});

describe('TLS error codes', () => {
  it("Node's TLS, OpenSSL and verification codes are TLS; network and file codes are not", () => {
    for (const code of ['ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_OSSL_PEM_NO_START_LINE', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      assert.equal(tlsErrorCode(Object.assign(new Error('x'), { code })), code);
    }
    for (const code of ['ECONNRESET', 'ENOENT', 'EACCES', 'toString', 'constructor']) assert.equal(tlsErrorCode(Object.assign(new Error('x'), { code })), undefined, code);
  });

  it('in text, the code Node or OpenSSL put there, and the longest verification text', () => {
    const last = (s: string): string => `14 UNAVAILABLE: No connection established. Last error: ${s} (2026-12-02T19:00:00.000Z). Resolution note: `;
    assert.equal(tlsCodeInText(last("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ")), 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(tlsCodeInText(last('Error: 805C82C0087F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required')), 'OpenSSL error 0A00045C');
    assert.equal(tlsCodeInText(last('Error: self-signed certificate in certificate chain')), 'SELF_SIGNED_CERT_IN_CHAIN');
    assert.equal(tlsCodeInText(last('Error: self-signed certificate')), 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(tlsCodeInText(last('Error: Client network socket disconnected before secure TLS connection was established')), undefined);
    assert.equal(tlsCodeInText(last('Error: connect ECONNREFUSED 127.0.0.1:2379')), undefined);
    // A system error (top bit set) is not an OpenSSL library's, whatever its lower bits.
    assert.equal(tlsCodeInText('error:8000006F:system library::Connection refused'), undefined);
  });
});
