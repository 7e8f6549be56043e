// The status page as HTML, without a browser: what each row says, escaping of everything from etcd and the API,
// the headers, the inline script and style matching their CSP hashes, render time for 1,000 members.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Exposition } from '../src/exposition.js';
import { createApp } from '../src/server.js';
import { PAGE_HEADERS, renderStatusPage, toHtml } from '../src/web/status-page.js';
import { toDom, view, type MiniDocument, type MiniElement, type VNode } from '../src/web/view.js';
import { IDS, k0s5369Document, largeDocument } from './status-page-fixtures.js';

const OPTS = { telemetryPath: '/metrics', version: '0.1.0' };
const HOSTILE = '<img src=x onerror=alert(1)>';

/** What a reader sees of an HTML fragment, roughly: no style or script, tags as spaces, entities decoded. */
function text(html: string): string {
  return html
    .replace(/<(style|script)>[\s\S]*?<\/\1>/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The <tr> of one object, as HTML. */
function rowOf(html: string, object: string): string {
  const m = new RegExp(`<tr data-object="${object.replace(/\./g, '\\.')}"[^>]*>.*?</tr>`).exec(html);
  assert.ok(m, `row for ${object}`);
  return m[0];
}

function cell(row: string, cls: string): string {
  const m = new RegExp(`<td[^>]* class="${cls}"[^>]*>(.*?)</td>`).exec(row);
  assert.ok(m, `cell ${cls} in ${row}`);
  return text(m[1]!);
}

describe('status page HTML', () => {
  it('k0s#5369: c1 flagged duplicate with its command, the real members unflagged', () => {
    const html = renderStatusPage(k0s5369Document(), OPTS);
    const c1 = rowOf(html, 'c1');
    // One verdict for the object: both problems, what each means, then the one step that fixes both.
    assert.match(cell(c1, 'findings'), /^duplicate c1 carries .* Runbook: duplicate hostname drift c1 is not named .* deleting it clears this too\. Runbook: hostname drift Next step: kubectl delete etcdmember c1 Copy$/);
    assert.match(c1, /<a href="runbook#k0setcdmemberduplicate">Runbook: duplicate<\/a>/);
    assert.doesNotMatch(c1, /No single command fixes this/);
    assert.equal(c1.match(/Next step:/g)?.length, 1, 'one next step');
    for (const name of ['c1.example.org', 'c2.example.org', 'c3.example.org']) assert.equal(cell(rowOf(html, name), 'findings none'), 'none', name);
    // One row group per member ID; c1 and c1.example.org share c1.example.org's.
    assert.match(html, new RegExp(`<tbody data-member-id="${IDS.c1}"><tr data-object="c1" class="flagged"><th scope="rowgroup" rowspan="2"`));
    assert.match(text(html), /2 findings 2 findings need attention/);
    // Copy buttons need the script: hidden in the server's HTML.
    assert.match(c1, /<button type="button" class="copy" data-copy aria-label="Copy the command: kubectl delete etcdmember c1" hidden>/);
  });

  it('is accessible: headings, column and row headers, a caption, colour explained in text', () => {
    const html = renderStatusPage(k0s5369Document(), OPTS);
    assert.match(html, /<html lang="en">/);
    for (const h of ['<h1>k0s etcd members</h1>', '>Sources</h2>', '>Members</h2>', '>This controller</h2>', '>Links</h2>']) assert.ok(html.includes(h), h);
    // Every column earns its place: peer addresses, states and spec.leave are details of the member and the object.
    assert.deepEqual([...html.matchAll(/<th scope="col">([^<]*)<\/th>/g)].map((m) => m[1]), ['Source', 'State', 'Last successful read', 'Member ID', 'etcd member', 'EtcdMember object', 'Findings']);
    assert.match(html, /<caption>etcd members and EtcdMember objects, joined by member ID/);
    assert.match(html, /<th scope="row">etcd member list<\/th>/);
    assert.match(text(html), /Badges carry their meaning in text; colour only repeats it: red is a finding/);
    assert.match(html, /<a href="\/metrics">Metrics<\/a>/);
    for (const l of ['healthz', 'readyz', 'status.json', 'runbook']) assert.match(html, new RegExp(`<a href="${l.replace('.', '\\.')}">`), l);
  });

  it('etcd down: says so, marks the members unknown, and says no finding is not an all-clear', () => {
    const doc = k0s5369Document();
    doc.sources[0] = { name: 'etcd', up: false, lastSuccess: '2026-11-27T08:30:00.000Z', reason: 'unavailable', error: 'member list: connect ECONNREFUSED 127.0.0.1:2379' };
    doc.rows = doc.rows.map((r) => ({ ...r, member: null }));
    doc.findings = doc.findings.filter((f) => f.problem === 'duplicate');
    doc.local = null;
    const html = renderStatusPage(doc, OPTS);
    const etcdRow = /<tr data-source="etcd">.*?<\/tr>/.exec(html)![0];
    assert.match(text(etcdRow), /^etcd member list down unavailable: member list: connect ECONNREFUSED 127\.0\.0\.1:2379 2026-11-27 08:30:00 UTC \(603 s before this snapshot\)$/);
    assert.match(text(html), /Down: etcd member list\. Nothing that compares etcd with the objects can be judged while etcd is not read, so no such finding is shown: that is not an all-clear\./);
    assert.equal(cell(rowOf(html, 'c2.example.org'), 'member-name'), 'unknown: etcd is not read');
    assert.match(text(html), /This controller Unknown while etcd is not read\./);
  });

  it('local name drift: flagged, with the names and what to do', () => {
    const doc = k0s5369Document();
    doc.local = { memberName: 'c1.example.org', memberId: IDS.c1, registrationName: 'c1', nameDrift: true };
    doc.findings.push({
      subject: 'local', name: 'c1', memberId: IDS.c1, problem: 'local_name_drift',
      message: 'this host would register as "c1" at its next k0s start, but its etcd member is "c1.example.org"',
      command: null, runbook: 'https://example.org/runbook.md#k0setcdmemberlocalnamedrift',
    });
    const t = text(renderStatusPage(doc, OPTS));
    assert.match(t, /This controller etcd member c1\.example\.org \(ID 8e9e05c52164694d \) Name k0s registers at its next start c1 name drift local name drift this host would register as "c1"/);
    assert.doesNotMatch(t, /Other findings/);
  });

  it('local name and peer address drift that cannot be told show as unknown, never as matches', () => {
    const doc = k0s5369Document();
    doc.local = { memberName: 'c1.example.org', memberId: IDS.c1, registrationName: 'c1.example.org', nameDrift: null, predictedPeerAddress: '10.0.0.1' };
    const html = renderStatusPage(doc, OPTS);
    const local = /<dl id="local">.*?<\/dl>/.exec(html)![0];
    assert.doesNotMatch(local, /matches/);
    assert.match(text(local), /Name k0s registers at its next start c1\.example\.org unknown Peer address k0s registers at its next start 10\.0\.0\.1 unknown/);
    assert.equal(local.match(/<span class="badge warn">unknown<\/span>/g)?.length, 2);
  });

  it('an object without a valid member ID has its finding on its own row', () => {
    const doc = k0s5369Document();
    doc.rows.push({ memberId: '', member: null, objects: [{ name: 'bad-id', peerAddress: '10.0.0.9', leave: false, reconcileStatus: null }], findings: ['bad-id: invalid_member_id'] });
    doc.findings.push({ subject: 'object', name: 'bad-id', memberId: 'zz-not-hex', problem: 'invalid_member_id', message: 'bad-id has member ID "zz-not-hex", which is not hex.', command: null, runbook: 'https://example.org/runbook.md#x' });
    const html = renderStatusPage(doc, OPTS);
    assert.match(cell(rowOf(html, 'bad-id'), 'findings'), /^invalid member id bad-id has member ID "zz-not-hex"/);
    assert.equal(cell(rowOf(html, 'bad-id'), 'member-name'), 'no valid member ID to match');
    assert.doesNotMatch(text(html), /Other findings/);
  });

  it('a finding no row carries still shows, under Other findings', () => {
    const doc = k0s5369Document();
    doc.findings.push({ subject: 'object', name: 'ghost', memberId: 'ffff', problem: 'orphaned', message: 'ghost points at no member.', command: 'kubectl delete etcdmember ghost', runbook: 'https://example.org/runbook#orphaned' });
    const html = renderStatusPage(doc, OPTS);
    assert.match(text(html), /Other findings orphaned ghost points at no member\. Next step: kubectl delete etcdmember ghost/);
  });

  it('escapes every value from etcd and the API; a non-http runbook URL is no link', () => {
    const doc = k0s5369Document();
    const evil = `"'><script>alert(1)</script>${HOSTILE}&amp;`;
    doc.rows[0]!.memberId = evil;
    doc.rows[0]!.member = { name: evil, peerAddress: HOSTILE, learner: true, started: true };
    doc.rows[0]!.objects[0] = { name: evil, peerAddress: HOSTILE, leave: true, reconcileStatus: evil };
    doc.sources[1] = { name: 'kubernetes', up: false, lastSuccess: null, reason: evil, error: evil };
    doc.findings = [{ subject: 'object', name: evil, memberId: evil, problem: 'duplicate', message: evil, command: `kubectl delete etcdmember ${evil}`, runbook: 'javascript:alert(1)' }];
    doc.local = { memberName: evil, memberId: evil, registrationName: evil, nameDrift: true };
    const html = renderStatusPage(doc, { telemetryPath: '/metrics"><script>x</script>', version: evil });
    assert.equal(html.match(/<script/g)?.length, 1, 'only the page script');
    assert.doesNotMatch(html, /<img/);
    assert.doesNotMatch(html, /href="javascript:/);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('&quot;&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('&amp;amp;'), 'an entity in the data stays literal text');
    assert.match(text(html), /Runbook: duplicate \(javascript:alert\(1\)\)/);
    // The object's name lands in an attribute too, quoted and escaped.
    assert.ok(html.includes(`data-object="&quot;&#39;&gt;&lt;script&gt;`));
  });

  it('the browser renderer builds the same tree with text nodes and attributes only', () => {
    const doc = k0s5369Document();
    doc.rows[1]!.objects[0]!.peerAddress = HOSTILE;
    const tree = view(doc, { telemetryPath: '/metrics', version: '1', refreshSeconds: 3, scripted: true });
    // A document that records what toDom asks of it: the result serialised must equal the server's HTML.
    const fake: MiniDocument = {
      createElement: (tag) => {
        const e = { tag, attrs: [] as [string, string][], kids: [] as unknown[] };
        const el: MiniElement & { e: typeof e } = { e, setAttribute: (k, v) => void e.attrs.push([k, v]), append: (...n) => void e.kids.push(...n) };
        return el;
      },
      createTextNode: (t) => ({ text: t }),
    };
    const back = (n: unknown): VNode => {
      const x = n as { text?: string; e?: { tag: string; attrs: [string, string][]; kids: unknown[] } };
      if (x.text !== undefined) return x.text;
      return { t: x.e!.tag, a: Object.fromEntries(x.e!.attrs), c: x.e!.kids.map(back) };
    };
    assert.equal(toHtml(back(toDom(tree, fake))), toHtml(tree));
    assert.ok(JSON.stringify(back(toDom(tree, fake))).includes(JSON.stringify(HOSTILE)), 'the hostile string is one text node, as is');
  });

  it('inline style and script match the hashes in the Content-Security-Policy; nothing else is allowed', () => {
    const html = renderStatusPage(k0s5369Document(), OPTS);
    const csp = PAGE_HEADERS['Content-Security-Policy']!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    assert.equal(csp, `default-src 'none'; style-src ${hash(style)}; script-src ${hash(script)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
    assert.doesNotMatch(html, / style=| on[a-z]+=/, 'no inline style or handler attributes, which the hashes would not allow');
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\/(?!github\.com)/, 'nothing loaded from elsewhere');
  });

  it('renders 1,000 members (1,100 objects) in under 100 ms', (t) => {
    const doc = largeDocument(1000);
    for (let i = 0; i < 3; i++) renderStatusPage(doc, OPTS);
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < 7; i++) {
      const c = process.cpuUsage();
      const w = performance.now();
      const html = renderStatusPage(doc, OPTS);
      wall.push(performance.now() - w);
      const u = process.cpuUsage(c);
      cpu.push((u.user + u.system) / 1000);
      assert.equal(html.match(/<tr data-object=/g)?.length, 1100);
    }
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    t.diagnostic(`render of 1,100 objects: median ${median(cpu).toFixed(1)} ms CPU, ${median(wall).toFixed(1)} ms wall (7 runs)`);
    // CPU time: the test machine is shared, and wall time there says more about the neighbours than the code.
    assert.ok(median(cpu) < 100, `median CPU time ${median(cpu).toFixed(1)} ms`);
  });
});

describe('status page routes', () => {
  it('/ and /status.json serve the same document with the security headers', async () => {
    const doc = k0s5369Document();
    const app = createApp({ exposition: new Exposition(new Registry().contentType, [{ render: () => new Registry().metrics(), key: () => 0 }]), telemetryPath: '/metrics', ready: () => true, version: '0.1.0', status: () => doc });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
      assert.equal(page.headers.get('content-security-policy'), PAGE_HEADERS['Content-Security-Policy']);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      assert.match(await page.text(), /kubectl delete etcdmember c1/);
      const json = await fetch(`${base}/status.json`, { signal: AbortSignal.timeout(5000) });
      assert.equal(json.status, 200);
      assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(json.headers.get('x-content-type-options'), 'nosniff');
      assert.match(json.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.deepEqual(await json.json(), doc);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
