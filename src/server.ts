// HTTP surface: metrics, the status page and its JSON, liveness and readiness. Handlers only read state that is
// already there.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import Negotiator from 'negotiator';
import type { Exposition } from './exposition.js';
import type { Logger } from './log.js';
import type { StatusDocument } from './status-document.js';
import { internalError } from './web/serve.js';
import { RUNBOOK_PATH, type RunbookPage } from './web/runbook.js';
import { JSON_HEADERS, PAGE_HEADERS, renderStatusPage } from './web/status-page.js';

export interface ServerOptions {
  readonly exposition: Pick<Exposition, 'contentType' | 'scrape'>;
  readonly telemetryPath: string;
  readonly ready: () => boolean;
  readonly version: string;
  /** The runbook page, or why it could not be read (then /runbook says so); absent: no /runbook. */
  readonly runbook?: RunbookPage | Error;
  /** The status document of the last refresh, as `check -o json` prints it. */
  readonly status: () => StatusDocument;
}

/**
 * The app with GET and HEAD of exactly the telemetry path (the query string aside) answered before express's
 * router, which costs more per request than writing the pre-rendered body does (docs/development.md, Benchmark). Everything
 * else, /metrics asked with another method included, goes to the app and its routing.
 */
export function metricsFirst(app: RequestListener, opts: Pick<ServerOptions, 'exposition' | 'telemetryPath'> & { readonly logger: Logger }): RequestListener {
  return (req, res) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    if ((req.method === 'GET' || req.method === 'HEAD') && (query === -1 ? url : url.slice(0, query)) === opts.telemetryPath) {
      writeMetrics(req, res, opts.exposition).catch((err: unknown) => {
        opts.logger.error('rendering /metrics failed', { path: opts.telemetryPath, err: (err as Error).message });
        internalError(res, 'rendering the metrics failed');
      });
      return;
    }
    app(req, res);
  };
}

/** One scrape: the body is mostly pre-rendered (src/exposition.ts) and written as it is, gzip if asked for. */
async function writeMetrics(req: IncomingMessage, res: ServerResponse, exposition: ServerOptions['exposition']): Promise<void> {
  // Gzip only for a scraper that asks for it (Prometheus does). Without Accept-Encoding HTTP allows any coding,
  // but curl and wrk send none and expect plain text.
  const gzip = req.headers['accept-encoding'] !== undefined && new Negotiator(req).encodings(['gzip', 'identity'])[0] === 'gzip';
  const { body, encoding } = await exposition.scrape(gzip);
  res.writeHead(200, {
    'Content-Type': exposition.contentType,
    'Content-Length': body.length,
    Vary: 'Accept-Encoding',
    ...(encoding === undefined ? {} : { 'Content-Encoding': encoding }),
  });
  res.end(body);
}

export function createApp(opts: ServerOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Route as Go's net/http ServeMux does for the exporters Prometheus users know: the path must match exactly
  // (/METRICS and /metrics/ are not /metrics), the query string plays no part (/metrics?x=1 is /metrics).
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  /** The paths served, all by GET (and HEAD, which Express answers with GET): what the 405 below knows. */
  const getPaths = new Set<string>();
  const get = (path: string, handler: express.RequestHandler): void => {
    getPaths.add(path);
    app.get(path, handler);
  };
  get(opts.telemetryPath, (req, res) => writeMetrics(req, res, opts.exposition));
  get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  get('/readyz', (_req, res) => {
    if (opts.ready()) res.type('text/plain').send('ready\n');
    else res.status(503).type('text/plain').send('not ready: the first read of every source (etcd, the Kubernetes API, the k0s config) has not finished\n');
  });
  get('/', (_req, res) => {
    res.set(PAGE_HEADERS).type('html').send(renderStatusPage(opts.status(), { telemetryPath: opts.telemetryPath, version: opts.version }));
  });
  const runbook = opts.runbook;
  if (runbook !== undefined) {
    get(RUNBOOK_PATH, (_req, res) => {
      if (runbook instanceof Error) res.status(404).type('text/plain').send(`the runbook is not served: ${runbook.message}\n`);
      else res.set(runbook.headers).type('html').send(runbook.html);
    });
  }
  get('/status.json', (_req, res) => {
    res.set(JSON_HEADERS).type('json').send(`${JSON.stringify(opts.status(), null, 2)}\n`);
  });
  // A known path asked with another method: 405 naming the methods it has, not a misleading 404. Every route
  // is a GET of an exact path (strict, case-sensitive routing), so the set of those paths is the whole answer.
  app.use((req, res, next) => {
    if (!getPaths.has(req.path)) {
      next();
      return;
    }
    res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('method not allowed\n');
  });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  return app;
}
