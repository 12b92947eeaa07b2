import { expect } from 'chai';
import { isDuplicateKey, isRetryableConflict, withConflictRetry } from '../../src/store/conflicts.js';

const deadlock = Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { errno: 1213, code: 'ER_LOCK_DEADLOCK' });

describe('store conflicts: which failures run again (src/store/conflicts.ts)', () => {
  const table: Array<[string, unknown, boolean]> = [
    ['mysql2 deadlock (errno 1213)', deadlock, true],
    ['only the code', { code: 'ER_LOCK_DEADLOCK' }, true],
    ['TypeORM QueryFailedError wrapping it', Object.assign(new Error('x'), { driverError: { errno: 1213 } }), true],
    ['Galera brute-force abort message', new Error('WSREP detected deadlock/conflict and aborted the transaction. Try restarting the transaction'), true],
    ['duplicate key (1062)', { errno: 1062, code: 'ER_DUP_ENTRY' }, false],
    ['lock wait timeout (1205): waited 50 s already', { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' }, false],
    ['Galera node not ready (1047): a server problem, not a conflict', { errno: 1047, code: 'ER_UNKNOWN_COM_ERROR' }, false],
    ['connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), false],
    ['null', null, false],
    ['a string', 'Deadlock', false],
  ];
  for (const [name, err, want] of table) {
    it(`${name}: ${want ? 'retried' : 'not retried'}`, () => {
      expect(isRetryableConflict(err)).to.equal(want);
    });
  }

  it('isDuplicateKey: errno 1062, also inside a driver error', () => {
    expect(isDuplicateKey({ errno: 1062 })).to.equal(true);
    expect(isDuplicateKey({ driverError: { errno: 1062 } })).to.equal(true);
    expect(isDuplicateKey(deadlock)).to.equal(false);
  });

  it('runs the statement again while it loses conflicts, and returns its result', async () => {
    let calls = 0;
    const retries: number[] = [];
    const r = await withConflictRetry(
      async () => {
        if (++calls < 3) throw deadlock;
        return 'done';
      },
      { onRetry: (_e, attempt) => retries.push(attempt), random: () => 0 },
    );
    expect(r).to.equal('done');
    expect(calls).to.equal(3);
    expect(retries).to.deep.equal([1, 2]);
  });

  it('gives up after `retries` more tries and throws the last conflict as is', async () => {
    let calls = 0;
    const err = await withConflictRetry(
      async () => {
        calls++;
        throw deadlock;
      },
      { retries: 2, baseDelayMs: 1, maxDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(err).to.equal(deadlock);
    expect(calls).to.equal(3);
  });

  it('any other error is thrown at once', async () => {
    let calls = 0;
    const dup = Object.assign(new Error('Duplicate entry'), { errno: 1062 });
    const err = await withConflictRetry(async () => {
      calls++;
      throw dup;
    }).catch((e: unknown) => e);
    expect(err).to.equal(dup);
    expect(calls).to.equal(1);
  });

  it('refuses a retry count outside 0..20', async () => {
    for (const retries of [-1, 21, 1.5]) {
      const err = await withConflictRetry(async () => 1, { retries }).catch((e: unknown) => e);
      expect(String(err)).to.match(/Expected `retries` to be an integer from 0 to 20/);
    }
  });
});
