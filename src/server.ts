// HTTP surface: metrics, a landing page, liveness and readiness. Handlers only read state that is already there.
import express from 'express';
import type { Registry } from 'prom-client';

export interface ServerOptions {
  readonly registry: Registry;
  readonly telemetryPath: string;
  readonly ready: () => boolean;
  readonly version: string;
}

export function createApp(opts: ServerOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get(opts.telemetryPath, async (_req, res) => {
    const body = await opts.registry.metrics();
    res.type(opts.registry.contentType).send(body);
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    if (opts.ready()) res.type('text/plain').send('ready\n');
    else res.status(503).type('text/plain').send('not ready: the first read of etcd and of the Kubernetes API has not finished\n');
  });
  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(opts.telemetryPath, opts.version));
  });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  return app;
}

function landingPage(telemetryPath: string, version: string): string {
  const path = telemetryPath.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>k0s etcdmember exporter</title></head>
<body>
<h1>k0s etcdmember exporter</h1>
<p>Compares etcd's member list with k0s EtcdMember objects. Version ${version.replace(/[^\w.+-]/g, '')}.</p>
<ul>
<li><a href="${path}">Metrics</a></li>
<li><a href="/healthz">Health</a></li>
<li><a href="/readyz">Readiness</a></li>
</ul>
</body>
</html>
`;
}
