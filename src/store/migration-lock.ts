import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { QueryRunner } from 'typeorm';
import { Backoff } from '../util/backoff.js';
import { isDuplicateKey, isRetryableConflict } from './conflicts.js';
import { sleep } from '../util/timers.js';

/** The table holding the lock row; created by the lock itself, since it must exist before any migration. */
export const MIGRATION_LOCK_TABLE = 'tinyforge_reconciler_migration_lock';
const LOCK_ID = 'migrations';

export interface MigrationLockOptions {
  /** Names this process in the lock row (and in the error of a replica that waits in vain). Default `host/pid/random`. */
  holder?: string;
  /** How long to wait for another replica's migrations, ms; default 120 s. */
  waitMs?: number;
  /** A lock not renewed for this long belongs to a replica that died while migrating and is taken over, ms; default 60 s. */
  staleAfterMs?: number;
  /** How often the holder renews the lock, ms; default 5 s. */
  heartbeatMs?: number;
  /** How often a waiting replica tries again, ms (jittered by half); default 250. */
  pollMs?: number;
}

/** Who holds the lock, as a waiting replica reports it. */
export interface LockHolder {
  holder: string;
  acquiredAt: unknown;
  renewedAt: unknown;
}

/**
 * A lock across every server of a cluster, for migrations: one row in a replicated InnoDB table.
 * `GET_LOCK` is per server, so on a Galera cluster two replicas connected to different nodes both
 * got it and ran the same DDL at once; a row is the same for every node.
 *
 * Taking it is one `INSERT` of the row: a second replica finds it (duplicate key, 1062), or, when
 * both insert at once on different nodes, Galera certifies one write set and aborts the other
 * (1213); either way exactly one holds it, and the holder's commit comes after every write the
 * cluster ordered before it, so it reads the migrations the previous holder recorded. The holder
 * renews `renewed_at` (the database clock) every `heartbeatMs`; a waiting replica takes over a
 * lock left unrenewed for `staleAfterMs` (its holder died mid-migration) with one compare-and-set
 * `UPDATE`. Release deletes the row. Single-server MySQL and MariaDB behave the same way.
 */
export class MigrationLock {
  readonly holder: string;
  private readonly waitMs: number;
  private readonly staleAfterMs: number;
  private readonly heartbeatMs: number;
  private readonly poll: Backoff;
  private heartbeat: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  /** Set when a renew found the row in another holder's hands. */
  private lostTo: string | undefined;

