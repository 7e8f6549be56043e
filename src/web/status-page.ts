// The status page at `/`: the HTML shell around view(), its inline style and script, and the headers that
// keep it self-contained. Nothing is loaded from elsewhere; the Content-Security-Policy allows exactly the one
// inline style and the one inline script by their SHA-256 hashes (fixed at startup: they never contain data),
// and connections to this origin only, for the refresh from /status.json.
import { createHash } from 'node:crypto';
import type { StatusDocument } from '../status-document.js';
import { clientMain } from './client.js';
import { toDom, view, type VNode, type ViewContext } from './view.js';

/** How often the page refreshes itself from /status.json when scripts run. */
export const REFRESH_SECONDS = 3;

const STYLE = `
:root { color-scheme: light dark; --bad: #b00020; --ok: #1b5e20; --warn: #8a5300; --line: #8884; }
@media (prefers-color-scheme: dark) { :root { --bad: #ff8a80; --ok: #a5d6a7; --warn: #ffcc80; } }
body { font: 15px/1.45 system-ui, sans-serif; margin: 1rem 1.5rem; max-width: 80rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
thead th { border-bottom: 2px solid var(--line); }
tbody + tbody { border-top: 2px solid var(--line); }
caption { text-align: left; padding: .25rem 0; font-size: .9rem; }
code { font: .9em ui-monospace, monospace; }
th.id code { white-space: nowrap; }
td.findings { width: 50%; }
.detail { display: block; font-size: .9em; }
.detail.error, .command code { overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .4em; border: 1px solid currentColor; border-radius: .3em; font-weight: 600; white-space: nowrap; }
.badge.bad { color: var(--bad); } .badge.ok { color: var(--ok); } .badge.warn { color: var(--warn); }
.none { opacity: .75; font-style: italic; }
ul.findings { list-style: none; margin: 0; padding: 0; } ul.findings li + li { margin-top: .4rem; }
.finding .runbook { font-size: .9em; white-space: nowrap; }
.command, .nocommand { display: block; margin-top: .4rem; }
tr.flagged td.findings { border-left: 3px solid var(--bad); }
.command code { padding: .05em .3em; border: 1px solid var(--line); border-radius: .2em; }
button.copy { font: inherit; font-size: .85em; padding: 0 .5em; cursor: pointer; }
#summary { font-size: 1.05rem; }
.legend, .footer, #refresh-state { font-size: .9rem; }
#refresh-state[data-stale] { color: var(--bad); font-weight: 600; }
#copy-state { position: fixed; right: 1rem; bottom: 1rem; margin: 0; padding: .4rem .8rem; border: 1px solid currentColor; border-radius: .3em; background: Canvas; max-width: calc(100% - 4rem); overflow-wrap: anywhere; }
#copy-state:empty { display: none; }
dl#local { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dl#local dd { margin: 0; overflow-wrap: anywhere; }
/* A phone: each object is a block of labelled lines, its findings and next step full width below its names. */
@media (max-width: 40rem) {
  body { margin: .75rem; }
  #members, #members thead, #members tbody, #members tr, #members th, #members td { display: block; }
  #members caption { display: block; }
  #members thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  #members tbody { border-top: 2px solid var(--line); padding: .3rem 0; }
  #members th, #members td { border: 0; padding: .15rem 0; }
  #members tr + tr { border-top: 1px dashed var(--line); margin-top: .3rem; padding-top: .3rem; }
  #sources tr { border-bottom: 1px solid var(--line); padding: .3rem 0; }
  #sources th, #sources td { border: 0; padding: .1rem 0; }
  #sources td[data-label]::before,
  #members td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
  #members td.findings { width: auto; }
  #members tr.flagged td.findings { border-left: 3px solid var(--bad); padding-left: .5rem; }
  #members th.id::before { content: "Member ID: "; }
  dl#local { grid-template-columns: 1fr; } dl#local dd { margin-bottom: .4rem; }
}
`;

// view and toDom run here as they do on the server; clientMain wires them to the page.
const SCRIPT = `"use strict";(${clientMain.toString()})(${view.toString()}, ${toDom.toString()}, window);`;
// Inside <script>, "</script" would end the element early and "<!--" changes how the rest is parsed.
if (/<\/script|<!--/i.test(SCRIPT)) throw new Error('status page: the inline script contains </script or <!--');

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Headers for the page: nothing from elsewhere, only our own inline style and script, no referrer. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    `style-src ${sha256(STYLE)}`,
    `script-src ${sha256(SCRIPT)}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Headers for /status.json: data only, never rendered as a page. */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s: string): string => (/[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c]!) : s);
const PLAIN_NAME = /^[a-z][a-z0-9-]*$/;

/** Server side: a tree to HTML. Every text and attribute value is escaped; tag and attribute names are ours. */
export function toHtml(node: VNode): string {
  const out: string[] = [];
  write(node, out);
  return out.join('');
}

function write(node: VNode, out: string[]): void {
  if (typeof node === 'string') {
    out.push(escape(node));
    return;
  }
  if (!PLAIN_NAME.test(node.t)) throw new Error(`status page: tag name ${JSON.stringify(node.t)} is not a plain lowercase name`);
  let open = '<' + node.t;
  if (node.a !== undefined) {
    for (const k in node.a) {
      if (!PLAIN_NAME.test(k)) throw new Error(`status page: attribute name ${JSON.stringify(k)} is not a plain lowercase name`);
      const v = node.a[k]!;
      open += v === '' ? ' ' + k : ' ' + k + '="' + escape(v) + '"';
    }
  }
  out.push(open + '>');
  if (node.c !== undefined) for (const c of node.c) write(c, out);
  out.push('</' + node.t + '>');
}

export interface PageOptions {
  readonly telemetryPath: string;
  readonly version: string;
}

/** The whole page for one status document. */
export function renderStatusPage(doc: StatusDocument, opts: PageOptions): string {
  const ctx: ViewContext = { telemetryPath: opts.telemetryPath, version: opts.version, refreshSeconds: REFRESH_SECONDS, scripted: false };
  const main = view(doc, ctx);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escape(main.a?.['data-title'] ?? 'k0s etcd members')}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>k0s etcd members</h1>
<p>What etcd's member list says, what the EtcdMember objects say, and where they disagree, with the safe command to fix each finding.</p>
<p id="refresh-state" role="status">This page shows one snapshot; reload it to refresh (it refreshes itself when JavaScript is on).</p>
<p id="copy-state" role="status"></p>
</header>
${toHtml(main)}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
