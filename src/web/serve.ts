// Serves an app over HTTP or, with a web config, HTTPS and basic auth, and says "listening" only once the socket
// is bound.
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { AuthBusy, BasicAuthChecker, parseBasicAuth } from './auth.js';
import type { LiveWebConfig } from './live.js';
import { clientCertProblem, type ServerTls } from './tls.js';
import type { ClientAuthType } from './config.js';

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
  return listenOn(handler, { host: o.host, port: o.port }, o.web, o.logger, o.fields);
}

/** Where to serve: an address to bind, or a socket already bound and listening (systemd's, by descriptor). */
export type ListenTarget = { readonly host: string | undefined; readonly port: number } | { readonly fd: number };

/** How a target is named in logs and errors: host:port as --web.listen-address takes it, or fd N. */
export function targetName(t: ListenTarget): string {
  return 'fd' in t ? `fd ${t.fd}` : listenAddress(t.host, t.port);
}

/** A listen that failed, naming the address (or systemd's descriptor) it was for. */
export class ListenError extends Error {
  constructor(
    readonly target: string,
    override readonly cause: Error,
  ) {
    super(`${target}: ${cause.message}`);
    this.name = 'ListenError';
  }
}

/** The servers of every listen target, closed together. */
export interface Servers {
  readonly servers: readonly Server[];
  close(): void;
  closeAllConnections(): void;
}

export interface ServeAllOptions {
  readonly targets: readonly ListenTarget[];
  readonly web: LiveWebConfig | undefined;
  readonly logger: Logger;
  readonly fields?: Record<string, string>;
}

/**
 * Serves the app on every target, each with the same web config (TLS, basic auth, headers), as exporter-toolkit
 * serves every --web.listen-address; "listening" is logged once per address. Resolves once all are bound;
 * rejects with a ListenError naming the first that failed, after closing those already bound.
 */
export async function serveAll(app: RequestListener, o: ServeAllOptions): Promise<Servers> {
  const handler = guard(app, o.web, o.logger);
  const servers: Server[] = [];
  for (const target of o.targets) {
    try {
      servers.push(await listenOn(handler, target, o.web, o.logger, o.fields));
    } catch (err) {
      for (const s of servers) s.close();
      throw new ListenError(targetName(target), err as Error);
    }
  }
  return {
    servers,
    close: () => servers.forEach((s) => s.close()),
    closeAllConnections: () => servers.forEach((s) => s.closeAllConnections()),
  };
}

