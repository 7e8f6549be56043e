// The resolve hook of ./index.ts: client-node's config module gets ./gen-shim.js for its generated API. Written
// for both hook APIs: module.registerHooks (synchronous, nextResolve returns the result) and module.register
// (asynchronous, nextResolve returns a promise), since it only passes nextResolve's result on.
const SHIM = new URL('./gen-shim.js', import.meta.url).href;

interface ResolveContext {
  readonly parentURL?: string;
}

export function resolve<T>(specifier: string, context: ResolveContext, nextResolve: (specifier: string, context: ResolveContext) => T): T | { url: string; shortCircuit: true } {
  if (specifier === './gen/index.js' && context.parentURL?.endsWith('/node_modules/@kubernetes/client-node/dist/config.js') === true) {
    return { url: SHIM, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
