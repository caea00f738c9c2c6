/**
 * The MySQL/MariaDB sink: applies one lane batch per call in one target transaction, over a pool of
 * prepared connections. Transient failures (deadlocks, lock wait timeouts, a restarting or unreachable
 * target) are retried with capped backoff on a fresh connection until they succeed; everything else
 * becomes a non-retriable TargetError that names the table, the key, the statement and the remedy.
 * With a write fence (the pipeline lock's), no attempt starts while the lock is not held.
 */
import { format } from 'mysql2/promise';
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../../src/index.js';
import { BinlogSyncError, SchemaHistory, TargetError, describeError, sourceKey, type SourceIdentity } from '../../src/index.js';
import type { Mutation, SchemaChangeEvent, SqlValue, StatementEvent } from '../../src/index.js';
import { formatPosition } from '../../src/index.js';
import { APPLIED_TABLE_REF, CREATE_APPLIED_SQL, ORDER_STREAM_PREFIX, READ_APPLIED_SQL, READ_APPLIED_FOR_UPDATE_SQL, READ_STREAMS_SQL, orderStream, STATEMENTS_STREAM, WRITE_APPLIED_SQL, appliedMarkOf, isApplied } from './applied-log.js';
import { quoteIdentifier } from './statement-builder.js';
import { saveValues, writeCheckpoint } from './checkpoint-store.js';
import { applyDdl } from './ddl-applier.js';
import { CREATE_SCHEMA_HISTORY_SQL, readSchemaHistory } from './schema-history-store.js';
import type { BinlogPosition, Checkpoint } from '../../src/index.js';
import type { ClaimedOffset, SinkConnector } from '../../src/index.js';
import { OWNER_SQL, fencedError, storeOffsetSql } from './partition-offsets.js';
import { classifyMySqlError, refusesTableData, remedyFor } from './error-classifier.js';
import { retryTransient } from './retry.js';
import {
  DEFAULT_MAX_ROWS_PER_STATEMENT,
  DEFAULT_MAX_STATEMENT_BYTES,
  buildStatements,
  formatKey,
  quoteTable,
  type BuiltStatement,
  type StatementLimits,
} from './statement-builder.js';
import { TargetPool, type TargetEndpoint } from './target-connection.js';
import type { LockProof, WriteFence } from './write-fence.js';

export interface MySqlSinkOptions extends TargetEndpoint {
  /** Connections to the target; lanes apply concurrently up to this many. Default 8. */
  readonly poolSize?: number;
  /** Largest statement in bytes; keep it under the target's max_allowed_packet. Default 1 MiB. */
  readonly maxStatementBytes?: number;
  /** Most rows in one statement. Default 2000. */
  readonly maxRowsPerStatement?: number;
  readonly logger?: Logger;
  /** Backoff between retries of transient failures; the delay is capped at `maxMs`. */
  readonly retry?: BackoffPolicy;
  /** The pipeline's name: keys what this sink records as applied exactly once (statements). */
  readonly pipeline?: string;
  /** Every apply attempt waits until the pipeline lock is held (and fails once it is gone for good). */
  readonly fence?: WriteFence;
}

export const DEFAULT_POOL_SIZE = 8;

const ER_BAD_DB_ERROR = 1049;
const ER_NO_SUCH_TABLE = 1146;

/** How much of a failing statement an error message quotes. */
const STATEMENT_EXCERPT_CHARS = 500;

export class MySqlSink implements SinkConnector {
  private readonly pool: TargetPool;
  private readonly limits: StatementLimits;
  private readonly logger: Logger;
  private readonly retry: BackoffPolicy;
  private readonly closing = new AbortController();
  private readonly pipeline: string;
  private appliedReady: Promise<void> | null = null;
  /** The target's schema history (read once, then kept up to date by `applySchemaChange`). */
  private history: Promise<SchemaHistory> | null = null;
  /** `sourceKey` of the server the pipeline reads (`readingFrom`); null until told. */
  private source: string | null = null;
  private readonly fence: WriteFence | undefined;

