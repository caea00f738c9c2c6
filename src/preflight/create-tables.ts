/**
 * `target.createTables`: included source tables missing on the target are created there from the
 * source's own `SHOW CREATE TABLE` (and their databases with CREATE DATABASE IF NOT EXISTS), before
 * the preflight compares the two sides. Foreign keys come with the definitions; checks are off for
 * the session so that the order of creation does not matter. Existing tables are never altered:
 * differences there are the preflight's to report.
 */
import mysql from 'mysql2/promise';
import type { PipelineConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { listIncludedTables } from './source-checks.js';
import { createStatement } from './target-checks.js';
import { qualifiedName, quoteIdent, rows } from './sql.js';
import { routingOf } from './routing.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** Creates what is missing; returns the tables created (`db.table`). */
export async function createMissingTargetTables(config: PipelineConfig, logger: Logger): Promise<string[]> {
  const endpoint = (e: PipelineConfig['source'] | PipelineConfig['target']) => ({ host: e.host, port: e.port, user: e.user, password: e.password, connectTimeout: CONNECT_TIMEOUT_MS });
  const source = await mysql.createConnection(endpoint(config.source));
  let target: mysql.Connection | null = null;
  try {
    target = await mysql.createConnection(endpoint(config.target));
    const tables = await listIncludedTables(source, config.source);
    if (tables.length === 0) return [];
    // Under routes, the table a source table's rows go to; merged tables are created once, from the first.
    const routing = routingOf(config);
    const schemas = [...new Set(tables.map((t) => routing.target(t).db))];
    const existing = new Set(
      (await rows(target, 'SELECT CONCAT(TABLE_SCHEMA, \'.\', TABLE_NAME) AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)', [schemas])).map((r) => String(r.name)),
    );
    const missing = tables.filter((t) => !existing.has(qualifiedName(routing.target(t))));
    if (missing.length === 0) return [];
    await target.query('SET SESSION foreign_key_checks = 0');
    for (const db of new Set(missing.map((t) => routing.target(t).db))) await target.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(db)}`);
    const created: string[] = [];
    for (const t of missing) {
      const to = routing.target(t);
      if (created.includes(qualifiedName(to))) continue;
      await target.query(await createStatement(source, t.db, t.table, to));
      // Columns the pipeline does not copy (tables.…columns) are not created either.
      const dropped = t.columns.filter((c) => !routing.keeps(t, c));
      if (dropped.length > 0) await target.query(`ALTER TABLE ${quoteIdent(to.db)}.${quoteIdent(to.table)} ${dropped.map((c) => `DROP COLUMN ${quoteIdent(c)}`).join(', ')}`);
      created.push(qualifiedName(to));
    }
    logger.info({ tables: created }, `created ${created.length} missing target table${created.length === 1 ? '' : 's'} from the source's definitions (target.createTables)`);
    return created;
  } finally {
    await Promise.allSettled([source.end(), target?.end()]);
  }
}
