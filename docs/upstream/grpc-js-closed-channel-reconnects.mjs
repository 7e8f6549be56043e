#!/usr/bin/env node
// Reproduction for grpc-js-closed-channel-reconnects.md: a grpc-js channel closed while it waits out its reconnect
// backoff still makes its next connection attempt when the backoff ends, and when the server is back by then it
// keeps that connection. Only @grpc/grpc-js and Node built-ins, no TLS, no gRPC service: the server is Node's own
// HTTP/2 server (h2c), which is all a channel needs to become READY.
//
//   node docs/upstream/grpc-js-closed-channel-reconnects.mjs            (all cases; about 15 s)
//   GRPC_TRACE=subchannel,subchannel_refcount GRPC_VERBOSITY=DEBUG node docs/upstream/grpc-js-closed-channel-reconnects.mjs A
//   WAIT_MS=60000 node --expose-gc docs/upstream/grpc-js-closed-channel-reconnects.mjs A   (a longer wait, then a GC)
//
// Every case uses a fresh port of 127.0.0.1 and grpc-js's default channel options (first backoff 1 s +-20 %):
//   A  one channel, READY; the server stops; the channel tries again, fails and is in TRANSIENT_FAILURE; it is
//      closed; the server restarts on the same port at once.
//   B  as A, but the channel is closed while CONNECTING: the restarted server accepts the TCP connection and
//      answers HTTP/2 only 1 s after the close.
//   C  three channels made while the server is down, each closed in TRANSIENT_FAILURE (a few ms apart); the server
//      restarts at once.
//   D  as A, but the server restarts only 2.5 s after the close, when the first backoff has ended.
// For each: the TCP connections this process starts after the (last) close, the ones the server accepts after
// it, and how many of those are still open WAIT_MS (3 s) after the server restarted (B: answered). Expected: 0,
// 0, 0. Exit status 1 when a closed channel left an open connection, else 0.
import { subscribe } from 'node:diagnostics_channel';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import net from 'node:net';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import grpc from '@grpc/grpc-js';

const grpcVersion = createRequire(import.meta.url)('@grpc/grpc-js/package.json').version;
const WAIT_MS = Number(process.env.WAIT_MS ?? 3000);
const { READY, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;
const stateName = (s) => grpc.connectivityState[s];

/** How many TCP client connections this process has started (Node publishes every one here as it creates it). */
let connectsStarted = 0;
subscribe('net.client.socket', () => connectsStarted++);

/** A TCP listener on 127.0.0.1 that answers HTTP/2 (h2c) or, when holding, accepts and says nothing. */
class Server {
  constructor() {
    this.h2 = http2.createServer();
    this.h2.on('session', (session) => session.on('error', () => {}));
    /** Every TCP connection accepted, and whether it is still open. */
    this.accepted = [];
    this.held = [];
  }

  /** Listens on `port` (0: a free one); `hold`: accept connections but answer none until answerHeld(). */
  async start(port, { hold = false } = {}) {
    // pauseOnConnect: nothing is read from a held socket, so the HTTP/2 server can take it over whole later.
    this.listener = net.createServer({ pauseOnConnect: true }, (socket) => {
      const conn = { open: true, socket };
      this.accepted.push(conn);
      socket.on('error', () => {});
      socket.on('close', () => (conn.open = false));
      if (hold) this.held.push(socket);
      else this.answer(socket);
    });
    await new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, '127.0.0.1', resolve);
    });
    return this.listener.address().port;
  }

  answer(socket) {
    this.h2.emit('connection', socket);
    // The HTTP/2 session now reads the socket's handle; resume() starts the reading pauseOnConnect held back.
    socket.resume();
  }

  answerHeld() {
    for (const socket of this.held.splice(0)) this.answer(socket);
  }

  /** Stops listening and drops every connection, as a server process that dies does. */
  async stop() {
    const closed = new Promise((resolve) => this.listener.close(resolve));
    for (const c of this.accepted) c.socket.destroy();
    await closed;
  }
}

/** Waits until the channel is in `wanted`, asking it to connect (getConnectivityState(true)) at every change. */
function waitForState(channel, wanted, ms = 5000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      // getConnectivityState(true) returns the state from before it asked to connect: watch the state after it.
      channel.getConnectivityState(true);
      const state = channel.getConnectivityState(false);
      if (state === wanted) return resolve();
      channel.watchConnectivityState(state, deadline, (err) =>
        err ? reject(new Error(`channel still ${stateName(state)} after ${ms} ms, waiting for ${stateName(wanted)}`)) : check(),
      );
    };
    check();
  });
}

