// One helper masks the userinfo of URLs before they reach a log line, an error message or a metric label.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../src/log.js';
import { redact } from '../src/redact.js';
import { SourceError, errorMessage } from '../src/sources/source.js';
import { UsageError } from '../src/config.js';

describe('redact', () => {
  const cases: [string, string][] = [
    ['http://admin:S3cretPW@127.0.0.1:6443', 'http://admin:xxxxx@127.0.0.1:6443'],
    ['https://TOKEN@host/path', 'https://xxxxx@host/path'],
    ['https://a:b@c@host:1/', 'https://a:xxxxx@host:1/'],
    ['connect ECONNREFUSED to "https://root:pw@10.0.0.1:2379" and http://u:p@[::1]:80/x', 'connect ECONNREFUSED to "https://root:xxxxx@10.0.0.1:2379" and http://u:xxxxx@[::1]:80/x'],
    ['HTTPS://User:Pass@Host', 'HTTPS://User:xxxxx@Host'],
    ['https://127.0.0.1:2379 and mail user@example.org', 'https://127.0.0.1:2379 and mail user@example.org'],
    ['no url here', 'no url here'],
  ];
  for (const [input, want] of cases) {
    it(`${input} -> ${want}`, () => assert.equal(redact(input), want));
  }

  it('is applied by the logger, SourceError, errorMessage and UsageError', () => {
    const lines: string[] = [];
    const log = createLogger('debug', 'logfmt', (l) => lines.push(l));
    log.info('dialing http://a:pw1@h', { api_server: 'http://a:pw2@h:1', n: 3 });
    assert.doesNotMatch(lines[0]!, /pw1|pw2/);
    assert.match(lines[0]!, /api_server=http:\/\/a:xxxxx@h:1 n=3/);
    assert.doesNotMatch(new SourceError('unavailable', 'GET http://a:pw3@h failed').message, /pw3/);
    assert.doesNotMatch(errorMessage(new Error('fetch http://a:pw4@h')), /pw4/);
    assert.doesNotMatch(new UsageError("argument 'https://root:pw5@h:1' is invalid").message, /pw5/);
  });
});