  constructor(options: MySqlSinkOptions) {
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new TypeError(`poolSize must be a whole number ≥ 1 (got ${poolSize})`);
    this.limits = {
      maxStatementBytes: options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES,
      maxRowsPerStatement: options.maxRowsPerStatement ?? DEFAULT_MAX_ROWS_PER_STATEMENT,
    };
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.retry = options.retry ?? DEFAULT_BACKOFF;
    this.pool = new TargetPool(options, poolSize);
    this.fence = options.fence;
    this.pipeline = options.pipeline ?? 'binlog-sync';
  }

  /**
   * Runs a statement-format change on the target once: in one transaction it checks the applied log,
   * runs the statement in a session like the source's (default database, timestamp, INSERT_ID),
   * records it, and stores the checkpoint just after it when given.
   */
  async applyStatement(ev: StatementEvent, save: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null): Promise<'applied' | 'already-applied'> {
    if (this.closing.signal.aborted) throw new TargetError('TARGET_CONNECTION', 'target: applyStatement called on a closed sink', { retriable: false });
    await this.ensureAppliedLog();
    const where = formatPosition(ev.position);
    return this.withConnection(`run the statement at ${where}`, async (conn, proof) => {
      await conn.query('BEGIN');
      try {
        const [rows] = await conn.query(READ_APPLIED_FOR_UPDATE_SQL, [this.pipeline, STATEMENTS_STREAM]);
        const mark = appliedMarkOf((rows as { binlog_file: string; binlog_pos: number; ordinal: number }[])[0]);
        if (isApplied(mark, ev.position)) {
          await conn.query('ROLLBACK');
          return 'already-applied';
        }
        const session: string[] = [`SET TIMESTAMP = ${Math.floor(ev.timestampMs / 1000)}`];
        if (ev.defaultSchema !== '') session.push(`USE ${quoteIdentifier(ev.defaultSchema)}`);
        if (ev.insertId !== undefined && /^\d+$/.test(ev.insertId)) session.push(`SET INSERT_ID = ${ev.insertId}`);
        if (ev.lastInsertId !== undefined && /^\d+$/.test(ev.lastInsertId)) session.push(`SET LAST_INSERT_ID = ${ev.lastInsertId}`);
        for (const sql of session) await conn.query(sql);
        try {
          await conn.query(ev.sql);
        } catch (err) {
          if (classifyMySqlError(err).retriable) throw err;
          throw new TargetError(
            'TARGET_APPLY',
            `target: the statement-format change at ${where} failed on the target: ${describeError(err)}.\n  statement: ${excerpt(ev.sql)}\n` +
              '  Nothing of it was written and the checkpoint did not move. What to do: make the target able to run it (the tables it names must exist with the source definition), or re-copy the tables and restart after this event.',
            { cause: err, retriable: false, details: { position: where, statement: excerpt(ev.sql) } },
          );
        }
        await conn.query(WRITE_APPLIED_SQL, [this.pipeline, STATEMENTS_STREAM, ev.position.file, ev.position.pos, 0]);
        if (save) await writeCheckpoint(conn, save.pipeline, saveValues(save.pipeline, save.checkpoint), proof);
        await conn.query('COMMIT');
        return 'applied';
      } finally {
        // The session must not keep the statement's context (a later batch reuses the connection).
        await conn.query('ROLLBACK').catch(() => undefined);
        await conn.query('SET TIMESTAMP = DEFAULT, INSERT_ID = DEFAULT').catch(() => undefined);
      }
    });
  }

  /** Runs a source DDL statement on the target once (see ddl-applier.ts), behind the write fence. */
  async applySchemaChange(ev: SchemaChangeEvent, save: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null): Promise<'applied' | 'already-applied'> {
    if (this.closing.signal.aborted) throw new TargetError('TARGET_CONNECTION', 'target: applySchemaChange called on a closed sink', { retriable: false });
    await this.ensureAppliedLog();
    const where = formatPosition(ev.position);
    const history = await this.schemaHistory();
    const outcome = await this.withConnection(`run the DDL at ${where}`, (conn, proof) =>
      applyDdl(conn, ev, {
        pipeline: this.pipeline,
        save,
        proof,
        source: this.source,
        excerpt,
        onDoneAlready: (err, why) => {
          const fields = { position: where, statement: excerpt(ev.sql), err: describeError(err) };
          if (why === 'exists') this.logger.info(fields, 'DDL: what it creates exists on the target already, or what it drops is gone: taken as applied');
          else this.logger.warn(fields, 'DDL started before a restart was run again and found done already: taken as applied');
        },
      }),
    );
    if (outcome === 'applied') history.add({ position: ev.position, sql: ev.sql, defaultSchema: ev.defaultSchema });
    return outcome;
  }

