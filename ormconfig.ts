/**
 * The TypeORM DataSource for the TypeORM CLI, built from the same environment as the service:
 *   npx typeorm migration:show -d dist/ormconfig.js
 * The service itself applies migrations with `tinyforge-reconciler migrate` (or at `run`).
 */
import { loadConfig } from './src/config.js';
import { createDataSource } from './src/store/data-source.js';

const config = loadConfig(process.env);

export default createDataSource(config.database, {
  poolSize: config.dbPoolSize,
  connectTimeoutMs: config.dbConnectTimeoutMs,
  statementTimeoutMs: config.dbStatementTimeoutMs,
});
