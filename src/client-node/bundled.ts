// The bundle's ./index.ts (scripts/bundle.ts swaps it in). esbuild resolves client-node's import of its generated
// API to ./gen-shim.ts at build time, which is what the module hook of ./index.ts does at run time, so the bundle
// needs neither the hook nor index.ts's top-level await (a CommonJS bundle, as Node 20's single executable
// applications require, cannot have one).
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
