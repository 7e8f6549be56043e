// Checks PEM certificate and key files the way an operator needs to hear about them: which file, what it holds
// instead, and whether key and certificate belong together. OpenSSL's own words ("PEM routines::no start line",
// "key values mismatch") name neither the file nor the fix. Used for etcd's client files and the web config's.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

const SWAPPED = 'are the certificate and key files swapped?';

/** Why `pem` (read from `path`, described as `what`) is not a certificate; undefined when it is. */
export function certificateProblem(pem: Buffer, what: string, path: string): string | undefined {
  return parseCertificate(pem, what, path).problem;
}

/** Why the pair does not work; undefined when the key is a private key matching the certificate. */
export function keyPairProblem(cert: { pem: Buffer; what: string; path: string }, key: { pem: Buffer; what: string; path: string }): string | undefined {
  const c = parseCertificate(cert.pem, cert.what, cert.path);
  if (c.problem !== undefined) return c.problem;
  let k: KeyObject;
  try {
    k = createPrivateKey(key.pem);
  } catch {
    const hint = key.pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----') ? ` (it holds a certificate: ${SWAPPED})` : '';
    return `${key.what} ${key.path} holds no PEM private key${hint}`;
  }
  if (!c.cert!.checkPrivateKey(k)) return `${key.what} ${key.path} does not match the certificate in ${cert.path}`;
  return undefined;
}

function parseCertificate(pem: Buffer, what: string, path: string): { cert?: X509Certificate; problem?: string } {
  try {
    return { cert: new X509Certificate(pem) };
  } catch {
    const hint = /PRIVATE KEY-----/.test(pem.toString('latin1')) ? ` (it holds a private key: ${SWAPPED})` : '';
    return { problem: `${what} ${path} holds no PEM certificate${hint}` };
  }
}
