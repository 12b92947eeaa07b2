import { parseDbTime, type Database } from './database.js';

export interface LeaseRecord {
  name: string;
  holder: string;
  renewedAt: number | null;
  leaseDurationMs: number;
  transitions: number;
}

/**
 * The `leases` table with Kubernetes Lease semantics, every decision taken by the database in
 * one conditional statement on its own clock (no client clock skew): a lease is free when it
 * has no holder or its holder did not renew within its duration.
 */
export class LeaseRepository {
  constructor(private readonly db: Database) {}

  /**
   * Acquires or renews `name` for `holder`. Returns true when `holder` holds it afterwards.
   * One UPDATE (renew, or take over a released or expired lease), plus one INSERT the very
   * first time the lease exists.
   */
  async tryAcquireOrRenew(name: string, holder: string, durationMs: number): Promise<boolean> {
    const now = this.db.nowSql();
    const expired = this.db.dialect === 'mysql' ? `\`renewed_at\` < ${now} - INTERVAL \`lease_duration_ms\` * 1000 MICROSECOND` : `julianday(\`renewed_at\`) < julianday(${now}) - \`lease_duration_ms\` / 86400000.0`;
    const taken = await this.db.query(
      `UPDATE \`leases\` SET ` +
        `\`transitions\` = \`transitions\` + (CASE WHEN \`holder\` = ? THEN 0 ELSE 1 END), ` +
        `\`acquired_at\` = (CASE WHEN \`holder\` = ? THEN \`acquired_at\` ELSE ${now} END), ` +
        `\`holder\` = ?, \`renewed_at\` = ${now}, \`lease_duration_ms\` = ? ` +
        `WHERE \`name\` = ? AND (\`holder\` = ? OR \`holder\` = '' OR \`renewed_at\` IS NULL OR ${expired})`,
      [holder, holder, holder, durationMs, name, holder],
    );
    if (taken.affected > 0) return true;
    const insert = this.db.dialect === 'mysql' ? 'INSERT IGNORE INTO' : 'INSERT OR IGNORE INTO';
    const created = await this.db.query(
      `${insert} \`leases\` (\`name\`, \`holder\`, \`acquired_at\`, \`renewed_at\`, \`lease_duration_ms\`, \`transitions\`) VALUES (?, ?, ${now}, ${now}, ?, 0)`,
      [name, holder, durationMs],
    );
    return created.affected > 0;
  }

  /** Gives the lease up if `holder` holds it, so a standby takes over at once. */
  async release(name: string, holder: string): Promise<boolean> {
    const r = await this.db.query("UPDATE `leases` SET `holder` = '', `renewed_at` = NULL WHERE `name` = ? AND `holder` = ?", [name, holder]);
    return r.affected > 0;
  }

  async get(name: string): Promise<LeaseRecord | undefined> {
    const { rows } = await this.db.query<{ name: string; holder: string; renewed_at: unknown; lease_duration_ms: number; transitions: number }>(
      'SELECT `name`, `holder`, `renewed_at`, `lease_duration_ms`, `transitions` FROM `leases` WHERE `name` = ?',
      [name],
    );
    const r = rows[0];
    if (!r) return undefined;
    return { name: r.name, holder: r.holder, renewedAt: parseDbTime(r.renewed_at) ?? null, leaseDurationMs: Number(r.lease_duration_ms), transitions: Number(r.transitions) };
  }
}
