// Node prints process warnings to stderr as free text, outside the structured log. One is expected and harmless
// here: grpc-js (under etcd3) hands TLS etcd's IP address as the server name, and Node's TLS answers with DEP0123
// ("Setting the TLS ServerName to an IP address is not permitted by RFC 6066") on the first connection to an
// etcd given by IP, which is how k0s's etcd is addressed (https://127.0.0.1:2379). Only that warning is dropped;
// every other warning, deprecations included, still prints.
//
// Done in process rather than with `node --disable-warning=DEP0123` because that flag exists only from Node
// 20.11/21.3 on (an older Node 20, which `engines` admits, refuses to start with it) and would have to be
// repeated in the bin, the image, the systemd unit and every test that starts the exporter.

/** Replaces process.emitWarning with one that drops the warnings with these codes and passes on the rest. */
export function dropWarnings(codes: readonly string[]): void {
  const original = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  const dropped = new Set(codes);
  const replacement = (warning: string | Error, ...rest: unknown[]): void => {
    if (dropped.has(warningCode(rest) ?? '')) return;
    original(warning, ...rest);
  };
  process.emitWarning = replacement;
}

/** The code of emitWarning(warning, type, code, ctor) or emitWarning(warning, { type, code, detail }). */
function warningCode(rest: readonly unknown[]): string | undefined {
  const [typeOrOptions, code] = rest;
  if (typeof typeOrOptions === 'object' && typeOrOptions !== null) {
    const c = (typeOrOptions as { code?: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  }
  return typeof code === 'string' ? code : undefined;
}
