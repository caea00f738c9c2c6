/**
 * Runs a source DDL statement on the target once (`schemaChanges: apply`), so that a crash at any point
 * converges. DDL commits implicitly, so it cannot share a transaction with its record; instead two marks
 * in the applied log bracket it:
 * 1. `schema-started` = its position, committed before it runs;
 * 2. the DDL;
 * 3. `schema` = its position, with the checkpoint just after it, in one transaction.
 * The same transaction adds it to the schema history (schema-history-store.ts), which a reset keeps.
 * Found again after a crash: `schema` at or past it, or in the schema history → it ran (skip).
 * `schema-started` at it → it may have run (killed between 2 and 3, or a connection lost during 2):
 * it runs again, and the errors that
 * mean "this is done already" (the column exists, the table is gone, …) count as done. Otherwise it
 * never ran, and any error is a real one. Only the one DDL between the two marks is ever uncertain,
 * because the pipeline applies nothing after a DDL before its `schema` mark is written.
 *
 * CREATE and DROP of tables and databases are also taken as done whenever their object already
 * exists or is already gone, as if written IF [NOT] EXISTS: a target whose tables `target.createTables`
 * made at start, read from a binlog that still holds their CREATE TABLE, is the usual case.
 */
import type mysql from 'mysql2/promise';
import { TargetError, comparePositions, describeError, describeDdlScope, formatPosition, type BinlogPosition, type Checkpoint, type SchemaChangeEvent } from '../../src/index.js';
import { READ_APPLIED_SQL, WRITE_APPLIED_SQL, appliedMarkOf, type AppliedMark } from './applied-log.js';
import { saveValues, writeCheckpoint } from './checkpoint-store.js';
import { classifyMySqlError } from './error-classifier.js';
import { RECORD_DDL_SQL, isRecorded } from './schema-history-store.js';
import { quoteIdentifier } from './statement-builder.js';
import type { LockProof } from './write-fence.js';

/** The last DDL that ran to its end on the target. */
export const SCHEMA_STREAM = 'schema';
/** The last DDL that was started on the target. */
export const SCHEMA_STARTED_STREAM = 'schema-started';

export type DdlStep = 'skip' | 'run' | 'run-again';

/** What to do with the DDL at `position`, given the two marks (see above). Pure. */
export function ddlStep(done: AppliedMark | null, started: AppliedMark | null, position: BinlogPosition): DdlStep {
  if (done && comparePositions(position, done.position) <= 0) return 'skip';
  if (started && comparePositions(position, started.position) === 0) return 'run-again';
  return 'run';
}

/**
 * Server errors of a DDL statement that ran before, run again: what it creates exists, what it drops
 * or renames is gone. Only trusted for the DDL between the two marks.
 */
const DONE_ALREADY_ERRNO: ReadonlyMap<number, string> = new Map([
  [1007, 'ER_DB_CREATE_EXISTS'],
  [1008, 'ER_DB_DROP_EXISTS'],
  [1050, 'ER_TABLE_EXISTS_ERROR'],
  [1051, 'ER_BAD_TABLE_ERROR'],
  [1054, 'ER_BAD_FIELD_ERROR'],
  [1060, 'ER_DUP_FIELDNAME'],
  [1061, 'ER_DUP_KEYNAME'],
  [1091, 'ER_CANT_DROP_FIELD_OR_KEY'],
  [1146, 'ER_NO_SUCH_TABLE'],
]);

function errnoOf(err: unknown): number | undefined {
  const errno = typeof err === 'object' && err !== null ? (err as { errno?: unknown }).errno : undefined;
  return typeof errno === 'number' ? errno : undefined;
}

export function isDoneAlreadyError(err: unknown): boolean {
  const errno = errnoOf(err);
  return errno !== undefined && DONE_ALREADY_ERRNO.has(errno);
}

/** The error each action gives when its object exists already / is gone already (IF [NOT] EXISTS). */
const EXISTENCE_ERRNO: ReadonlyMap<string, number> = new Map([
  ['CREATE TABLE', 1050],
  ['DROP TABLE', 1051],
  ['CREATE DATABASE', 1007],
  ['DROP DATABASE', 1008],
]);

/** Whether `err` says that what `action` creates exists, or what it drops is gone. */
export function isExistenceError(action: string, err: unknown): boolean {
  const errno = errnoOf(err);
  return errno !== undefined && EXISTENCE_ERRNO.get(action) === errno;
}

const ER_BAD_DB_ERROR = 1049;

type Rows = { binlog_file: string; binlog_pos: number; ordinal: number }[];

async function readMark(conn: mysql.PoolConnection, pipeline: string, stream: string): Promise<AppliedMark | null> {
  const [rows] = await conn.query(READ_APPLIED_SQL, [pipeline, stream]);
  return appliedMarkOf((rows as Rows)[0]);
}

export interface DdlApplyContext {
  readonly pipeline: string;
  /** Stored in the transaction that records the DDL as done (null: leave the checkpoint alone). */
  readonly save: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null;
  readonly proof: LockProof | null;
  /** The server the DDL was read from (`sourceKey`), null when not known: keys its schema history entry. */
  readonly source: string | null;
  readonly excerpt: (sql: string) => string;
  /**
   * Told when a DDL is taken as done by its error: `ran-before` (it was started before a crash) or
   * `exists` (what it creates exists, what it drops is gone).
   */
  readonly onDoneAlready: (err: unknown, why: 'ran-before' | 'exists') => void;
}

