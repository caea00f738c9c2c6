/**
 * Snapshot reads: a table's rows in primary-key chunks, each in one short consistent snapshot, with
 * the binlog position that snapshot corresponds to (see src/core/snapshotter.ts).
 *
 * - The position: MariaDB reports it for the reading transaction itself (`START TRANSACTION WITH
 *   CONSISTENT SNAPSHOT`, then `binlog_snapshot_file/position`), exactly: everything up to it is in
 *   the snapshot, nothing after. MySQL has no such status: there the head is read before the
 *   snapshot begins, so it is at or before the snapshot; a transaction whose binlog write precedes
 *   that read but whose engine commit follows the snapshot's start would be missed (a window of the
 *   commit's own duration; documented in docs/ARCHITECTURE.md, not verifiable here without MySQL).
 * - Values: in the forms the binlog decoder gives (row-decoder.ts), so a copied row and a streamed
 *   change of it are the same values and the same row identity: TIMESTAMP in a '+00:00' session,
 *   temporal types as text with their exact fraction digits, BIGINT as a number when safe, DECIMAL as
 *   exact text, DOUBLE and FLOAT (widened) printed with every digit they need (CAST AS CHAR), JSON as text,
 *   GEOMETRY as its stored bytes, INET4/INET6 as their binary form. Generated columns are left out:
 *   the target computes them (src/core/decoder-form.ts, shared with `verify`).
 *   `test/integration/snapshot-reader.test.ts` compares both readers.
 * - Keys: `WHERE k1 > ? OR (k1 = ? AND k2 > ?) …  ORDER BY k1, k2 LIMIT n`, compared and ordered by
 *   the server itself (its collations), with the last key's values as parameters. The target's keys
 *   in a chunk's range are read the same way (`keysOn`), so a re-copy deletes what the source lacks.
 */
import mysql from 'mysql2/promise';
import { DECODER_FORM_OPTIONS, SourceError, columnRead, describeError, isNetworkError, toRow, type ColumnRead, type TableFilter } from '../../src/index.js';
import type { BinlogPosition, Row, RowIdentity, SnapshotChunk, SnapshotRow, SnapshotSource, SnapshotTable, SnapshotTarget, SqlValue, TableKeys, TableRef } from '../../src/index.js';
import type { SchemaCache, TableInfo } from './schema-cache.js';
import type { CollationFolder } from './collation-folder.js';
import { TableIdentity } from './row-identity.js';

const q = (id: string): string => '`' + id.replace(/`/g, '``') + '`';

interface TablePlan {
  readonly info: TableInfo;
  readonly identity: TableIdentity;
  readonly columns: readonly ColumnRead[];
  readonly select: string;
}

/** A conservative size of a row's values (queues are bounded by bytes). */
function sizeOf(row: Row): number {
  let n = 16;
  for (const k in row) {
    const v = row[k];
    n += k.length + (typeof v === 'string' ? v.length * 2 : Buffer.isBuffer(v) ? v.length : 8);
  }
  return n;
}

export interface ServerEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly connectTimeoutMs: number;
}

/** A pool whose values arrive in the binlog decoder's forms (with the SELECT expressions of `columnRead`). */
function decoderFormPool(endpoint: ServerEndpoint): mysql.Pool {
  const pool = mysql.createPool({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    connectTimeout: endpoint.connectTimeoutMs,
    connectionLimit: 8,
    enableKeepAlive: true,
    ...DECODER_FORM_OPTIONS,
  });
  pool.on('connection', (conn) => {
    conn.on('error', () => {});
    // TIMESTAMP as UTC text, as the binlog decoder gives it.
    void conn.query("SET SESSION time_zone = '+00:00'");
  });
  return pool;
}

/**
 * `WHERE` text and parameters for keys after `after` and at or before `upTo` (either may be null):
 * k1 > a OR (k1 = a AND k2 > b) OR …, a range the optimizer uses (a row comparison may not be).
 */
