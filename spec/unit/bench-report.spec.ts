import { expect } from 'chai';
import type { RawRun, SizeResult } from '../../bench/orchestrate.js';
import { goals, hourRows, renderReport } from '../../bench/report.js';
import type { BurstResult } from '../../bench/latency.js';

const pass = (durationMs: number, list = durationMs / 2) => ({ ok: true, listed: 0, errors: 0, swept: 0, durationMs, phases: { list }, refreshed: 10 });
const seg = (passes: number, cpuPerPassMs: number, listRequests: number, simCpuMs: number) => ({ passes, wallMs: 1, passWallMs: 1, cpuMs: passes * cpuPerPassMs, cpuPerPassMs, simCpuMs, listRequests });
const idle = (cpuMsPerS: number) => ({ wallMs: 10_000, cpuMs: cpuMsPerS * 10, cpuMsPerS });

/** A size as bench/orchestrate.ts records it: steady passes of `svcMs`, the daemon answering both lists in `daemonMs`. */
function size(n: number, o: { svcMs: number; daemonMs: number; peakMb: number; coldMs: number; bulkMs: number }): SizeResult {
  return {
    n,
    seeded: { workloads: n, stacks: 0 },
    baseline: {
      cold: { listed: n, upserted: n, markedMissing: 0, ms: 100 * o.svcMs, listMs: 10, upsertMs: 0, sweepMs: 0 },
      steady: [{ listed: n, upserted: n, markedMissing: 0, ms: 60_000, listMs: 10, upsertMs: 0, sweepMs: 0 }],
      steadyStatements: [2 * n],
      churn: [],
      churnStatements: [],
      perTick: {},
      errors: 0,
      idle: idle(0.5),
      segment: seg(1, 20_000, 1, 300),
      peakRssKb: 500 * 1024,
      heapAfterGc: 1e7,
    },
    service: {
      startMs: 1,
      cold: pass(o.coldMs),
      coldStatements: 10,
      steady: [pass(o.svcMs), pass(o.svcMs), pass(o.svcMs)],
      steadyStatements: [4, 4, 4],
      paced: pass(o.svcMs),
      churn: [],
      churnStatements: [],
      extraPasses: 0,
      coldPeakRssKb: o.peakMb * 1024,
      steadyPeakRssKb: o.peakMb * 1024,
      steadyOnlyPeakRssKb: o.peakMb * 1024,
      peakRssKb: o.peakMb * 1024,
      rssKb: 1,
      heapUsed: 1,
      heapAfterGc: 1e7,
      idle: idle(2),
      segment: seg(4, 1000, 8, 400),
    },
    cacheOnly: { relistInterval: '1h', startMs: 1, paced: pass(200, 0), steady: [pass(200, 0), pass(200, 0)], steadyStatements: [3, 3], idle: idle(2), segment: seg(3, 100, 0, 0), peakRssKb: 100 * 1024, heapAfterGc: 1e7 },
    bulk: { ms: o.bulkMs, statements: 1 },
    daemonListMs: o.daemonMs,
    daemonListBytes: 1e6,
    listCost: { managed: { ms: 500, simCpuMs: 400, bytes: 1 }, compose: { ms: 100, simCpuMs: 80, bytes: 1 } },
    baselineRows: { live: n, missing: 0 },
    serviceRows: { live: n, missing: 0 },
    simPopulateMs: 1,
  } as SizeResult;
}

const dist = (p99: number) => ({ n: 100, p50: 1, p95: p99 / 2, p99, max: p99 });
const burst = (perSecond: number, p99: number) => ({ perSecond, seconds: 10, events: 2000, samples: 2000, recvToCommit: dist(p99), emitToCommit: dist(p99), unmatchedCommits: 0, pendingRows: 0, dropped: 0 }) as BurstResult;

