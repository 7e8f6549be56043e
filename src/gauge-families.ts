// Gauge families computed from the report, rendered to exposition text by prom-client with each series' line
// remembered from the last render, as kube-state-metrics keeps each object's metrics rendered. After one
// EtcdMember changes, the report is rendered again by formatting the one or two lines that changed and reusing
// the others; formatting every line again cost about 8 ms of CPU for 1,000 objects on the benchmark machine, and
// that sat between an object change and the scrape that shows it (docs/development.md, Benchmark).
//
// prom-client still does all the formatting and escaping: the lines not rendered before are handed to it in one
// batch per family, through a scratch registry, and taken apart at the newlines (it escapes any newline in help
// texts and label values, so each series is exactly one line).
import { Registry, type Metric } from 'prom-client';

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface GaugeFamily<R> {
  readonly name: string;
  readonly help: string;
  /** The family's series for one report, in the order they are rendered; none leaves only HELP and TYPE. */
  readonly series: (report: R) => readonly Series[];
}

/** A series' rendered line, with the number of the last render that used it. */
interface Line {
  readonly line: string;
  used: number;
}

/**
 * The lines by family name, then each label's name and value in turn, then the value. Walking maps with the
 * report's own strings costs no allocation; a string key per series did (made, hashed, then thrown away), and on
 * the exporter's small young generation the garbage collector's share was the larger part of a render. Label
 * names and values are strings and sample values numbers, so a label set that ends where another goes on cannot
 * be mistaken for it.
 */
type Trie = Map<string | number, Trie | Line>;

export class GaugeFamilies<R> {
  private readonly scratch = new Registry();
  /** Each family's HELP and TYPE lines, by name. */
  private readonly headers = new Map<string, string>();
  /** Each series' line, those of series that are gone included until the next prune. */
  private readonly lines: Trie = new Map();
  private lineCount = 0;
  private renders = 0;
  /** The render in progress: renders take turns, so none prunes a line another is about to use. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly families: readonly GaugeFamily<R>[]) {
    const names = new Set(families.map((f) => f.name));
    if (names.size !== families.length) throw new Error('gauge family names must be unique');
  }

  /** The families as prom-client's Registry.metrics() renders them: blocks of HELP, TYPE and series lines, a blank line apart, then a newline. */
  render(report: R): Promise<string> {
    const done = this.queue.then(() => this.renderNow(report));
    this.queue = done.catch(() => {});
    return done;
  }

  private async renderNow(report: R): Promise<string> {
    // Stryker disable next-line UpdateOperator: counting down numbers renders as uniquely as counting up.
    const used = ++this.renders;
    const blocks: string[] = [];
    let usedCount = 0;
    for (const family of this.families) {
      const series = family.series(report);
      const found = series.map((s) => this.find(family.name, s));
      const missing = series.filter((_, i) => found[i] === undefined);
      let header = this.headers.get(family.name);
      if (header === undefined || missing.length > 0) {
        const formatted = await this.format(family, missing);
        header = formatted.header;
        this.headers.set(family.name, header);
        let j = 0;
        for (const [i, s] of series.entries()) if (found[i] === undefined) found[i] = this.insert(family.name, s, formatted.lines[j++]!);
      }
      const block = [header];
      for (const entry of found) {
        if (entry!.used !== used) {
          entry!.used = used;
          usedCount++;
        }
        block.push(entry!.line);
      }
      blocks.push(block.join('\n'));
    }
    // Lines this render did not use belong to series that are gone. They are cleared out once they are as many as
    // the lines in use, so one change costs no walk through every line, and memory stays within twice a report's.
    if (this.lineCount > 2 * usedCount + 100) this.lineCount -= prune(this.lines, used);
    return `${blocks.join('\n\n')}\n`;
  }

  /**
   * How many series' lines are kept now, and the maps that hold them, counted in the maps themselves: those of
   * the last render and those of series gone since the last clear-out. Walks every line; for tests and
   * diagnostics, not for each render.
   */
  kept(): { lines: number; maps: number } {
    return countKept(this.lines);
  }

  private find(family: string, s: Series): Line | undefined {
    let node = this.lines.get(family) as Trie | undefined;
    for (const name in s.labels) node = (node?.get(name) as Trie | undefined)?.get(s.labels[name]!) as Trie | undefined;
    return node?.get(s.value) as Line | undefined;
  }

  private insert(family: string, s: Series, line: string): Line {
    const child = (node: Trie, key: string): Trie => {
      let next = node.get(key) as Trie | undefined;
      if (next === undefined) node.set(key, (next = new Map()));
      return next;
    };
    let node = child(this.lines, family);
    for (const name in s.labels) node = child(child(node, name), s.labels[name]!);
    // The same series twice in one render was formatted twice: keep one line, counted once.
    const known = node.get(s.value) as Line | undefined;
    if (known !== undefined) return known;
    const entry = { line, used: this.renders };
    node.set(s.value, entry);
    this.lineCount++;
    return entry;
  }

  /** HELP, TYPE and one line per series, as prom-client formats them. */
  private async format(family: GaugeFamily<R>, series: readonly Series[]): Promise<{ header: string; lines: string[] }> {
    const { name, help } = family;
    // prom-client's registry accepts any object of this shape; get() is read at once, so another render that
    // registers its own batch in between cannot change this one's.
    // Stryker disable next-line StringLiteral: prom-client renders get()'s type, and aggregates (sum) only across cluster workers.
    const metric = { name, help, type: 'gauge', aggregator: 'sum', get: () => ({ name, help, type: 'gauge', aggregator: 'sum', values: series }), reset() {} };
    this.scratch.removeSingleMetric(name);
    this.scratch.registerMetric(metric as unknown as Metric);
    const text = await this.scratch.getSingleMetricAsString(name);
    const lines = text.split('\n');
    // Stryker disable all: prom-client 15.1.3 (pinned) escapes every newline, so no test can reach this guard.
    if (lines.length !== series.length + 2) {
      // Only a prom-client whose text format this file does not know gets here (package.json pins the version).
      throw new Error(`cannot render ${name}: prom-client gave ${lines.length} lines for ${series.length} series, want ${series.length + 2} (HELP, TYPE, one per series); is prom-client the version package.json pins?`);
    }
    // Stryker restore all
    return { header: lines.slice(0, 2).join('\n'), lines: lines.slice(2) };
  }
}

/** Removes the lines not used by render number used, and the maps left empty; returns how many lines went. */
function prune(node: Trie, used: number): number {
  let removed = 0;
  for (const [key, next] of node) {
    if (next instanceof Map) {
      removed += prune(next, used);
      if (next.size === 0) node.delete(key);
    } else if (next.used !== used) {
      node.delete(key);
      removed++;
    }
  }
  return removed;
}

function countKept(node: Trie): { lines: number; maps: number } {
  const count = { lines: 0, maps: 1 };
  for (const next of node.values()) {
    if (next instanceof Map) {
      const below = countKept(next);
      count.lines += below.lines;
      count.maps += below.maps;
    } else count.lines++;
  }
  return count;
}
