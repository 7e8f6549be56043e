// Routing as Go's net/http ServeMux does it for the exporters Prometheus users know (issue 12, fix 6): exact,
// case-sensitive paths, the query string ignored, and 405 with Allow for a known path asked with another method.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Exposition } from '../src/exposition.js';
import { createApp } from '../src/server.js';
import { k0s5369Document } from './status-page-fixtures.js';

describe('routing', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const registry = new Registry();
    const app = createApp({ exposition: new Exposition(registry.contentType, [{ render: () => registry.metrics(), key: () => 0 }]), telemetryPath: '/metrics', ready: () => true, version: '0.0.0', status: k0s5369Document });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => server.close());

  const cases: [string, string, number][] = [
    ['GET', '/metrics', 200],
    ['GET', '/metrics?x=1', 200],
    ['HEAD', '/metrics', 200],
    ['GET', '/METRICS', 404],
    ['GET', '/metrics/', 404],
    ['GET', '/Healthz', 404],
    ['GET', '/healthz/', 404],
    ['GET', '/status.json', 200],
    ['GET', '/status.json/', 404],
    ['GET', '/nope', 404],
    ['POST', '/nope', 404],
  ];
  for (const [method, path, status] of cases) {
    it(`${method} ${path} -> ${status}`, async () => {
      const res = await fetch(base + path, { method });
      assert.equal(res.status, status);
    });
  }

  for (const method of ['POST', 'DELETE', 'PUT', 'PATCH']) {
    for (const path of ['/metrics', '/healthz', '/readyz', '/', '/status.json']) {
      it(`${method} ${path} -> 405 with Allow`, async () => {
        const res = await fetch(base + path, { method });
        assert.equal(res.status, 405);
        assert.equal(res.headers.get('allow'), 'GET, HEAD');
      });
    }
  }
});