export function keyRangeCondition(columns: readonly string[], after: readonly SqlValue[] | null, upTo: readonly SqlValue[] | null): { sql: string; params: SqlValue[] } {
  const cols = columns.map(q);
  const params: SqlValue[] = [];
  const lexicographic = (values: readonly SqlValue[], op: '>' | '<', orEqual: boolean): string => {
    const terms: string[] = [];
    for (let i = 0; i < cols.length; i++) {
      const eq = cols.slice(0, i).map((c, j) => {
        params.push(values[j] ?? null);
        return `${c} = ?`;
      });
      params.push(values[i] ?? null);
      terms.push(`(${[...eq, `${cols[i]} ${op} ?`].join(' AND ')})`);
    }
    if (orEqual) {
      terms.push(`(${cols.map((c, j) => (params.push(values[j] ?? null), `${c} = ?`)).join(' AND ')})`);
    }
    return `(${terms.join(' OR ')})`;
  };
  const parts: string[] = [];
  if (after) parts.push(lexicographic(after, '>', false));
  if (upTo) parts.push(lexicographic(upTo, '<', true));
  return { sql: parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : '', params };
}

export class SnapshotReader implements SnapshotSource {
  private readonly pool: mysql.Pool;
  private readonly plans = new Map<string, Promise<TablePlan>>();
  /** Pools to other servers with the same tables (the target), for `keysOn`. */
  private readonly others: mysql.Pool[] = [];

  constructor(
    endpoint: ServerEndpoint,
    private readonly filter: TableFilter,
    private readonly schema: SchemaCache,
    private readonly folder: CollationFolder,
    private readonly head: () => Promise<BinlogPosition>,
  ) {
    this.pool = decoderFormPool(endpoint);
  }

  /**
   * Key reads on another server holding the same tables (the target), in the same forms as the
   * source's rows, so that their identities compare: a snapshot deletes there what the source lacks.
   */
  keysOn(endpoint: ServerEndpoint, targetOf: (source: TableRef) => TableRef = (t) => t): SnapshotTarget {
    const pool = decoderFormPool(endpoint);
    this.others.push(pool);
    const keysWith = async (keys: TableKeys, where: { sql: string; params: SqlValue[] }): Promise<Row[]> => {
      const plan = await this.plan(keys.table);
      const pk = keys.primaryKey;
      const reads = pk.map((k) => columnRead(k, plan.info.dataTypes.get(k) ?? ''));
      // The source table's key columns, read from the table its rows are routed to there.
      const table = targetOf(keys.table);
      const sql = `SELECT ${reads.map((r) => r.expr).join(', ')} FROM ${q(table.schema)}.${q(table.name)}${where.sql} ORDER BY ${pk.map(q).join(', ')}`;
      const [raw] = (await pool.query({ sql, values: where.params, rowsAsArray: true })) as unknown as [unknown[][]];
      return raw.map((values) => toRow(reads, values));
    };
    return {
      keysInRange: (keys, after, upTo) => keysWith(keys, keyRangeCondition(keys.primaryKey, after, upTo)),
      keysWhere: (keys, where) => keysWith(keys, { sql: ` WHERE ${where}`, params: [] }),
    };
  }

  async identify(table: TableRef, rows: readonly Row[]): Promise<readonly RowIdentity[]> {
    const plan = await this.plan(table);
    if (plan.identity.folds) {
      const pending: Parameters<CollationFolder['prepare']>[0][number][] = [];
      for (const r of rows) plan.identity.pending(r, pending);
      if (pending.length > 0) await this.folder.prepare(pending);
    }
    return rows.map((r) => plan.identity.identify(r));
  }

  async snapshotTables(only?: readonly TableRef[]): Promise<readonly SnapshotTable[]> {
    const [rows] = await this.pool.query(
      "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_ROWS AS estimate FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY TABLE_SCHEMA, TABLE_NAME",
    );
    const all = (rows as { db: string; name: string; estimate: number | string | null }[])
      .filter((r) => this.filter.matches(r.db, r.name))
      .map((r) => ({ table: { schema: r.db, name: r.name }, estimatedRows: Number(r.estimate ?? 0) }));
    if (!only) return all;
    const byName = new Map(all.map((t) => [`${t.table.schema}.${t.table.name}`, t]));
    return only.map((t) => {
      const found = byName.get(`${t.schema}.${t.name}`);
      if (!found) {
        throw new SourceError('SOURCE_METADATA', `${t.schema}.${t.name} is not a synced table of this pipeline (not on the source, or not matched by source.include/exclude): it cannot be copied`, {
          details: { table: `${t.schema}.${t.name}` },
        });
      }
      return found;
    });
  }

