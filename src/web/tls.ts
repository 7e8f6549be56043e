// Turns a parsed tls_server_config into Node TLS server options, reading the files and checking them the way an
// operator needs: which file is wrong and how (not a bare OpenSSL "no start line").
import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
import { certificateProblem, keyPairProblem } from '../tls-files.js';
import { WebConfigError, type ClientAuthType, type TlsServerConfig } from './config.js';

export interface ServerTls {
  /** Options for https.createServer and server.setSecureContext. */
  readonly options: TlsOptions;
  /** Checked after the handshake: what OpenSSL cannot enforce by itself (see clientCertProblem). */
  readonly clientAuthType: ClientAuthType;
}

const KEY = 'tls_server_config';

/** Reads and checks the certificate, key and client CA files. Throws WebConfigError naming the key and the file. */
export function loadServerTls(c: TlsServerConfig): ServerTls {
  const certPem = readPem(c.certFile, 'cert_file');
  const keyPem = readPem(c.keyFile, 'key_file');
  const problem = keyPairProblem({ pem: certPem, what: 'cert_file', path: c.certFile }, { pem: keyPem, what: 'key_file', path: c.keyFile });
  // The helper's text starts with the key it blames; the error names it as its key too.
  if (problem !== undefined) throw new WebConfigError(`${KEY}.${problem.split(' ')[0]!}`, problem.slice(problem.indexOf(' ') + 1));
  let ca: Buffer | undefined;
  if (c.clientCaFile !== undefined) {
    ca = readPem(c.clientCaFile, 'client_ca_file');
    const caProblem = certificateProblem(ca, 'client_ca_file', c.clientCaFile);
    if (caProblem !== undefined) throw new WebConfigError(`${KEY}.client_ca_file`, caProblem.slice(caProblem.indexOf(' ') + 1));
  }
  // What the toolkit's client_auth_type means, in OpenSSL's two switches. RequireAnyClientCert and
  // VerifyClientCertIfGiven have no OpenSSL switch of their own: the handshake lets the certificate through and
  // the connection is closed right after it (clientCertProblem) before any request is read.
  const requestCert = c.clientAuthType !== 'NoClientCert';
  const options: TlsOptions = {
    cert: certPem,
    key: keyPem,
    ...(ca ? { ca } : {}),
    requestCert,
    rejectUnauthorized: c.clientAuthType === 'RequireAndVerifyClientCert',
    minVersion: c.minVersion,
    maxVersion: c.maxVersion,
    honorCipherOrder: c.honorCipherOrder,
    ...(c.ciphers ? { ciphers: c.ciphers } : {}),
    ...(c.ecdhCurve ? { ecdhCurve: c.ecdhCurve } : {}),
  };
  try {
    // The last word is OpenSSL's: a cipher list or curve it does not know fails here, at start or reload.
    createSecureContext(options);
  } catch (err) {
    throw new WebConfigError(KEY, `OpenSSL refuses these settings: ${(err as Error).message}`);
  }
  return { options, clientAuthType: c.clientAuthType };
}

/** Why a finished handshake must be dropped under the given policy; undefined when the client may go on. */
export function clientCertProblem(policy: ClientAuthType, peer: { hasCert: boolean; authorized: boolean }): string | undefined {
  if (policy === 'RequireAnyClientCert' && !peer.hasCert) return 'no client certificate (client_auth_type RequireAnyClientCert)';
  if (policy === 'VerifyClientCertIfGiven' && peer.hasCert && !peer.authorized) return 'client certificate not verified (client_auth_type VerifyClientCertIfGiven)';
  return undefined;
}

/** The files a TLS config reads, for change detection. */
export function tlsFiles(c: TlsServerConfig | undefined): string[] {
  return c === undefined ? [] : [c.certFile, c.keyFile, ...(c.clientCaFile === undefined ? [] : [c.clientCaFile])];
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new WebConfigError(`${KEY}.${key}`, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
