import { expect } from 'chai';
import type { SizeResult } from '../../bench/orchestrate.js';
import { logAxis, logDomain, logTicks, renderScaleSvg, scalePlot, type ScalePlot } from '../../bench/plot.js';

/** Checks that every tag is closed in order (self-closing tags aside): the document is well-formed XML as far as tags go. */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

interface Point {
  series: string;
  n: number;
  v: number;
  x: number;
  y: number;
}

/** The data points drawn (circles and squares), with their series, figures and centre. */
function points(svg: string): Point[] {
  const out: Point[] = [];
  for (const m of svg.matchAll(/<(circle|rect) class="pt" ([^>]*)>/g)) {
    const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[2]!)?.[1] ?? '';
    const isRect = m[1] === 'rect';
    out.push({
      series: attr('data-series'),
      n: Number(attr('data-n')),
      v: Number(attr('data-v')),
      x: isRect ? Number(attr('x')) + 3.5 : Number(attr('cx')),
      y: isRect ? Number(attr('y')) + 3.5 : Number(attr('cy')),
    });
  }
  return out;
}

const pass = (durationMs: number, list = durationMs / 2) => ({ ok: true, listed: 0, errors: 0, swept: 0, durationMs, phases: { list } });

/** A result as bench/orchestrate.ts records it, with only what the plot reads filled in. */
function result(n: number, o: { base: number; svc: number; daemon: number; cache: number; baseRssMb: number; svcRssMb: number; cacheRssMb: number }): SizeResult {
  return {
    n,
    baseline: { steady: [{ ms: o.base }], peakRssKb: o.baseRssMb * 1024 },
    service: { steady: [pass(o.svc), pass(o.svc)], peakRssKb: o.svcRssMb * 1024 },
    cacheOnly: { steady: [pass(o.cache, 0)], peakRssKb: o.cacheRssMb * 1024 },
    daemonListMs: o.daemon,
  } as unknown as SizeResult;
}

describe('bench: the scale plot (docs/img/bench-scale.svg)', () => {
  const results = [
    result(1000, { base: 1000, svc: 10, daemon: 5, cache: 2, baseRssMb: 100, svcRssMb: 100, cacheRssMb: 80 }),
    result(10_000, { base: 10_000, svc: 100, daemon: 50, cache: 20, baseRssMb: 200, svcRssMb: 200, cacheRssMb: 120 }),
    result(100_000, { base: 100_000, svc: 1000, daemon: 500, cache: 200, baseRssMb: 400, svcRssMb: 400, cacheRssMb: 300 }),
  ];

  it('is an SVG document with balanced tags, no NaN, both panels, and a point per size for the original and the service', () => {
    const svg = renderScaleSvg(scalePlot(results));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.trimEnd().endsWith('</svg>')).to.equal(true);
    expect(balanced(svg)).to.equal(true);
    expect(svg).not.to.match(/NaN|Infinity|undefined/);
    expect(svg.match(/<g class="panel"/g)).to.have.length(2);
    const pts = points(svg);
    const series = new Set(pts.map((p) => p.series));
    expect([...series].some((s) => s.startsWith('Go original')), 'the original').to.equal(true);
    expect([...series].some((s) => s.startsWith('service')), 'the service').to.equal(true);
    // pass panel: original, service, service excl. daemon, cache-only; RSS panel: original, service, cache-only
    expect(pts).to.have.length(7 * 3);
    for (const s of series) expect(pts.filter((p) => p.series === s).map((p) => p.n)).to.deep.equal([1000, 10_000, 100_000]);
    expect(pts.find((p) => p.series.startsWith('Go original (port): steady') && p.n === 10_000)?.v).to.equal(10_000);
    expect(pts.find((p) => p.series.startsWith("service: the same, excluding") && p.n === 100_000)?.v).to.equal(500);
    expect(pts.find((p) => p.series.startsWith('service with RELIST') && p.n === 100_000)?.v).to.equal(300);
    // goals: 1 s at 100,000 (pass), 150 MB at 10,000 and 400 MB at 100,000 (RSS), each with a legend line
    expect([...svg.matchAll(/<line class="goal" data-n="(\d+)" data-v="(\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])])).to.deep.equal([
      [100_000, 1000],
      [10_000, 150],
      [100_000, 400],
    ]);
    expect(svg).to.include('goal at 10,000: &lt; 150 MB');
    expect(svg).to.include('log scale');
  });

  it('places points on log scales: equal ratios are equal distances, larger values higher up', () => {
    const svg = renderScaleSvg(scalePlot(results));
    const pts = points(svg);
    const of = (prefix: string) => pts.filter((p) => p.series.startsWith(prefix)).sort((a, b) => a.n - b.n);
    // The original's ticks grow 10x per 10x N: a straight line of equal steps in x and in y.
    const [a, b, c] = of('Go original (port): steady');
    expect(b!.x - a!.x).to.be.closeTo(c!.x - b!.x, 0.15);
    expect(a!.y - b!.y).to.be.closeTo(b!.y - c!.y, 0.15);
    expect(c!.y).to.be.lessThan(a!.y);
    // Same N, same x in every series of a panel; the service, 100x below the original, is two decades under it.
    const svc = of('service: steady pass');
    expect(svc[1]!.x).to.equal(b!.x);
    const decade = a!.y - b!.y;
    expect(svc[1]!.y - b!.y).to.be.closeTo(2 * decade, 0.15);
    // RSS panel: 100 -> 200 -> 400 MB (doubling) are equal steps too
    const rss = of('Go original (port; a Node');
    expect(rss[0]!.y - rss[1]!.y).to.be.closeTo(rss[1]!.y - rss[2]!.y, 0.15);
  });

  it('its axes: logAxis maps decades linearly, logDomain pads, logTicks gives 1-2-5 over short ranges', () => {
    const x = logAxis(1000, 100_000, 0, 400);
    expect(x(1000)).to.equal(0);
    expect(x(10_000)).to.be.closeTo(200, 1e-9);
    expect(x(100_000)).to.be.closeTo(400, 1e-9);
    const y = logAxis(1, 1000, 300, 0);
    expect(y(10)).to.be.closeTo(200, 1e-9);
    const [lo, hi] = logDomain([1000, 100_000]);
    expect(lo).to.be.lessThan(1000);
    expect(hi).to.be.greaterThan(100_000);
    expect(hi / 100_000).to.be.closeTo(1000 / lo, 1e-9);
    expect(logTicks(0.9, 11)).to.deep.equal([1, 2, 5, 10]);
    expect(logTicks(700, 1.4e5)).to.deep.equal([1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]);
    expect(logTicks(1, 1e6)).to.deep.equal([1, 10, 100, 1000, 10_000, 100_000, 1e6]);
  });

  it('a run without the baseline or the cache-only service still draws the service, and marks the others as not measured', () => {
    const partial = results.slice(0, 2).map((r) => ({ ...r, baseline: undefined, cacheOnly: undefined }));
    const plot: ScalePlot = scalePlot(partial);
    const svg = renderScaleSvg(plot);
    expect(balanced(svg)).to.equal(true);
    expect(svg).not.to.match(/NaN|Infinity/);
    const pts = points(svg);
    expect(pts.every((p) => p.series.startsWith('service'))).to.equal(true);
    expect(pts.filter((p) => p.series.startsWith('service: steady pass')).map((p) => p.n)).to.deep.equal([1000, 10_000]);
    expect(svg).to.include('(not measured)');
  });
});
