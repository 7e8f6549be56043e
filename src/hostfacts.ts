// The one fact about this host the analysis needs: the name k0s will register for it.
import { hostname } from 'node:os';
import { objectNameFor, type HostFacts } from './model.js';

/**
 * Cheap (one uname call), so it is asked at every analysis rather than once: an operator who restores the
 * hostname sees the drift clear without restarting the exporter.
 *
 * k0s names the etcd member after spec.storage.etcd.extraArgs.name, else the kernel hostname (plain
 * `hostname`, not `hostname -f`), and the EtcdMember object after that name, trimmed and lowercased.
 */
export function readHostFacts(memberNameOverride: string | undefined): HostFacts {
  return { registrationName: objectNameFor(memberNameOverride ?? hostname()) };
}
