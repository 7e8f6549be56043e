// Reads etcd's member list and the identity of the member behind the first endpoint.
//
// The exporter's source keeps its clients (one per endpoint) from one read to the next while reads are healthy:
// a fresh set costs a TLS handshake per endpoint and about five times the CPU of a read on open connections.
// Any failure drops them, and the next read builds fresh ones: a member that was down is reached again at once
// (no gRPC reconnect backoff of up to two minutes), and a member that hangs can never keep a stuck channel
// around. A failure is any call of the read failing on any endpoint, even one whose member list was not needed
// because another answered first, and even when it fails after the read has returned (a hung member's call ends
// at its gRPC deadline); and the read's own deadline or abort. The TLS files are read at every read, and kept
// clients built from other bytes are replaced, so files renewed in place are used at the next read. (Both
// shipped deployments hand the exporter copies of the files taken when it starts, so there a renewal still
// needs a restart.) check and prune read once, with clients built for that read and closed after it. The etcd3
// library's own retries and circuit breakers are switched off: the deadline of the read is the only bound, and
// the endpoints are asked in parallel so a hung one costs nothing.
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { Etcd3, GRPCDeadlineExceededError, GRPCUnauthenticatedError, GRPCUnavailableError, EtcdPermissionDeniedError } from 'etcd3';
import { noop } from 'cockatiel';
import type { Logger } from '../log.js';
import { memberIdFromDecimal, type EtcdMember, type EtcdSnapshot } from '../model.js';
import { certificateProblem, keyPairProblem } from '../tls-files.js';
import { tlsCodeInText, tlsErrorCode } from '../tls-errors.js';
import { PolledSource } from './polled.js';
import { SourceError, abortError, errorMessage, raceSignal, reasonForNodeError, requestSignal, type ErrorReason } from './source.js';

export interface EtcdReadOptions {
  readonly endpoints: readonly string[];
  /** Paths, read at every read: an exporter pointed at k0s's own files (not a copy) uses renewed ones without a restart. */
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** Deadline of one read, TLS files and both calls included. */
  readonly timeoutMs: number;
}