  constructor(
    private readonly qr: QueryRunner,
    opts: MigrationLockOptions = {},
  ) {
    this.holder = (opts.holder ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`).slice(0, 191);
    this.waitMs = opts.waitMs ?? 120_000;
    this.staleAfterMs = opts.staleAfterMs ?? 60_000;
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    const pollMs = opts.pollMs ?? 250;
    this.poll = new Backoff({ baseMs: pollMs, maxMs: pollMs, jitter: 0.5 });
  }

  /** Waits until this replica holds the lock; throws after `waitMs`, naming the holder. */
  async acquire(): Promise<void> {
    await this.ensureTable();
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      if (await this.tryTake()) {
        this.startHeartbeat();
        return;
      }
      if (Date.now() >= deadline) {
        const h = await this.currentHolder().catch(() => undefined);
        const who = h ? `held by ${h.holder} since ${timeText(h.acquiredAt)}, renewed ${timeText(h.renewedAt)}` : 'it was free at the last look';
        throw new Error(`could not take the migration lock within ${Math.round(this.waitMs / 1000)}s (another replica is migrating? ${who})`);
      }
      await sleep(this.poll.next());
    }
  }

  /**
   * Gives the lock up. Throws when the lock was taken over meanwhile (this replica stalled past
   * `staleAfterMs`): another replica may have migrated at the same time, so the caller should not
   * trust this run and should run the migrations again (they are recorded, so nothing repeats).
   */
  async release(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    await this.renewing;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = (await this.qr.query(`DELETE FROM \`${MIGRATION_LOCK_TABLE}\` WHERE \`id\` = ? AND \`holder\` = ?`, [LOCK_ID, this.holder])) as { affectedRows?: number };
        if ((r.affectedRows ?? 0) === 0) this.lostTo ??= (await this.currentHolder())?.holder ?? '(nobody)';
        break;
      } catch (err) {
        if (attempt >= 5 || !isRetryableConflict(err)) throw err;
        await sleep(this.poll.next());
      }
    }
    if (this.lostTo !== undefined) throw new Error(`the migration lock was taken over by ${this.lostTo} while this replica held it (it stalled for more than ${Math.round(this.staleAfterMs / 1000)}s)`);
  }

  async currentHolder(): Promise<LockHolder | undefined> {
    const rows = (await this.qr.query(`SELECT \`holder\`, \`acquired_at\`, \`renewed_at\` FROM \`${MIGRATION_LOCK_TABLE}\` WHERE \`id\` = ?`, [LOCK_ID])) as Array<{ holder: string; acquired_at: unknown; renewed_at: unknown }>;
    const r = rows[0];
    return r ? { holder: r.holder, acquiredAt: r.acquired_at, renewedAt: r.renewed_at } : undefined;
  }

  /** Creates the lock table when missing (checked first: on Galera every DDL is a cluster-wide operation). */
  private async ensureTable(): Promise<void> {
    const rows = (await this.qr.query('SELECT 1 AS `x` FROM `information_schema`.`TABLES` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ?', [MIGRATION_LOCK_TABLE])) as unknown[];
    if (rows.length > 0) return;
    await this.qr.query(
      `CREATE TABLE IF NOT EXISTS \`${MIGRATION_LOCK_TABLE}\` (` +
        '`id` VARCHAR(64) NOT NULL, `holder` VARCHAR(191) NOT NULL, `acquired_at` DATETIME(3) NOT NULL, `renewed_at` DATETIME(3) NOT NULL, ' +
        'PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    );
  }

  /** One attempt: insert the row, or take over a stale one. True when this replica holds the lock. */
  private async tryTake(): Promise<boolean> {
    try {
      await this.qr.query(`INSERT INTO \`${MIGRATION_LOCK_TABLE}\` (\`id\`, \`holder\`, \`acquired_at\`, \`renewed_at\`) VALUES (?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`, [LOCK_ID, this.holder]);
      return true;
    } catch (err) {
      if (!isDuplicateKey(err) && !isRetryableConflict(err)) throw err;
    }
    try {
      const r = (await this.qr.query(
        `UPDATE \`${MIGRATION_LOCK_TABLE}\` SET \`holder\` = ?, \`acquired_at\` = UTC_TIMESTAMP(3), \`renewed_at\` = UTC_TIMESTAMP(3) ` +
          `WHERE \`id\` = ? AND \`renewed_at\` < UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND`,
        [this.holder, LOCK_ID, this.staleAfterMs * 1000],
      )) as { affectedRows?: number };
      return (r.affectedRows ?? 0) > 0;
    } catch (err) {
      if (isRetryableConflict(err)) return false;
      throw err;
    }
  }

  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => {
      this.renewing = this.renew();
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private async renew(): Promise<void> {
    try {
      const r = (await this.qr.query(`UPDATE \`${MIGRATION_LOCK_TABLE}\` SET \`renewed_at\` = UTC_TIMESTAMP(3) WHERE \`id\` = ? AND \`holder\` = ?`, [LOCK_ID, this.holder])) as { affectedRows?: number };
      if ((r.affectedRows ?? 0) === 0) this.lostTo = (await this.currentHolder())?.holder ?? '(nobody)';
    } catch {
      // The next renew tries again; a lock that stays unrenewed is taken over, which release() reports.
    }
  }
}

/** A datetime read back (a Date from mysql2, in UTC) as ISO text for messages. */
function timeText(v: unknown): string {
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : String(v);
}
