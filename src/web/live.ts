// The web config as it is now. exporter-toolkit reads the file again for every request and every TLS handshake,
// so rotated certificates and changed passwords take effect without a restart. Doing the same here costs a
// bcrypt-free but still needless parse per request; instead each request and each new connection stats the
// config file and the files it names (a few microseconds) and reloads only when one of them changed. A broken
// new version keeps the last good one and is logged once, not once per request.
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { WebConfigError, parseWebConfig, webConfigErrorPlace, type WebConfig } from './config.js';
import { loadServerTls, tlsFiles, type ServerTls } from './tls.js';

export interface LoadedWebConfig {
  readonly config: WebConfig;
  readonly tls: ServerTls | undefined;
}

/** Reads, parses and checks the file and the files it names. Throws WebConfigError. */
export function loadWebConfig(path: string): LoadedWebConfig {
  return loadSigned(path, readText).loaded;
}

/** How the config file is read; a test puts a change of the file between its read and what follows. */
export type ReadText = (path: string) => string;

const readText: ReadText = (path) => readFileSync(path, 'utf8');

/**
 * Loads as loadWebConfig does, with the signature of each file taken just before it is read. A file changed
 * while (or after) it is read then differs from the signature kept, and the next look loads it again. Taken
 * after the read instead, the signature would match a version never loaded: a file rewritten in place and read
 * while still empty parses as no basic auth, and would stay so until the next edit.
 */
function loadSigned(path: string, read: ReadText): { loaded: LoadedWebConfig; signature: string } {
  const head = fileStamp(path);
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new WebConfigError('', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const config = parseWebConfig(text, path);
  const named = tlsFiles(config.tls).map(fileStamp);
  const loaded = { config, tls: config.tls === undefined ? undefined : loadServerTls(config.tls) };
  return { loaded, signature: [head, ...named].join('|') };
}

function fileStamp(file: string): string {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
  }
}

export class LiveWebConfig {
  private loaded: LoadedWebConfig;
  private signature: string;
  /** Signature of the last version that failed, so one broken file is logged once. */
  private failedSignature: string | undefined;

  private constructor(
    readonly path: string,
    private readonly logger: Logger,
    private readonly read: ReadText,
  ) {
    ({ loaded: this.loaded, signature: this.signature } = loadSigned(path, read));
  }

  /** Loads the file at start; throws WebConfigError (the caller exits 2). */
  static start(path: string, logger: Logger, read: ReadText = readText): LiveWebConfig {
    return new LiveWebConfig(path, logger, read);
  }

  current(): LoadedWebConfig {
    return this.loaded;
  }

  /** Reloads when the file or a file it names changed since the last look. Cheap when nothing changed. */
  refresh(): void {
    const sig = this.currentSignature();
    if (sig === this.signature || sig === this.failedSignature) return;
    let next: LoadedWebConfig;
    let signature: string;
    try {
      ({ loaded: next, signature } = loadSigned(this.path, this.read));
      if ((next.tls === undefined) !== (this.loaded.tls === undefined)) {
        throw new WebConfigError('tls_server_config', `switching TLS ${next.tls ? 'on' : 'off'} needs a restart`);
      }
    } catch (err) {
      this.failedSignature = sig;
      // file:line:column when the problem is in the file's text, as at start.
      const where = err instanceof WebConfigError ? webConfigErrorPlace(this.path, err) : this.path;
      this.logger.error('web config reload failed, keeping the last good one', { file: where, err: (err as Error).message });
      return;
    }
    this.loaded = next;
    // As the files were when read (loadSigned), over the files the new version names.
    this.signature = signature;
    this.failedSignature = undefined;
    this.logger.info('web config reloaded', { file: this.path, tls: next.tls !== undefined, basic_auth_users: next.config.users.size });
  }

  private currentSignature(): string {
    return [this.path, ...tlsFiles(this.loaded.config.tls)].map(fileStamp).join('|');
  }
}
