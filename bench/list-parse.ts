/**
 * Reading a `GET /containers/json` answer into items: the parse path (every candidate entry
 * through `JSON.parse` + `itemFromListEntry`, as src/docker/docker.client.ts did) against the
 * picked path (`itemFromPicked` from the fields the splitter picks as the bytes go by, the parse
 * only when it cannot tell). Both run through the splitter on the same realistic list (the
 * simulator's entries for the benchmark fleet, bench/fleet.ts: every entry a Tinyforge candidate),
 * fed in 64 KiB chunks like socket reads.
 *
 *   make build && node --expose-gc dist/bench/list-parse.js [--n 100000] [--runs 5] [--quick] [--only parse|picked]
 *
 * Prints, per path, the median time and JS heap bytes allocated per list (from V8's GC profiler:
 * the bytes each collection freed, plus the growth of the heap over the run), the collections,
 * and the entries that needed the parse. `--only` measures one path in the process (in one
 * process both share the scanner's compiled code, picking two specs).
 */
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { itemFromListEntry, itemFromPicked } from '../src/docker/items.js';
import { JsonArraySplitter } from '../src/docker/json-array-stream.js';
import type { FieldSpec } from '../src/docker/json-scan.js';
import { LIST_ENTRY_PICK, listVerdict } from '../src/docker/list-entry.js';
import { DISPATCH_LABELS } from '../src/domain/labels.js';
import type { ContainerItem } from '../src/domain/types.js';
import { populate } from '../spec/support/docker-sim/bulk.js';
import { profileFor } from '../spec/support/docker-sim/profile.js';
import { Renderer } from '../spec/support/docker-sim/render.js';
import { ContainerStore } from '../spec/support/docker-sim/state.js';
import { fleetContainer } from './fleet.js';

const { values: args } = parseArgs({
  options: { n: { type: 'string' }, runs: { type: 'string' }, quick: { type: 'boolean' }, chunk: { type: 'string' }, only: { type: 'string' } },
});
const quick = args.quick ?? false;
const N = Number(args.n ?? (quick ? 20_000 : 100_000));
const RUNS = Number(args.runs ?? (quick ? 3 : 5));
const CHUNK = Number(args.chunk ?? 65536);
const gc = (globalThis as { gc?: () => void }).gc;
if (args.only !== undefined && args.only !== 'parse' && args.only !== 'picked') throw new Error('--only parse|picked');
const PATHS = args.only ? [args.only as 'parse' | 'picked'] : (['parse', 'picked'] as const);

/** What the splitter picked before the item could be read from picked fields: the candidacy fields only. */
const CANDIDACY_PICK: FieldSpec = { Id: true, Labels: Object.fromEntries(DISPATCH_LABELS.map((k) => [k, true as const])) };

function renderList(n: number): Buffer {
  const store = new ContainerStore('list-parse');
  populate(store, n, fleetContainer);
  const renderer = new Renderer(profileFor('1.47'), store, 'list-parse');
  const now = Date.now();
  // Newest first, as the daemon (and the simulator's server) lists them.
  const entries = [...store.values()].reverse().map((r) => renderer.listEntry(r, now, false));
  return Buffer.from(`[${entries.join(',')}]\n`, 'utf8');
}

interface Pass {
  items: number;
  fallbacks: number;
  /** A checksum of the items, so both paths are seen to read the same. */
  sum: number;
}

function checksum(item: ContainerItem): number {
  let h = item.id.length + item.name.length * 3 + item.image.length * 7 + item.state.length * 11;
  for (const k in item.labels) h += k.length + item.labels[k]!.length * 13;
  for (const p of item.ports) h += p;
  return h;
}

function run(doc: Buffer, picked: boolean): Pass {
  const splitter = new JsonArraySplitter({ pick: picked ? LIST_ENTRY_PICK : CANDIDACY_PICK });
  const out: Pass = { items: 0, fallbacks: 0, sum: 0 };
  for (let i = 0; i < doc.length; i += CHUNK) {
    for (const el of splitter.push(doc.subarray(i, i + CHUNK))) {
      if (el.bytes === undefined || listVerdict('managed', el.fields, el.rootKind) === 'no') continue;
      let item = picked ? itemFromPicked(el.fields, el.rootKind) : undefined;
      if (item === undefined) {
        if (picked) out.fallbacks++;
        item = itemFromListEntry(JSON.parse(el.bytes.toString('utf8')) as Record<string, unknown>);
      }
      out.items++;
      out.sum = (out.sum + checksum(item)) % 1_000_000_007;
    }
  }
  splitter.end();
  return out;
}

interface Measure {
  ms: number;
  allocated: number;
  collections: number;
  pass: Pass;
}

function measure(doc: Buffer, picked: boolean): Measure {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const profiler = new v8.GCProfiler();
  profiler.start();
  const t0 = performance.now();
  const pass = run(doc, picked);
  const ms = performance.now() - t0;
  const after = process.memoryUsage().heapUsed;
  const stats = profiler.stop().statistics;
  let freed = 0;
  for (const s of stats) freed += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize);
  return { ms, allocated: after - before + freed, collections: stats.length, pass };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

const doc = renderList(N);
console.log(`list of ${N} entries: ${mb(doc.length)} (${Math.round(doc.length / N)} bytes an entry), chunks of ${CHUNK} bytes, ${RUNS} runs${gc ? '' : ' (no --expose-gc: no collection before each run)'}`);
// Warm-up, and the check that both read the same items.
const warm = PATHS.map((path) => run(doc, path === 'picked'));
if (warm.some((p) => p.items !== warm[0]!.items || p.sum !== warm[0]!.sum)) throw new Error(`the paths disagree: ${JSON.stringify(warm)}`);

const results: Record<'parse' | 'picked', Measure[]> = { parse: [], picked: [] };
for (let k = 0; k < RUNS; k++) {
  // Alternating, so drift on a shared machine hits both.
  for (const path of k % 2 === 0 ? PATHS : [...PATHS].reverse()) results[path].push(measure(doc, path === 'picked'));
}
for (const path of PATHS) {
  const ms = median(results[path].map((m) => m.ms));
  const alloc = median(results[path].map((m) => m.allocated));
  const last = results[path].at(-1)!;
  console.log(
    `${path.padEnd(6)}  ${ms.toFixed(0).padStart(6)} ms  ${mb(alloc).padStart(9)} allocated  ${String(median(results[path].map((m) => m.collections))).padStart(4)} GCs  ` +
      `${Math.round(alloc / N)} B/entry  ${last.pass.items} items, ${last.pass.fallbacks} parsed (${((100 * last.pass.fallbacks) / Math.max(1, last.pass.items)).toFixed(2)}%)`,
  );
}
if (PATHS.length < 2) process.exit(0);
const pm = median(results.parse.map((m) => m.ms));
const km = median(results.picked.map((m) => m.ms));
const pa = median(results.parse.map((m) => m.allocated));
const ka = median(results.picked.map((m) => m.allocated));
console.log(`picked/parse: ${(km / pm).toFixed(2)}x the time, ${(ka / pa).toFixed(2)}x the allocation`);