  private plan(table: TableRef): Promise<TablePlan> {
    const key = `${table.schema}.${table.name}`;
    let p = this.plans.get(key);
    if (!p) {
      p = (async () => {
        const info = await this.schema.get(table);
        const columns = [...info.dataTypes].filter(([name]) => !info.generated.has(name)).map(([name, dataType]) => columnRead(name, dataType));
        const select = `SELECT ${columns.map((c) => c.expr).join(', ')} FROM ${q(table.schema)}.${q(table.name)}`;
        return { info, identity: await TableIdentity.build(info, this.folder), columns, select };
      })();
      this.plans.set(key, p);
      p.catch(() => this.plans.delete(key));
    }
    return p;
  }

  async readChunk(table: TableRef, after: readonly SqlValue[] | null, limit: number): Promise<SnapshotChunk> {
    const plan = await this.plan(table);
    const pk = plan.info.keys.primaryKey;
    const where = keyRangeCondition(pk, after, null);
    return this.readRows(table, plan, `${plan.select}${where.sql} ORDER BY ${pk.map(q).join(', ')} LIMIT ${Math.trunc(limit)}`, where.params);
  }

  async readWhere(table: TableRef, where: string): Promise<SnapshotChunk> {
    const plan = await this.plan(table);
    return this.readRows(table, plan, `${plan.select} WHERE ${where} ORDER BY ${plan.info.keys.primaryKey.map(q).join(', ')}`, []);
  }

  /** Runs `sql` in one consistent snapshot; the rows in the decoder's forms, with their identities. */
  private async readRows(table: TableRef, plan: TablePlan, sql: string, params: readonly SqlValue[]): Promise<SnapshotChunk> {
    const conn = await this.pool.getConnection();
    let at: BinlogPosition;
    let raw: unknown[][];
    try {
      at = await this.snapshot(conn);
      [raw] = (await conn.query({ sql, values: params as SqlValue[], rowsAsArray: true })) as unknown as [unknown[][]];
      await conn.query('COMMIT');
      conn.release();
    } catch (err) {
      conn.destroy();
      const network = isNetworkError(err);
      throw new SourceError(network ? 'SOURCE_CONNECTION' : 'SOURCE_METADATA', `snapshot read of ${table.schema}.${table.name} failed: ${describeError(err)}`, { cause: err, retriable: network });
    }
    const rows = raw.map((values) => toRow(plan.columns, values));
    const ids = await this.identify(table, rows);
    const out: SnapshotRow[] = rows.map((row, i) => ({ row, identity: ids[i]!, bytes: sizeOf(row) }));
    return { at, keys: plan.info.keys, rows: out };
  }

  /** Opens the consistent snapshot on `conn`; returns the binlog position it corresponds to. */
  private async snapshot(conn: mysql.PoolConnection): Promise<BinlogPosition> {
    // MySQL: the head before the snapshot (see the module notes); MariaDB corrects it below.
    const before = this.mariadb === false ? await this.head() : null;
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [status] = await conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
    const s = new Map((status as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name.toLowerCase(), r.Value]));
    const file = s.get('binlog_snapshot_file');
    const pos = s.get('binlog_snapshot_position');
    if (file && pos) {
      this.mariadb = true;
      return { file, pos: Number(pos) };
    }
    if (before) return before;
    // The first read on a server without the status: MySQL. Start over with the head read first.
    this.mariadb = false;
    await conn.query('ROLLBACK');
    return this.snapshot(conn);
  }

  /** Whether the source reports binlog_snapshot_* (null: not asked yet). */
  private mariadb: boolean | null = null;

  async close(): Promise<void> {
    await Promise.all([this.pool, ...this.others].map((p) => p.end().catch(() => {})));
  }
}

