import { expect } from 'chai';
import { FailoverPool, isServerDown, probeSaysReady, type NodePool, type PooledConnection } from '../../src/store/failover-pool.js';

/** A server's pool: up or down, Galera status for probes, statements that fail on demand. */
class FakeServer implements NodePool {
  down = false;
  galera: Record<string, string> = {};
  failNextQuery: Error | undefined;
  connections = 0;
  queries: string[] = [];
  ended = false;
  constructor(readonly name: string) {}
  getConnection(cb: (err: NodeJS.ErrnoException | null, conn?: PooledConnection) => void): void {
    if (this.down) return cb(Object.assign(new Error(`connect ECONNREFUSED ${this.name}`), { code: 'ECONNREFUSED' }));
    this.connections++;
    const conn: PooledConnection = {
      query: (sql: unknown, cb2: unknown) => {
        const done = cb2 as (err: unknown, rows?: unknown) => void;
        this.queries.push(String(sql));
        const err = this.failNextQuery;
        this.failNextQuery = undefined;
        if (err) return done(err);
        if (String(sql).startsWith('SHOW GLOBAL STATUS')) return done(null, Object.entries(this.galera).map(([Variable_name, Value]) => ({ Variable_name, Value })));
        done(null, [{ ok: 1 }]);
      },
      release: () => undefined,
      destroy: () => undefined,
    };
    cb(null, conn);
  }
  end(cb?: (err?: Error | null) => void): void {
    this.ended = true;
    cb?.(null);
  }
}

/** Timers run by hand. */
function manualTimers() {
  const pending: Array<() => void> = [];
  return {
    setTimer: (fn: () => void) => {
      pending.push(fn);
      return {};
    },
    clearTimer: () => undefined,
    fire: () => pending.splice(0).forEach((f) => f()),
    count: () => pending.length,
  };
}

const conn = (pool: FailoverPool) =>
  new Promise<PooledConnection>((ok, fail) => pool.getConnection((err, c) => (err ? fail(err) : ok(c!))));
const query = (c: PooledConnection, sql: string) => new Promise<unknown>((ok, fail) => c.query(sql, (err: unknown, rows: unknown) => (err ? fail(err) : ok(rows))));