  readingFrom(source: SourceIdentity): void {
    const key = sourceKey(source);
    if (key === this.source) return;
    this.source = key;
    this.history = null;
  }

  /** Reads the schema history once; a target without one (no DDL ever applied) has an empty history. */
  private schemaHistory(): Promise<SchemaHistory> {
    this.history ??= this.withConnection('read the schema history', async (conn) => {
      try {
        const recorded = await readSchemaHistory(conn, this.pipeline, this.source);
        if (recorded.length > 0) this.logger.info({ ddl: recorded.length }, 'schema history: changes read again from before these DDL statements are carried forward through them');
        return new SchemaHistory(recorded);
      } catch (err) {
        const errno = (err as { errno?: unknown }).errno;
        if (errno === ER_NO_SUCH_TABLE || errno === ER_BAD_DB_ERROR) return new SchemaHistory();
        throw err;
      }
    }).catch((err: unknown) => {
      this.history = null;
      throw err;
    });
    return this.history;
  }

  /**
   * The batch as it applies to the target's tables now: changes written before a DDL the target ran
   * since are carried forward through it, and those a later DROP/TRUNCATE erased are left out (see
   * src/core/schema-history.ts). In normal streaming nothing precedes a recorded DDL: the same batch.
   */
  private async forwardThroughHistory(mutations: readonly Mutation[]): Promise<readonly Mutation[]> {
    const history = await this.schemaHistory();
    if (history.size === 0) return mutations;
    let out: Mutation[] | null = null;
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!;
      const f = history.forward(m);
      if (f !== m && out === null) out = mutations.slice(0, i);
      if (out !== null && f !== null) out.push(f);
    }
    if (out === null) return mutations;
    this.logger.debug({ changes: mutations.length, applied: out.length }, 'changes from before recorded DDL carried forward');
    return out;
  }

  /**
   * For each order group in the batch, the statement that records its last change as applied: in
   * the batch's own transaction, so the record and the data commit together.
   */
  private orderMarkStatements(mutations: readonly Mutation[]): BuiltStatement[] {
    const last = new Map<string, Mutation>();
    // Snapshot rows are not binlog changes: the exactly-once bookkeeping is about the latter only.
    for (const m of mutations) if (m.keys.orderGroup !== undefined && !m.snapshot) last.set(m.keys.orderGroup, m);
    const out: BuiltStatement[] = [];
    for (const [group, m] of last) {
      const sql = format(WRITE_APPLIED_SQL, [this.pipeline, orderStream(group), m.txStart.file, m.txStart.pos, m.index]);
      out.push({ kind: 'mark', table: APPLIED_TABLE_REF, sql, rowCount: 1, bytes: Buffer.byteLength(sql), firstKey: [group] });
    }
    return out;
  }

  /** The last change applied of each order group (the pipeline skips what is covered on a re-read). */
  async orderApplied(): Promise<ReadonlyMap<string, { readonly txStart: BinlogPosition; readonly index: number }>> {
    await this.ensureAppliedLog();
    return this.withConnection('read the applied log', async (conn) => {
      const [rows] = await conn.query(READ_STREAMS_SQL, [this.pipeline]);
      const out = new Map<string, { txStart: BinlogPosition; index: number }>();
      for (const r of rows as { stream: string; binlog_file: string; binlog_pos: number; ordinal: number }[]) {
        out.set(r.stream.slice(ORDER_STREAM_PREFIX.length), { txStart: { file: r.binlog_file, pos: Number(r.binlog_pos) }, index: Number(r.ordinal) });
      }
      return out;
    });
  }

  async lastStatement(): Promise<BinlogPosition | null> {
    await this.ensureAppliedLog();
    return this.withConnection('read the applied log', async (conn) => {
      const [rows] = await conn.query(READ_APPLIED_SQL, [this.pipeline, STATEMENTS_STREAM]);
      return appliedMarkOf((rows as { binlog_file: string; binlog_pos: number; ordinal: number }[])[0])?.position ?? null;
    });
  }

  private ensureAppliedLog(): Promise<void> {
    this.appliedReady ??= this.withConnection('create the applied log', async (conn) => {
      for (const sql of CREATE_APPLIED_SQL) await conn.query(sql);
      await conn.query(CREATE_SCHEMA_HISTORY_SQL);
    }).catch((err: unknown) => {
      this.appliedReady = null;
      throw err;
    });
    return this.appliedReady;
  }

  /** Runs `work` on one pooled connection with the transient-error retry loop, each attempt behind the write fence. */
  private async withConnection<T>(what: string, work: (conn: mysql.PoolConnection, proof: LockProof | null) => Promise<T>): Promise<T> {
    try {
      return await retryTransient({ policy: this.retry, logger: this.logger, signal: this.closing.signal, what }, async () => {
        const proof = this.fence ? await this.fence.held(this.closing.signal) : null;
        return this.pool.using((conn) => work(conn, proof));
      });
    } catch (err) {
      if (err instanceof BinlogSyncError) throw err;
      throw new TargetError('TARGET_APPLY', `target: cannot ${what}: ${describeError(err)}`, { cause: err, retriable: false });
    }
  }

  async applyBatch(mutations: readonly Mutation[], claimed?: ClaimedOffset): Promise<void> {
    if (this.closing.signal.aborted) {
      throw new TargetError('TARGET_CONNECTION', 'target: applyBatch called on a closed sink', { retriable: false });
    }
    if (mutations.length === 0) return;
    // Kafka sink workers run no DDL (their pipelines refuse schemaChanges: apply), so no history either.
    const forwarded = claimed ? mutations : await this.forwardThroughHistory(mutations);
    const statements = forwarded.length > 0 ? buildStatements(forwarded, this.limits) : [];
    // A change a later DDL erased counts as applied: its order group's mark moves past it all the same.
    const marks = this.orderMarkStatements(mutations);
    if (marks.length > 0) {
      await this.ensureAppliedLog();
      statements.push(...marks);
    }
    if (statements.length === 0) return;
    try {
      await retryTransient(
        { policy: this.retry, logger: this.logger, signal: this.closing.signal, what: describeBatch(statements, mutations.length) },
        async () => {
          if (this.fence) await this.fence.held(this.closing.signal);
          await this.applyOnce(statements, claimed);
        },
      );
    } catch (err) {
      // TargetErrors name the statement; PIPELINE_LOCKED and the like come from the fence.
      if (err instanceof BinlogSyncError) throw err;
      // Non-retriable and not from a statement: typically the connection itself (access denied, bad host).
      throw new TargetError('TARGET_CONNECTION', `target: cannot connect to apply changes: ${describeError(err)}. Check the target host, port, user and password.`, {
        cause: err,
      });
    }
  }

  /**
   * One attempt: every statement on one connection, in one transaction. The statements travel as
   * multi-statement queries (`BEGIN; …; COMMIT` in as few round trips as the size limit allows): on a
   * durable target most of a small batch's time is round trips and the commit, not the statements.
   */
  private async applyOnce(statements: readonly BuiltStatement[], claimed?: ClaimedOffset): Promise<void> {
    const conn = await this.pool.acquire();
    // One statement is atomic by itself under autocommit: no BEGIN/COMMIT needed.
    const inTransaction = statements.length > 1 || claimed !== undefined;
    try {
      if (claimed) await this.applyClaimed(conn, statements, claimed);
      else for (const q of combine(statements, inTransaction, this.limits.maxStatementBytes)) await runQuery(conn, q);
    } catch (err) {
      if (err instanceof BinlogSyncError && err.code === 'PARTITION_FENCED') throw err;
      const cls = classifyMySqlError(err);
      await this.giveBack(conn, inTransaction, cls.discardConnection);
      // After close() the pool ends under this query: the retry loop reports the close.
      if (cls.retriable || this.closing.signal.aborted) throw err;
      throw applyError(err, inTransaction ? await this.locateFailure(statements) : statements[0], statements);
    }
    this.pool.release(conn);
  }

  /**
   * A Kafka sink worker's batch: the statements, then the partition's offset (which is also the claim
   * check) in the same round trip; COMMIT only when the offset row still named this worker.
   */
  private async applyClaimed(conn: mysql.PoolConnection, statements: readonly BuiltStatement[], claimed: ClaimedOffset): Promise<void> {
    const queries = combine(statements, true, this.limits.maxStatementBytes, { commit: false });
    const last = queries.length - 1;
    if (queries[last]!.params) queries.push({ sql: storeOffsetSql(claimed) });
    else queries[last] = { sql: `${queries[last]!.sql};\n${storeOffsetSql(claimed)}` };
    let results: unknown;
    for (const q of queries) results = await runQuery(conn, q);
    const stored = Array.isArray(results) ? (results[results.length - 1] as { affectedRows?: number }) : (results as { affectedRows?: number });
    if (stored.affectedRows === 1) {
      await conn.query('COMMIT');
      return;
    }
    await conn.query('ROLLBACK');
    const { claim } = claimed;
    const [rows] = await conn.query(OWNER_SQL, [claim.pipeline, claim.topic, claim.partition]);
    this.pool.release(conn);
    throw fencedError(claim, (rows as { owner: string }[])[0]?.owner ?? null);
  }

  /**
   * Which statement of a failed batch fails: replayed one by one in a transaction that is rolled back
   * (the slow path, only taken for errors that stop the pipeline, so the message can name the statement).
   */
  private async locateFailure(statements: readonly BuiltStatement[]): Promise<BuiltStatement | undefined> {
    let conn: mysql.PoolConnection | undefined;
    try {
      conn = await this.pool.acquire();
      await conn.query('BEGIN');
      for (const statement of statements) {
        try {
          await runQuery(conn, statement);
        } catch {
          return statement;
        }
      }
      return undefined;
    } catch {
      return undefined;
    } finally {
      if (conn) await this.giveBack(conn, true, false);
    }
  }

  /** After a failure: roll back and reuse the connection, or drop it when its state is unknown. */
  private async giveBack(conn: mysql.PoolConnection, inTransaction: boolean, discard: boolean): Promise<void> {
    if (!discard && inTransaction) {
      try {
        await conn.query('ROLLBACK');
      } catch {
        discard = true;
      }
    }
    if (discard) this.pool.discard(conn);
    else this.pool.release(conn);
  }

  warmUp(): Promise<void> {
    return this.pool.openAll();
  }

  /** Stops retries in progress (they reject with TARGET_CONNECTION) and closes the pool. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await this.pool.close();
  }
}

/** One round trip: SQL text (possibly several statements), or one statement with parameters. */
export interface TargetQuery {
  readonly sql: string;
  readonly params?: readonly SqlValue[];
}