export interface EtcdSourceOptions extends EtcdReadOptions {
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** The TLS files' bytes as grpc-js takes them; undefined for plain http endpoints. */
export type Credentials = { readonly rootCertificate: Buffer; readonly certChain?: Buffer; readonly privateKey?: Buffer } | undefined;

/** Why kept clients were dropped: the reason field of the "new etcd clients" debug line. */
type RebuildReason = 'none_kept' | 'call_failed' | 'read_failed' | 'tls_files_changed' | 'endpoints_changed' | 'closed';

interface RawMember {
  ID?: unknown;
  name?: unknown;
  peerURLs?: unknown;
  clientURLs?: unknown;
  isLearner?: unknown;
}

/**
 * One read of etcd, ended by its deadline (options.timeoutMs) or earlier by signal. The member list may come
 * from any endpoint; the local member (status of the first endpoint) failing only leaves localMemberId unknown.
 * With `kept`, the clients are taken from it and left open for the next read unless something failed; without,
 * they are built for this read and closed after it.
 */
export async function readEtcd(options: EtcdReadOptions, signal: AbortSignal, kept?: EtcdClients): Promise<EtcdSnapshot> {
  const { endpoints, timeoutMs } = options;
  const requestAbort = requestSignal(timeoutMs, signal);
  // gRPC's own deadline ends the calls on the wire at the same moment the signal fires.
  const deadline = new Date(Date.now() + timeoutMs);
  // The bytes of the kept clients were checked when they were built: the same bytes need no second check.
  const credentials = await readCredentials(options, requestAbort, kept?.credentials);
  const holder = kept ?? new EtcdClients();
  const set = holder.acquire(endpoints, credentials);
  // A call that fails drops the set, whenever it fails: also after the read has returned through another endpoint.
  const observed = <T>(call: Promise<T>): Promise<T> => {
    call.catch(() => set.retire('call_failed'));
    return call;
  };
  const [local] = set.clients;
  let healthy = false;
  try {
    if (!local) throw new SourceError('other', 'no etcd endpoints given');
    // Each call is raced on its own, so a member list that came in time survives a hung status call.
    const [list, status] = await Promise.allSettled([
      raceSignal(Promise.any(set.clients.map((c) => observed(set.run(() => c.cluster.memberList({}, { deadline }))))), requestAbort, `etcd member list from ${endpoints.join(',')}`, timeoutMs),
      raceSignal(observed(set.run(() => local.maintenance.status({ deadline }))), requestAbort, `etcd status from ${endpoints[0]}`, timeoutMs),
    ]);
    if (list.status === 'rejected') throw classify(firstError(list.reason), endpoints, 'member list');
    const members = parseMembers(list.value.members);
    if (status.status === 'rejected') {
      const e = classify(firstError(status.reason), endpoints.slice(0, 1), 'status');
      return { members, localMemberId: undefined, localMemberError: e.message };
    }
    const raw = (status.value.header as { member_id?: unknown } | undefined)?.member_id;
    if (typeof raw !== 'string' || !/^[0-9]+$/.test(raw)) {
      return { members, localMemberId: undefined, localMemberError: `status of the first endpoint has member_id ${JSON.stringify(raw)}, want a decimal uint64` };
    }
    healthy = true;
    return { members, localMemberId: memberIdFromDecimal(raw) };
  } finally {
    if (!healthy) set.retire('read_failed');
    set.release();
    if (!kept) holder.close();
  }
}

/**
 * The set whose call is running, through every callback and timer that call leads to inside grpc-js: the TCP
 * connections grpc-js opens are counted to the set whose call (or whose reconnect timer) opened them.
 */
const connectingFor = new AsyncLocalStorage<ClientSet>();
// Node publishes every TCP client socket it creates here, in the async context of the code creating it.
subscribe('net.client.socket', (message) => connectingFor.getStore()?.adopt((message as { socket: Socket }).socket));

/**
 * One etcd3 client per endpoint, built from one set of TLS bytes; closed once retired and no read uses it.
 *
 * Closing also destroys every TCP connection the set's clients opened, and any they open later. grpc-js
 * (1.14.7) does not end a connection attempt when its channel is closed: a channel closed while it waits to
 * reconnect to a dead member connects later anyway and keeps that connection with no owner, one or more per
 * member restart. Sets never share a connection: grpc-js shares subchannels only between channels with the same
 * credentials object, and each set builds its own.
 */
class ClientSet {
  readonly clients: Etcd3[];
  private readonly sockets = new Set<Socket>();
  private users = 0;
  /** Why no read takes this set any more; undefined while it is kept. */
  private retiredFor: RebuildReason | undefined;
  private closed = false;

  constructor(
    readonly endpoints: readonly string[],
    readonly credentials: Credentials,
  ) {
    this.clients = endpoints.map((host) => newEtcdClient(host, credentials));
  }

  /** Why a read with these endpoints and TLS bytes may not use this set; undefined when it may. */
  unfitFor(endpoints: readonly string[], credentials: Credentials): RebuildReason | undefined {
    if (this.retiredFor !== undefined) return this.retiredFor;
    if (!sameStrings(this.endpoints, endpoints)) return 'endpoints_changed';
    if (!sameCredentials(this.credentials, credentials)) return 'tls_files_changed';
    return undefined;
  }

  use(): void {
    this.users++;
  }

  /** Runs `call` so that connections it leads grpc-js to open belong to this set. */
  run<T>(call: () => T): T {
    return connectingFor.run(this, call);
  }