describe('bench: the report (docs/benchmarks.md)', () => {
  const r10k = size(10_000, { svcMs: 300, daemonMs: 150, peakMb: 140, coldMs: 500, bulkMs: 300 });
  const r100k = size(100_000, { svcMs: 3000, daemonMs: 1800, peakMb: 450, coldMs: 9000, bulkMs: 2000 });

  it("lists exactly the issue's goals, in its order, each measured against its target", () => {
    const gs = goals([r10k, r100k], burst(200, 12));
    expect(gs.map((g) => [g.what, g.target.replace(/ \(.*/, ''), g.status])).to.deep.equal([
      ["N=100,000: steady pass excluding the daemon's answer", '< 1 s', 'MISSED'],
      ['N=100,000: peak RSS (VmHWM) of the service, whole run', '< 400 MB', 'MISSED'],
      ['N=10,000: peak RSS (VmHWM) of the service, whole run', '< 150 MB', 'met'],
      ['N=10,000: cold pass against one bulk upsert of 10,000 rows (same run)', '<= 2x bulk', 'met'],
      ['burst 200/s: event received -> row committed, p99', '< 20 ms', 'met'],
    ]);
    expect(gs[0]!.measured).to.equal('1.20 s');
    expect(gs[3]!.measured).to.equal('500 ms (1.7x bulk)');
    // The other side of each threshold.
    const worse = goals([size(10_000, { svcMs: 300, daemonMs: 150, peakMb: 151, coldMs: 601, bulkMs: 300 }), size(100_000, { svcMs: 1500, daemonMs: 600, peakMb: 399, coldMs: 1, bulkMs: 1 })], burst(200, 20));
    expect(worse.map((g) => g.status)).to.deep.equal(['met', 'met', 'MISSED', 'MISSED', 'MISSED']);
  });

  it('a goal whose size or burst the run did not measure says so; a burst at another rate does not count', () => {
    const gs = goals([r10k], burst(100, 5));
    expect(gs.map((g) => g.status)).to.deep.equal(['not measured', 'not measured', 'met', 'met', 'not measured']);
    expect(gs[4]!.measured).to.equal('n/m (the burst ran at 100/s)');
  });

  it('per hour at 30 s: the baseline ticker, the service listing every pass (2 requests) and RELIST_INTERVAL=5m (12 lists)', () => {
    const rows = hourRows([r100k]);
    expect(rows.map((h) => h.setting.split(':')[0])).to.deep.equal(['Go original (port)', 'service, RELIST_INTERVAL=0 (default)', 'service, RELIST_INTERVAL=5m']);
    const [base, svc, relist] = rows;
    // a 60 s tick: back to back, 60 an hour, one list request each, 500 ms of the daemon each
    expect(base!.passesPerHour).to.equal(60);
    expect(base!.listRequestsPerHour).to.equal(60);
    expect(base!.serviceCpuSPerHour).to.equal(1200);
    expect(base!.daemonListCpuSPerHour).to.equal(30);
    // 3 s passes: 3600 / 33 an hour, 2 requests each, answered in (500 + 100) / 2 ms on average
    expect(svc!.passesPerHour).to.be.closeTo(3600 / 33, 1e-9);
    expect(svc!.listRequestsPerHour).to.be.closeTo((2 * 3600) / 33, 1e-9);
    expect(svc!.daemonListCpuSPerHour).to.be.closeTo(((2 * 3600) / 33) * 0.3, 1e-9);
    expect(svc!.serviceCpuSPerHour).to.be.closeTo((3600 / 33) * 1 + (3600 - (3600 / 33) * 3) * 0.002, 1e-9);
    // RELIST_INTERVAL=5m: 12 lists (24 requests) and the cache passes between
    expect(relist!.listsPerHour).to.equal(12);
    expect(relist!.listRequestsPerHour).to.equal(24);
    expect(relist!.daemonListCpuSPerHour).to.be.closeTo(24 * 0.3, 1e-9);
    const cache = (3600 - 12 * 33) / 30.2;
    expect(relist!.passesPerHour).to.be.closeTo(12 + cache, 1e-9);
    expect(relist!.serviceCpuSPerHour).to.be.closeTo(12 * 1 + cache * 0.1 + (3600 - 12 * 3 - cache * 0.2) * 0.002, 1e-9);
  });

  it('renders the goals table, the per-hour table and the plot link; the Goals section has one row per goal', () => {
    const run = {
      options: { sizes: [10_000, 100_000], quick: false, burstSize: 10_000, idleSeconds: 30 },
      machine: { date: 'd', cpu: 'c', ram: 'r', os: 'o', node: 'n', mariadb: 'm', loadavg: '0 0 0' },
      dbConfig: 'x',
      load0: [0, 0, 0],
      results: [{ ...r10k, burst: burst(200, 25) }, r100k],
      elapsedSeconds: 1,
    } as unknown as RawRun;
    const { doc, text } = renderReport(run, { plotHref: 'img/bench-scale.svg' });
    expect(doc).to.include('![Steady pass time and peak RSS against N');
    expect(doc).to.include('](img/bench-scale.svg)');
    const goalsSection = doc.slice(doc.indexOf('## Goals'), doc.indexOf('## Scale'));
    expect(goalsSection.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| goal') && !l.startsWith('| ---'))).to.have.length(5);
    expect(goalsSection).to.include('| burst 200/s: event received -> row committed, p99');
    expect(goalsSection).to.match(/25\.0 ms +\| < 20 ms +\| \*\*MISSED\*\*/);
    expect(doc).to.include('## Steady state per hour');
    expect(doc).to.include("daemon's list CPU per hour (estimate)");
    expect(doc).not.to.match(/NaN|undefined/);
    expect(doc).to.include('**burst 200/s, received -> committed p99 25.0 ms (>= 20 ms)**');
    expect(text).to.include('[MISSED] burst 200/s: event received -> row committed, p99: 25.0 ms (goal < 20 ms)');
  });
});
