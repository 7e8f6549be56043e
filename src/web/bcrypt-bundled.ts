// The bundle's @node-rs/bcrypt (scripts/bundle.ts swaps it in): the same native binding, loaded without
// node_modules. Beside the bundle (the image) it is the file bcrypt.node; inside the single executable it is an
// asset, and as a shared library can only be loaded from a file, it is written to a fresh private directory under
// $TMPDIR (/tmp, private to the service with the systemd unit's PrivateTmp=), loaded, and removed at once.
// Loaded at the first password check, so a run without basic auth never touches it.
//
// Kept rather than the pure-JS bcryptjs: a cost-10 check takes about as long in both (66 ms native, 72 ms
// bcryptjs on the build machine), but bcryptjs holds the event loop for all of it while the native one runs on a
// libuv thread, so wrong passwords sent in a stream would stall /metrics and /healthz (docs/web-config.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sea from 'node:sea';

/** The asset key and the file name beside the bundle; scripts/bundle.ts uses the same. */
export const BCRYPT_ADDON = 'bcrypt.node';

interface Binding {
  hash(password: string, cost?: number): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

let binding: Binding | undefined;

function load(): Binding {
  if (binding !== undefined) return binding;
  const module = { exports: {} as Binding };
  if (!sea.isSea()) {
    process.dlopen(module, join(__dirname, BCRYPT_ADDON));
    return (binding = module.exports);
  }
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'k0s-etcdmember-exporter-'));
    const file = join(dir, BCRYPT_ADDON);
    writeFileSync(file, new Uint8Array(sea.getAsset(BCRYPT_ADDON)), { mode: 0o500 });
    process.dlopen(module, file);
  } catch (err) {
    throw new Error(`cannot load the bcrypt library it carries from a file under ${tmpdir()}: ${(err as Error).message} (TMPDIR must name a writable directory not mounted noexec)`);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  return (binding = module.exports);
}

// async: a library that cannot be loaded rejects, as the library's own failures do, and never throws at the call.
export async function hash(password: string, cost?: number): Promise<string> {
  return load().hash(password, cost);
}

export async function verify(password: string, hashed: string): Promise<boolean> {
  return load().verify(password, hashed);
}
