import { expect } from 'chai';
import { isImageId, ObservedCache } from '../../src/cache/observed-cache.js';
import { cid, container } from '../support/fakes.js';

const A = cid('a');
const B = cid('b');
const IMAGE_ID = `sha256:${'f'.repeat(64)}`;

describe('ObservedCache', () => {
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
