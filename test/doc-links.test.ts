// Every relative link in README.md and docs/*.md leads somewhere: the file exists in the repository, and a
// `#anchor` names a heading of the file it points at, by GitHub's heading-id rule (the one /runbook renders its
// ids with, so the two cannot disagree). README is cut to what a newcomer reads first and links docs/ for the rest,
// so a moved or renamed section must not leave a link behind.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { dirname, join, relative as relativeTo } from 'node:path/posix';
import { describe, it } from 'node:test';
import { Marked, type Token } from 'marked';
import { TARBALL_FILES } from '../scripts/package.js';
import { buildCommand } from '../src/config.js';
import { renderRunbook } from '../src/web/runbook.js';
import { REPO_ROOT } from '../testbed/paths.js';

interface Link {
  /** The markdown file the link is in, relative to the repository. */
  readonly from: string;
  readonly href: string;
}

/** Every link and image in a markdown text, tables and lists included, as marked parses it (gfm, as GitHub does). */
function linksOf(markdown: string, from: string): Link[] {
  const marked = new Marked({ gfm: true });
  const links: Link[] = [];
  // walkTokens returns the callbacks' results (promises only for async extensions; this callback is synchronous).
  void marked.walkTokens(marked.lexer(markdown), (token: Token) => {
    if (token.type === 'link' || token.type === 'image') links.push({ from, href: (token as { href: string }).href });
  });
  return links;
}

/** The heading ids of a markdown text, as GitHub gives them. */
function anchorsOf(markdown: string): Set<string> {
  return new Set(renderRunbook(markdown, 'links').anchors);
}

/**
 * What is wrong with each relative link, one line per broken link. `read` gives a file's text by its path relative
 * to the repository (undefined when there is none), so the rule itself can be tried on texts made up for it.
 */
function brokenLinks(links: readonly Link[], read: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const { from, href } of links) {
    // Absolute URLs (https:, mailto:) are not the repository's to check.
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue;
    const hash = href.indexOf('#');
    const path = hash === -1 ? href : href.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(href.slice(hash + 1));
    const target = path === '' ? from : join(dirname(from), decodeURIComponent(path));
    if (target.startsWith('..')) {
      problems.push(`${from}: ${href} leads out of the repository`);
      continue;
    }
    const text = read(target);
    if (text === undefined) {
      problems.push(`${from}: ${href}: ${target} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!target.endsWith('.md')) {
      problems.push(`${from}: ${href}: #${anchor} in ${target}, which is no markdown file`);
    } else if (!anchorsOf(text).has(anchor)) {
      problems.push(`${from}: ${href}: ${target} has no heading with the id ${anchor} (headings: ${[...anchorsOf(text)].join(', ')})`);
    }
  }
  return problems;
}