  /** A TCP connection one of this set's clients opened; destroyed at once if the set is already closed. */
  adopt(socket: Socket): void {
    if (this.closed) {
      // Node announces the socket before it calls connect() on it, and connect() revives a destroyed socket:
      // destroyed once the attempt has begun, it stays destroyed.
      process.nextTick(() => destroyQuietly(socket));
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  release(): void {
    this.users--;
    this.closeIfDone();
  }

  /** No read takes this set any more; it closes as soon as none uses it (at once, if none does). */
  retire(why: RebuildReason): void {
    this.retiredFor ??= why;
    this.closeIfDone();
  }

  private closeIfDone(): void {
    if (this.retiredFor === undefined || this.users > 0 || this.closed) return;
    this.closed = true;
    // Closing fails at once every call still waiting for a connection (a hung member stalls the TLS handshake).
    // A read still using the set closes it when it ends, so a late failure never cuts a later read short. Inside
    // run(): etcd3 waits for a connecting channel before it closes it, and what that opens is destroyed too.
    this.run(() => {
      for (const c of this.clients) c.close();
    });
    // What grpc-js would otherwise keep (see the class comment). A call still on the wire (a hung member's) fails
    // now rather than at its gRPC deadline, which changes nothing: no read uses the set any more.
    for (const s of this.sockets) destroyQuietly(s);
    this.sockets.clear();
  }
}

/**
 * Ends a connection under grpc-js's feet. Its TLS layer took over the socket's reading, so an error the socket
 * still sees (the member's reset answering ours) would reach no listener and end the process: it is expected.
 */
function destroyQuietly(socket: Socket): void {
  socket.on('error', () => {});
  socket.destroy();
}

/** The etcd clients the exporter's source keeps between healthy reads (see the top of this file). */
export class EtcdClients {
  private current: ClientSet | undefined;

  /** With a logger, each new set is logged (debug) with the reason the previous one was dropped. */
  constructor(private readonly logger?: Logger) {}

  /** The TLS credentials the kept clients were built with (undefined also when none are kept). */
  get credentials(): Credentials {
    return this.current?.credentials;
  }

  /** The kept set if it is healthy and fits, else a fresh one (the old one closed); release() it after the read. */
  acquire(endpoints: readonly string[], credentials: Credentials): ClientSet {
    const why = this.current === undefined ? 'none_kept' : this.current.unfitFor(endpoints, credentials);
    if (why !== undefined) {
      this.current?.retire(why);
      this.current = new ClientSet(endpoints, credentials);
      this.logger?.debug('new etcd clients', { reason: why });
    }
    this.current!.use();
    return this.current!;
  }

  /** Closes the kept clients (a read still using them closes them when it ends). */
  close(): void {
    this.current?.retire('closed');
    this.current = undefined;
  }
}

/** An etcd3 client for one endpoint, without the library's retries and circuit breakers: every call passes its deadline. */
export function newEtcdClient(host: string, credentials: Credentials): Etcd3 {
  return new Etcd3({ hosts: host, ...(credentials ? { credentials } : {}), faultHandling: { host: () => noop, global: noop } });
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function sameCredentials(a: Credentials, b: Credentials): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return a === b;
  return sameBytes(a.rootCertificate, b.rootCertificate) && sameBytes(a.certChain, b.certChain) && sameBytes(a.privateKey, b.privateKey);
}

/** etcd, read every interval (and soon after refreshSoon()), with clients kept between healthy reads. */
export class EtcdSource extends PolledSource<EtcdSnapshot> {
  private readonly clients: EtcdClients;

  constructor(opts: EtcdSourceOptions) {
    const clients = new EtcdClients(opts.logger);
    super({
      name: 'etcd',
      intervalMs: opts.intervalMs,
      logger: opts.logger,
      read: (signal) => readEtcd(opts, signal, clients),
      describe: (s) => ({ members: s.members.length, local_member_id: s.localMemberId }),
      observe: (previous, current) => {
        // Without the local member, local name drift cannot be judged: say why, once per change.
        if (current.localMemberError !== undefined && previous?.localMemberError === undefined) {
          opts.logger.warn('local etcd member unknown: local name drift is not exported', { err: current.localMemberError });
        } else if (current.localMemberError === undefined && previous?.localMemberError !== undefined) {
          opts.logger.info('local etcd member known again', { local_member_id: current.localMemberId });
        }
      },
    });
    this.clients = clients;
  }

  override async stop(): Promise<void> {
    // The read in flight (if any) has ended when super.stop() resolves, so this closes the clients at once.
    await super.stop();
    this.clients.close();
  }
}

/**
 * The TLS credentials of options, read now (check and prune build their own client for the linearizable read).
 * When the files hold the same bytes as `checked` (credentials this function returned before), that object is
 * returned without checking them again.
 */
export async function readCredentials(
  options: EtcdReadOptions,
  signal: AbortSignal,
  checked?: Credentials,
): Promise<Credentials> {
  const { caFile, certFile, keyFile } = options;
  if (caFile === undefined) return undefined;
  // A file that cannot be read is told by its error code (ENOENT, EACCES, EISDIR...), with the flag that names it.
  const read = (path: string, what: string): Promise<Buffer> =>
    readFile(path, { signal }).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      throw signal.aborted || code === undefined ? err : new SourceError('tls', `${what} ${path} cannot be read (${code})`);
    });
  try {
    const [rootCertificate, certChain, privateKey] = await Promise.all([
      read(caFile, 'etcd CA --etcd.ca-file'),
      certFile === undefined ? undefined : read(certFile, 'etcd client certificate --etcd.cert-file'),
      keyFile === undefined ? undefined : read(keyFile, 'etcd client key --etcd.key-file'),
    ]);
    const fresh: Credentials = {
      rootCertificate,
      ...(certChain ? { certChain } : {}),
      ...(privateKey ? { privateKey } : {}),
    };
    if (checked !== undefined && sameCredentials(fresh, checked)) return checked;
    // grpc-js would throw OpenSSL's bare words (and not as a SourceError); check the files first and name them.
    const problem =
      certificateProblem(rootCertificate, 'etcd CA --etcd.ca-file', caFile) ??
      (certChain && privateKey
        ? keyPairProblem(
            { pem: certChain, what: 'etcd client certificate --etcd.cert-file', path: certFile! },
            { pem: privateKey, what: 'etcd client key --etcd.key-file', path: keyFile! },
          )
        : undefined);
    if (problem !== undefined) throw new SourceError('tls', problem);
    return fresh;
  } catch (err) {
    if (err instanceof SourceError) throw err;
    if (signal.aborted) throw abortError(signal, 'reading the etcd TLS files', options.timeoutMs);
    throw new SourceError('tls', `cannot read etcd TLS files: ${errorMessage(err)}`);
  }
}

/** Validates etcd's answer at the boundary: anything unexpected is an invalid_response, never a guess. */
export function parseMembers(raw: unknown): EtcdMember[] {
  if (!Array.isArray(raw)) throw new SourceError('invalid_response', 'etcd member list has no members array');
  return raw.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw new SourceError('invalid_response', `etcd member #${i} is not an object`);
    const m = item as RawMember;
    const id = typeof m.ID === 'string' || typeof m.ID === 'number' ? String(m.ID) : undefined;
    if (id === undefined || !/^[0-9]+$/.test(id)) {
      throw new SourceError('invalid_response', `etcd member #${i} has ID ${JSON.stringify(m.ID)}, want a decimal uint64`);
    }
    return {
      id: memberIdFromDecimal(id),
      name: typeof m.name === 'string' ? m.name : '',
      peerURLs: stringArray(m.peerURLs),
      clientURLs: stringArray(m.clientURLs),
      isLearner: m.isLearner === true,
    };
  });
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The first endpoint's error out of the AggregateError of a call tried on several; it names the reason. */
export function firstError(reason: unknown): unknown {
  return reason instanceof AggregateError && reason.errors.length > 0 ? reason.errors[0] : reason;
}

