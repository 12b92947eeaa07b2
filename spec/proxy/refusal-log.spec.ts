import { expect } from 'chai';
import type { Logger } from '../../src/log.js';
import { RefusalLog } from '../../src/proxy/refusal-log.js';

/** A logger that records warn lines. */
function recordingLogger(): { log: Logger; lines: Array<{ fields: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const noop = () => undefined;
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    fatal: noop,
    child: () => log,
  } as unknown as Logger;
  return { log, lines };
}

describe('docker-proxy refusal log (rate-limited)', () => {
  it('logs the first `burst` refusals of a window, counts the rest, and sums them up when the next window starts', () => {
    let now = 1_000;
    const { log, lines } = recordingLogger();
    const r = new RefusalLog(log, { burst: 3, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 50; i++) r.record({ method: 'POST', target: `/containers/create?n=${i}`, reason: 'path' });
    expect(lines.map((l) => l.fields.target)).to.deep.equal(['/containers/create?n=0', '/containers/create?n=1', '/containers/create?n=2']);
    now += 9_999;
    r.record({ method: 'GET', target: '/info', reason: 'path' });
    expect(lines, 'still the same window').to.have.length(3);
    now += 1;
    r.record({ method: 'GET', target: '/containers/x/logs', reason: 'path' });
    expect(lines).to.have.length(5);
    expect(lines[3]!.fields).to.include({ suppressed: 48 });
    expect(lines[4]!.fields).to.include({ method: 'GET', target: '/containers/x/logs', reason: 'path' });
    expect(r.counts()).to.include({ path: 52, method: 0, body: 0 });
  });

  it('cuts long targets and counts by reason; flush logs nothing when nothing was suppressed', () => {
    const { log, lines } = recordingLogger();
    const r = new RefusalLog(log, { burst: 10 });
    r.record({ method: 'GET', target: `/${'a'.repeat(5000)}`, reason: 'too_long' });
    r.record({ method: 'GET', target: '/events', reason: 'upgrade' });
    r.flush();
    expect(lines).to.have.length(2);
    expect(String(lines[0]!.fields.target)).to.have.length.below(250).and.match(/\(5001 chars\)$/);
    expect(r.counts()).to.deep.equal({ method: 0, path: 0, query: 0, too_long: 1, body: 0, upgrade: 1, expect: 0, malformed: 0 });
  });
});
