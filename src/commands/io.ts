// What check and prune do on the network: read each source once with the exporter's deadlines, confirm etcd's
// member list with a linearizable read, and delete one EtcdMember with preconditions.
import type { KubeConfig } from '@kubernetes/client-node';
import { EtcdPermissionDeniedError } from 'etcd3';
import type { EtcdSnapshot, KubernetesSnapshot } from '../model.js';
import { etcdErrorDetail, firstError, newEtcdClient, readCredentials, readEtcd, reasonFor, type Credentials, type EtcdReadOptions } from '../sources/etcd.js';
import { GROUP, PLURAL, VERSION, apiRequest, apiServer, listEtcdMembers, readBody, statusMessage, statusReason } from '../sources/kubernetes.js';
import { SourceError, abortError, errorMessage, raceSignal, reasonForNodeError, requestSignal, type SourceName } from '../sources/source.js';

/** A source that could not be read: check and prune print `source (reason): message` and exit 3. */
export class Unreadable extends Error {
  constructor(
    readonly source: SourceName,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
  get line(): string {
    return `cannot read ${this.source} (${this.reason}): ${this.message}`;
  }
}

function unreadable(source: SourceName, err: unknown): Unreadable {
  if (err instanceof Unreadable) return err;
  return err instanceof SourceError ? new Unreadable(source, err.reason, err.message) : new Unreadable(source, 'other', errorMessage(err));
}

/** etcd's member list and the local member, as the exporter reads them (its deadline, its errors). */
export async function readEtcdOnce(options: EtcdReadOptions, signal?: AbortSignal): Promise<EtcdSnapshot> {
  try {
    return await readEtcd(options, signal ?? new AbortController().signal);
  } catch (err) {
    throw unreadable('etcd', err);
  }
}

/**
 * etcd's member list, confirmed current. MemberList is answered from the asked member's own applied state, so
 * a member cut off from quorum can serve a stale list (etcd 3.4 has no linearizable MemberList). A linearizable
 * Range (etcd3's default, serializable=false) is served only after the member has confirmed the leader's commit
 * index with a quorum (ReadIndex) and applied up to it. The member list is then asked of that same member: its
 * applied state, membership changes included, is at least as new as the quorum's at the time of the read. The
 * key read is "health", as etcd's own /health and `etcdctl endpoint health` do; permission denied still proves
 * the quorum round trip, as etcdctl treats it.
 */
export async function readEtcdLinearizable(options: EtcdReadOptions): Promise<EtcdSnapshot> {
  const deadline = new Date(Date.now() + options.timeoutMs);
  let credentials: Credentials;
  try {
    credentials = await readCredentials(options, requestSignal(options.timeoutMs, undefined));
  } catch (err) {
    throw unreadable('etcd', err);
  }
  const clients = options.endpoints.map((host) => ({
    host,
    client: newEtcdClient(host, credentials),
  }));
  let confirmed: string;
  try {
    confirmed = await raceSignal(
      Promise.any(
        clients.map(async ({ host, client }) => {
          try {
            await client.get('health').options({ deadline }).exec();
          } catch (err) {
            if (!(err instanceof EtcdPermissionDeniedError)) throw err;
          }
          return host;
        }),
      ),
      requestSignal(options.timeoutMs + 500, undefined),
      'the linearizable read',
      options.timeoutMs + 500,
    );
  } catch (err) {
    const first = firstError(err);
    // The first endpoint's error names the reason: a wrong CA or key is tls or unauthorized, not an outage.
    throw new Unreadable('etcd', first instanceof SourceError ? first.reason : reasonFor(first), `no etcd endpoint answered a linearizable read within ${options.timeoutMs} ms, so its member list cannot be confirmed (a member cut off from quorum can serve a stale one): ${etcdErrorDetail(first)}`);
  } finally {
    for (const { client } of clients) client.close();
  }
  const remaining = deadline.getTime() - Date.now();
  if (remaining <= 0) throw new Unreadable('etcd', 'timeout', `etcd's member list could not be read within ${options.timeoutMs} ms`);
  const snapshot = await readEtcdOnce({ ...options, endpoints: [confirmed], timeoutMs: remaining });
  // The member behind the confirmed endpoint is this controller's own only when that is the first endpoint.
  if (confirmed === options.endpoints[0]) return snapshot;
  return { members: snapshot.members, localMemberId: undefined, localMemberError: `the first endpoint ${options.endpoints[0] ?? ''} did not answer the linearizable read first, so this controller's member is not known` };
}

/** The EtcdMember objects: one list with the exporter's request deadline, parsing and error classification. */
export async function listObjectsOnce(kubeConfig: KubeConfig, requestTimeoutMs: number): Promise<KubernetesSnapshot> {
  try {
    const list = await listEtcdMembers({ kubeConfig, requestTimeoutMs }, new AbortController().signal);
    return list.crdPresent ? { crdPresent: true, objects: list.objects } : { crdPresent: false };
  } catch (err) {
    throw unreadable('kubernetes', err);
  }
}

export type DeleteOutcome =
  | { readonly kind: 'deleted' }
  | { readonly kind: 'conflict'; readonly message: string }
  | { readonly kind: 'gone'; readonly message: string };

/**
 * DELETE of one EtcdMember with preconditions on the uid and resourceVersion that were judged: an object that
 * changed or was replaced since is not deleted (409), and is never retried. Throws Unreadable on any other failure.
 */
export async function deleteObject(kubeConfig: KubeConfig, requestTimeoutMs: number, name: string, pre: { uid: string; resourceVersion: string }): Promise<DeleteOutcome> {
  // The server named, as the list's errors name it: a refused or failed connection must say where it went.
  const what = `DELETE of etcdmember ${name} at ${apiServer(kubeConfig)}`;
  const signal = requestSignal(requestTimeoutMs, undefined);
  try {
    const res = await apiRequest(kubeConfig, `/apis/${GROUP}/${VERSION}/${PLURAL}/${encodeURIComponent(name)}`, {
      method: 'DELETE',
      // kube-apiserver fills an empty kind or apiVersion of a DeleteOptions body in from the endpoint's (apimachinery's
      // json.go, gvkWithDefaults): either one left empty is the same request there.
      // Stryker disable next-line StringLiteral: equivalent for kube-apiserver, see above.
      body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', preconditions: pre }),
      signal,
      timeoutMs: requestTimeoutMs,
    });
    const status = res.statusCode ?? 0;
    const message = statusMessage(await readBody(res, signal));
    // kube-apiserver answers 202 only to a DELETE that sets orphanDependents: false (handlers/delete.go); this one
    // does not, so 200 is its one success, an object with finalizers marked for deletion included.
    if (status === 200) return { kind: 'deleted' };
    if (status === 409) return { kind: 'conflict', message };
    if (status === 404) return { kind: 'gone', message };
    const reason = statusReason(status);
    throw new Unreadable('kubernetes', reason, `${what} answered ${status}: ${message}${status === 403 ? ' (prune needs deploy/kubernetes/prune-rbac.yaml or an admin kubeconfig)' : ''}`);
  } catch (err) {
    if (err instanceof Unreadable) throw err;
    // A SourceError says which step failed (a credential plugin that hung is named so), as the list's errors do.
    if (err instanceof SourceError) throw new Unreadable('kubernetes', err.reason, `${what} failed: ${err.message}`);
    if (signal.aborted) throw unreadable('kubernetes', abortError(signal, what, requestTimeoutMs));
    throw new Unreadable('kubernetes', reasonForNodeError(err) ?? 'other', `${what} failed: ${errorMessage(err)}`);
  }
}
