/**
 * src/docker/reclaim.ts: dropped bytes are given back by a young-generation collection every
 * `everyBytes`, and only once there are some.
 */
import { expect } from 'chai';
import { DroppedBytes, minorGc } from '../../src/docker/reclaim.js';

describe('DroppedBytes', () => {
  it('collects once every `everyBytes` dropped, never before', () => {
    let collections = 0;
    const d = new DroppedBytes(100, () => collections++);
    d.add(60);
    expect(collections).to.equal(0);
    d.add(40);
    expect(collections).to.equal(1);
    d.add(250);
    expect(collections).to.equal(2);
    d.add(99);
    expect(collections).to.equal(2);
  });

  it('frees dead buffers of the young generation', () => {
    const gc = minorGc();
    const before = process.memoryUsage().arrayBuffers;
    for (let k = 0; k < 256; k++) Buffer.alloc(65536, 1);
    gc();
    expect(process.memoryUsage().arrayBuffers - before).to.be.lessThan(4 << 20);
  });
});