describe('FailoverPool', () => {
  it('sends every connection to the first server while it is up (one writer node)', async () => {
    const [a, b] = [new FakeServer('a:3306'), new FakeServer('b:3306')];
    const pool = new FailoverPool([{ name: a.name, pool: a }, { name: b.name, pool: b }]);
    for (let i = 0; i < 5; i++) await conn(pool);
    expect([a.connections, b.connections]).to.deep.equal([5, 0]);
    expect(pool.active()).to.equal('a:3306');
  });

  it('fails over when the first server refuses connections, probes it, and goes back once it is Synced again', async () => {
    const [a, b, c] = [new FakeServer('a:3306'), new FakeServer('b:3306'), new FakeServer('c:3306')];
    const timers = manualTimers();
    const switches: string[] = [];
    const pool = new FailoverPool(
      [a, b, c].map((s) => ({ name: s.name, pool: s })),
      { ...timers, onSwitch: (from, to) => switches.push(`${from}->${to}`) },
    );
    a.down = true;
    await conn(pool);
    expect(pool.active()).to.equal('b:3306');
    expect(pool.states().map((s) => s.up)).to.deep.equal([false, true, true]);
    await conn(pool);
    expect(b.connections, 'the failed server is not tried again in line').to.equal(2);
    // Back, but still joining: the probe waits.
    a.down = false;
    a.galera = { wsrep_ready: 'ON', wsrep_local_state_comment: 'Joined' };
    timers.fire();
    expect(pool.active()).to.equal('b:3306');
    a.galera = { wsrep_ready: 'ON', wsrep_local_state_comment: 'Synced' };
    timers.fire();
    expect(pool.active()).to.equal('a:3306');
    expect(timers.count(), 'no probe left once it is up').to.equal(0);
    expect(switches).to.deep.equal(['a:3306->b:3306', 'b:3306->a:3306']);
  });

  it('a statement that loses its server marks it down: the next connection goes to the next server', async () => {
    const [a, b] = [new FakeServer('a:3306'), new FakeServer('b:3306')];
    const pool = new FailoverPool([a, b].map((s) => ({ name: s.name, pool: s })), manualTimers());
    const c1 = await conn(pool);
    a.failNextQuery = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    let err: unknown;
    await query(c1, 'SELECT 1').catch((e: unknown) => (err = e));
    expect((err as { code: string }).code, 'the statement fails (the pass or worker retries)').to.equal('PROTOCOL_CONNECTION_LOST');
    await conn(pool);
    expect(pool.active()).to.equal('b:3306');
  });

  it('a statement error that is not the server\'s (a duplicate key) changes nothing', async () => {
    const [a, b] = [new FakeServer('a:3306'), new FakeServer('b:3306')];
    const pool = new FailoverPool([a, b].map((s) => ({ name: s.name, pool: s })), manualTimers());
    const c1 = await conn(pool);
    a.failNextQuery = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY', errno: 1062 });
    await query(c1, 'INSERT').catch(() => undefined);
    await conn(pool);
    expect(pool.active()).to.equal('a:3306');
  });

  it('all servers down: the last error; a credentials error is not failed over (it is the same everywhere)', async () => {
    const [a, b] = [new FakeServer('a:3306'), new FakeServer('b:3306')];
    a.down = b.down = true;
    const pool = new FailoverPool([a, b].map((s) => ({ name: s.name, pool: s })), manualTimers());
    const err = await conn(pool).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).to.contain('b:3306');
    const denied = new FakeServer('d:3306');
    denied.getConnection = (cb) => cb(Object.assign(new Error('Access denied'), { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }));
    const other = new FakeServer('e:3306');
    const p2 = new FailoverPool([denied, other].map((s) => ({ name: s.name, pool: s })), manualTimers());
    const e2 = await conn(p2).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(e2).to.equal('Access denied');
    expect(other.connections).to.equal(0);
  });

  it('end() ends every server\'s pool and refuses further connections', async () => {
    const [a, b] = [new FakeServer('a:3306'), new FakeServer('b:3306')];
    const pool = new FailoverPool([a, b].map((s) => ({ name: s.name, pool: s })));
    await new Promise<void>((ok) => pool.end(() => ok()));
    expect([a.ended, b.ended]).to.deep.equal([true, true]);
    const err = await conn(pool).then(
      () => undefined,
      (e: { code: string }) => e.code,
    );
    expect(err).to.equal('POOL_CLOSED');
  });

  it('classifies server failures and probe answers', () => {
    expect(isServerDown({ code: 'ECONNREFUSED' })).to.equal(true);
    expect(isServerDown({ errno: 1047, code: 'ER_UNKNOWN_COM_ERROR' }), 'Galera node outside the primary component').to.equal(true);
    expect(isServerDown({ errno: 1213, code: 'ER_LOCK_DEADLOCK' }), 'a certification conflict is retried, not failed over').to.equal(false);
    expect(isServerDown({ code: 'ER_DUP_ENTRY', errno: 1062 })).to.equal(false);
    expect(isServerDown(undefined)).to.equal(false);
    expect(probeSaysReady([]), 'no Galera').to.equal(true);
    expect(probeSaysReady([{ Variable_name: 'wsrep_ready', Value: 'ON' }, { Variable_name: 'wsrep_local_state_comment', Value: 'Synced' }])).to.equal(true);
    expect(probeSaysReady([{ Variable_name: 'wsrep_ready', Value: 'OFF' }])).to.equal(false);
    expect(probeSaysReady([{ Variable_name: 'wsrep_local_state_comment', Value: 'Donor/Desynced' }])).to.equal(false);
    expect(probeSaysReady('nope')).to.equal(false);
  });
});
