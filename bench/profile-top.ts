/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `make bench` with `--profile`):
 * self time per function, and inclusive time per function, top entries.
 *
 *   node dist/bench/profile-top.js .tmp/bench/prof/service-10000-*.cpuprofile [--top 30] [--filter src/]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: profile-top <file.cpuprofile> [--top N] [--filter substring]\n');
  process.exit(2);
}
const top = Number(args[args.indexOf('--top') + 1]) || 30;
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1]! : '';
process.stdout.on('error', () => process.exit(0));
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));

const key = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
const incl = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
const total = (p.endTime - p.startTime) / 1000;
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title} (profile ${total.toFixed(0)} ms)\n`);
  [...m.entries()]
    .filter(([k]) => k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, us]) => process.stdout.write(`${(us / 1000).toFixed(1).padStart(9)} ms  ${k}\n`));
};
print('self time', self);
print('inclusive time', incl);
