import { expect } from 'chai';
import { isImageId, ObservedCache } from '../../src/cache/observed-cache.js';
import type { ContainerItem } from '../../src/domain/types.js';
import { cid, container } from '../support/fakes.js';

const A = cid('a');
const B = cid('b');
const IMAGE_ID = `sha256:${'f'.repeat(64)}`;

describe('ObservedCache', () => {
  describe('what it keeps', () => {
    it('equal items, no array of their own for no ports', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A, { ports: [] }), container(B, { ports: [] })], c.currentVersion(), 100);
      expect(c.get(A)).to.deep.equal(container(A, { ports: [] }));
      expect(c.get(A)!.ports).to.equal(c.get(B)!.ports);
      expect(Object.isFrozen(c.get(A)!.ports)).to.equal(true);
    });

    it('one copy of repeated strings (image, state, role label), measured on the heap; IDs are not pooled', () => {
      // Strings cannot be compared by identity in JavaScript: 50,000 items carrying their own
      // 240-character copies of one image reference hold 12 MB; pooled, the cache holds one.
      const n = 50_000;
      const long = 'registry.example/' + 'x'.repeat(223);
      const items = Array.from({ length: n }, (_, k) => {
        const id = cid(`p${String(k).padStart(6, '0')}`);
        // A fresh flat copy of the same text per item, as each daemon answer brings.
        const image = Buffer.from(long).toString('utf8');
        return container(id, { image, state: Buffer.from('running').toString('utf8'), ports: [] });
      });
      const c = new ObservedCache();
      global.gc!();
      const before = process.memoryUsage().heapUsed;
      c.replaceAll(items, c.currentVersion(), 100);
      // The items' own copies go away; what the cache kept of them stays.
      items.length = 0;
      global.gc!();
      const change = process.memoryUsage().heapUsed - before;
      expect(c.size()).to.equal(n);
      expect(c.get(cid('p000007'))!.image).to.equal(long);
      expect(change, `heap changed by ${(change / 1e6).toFixed(1)} MB`).to.be.below(-8e6);
    });
  });

  describe('beginList (the list streamed in)', () => {
    it('keeps the first call\'s entry when the second repeats it with ifUnseen, and counts it once', () => {
      const c = new ObservedCache();
      const list = c.beginList(c.currentVersion(), 100);
      list.add(container(A, { state: 'running' }));
      list.add(container(A, { state: 'exited' }), { ifUnseen: true });
      list.add(container(B, { state: 'exited' }), { ifUnseen: true });
      list.add(container(B, { state: 'running' }));
      expect(list.finish()).to.equal(2);
      expect(c.get(A)?.state).to.equal('running');
      expect(c.get(B)?.state, 'the managed call wins over the compose one').to.equal('running');
    });

    it('drops nothing and clears no stale mark until finished; a list never finished leaves both', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A), container(B)], c.currentVersion(), 100);
      c.markStale(A);
      const cut = c.beginList(c.currentVersion(), 200);
      cut.add(container(B, { state: 'exited' }));
      expect(c.has(A)).to.equal(true);
      expect(c.get(B)?.state, 'what was read is true').to.equal('exited');
      expect(c.staleVersion(A)).to.be.a('number');
      const full = c.beginList(c.currentVersion(), 300);
      full.add(container(B, { state: 'exited' }));
      expect(full.finish()).to.equal(1);
      expect(c.has(A)).to.equal(false);
      expect(c.staleVersion(A)).to.equal(undefined);
    });

    it('an image ID with no known reference stays stale after finish (marked after the list began)', () => {
      const c = new ObservedCache();
      c.markStale(A);
      const list = c.beginList(c.currentVersion(), 100);
      list.add(container(A, { image: IMAGE_ID }));
      list.finish();
      expect(c.staleVersion(A)).to.be.a('number');
    });

    it('refuses add after finish and a second finish', () => {
      const c = new ObservedCache();
      const list = c.beginList(c.currentVersion(), 100);
      list.finish();
      expect(() => list.add(container(A))).to.throw(/after finish/);
      expect(() => list.finish()).to.throw(/twice/);
    });
  });

  describe('replaceAll', () => {
    it('holds exactly the listed containers, observed at the list time', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A), container(B)], c.currentVersion(), 100);
      c.replaceAll([container(B, { state: 'exited' })], c.currentVersion(), 200);
      expect(c.has(A)).to.equal(false);
      expect(c.get(B)?.state).to.equal('exited');
      expect(c.observedTime(B)).to.equal(200);
      expect(c.observedTime(A)).to.equal(undefined);
    });

    it('clears stale marks older than the list, keeps those set after the list began', () => {
      const c = new ObservedCache();
      c.markStale(A);
      const version = c.currentVersion();
      c.markStale(B);
      c.replaceAll([container(A), container(B)], version, 100);
      expect(c.staleVersion(A), 'the list saw what the event announced').to.equal(undefined);
      expect(c.staleVersion(B), 'the event may be newer than the list').to.be.a('number');
    });

    it('an entry showing an image ID takes the Config.Image learnt by an earlier inspect', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A)], c.currentVersion(), 100);
      c.markStale(A);
      c.applyInspect(A, container(A, { image: 'registry/app:2' }), c.staleVersion(A)!, 150);
      c.replaceAll([container(A, { image: IMAGE_ID })], c.currentVersion(), 200);
      expect(c.get(A)?.image).to.equal('registry/app:2');
      expect(c.staleVersion(A), 'nothing to inspect').to.equal(undefined);
    });

    it('an entry showing an image ID with no Config.Image known is marked stale, so the next reconcile inspects it', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A, { image: IMAGE_ID }), container(B, { image: 'img:1' })], c.currentVersion(), 100);
      expect(c.staleVersion(A)).to.be.a('number');
      expect(c.staleVersion(B)).to.equal(undefined);
    });

    it('forgets a learnt Config.Image once the list shows a reference again', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A)], c.currentVersion(), 100);
      c.markStale(A);
      c.applyInspect(A, container(A, { image: 'registry/app:2' }), c.staleVersion(A)!, 150);
      c.replaceAll([container(A, { image: 'registry/app:3' })], c.currentVersion(), 200);
      c.replaceAll([container(A, { image: IMAGE_ID })], c.currentVersion(), 300);
      expect(c.get(A)?.image, 'the ID is shown until an inspect tells the reference').to.equal(IMAGE_ID);
      expect(c.staleVersion(A)).to.be.a('number');
    });
  });

  describe('replaceAll updates in place', () => {
    it('keeps the object of an entry the list shows unchanged, replaces a changed one, drops a vanished one', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A), container(B)], c.currentVersion(), 100);
      const [a0, b0] = [c.get(A), c.get(B)];
      // Each list parses fresh objects: equal content must not replace the held one.
      expect(c.replaceAll([container(A), container(B, { state: 'exited' })], c.currentVersion(), 200)).to.equal(2);
      expect(c.get(A), 'unchanged: the same object').to.equal(a0);
      expect(c.observedTime(A)).to.equal(200);
      expect(c.get(B)).to.not.equal(b0);
      expect(c.get(B)?.state).to.equal('exited');
      c.replaceAll([container(B, { state: 'exited' })], c.currentVersion(), 300);
      expect(c.has(A)).to.equal(false);
      expect(c.size()).to.equal(1);
    });

    it('compares every field the list carries: name, image, state, each label and each port', () => {
      const base = container(A, { labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-1', x: '1' }, ports: [80, 443] });
      const variants: Array<Partial<ContainerItem>> = [
        { name: 'other' },
        { image: 'img:2' },
        { state: 'paused' },
        { labels: { ...base.labels, x: '2' } },
        { labels: { ...base.labels, y: '1' } },
        { labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-1' } },
        { ports: [80] },
        { ports: [80, 444] },
      ];
      for (const v of variants) {
        const c = new ObservedCache();
        c.replaceAll([base], c.currentVersion(), 100);
        const next = { ...base, ...v };
        c.replaceAll([next], c.currentVersion(), 200);
        const held = c.get(A);
        expect(held, JSON.stringify(v)).to.deep.equal(next);
      }
      const c = new ObservedCache();
      c.replaceAll([base], c.currentVersion(), 100);
      const held = c.get(A);
      c.replaceAll([{ ...base, labels: { ...base.labels }, ports: [...base.ports] }], c.currentVersion(), 200);
      expect(c.get(A), 'equal copies keep the held object').to.equal(held);
    });

    it('skips the items the filter refuses and counts the rest', () => {
      const c = new ObservedCache();
      expect(c.replaceAll([container(A), container(B)], c.currentVersion(), 100, (i) => i.id === B)).to.equal(1);
      expect(c.has(A)).to.equal(false);
      expect(c.has(B)).to.equal(true);
    });

    it('ids() is a live set of the cached IDs, values() the cached items', () => {
      const c = new ObservedCache();
      const ids = c.ids();
      c.replaceAll([container(A), container(B)], c.currentVersion(), 100);
      expect(ids.size).to.equal(2);
      expect(ids.has(A)).to.equal(true);
      expect([...ids].sort()).to.deep.equal([A, B].sort());
      expect([...c.values()].map((i) => i.id).sort()).to.deep.equal([A, B].sort());
      c.replaceAll([container(B)], c.currentVersion(), 200);
      expect(ids.has(A)).to.equal(false);
      expect([...ids.entries()]).to.deep.equal([[B, B]]);
    });
  });

  describe('replaceAll and inspects that ran while Docker listed', () => {
    /** The pass takes the version, an event and its inspect land while Docker lists, then the list (older) arrives. */
    function raced(listed: ReturnType<typeof container>[], inspect: (c: ObservedCache, v: number) => void) {
      const c = new ObservedCache();
      c.replaceAll([container(A)], c.currentVersion(), 100);
      const version = c.currentVersion();
      c.markStale(A);
      inspect(c, c.staleVersion(A)!);
      c.replaceAll(listed, version, 200);
      return c;
    }

    it('a container that stopped after the list began stays as inspected, not as the older list shows it', () => {
      const c = raced([container(A)], (c, v) => c.applyInspect(A, container(A, { state: 'exited' }), v, 150));
      expect(c.get(A)?.state).to.equal('exited');
      expect(c.observedTime(A)).to.equal(150);
    });

    it('a container an inspect found gone after the list began is not brought back by the list', () => {
      const c = raced([container(A)], (c, v) => c.applyInspect(A, undefined, v, 150));
      expect(c.has(A)).to.equal(false);
      // Once a list that began after the inspect arrives, the mark is forgotten (bounded memory).
      c.replaceAll([], c.currentVersion(), 300);
      c.replaceAll([container(A)], c.currentVersion(), 400);
      expect(c.has(A), 'only a list that began later could show it, and the daemon never reuses an ID').to.equal(true);
    });

    it('a container created after the list began, and inspected, stays although the list lacks it', () => {
      const c = new ObservedCache();
      const version = c.currentVersion();
      c.markStale(B);
      c.applyInspect(B, container(B), c.staleVersion(B)!, 150);
      c.replaceAll([container(A)], version, 200);
      expect(c.has(B)).to.equal(true);
      c.replaceAll([container(A)], c.currentVersion(), 300);
      expect(c.has(B), 'a list that began after the inspect and lacks it: gone').to.equal(false);
    });

    it('an inspect that answered an event from before the list began yields to the list', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A)], c.currentVersion(), 100);
      c.markStale(A);
      c.applyInspect(A, container(A, { state: 'exited' }), c.staleVersion(A)!, 150);
      c.replaceAll([container(A, { state: 'running' })], c.currentVersion(), 200);
      expect(c.get(A)?.state).to.equal('running');
      expect(c.observedTime(A)).to.equal(200);
    });
  });

  describe('applyInspect', () => {
    it('records the inspect result and clears the mark it answers', () => {
      const c = new ObservedCache();
      c.markStale(A);
      const v = c.staleVersion(A)!;
      c.applyInspect(A, container(A, { state: 'paused' }), v, 500);
      expect(c.get(A)?.state).to.equal('paused');
      expect(c.observedTime(A)).to.equal(500);
      expect(c.staleVersion(A)).to.equal(undefined);
    });

    it('an inspect that raced a newer event leaves the key stale and the cache as it was', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A)], c.currentVersion(), 100);
      c.markStale(A);
      const v = c.staleVersion(A)!;
      c.markStale(A);
      c.applyInspect(A, container(A, { state: 'exited' }), v, 500);
      expect(c.get(A)?.state).to.equal('running');
      expect(c.observedTime(A)).to.equal(100);
      expect(c.staleVersion(A)).to.equal(v + 1);
    });

    it('a container gone at inspect leaves the cache', () => {
      const c = new ObservedCache();
      c.replaceAll([container(A)], c.currentVersion(), 100);
      c.markStale(A);
      c.applyInspect(A, undefined, c.staleVersion(A)!, 500);
      expect(c.has(A)).to.equal(false);
      expect(c.observedTime(A)).to.equal(undefined);
      expect(c.staleVersion(A)).to.equal(undefined);
    });
  });

  it('versions only grow', () => {
    const c = new ObservedCache();
    const v0 = c.currentVersion();
    c.markStale(A);
    c.markStale(B);
    expect(c.currentVersion()).to.equal(v0 + 2);
    expect(c.staleVersion(B)).to.equal(v0 + 2);
  });

  it('isImageId: a 64-hex ID with or without sha256:, nothing else', () => {
    const hex = 'a'.repeat(64);
    const table: Array<[string, boolean]> = [
      [hex, true],
      [`sha256:${hex}`, true],
      [`sha256:${hex}0`, false],
      ['a'.repeat(63), false],
      [`sha512:${hex}`, false],
      ['A'.repeat(64), false],
      ['img:1', false],
      [`registry/${hex}`, false],
    ];
    for (const [s, want] of table) expect(isImageId(s), s).to.equal(want);
  });
});
