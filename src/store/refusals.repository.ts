import { COLUMN_LENGTHS } from '../domain/columns.js';
import { clip } from '../domain/text.js';
import type { Database } from './database.js';
import { chunks, MAX_PARAMS_PER_STATEMENT, placeholders, valuesList } from './sql.js';

/** A container the agent writes no row for, as `container_refusals` keeps it. */
export interface RefusalRecord {
  containerId: string;
  containerName: string;
  dispatch: string;
  reason: string;
  workloadId: string;
  rowId: string;
  detail: string;
}

/** Column lengths of `container_refusals`, in characters: longer values are clipped to fit. */
const LIMITS = COLUMN_LENGTHS.containerRefusals;

const COLUMNS = ['host', 'container_id', 'container_name', 'dispatch', 'reason', 'workload_id', 'row_id', 'detail'] as const;

/**
 * Writes `container_refusals`: the containers of one host that get no row, with the reason.
 * Written only when the set changes (the registry in src/refusals/refusal-registry.ts decides); `since`
 * is the database's clock when the container was first refused for its current reason.
 */
export class RefusalsRepository {
  constructor(private readonly db: Pick<Database, 'query' | 'dialect' | 'nowSql'>) {}

  /** Inserts or updates these refusals of `host` (one statement per chunk). */
  async upsert(host: string, refusals: readonly RefusalRecord[]): Promise<void> {
    const now = this.db.nowSql();
    const per = COLUMNS.length;
    for (const batch of chunks(refusals, Math.floor(MAX_PARAMS_PER_STATEMENT / per))) {
      const params: unknown[] = [];
      for (const r of batch) {
        params.push(
          host,
          clip(r.containerId, LIMITS.containerId),
          clip(r.containerName, LIMITS.containerName),
          clip(r.dispatch, LIMITS.dispatch),
          clip(r.reason, LIMITS.reason),
          clip(r.workloadId, LIMITS.workloadId),
          clip(r.rowId, LIMITS.rowId),
          clip(r.detail, LIMITS.detail),
        );
      }
      const cols = [...COLUMNS, 'since'].map((c) => `\`${c}\``).join(', ');
      const values = valuesList(`(${placeholders(COLUMNS.length)},${now})`, batch.length);
      const updated = ['container_name', 'dispatch', 'workload_id', 'row_id', 'detail', 'reason'];
      // `since` moves only when the reason changes; MySQL evaluates assignments in order, so it
      // comes before `reason`. SQLite's SET sees the old row throughout.
      const sql =
        this.db.dialect === 'mysql'
          ? `INSERT INTO \`container_refusals\` (${cols}) VALUES ${values} ON DUPLICATE KEY UPDATE \`since\` = IF(\`reason\` = VALUES(\`reason\`), \`since\`, VALUES(\`since\`)), ${updated.map((c) => `\`${c}\` = VALUES(\`${c}\`)`).join(', ')}`
          : `INSERT INTO \`container_refusals\` (${cols}) VALUES ${values} ON CONFLICT(\`host\`, \`container_id\`) DO UPDATE SET \`since\` = CASE WHEN \`reason\` = excluded.\`reason\` THEN \`since\` ELSE excluded.\`since\` END, ${updated.map((c) => `\`${c}\` = excluded.\`${c}\``).join(', ')}`;
      await this.db.query(sql, params);
    }
  }

  /** Removes these containers' refusals of `host`. */
  async remove(host: string, containerIds: readonly string[]): Promise<void> {
    for (const c of chunks(containerIds, MAX_PARAMS_PER_STATEMENT - 1)) {
      await this.db.query(`DELETE FROM \`container_refusals\` WHERE \`host\` = ? AND \`container_id\` IN (${placeholders(c.length)})`, [host, ...c]);
    }
  }

  /**
   * Removes every refusal of `host` except these containers' (a new leadership term keeps only
   * what it sees itself). `keep` must fit one statement.
   */
  async removeAllExcept(host: string, keep: readonly string[]): Promise<void> {
    if (keep.length >= MAX_PARAMS_PER_STATEMENT) throw new Error(`removeAllExcept: at most ${MAX_PARAMS_PER_STATEMENT - 1} containers to keep`);
    const notIn = keep.length > 0 ? ` AND \`container_id\` NOT IN (${placeholders(keep.length)})` : '';
    await this.db.query(`DELETE FROM \`container_refusals\` WHERE \`host\` = ?${notIn}`, [host, ...keep]);
  }
}