/**
 * Sends a query: text with the text protocol; a statement with parameters (large values) with the
 * binary protocol, prepared for this one use and released after, so the server's prepared-statement
 * count stays flat. Resolves to the query's results.
 */
async function runQuery(conn: mysql.PoolConnection, q: TargetQuery): Promise<unknown> {
  if (!q.params) return (await conn.query(q.sql))[0];
  try {
    return (await conn.execute(q.sql, q.params as SqlValue[]))[0];
  } finally {
    conn.unprepare(q.sql);
  }
}

/**
 * Joins statements into multi-statement queries of at most `maxBytes` (one statement may be larger);
 * a statement with parameters is a query of its own. In a transaction, the first query starts with
 * BEGIN and the last ends with COMMIT, unless `commit: false` (the caller adds to the last query and
 * commits itself).
 */
export function combine(statements: readonly BuiltStatement[], inTransaction: boolean, maxBytes: number, o: { readonly commit: boolean } = { commit: true }): TargetQuery[] {
  const queries: TargetQuery[] = [];
  let parts: string[] = inTransaction ? ['BEGIN'] : [];
  let bytes = 0;
  const cut = (): void => {
    if (parts.length > 0) queries.push({ sql: parts.join(';\n') });
    parts = [];
    bytes = 0;
  };
  for (const st of statements) {
    if (st.params) {
      cut();
      queries.push({ sql: st.sql, params: st.params });
      continue;
    }
    if (parts.length > 0 && bytes + st.bytes > maxBytes) cut();
    parts.push(st.sql);
    bytes += st.bytes;
  }
  if (inTransaction && o.commit) parts.push('COMMIT');
  cut();
  return queries;
}

