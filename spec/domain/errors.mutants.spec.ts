/**
 * The error kinds of the pipeline (src/domain/errors.ts), found untested by mutation testing
 * (make mutation, docs/testing.md): messages, names, and what tagged() wraps.
 */
import { expect } from 'chai';
import { noopChangeSink } from '../../src/domain/changes.js';
import { ExternalError, NotLeaderError, errorMessage, tagged } from '../../src/domain/errors.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('domain errors (behaviour found by mutation testing)', () => {
  it("errorMessage: an Error's message, its stack when asked, anything else as text", () => {
    const e = new Error('boom');
    expect(errorMessage(e)).to.equal('boom');
    expect(errorMessage(e, { stack: true })).to.equal(e.stack);
    expect(errorMessage(e, { stack: true })).to.match(/^Error: boom\n\s+at /);
    const noStack = new Error('bare');
    noStack.stack = undefined;
    expect(errorMessage(noStack, { stack: true })).to.equal('bare');
    expect(errorMessage('text')).to.equal('text');
    expect(errorMessage(42)).to.equal('42');
    expect(errorMessage(undefined)).to.equal('undefined');
  });

  it('NotLeaderError and ExternalError name themselves and say what failed', () => {
    const nl = new NotLeaderError();
    expect(nl).to.be.instanceOf(Error);
    expect([nl.name, nl.message]).to.deep.equal(['NotLeaderError', 'not the leader: writes are disabled']);
    const cause = new Error('connection refused');
    const ex = new ExternalError('database', cause);
    expect([ex.name, ex.message, ex.source, ex.cause]).to.deep.equal(['ExternalError', 'database: connection refused', 'database', cause]);
    expect(new ExternalError('docker', 'socket closed').message).to.equal('docker: socket closed');
  });

  it('tagged: passes a result through and tags any other failure with its source', async () => {
    expect(await tagged('docker', async () => 7)).to.equal(7);
    const cause = new Error('ECONNRESET');
    const err = await rejection(tagged('docker', async () => Promise.reject(cause)));
    expect(err).to.be.instanceOf(ExternalError);
    expect(err).to.include({ source: 'docker', cause, message: 'docker: ECONNRESET' });
  });

  it('tagged: a refused write and an already tagged failure stay what they are', async () => {
    const nl = new NotLeaderError();
    expect(await rejection(tagged('database', async () => Promise.reject(nl)))).to.equal(nl);
    const ex = new ExternalError('docker', new Error('x'));
    expect(await rejection(tagged('database', async () => Promise.reject(ex)))).to.equal(ex);
  });

  it('noopChangeSink accepts changes and does nothing', () => {
    expect(() => noopChangeSink.rowsChanged([{ rowId: 'w:web', workloadId: 'w', from: null, to: 'running', at: 0, reason: 'created' }])).to.not.throw();
  });
});
