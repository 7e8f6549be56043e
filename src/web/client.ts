// The status page's inline script: refreshes the page from /status.json every few seconds and makes the copy
// buttons work. It is shipped as source text (Function.prototype.toString), so clientMain refers to nothing
// outside its body but its parameters and browser globals reached through `w`; the small DOM interfaces
// below let it type-check without the DOM library (the rest of src/ is Node code and must not see `document`).
import type { StatusDocument } from '../status-document.js';
import type { MiniDocument, VElement, VNode, ViewContext } from './view.js';

interface ClientNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  closest(selector: string): ClientNode | null;
  querySelector(selector: string): ClientNode | null;
  replaceWith(node: unknown): void;
  focus(): void;
  contains(node: unknown): boolean;
}
interface ClientDocument extends MiniDocument {
  title: string;
  readonly hidden: boolean;
  readonly activeElement: ClientNode | null;
  getElementById(id: string): ClientNode | null;
  querySelectorAll(selector: string): Iterable<ClientNode>;
  addEventListener(type: string, listener: (ev: { target: unknown }) => void): void;
  createRange(): { selectNodeContents(node: ClientNode): void };
  execCommand(command: string): boolean;
}
export interface ClientWindow {
  readonly document: ClientDocument;
  readonly navigator: { clipboard?: { writeText(text: string): Promise<void> } };
  readonly isSecureContext: boolean;
  getSelection(): { isCollapsed: boolean; anchorNode: unknown; removeAllRanges(): void; addRange(range: unknown): void } | null;
  fetch(url: string, init: { cache: string; signal: AbortSignal; headers: Record<string, string> }): Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;
  setTimeout(fn: () => void, ms: number): unknown;
  readonly AbortSignal: { timeout(ms: number): AbortSignal };
}

export function clientMain(
  view: (doc: StatusDocument, ctx: ViewContext) => VElement,
  toDom: (node: VNode, d: MiniDocument) => unknown,
  w: ClientWindow,
): void {
  const d = w.document;
  const main = d.getElementById('status');
  const state = d.getElementById('refresh-state');
  const copyState = d.getElementById('copy-state');
  if (main === null || state === null) return;
  const ctx: ViewContext = {
    telemetryPath: main.getAttribute('data-telemetry-path') ?? '/metrics',
    version: main.getAttribute('data-version') ?? '',
    refreshSeconds: Number(main.getAttribute('data-refresh-seconds') ?? '0') || 5,
    scripted: true,
  };
  const clock = (): string => new Date().toISOString().slice(11, 19) + ' UTC';

  // Copy buttons are hidden in the server's HTML (they need a script); show them now.
  for (const b of d.querySelectorAll('button[data-copy]')) b.removeAttribute('hidden');
  d.addEventListener('click', (ev) => {
    const button = (ev.target as ClientNode | null)?.closest?.('button[data-copy]') ?? null;
    const code = button?.closest('.command')?.querySelector('code') ?? null;
    if (button === null || code === null) return;
    const text = code.textContent ?? '';
    // Said outside <main>, which a refresh replaces, and in a live region, so a screen reader hears it too.
    const done = (ok: boolean): void => {
      if (copyState === null) return;
      copyState.textContent = ok ? `Copied: ${text}` : `Selected: press Ctrl+C to copy ${text}`;
      const shown = copyState.textContent;
      w.setTimeout(() => {
        if (copyState.textContent === shown) copyState.textContent = '';
      }, 4000);
    };
    // The clipboard API needs a secure context (https or localhost); over plain http the command is selected
    // and copied the old way, or left selected for Ctrl+C.
    const fallback = (): void => {
      const range = d.createRange();
      range.selectNodeContents(code);
      const sel = w.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      let ok = false;
      try {
        ok = d.execCommand('copy');
      } catch {
        ok = false;
      }
      done(ok);
    };
    if (w.isSecureContext && w.navigator.clipboard) w.navigator.clipboard.writeText(text).then(() => done(true), fallback);
    else fallback();
  });

  // The copy button that has the focus, named by its row and finding, so it gets the focus back after a refresh.
  const focusKey = (): string | null => {
    const el = d.activeElement;
    if (el === null || el.closest('button[data-copy]') === null) return null;
    return `${el.closest('[data-object]')?.getAttribute('data-object') ?? ''}\u0000${el.closest('[data-problem]')?.getAttribute('data-problem') ?? ''}`;
  };
  const refresh = async (): Promise<void> => {
    if (d.hidden) return;
    // Someone selecting a name or an ID to copy by hand keeps it: wait until the selection is gone.
    const sel = w.getSelection();
    if (sel !== null && !sel.isCollapsed && sel.anchorNode !== null && d.getElementById('status')?.contains(sel.anchorNode) === true) {
      state.textContent = `Refresh paused while text is selected (${clock()}).`;
      return;
    }
    try {
      const res = await w.fetch('status.json', { cache: 'no-store', signal: w.AbortSignal.timeout(ctx.refreshSeconds * 1000), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`status.json answered HTTP ${res.status}`);
      const doc = (await res.json()) as StatusDocument;
      if (doc?.kind !== 'K0sEtcdMemberStatus' || doc.version !== 1) throw new Error('status.json is not a version 1 K0sEtcdMemberStatus document');
      const focused = focusKey();
      const tree = view(doc, ctx);
      d.getElementById('status')?.replaceWith(toDom(tree, d));
      d.title = tree.a?.['data-title'] ?? d.title;
      if (focused !== null) {
        for (const b of d.querySelectorAll('#status button[data-copy]')) {
          const key = `${b.closest('[data-object]')?.getAttribute('data-object') ?? ''}\u0000${b.closest('[data-problem]')?.getAttribute('data-problem') ?? ''}`;
          if (key === focused) {
            b.focus();
            break;
          }
        }
      }
      state.textContent = `Refreshes itself every ${ctx.refreshSeconds} s; last refresh ${clock()}.`;
      state.removeAttribute('data-stale');
    } catch (err) {
      state.textContent = `Could not refresh at ${clock()} (${err instanceof Error ? err.message : String(err)}): the page shows the older state of the snapshot time below.`;
      state.setAttribute('data-stale', '');
    }
  };
  const loop = (): void => {
    void refresh().finally(() => w.setTimeout(loop, ctx.refreshSeconds * 1000));
  };
  state.textContent = `Refreshes itself every ${ctx.refreshSeconds} s.`;
  w.setTimeout(loop, ctx.refreshSeconds * 1000);
  d.addEventListener('visibilitychange', () => {
    if (!d.hidden) void refresh();
  });
}
