/**
 * DOCKER_MAX_ENTRY_BYTES and DOCKER_LIST_TIMEOUT (src/config.ts): defaults, the spellings taken,
 * and one clear line for a bad value.
 */
import { expect } from 'chai';
import { ConfigError, loadConfig, parseByteSize } from '../../src/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

describe('Docker limits in the configuration', () => {
  it('defaults to 1 MiB per entry and 60 s per list', () => {
    const c = loadConfig({});
    expect([c.dockerMaxEntryBytes, c.dockerListTimeoutMs]).to.deep.equal([1 << 20, 60_000]);
  });

  it('reads bytes, Ki, KiB, Mi and MiB, from 64Ki to 256Mi', () => {
    const table: Array<[string, number]> = [
      ['65536', 65536],
      ['64Ki', 65536],
      ['512KiB', 512 << 10],
      ['1Mi', 1 << 20],
      [' 4 MiB ', 4 << 20],
      ['256Mi', 256 << 20],
    ];
    for (const [raw, bytes] of table) expect(loadConfig({ DOCKER_MAX_ENTRY_BYTES: raw }).dockerMaxEntryBytes, raw).to.equal(bytes);
    expect(loadConfig({ DOCKER_LIST_TIMEOUT: '1s' }).dockerListTimeoutMs).to.equal(1000);
    expect(loadConfig({ DOCKER_LIST_TIMEOUT: '2m' }).dockerListTimeoutMs).to.equal(120_000);
  });

  it('refuses anything else with one line naming the variable and the range', () => {
    for (const raw of ['abc', '1MB', '1M', '1.5Mi', '-1', '65535', '63Ki', '257Mi', '1Gi', '0']) {
      const p = problems({ DOCKER_MAX_ENTRY_BYTES: raw });
      expect(p, raw).to.deep.equal([`DOCKER_MAX_ENTRY_BYTES: expected a size from 64Ki to 256Mi (bytes, or with Ki, KiB, Mi, MiB), got "${raw.trim()}"`]);
    }
    expect(problems({ DOCKER_LIST_TIMEOUT: '500ms' })).to.deep.equal(['DOCKER_LIST_TIMEOUT: must be at least 1000ms, got "500ms"']);
    expect(problems({ DOCKER_LIST_TIMEOUT: 'soon' })[0]).to.match(/^DOCKER_LIST_TIMEOUT: "soon" is not a duration/);
    expect(problems({ DOCKER_LIST_TIMEOUT: '0' })).to.deep.equal(['DOCKER_LIST_TIMEOUT: must be greater than zero, got "0"']);
  });

  it('parseByteSize: undefined for what is no size', () => {
    expect(parseByteSize('2Ki')).to.equal(2048);
    expect(parseByteSize('2 KiB')).to.equal(2048);
    for (const raw of ['', 'Ki', '2K', '2kb', '2e3', '0x10']) expect(parseByteSize(raw), raw).to.equal(undefined);
  });
});
