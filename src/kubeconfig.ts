// Finds the Kubernetes client configuration in the order users expect from kubectl-like tools.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from './client-node/index.js';
import { UsageError } from './config.js';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** --kubeconfig, else $KUBECONFIG, else the in-cluster service account, else ~/.kube/config. */
export function loadKubeConfig(flag: string | undefined): { kubeConfig: KubeConfig; from: string } {
  const kubeConfig = new KubeConfig();
  let from: string;
  try {
    if (flag !== undefined) {
      kubeConfig.loadFromFile(flag);
      from = flag;
    } else if (process.env['KUBECONFIG']) {
      kubeConfig.loadFromDefault();
      from = '$KUBECONFIG';
    } else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(IN_CLUSTER_TOKEN)) {
      kubeConfig.loadFromCluster();
      from = 'in-cluster service account';
    } else if (existsSync(join(homedir(), '.kube', 'config'))) {
      kubeConfig.loadFromFile(join(homedir(), '.kube', 'config'));
      from = '~/.kube/config';
    } else {
      throw new UsageError('no Kubernetes configuration: give --kubeconfig, set KUBECONFIG, run in a pod, or create ~/.kube/config');
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const file = flag ?? process.env['KUBECONFIG'] ?? '';
    // client-node parses with js-yaml, whose error carries where (0-based) and why; its message goes on to quote
    // the file, which holds tokens and keys, so only the reason is shown, after file:line:column.
    const y = err as { name?: string; reason?: unknown; mark?: { line?: unknown; column?: unknown } };
    if (y.name === 'YAMLException' && typeof y.reason === 'string' && typeof y.mark?.line === 'number' && typeof y.mark.column === 'number') {
      throw new UsageError(`cannot load kubeconfig ${file}:${y.mark.line + 1}:${y.mark.column + 1}: not valid YAML: ${y.reason}`);
    }
    // Only the first line, for the same reason.
    const reason = String((err as Error).message).split('\n')[0];
    throw new UsageError(`cannot load kubeconfig ${file}: ${reason}`);
  }
  const cluster = kubeConfig.getCurrentCluster();
  const server = cluster?.server;
  if (!server || !/^https?:\/\//.test(server)) {
    throw new UsageError(`kubeconfig from ${from} has no current cluster with an http(s) server URL (got ${JSON.stringify(server ?? null)})`);
  }
  if (server.startsWith('http:') && !cluster?.skipTLSVerify) {
    // client-node refuses plain http unless TLS verification is switched off; say so now, not at every request.
    throw new UsageError(`kubeconfig from ${from}: server ${server} is plain http, which needs insecure-skip-tls-verify: true on the cluster (or use https)`);
  }
  return { kubeConfig, from };
}

