// Basic auth as exporter-toolkit checks it (src/web/auth.ts): the header parsed as Go does, bcrypt hashes as
// htpasswd makes them, successes cached, and nobody let in who is not a known user with the right password.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hash as bcryptHash, verify } from '@node-rs/bcrypt';
import { AuthBusy, BasicAuthChecker, MAX_WAITING_CHECKS, parseBasicAuth } from '../src/web/auth.js';
import { htpasswdHash, htpasswdMissing } from '../testbed/web-pki.js';

/** exporter-toolkit's dummy hash for unknown users: "fakepassword" at cost 10. */
const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

describe('basic auth', () => {
  it('parses the header as Go does', () => {
    assert.deepEqual(parseBasicAuth(`Basic ${Buffer.from('u:p:q').toString('base64')}`), { user: 'u', password: 'p:q' });
    assert.deepEqual(parseBasicAuth(`basic ${Buffer.from('u:').toString('base64')}`), { user: 'u', password: '' });
    assert.deepEqual(parseBasicAuth(`Basic ${Buffer.from(':p').toString('base64')}`), { user: '', password: 'p' });
    assert.equal(parseBasicAuth(`Bearer abc`), undefined);
    assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
    assert.equal(parseBasicAuth('Basic !!!'), undefined);
    // Standard base64 with its padding, nothing before or after it: what Go's base64.StdEncoding takes.
    assert.deepEqual(parseBasicAuth(`BASIC ${Buffer.from('u:pp').toString('base64')}`), { user: 'u', password: 'pp' }, 'two = of padding');
    assert.deepEqual(parseBasicAuth(`Basic ${Buffer.from('u:pppp').toString('base64')}`), { user: 'u', password: 'pppp' }, 'no padding');
    assert.deepEqual(parseBasicAuth('Basic dTp+fn4/'), { user: 'u', password: '~~~?' }, '+ and / of the alphabet');
    for (const bad of ['dTo', 'dTpwcA=', 'dTpwcA', 'dTo==', 'dTo=dTo=', '!dTpw', 'dTpw!', 'dTpw ', ' dTpw', 'dTpwcA===', 'dTpwc']) {
      assert.equal(parseBasicAuth(`Basic ${bad}`), undefined, bad);
    }
    assert.equal(parseBasicAuth(`Basic  dTpw`), undefined, 'one space after Basic');
    assert.equal(parseBasicAuth(`xBasic dTpw`), undefined);
    assert.equal(parseBasicAuth(undefined), undefined);
  });

  it('verifies htpasswd -nBC 10 hashes ($2y$)', async (t) => {
    const missing = htpasswdMissing();
    if (missing !== undefined) {
      if (process.env['CI'] === 'true') assert.fail(missing);
      t.skip(missing);
      return;
    }
    const users = new Map([['prometheus', htpasswdHash('correct horse')]]);
    const checker = new BasicAuthChecker();
    assert.equal(await checker.check(users, { user: 'prometheus', password: 'correct horse' }), true);
    assert.equal(await checker.check(users, { user: 'prometheus', password: 'correct horse' }), true, 'from the cache');
    assert.equal(await checker.check(users, { user: 'prometheus', password: 'wrong' }), false);
    assert.equal(await checker.check(users, { user: 'Prometheus', password: 'correct horse' }), false, 'user names are case-sensitive');
    assert.equal(await checker.check(new Map([['prometheus', htpasswdHash('rotated')]]), { user: 'prometheus', password: 'correct horse' }), false, 'a cached success does not outlive its hash');
    assert.equal(await checker.check(users, undefined), false);
  });

  // An unknown user is checked against a dummy hash so that it costs a bcrypt like a known one; the dummy's
  // password is public (exporter-toolkit's hash of "fakepassword"), so only the "user is unknown" half of the
  // decision keeps `nobody:fakepassword` out. At a higher cost the dummy is made anew, from the same password.
  for (const cost of [10, 11]) {
    it(`refuses an unknown user who sends the dummy's password, with the known users' hashes at cost ${cost}`, async () => {
      assert.equal(await verify('fakepassword', HASH), true, "the toolkit's dummy is a hash of fakepassword");
      const users = new Map([['prometheus', await bcryptHash('right', cost)]]);
      const checker = new BasicAuthChecker();
      assert.equal(await checker.check(users, { user: 'nobody', password: 'fakepassword' }), false, 'nobody:fakepassword');
      assert.equal(await checker.check(users, { user: 'prometheus', password: 'wrong' }), false, 'the known user with a wrong password');
      assert.equal(await checker.check(users, { user: 'prometheus', password: 'right' }), true, 'the known user with the right password');
      if (cost === 10) assert.equal(await checker.check(new Map(), { user: 'nobody', password: 'fakepassword' }), false, 'no users at all');
    });
  }
});

