import { expect } from 'chai';
import { hostScopedRowId, resolveRow, routeByLabels } from '../../src/domain/dispatch.js';
import { DISPATCH_LABELS } from '../../src/domain/labels.js';
import { UNMATCHED_REASONS, type ContainerItem, type DesiredStateView } from '../../src/domain/types.js';
import { COLUMN_LIMITS } from '../../src/domain/columns.js';
import { cleanLabels, itemFromInspect, itemFromListEntry } from '../../src/docker/items.js';
import { LineSplitter, parseEventLine } from '../../src/docker/events.js';
import { prng } from '../support/truth.js';

/**
 * Seeded fuzz tests of the pure functions that read what a daemon sends: item mapping, label
 * routing, row resolution, the event-line parser and the line splitter. No server: they run in
 * `make unit`. `FUZZ_SEED` replays another seed.
 */
describe('fuzz (seeded, pure functions)', () => {
  it('fuzz (seeded): cleanLabels, itemFromListEntry, itemFromInspect, routeByLabels and resolveRow never throw, are deterministic and never produce an oversized column', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20251127);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const int = (n: number) => Math.floor(rnd() * n);
    const KNOWN: Record<string, string> = { 'wl-a': 'project', 'wl-🚀': 'project', [`wl-${'x'.repeat(188)}`]: 'project', "wl-'); DROP TABLE containers;--": 'project', 'wl-site': 'site', 'wl-stack': 'stack' };
    const desired: DesiredStateView = {
      workloadById: (wid) => (Object.hasOwn(KNOWN, wid) ? { id: wid, kind: KNOWN[wid]!, refId: `ref-${wid}` } : undefined),
      workloadByRef: (kind, ref) => (kind === 'site' && ref === 'site-1' ? { id: 'wl-site', kind: 'site', refId: 'site-1' } : kind === 'stack' && ref === 'st-1' ? { id: 'wl-stack', kind: 'stack', refId: 'st-1' } : undefined),
      stackByComposeProject: (p) => (p === 'tinyforge-one' ? { id: 'st-1', composeProjectName: p } : undefined),
    };
    const atoms = ['', ' ', 'a', 'web', '🚀', '👩‍👩‍👧', '東京', "'); DROP TABLE containers;--", '\u0000', '\ud800', '\udfff', '\n', '%_\\', ':', '/', 'true', 'null', '-1', '2', '007', '1e3', '__proto__', 'constructor'];
    const str = (): string => {
      switch (int(6)) {
        case 0:
          return pick(atoms);
        case 1:
          return pick(atoms).repeat(1 + int(300));
        case 2:
          return Array.from({ length: int(20) }, () => String.fromCharCode(int(0x10000))).join('');
        case 3:
          return 'x'.repeat(pick([0, 1, 31, 32, 33, 127, 128, 129, 190, 191, 192, 254, 255, 256, 511, 512, 513, 1023, 1024, 1025, 10_000]));
        case 4:
          return '😀'.repeat(pick([1, 127, 128, 255, 256, 511, 512]));
        default:
          return Array.from({ length: int(4) }, () => pick(atoms)).join('');
      }
    };
    const anyValue = (depth = 0): unknown => {
      switch (int(depth > 1 ? 6 : 9)) {
        case 0:
          return null;
        case 1:
          return undefined;
        case 2:
          return rnd() * 1e6 - 5e5;
        case 3:
          return rnd() < 0.5;
        case 4:
        case 5:
          return str();
        case 6:
          return Array.from({ length: int(4) }, () => anyValue(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: int(4) }, () => [str(), anyValue(depth + 1)]));
      }
    };
    const keys = ['tinyforge.managed', 'tinyforge.workload.id', 'tinyforge.workload.kind', 'tinyforge.role', 'tinyforge.static-site', 'com.docker.compose.project', 'com.docker.compose.service', 'com.docker.compose.container-number'];
    const labelValue = (k: string): unknown => {
      const r = rnd();
      if (r < 0.1) return anyValue(2);
      if (k === 'tinyforge.workload.id' && r < 0.7) return pick(Object.keys(KNOWN));
      if (k === 'tinyforge.static-site' && r < 0.5) return 'site-1';
      if (k === 'com.docker.compose.project' && r < 0.5) return pick(['tinyforge-one', 'tinyforge-', 'other', 'tinyforge-two']);
      if (k === 'com.docker.compose.container-number' && r < 0.5) return pick(['1', '2', '0', '-1', ' 3 ', '99999999999', 'x']);
      if (k === 'tinyforge.workload.kind' && r < 0.5) return pick(['project', 'site', 'stack', '', 'k'.repeat(33)]);
      return str();
    };
    const rawLabels = (): unknown => {
      if (rnd() < 0.05) return anyValue(1);
      const o: Record<string, unknown> = {};
      for (const k of keys) if (rnd() < 0.6) o[k] = labelValue(k);
      for (let i = int(3); i > 0; i--) o[str()] = anyValue(2);
      return o;
    };
    const rawPorts = (): unknown =>
      rnd() < 0.2 ? anyValue(1) : Array.from({ length: int(5) }, () => (rnd() < 0.1 ? anyValue(2) : { PrivatePort: pick<unknown>([80, 443, '8080', 0, -1, 65536, 3.5, null, str()]), PublicPort: pick<unknown>([undefined, 8080, '9090', 0, 70000, null, 'x']), Type: 'tcp' }));
    const states = ['running', 'Running', 'EXITED', 'exited', 'dead', 'created', 'paused', 'restarting', 'removing', 'stopped', '', 'zombie', 'running '];
    const codePoints = (s: string) => [...s].length;
    const HOSTNAME = 'fuzz-host';
    const N = 5000;
    const reasons = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const entry: Record<string, unknown> = {
        Id: rnd() < 0.9 ? [...Array(64)].map(() => '0123456789abcdef'[int(16)]).join('') : anyValue(1),
        Names: rnd() < 0.8 ? [`/${str()}`] : anyValue(1),
        Image: rnd() < 0.8 ? pick(['img:1', 'x'.repeat(1024), 'x'.repeat(1025), '', '😀'.repeat(1024)]) : anyValue(1),
        State: rnd() < 0.8 ? pick(states) : anyValue(1),
        Labels: rawLabels(),
        Ports: rawPorts(),
      };
      const ctx = `seed ${seed} case ${i}`;
      let item: ContainerItem;
      try {
        item = itemFromListEntry(entry);
      } catch (e) {
        throw new Error(`${ctx}: itemFromListEntry threw ${String(e)} on ${safeJson(entry)}`);
      }
      expect(typeof item.id, ctx).to.equal('string');
      expect(item.state, ctx).to.equal(item.state.toLowerCase());
      if (Array.isArray(entry.Names) && typeof entry.Names[0] === 'string' && entry.Names[0] !== '') expect(item.name, ctx).to.equal((entry.Names[0] as string).replace(/^\//, ''));
      for (const v of Object.values(item.labels)) expect(typeof v, ctx).to.equal('string');
      expect(new Set(item.ports).size, `${ctx}: distinct ports`).to.equal(item.ports.length);
      for (const p of item.ports) expect(Number.isInteger(p) && p >= 1 && p <= 65535, `${ctx}: port ${p}`).to.equal(true);
      // The same container through inspect gives the same labels.
      const doc = { Id: entry.Id, Name: '/n', State: { Status: entry.State }, Config: { Image: entry.Image, Labels: entry.Labels }, NetworkSettings: { Ports: rnd() < 0.5 ? anyValue(1) : {} } };
      let fromInspect: ContainerItem;
      try {
        fromInspect = itemFromInspect(doc);
      } catch (e) {
        throw new Error(`${ctx}: itemFromInspect threw ${String(e)} on ${safeJson(doc)}`);
      }
      expect({ ...fromInspect.labels }, ctx).to.deep.equal({ ...item.labels });
      // The item keeps exactly the dispatch labels, cleaned as cleanLabels cleans them.
      const cleaned = cleanLabels(entry.Labels);
      const expected = Object.fromEntries(DISPATCH_LABELS.filter((k) => Object.prototype.hasOwnProperty.call(cleaned, k)).map((k) => [k, cleaned[k]]));
      expect({ ...item.labels }, ctx).to.deep.equal(expected);

      let res;
      try {
        routeByLabels(item.labels);
        res = resolveRow(item, desired, HOSTNAME);
      } catch (e) {
        throw new Error(`${ctx}: resolveRow threw ${String(e)} on ${safeJson(entry)}`);
      }
      // Deterministic, also with the labels in another order.
      const shuffled = Object.fromEntries(Object.entries(item.labels).reverse());
      expect(resolveRow({ ...item, labels: shuffled }, desired, HOSTNAME), `${ctx}: deterministic`).to.deep.equal(res);
      if (res.ok) {
        const row = res.row;
        for (const [col, limit] of Object.entries(COLUMN_LIMITS)) {
          const v = (row as unknown as Record<string, string>)[col]!;
          expect(codePoints(v), `${ctx}: ${col} longer than its column`).to.be.at.most(limit);
        }
        expect(['running', 'stopped', 'created', 'restarting', 'paused', 'removing'], ctx).to.include(row.state);
        expect(row.containerId, ctx).to.equal(item.id);
        expect(row.host, ctx).to.equal(HOSTNAME);
        expect(row.port, ctx).to.equal(item.ports[0] ?? 0);
        const wid = item.labels['tinyforge.workload.id'] ?? '';
        const role = item.labels['tinyforge.role'] ?? '';
        if (wid !== '' && role !== '') expect(row.id, `${ctx}: workloadID:role`).to.equal(hostScopedRowId(`${wid}:${role}`, HOSTNAME));
        reasons.set('ok', (reasons.get('ok') ?? 0) + 1);
      } else {
        expect(UNMATCHED_REASONS as readonly string[], ctx).to.include(res.reason);
        reasons.set(res.reason, (reasons.get(res.reason) ?? 0) + 1);
        // Differential oracle for the workload path: refuse exactly when a column would not fit.
        const wid = item.labels['tinyforge.workload.id'] ?? '';
        if (res.reason === 'value_too_long' && wid !== '') {
          const role = item.labels['tinyforge.role'] ?? '';
          const labelKind = item.labels['tinyforge.workload.kind'] ?? '';
          const kind = labelKind || KNOWN[wid]!;
          // The row ID takes the kind from the label only, and is scoped by the host.
          const rowId = hostScopedRowId(role !== '' ? `${wid}:${role}` : labelKind === 'site' ? `${wid}:site` : `${wid}:${item.id}`, HOSTNAME);
          const over = codePoints(rowId) > 512 || codePoints(wid) > 191 || codePoints(kind) > 32 || codePoints(role) > 255 || codePoints(item.id) > 128 || codePoints(item.image) > 1024;
          expect(over, `${ctx}: refused as too long although every column fits`).to.equal(true);
        }
      }
    }
    // The generator reaches every interesting outcome (so the invariants were exercised).
    for (const r of ['ok', 'value_too_long', 'unknown_workload', 'unknown_state', 'no_tinyforge_labels', 'compose_project_not_tinyforge']) expect(reasons.get(r) ?? 0, `outcome ${r} reached`).to.be.greaterThan(10);
  });

  it('fuzz (seeded): the event-line parser and the line splitter on random and mutated lines in random chunks', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 7);
    const rnd = prng(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const base = (i: number) =>
      JSON.stringify({ status: 'start', id: `${i}`.padStart(64, '0'), from: 'img', Type: 'container', Action: i % 5 === 0 ? 'health_status: healthy' : 'start', Actor: { ID: `${i}`.padStart(64, '0'), Attributes: { 'tinyforge.role': `🚀${i}`, image: 'img' } }, scope: 'local', time: 1, timeNano: 1_000_000_000 + i });
    const mutate = (s: string): string => {
      const chars = [...s];
      for (let k = int(4); k > 0; k--) {
        const at = int(chars.length + 1);
        const op = int(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, String.fromCharCode(int(0x3000)));
        else chars.splice(at, 0, pickOne(['{', '}', '"', ':', 'null', '[]', '\\u0000', '"Type":"network"', '"timeNano":"x"'], rnd));
      }
      return chars.join('').replace(/\n/g, ' ');
    };
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(rnd() < 0.5 ? base(i) : mutate(base(i)));
    const whole = lines.join('\n') + '\n';
    const bytes = Buffer.from(whole, 'utf8');
    const splitter = new LineSplitter();
    const got: string[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + int(300);
      got.push(...splitter.push(bytes.subarray(at, at + n)).lines);
      at += n;
    }
    expect(got.length).to.equal(lines.length);
    expect(got).to.deep.equal(lines);
    let events = 0;
    for (const [i, l] of got.entries()) {
      const p = parseEventLine(l);
      if (p.kind === 'event') {
        events++;
        expect(p.event.id, `line ${i}`).to.be.a('string').and.not.equal('');
        expect(p.event.action, `line ${i}`).to.be.a('string').and.not.equal('');
        for (const v of Object.values(p.event.attributes)) expect(v).to.be.a('string');
      }
      if (lines[i] === base(i)) expect(p.kind, `unmutated line ${i}`).to.equal('event');
    }
    expect(events).to.be.greaterThan(1400);
  });
});

function pickOne<T>(xs: readonly T[], rnd: () => number): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function safeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s.length > 500 ? `${s.slice(0, 500)}...` : s;
  } catch {
    return String(v);
  }
}
