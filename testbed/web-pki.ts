// Certificates and password hashes for the web config tests, made with the real tools operators use:
// openssl for a CA, a server certificate for 127.0.0.1 and a client certificate; htpasswd -nBC 10 for bcrypt.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WebPki {
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second server key pair, for rotation and mismatch tests. */
  readonly otherCert: string;
  readonly otherKey: string;
  /** Self-signed client pair: signed by no CA the server trusts. */
  readonly selfCert: string;
  readonly selfKey: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function leaf(dir: string, name: string, cn: string, ext: string): void {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

/** Writes a CA, server (SAN 127.0.0.1, localhost) and client certificates into `dir`. */
export function makeWebPki(dir: string): WebPki {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=web-test-ca'], dir);
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  leaf(dir, 'server', 'exporter', server);
  leaf(dir, 'other', 'exporter-rotated', server);
  leaf(dir, 'client', 'prometheus', 'extendedKeyUsage=clientAuth\n');
  // A client certificate no CA here signed.
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=stranger'], dir);
  const p = (f: string): string => join(dir, f);
  return {
    caFile: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    otherCert: p('other.crt'),
    otherKey: p('other.key'),
    selfCert: p('self.crt'),
    selfKey: p('self.key'),
  };
}

export const HTPASSWD = process.env['HTPASSWD_BIN'] ?? 'htpasswd';

/** Why htpasswd cannot be used, or undefined when it can. */
export function htpasswdMissing(): string | undefined {
  const r = spawnSync(HTPASSWD, ['-nbBC', '4', 'u', 'p'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${HTPASSWD} not available (apt-get install apache2-utils)`;
}

/** The bcrypt hash `htpasswd -nBC 10` makes for the password ($2y$, cost 10). */
export function htpasswdHash(password: string, cost = 10): string {
  const out = execFileSync(HTPASSWD, ['-nbBC', String(cost), 'user', password], { encoding: 'utf8' });
  return out.trim().split(':')[1]!;
}
