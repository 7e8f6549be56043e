// The status page in real Chromium against the k0s#5369 scene: real etcd, the API test server and the exporter
// as a process. What an operator sees: the stale c1 flagged with the command that fixes it, the page following
// the fix by itself, an etcd outage said plainly, hostile strings shown as text, nothing loaded from elsewhere.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { TestBrowser, chromiumMissing, requireChromium } from '../testbed/browser.js';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { etcdMemberObject } from '../testbed/kube-api-server.js';
import { requireTool } from '../testbed/tools.js';
import { sceneExporterOptions, startK0s5369Scene, type K0s5369Scene } from '../testbed/k0s5369.js';

const run = promisify(execFile);
const XSS = '<img src=x onerror=alert(1)>';
// Problems that compare etcd with the objects: none may show while etcd is not read.
const CROSS_SOURCE = ['hostname_drift', 'orphaned', 'peer_address_mismatch', 'unregistered', 'leave_pending', 'left'];

// The callbacks of page.evaluate and page.waitForFunction run in the page; the test build has no DOM library.
declare const window: Record<string, unknown>;
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  getElementById(id: string): { textContent: string | null } | null;
};

let scene: K0s5369Scene | undefined;
let exporter: ExporterProcess | undefined;
let browser: TestBrowser | undefined;

/** The visible text of the Findings cell of an object's row. */
async function findingsOf(page: Page, object: string): Promise<string> {
  return page.locator(`#members tr[data-object="${object}"] td.findings`).innerText();
}

/**
 * Waits until pred holds in the page; on timeout the error quotes what an operator would see (the refresh line,
 * the summary) and the page's script errors, so a failure says why.
 */
async function waitInPage(page: Page, what: string, pred: () => boolean, timeoutMs: number): Promise<void> {
  try {
    await page.waitForFunction(pred, undefined, { timeout: timeoutMs, polling: 100 });
  } catch (err) {
    const seen = await Promise.all(['#refresh-state', '#summary', '#sources'].map(async (sel) => `${sel}: ${await page.locator(sel).innerText().catch(() => '?')}`));
    throw new Error(`${what}: not within ${timeoutMs} ms (${(err as Error).message.split('\n')[0]})\n${seen.join('\n')}\nbrowser errors: ${browser?.errors.join(' | ') || 'none'}`);
  }
}

/** Every problem badge on the page, as data-problem values. */
async function problemsShown(page: Page): Promise<string[]> {
  const badges = await page.locator('#status [data-problem]').all();
  return Promise.all(badges.map(async (b) => (await b.getAttribute('data-problem')) ?? ''));
}

