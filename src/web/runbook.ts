// The runbook served by the exporter itself at /runbook, rendered once at start from docs/runbook.md (beside
// dist/ in the image, inside the bundle and the single executable: src/web/runbook-source.ts), so every runbook link works in an air-gapped cluster. Each
// heading gets the id GitHub gives it, so an alert's section is /runbook#k0setcdmemberduplicate here as on GitHub.
import { createHash } from 'node:crypto';
import { Marked } from 'marked';
import { RUNBOOK_SOURCE, runbookMarkdown } from './runbook-source.js';

/** The path the exporter serves the runbook at. */
export const RUNBOOK_PATH = '/runbook';

export interface RunbookPage {
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The id of every heading, in order. */
  readonly anchors: readonly string[];
}

const STYLE = `
:root { color-scheme: light dark; --line: #8884; }
body { font: 15px/1.5 system-ui, sans-serif; margin: 1rem auto; padding: 0 1rem; max-width: 60rem; overflow-wrap: break-word; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-top: 1px solid var(--line); padding-top: 1rem; } h3 { font-size: 1.05rem; }
code { font: .9em ui-monospace, monospace; }
pre { overflow-x: auto; padding: .6rem; border: 1px solid var(--line); border-radius: .3em; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
nav { font-size: .9rem; }
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** GitHub's heading ids: lowercase, punctuation dropped, spaces to hyphens; a repeated id gets -1, -2, ... */
export function githubSlugger(): (text: string) => string {
  const seen = new Map<string, number>();
  return (text) => {
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base);
    seen.set(base, (n ?? -1) + 1);
    return n === undefined ? base : `${base}-${n + 1}`;
  };
}

/** Renders the runbook's markdown into the page served at /runbook. */
export function renderRunbook(markdown: string, version: string): RunbookPage {
  const slug = githubSlugger();
  const anchors: string[] = [];
  const marked = new Marked({
    gfm: true,
    renderer: {
      heading({ tokens, depth, text }) {
        // The id comes from the heading's plain text, as GitHub's does (`code` and links count by their text).
        const id = slug(text.replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'));
        anchors.push(id);
        return `<h${depth} id="${id}">${this.parser.parseInline(tokens)}</h${depth}>\n`;
      },
    },
  });
  const body = marked.parse(markdown, { async: false });
  const title = /^# (.+)$/m.exec(markdown)?.[1] ?? 'Runbook';
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title.replace(/[&<>"']/g, '')}</title>
<style>${STYLE}</style>
</head>
<body>
<nav><a href="./">Status page</a> · k0s-etcdmember-exporter ${version.replace(/[&<>"']/g, '')}</nav>
<main>
${body}</main>
</body>
</html>
`;
  return {
    html,
    anchors,
    headers: {
      // Our own markdown only, but still nothing runs and nothing is loaded: links are plain navigation.
      'Content-Security-Policy': `default-src 'none'; style-src ${sha256(STYLE)}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    },
  };
}

/** Reads and renders docs/runbook.md; throws with the path when it was not shipped. */
export function loadRunbook(version: string, read: () => string = runbookMarkdown): RunbookPage {
  let markdown: string;
  try {
    markdown = read();
  } catch (err) {
    throw new Error(`cannot read the runbook ${RUNBOOK_SOURCE} (${(err as NodeJS.ErrnoException).code ?? String(err)}): ship docs/runbook.md beside dist/ (the Dockerfile does)`);
  }
  return renderRunbook(markdown, version);
}
