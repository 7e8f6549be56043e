// Reads etcd's member list and the identity of the member behind the first endpoint.
//
// Each read builds fresh clients and closes them afterwards. That costs a TLS handshake per interval, and buys
// two things: a member that was down is reached again at once (no gRPC reconnect backoff of up to two
// minutes), and a member that hangs can never keep a stuck channel around: closing the clients after each read
// drops whatever a hung member still holds. (It does not buy certificate rotation without a restart: both shipped
// deployments hand the exporter copies of the files taken when it starts.) The etcd3 library's own retries and
// circuit breakers are switched off: the deadline of the read is the only bound, and the endpoints are asked
// in parallel so a hung one costs nothing.
import { readFile } from 'node:fs/promises';
import { Etcd3, GRPCDeadlineExceededError, GRPCUnauthenticatedError, GRPCUnavailableError, EtcdPermissionDeniedError } from 'etcd3';
import { noop } from 'cockatiel';
import type { Logger } from '../log.js';
import { memberIdFromDecimal, type EtcdMember, type EtcdSnapshot } from '../model.js';
import { certificateProblem, keyPairProblem } from '../tls-files.js';
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
 */
export async function readEtcd(options: EtcdReadOptions, signal: AbortSignal): Promise<EtcdSnapshot> {
  const { endpoints, timeoutMs } = options;
  const requestAbort = requestSignal(timeoutMs, signal);
  // gRPC's own deadline ends the calls on the wire at the same moment the signal fires.
  const deadline = new Date(Date.now() + timeoutMs);
  const credentials = await readCredentials(options, requestAbort);
  const clients = endpoints.map(
    (host) =>
      new Etcd3({
        hosts: host,
        ...(credentials ? { credentials } : {}),
        faultHandling: { host: () => noop, global: noop },
        defaultCallOptions: { deadline },
      }),
  );
  const [local] = clients;
  try {
    if (!local) throw new SourceError('other', 'no etcd endpoints given');
    // Each call is raced on its own, so a member list that came in time survives a hung status call.
    const [list, status] = await Promise.allSettled([
      raceSignal(Promise.any(clients.map((c) => c.cluster.memberList({}, { deadline }))), requestAbort, `etcd member list from ${endpoints.join(',')}`, timeoutMs),
      raceSignal(local.maintenance.status({ deadline }), requestAbort, `etcd status from ${endpoints[0]}`, timeoutMs),
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
    return { members, localMemberId: memberIdFromDecimal(raw) };
  } finally {
    // Closing fails at once every call still waiting for a connection (a hung member stalls the TLS handshake);
    // a call already sent ends at its gRPC deadline, the read's own (etcd3 gives no handle to cancel it sooner).
    for (const c of clients) c.close();
  }
}

/** etcd, read every interval (and soon after refreshSoon()). */
export class EtcdSource extends PolledSource<EtcdSnapshot> {
  constructor(opts: EtcdSourceOptions) {
    super({
      name: 'etcd',
      intervalMs: opts.intervalMs,
      logger: opts.logger,
      read: (signal) => readEtcd(opts, signal),
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
  }
}

/** The TLS credentials of options, read now (check and prune build their own client for the linearizable read). */
export async function readCredentials(
  options: EtcdReadOptions,
  signal: AbortSignal,
): Promise<{ rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer } | undefined> {
  const { caFile, certFile, keyFile } = options;
  if (caFile === undefined) return undefined;
  const read = (path: string): Promise<Buffer> => readFile(path, { signal });
  try {
    const [rootCertificate, certChain, privateKey] = await Promise.all([
      read(caFile),
      certFile === undefined ? undefined : read(certFile),
      keyFile === undefined ? undefined : read(keyFile),
    ]);
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
    return {
      rootCertificate,
      ...(certChain ? { certChain } : {}),
      ...(privateKey ? { privateKey } : {}),
    };
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

function firstError(reason: unknown): unknown {
  return reason instanceof AggregateError && reason.errors.length > 0 ? reason.errors[0] : reason;
}

function classify(err: unknown, endpoints: readonly string[], call: string): SourceError {
  if (err instanceof SourceError) return err;
  const where = endpoints.join(',');
  const reason = reasonFor(err);
  // grpc-js ends some messages with an empty "Resolution note: ", which tells an operator nothing.
  const detail = errorMessage(err).replace(/\.?\s*Resolution note:\s*$/, '');
  return new SourceError(reason, `etcd ${call} from ${where} failed (${reason}): ${detail}`);
}

/** The reason an etcd call failed, as the source's error counts and `source_up` reasons name it. */
export function reasonFor(err: unknown): ErrorReason {
  if (err instanceof GRPCDeadlineExceededError) return 'timeout';
  if (err instanceof GRPCUnauthenticatedError) return 'unauthorized';
  if (err instanceof EtcdPermissionDeniedError) return 'forbidden';
  const message = errorMessage(err);
  if (/certificate|ssl|tls|handshake/i.test(message)) return 'tls';
  if (err instanceof GRPCUnavailableError || /unavailable|ECONNREFUSED|connect/i.test(message)) return 'unavailable';
  return reasonForNodeError(err) ?? 'other';
}