function classify(err: unknown, endpoints: readonly string[], call: string): SourceError {
  if (err instanceof SourceError) return err;
  const where = endpoints.join(',');
  const reason = reasonFor(err);
  return new SourceError(reason, `etcd ${call} from ${where} failed (${reason}): ${etcdErrorDetail(err)}`);
}

/** An etcd client error's message for an operator. */
export function etcdErrorDetail(err: unknown): string {
  // grpc-js ends some messages with an empty "Resolution note: ", which tells an operator nothing.
  return errorMessage(err).replace(/\.?\s*Resolution note:\s*$/, '');
}

/** The reason an etcd call failed, as the source's error counts and `source_up` reasons name it. */
export function reasonFor(err: unknown): ErrorReason {
  if (err instanceof GRPCDeadlineExceededError) return 'timeout';
  if (err instanceof GRPCUnauthenticatedError) return 'unauthorized';
  if (err instanceof EtcdPermissionDeniedError) return 'forbidden';
  const message = errorMessage(err);
  // etcd's own end of our deadline (the grpc-timeout we send): a linearizable read that found no quorum in time
  // comes back as "2 UNKNOWN: context deadline exceeded", before or instead of the client's DEADLINE_EXCEEDED.
  if (/context deadline exceeded/i.test(message)) return 'timeout';
  // grpc-js keeps only the text of a failed connection (see tlsCodeInText); an error of our own making keeps its code.
  if (tlsErrorCode(err) !== undefined || tlsCodeInText(message) !== undefined) return 'tls';
  if (err instanceof GRPCUnavailableError || /unavailable|ECONNREFUSED|connect/i.test(message)) return 'unavailable';
  return reasonForNodeError(err) ?? 'other';
}
