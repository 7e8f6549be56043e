// Done-when of issue 12 with the real components: a real Prometheus scrapes the exporter over TLS with basic auth
// (htpasswd's hash), a changed password in the web config takes effect without a restart, and plain http or a
// wrong password gets nowhere.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { KubeApiTestServer } from '../testbed/kube-api-server.js';
import { PrometheusTestServer, waitUntil } from '../testbed/prometheus.js';
import { htpasswdHash, htpasswdMissing, makeWebPki, type WebPki } from '../testbed/web-pki.js';

const missing = htpasswdMissing();

function status(port: number, auth: string | undefined, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/metrics', ca: readFileSync(ca), agent: false, timeout: 5000, headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('real Prometheus scrapes over TLS with basic auth', { timeout: 120_000 }, () => {
  let dir: string;
  let pki: WebPki;
  let webFile: string;
  let api: KubeApiTestServer | undefined;
  let exporter: ExporterProcess | undefined;
  let prometheus: PrometheusTestServer | undefined;

  before(async () => {
    if (missing !== undefined) return;
    dir = mkdtempSync(join(tmpdir(), 'web-prometheus-'));
    pki = makeWebPki(dir);
    webFile = join(dir, 'web.yml');
    writeFileSync(webFile, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '${htpasswdHash('scrape-pw')}'\n`);
    api = await KubeApiTestServer.start();
    exporter = await ExporterProcess.start({ etcdEndpoints: ['http://127.0.0.1:1'], kubeconfig: api.kubeconfigPath, extraArgs: [`--web.config.file=${webFile}`] });
    prometheus = await PrometheusTestServer.start({
      scrapeTargets: [exporter.target],
      scrapeExtra: { scheme: 'https', tls_config: { ca_file: pki.caFile }, basic_auth: { username: 'prometheus', password: 'scrape-pw' } },
    });
  });
  after(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('up == 1 over https with the password; plain http, no and wrong passwords fail; a new password applies without restart', async (t) => {
    if (missing !== undefined) {
      if (process.env['CI'] === 'true') assert.fail(missing);
      t.skip(missing);
      return;
    }
    await prometheus!.waitForTargetsUp(40_000);
    const up = await prometheus!.query(`up{job="${prometheus!.jobName}"}`);
    assert.equal(up[0]?.value?.[1], '1', JSON.stringify(up));
    const version = await prometheus!.query('k0s_etcdmember_build_info');
    assert.equal(version.length, 1, 'the scrape carried the exporter\'s metrics');

    const plain = await fetch(`http://${exporter!.target}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(plain.status, 400, 'plain http to the TLS port: Go\'s answer, no metrics');
    assert.equal(await plain.text(), 'Client sent an HTTP request to an HTTPS server.\n');
    assert.equal(await status(exporter!.port, undefined, pki.caFile), 401);
    assert.equal(await status(exporter!.port, 'prometheus:wrong', pki.caFile), 401);
    assert.equal(await status(exporter!.port, 'prometheus:scrape-pw', pki.caFile), 200);

    // Rotate the password in the file: Prometheus, still sending the old one, is now refused.
    writeFileSync(`${webFile}.new`, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '${htpasswdHash('rotated-pw')}'\n`);
    renameSync(`${webFile}.new`, webFile);
    const target = await waitUntil('the old password to be refused', 20_000, async () => {
      const tg = (await prometheus!.targets())[0];
      return tg?.health === 'down' ? tg : undefined;
    });
    assert.match(target.lastError, /401/);
    assert.equal(await status(exporter!.port, 'prometheus:rotated-pw', pki.caFile), 200);
    assert.ok(exporter!.logs.some((l) => l.includes('"msg":"web config reloaded"')), exporter!.logs.slice(-20).join('\n'));
  });
});
