// The data the analysis works on. Sources validate what they read at the boundary and hand over these
// shapes only, so the analysis never sees raw API objects.

/** One member from etcd's member list. */
export interface EtcdMember {
  /** Lowercase hex, no padding: the form EtcdMember status.memberID uses. */
  readonly id: string;
  /** As etcd has it; "" for a member that was added but never started. */
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

export interface EtcdSnapshot {
  readonly members: readonly EtcdMember[];
  /**
   * ID of this controller's own member: the one behind the first endpoint, if it answered. prune's confirmed
   * read leaves it undefined when another endpoint answered the linearizable read first.
   */
  readonly localMemberId: string | undefined;
  /** Why localMemberId is unknown, when it is. */
  readonly localMemberError?: string;
}

/** One EtcdMember custom resource, reduced to what the analysis needs. */
export interface EtcdMemberObject {
  readonly name: string;
  /**
   * status.memberID normalised to lowercase hex without leading zeros; undefined when absent.
   * When status.memberID is present but not hex, this is undefined and invalidMemberId holds the raw value.
   */
  readonly memberId: string | undefined;
  readonly invalidMemberId: string | undefined;
  readonly peerAddress: string | undefined;
  readonly leave: boolean;
  readonly reconcileStatus: string | undefined;
  /** status.message as k0s wrote it (why a reconcile failed, or which step of a leave it waits on); absent when none. */
  readonly message?: string;
  /** The status of the Joined condition (status.conditions[type=Joined]): "True", "False" or "Unknown"; absent when none. */
  readonly joined?: string;
  /** metadata.uid and metadata.resourceVersion as read: prune's delete preconditions name exactly the object it judged. */
  readonly uid?: string;
  readonly resourceVersion?: string;
  /** metadata.creationTimestamp (RFC 3339), as read. */
  readonly creationTimestamp?: string;
}

export type KubernetesSnapshot =
  | { readonly crdPresent: true; readonly objects: readonly EtcdMemberObject[] }
  | { readonly crdPresent: false };

export interface HostFacts {
  /** The name k0s on this host will register at its next start, trimmed and lowercased. */
  readonly registrationName: string;
  /**
   * False when registrationName is only the hostname for want of better (k0s.yaml unreadable, or k0s runs no
   * etcd here): local name drift is then not judged. Absent means true.
   */
  readonly registrationNameKnown?: boolean;
  /** The peer address k0s gives etcd at its next start; absent when it cannot be predicted. */
  readonly predictedPeerAddress?: string | undefined;
  /** Why predictedPeerAddress is absent although k0s runs etcd here (one line); absent otherwise. */
  readonly peerAddressUnknownWhy?: string | undefined;
  /**
   * Whether etcd can listen on predictedPeerAddress on this host (an address of its own, or one that binds
   * everywhere); false: etcd exits at its next start (k0s#7876). Absent when it cannot be told.
   */
  readonly peerAddressOnHost?: boolean | undefined;
}

/** Normalises an etcd member ID given as a decimal uint64 string (etcd3's form) to EtcdMember's hex form. */
export function memberIdFromDecimal(decimal: string): string {
  if (!/^[0-9]+$/.test(decimal)) throw new Error(`etcd member ID "${decimal}" is not a decimal uint64`);
  const id = BigInt(decimal);
  if (id >= 1n << 64n) throw new Error(`etcd member ID "${decimal}" does not fit in uint64`);
  return id.toString(16);
}

/**
 * Normalises status.memberID (hex, any case, zero-padded to any length); undefined when it is not hex or its
 * value does not fit uint64.
 */
export function normaliseHexMemberId(hex: string): string | undefined {
  if (!/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  const digits = hex.replace(/^0+(?=.)/, '');
  if (digits.length > 16) return undefined;
  return BigInt(`0x${digits}`).toString(16);
}

/** The name k0s gives an EtcdMember object for an etcd member name (k0s >= 1.34.1). */
export function objectNameFor(memberName: string): string {
  return memberName.trim().toLowerCase();
}
