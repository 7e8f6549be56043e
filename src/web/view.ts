// The status page's content as a tree of plain elements, built from the status document alone. The same
// functions run twice: on the server (tree to escaped HTML, so the page reads without JavaScript) and in the
// browser (the page ships them as its inline script, via Function.prototype.toString, and turns a fresh
// /status.json into DOM nodes with textContent and setAttribute only). One renderer, so the refreshed page
// can never differ from the server's.
//
// That is why view() and toDom() are self-contained: they refer to nothing outside their own bodies but their
// parameters and standard globals (Date, Number, String, Set, Array). Types are erased and do not count.
import type { StatusDocument } from '../status-document.js';

/** An element: tag, attributes, children. Text children are plain strings and are always escaped. */
export interface VElement {
  readonly t: string;
  readonly a?: Readonly<Record<string, string>>;
  readonly c?: readonly VNode[];
}
export type VNode = string | VElement;

export interface ViewContext {
  /** Where the metrics are served, e.g. "/metrics". */
  readonly telemetryPath: string;
  readonly version: string;
  /** How often the page refreshes itself when scripts run; 0 when they do not. */
  readonly refreshSeconds: number;
  /** True in the browser: copy buttons are shown only where a script can make them work. */
  readonly scripted: boolean;
}

/** The page's <main>: summary, sources, the member table, this controller, links. */
export function view(doc: StatusDocument, ctx: ViewContext): VElement {
  const el = (t: string, a: Record<string, string> | null, ...c: (VNode | null | false | undefined)[]): VElement => ({
    t,
    a: a ?? {},
    c: c.filter((x): x is VNode => x !== null && x !== false && x !== undefined),
  });
  // Only same-origin paths and http(s) URLs become links; anything else (javascript:, data:) is shown as text.
  const safeHref = (url: string): string | null => (/^https?:\/\/\S+$/i.test(url) || /^(\/(?!\/)|[\w.#?])[^\s:]*$/.test(url) ? url : null);
  const link = (url: string, text: string): VNode => {
    const href = safeHref(url);
    return href === null ? el('span', null, `${text} (${url})`) : el('a', { href }, text);
  };
  const utc = (iso: string | null): string => {
    if (iso === null) return 'never';
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? iso : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
  };
  const time = (iso: string | null): VNode => (iso === null ? 'never' : el('time', { datetime: iso }, utc(iso)));
  const age = (iso: string | null): string => {
    if (iso === null) return '';
    const s = Math.round((Date.parse(doc.generatedAt) - Date.parse(iso)) / 1000);
    return Number.isFinite(s) && s >= 0 ? ` (${s} s before this snapshot)` : '';
  };
  const badge = (text: string, kind: 'bad' | 'ok' | 'warn'): VElement => el('span', { class: `badge ${kind}` }, text);
  const sourceLabel: Record<string, string> = { etcd: 'etcd member list', kubernetes: 'EtcdMember objects (Kubernetes API)', k0s_config: 'k0s configuration file' };

  const etcd = doc.sources.find((s) => s.name === 'etcd');
  const kube = doc.sources.find((s) => s.name === 'kubernetes');
  const etcdUp = etcd?.up === true;
  const down = doc.sources.filter((s) => s.up === false);
  const notRead = doc.sources.filter((s) => s.up === null);

  // ---- findings joined to the table rows they belong to ----
  type Finding = StatusDocument['findings'][number];
  const placed = new Set<Finding>();
  // Object names are unique (EtcdMember is cluster-scoped), so an object's findings follow its name into whatever
  // row it sits in, the row of objects without a valid ID included; a member's findings follow its ID.
  const objectFindings = new Map<string, Finding[]>();
  const memberFindings = new Map<string, Finding[]>();
  for (const f of doc.findings) {
    const index = f.subject === 'object' ? objectFindings : f.subject === 'member' ? memberFindings : null;
    if (index === null) continue;
    const key = f.subject === 'object' ? f.name : f.memberId;
    const list = index.get(key);
    if (list === undefined) index.set(key, [f]);
    else list.push(f);
  }
  const rowFindings = (row: StatusDocument['rows'][number], objectName: string | null): Finding[] => {
    const found = objectName === null ? (row.member === null ? [] : (memberFindings.get(row.memberId) ?? [])) : (objectFindings.get(objectName) ?? []);
    for (const f of found) placed.add(f);
    return found;
  };
  const nextStep = (command: string, problem: string): VElement =>
    el(
      'span',
      { class: 'command', 'data-problem': problem },
      'Next step: ',
      el('code', null, command),
      ' ',
      el('button', { type: 'button', class: 'copy', 'data-copy': '', 'aria-label': `Copy the command: ${command}`, ...(ctx.scripted ? {} : { hidden: '' }) }, 'Copy'),
    );
  const noStep = (): VElement => el('span', { class: 'nocommand' }, 'No single command fixes this: the runbook says what to check first.');
  const runbookLink = (f: Finding): VElement => el('span', { class: 'runbook' }, link(f.runbook, `Runbook: ${f.problem.replace(/_/g, ' ')}`));
  // A finding on its own (this controller, Other findings): what it is, its step, its runbook section.
  const findingItem = (f: Finding): VElement =>
    el(
      'li',
      { class: 'finding', 'data-problem': f.problem },
      badge(f.problem.replace(/_/g, ' '), 'bad'),
      ' ',
      el('span', { class: 'message' }, f.message),
      f.command === null ? noStep() : nextStep(f.command, f.problem),
      ' ',
      runbookLink(f),
    );
  // One verdict per object (or member): every problem it has, what each means, then its one next step. The status
  // document gives an object's findings the same command when one step fixes them all (a stale duplicate's drift).
  const verdict = (list: Finding[]): VElement => {
    if (list.length === 0) return el('td', { class: 'findings none', 'data-label': 'Findings' }, 'none');
    const commands = [...new Set(list.flatMap((f) => (f.command === null ? [] : [f.command])))];
    return el(
      'td',
      { class: 'findings', 'data-label': 'Findings' },
      el(
        'ul',
        { class: 'findings' },
        ...list.map((f) => el('li', { class: 'finding', 'data-problem': f.problem }, badge(f.problem.replace(/_/g, ' '), 'bad'), ' ', el('span', { class: 'message' }, f.message), ' ', runbookLink(f))),
      ),
      ...(commands.length === 0 ? [noStep()] : commands.map((c) => nextStep(c, list.find((f) => f.command === c)!.problem))),
    );
  };

  // ---- the member table: one row group per member ID, one row per object ----
  const memberCell = (row: StatusDocument['rows'][number], span: string): VElement => {
    const m = row.member;
    const label = { rowspan: span, class: 'member-name', 'data-label': 'etcd member' };
    if (m === null) return el('td', label, el('span', { class: 'none' }, row.memberId === '' ? 'no valid member ID to match' : noMember));
    return el(
      'td',
      label,
      m.name === '' ? el('span', { class: 'none' }, '(no name yet)') : m.name,
      m.peerAddress === '' ? null : el('span', { class: 'detail member-peer' }, `peer ${m.peerAddress}`),
      !m.started ? el('span', { class: 'detail' }, badge('unstarted', 'warn'), ' added, never started') : m.learner ? el('span', { class: 'detail' }, badge('learner', 'warn'), ' not yet voting') : null,
    );
  };
  const objectCell = (o: StatusDocument['rows'][number]['objects'][number]): VElement =>
    el(
      'td',
      { class: 'object-name', 'data-label': 'EtcdMember object' },
      el('span', { class: 'name' }, o.name),
      el('span', { class: 'detail' }, 'peer ', o.peerAddress === null ? el('span', { class: 'none' }, '(none)') : el('span', { class: 'object-peer' }, o.peerAddress)),
      o.leave ? el('span', { class: 'detail' }, badge('spec.leave: true', 'warn')) : null,
      o.reconcileStatus === null ? null : el('span', { class: 'detail' }, `reconcile: ${o.reconcileStatus}`),
    );
  const noMember = etcdUp ? 'not in etcd' : 'unknown: etcd is not read';
  const groups: VElement[] = doc.rows.map((row) => {
    const span = String(Math.max(1, row.objects.length));
    const head: VElement[] = [
      el('th', { scope: 'rowgroup', rowspan: span, class: 'id' }, row.memberId === '' ? el('span', { class: 'none' }, '(none)') : el('code', null, row.memberId)),
      memberCell(row, span),
    ];
    const ofMember = rowFindings(row, null);
    if (row.objects.length === 0) {
      const objectText = kube?.up === true ? 'no EtcdMember object' : 'unknown: the Kubernetes API is not read';
      return el(
        'tbody',
        { 'data-member-id': row.memberId },
        el('tr', { 'data-object': '', ...(ofMember.length > 0 ? { class: 'flagged' } : {}) }, ...head, el('td', { class: 'object-name none', 'data-label': 'EtcdMember object' }, objectText), verdict(ofMember)),
      );
    }
    return el(
      'tbody',
      { 'data-member-id': row.memberId },
      ...row.objects.map((o, i) => {
        const found = [...(i === 0 ? ofMember : []), ...rowFindings(row, o.name)];
        return el('tr', { 'data-object': o.name, ...(found.length > 0 ? { class: 'flagged' } : {}) }, ...(i === 0 ? head : []), objectCell(o), verdict(found));
      }),
    );
  });
  const table = el(
    'table',
    { id: 'members' },
    el('caption', null, 'etcd members and EtcdMember objects, joined by member ID. A row group is one member ID; each object that carries it has its own row, with its findings and the one step that fixes them.'),
    el('thead', null, el('tr', null, ...['Member ID', 'etcd member', 'EtcdMember object', 'Findings'].map((h) => el('th', { scope: 'col' }, h)))),
    ...(groups.length > 0 ? groups : [el('tbody', null, el('tr', null, el('td', { colspan: '4', class: 'none' }, 'Nothing read yet: no etcd member and no EtcdMember object.')))]),
  );

  // ---- sources ----
  const sourceRows = doc.sources.map((s) =>
    el(
      'tr',
      { 'data-source': s.name },
      el('th', { scope: 'row' }, sourceLabel[s.name] ?? s.name),
      el(
        'td',
        { 'data-label': 'State' },
        s.up === true ? badge('up', 'ok') : s.up === false ? badge('down', 'bad') : badge('not read yet', 'warn'),
        s.up === false ? el('span', { class: 'detail error' }, [s.reason === null ? '' : `${s.reason}: `, s.error ?? ''].join('')) : null,
      ),
      el('td', { 'data-label': 'Last successful read' }, time(s.lastSuccess), age(s.lastSuccess)),
    ),
  );

  // ---- this controller ----
  // null or absent: it could not be judged (k0s.yaml not read, etcd's peer URL unreadable), which is no match.
  const driftBadge = (drift: boolean | null | undefined, what: string): VElement => (drift === true ? badge(what, 'bad') : drift === false ? badge('matches', 'ok') : badge('unknown', 'warn'));
  const l = doc.local;
  const local: VNode[] =
    l === null
      ? [el('p', null, etcdUp ? 'Unknown: the etcd member behind the first endpoint did not answer, so local name drift cannot be judged.' : 'Unknown while etcd is not read.')]
      : [
          el(
            'dl',
            { id: 'local' },
            el('dt', null, 'etcd member'),
            el('dd', null, l.memberName === '' ? '(no name yet)' : l.memberName, ' (ID ', el('code', null, l.memberId), ')'),
            el('dt', null, 'Name k0s registers at its next start'),
            el('dd', null, l.registrationName, ' ', driftBadge(l.nameDrift, 'name drift')),
            ...(l.predictedPeerAddress === undefined
              ? []
              : [
                  el('dt', null, 'Peer address k0s registers at its next start'),
                  el('dd', null, l.predictedPeerAddress, ' ', driftBadge(l.peerAddressDrift, 'peer address drift')),
                ]),
          ),
        ];
  const localFindings = doc.findings.filter((f) => f.subject === 'local');
  for (const f of localFindings) placed.add(f);
  // Rows are built before this line, so `placed` now holds every finding shown in the table.
  const unplaced = doc.findings.filter((f) => !placed.has(f));

  // ---- summary ----
  const findingCount = doc.findings.length;
  const summary: VNode[] = [];
  if (doc.consistent) summary.push(badge('consistent', 'ok'), ' Every source is up and nothing was found.');
  else {
    summary.push(badge(findingCount > 0 ? `${findingCount} finding${findingCount === 1 ? '' : 's'}` : 'incomplete', 'bad'), ' ');
    if (findingCount > 0) summary.push(`${findingCount === 1 ? 'One finding needs' : `${findingCount} findings need`} attention; each is on its row below with the command to fix it. `);
    if (down.length > 0) {
      summary.push(`Down: ${down.map((s) => sourceLabel[s.name] ?? s.name).join(', ')}. `);
      if (!etcdUp) summary.push('Nothing that compares etcd with the objects can be judged while etcd is not read, so no such finding is shown: that is not an all-clear. ');
    } else if (notRead.length > 0) summary.push(`Not read yet: ${notRead.map((s) => sourceLabel[s.name] ?? s.name).join(', ')}. `);
  }

  return el(
    'main',
    {
      id: 'status',
      'data-telemetry-path': ctx.telemetryPath,
      'data-version': ctx.version,
      'data-refresh-seconds': String(ctx.refreshSeconds),
      'data-generated-at': doc.generatedAt,
      // The browser tab says what the page says, so a tab left open shows a finding at a glance.
      'data-title': `k0s etcd members: ${doc.consistent ? 'consistent' : findingCount > 0 ? `${findingCount} finding${findingCount === 1 ? '' : 's'}` : 'incomplete'}`,
    },
    el('p', { id: 'summary', class: doc.consistent ? 'ok' : 'bad' }, ...summary),
    el('p', { class: 'legend' }, 'Badges carry their meaning in text; colour only repeats it: red is a finding or a source down, amber needs a look (learner, unstarted, not read yet), green is fine.'),
    el('h2', { id: 'sources-heading' }, 'Sources'),
    el(
      'table',
      { id: 'sources', 'aria-labelledby': 'sources-heading' },
      el('thead', null, el('tr', null, ...['Source', 'State', 'Last successful read'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', null, ...sourceRows),
    ),
    el('h2', { id: 'members-heading' }, 'Members'),
    table,
    el('h2', { id: 'local-heading' }, 'This controller'),
    ...local,
    ...(localFindings.length > 0 ? [el('ul', { class: 'findings' }, ...localFindings.map(findingItem))] : []),
    ...(unplaced.length > 0
      ? [el('h2', { id: 'other-heading' }, 'Other findings'), el('ul', { class: 'findings', id: 'other-findings' }, ...unplaced.map(findingItem))]
      : []),
    el('h2', { id: 'links-heading' }, 'Links'),
    el(
      'ul',
      { id: 'links' },
      el('li', null, link(ctx.telemetryPath, 'Metrics'), ` (${ctx.telemetryPath})`),
      el('li', null, link('status.json', 'This status as JSON'), ' (/status.json, the same document as ', el('code', null, 'check -o json'), ')'),
      el('li', null, link('runbook', 'Runbook'), ' (/runbook: what each finding and alert means, and the safe fix)'),
      el('li', null, link('healthz', 'Health'), ' (/healthz)'),
      el('li', null, link('readyz', 'Readiness'), ' (/readyz)'),
    ),
    el(
      'p',
      { class: 'footer' },
      'Snapshot taken ',
      time(doc.generatedAt),
      `. k0s-etcdmember-exporter ${ctx.version}.`,
    ),
  );
}

/** The minimum of the DOM that toDom() uses, so it type-checks without the DOM library. */
export interface MiniDocument {
  createElement(tag: string): MiniElement;
  createTextNode(text: string): unknown;
}
export interface MiniElement {
  setAttribute(name: string, value: string): void;
  append(...nodes: unknown[]): void;
}

/** Browser side: a tree to DOM nodes. Text goes through text nodes and attributes through setAttribute, never HTML. */
export function toDom(node: VNode, d: MiniDocument): unknown {
  if (typeof node === 'string') return d.createTextNode(node);
  const e = d.createElement(node.t);
  for (const [k, v] of Object.entries(node.a ?? {})) e.setAttribute(k, v);
  for (const c of node.c ?? []) e.append(toDom(c, d));
  return e;
}