function describeBatch(statements: readonly BuiltStatement[], mutationCount: number): string {
  const tables = new Set<string>();
  for (const s of statements) tables.add(quoteTable(s.table));
  const list = [...tables];
  const shown = list.length > 3 ? `${list.slice(0, 3).join(', ')} and ${list.length - 3} more` : list.join(', ');
  return `apply ${mutationCount} changes (${statements.length} statements) to ${shown}`;
}

function excerpt(sql: string): string {
  return sql.length > STATEMENT_EXCERPT_CHARS ? `${sql.slice(0, STATEMENT_EXCERPT_CHARS)}… [${sql.length} chars]` : sql;
}

/** The non-retriable error for a failed statement (or a failed COMMIT, when `failed` is undefined). */
function applyError(err: unknown, failed: BuiltStatement | undefined, statements: readonly BuiltStatement[]): TargetError {
  const statement = failed ?? statements[statements.length - 1]!;
  const table = quoteTable(statement.table);
  const key = formatKey(statement.firstKey);
  const e = err as { errno?: unknown; sqlState?: unknown; code?: unknown };
  const where = failed ? `${statement.kind} of ${statement.rowCount} row(s), first key ${key}` : 'COMMIT';
  const suspect = failed && rejectsValue(err) && statement.source ? decodedValueNote(statement.source) : '';
  const message =
    `target: cannot apply changes to ${table} (${where}): ${describeError(err)}.\n` +
    `  statement: ${excerpt(statement.sql)}\n` +
    `  The target transaction was rolled back, so nothing of this batch was written and the checkpoint did not move.\n` +
    suspect +
    `  What to do: ${remedyFor(err)}.`;
  return new TargetError('TARGET_APPLY', message, {
    cause: err,
    retriable: false,
    details: {
      table: `${statement.table.schema}.${statement.table.name}`,
      key: statement.firstKey,
      statementKind: statement.kind,
      statement: excerpt(statement.sql),
      errno: typeof e.errno === 'number' ? e.errno : undefined,
      sqlState: typeof e.sqlState === 'string' ? e.sqlState : undefined,
      mysqlCode: typeof e.code === 'string' ? e.code : undefined,
      sourcePositions: statement.source ? [formatPosition(statement.source.first), formatPosition(statement.source.last)] : undefined,
      // The table whose data or definition the target refused (a located data statement, not the
      // COMMIT or binlog-sync's own bookkeeping): what `sink.onApplyError: quarantine` parks.
      refusedTable: failed && failed.kind !== 'mark' && failed.kind !== 'session' && refusesTableData(err) ? `${statement.table.schema}.${statement.table.name}` : undefined,
    },
  });
}

