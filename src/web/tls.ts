// Turns a parsed tls_server_config into Node TLS server options, reading the files and checking them the way an
// operator needs: which file is wrong and how (not a bare OpenSSL "no start line").
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
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
  const cert = parseCertificate(certPem, c.certFile, 'cert_file');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new WebConfigError(`${KEY}.key_file`, `${c.keyFile} holds no PEM private key${looksLikeCertificate(keyPem) ? ' (it holds a certificate: are cert_file and key_file swapped?)' : ''}`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new WebConfigError(`${KEY}.key_file`, `${c.keyFile} does not match the certificate in ${c.certFile}`);
  }
  let ca: Buffer | undefined;
  if (c.clientCaFile !== undefined) {
    ca = readPem(c.clientCaFile, 'client_ca_file');
    parseCertificate(ca, c.clientCaFile, 'client_ca_file');
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

function parseCertificate(pem: Buffer, path: string, key: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    const hint = /PRIVATE KEY-----/.test(pem.toString('latin1')) ? ' (it holds a private key: are cert_file and key_file swapped?)' : '';
    throw new WebConfigError(`${KEY}.${key}`, `${path} holds no PEM certificate${hint}`);
  }
}

function looksLikeCertificate(pem: Buffer): boolean {
  return pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----');
}
