// The report's families keep each series' line between renders (src/gauge-families.ts). Whatever the sequence of
// reports, every render must be byte for byte what prom-client renders from scratch: a kept line must never
// stand for a series whose labels or value differ, however hostile the label values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GaugeFamilies, type GaugeFamily, type Series } from '../src/gauge-families.js';
import { renderFromScratch } from '../testbed/reference-render.js';

/** A report here is just each family's series. */
type Report = readonly (readonly Series[])[];

const NAMES = ['k0s_test_info', 'k0s_test_problem', 'k0s_test_empty'];
const families: GaugeFamily<Report>[] = NAMES.map((name, i) => ({ name, help: `Help of ${name}, with "quotes", \\ and\na newline`, series: (r) => r[i] ?? [] }));

/** What prom-client renders from scratch, every line formatted anew. */
const reference = (report: Report): Promise<string> => renderFromScratch(families, report);

const value = fc.oneof(fc.constantFrom(0, 1, -0, 1.5, NaN, Infinity, -Infinity), fc.double());
// Few distinct values, so that lines come back, disappear and collide often; hostile ones among them.
const labelValue = fc.constantFrom('', 'c1', 'c1.example.org', 'a"b', 'a\\b', 'line\nbreak', 'x=1:y', '3:abc', 'ü', 'a b');
const labelName = fc.constantFrom('name', 'member_id', 'source', 'problem');
// Label sets of different sizes in one family, so that one set can be the start of another.
const series: fc.Arbitrary<Series> = fc.record({ labels: fc.dictionary(labelName, labelValue, { maxKeys: 3 }), value });
const report: fc.Arbitrary<Report> = fc.tuple(fc.array(series, { maxLength: 6 }), fc.array(series, { maxLength: 6 }), fc.constant([]));

describe('gauge families with kept lines', () => {
  it('render every report in a sequence exactly as prom-client does from scratch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(report, { minLength: 1, maxLength: 12 }), async (reports) => {
        const kept = new GaugeFamilies(families);
        for (const r of reports) assert.equal(await kept.render(r), await reference(r));
      }),
      { numRuns: 300 },
    );
  });

  it('stays right across many renders of a large report that changes one series at a time (old lines cleared out)', async () => {
    const kept = new GaugeFamilies(families);
    const base: Series[] = Array.from({ length: 300 }, (_, i) => ({ labels: { name: `controller-${i}`, member_id: i.toString(16) }, value: 1 }));
    for (let i = 0; i < 700; i++) {
      // A different extra series each time: the kept lines of earlier ones pile up until they are cleared out.
      const r: Report = [[...base, { labels: { name: `extra-${i}`, member_id: 'ff' }, value: i }], base.slice(i % 300, (i % 300) + 2), []];
      const text = await kept.render(r);
      if (i % 50 === 0 || i > 690) assert.equal(text, await reference(r), `render ${i}`);
      else assert.ok(text.includes(`k0s_test_info{name="extra-${i}",member_id="ff"} ${i}\n`), `render ${i}`);
    }
  });

  it('keeps the lines of series that are gone only until they outnumber those in use: memory stays within about twice a report', async () => {
    const kept = new GaugeFamilies(families);
    const base: Series[] = Array.from({ length: 200 }, (_, i) => ({ labels: { name: `controller-${i}` }, value: 1 }));
    // Objects come and go: every render has 10 series never seen before and drops the 10 of the render before.
    // The base is listed twice (one line, used once) and the other family's label sets are of another length.
    const report = (i: number): Report => [
      [...base, ...base, ...Array.from({ length: 10 }, (_, j) => ({ labels: { name: `gone-soon-${i}-${j}` }, value: i }))],
      [{ labels: { name: 'a', member_id: 'b' }, value: i % 3 }],
      [],
    ];
    const inUse = 200 + 10 + 1;
    const sizes: number[] = [];
    for (let i = 0; i < 300; i++) {
      await kept.render(report(i));
      const { lines, maps } = kept.kept();
      sizes.push(lines);
      assert.ok(lines >= inUse, `render ${i}: ${lines} lines kept, fewer than the ${inUse} in use`);
      assert.ok(lines <= 2 * inUse + 100, `render ${i}: ${lines} lines kept for ${inUse} in use; want at most twice as many (+100)`);
      // One map per name label value, a few for the families and label names: none left behind empty. Each line
      // of the first family has a name of its own, so at least as many maps as lines.
      assert.ok(maps >= lines && maps <= lines + 10, `render ${i}: ${maps} maps hold ${lines} lines`);
    }
    // 3,000 series came and went; the gone ones' lines piled up and were cleared out again and again, not at
    // every render (clearing walks every line, so one change must not cost it).
    assert.ok(Math.max(...sizes) > inUse + 100, `the lines of gone series were never kept for long: at most ${Math.max(...sizes)} lines`);
    const clearOuts = sizes.filter((size, i) => i > 0 && size < sizes[i - 1]!).length;
    assert.ok(clearOuts >= 5 && clearOuts <= 20, `${clearOuts} clear-outs in 300 renders`);
    assert.equal(await kept.render(report(300)), await reference(report(300)), 'still rendered right');
  });

  it('clears the lines of gone series out once they outnumber those in use by more than 100, not before', async () => {
    // None in use after the second render: the first render's lines are all gone, 100 of them kept, 101 cleared.
    for (const [count, keptAfter] of [[100, 100], [101, 0]] as const) {
      const kept = new GaugeFamilies(families);
      await kept.render([Array.from({ length: count }, (_, i) => ({ labels: { name: `gone-${i}` }, value: 1 })), [], []]);
      await kept.render([[], [], []]);
      assert.equal(kept.kept().lines, keptAfter, `${count} gone, none in use`);
    }
  });

  it('hands prom-client only the series it has not rendered before: none for a report rendered again', async () => {
    // format() is the only reader of a family's help text: count the reads.
    let formatted = 0;
    const counted: GaugeFamily<Report>[] = families.map((f) => ({
      name: f.name,
      series: f.series,
      get help() {
        formatted++;
        return f.help;
      },
    }));
    const kept = new GaugeFamilies(counted);
    const r: Report = [[{ labels: { name: 'a' }, value: 1 }], [{ labels: { name: 'b' }, value: 2 }], []];
    assert.equal(await kept.render(r), await reference(r));
    assert.equal(formatted, 3, 'each family formatted once');
    assert.equal(await kept.render(r), await reference(r));
    assert.equal(formatted, 3, 'nothing formatted again');
    const changed: Report = [r[0]!, [{ labels: { name: 'b' }, value: 3 }], []];
    assert.equal(await kept.render(changed), await reference(changed));
    assert.equal(formatted, 4, 'only the family with a changed series formatted again');
  });

  it('renders concurrent calls in turn, each its own report', async () => {
    const kept = new GaugeFamilies(families);
    const a: Report = [[{ labels: { name: 'a' }, value: 1 }], [], []];
    const b: Report = [[{ labels: { name: 'b' }, value: 2 }], [{ labels: { name: 'b' }, value: 1 }], []];
    const [ra, rb, ra2] = await Promise.all([kept.render(a), kept.render(b), kept.render(a)]);
    assert.equal(ra, await reference(a));
    assert.equal(rb, await reference(b));
    assert.equal(ra2, await reference(a));
  });

  it('refuses two families of one name', () => {
    assert.throws(() => new GaugeFamilies([families[0]!, families[0]!]), /unique/);
  });
});