async function waitFor(what, test, ms = 5000) {
  for (const deadline = Date.now() + ms; !test(); await sleep(10)) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
  }
}

const newClient = (port) => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

/** Closes the client; returns the channel's state just before, and how many connections had been started. */
function close(client) {
  const state = client.getChannel().getConnectivityState(false);
  client.close();
  return { state, connectsBefore: connectsStarted };
}

/**
 * WAIT_MS on, the connections this process started after `closed` and those `server` accepted after it (all of
 * them when the server was started after the close), then stops the server.
 */
async function outcome(server, closed, acceptedBefore = 0) {
  await sleep(WAIT_MS);
  // Under node --expose-gc: what is counted open has outlived a full garbage collection.
  globalThis.gc?.();
  await sleep(100);
  const accepted = server.accepted.slice(acceptedBefore);
  const r = { started: connectsStarted - closed.connectsBefore, accepted: accepted.length, open: accepted.filter((c) => c.open).length };
  await server.stop();
  return r;
}

/** A and D: one channel, READY, then closed in TRANSIENT_FAILURE; the server restarts `restartAfterMs` later. */
async function closedDuringBackoff(restartAfterMs) {
  const first = new Server();
  const port = await first.start(0);
  const client = newClient(port);
  await waitForState(client.getChannel(), READY);
  await first.stop();
  await waitForState(client.getChannel(), TRANSIENT_FAILURE);
  const closed = close(client);
  await sleep(restartAfterMs);
  const second = new Server();
  await second.start(port);
  return { channels: 1, closedIn: stateName(closed.state), ...(await outcome(second, closed)) };
}

/** B: closed in CONNECTING: the server has accepted the TCP connection and answers HTTP/2 only after the close. */
async function closedWhileConnecting() {
  const first = new Server();
  const port = await first.start(0);
  const client = newClient(port);
  await waitForState(client.getChannel(), READY);
  await first.stop();
  const second = new Server();
  await second.start(port, { hold: true });
  await waitForState(client.getChannel(), CONNECTING);
  await waitFor('the channel to open a TCP connection to the holding server', () => second.accepted.length === 1);
  const closed = close(client);
  const inProgress = second.accepted[0];
  await sleep(1000);
  const openBefore = inProgress.open ? 'open' : 'closed';
  second.answerHeld();
  const r = await outcome(second, closed, 1);
  const note = `the connection in progress at the close: ${openBefore} 1 s after it (the server silent), ${inProgress.open ? 'open' : 'closed'} once the server answered`;
  return { channels: 1, closedIn: stateName(closed.state), ...r, note };
}

/** C: channels made while the server is down, each closed in TRANSIENT_FAILURE; then the server restarts. */
async function severalClosedDuringOneOutage(n) {
  const probe = new Server();
  const port = await probe.start(0);
  await probe.stop();
  const closes = [];
  for (let i = 0; i < n; i++) {
    const client = newClient(port);
    await waitForState(client.getChannel(), TRANSIENT_FAILURE);
    closes.push(close(client));
  }
  const server = new Server();
  await server.start(port);
  const closedIn = [...new Set(closes.map((c) => stateName(c.state)))].join(', ');
  return { channels: n, closedIn, ...(await outcome(server, closes.at(-1))) };
}

process.stdout.write(`@grpc/grpc-js ${grpcVersion}, Node.js ${process.version}, ${process.platform}-${process.arch}\n`);
// Arguments pick cases (`... A` runs A alone, e.g. to trace it); none runs them all.
const cases = [
  ['A closed during backoff, server back at once', () => closedDuringBackoff(0)],
  ['B closed while connecting', closedWhileConnecting],
  ['C 3 channels closed during one outage, server back at once', () => severalClosedDuringOneOutage(3)],
  ['D closed during backoff, server back after 2.5 s', () => closedDuringBackoff(2500)],
].filter(([name]) => process.argv.length <= 2 || process.argv.slice(2).includes(name[0]));
let kept = 0;
for (const [name, run] of cases) {
  const r = await run();
  kept += r.open;
  process.stdout.write(
    `${name}: ${r.channels} channel(s) closed in ${r.closedIn}; after the close this process started ${r.started} TCP connection(s), ` +
      `the server accepted ${r.accepted}, ${r.open} still open ${WAIT_MS / 1000} s later (expected 0, 0, 0)` +
      `${r.note ? `; ${r.note}` : ''}\n`,
  );
}
process.stdout.write(kept > 0 ? `reproduced: closed channels keep ${kept} connection(s)\n` : 'not reproduced: closed channels keep no connection\n');
process.exit(kept > 0 ? 1 : 0);