async function listenOn(handler: RequestListener, target: ListenTarget, web: LiveWebConfig | undefined, logger: Logger, fields?: Record<string, string>): Promise<Server> {
  const tls = web?.current().tls;
  const server = tls === undefined ? createHttpServer(handler) : tlsServer(handler, web!, logger);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const options = 'fd' in target ? { fd: target.fd } : { port: target.port, ...(target.host === undefined ? {} : { host: target.host }) };
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  logger.info('listening', {
    // The bound port, which differs from the configured one when that was 0; a socket from systemd says what
    // it is bound to.
    address: 'fd' in target
      ? typeof bound === 'string' || bound === null ? String(bound) : listenAddress(bound.address, bound.port)
      : listenAddress(target.host, (bound as AddressInfo).port),
    ...('fd' in target ? { fd: String(target.fd) } : {}),
    tls: tls !== undefined,
    basic_auth: (web?.current().config.users.size ?? 0) > 0,
    ...fields,
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

/**
 * Go's net/http answer to a plain HTTP request on a TLS port (server.go), which the toolkit's exporters give; sent
 * when the first five bytes are one of Go's tlsRecordHeaderLooksLikeHTTP prefixes. Any other non-TLS start is
 * closed, as Go does.
 */
export const PLAIN_HTTP_ON_TLS_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
const HTTP_PREFIXES = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];
/** How long a new connection may take to send its first bytes (Node's own default headersTimeout). */
const FIRST_BYTES_TIMEOUT_MS = 60_000;

/**
 * An HTTPS server whose every TLS setting is the web config's as it is when a connection arrives, as the
 * toolkit's GetConfigForClient reads the config for every handshake. Node takes the certificates, CAs, versions
 * and ciphers from the server's secure context (setSecureContext), but the client certificate policy
 * (requestCert, rejectUnauthorized) from the server object for each connection it wraps in TLS: both are set
 * here, just before Node's own connection handler wraps the socket, so a tightened or loosened
 * client_auth_type applies to the very next connection. (Those two are plain properties of tls.Server that Node
 * reads per connection, not a documented setter; web-serve.test.ts asserts each policy at the next connection in
 * both directions, so a Node that stops reading them fails the tests.) Every reload builds a new secure context,
 * whose fresh session ticket keys and cache mean no session of an earlier config is resumed under a new one.
 *
 * The first bytes are looked at before TLS starts: a plain HTTP request gets Go's 400 answer instead of a
 * closed connection. An established connection keeps the settings of its handshake, as with the toolkit.
 */
function tlsServer(handler: RequestListener, web: LiveWebConfig, logger: Logger): Server {
  const https = createHttpsServer(web.current().tls!.options, handler);
  let applied: ServerTls = web.current().tls!;
  // Node's own 'connection' listener: the one that wraps a socket in TLS. Called below, once the bytes are TLS.
  const wrapInTls = https.listeners('connection') as ((raw: Socket) => void)[];
  https.removeAllListeners('connection');
  /** The client certificate policy each connection was wrapped under, by its address pair, until its handshake ends. */
  const policies = new Map<string, ClientAuthType>();
  const key = (s: Socket): string => `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;

  https.on('connection', (raw: Socket) => {
    firstBytes(raw, (looksLikeHttp) => {
      if (looksLikeHttp) {
        logger.debug('plain HTTP request on the TLS port', { remote: raw.remoteAddress });
        raw.end(PLAIN_HTTP_ON_TLS_ANSWER, () => raw.destroy());
        return;
      }
      web.refresh();
      const tls = web.current().tls ?? applied;
      if (tls !== applied) {
        https.setSecureContext(tls.options);
        applied = tls;
      }
      const policy = https as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
      policy.requestCert = tls.options.requestCert === true;
      policy.rejectUnauthorized = tls.options.rejectUnauthorized === true;
      const k = key(raw);
      policies.set(k, tls.clientAuthType);
      raw.once('close', () => policies.delete(k));
      for (const wrap of wrapInTls) wrap.call(https, raw);
    });
  });
  // Before the HTTP parser sees a byte: what OpenSSL cannot enforce by itself (see clientCertProblem).
  https.prependListener('secureConnection', (socket: TLSSocket) => {
    const k = key(socket);
    const policy = policies.get(k) ?? 'NoClientCert';
    policies.delete(k);
    const problem = clientCertProblem(policy, { hasCert: Object.keys(socket.getPeerCertificate() ?? {}).length > 0, authorized: socket.authorized });
    if (problem !== undefined) {
      logger.debug('TLS client refused', { remote: socket.remoteAddress, reason: problem });
      socket.destroy();
    }
  });
  // Scanners and plain-http clients fail handshakes all day; one line each only when debugging.
  https.on('tlsClientError', (err: Error, socket: Socket) => logger.debug('TLS handshake failed', { remote: socket.remoteAddress, err: err.message }));
  return https;
}

/**
 * Waits for enough of a connection's first bytes to tell TLS from plain HTTP (Go looks at the 5-byte record
 * header), puts them back, and calls `decide`. A connection that sends nothing in time, or closes first, is dropped.
 */
function firstBytes(raw: Socket, decide: (looksLikeHttp: boolean) => void): void {
  let head = Buffer.alloc(0);
  const done = (): void => {
    raw.off('data', onData);
    raw.off('end', onEnd);
    raw.setTimeout(0);
    raw.pause();
  };
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    // A TLS record starts with its type (22, handshake): no HTTP method starts with that byte, so one is enough.
    const maybeHttp = HTTP_PREFIXES.some((p) => p.startsWith(head.subarray(0, Math.min(5, head.length)).toString('latin1')));
    if (maybeHttp && head.length < 5) return;
    done();
    raw.unshift(head);
    decide(maybeHttp);
  };
  const onEnd = (): void => {
    done();
    raw.destroy();
  };
  raw.on('data', onData);
  raw.once('end', onEnd);
  raw.on('error', () => raw.destroy());
  raw.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => raw.destroy());
}