/** One attempt (the caller retries transient errors on a fresh connection): see the module comment. */
export async function applyDdl(conn: mysql.PoolConnection, ev: SchemaChangeEvent, ctx: DdlApplyContext): Promise<'applied' | 'already-applied'> {
  const where = formatPosition(ev.position);
  // After `run --reset-to` the marks are gone, but the target's tables still have the shape it gave them.
  if (await isRecorded(conn, ctx.pipeline, ctx.source, ev.position)) return 'already-applied';
  const step = ddlStep(await readMark(conn, ctx.pipeline, SCHEMA_STREAM), await readMark(conn, ctx.pipeline, SCHEMA_STARTED_STREAM), ev.position);
  if (step === 'skip') return 'already-applied';
  if (step === 'run') await conn.query(WRITE_APPLIED_SQL, [ctx.pipeline, SCHEMA_STARTED_STREAM, ev.position.file, ev.position.pos, 0]);
  try {
    await conn.query(`SET TIMESTAMP = ${Math.floor(ev.timestampMs / 1000)}`);
    if (ev.defaultSchema !== '') {
      // The source session's database may not exist on the target (a CREATE DATABASE run from another
      // one): then the statement names its tables in full, or fails below with the server's reason.
      await conn.query(`USE ${quoteIdentifier(ev.defaultSchema)}`).catch((err: unknown) => {
        if ((err as { errno?: unknown }).errno !== ER_BAD_DB_ERROR) throw err;
      });
    }
    const inPlace = ev.synced ? await alreadyInPlace(conn, ev.synced) : null;
    if (inPlace) {
      ctx.onDoneAlready(new Error(inPlace), 'exists');
    } else {
      try {
        await conn.query(ev.sql);
      } catch (err) {
        if (classifyMySqlError(err).retriable) throw err;
        if (ev.synced && isExistenceError(ev.synced.action, err)) ctx.onDoneAlready(err, 'exists');
        else if (step === 'run-again' && isDoneAlreadyError(err)) ctx.onDoneAlready(err, 'ran-before');
        else throw ddlError(err, ev, where, ctx.excerpt);
      }
    }
    await conn.query('BEGIN');
    await conn.query(WRITE_APPLIED_SQL, [ctx.pipeline, SCHEMA_STREAM, ev.position.file, ev.position.pos, 0]);
    await conn.query(RECORD_DDL_SQL, [ctx.pipeline, ev.position.file, ev.position.pos, ctx.source ?? '', ev.defaultSchema, ev.sql]);
    if (ctx.save) await writeCheckpoint(conn, ctx.save.pipeline, saveValues(ctx.save.pipeline, ctx.save.checkpoint), ctx.proof);
    await conn.query('COMMIT');
    return 'applied';
  } finally {
    await conn.query('ROLLBACK').catch(() => undefined);
    await conn.query('SET TIMESTAMP = DEFAULT').catch(() => undefined);
  }
}

/**
 * For a CREATE or DROP of tables or databases: whether the target already is where it leads (what it
 * creates exists, what it drops is gone), said in words; null otherwise. Checked before running it,
 * not only by its error: a sink user without the privilege to create a database gets "access denied"
 * even for `CREATE DATABASE IF NOT EXISTS` of one that exists (found by the fault drills).
 */
async function alreadyInPlace(conn: mysql.PoolConnection, scope: SchemaChangeEvent['synced'] & object): Promise<string | null> {
  const creates = scope.action === 'CREATE TABLE' || scope.action === 'CREATE DATABASE';
  const drops = scope.action === 'DROP TABLE' || scope.action === 'DROP DATABASE';
  if ((!creates && !drops) || scope.orReplace) return null;
  let present: number;
  let total: number;
  if (scope.action.endsWith('DATABASE')) {
    total = scope.databases.length;
    if (total === 0) return null;
    const [rows] = await conn.query('SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)', [scope.databases]);
    present = Number((rows as { n: number }[])[0]!.n);
  } else {
    total = scope.tables.length;
    if (total === 0) return null;
    const where = scope.tables.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ');
    const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE ${where}`, scope.tables.flatMap((t) => [t.schema, t.name]));
    present = Number((rows as { n: number }[])[0]!.n);
  }
  if (creates && present === total) return `${describeDdlScope(scope)}: exists on the target already`;
  if (drops && present === 0) return `${describeDdlScope(scope)}: absent from the target already`;
  return null;
}

function ddlError(err: unknown, ev: SchemaChangeEvent, where: string, excerpt: (sql: string) => string): TargetError {
  const changes = ev.synced ? describeDdlScope(ev.synced) : 'the target';
  return new TargetError(
    'TARGET_APPLY',
    `target: the DDL at ${where} on ${changes} failed on the target: ${describeError(err)}.\n  statement: ${excerpt(ev.sql)}\n` +
      '  The checkpoint stays before it. What to do: make the target able to run it (the tables it names must have the source\'s definition from before it), ' +
      `or make the change on the target by hand and restart after it with \`binlog-sync run --reset-to ${where} --yes\`.`,
    { cause: err, retriable: false, details: { position: where, statement: excerpt(ev.sql), changes } },
  );
}
