// Polling helpers shared by tests that drive real processes.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long; default 10 s. */
  readonly timeoutMs?: number;
  /** Pause between attempts; default 100 ms. */
  readonly intervalMs?: number;
  /** Names the condition in the timeout error, so a failing test says what it was waiting for. */
  readonly what?: string;
}

/**
 * Calls fn until it returns a value other than undefined/false/null, and resolves with that value.
 * A throwing fn counts as "not yet"; the last error (or value) is quoted in the timeout error.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, undefined | null | false>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, undefined | null | false>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() + intervalMs > deadline) break;
    await sleep(intervalMs);
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${opts.what ?? 'condition'}; last result: ${detail}`);
}

/**
 * A port on host that was free a moment ago: binds port 0, reads the port, closes.
 * Another process may still take it before the caller binds; callers that start servers should
 * treat "address already in use" as retryable.
 */
export async function freePort(host: string): Promise<number> {
  const [port] = await freePorts(host, 1);
  return port!;
}

/** Like freePort, but n distinct ports: all are held open together so the kernel cannot hand out one twice. */
export async function freePorts(host: string, n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host, port: 0, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}
