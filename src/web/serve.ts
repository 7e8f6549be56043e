// Serves an app over HTTP or, with a web config, HTTPS and basic auth, and says "listening" only once the socket
// is bound.
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { AuthBusy, BasicAuthChecker, parseBasicAuth } from './auth.js';
import type { LiveWebConfig } from './live.js';
import { clientCertProblem } from './tls.js';

/**
 * Paths answered without basic auth. Kubernetes probes cannot send credentials (short of writing the password
 * into the manifest), and these say nothing but "ok", "ready" or "not ready". Everything else, including the
 * landing page and unknown paths, needs the password, as with the toolkit.
 */
export const OPEN_PATHS: readonly string[] = ['/healthz', '/readyz'];

export interface ServeOptions {
  readonly host: string | undefined;
  readonly port: number;
  readonly web: LiveWebConfig | undefined;
  readonly logger: Logger;
  readonly fields?: Record<string, string>;
}

/** Wraps an app with the web config's headers and basic auth. */
export function guard(app: RequestListener, web: LiveWebConfig | undefined, logger: Logger): RequestListener {
  if (web === undefined) return app;
  const checker = new BasicAuthChecker();
  return (req: IncomingMessage, res: ServerResponse) => {
    web.refresh();
    const { config } = web.current();
    for (const [name, value] of config.headers) res.setHeader(name, value);
    const path = (req.url ?? '/').split('?')[0]!;
    if (config.users.size === 0 || OPEN_PATHS.includes(path)) {
      app(req, res);
      return;
    }
    // Ends when the client has gone before its answer was written, so its queued password check is skipped.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    checker.check(config.users, parseBasicAuth(req.headers.authorization), gone.signal).then(
      (ok) => {
        if (ok) {
          app(req, res);
          return;
        }
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Basic');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end('Unauthorized\n');
      },
      (err: unknown) => {
        if (err instanceof AuthBusy) {
          res.statusCode = 503;
          res.setHeader('Retry-After', String(err.retryAfterSeconds));
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end('Too many password checks waiting; retry later\n');
          return;
        }
        // The error only: the request's credentials are never logged.
        logger.error('basic auth check failed', { path, err: (err as Error).message });
        internalError(res, 'the password check failed');
      },
    );
  };
}

/** host:port as --web.listen-address takes it: an IPv6 host in brackets, no host for all addresses. */
export function listenAddress(host: string | undefined, port: number): string {
  return `${host === undefined ? '' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Creates the server and resolves once it is bound; rejects with the listen error (port taken, no such address). */
export async function serve(app: RequestListener, o: ServeOptions): Promise<Server> {
  const handler = guard(app, o.web, o.logger);
  const tls = o.web?.current().tls;
  let server: Server;
  if (tls === undefined) {
    server = createHttpServer(handler);
  } else {
    const https = createHttpsServer(tls.options, handler);
    o.web!.setTlsListener((next) => https.setSecureContext(next.options));
    // Before the TLS socket is made from the connection, so a rotated certificate is used by this handshake.
    https.prependListener('connection', () => o.web!.refresh());
    https.on('secureConnection', (socket: TLSSocket) => {
      const policy = o.web!.current().tls?.clientAuthType ?? 'NoClientCert';
      const problem = clientCertProblem(policy, { hasCert: Object.keys(socket.getPeerCertificate() ?? {}).length > 0, authorized: socket.authorized });
      if (problem !== undefined) {
        o.logger.debug('TLS client refused', { remote: socket.remoteAddress, reason: problem });
        socket.destroy();
      }
    });
    // Scanners and plain-http clients fail handshakes all day; one line each only when debugging.
    https.on('tlsClientError', (err: Error, socket: Socket) => o.logger.debug('TLS handshake failed', { remote: socket.remoteAddress, err: err.message }));
    server = https;
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port: o.port, ...(o.host === undefined ? {} : { host: o.host }) }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  o.logger.info('listening', {
    // The bound port, which differs from the configured one when that was 0.
    address: listenAddress(o.host, bound.port),
    tls: tls !== undefined,
    basic_auth: (o.web?.current().config.users.size ?? 0) > 0,
    ...o.fields,
  });
  return server;
}

/** Ends a request that failed inside the exporter: a plain-text 500 pointing to the log, or just the end once the headers went out. */
export function internalError(res: ServerResponse, what: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = 500;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`Internal Server Error: ${what}; see the exporter log\n`);
}
