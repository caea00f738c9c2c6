/**
 * `verify` for a pipeline file: every table the pipeline syncs (source.include/exclude, the filter the
 * binlog reader applies) compared on the source and the target by `verifyTable`, a few tables and
 * chunks at a time, over plain connections to both servers. The pipeline's applied position comes from
 * the caller (its checkpoint; src/cli/verify.ts reads it through the composition root).
 */
import mysql from 'mysql2/promise';
import pLimit from 'p-limit';
import type { PipelineConfig } from '../config/load.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import type { BinlogPosition } from '../core/position.js';
import { binlogHead } from '../local/binlog-head.js';
import { listIncludedTables, qualifiedName } from '../preflight/source-checks.js';
import { AppliedPositionWaiter, type AppliedShortfall } from './applied-position.js';
import { planTables, type TablePlan } from './table-plan.js';
import { RowTransforms } from '../core/row-transforms.js';
import { verifyTable, type TableVerdict, type TableVerifyContext, type VerifyJob } from './table-verifier.js';
import { sqlSide, type SideQuery } from './verify-side.js';

export interface VerifyOptions {
  /** The pipeline's applied position (its checkpoint on the target), null when it has none. */
  readonly readApplied: () => Promise<BinlogPosition | null>;
  /** Only these `db.table`s; each must be a table the pipeline syncs. */
  readonly tables?: readonly string[];
  /** Rows per chunk; default 10,000. */
  readonly chunkSize?: number;
  /** Chunks compared at once, over all tables; default 4. */
  readonly parallel?: number;
  /** Key-level recheck rounds of a chunk that still differs; default 3. */
  readonly rounds?: number;
  /** How long a recheck waits for the pipeline to apply up to the source position; default 60 s. */
  readonly waitMs?: number;
  /** Keys kept per table and kind (missing, extra, different, still changing); default 1,000. */
  readonly keptKeys?: number;
  /** Told of each table as soon as it is done. */
  readonly onTable?: (verdict: TableVerdict) => void;
}

export interface VerifyResult {
  readonly pipeline: string;
  readonly chunkSize: number;
  readonly tables: readonly TableVerdict[];
  readonly elapsedMs: number;
  /** Rechecks that ran before the pipeline had applied up to the source position: the first such wait. */
  readonly shortfall: AppliedShortfall | null;
}

export const VERIFY_DEFAULTS = { chunkSize: 10_000, parallel: 4, rounds: 3, waitMs: 60_000, keptKeys: 1_000 } as const;
/** Tables scanned at once (each pages its own key while its chunks are compared). */
const TABLES_AT_ONCE = 2;

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** A small pool whose every connection runs in UTC (TIMESTAMP text) before its first statement. */
class Side {
  private readonly pool: mysql.Pool;
  private readonly prepared = new WeakSet<object>();

  constructor(
    readonly label: 'source' | 'target',
    readonly endpoint: Endpoint,
    connections: number,
  ) {
    const { host, port, user, password } = endpoint;
    this.pool = mysql.createPool({ host, port, user, password, connectionLimit: connections, connectTimeout: 10_000, charset: 'UTF8MB4_GENERAL_CI', enableKeepAlive: true });
    // An idle connection that dies must not crash the process; the next query reports the error.
    this.pool.pool.on('connection', (c) => c.on('error', () => {}));
  }