/** One turn of the event loop: every check called before has reached its first wait. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A check's state one turn later: answered (true/false), refused (busy) or still queued behind another bcrypt. */
async function state(p: Promise<boolean>): Promise<boolean | 'busy' | 'queued'> {
  const settled = p.catch((err: unknown) => {
    if (err instanceof AuthBusy) return 'busy' as const;
    throw err;
  });
  return Promise.race([settled, tick().then(() => 'queued' as const)]);
}

describe('basic auth under load', () => {
  // A cost-10 bcrypt (about 100 ms of CPU, against the 1-2 ms this test needs in between) keeps the one bcrypt
  // slot busy while the checks behind it are counted.
  let users: Map<string, string>;
  before(async () => {
    const [slow, fast] = await Promise.all([bcryptHash('right', 10), bcryptHash('pw', 4)]);
    users = new Map([['slow', slow], ...Array.from({ length: 101 }, (_, i): [string, string] => [`u${i}`, fast])]);
  });
  /** Starts a check whose bcrypt runs for a while, and returns once it runs (no longer waiting), with its answer to come. */
  const occupy = async (checker: BasicAuthChecker): Promise<{ running: Promise<boolean> }> => {
    const running = checker.check(users, { user: 'slow', password: 'wrong' });
    await tick();
    return { running };
  };

  it(`refuses a check beyond ${MAX_WAITING_CHECKS} waiting (503, Retry-After 1); requests with the same credentials wait as one`, async () => {
    const checker = new BasicAuthChecker();
    const { running } = await occupy(checker);
    const gone = new AbortController();
    const same = Array.from({ length: 40 }, () => checker.check(users, { user: 'u0', password: 'same' }, gone.signal));
    const others = Array.from({ length: MAX_WAITING_CHECKS - 1 }, (_, i) => checker.check(users, { user: 'u0', password: `wrong${i}` }, gone.signal));
    assert.deepEqual(await Promise.all([...same, ...others].map(state)), Array<string>(40 + MAX_WAITING_CHECKS - 1).fill('queued'));
    const refused = checker.check(users, { user: 'u0', password: 'one too many' }, gone.signal);
    assert.equal(await state(refused), 'busy');
    const err = await refused.catch((e: unknown) => e);
    assert.ok(err instanceof AuthBusy);
    assert.equal(err.retryAfterSeconds, 1);
    assert.equal(err.message, `${MAX_WAITING_CHECKS} password checks are already waiting`);
    assert.equal(await state(checker.check(users, { user: 'u0', password: 'same' }, gone.signal)), 'queued', 'joins the check of its credentials');
    gone.abort();
    assert.deepEqual(await Promise.all([...same, ...others]), Array<boolean>(40 + MAX_WAITING_CHECKS - 1).fill(false));
    assert.equal(await running, false);
  });

  it('skips a check whose requests all ended and stops counting it; one whose request is still there runs and counts', async () => {
    const checker = new BasicAuthChecker();
    const { running } = await occupy(checker);
    const left = new AbortController();
    const alone = new AbortController();
    const gone = new AbortController();
    const leaving = checker.check(users, { user: 'u1', password: 'pw' }, left.signal);
    const staying = checker.check(users, { user: 'u1', password: 'pw' });
    const skipped = checker.check(users, { user: 'u2', password: 'pw' }, alone.signal);
    const endedBefore = checker.check(users, { user: 'u3', password: 'pw' }, AbortSignal.abort());
    left.abort();
    alone.abort();
    // Waiting now: only the check of u1, which one request still waits for.
    const fill = Array.from({ length: MAX_WAITING_CHECKS - 1 }, (_, i) => checker.check(users, { user: 'u0', password: `wrong${i}` }, gone.signal));
    assert.equal(await state(fill.at(-1)!), 'queued');
    assert.equal(await state(checker.check(users, { user: 'u0', password: 'one too many' }, gone.signal)), 'busy');
    gone.abort();
    assert.equal(await running, false);
    assert.equal(await staying, true, 'the request still there gets its answer');
    assert.equal(await leaving, true);
    assert.equal(await skipped, false, 'no bcrypt for a check nobody waits for: the right password is not even tried');
    assert.equal(await endedBefore, false);
    assert.deepEqual(await Promise.all(fill), Array<boolean>(MAX_WAITING_CHECKS - 1).fill(false));
    // A skipped check leaves nothing behind: the same credentials are checked anew.
    assert.equal(await checker.check(users, { user: 'u2', password: 'pw' }), true);
  });

  it('counts a check that was skipped once only, when its request ends and again when its turn comes', async () => {
    const checker = new BasicAuthChecker();
    const { running: first } = await occupy(checker);
    const gone = new AbortController();
    const skipped = checker.check(users, { user: 'u1', password: 'pw' }, gone.signal);
    gone.abort();
    const second = checker.check(users, { user: 'slow', password: 'also wrong' });
    assert.equal(await first, false);
    assert.equal(await skipped, false);
    await tick(); // the second bcrypt runs now: nothing waits
    const rest = new AbortController();
    const fill = Array.from({ length: MAX_WAITING_CHECKS }, (_, i) => checker.check(users, { user: 'u0', password: `wrong${i}` }, rest.signal));
    assert.equal(await state(fill.at(-1)!), 'queued');
    assert.equal(await state(checker.check(users, { user: 'u0', password: 'one too many' }, rest.signal)), 'busy');
    rest.abort();
    assert.equal(await second, false);
    await Promise.all(fill);
  });

  it('keeps the last 100 successes: a success in the cache answers at once, even while another bcrypt runs', async () => {
    const checker = new BasicAuthChecker();
    for (let i = 0; i < 99; i++) assert.equal(await checker.check(users, { user: `u${i}`, password: 'pw' }), true);
    // Two requests of the same credentials at once: one success, stored once.
    assert.deepEqual(await Promise.all([checker.check(users, { user: 'u99', password: 'pw' }), checker.check(users, { user: 'u99', password: 'pw' })]), [true, true]);
    let { running } = await occupy(checker);
    assert.deepEqual(await Promise.all(['u0', 'u99'].map((user) => state(checker.check(users, { user, password: 'pw' })))), [true, true]);
    await running;
    assert.equal(await checker.check(users, { user: 'u100', password: 'pw' }), true);
    ({ running } = await occupy(checker));
    // u0, the oldest, made room for u100: it waits for a bcrypt again.
    const probes = ['u1', 'u100', 'u0'].map((user) => checker.check(users, { user, password: 'pw' }));
    assert.deepEqual(await Promise.all(probes.map(state)), [true, true, 'queued']);
    await running;
    assert.deepEqual(await Promise.all(probes), [true, true, true]);
  });

  it('a cached success of a user is not reused once the user is gone, whatever the hash was', async () => {
    // A user whose hash was the toolkit's public dummy: after the user is removed, the unknown user's check
    // uses the same hash and password, and must not find the success of the user that was.
    const checker = new BasicAuthChecker();
    assert.equal(await checker.check(new Map([['p', HASH]]), { user: 'p', password: 'fakepassword' }), true);
    assert.equal(await checker.check(new Map([['q', HASH]]), { user: 'p', password: 'fakepassword' }), false);
  });

  it('an unknown user costs one bcrypt at the highest cost in use, with a dummy hash made once', async () => {
    const at = new Map([['low', await bcryptHash('x', 4)], ['ten', await bcryptHash('x', 10)]]);
    const checker = new BasicAuthChecker();
    /** CPU time of one refused check, bcrypt's worker thread included. */
    const cpu = async (u: ReadonlyMap<string, string>, user: string): Promise<number> => {
      const t = process.cpuUsage();
      assert.equal(await checker.check(u, { user, password: 'wrong' }), false);
      const d = process.cpuUsage(t);
      return d.user + d.system;
    };
    const ratio = async (u: ReadonlyMap<string, string>, known: string): Promise<number> => (await cpu(u, 'nobody')) / (await cpu(u, known));
    // Cost 10: the toolkit's own dummy, nothing to make first.
    const r10 = await ratio(at, 'ten');
    assert.ok(r10 > 0.5 && r10 < 1.5, `an unknown user cost ${r10.toFixed(2)} times a known one's bcrypt at cost 10`);
    at.set('eleven', await bcryptHash('x', 11));
    await cpu(at, 'nobody'); // makes the cost-11 dummy
    const r11 = await ratio(at, 'eleven');
    assert.ok(r11 > 0.7 && r11 < 1.5, `an unknown user cost ${r11.toFixed(2)} times a known one's bcrypt at cost 11`);
  });
});
