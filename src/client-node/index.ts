// client-node's KubeConfig without the 56 MB of client-node's generated API.
//
// The exporter uses client-node for what it does well: reading kubeconfig and in-cluster configuration and
// applying their credentials (src/kubeconfig.ts, src/sources/kubernetes.ts). But its config module imports the
// generated API (dist/gen/index.js: every Kubernetes API client and model, 900 modules) for two functions that
// only makeApiClient() uses, and that import alone costs 56 MB of the exporter's RSS, more than the exporter
// needs for everything else (measured with Node 20: 120 MB after importing KubeConfig, 75 MB with this).
// So a module resolve hook hands config.js a module exporting those two functions from the same files of the
// same package (./gen-shim.js); nothing else is changed, and nothing of client-node is reimplemented.
//
// The hook is registered before client-node is imported, hence the dynamic import below. Node 22.15 and later
// run it in this thread (module.registerHooks); Node 20 only has module.register, whose hooks run in a thread
// of their own that costs 13 MB of the 56 saved. Should a client-node upgrade make config.js import anything
// else from its generated API, the import below fails at start, loudly, naming the missing export.
import module from 'node:module';
import { resolve } from './hooks.js';

type RegisterHooks = (hooks: { resolve: typeof resolve }) => void;
const registerHooks = (module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
if (registerHooks !== undefined) registerHooks({ resolve });
else module.register(new URL('./hooks.js', import.meta.url));

export const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
export type KubeConfig = InstanceType<typeof KubeConfig>;