/** Errors by which the target refuses a value as invalid for its column (not a missing table or column). */
const VALUE_REJECTED = new Set([1264, 1265, 1292, 1366, 1367, 1406, 1411]);

function rejectsValue(err: unknown): boolean {
  const errno = (err as { errno?: unknown }).errno;
  return typeof errno === 'number' && VALUE_REJECTED.has(errno);
}

/**
 * When the target refuses a value, the value may be ours, not the source's: binlog-sync decoded it
 * from the binlog. Say so, and where to read the source rows back.
 */
function decodedValueNote(source: { first: BinlogPosition; last: BinlogPosition; snapshot?: true }): string {
  if (source.snapshot) {
    return (
      `  The value was read from the source by the snapshot (a SELECT, in a snapshot at ${formatPosition(source.first)}) and converted by binlog-sync; ` +
      'if the source column has the same type as the target\'s, the value read may be wrong: compare it with a SELECT of that row on the source, and report a conversion error with both.\n'
    );
  }
  const range = source.first.file === source.last.file && source.first.pos === source.last.pos ? `the transaction after ${formatPosition(source.first)}` : `the transactions from ${formatPosition(source.first)} to after ${formatPosition(source.last)}`;
  return (
    `  The value was decoded by binlog-sync from the source's binlog (${range}); if the source column has the same type as the target's, the decoded value may be wrong. ` +
    `Read the source rows back with \`mariadb-binlog -v --base64-output=decode-rows --start-position=${source.first.pos} ${source.first.file}\` (mysqlbinlog on MySQL) and compare; report a decoding error with that output.\n`
  );
}