  async using<T>(work: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      if (!this.prepared.has(conn.connection)) {
        await conn.query("SET SESSION time_zone = '+00:00'");
        this.prepared.add(conn.connection);
      }
      return await work(conn);
    } finally {
      conn.release();
    }
  }

  readonly query = (sql: string): Promise<unknown[][]> =>
    this.using(async (conn) => {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      // Every value verify selects is ASCII text; a binary-flagged one arrives as a Buffer.
      return (rows as unknown[][]).map((r) => r.map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)));
    });

  async check(): Promise<void> {
    try {
      await this.query('SELECT 1');
    } catch (err) {
      const e = this.endpoint;
      throw new BinlogSyncError('VERIFY', `cannot query the ${this.label} ${e.user}@${e.host}:${e.port}: ${describeError(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The tables to compare: the pipeline's, narrowed to `only` (a name it does not sync is a usage error). */
function chooseTables<T extends { db: string; table: string }>(synced: readonly T[], only: readonly string[] | undefined): T[] {
  if (!only || only.length === 0) return [...synced];
  const byName = new Map(synced.map((t) => [qualifiedName(t), t]));
  const unknown = only.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    throw new BinlogSyncError(
      'USAGE',
      `verify: --tables names ${unknown.join(', ')}, which the pipeline does not sync (its tables: ${[...byName.keys()].join(', ') || 'none'})`,
    );
  }
  return [...new Set(only)].map((n) => byName.get(n)!);
}

export async function verifyPipeline(config: PipelineConfig, options: VerifyOptions): Promise<VerifyResult> {
  const o = { ...VERIFY_DEFAULTS, ...options };
  for (const [name, v] of [['chunkSize', o.chunkSize], ['parallel', o.parallel], ['rounds', o.rounds], ['keptKeys', o.keptKeys]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new BinlogSyncError('USAGE', `verify: ${name} must be a whole number ≥ 1, got ${v}`);
  }
  const started = Date.now();
  const source = new Side('source', config.source, o.parallel + TABLES_AT_ONCE + 1);
  const target = new Side('target', config.target, o.parallel + 1);
  try {
    await Promise.all([source.check(), target.check()]);
    const synced = await source.using((conn) => listIncludedTables(conn, config.source));
    const tables = chooseTables(synced, o.tables);
    const plans = await source.using((s) => target.using((t) => planTables(s, t, tables, config.source.keys)));
    const applied = new AppliedPositionWaiter(o.readApplied, { timeoutMs: o.waitMs });
    const ctx: TableVerifyContext = {
      sourceHead: () => source.using((conn) => binlogHead(conn)),
      applied,
      limit: pLimit(o.parallel),
      chunkSize: o.chunkSize,
      rounds: o.rounds,
      keptKeys: o.keptKeys,
    };
    const tableLimit = pLimit(TABLES_AT_ONCE);
    const verdicts = await Promise.all(
      plans.map((p) =>
        tableLimit(async () => {
          const refused = transformedProblem(config, p);
          const verdict = refused
            ? failedVerdict(refused.name, [], refused.problem)
            : 'plan' in p
              ? await verifyTable(ctx, plainJob(p.plan, source.query, target.query)).catch((err: unknown) => failedVerdict(p.plan.name, p.plan.key, `${describeError(err)}`))
              : failedVerdict(p.name, [], p.problem);
          options.onTable?.(verdict);
          return verdict;
        }),
      ),
    );
    return { pipeline: config.name, chunkSize: o.chunkSize, tables: verdicts, elapsedMs: Date.now() - started, shortfall: applied.shortfall };
  } finally {
    await Promise.allSettled([source.close(), target.close()]);
  }
}

/** A table copied as it is: both sides' checksums computed by their servers. */
function plainJob(plan: TablePlan, source: SideQuery, target: SideQuery): VerifyJob {
  return { name: plan.name, key: plan.key, source: sqlSide(source, plan, plan.sourceColumns), target: sqlSide(target, plan, plan.targetColumns) };
}

/**
 * A table the pipeline routes or transforms (routes, tables.…columns/mask/filter) is not compared:
 * verify compares a table with the same-named one on the target, row for row and column for column.
 */
function transformedProblem(config: PipelineConfig, p: { readonly name: string } | { readonly plan: { readonly name: string } }): { name: string; problem: string } | null {
  const name = 'plan' in p ? p.plan.name : p.name;
  const dot = name.indexOf('.');
  const table = { schema: name.slice(0, dot), name: name.slice(dot + 1) };
  const transforms = new RowTransforms({ routes: config.routes, tables: config.tables, keyless: config.keyless });
  if (!transforms.transformed(table)) return null;
  const to = transforms.target(table);
  return {
    name,
    problem: `not compared: the pipeline routes or transforms this table (to ${to.schema}.${to.name}; routes / tables in the pipeline file), and verify compares only tables copied as they are. Compare it with your own query over the same rules (see the README, Routing and transforms).`,
  };
}

function failedVerdict(table: string, keyColumns: TableVerdict['keyColumns'], error: string): TableVerdict {
  const none = { count: 0, keys: [] };
  return { table, keyColumns, sourceRows: 0, targetRows: 0, chunks: 0, rechecked: 0, missing: none, extra: none, different: none, stillChanging: none, confirmed: true, elapsedMs: 0, error };
}
