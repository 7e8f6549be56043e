// The k0s#5369 scene most end-to-end tests and the demo start from: a real etcd, the API test server holding
// the four objects (the zombie `c1` among them), and the flags an exporter needs to read both.
import { EtcdTestCluster } from './etcd-cluster.js';
import type { ExporterProcessOptions } from './exporter-process.js';
import { KubeApiTestServer, k0s5369Objects } from './kube-api-server.js';

export interface K0s5369Scene {
  readonly etcd: EtcdTestCluster;
  readonly api: KubeApiTestServer;
}

/** Starts etcd and the API server side by side and seeds the k0s#5369 objects from the real member IDs. */
export async function startK0s5369Scene(): Promise<K0s5369Scene> {
  const [etcd, api] = await Promise.allSettled([EtcdTestCluster.start(), KubeApiTestServer.start()]);
  if (etcd.status === 'rejected' || api.status === 'rejected') {
    // Stop what did start: a live etcd left behind keeps the test process from ever exiting.
    await Promise.all([etcd.status === 'fulfilled' && etcd.value.stop(), api.status === 'fulfilled' && api.value.close()]);
    throw etcd.status === 'rejected' ? etcd.reason : (api as PromiseRejectedResult).reason;
  }
  const scene = { etcd: etcd.value, api: api.value };
  try {
    for (const o of k0s5369Objects(scene.etcd.members.map((m) => ({ name: m.name, memberIdHex: m.idHex, peerAddress: m.ip })))) scene.api.create(o);
  } catch (err) {
    await Promise.all([scene.etcd.stop(), scene.api.close()]);
    throw err;
  }
  return scene;
}

/** The exporter flags for reading this scene: all etcd endpoints with the client certificate, and the API. */
export function sceneExporterOptions(scene: K0s5369Scene): Pick<ExporterProcessOptions, 'etcdEndpoints' | 'caFile' | 'certFile' | 'keyFile' | 'kubeconfig'> {
  const { etcd, api } = scene;
  return { etcdEndpoints: etcd.endpoints, caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile, kubeconfig: api.kubeconfigPath };
}