function readRepo(path: string): string | undefined {
  const full = resolve(REPO_ROOT, path);
  if (!existsSync(full)) return undefined;
  // A directory is a fine link target on GitHub (it lists it); its text is never asked for an anchor.
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

const DOCS = ['README.md', ...readdirSync(resolve(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('links in README.md and docs/', () => {
  it('reads README and the docs, and finds their links', () => {
    assert.ok(DOCS.length > 5, `docs found: ${DOCS.join(', ')}`);
    const readme = linksOf(readRepo('README.md')!, 'README.md');
    // README links the reference it no longer holds: each doc but README itself is linked from it.
    for (const doc of DOCS.filter((d) => d !== 'README.md')) {
      assert.ok(readme.some((l) => l.href.split('#')[0] === doc), `README.md links ${doc}`);
    }
  });

  it('every relative link points at an existing file and, with #anchor, an existing heading', () => {
    const links = DOCS.flatMap((doc) => linksOf(readRepo(doc)!, doc));
    assert.ok(links.some((l) => l.href.includes('#') && !l.href.startsWith('#')), 'some links name a heading in another file');
    assert.deepEqual(brokenLinks(links, readRepo), []);
  });

  it('the release tarball holds what its README and docs link, at the same relative paths', () => {
    /** Where a repository path lands in the tarball, or undefined when it is not shipped. */
    const shipped = (path: string): string | undefined => {
      for (const [from, to] of TARBALL_FILES) {
        if (path === from) return to;
        if (path.startsWith(`${from}/`)) return `${to}${path.slice(from.length)}`;
      }
      return undefined;
    };
    const problems: string[] = [];
    for (const doc of DOCS.filter((d) => shipped(d) !== undefined)) {
      for (const { href } of linksOf(readRepo(doc)!, doc)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) continue;
        const target = join(dirname(doc), href.split('#')[0]!);
        // Relative links keep working only when the target lands where the link expects it from the doc's place.
        const want = join(dirname(shipped(doc)!), relativeTo(dirname(doc), target));
        if (shipped(target) !== want) problems.push(`${doc} (shipped as ${shipped(doc)!}) links ${href}, which the tarball ${shipped(target) === undefined ? 'does not hold' : `holds at ${shipped(target)!}`}`);
      }
    }
    assert.ok(shipped('README.md') !== undefined, 'the tarball holds README.md');
    assert.deepEqual(problems, []);
  });

  it('docs/runbook.md links only its own sections: the exporter serves it alone at /runbook', () => {
    const outside = linksOf(readRepo('docs/runbook.md')!, 'docs/runbook.md').filter((l) => !l.href.startsWith('#') && !/^https?:/.test(l.href));
    assert.deepEqual(outside, []);
  });

  it('reports a missing file, a missing heading, a link out of the repository, and takes GitHub heading ids', () => {
    const files: Record<string, string> = {
      'README.md': '# Title\n\n## Fix it\n\n## `check -o json`\n\n## Fix it\n',
      'docs/a.md': '# A\n\n### 2. A kubeconfig for the ServiceAccount\n',
      'docs/pic.png': 'png',
    };
    const md = [
      '[ok](docs/a.md#2-a-kubeconfig-for-the-serviceaccount) [ok](#fix-it) [ok](#fix-it-1) [ok](#check--o-json)',
      '![ok](docs/pic.png) [ok](https://example.org/x.md#nothing) [ok](docs/a.md)',
      '| a | b |\n|---|---|\n| [in a table](docs/gone.md) | x |',
      '- [in a list](#fix)',
      '[up](../outside.md) [no md](docs/pic.png#x) [wrong case](docs/a.md#A)',
    ].join('\n\n');
    assert.deepEqual(
      brokenLinks(linksOf(md, 'README.md'), (p) => files[p]).map((p) => p.replace(/ \(headings:.*\)$/, '')),
      [
        'README.md: docs/gone.md: docs/gone.md does not exist',
        'README.md: #fix: README.md has no heading with the id fix',
        'README.md: ../outside.md leads out of the repository',
        'README.md: docs/pic.png#x: #x in docs/pic.png, which is no markdown file',
        'README.md: docs/a.md#A: docs/a.md has no heading with the id A',
      ],
    );
  });
});

describe('docs/flags.md', () => {
  it("lists every flag of the exporter's --help, and no other", () => {
    const doc = readRepo('docs/flags.md')!;
    // The table's first column: `--flag`, or several as `--version`, `-h`, `--help`.
    const listed = new Set(doc.split('\n').filter((l) => l.startsWith('| `-')).flatMap((l) => [...l.split('|')[1]!.matchAll(/`(--[\w.-]+)`/g)].map((m) => m[1]!)));
    const flags = new Set([...buildCommand('0.0.0').options.map((o) => o.long!), '--help']);
    assert.deepEqual([...flags].filter((f) => !listed.has(f)), [], 'flags missing from docs/flags.md');
    assert.deepEqual([...listed].filter((f) => !flags.has(f)), [], 'docs/flags.md lists flags the exporter does not have');
  });
});
