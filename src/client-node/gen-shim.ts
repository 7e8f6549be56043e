// What client-node's config.js imports from its generated API (dist/gen/index.js), from the very modules that
// index re-exports them from; see ./index.ts.
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