describe('status page in Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    if (chromiumMissing() !== undefined) return; // each test then skips, or fails in CI
    scene = await startK0s5369Scene();
    exporter = await ExporterProcess.start({ ...sceneExporterOptions(scene), interval: '2s' });
    browser = await TestBrowser.start();
  });

  after(async () => {
    await browser?.close();
    await exporter?.stop();
    await Promise.all([scene?.etcd.stop(), scene?.api.close()]);
  });

  it('fits a phone (390 px), a small window (800 px) and a desktop (1280 px) without sideways scroll; every runbook link answers from the exporter', async (t) => {
    if (!requireChromium(t)) return;
    const page = await browser!.context.newPage();
    const origin = new URL(exporter!.url).origin;
    const from = browser!.requests.length;
    try {
      await page.goto(`${exporter!.url}/`);
      await waitInPage(page, 'c1 flagged', () => document.querySelector('#members tr[data-object="c1"] [data-problem="duplicate"]') !== null, 20_000);
      for (const width of [390, 800, 1280]) {
        await page.setViewportSize({ width, height: 900 });
        // Measured in one go: the page re-renders itself from /status.json every few seconds.
        const [scrollWidth, clientWidth, left, right] = await page.evaluate(() => {
          type Box = { scrollWidth: number; clientWidth: number; getBoundingClientRect(): { left: number; right: number } };
          const root = (document as unknown as { documentElement: Box }).documentElement;
          const step = (document as unknown as { querySelector(s: string): Box | null }).querySelector('#members tr[data-object="c1"] .command code');
          const box = step?.getBoundingClientRect();
          return [root.scrollWidth, root.clientWidth, box?.left ?? -1, box?.right ?? -1];
        });
        assert.ok(scrollWidth <= clientWidth, `${width} px: the page is ${scrollWidth} px wide in a ${clientWidth} px window`);
        // The verdict's next step is on screen, within the window, readable without zooming out.
        assert.ok(left >= 0 && right <= clientWidth, `${width} px: the next step spans ${left} to ${right} px of a ${clientWidth} px window`);
        assert.match(await findingsOf(page, 'c1'), /kubectl delete etcdmember c1/);
      }
      assert.equal(await page.locator('#members tr[data-object="c1"] .command').count(), 1, 'one next step for c1, whose two findings it fixes');
      assert.equal(await page.locator('#members tr[data-object="c1"] .nocommand').count(), 0);

      const links = await page.locator('a[href*="runbook"]').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
      assert.ok(links.some((l) => l.endsWith('#k0setcdmemberduplicate')), `the duplicate finding links its runbook section: ${links.join(' ')}`);
      for (const href of new Set(links)) {
        const url = new URL(href);
        assert.equal(url.origin, origin, `${href} leaves the exporter`);
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        assert.equal(res.status, 200, href);
        const html = await res.text();
        if (url.hash !== '') assert.ok(html.includes(`id="${url.hash.slice(1)}"`), `${href}: the runbook has no section ${url.hash}`);
      }
      // Followed in the browser: the section is there and nothing is loaded from elsewhere.
      await page.locator('#members tr[data-object="c1"] [data-problem="duplicate"] .runbook a').click();
      await page.waitForURL(/\/runbook#k0setcdmemberduplicate$/);
      assert.match(await page.locator('#k0setcdmemberduplicate').innerText(), /^K0sEtcdMemberDuplicate$/);
      assert.deepEqual(browser!.requests.slice(from).filter((r) => new URL(r.url).origin !== origin), [], 'no request leaves the exporter');
    } finally {
      await page.close();
    }
  });

  it('flags c1 as duplicate with its command, follows kubectl delete within 5 s without reload, says when etcd is down', async (t) => {
    if (!requireChromium(t)) return;
    const kubectl = requireTool(t, 'kubectl', 'apt-get install kubernetes-client, or https://kubernetes.io/docs/tasks/tools/');
    if (kubectl === undefined) return;
    const { etcd, api } = scene!;
    const page = await browser!.page();
    const origin = new URL(exporter!.url).origin;

    // The exporter answers before its first reads end; an operator would reload until both sources are up.
    let response = await page.goto(`${exporter!.url}/`);
    for (let i = 0; i < 50 && !(await page.locator('#members tr[data-object="c1"] [data-problem="duplicate"]').count()); i++) {
      await page.waitForTimeout(200);
      response = await page.reload();
    }
    assert.ok(response, 'the page answered');
    const headers = response.headers();
    assert.match(headers['content-security-policy'] ?? '', /default-src 'none'/);
    assert.match(headers['content-security-policy'] ?? '', /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(headers['content-security-policy'] ?? '', /unsafe-inline/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');

    const c1 = await findingsOf(page, 'c1');
    assert.match(c1, /\bduplicate\b/);
    assert.match(c1, /kubectl delete etcdmember c1/);
    for (const name of ['c1.example.org', 'c2.example.org', 'c3.example.org']) assert.equal(await findingsOf(page, name), 'none', name);
    assert.match(await page.locator('#sources tr[data-source="etcd"]').innerText(), /\bup\b/);
    assert.match(await page.locator('#sources tr[data-source="kubernetes"]').innerText(), /\bup\b/);
    // The copy button works once the script runs (it is hidden without it).
    assert.ok(await page.locator('#members tr[data-object="c1"] button[data-copy]').isVisible(), 'copy button shown');

    assert.match(await page.title(), /^k0s etcd members: \d+ findings?$/);
    // Copy the command with its button and run it exactly as copied, against the scene's API server.
    await browser!.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const copy = page.locator('#members tr[data-object="c1"] [data-problem="duplicate"] button[data-copy]');
    await copy.click();
    await waitInPage(page, 'copy feedback', () => /^Copied: /.test(document.getElementById('copy-state')?.textContent ?? ''), 2000);
    assert.equal(await page.locator('#copy-state').innerText(), 'Copied: kubectl delete etcdmember c1');
    const command = await page.evaluate(() => (window['navigator'] as { clipboard: { readText(): Promise<string> } }).clipboard.readText());
    assert.match(command, /^kubectl [\w.-]+( [\w.-]+)*$/, 'a plain command without shell syntax');
    await page.evaluate(() => (window['notReloaded'] = true));
    await run(kubectl, [...command.split(' ').slice(1), '--kubeconfig', api.kubeconfigPath], { timeout: 20_000 });
    const deleted = Date.now();
    await waitInPage(page, 'no finding after kubectl delete', () => document.querySelectorAll('#status [data-problem]').length === 0, 5000);
    t.diagnostic(`page showed no finding ${Date.now() - deleted} ms after kubectl delete`);
    assert.equal(await page.evaluate(() => window['notReloaded']), true, 'the page was not reloaded');
    assert.equal(await page.locator('#members tr[data-object="c1"]').count(), 0);
    assert.match(await page.locator('#summary').innerText(), /consistent/i);
    assert.equal(await page.title(), 'k0s etcd members: consistent');

    // Back to k0s#5369, then etcd goes away: the page must say so and drop what compared etcd with the objects.
    api.create(etcdMemberObject('c1', { memberID: etcd.members[0]!.idHex, peerAddress: etcd.members[0]!.ip }));
    await waitInPage(page, 'c1 back, with hostname drift', () => document.querySelector('#members tr[data-object="c1"] [data-problem="hostname_drift"]') !== null, 10_000);
    await Promise.all(etcd.members.map((_, i) => etcd.kill(i)));
    await waitInPage(page, 'etcd down', () => document.querySelector('#sources tr[data-source="etcd"] .badge')?.textContent === 'down', 15_000);
    const etcdRow = await page.locator('#sources tr[data-source="etcd"]').innerText();
    assert.match(etcdRow, /\bdown\b/);
    assert.match(await page.locator('#summary').innerText(), /etcd member list/);
    assert.match(await page.locator('#summary').innerText(), /not an all-clear/);
    const shown = await problemsShown(page);
    assert.deepEqual(shown.filter((p) => CROSS_SOURCE.includes(p)), [], `no cross-source finding while etcd is down; shown: ${shown.join(', ')}`);
    assert.match(await page.locator('#members tbody').first().innerText(), /unknown: etcd is not read/);
    assert.equal(await page.evaluate(() => window['notReloaded']), true, 'still the same page');

    assert.deepEqual(browser!.requestsOffOrigin(origin), [], 'no request to another host');
    assert.deepEqual(browser!.dialogs, []);
  });

  it('shows a hostile peer address as text: no dialog, no request, nothing but the page and status.json', async (t) => {
    if (!requireChromium(t)) return;
    const { api } = scene!;
    api.create(etcdMemberObject('hostile', { memberID: 'abcdef', peerAddress: XSS }));
    const page = await browser!.context.newPage();
    const origin = new URL(exporter!.url).origin;
    const from = browser!.requests.length;
    const response = await page.goto(`${exporter!.url}/`);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    // The server-rendered page may precede the exporter's view of the object; the refresh brings it in.
    const cell = page.locator('#members tr[data-object="hostile"] .object-peer');
    await cell.waitFor({ timeout: 10_000 });
    assert.equal(await cell.innerText(), XSS);
    // Let the page re-render from /status.json at least twice, so the script's DOM path is checked too.
    await waitInPage(page, 'a refresh', () => /last refresh/.test(document.getElementById('refresh-state')?.textContent ?? ''), 10_000);
    await page.waitForTimeout(3500);
    assert.equal(await cell.innerText(), XSS);
    assert.equal(await page.locator('img').count(), 0, 'no <img> element was made');
    assert.deepEqual(browser!.dialogs, [], 'no dialog');
    const made = browser!.requests.slice(from);
    assert.deepEqual(made.filter((r) => new URL(r.url).origin !== origin), [], 'no request leaves the page');
    const paths = [...new Set(made.map((r) => new URL(r.url).pathname))].sort();
    assert.deepEqual(paths, ['/', '/status.json'], `requests: ${made.map((r) => r.url).join(' ')}`);
    assert.deepEqual(browser!.errors, [], 'no script error or CSP violation');
    await page.close();
  });

  it('reads without JavaScript: the server-rendered table, no copy buttons that could not work', async (t) => {
    if (!requireChromium(t)) return;
    const noScript = await TestBrowser.start({ javaScript: false });
    try {
      const page = await noScript.page();
      await page.goto(`${exporter!.url}/`);
      assert.match(await page.locator('#members tr[data-object="c1"] td.findings').innerText(), /kubectl delete etcdmember c1|duplicate/);
      assert.match(await page.locator('#refresh-state').innerText(), /reload it to refresh/);
      assert.equal(await page.locator('button[data-copy]').first().isVisible(), false, 'copy button hidden without a script');
      assert.equal(await page.getByRole('heading', { name: 'Members', exact: true }).count(), 1);
      assert.equal(await page.getByRole('columnheader', { name: 'Findings', exact: true }).count(), 1);
    } finally {
      await noScript.close();
    }
  });

  it('says so when it cannot refresh, and keeps the last state', async (t) => {
    if (!requireChromium(t)) return;
    const page = await browser!.context.newPage();
    await page.goto(`${exporter!.url}/`);
    await waitInPage(page, 'a refresh', () => /last refresh/.test(document.getElementById('refresh-state')?.textContent ?? ''), 10_000);
    await exporter!.stop();
    await waitInPage(page, 'the failed refresh said', () => /Could not refresh/.test(document.getElementById('refresh-state')?.textContent ?? ''), 10_000);
    assert.match(await page.locator('#refresh-state').innerText(), /Could not refresh at \d\d:\d\d:\d\d UTC \(.+\): the page shows the older state/);
    assert.ok(await page.locator('#members tr[data-object="c1"]').count(), 'the table is still there');
    await page.close();
  });
});
