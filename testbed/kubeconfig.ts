// A kubeconfig file the exporter accepts (one cluster, one token user, one context), for tests that start it without
// a Kubernetes API to talk to: by default the server is a port nothing listens on, so the exporter starts anyway and
// reports its Kubernetes source down.
import { writeFileSync } from 'node:fs';

/** Writes the kubeconfig to `file` and returns its path; `clusterExtra` is appended to the cluster's fields. */
export function writeKubeconfig(file: string, server = 'https://127.0.0.1:1', clusterExtra = ''): string {
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server}"${clusterExtra}}}]`,
    'users: [{name: u, user: {token: not-logged}}]',
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x', '',
  ].join('\n'));
  return file;
}
