// The web config as it is now. exporter-toolkit reads the file again for every request and every TLS handshake,
// so rotated certificates and changed passwords take effect without a restart. Doing the same here costs a
// bcrypt-free but still needless parse per request; instead each request and each new connection stats the
// config file and the files it names (a few microseconds) and reloads only when one of them changed. A broken
// new version keeps the last good one and is logged once, not once per request.
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { WebConfigError, parseWebConfig, type WebConfig } from './config.js';
import { loadServerTls, tlsFiles, type ServerTls } from './tls.js';

export interface LoadedWebConfig {
  readonly config: WebConfig;
  readonly tls: ServerTls | undefined;
}

/** Reads, parses and checks the file and the files it names. Throws WebConfigError. */
export function loadWebConfig(path: string): LoadedWebConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WebConfigError('', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const config = parseWebConfig(text, path);
  return { config, tls: config.tls === undefined ? undefined : loadServerTls(config.tls) };
}

export class LiveWebConfig {
  private loaded: LoadedWebConfig;
  private signature: string;
  /** Signature of the last version that failed, so one broken file is logged once. */
  private failedSignature: string | undefined;

  private onTlsChange: (tls: ServerTls) => void = () => {};

  private constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    this.loaded = loadWebConfig(path);
    this.signature = this.currentSignature();
  }

  /** Loads the file at start; throws WebConfigError (the caller exits 2). */
  static start(path: string, logger: Logger): LiveWebConfig {
    return new LiveWebConfig(path, logger);
  }

  /** Sets where new TLS settings go once the server exists. */
  setTlsListener(onTlsChange: (tls: ServerTls) => void): void {
    this.onTlsChange = onTlsChange;
  }

  current(): LoadedWebConfig {
    return this.loaded;
  }

  /** Reloads when the file or a file it names changed since the last look. Cheap when nothing changed. */
  refresh(): void {
    const sig = this.currentSignature();
    if (sig === this.signature || sig === this.failedSignature) return;
    let next: LoadedWebConfig;
    try {
      next = loadWebConfig(this.path);
      if ((next.tls === undefined) !== (this.loaded.tls === undefined)) {
        throw new WebConfigError('tls_server_config', `switching TLS ${next.tls ? 'on' : 'off'} needs a restart`);
      }
    } catch (err) {
      this.failedSignature = sig;
      this.logger.error('web config reload failed, keeping the last good one', { file: this.path, err: (err as Error).message });
      return;
    }
    this.loaded = next;
    // Taken again because the new version may name other files.
    this.signature = this.currentSignature();
    this.failedSignature = undefined;
    if (next.tls) this.onTlsChange(next.tls);
    this.logger.info('web config reloaded', { file: this.path, tls: next.tls !== undefined, basic_auth_users: next.config.users.size });
  }

  private currentSignature(): string {
    const files = [this.path, ...tlsFiles(this.loaded.config.tls)];
    return files.map((f) => {
      try {
        const s = statSync(f, { bigint: true });
        return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch (err) {
        return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
      }
    }).join('|');
  }
}
