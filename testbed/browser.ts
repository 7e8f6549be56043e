// Debian's Chromium driven by playwright-core, for tests and scripts that look at the status page as a user
// does. Never a downloaded browser (no `npx playwright install`): the one installed at /usr/bin/chromium,
// headless, with a fresh profile that is removed again, and every request the pages make recorded.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { skipOrFail } from './tools.js';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (Debian package chromium; .ci/run installs it)`;
}

/**
 * True when Chromium is there. When it is not, the test is skipped with the reason locally and fails in CI
 * (CI=true), where .ci/run installs it: a browser test must never pass without a browser.
 */
export function requireChromium(t: TestContext): boolean {
  const why = chromiumMissing();
  if (why === undefined) return true;
  skipOrFail(t, why);
  return false;
}

export interface RecordedRequest {
  readonly url: string;
  readonly method: string;
  readonly resourceType: string;
}

export class TestBrowser {
  /** Every request any page of this browser made, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Every JavaScript dialog (alert, confirm, prompt) a page opened; each is dismissed. */
  readonly dialogs: string[] = [];
  /** Console errors and uncaught exceptions of the pages (a CSP violation shows here). */
  readonly errors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    private readonly profileDir: string,
  ) {}

  /** javaScript false: pages run no script, as for a reader who turned it off. */
  static async start(o: { javaScript?: boolean } = {}): Promise<TestBrowser> {
    const profileDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    try {
      const context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        timeout: 30_000,
        viewport: { width: 1400, height: 900 },
        javaScriptEnabled: o.javaScript ?? true,
      });
      const b = new TestBrowser(context, profileDir);
      context.on('request', (r) => b.requests.push({ url: r.url(), method: r.method(), resourceType: r.resourceType() }));
      context.on('page', (p) => b.watch(p));
      for (const p of context.pages()) b.watch(p);
      return b;
    } catch (err) {
      rmSync(profileDir, { recursive: true, force: true });
      throw err;
    }
  }

  private watch(page: Page): void {
    page.on('dialog', (d) => {
      this.dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => undefined);
    });
    page.on('console', (m) => {
      if (m.type() === 'error') this.errors.push(m.text());
    });
    page.on('pageerror', (e) => this.errors.push(e.message));
  }

  /** The page the browser opened with (a persistent context always has one). */
  async page(): Promise<Page> {
    return this.context.pages()[0] ?? (await this.context.newPage());
  }

  /** Requests to anywhere but origin (scheme://host:port). */
  requestsOffOrigin(origin: string): RecordedRequest[] {
    return this.requests.filter((r) => {
      try {
        return new URL(r.url).origin !== origin;
      } catch {
        return true;
      }
    });
  }

  async close(): Promise<void> {
    try {
      await this.context.close();
    } finally {
      rmSync(this.profileDir, { recursive: true, force: true });
    }
  }
}
