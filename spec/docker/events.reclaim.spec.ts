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

  it('frees dead buffers of the young generation', async () => {
    const gc = minorGc();
    const before = process.memoryUsage().arrayBuffers;
    for (let k = 0; k < 256; k++) Buffer.alloc(65536, 1);
    gc();
    // V8 may release the backing stores of collected buffers on a background thread: give it a
    // moment (nothing allocates meanwhile, so without the collection nothing would be freed).
    let grown = process.memoryUsage().arrayBuffers - before;
    for (let i = 0; i < 50 && grown >= 4 << 20; i++) {
      await new Promise((r) => setTimeout(r, 20));
      grown = process.memoryUsage().arrayBuffers - before;
    }
    expect(grown).to.be.lessThan(4 << 20);
  });
});
