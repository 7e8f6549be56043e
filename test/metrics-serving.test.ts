// /metrics as a scraper sees it over HTTP, now that most of it is rendered once per change: every scrape must still
// show the report and the source health as they are at that moment, in plain text or gzip.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { analyse, type Report } from '../src/analysis.js';
import { createMetrics } from '../src/metrics.js';
import { etcd, host, obj } from './report-fixtures.js';
import { createLogger } from '../src/log.js';
import { createApp, metricsFirst } from '../src/server.js';
import { ERROR_REASONS, type ErrorReason, type SourceHealth } from '../src/sources/source.js';
import { k0s5369Document } from './status-page-fixtures.js';

const k0s5369 = (): Report => analyse(etcd, { crdPresent: true, objects: [obj('c1', 'a1'), obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2')] }, host);

describe('/metrics over HTTP', () => {
  let report = k0s5369();
  const health: Record<'etcd' | 'kubernetes', SourceHealth> = {
    etcd: { attempted: true, up: true, lastSuccessMs: 1_700_000_000_000, lastDurationSeconds: 0.01 },
    kubernetes: { attempted: true, up: true, lastSuccessMs: 1_700_000_000_000, lastDurationSeconds: 0.02 },
  };
  const kubernetesErrors = new Map<ErrorReason, number>(ERROR_REASONS.map((r) => [r, 0]));
  const sources = [
    { name: 'etcd' as const, health: () => health.etcd, errorCounts: () => new Map<ErrorReason, number>() },
    // A new map at every call, as a source may hand out: the counts, not the map, decide what changed.
    { name: 'kubernetes' as const, health: () => health.kubernetes, errorCounts: () => new Map(kubernetesErrors) },
  ];
  const exposition = createMetrics({ report: () => report, sources }, { version: '1.2.3', revision: 'abc', nodejsVersion: 'v20.0.0' });
  let server: Server;
  let url: string;
  let viaExpress: Server;

  before(async () => {
    const app = createApp({ exposition, telemetryPath: '/metrics', ready: () => true, version: '1.2.3', status: k0s5369Document });
    const listen = (s: Server): Promise<Server> => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
    // As main.ts serves it: /metrics before express's router.
    server = await listen(createServer(metricsFirst(app, { exposition, telemetryPath: '/metrics', logger: createLogger('error', 'json', () => {}) })));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    viaExpress = await listen(createServer(app));
  });
  after(() => {
    for (const s of [server, viaExpress]) {
      s.closeAllConnections();
      s.close();
    }
  });

  it("answers GET and HEAD of /metrics, the query string aside, before express, and the same as express's own route", async () => {
    const base = url.replace(/\/metrics$/, '');
    const expressUrl = `http://127.0.0.1:${(viaExpress.address() as AddressInfo).port}/metrics`;
    const own = (t: string): string => t.split('\n').filter((l) => l.startsWith('k0s_etcdmember_')).join('\n');
    const [fast, routed] = await Promise.all([fetch(`${url}?x=1`), fetch(expressUrl)]);
    assert.equal(fast.status, 200);
    assert.equal(fast.headers.get('content-type'), routed.headers.get('content-type'));
    assert.equal(own(await fast.text()), own(await routed.text()));
    assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
    // Everything else is express's: 405 for another method, 404 for another spelling.
    const post = await fetch(url, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.match(post.headers.get('allow') ?? '', /GET/);
    assert.equal((await fetch(`${base}/METRICS`)).status, 404);
    assert.equal((await fetch(`${base}/metrics/`)).status, 404);
  });

  /** One scrape; the body decoded as its Content-Encoding says. Node's fetch would add and undo gzip by itself. */
  async function scrape(acceptEncoding?: string): Promise<{ text: string; encoding: string | undefined; vary: string | undefined }> {
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding }, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          assert.equal(res.statusCode, 200);
          assert.equal(Number(res.headers['content-length']), raw.length, 'Content-Length is the length of the body as sent');
          const encoding = res.headers['content-encoding'];
          resolve({ text: (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'), encoding, vary: res.headers['vary'] });
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
      req.end();
    });
  }
  const own = (text: string): string => text.split('\n').filter((l) => l.startsWith('k0s_etcdmember_')).join('\n');

  it('serves gzip when the scraper asks for it, decoding to the same text as the plain body', async () => {
    const plain = await scrape();
    assert.equal(plain.encoding, undefined, 'no Accept-Encoding, no gzip: curl and wrk expect plain text');
    const gz = await scrape('gzip');
    assert.equal(gz.encoding, 'gzip');
    assert.equal(gz.vary, 'Accept-Encoding');
    assert.equal(own(gz.text), own(plain.text));
    assert.ok(gz.text.includes('k0s_etcdmember_object_problem{name="c1",member_id="a1",problem="duplicate"} 1'));
    assert.match(gz.text, /^process_cpu_seconds_total \S+$/m, 'the process metrics are in the gzip body too');
    assert.equal((await scrape('gzip;q=0, identity')).encoding, undefined, 'a scraper that refuses gzip gets plain text');
  });

  it('gives curl --compressed the whole body (one gzip member, not several)', async (t) => {
    // Asynchronously: the server answering curl runs in this process.
    const curl = await new Promise<{ error: (Error & { code?: string | number | null }) | null; stdout: string; stderr: string }>((resolve) => {
      execFile('curl', ['--silent', '--show-error', '--compressed', '--max-time', '5', url], { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) =>
        resolve({ error, stdout, stderr }),
      );
    });
    if (curl.error?.code === 'ENOENT' && process.env['CI'] !== 'true') return t.skip('curl is not installed');
    assert.equal(curl.error, null, curl.stderr);
    assert.ok(curl.stdout.includes('k0s_etcdmember_build_info{'), 'the families after the pre-rendered part arrive');
    assert.match(curl.stdout, /^process_cpu_seconds_total \S+$/m, 'and the process metrics after them');
  });

  it("drops a deleted object's series at the next scrape, plain and gzip alike", async () => {
    report = k0s5369();
    for (const enc of [undefined, 'gzip']) assert.ok((await scrape(enc)).text.includes('name="c1"'));
    report = analyse(etcd, { crdPresent: true, objects: [obj('c1.example.org', 'a1'), obj('c2.example.org', 'b2')] }, host);
    for (const enc of [undefined, 'gzip']) {
      const { text } = await scrape(enc);
      assert.deepEqual(text.split('\n').filter((l) => l.includes('name="c1"')), [], `encoding ${enc ?? 'identity'}`);
      assert.ok(text.includes('k0s_etcdmember_duplicates 0'));
    }
  });

  it('omits a figure whose source is down from the next scrape, and shows source_up 0 at once', async () => {
    report = k0s5369();
    assert.ok((await scrape('gzip')).text.includes('k0s_etcdmember_hostname_drift 1'));
    // Health is read at every scrape: a failed read shows even before the analysis has run again.
    health.etcd = { attempted: true, up: false, lastSuccessMs: 1_700_000_000_000, lastDurationSeconds: 5 };
    assert.ok((await scrape('gzip')).text.includes('k0s_etcdmember_source_up{source="etcd"} 0'));
    report = analyse(undefined, { crdPresent: true, objects: [obj('c1', 'a1'), obj('c1.example.org', 'a1')] }, host);
    for (const enc of [undefined, 'gzip']) {
      const { text } = await scrape(enc);
      assert.deepEqual(text.split('\n').filter((l) => l.startsWith('k0s_etcdmember_hostname_drift')), [], `encoding ${enc ?? 'identity'}`);
      assert.ok(text.includes('k0s_etcdmember_source_up{source="etcd"} 0'));
      assert.ok(text.includes('k0s_etcdmember_duplicates 1'));
    }
    health.etcd = { attempted: true, up: true, lastSuccessMs: 1_700_000_001_000, lastDurationSeconds: 0.01 };
  });

  it('counts an error at the next scrape', async () => {
    kubernetesErrors.set('gone', 1);
    assert.ok((await scrape('gzip')).text.includes('k0s_etcdmember_source_errors_total{source="kubernetes",reason="gone"} 1'));
  });

  it('renders the process metrics at most once a second', async () => {
    const cpu = (text: string): string => /^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? 'absent';
    // Burn CPU between two scrapes within the second: the figure stays; after the second it moves.
    await new Promise((r) => setTimeout(r, 1100));
    const first = cpu((await scrape()).text);
    const until = Date.now() + 50;
    while (Date.now() < until);
    assert.equal(cpu((await scrape()).text), first);
    await new Promise((r) => setTimeout(r, 1100));
    assert.notEqual(cpu((await scrape()).text), first);
  });

  it('answers a render that throws with a 500 in plain text and one log line saying why', async () => {
    const logs: string[] = [];
    const failing = { contentType: exposition.contentType, scrape: (): Promise<never> => Promise.reject(new Error('collector blew up')) };
    const app = createApp({ exposition: failing, telemetryPath: '/metrics', ready: () => true, version: '1.2.3', status: k0s5369Document });
    const broken = await new Promise<Server>((resolve) => {
      const s = createServer(metricsFirst(app, { exposition: failing, telemetryPath: '/metrics', logger: createLogger('info', 'json', (l) => logs.push(l)) }));
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(broken.address() as AddressInfo).port}/metrics`);
      assert.equal(res.status, 500);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await res.text(), /rendering the metrics failed/);
      assert.equal(logs.length, 1, logs.join('\n'));
      const line = JSON.parse(logs[0]!) as Record<string, unknown>;
      assert.equal(line['level'], 'error');
      assert.equal(line['msg'], 'rendering /metrics failed');
      assert.equal(line['err'], 'collector blew up');
    } finally {
      broken.closeAllConnections();
      broken.close();
    }
  });
});
