// Makes docs/status-page.png: the demo's k0s#5369 scene (real etcd, the API test server, the exporter), its
// status page opened in Debian's Chromium once both sources are read and c1 is flagged, then everything stopped.
//   npm run screenshot [-- --out path.png]
import { parseArgs } from 'node:util';
import { TestBrowser, chromiumMissing } from '../testbed/browser.js';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { sceneExporterOptions, startK0s5369Scene, type K0s5369Scene } from '../testbed/k0s5369.js';
import { REPO_ROOT } from '../testbed/paths.js';
import { waitFor } from '../testbed/wait.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: `${REPO_ROOT}/docs/status-page.png` } } });
const missing = chromiumMissing();
if (missing !== undefined) {
  process.stderr.write(`screenshot: ${missing}\n`);
  process.exit(1);
}

// The page.waitForFunction callback runs in the page; the build has no DOM library.
declare const document: { getElementById(id: string): { textContent: string | null } | null };

let scene: K0s5369Scene | undefined;
let exporter: ExporterProcess | undefined;
let browser: TestBrowser | undefined;
try {
  scene = await startK0s5369Scene();
  exporter = await ExporterProcess.start({ ...sceneExporterOptions(scene), interval: '5s' });
  const url = exporter.url;
  await waitFor(
    async () => {
      const doc = (await (await fetch(`${url}/status.json`, { signal: AbortSignal.timeout(2000) })).json()) as {
        sources: { up: boolean | null }[];
        findings: { name: string; problem: string }[];
      };
      return doc.sources.every((s) => s.up === true) && doc.findings.some((f) => f.name === 'c1' && f.problem === 'duplicate');
    },
    { timeoutMs: 30_000, what: 'both sources up and c1 flagged in /status.json' },
  );
  browser = await TestBrowser.start();
  const page = await browser.page();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${url}/`);
  // Wait for the first refresh, so the copy buttons (shown by the script) are in the picture.
  await page.waitForFunction(() => /last refresh/.test(document.getElementById('refresh-state')?.textContent ?? ''), undefined, { timeout: 10_000 });
  await page.screenshot({ path: values.out, fullPage: true });
  process.stdout.write(`screenshot: wrote ${values.out}\n`);
} finally {
  await browser?.close();
  await exporter?.stop();
  await Promise.all([scene?.etcd.stop(), scene?.api.close()]);
}
