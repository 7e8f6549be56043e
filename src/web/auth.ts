// HTTP basic auth against bcrypt hashes, as exporter-toolkit's web/handler.go does it: successful checks are
// cached so a scrape every 15 s does not pay a bcrypt each time, bcrypt runs one at a time (an attacker cannot
// occupy every libuv thread, which the Kubernetes client's DNS and file reads also need), and an unknown user
// costs a bcrypt like a known one so response times do not tell which user names exist. The comparison of the
// hash itself is the library's (constant time). The queue is bounded, and a check whose request is gone is
// skipped, so wrong passwords sent faster than bcrypt runs cannot delay the right ones without limit.
import { createHash } from 'node:crypto';
import { hash as bcryptHash, verify } from '@node-rs/bcrypt';

/** golang.org/x/crypto/bcrypt's answer to "what cost": the two digits after the version. */
function costOf(hash: string): number {
  return Number(hash.slice(4, 6));
}

// The toolkit's fixed hash for unknown users ("fakepassword", cost 10); other costs get one made at first need.
const TOOLKIT_DUMMY = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
const CACHE_SIZE = 100;

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/**
 * Go's Request.BasicAuth: "Basic " (any case), standard base64 with its padding (base64.StdEncoding refuses
 * "dTo" for "dTo="; Node's decoder would take both), split at the first colon.
 */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  // (.*) with the s flag runs to the end of the header.
  const m = /^basic (.*)/is.exec(header);
  if (!m || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(m[1]!)) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Checks waiting for their bcrypt beyond which a new one is refused: at cost 10 that is about a second and a
 * half of queue, and a client that sends wrong passwords faster than bcrypt runs gets 503s instead of growing it.
 */
export const MAX_WAITING_CHECKS = 32;

/** Thrown by check() when MAX_WAITING_CHECKS are already waiting: answer 503 with Retry-After. */
export class AuthBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`${MAX_WAITING_CHECKS} password checks are already waiting`);
  }
}

interface PendingCheck {
  readonly result: Promise<boolean>;
  /** One per request waiting for this result; the bcrypt is skipped when every one has ended. */
  readonly waiters: AbortSignal[];
  /** Called when a waiter's request ends: once all have, the check no longer counts as waiting. */
  readonly onAbort: () => void;
}

export class BasicAuthChecker {
  /** Digest of (user, hash, password) for checks that succeeded; never the password itself. */
  private readonly cache = new Set<string>();
  private readonly dummies = new Map<number, Promise<string>>([[10, Promise.resolve(TOOLKIT_DUMMY)]]);
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Map<string, PendingCheck>();
  /** Checks queued whose bcrypt has not started. */
  private waiting = 0;

  /**
   * True when the credentials match a user in `users`. `signal` ends when the request is gone (the client
   * disconnected): a check still queued then is skipped. Throws AuthBusy when too many checks are waiting.
   */
  async check(users: ReadonlyMap<string, string>, creds: Credentials | undefined, signal: AbortSignal = new AbortController().signal): Promise<boolean> {
    if (creds === undefined) return false;
    const known = users.get(creds.user);
    const hash = known ?? (await this.dummyFor(users));
    const key = cacheKey(creds.user, hash, creds.password);
    // The key is a digest, so looking it up leaks nothing about the password.
    if (known !== undefined && this.cache.has(key)) return true;
    // Concurrent requests with the same credentials share one bcrypt: 50 scrapers starting together must not
    // queue 50 bcrypts behind each other before the first success is cached.
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      if (this.waiting >= MAX_WAITING_CHECKS) throw new AuthBusy(1);
      const waiters = [signal];
      this.waiting++;
      let counted = true;
      const release = (): void => {
        if (counted) this.waiting--;
        counted = false;
      };
      const onAbort = (): void => {
        if (waiters.every((s) => s.aborted)) release();
      };
      const result = this.serialised(() => {
        release();
        // Nobody is left to answer: the bcrypt would only delay the checks queued behind it. (A request that
        // joined after the others left is a waiter again, though no longer counted: the bound is approximate.)
        return waiters.every((s) => s.aborted) ? Promise.resolve(false) : verify(creds.password, hash);
      }).finally(() => this.inFlight.delete(key));
      pending = { result, waiters, onAbort };
      this.inFlight.set(key, pending);
    } else {
      pending.waiters.push(signal);
    }
    // A signal fires 'abort' once; one that ended before it was listened to fires no more, so onAbort counts its
    // end now (with a live signal it finds this request waiting and does nothing).
    signal.addEventListener('abort', pending.onAbort);
    pending.onAbort();
    const ok = await pending.result;
    if (!ok || known === undefined) return false;
    if (!this.cache.has(key) && this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.values().next().value!);
    this.cache.add(key);
    return true;
  }

  /** A hash of the most expensive cost in use, so an unknown user is never cheaper than any known one. */
  private dummyFor(users: ReadonlyMap<string, string>): Promise<string> {
    let cost = 10;
    for (const h of users.values()) cost = Math.max(cost, costOf(h));
    let dummy = this.dummies.get(cost);
    if (dummy === undefined) {
      // The toolkit's password, though it decides nothing: an unknown user is refused whatever the bcrypt says.
      // Stryker disable next-line StringLiteral: see above.
      dummy = bcryptHash('fakepassword', cost);
      this.dummies.set(cost, dummy);
    }
    return dummy;
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A digest of the three; JSON keeps them apart (no user name and password can run into each other). */
function cacheKey(user: string, hash: string, password: string): string {
  return createHash('sha256').update(JSON.stringify([user, hash, password])).digest('hex');
}
