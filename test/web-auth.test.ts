// Basic auth as exporter-toolkit checks it (src/web/auth.ts): the header parsed as Go does, bcrypt hashes as
// htpasswd makes them, successes cached, and nobody let in who is not a known user with the right password.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash as bcryptHash, verify } from '@node-rs/bcrypt';
import { BasicAuthChecker, parseBasicAuth } from '../src/web/auth.js';
import { htpasswdHash, htpasswdMissing } from '../testbed/web-pki.js';

/** exporter-toolkit's dummy hash for unknown users: "fakepassword" at cost 10. */
const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

describe('basic auth', () => {
  it('parses the header as Go does', () => {
    assert.deepEqual(parseBasicAuth(`Basic ${Buffer.from('u:p:q').toString('base64')}`), { user: 'u', password: 'p:q' });
    assert.deepEqual(parseBasicAuth(`basic ${Buffer.from('u:').toString('base64')}`), { user: 'u', password: '' });
    assert.equal(parseBasicAuth(`Bearer abc`), undefined);
    assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
    assert.equal(parseBasicAuth('Basic !!!'), undefined);
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
