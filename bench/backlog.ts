/**
 * Workloads that build the benchmark's backlogs on the source, and the schemas the targets need before
 * a catch-up (tables plus the same seed rows, so that the native replica finds every row it updates).
 *
 * - OLTP (sysbench oltp_write_only-like): `sbtest1..N`, each seeded with `rowsPerTable` rows; every
 *   transaction updates one row's indexed column, another row's text column, deletes a row and inserts
 *   it again: 4 row events. Written by several connections, one round trip per transaction.
 * - Bulk: `bulk`, large `INSERT … SELECT` transactions of `rowsPerTx` rows each.
 * - Huge transaction: `huge`, one `INSERT … SELECT` of N rows: a single source transaction.
 * - Big values: `blobs`, a few rows each holding a LONGBLOB of many MB, one updated, one deleted.
 * - Steady: `steady`, OLTP-like transactions at a fixed rate whose rows carry the writer's commit time
 *   in microseconds (`ts_us`), so that the pipeline can measure source-commit → target-apply lag.
 *
 * Seeds are generated server-side from MariaDB's sequence engine (`seq_1_to_N`) with deterministic
 * expressions, so running the same seed on the source and on a target yields identical tables.
 */
import type mysql from 'mysql2/promise';
import type { ServerEndpoint } from '../src/local/mariadb-server.js';
import { BENCH_DB, connect, q, withConnection } from './sql.js';
import { prng } from '../src/local/workload.js';

export interface Schema {
  readonly tables: readonly string[];
  /** CREATE TABLE statements (in BENCH_DB). */
  readonly ddl: readonly string[];
  /** Deterministic seed statements (in BENCH_DB). */
  readonly seed: readonly string[];
}

export function oltpSchema(tables: number, rowsPerTable: number): Schema {
  const names = Array.from({ length: tables }, (_, i) => `sbtest${i + 1}`);
  return {
    tables: names,
    ddl: names.map(
      (t) => `CREATE TABLE ${t} (
        id INT NOT NULL PRIMARY KEY,
        k INT NOT NULL DEFAULT 0,
        c CHAR(120) NOT NULL DEFAULT '',
        pad CHAR(60) NOT NULL DEFAULT '',
        KEY k_${t} (k)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ),
    seed:
      rowsPerTable > 0
        ? names.map(
            (t) => `INSERT INTO ${t} (id, k, c, pad)
              SELECT seq, (seq * 7919) % ${rowsPerTable} + 1, LEFT(REPEAT(MD5(seq), 4), 119), LEFT(REPEAT(SHA1(seq), 2), 59)
              FROM seq_1_to_${rowsPerTable}`,
          )
        : [],
  };
}

export function bulkSchema(): Schema {
  return {
    tables: ['bulk'],
    ddl: [
      `CREATE TABLE bulk (
        id BIGINT NOT NULL PRIMARY KEY,
        grp INT NOT NULL,
        name VARCHAR(64) NOT NULL,
        amount DECIMAL(12,2) NOT NULL,
        created DATETIME NOT NULL,
        pad CHAR(60) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
    seed: [],
  };
}

export function hugeTxSchema(): Schema {
  return {
    tables: ['huge'],
    ddl: [`CREATE TABLE huge (id INT NOT NULL PRIMARY KEY, label VARCHAR(64) NOT NULL, n INT NOT NULL, KEY (n)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`],
    seed: [],
  };
}

export function blobSchema(): Schema {
  return {
    tables: ['blobs'],
    ddl: [`CREATE TABLE blobs (id INT NOT NULL PRIMARY KEY, body LONGBLOB, note VARCHAR(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`],
    seed: [],
  };
}

export function steadySchema(rows: number): Schema {
  return {
    tables: ['steady'],
    ddl: [
      `CREATE TABLE steady (
        id INT NOT NULL PRIMARY KEY,
        v INT NOT NULL DEFAULT 0,
        ts_us BIGINT NOT NULL DEFAULT 0,
        pad CHAR(60) NOT NULL DEFAULT ''
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
    seed: [`INSERT INTO steady (id, v, ts_us, pad) SELECT seq, 0, 0, LEFT(REPEAT(MD5(seq), 2), 59) FROM seq_1_to_${rows}`],
  };
}

/** (Re)creates BENCH_DB with the schema's tables and seed rows; drops the checkpoint database too. */
export async function prepareDatabase(endpoint: ServerEndpoint, schema: Schema): Promise<void> {
  await withConnection(endpoint, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${q(BENCH_DB)}`);
    await c.query('DROP DATABASE IF EXISTS `_binlog_sync`');
    await c.query(`CREATE DATABASE ${q(BENCH_DB)}`);
    await c.query(`USE ${q(BENCH_DB)}`);
    for (const sql of schema.ddl) await c.query(sql);
    for (const sql of schema.seed) await c.query(sql);
  });
}

/** Microseconds since the epoch, with sub-millisecond resolution. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** sysbench's `c` value: ten groups of 11 digits joined by '-' (119 chars). */
function sysbenchText(rand: () => number, groups: number): string {
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) parts.push(String(Math.floor(rand() * 1e11)).padStart(11, '0'));
  return parts.join('-');
}

const RETRIABLE = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);

/** Runs one multi-statement transaction, retrying it whole after a deadlock or lock wait timeout. */
async function runTransaction(c: mysql.Connection, sql: string): Promise<number> {
  for (let retries = 0; ; retries++) {
    try {
      await c.query(sql);
      return retries;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      const errno = (err as { errno?: number }).errno;
      if (errno === undefined || !RETRIABLE.has(errno) || retries >= 50) throw err;
    }
  }
}

export interface WriteResult {
  readonly transactions: number;
  /** Row changes the writer intended (the binlog's row-event count is measured by the decoder). */
  readonly rowChanges: number;
  readonly retries: number;
  readonly ms: number;
}

export interface OltpOptions {
  readonly tables: number;
  readonly rowsPerTable: number;
  readonly transactions: number;
  readonly concurrency: number;
  readonly seed?: number;
}

/** The OLTP backlog: `transactions` transactions of 2 updates, 1 delete, 1 insert, over `concurrency` connections. */
export async function writeOltp(endpoint: ServerEndpoint, o: OltpOptions): Promise<WriteResult> {
  const started = performance.now();
  let issued = 0;
  let retries = 0;
  const writer = async (w: number): Promise<void> => {
    const rand = prng((o.seed ?? 1) * 1000 + w);
    const pick = (n: number): number => 1 + Math.floor(rand() * n);
    const c = await connect(endpoint, { multipleStatements: true, database: BENCH_DB });
    try {
      while (issued < o.transactions) {
        issued++;
        const t = (): string => `sbtest${pick(o.tables)}`;
        const delTable = t();
        const delId = pick(o.rowsPerTable);
        const sql =
          'BEGIN;' +
          `UPDATE ${t()} SET k = k + 1 WHERE id = ${pick(o.rowsPerTable)};` +
          `UPDATE ${t()} SET c = '${sysbenchText(rand, 10)}' WHERE id = ${pick(o.rowsPerTable)};` +
          `DELETE FROM ${delTable} WHERE id = ${delId};` +
          `INSERT INTO ${delTable} (id, k, c, pad) VALUES (${delId}, ${pick(o.rowsPerTable)}, '${sysbenchText(rand, 10)}', '${sysbenchText(rand, 5)}');` +
          'COMMIT';
        retries += await runTransaction(c, sql);
      }
    } finally {
      await c.end().catch(() => c.destroy());
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => writer(w)));
  return { transactions: o.transactions, rowChanges: o.transactions * 4, retries, ms: performance.now() - started };
}

export interface BulkOptions {
  readonly transactions: number;
  readonly rowsPerTx: number;
  /** Ids start after this (lets several backlogs append to one table). */
  readonly firstId?: number;
}

/** The bulk backlog: `transactions` INSERT … SELECT statements of `rowsPerTx` rows each (autocommit). */
export async function writeBulk(endpoint: ServerEndpoint, o: BulkOptions): Promise<WriteResult> {
  const started = performance.now();
  await withConnection(endpoint, async (c) => {
    await c.query(`USE ${q(BENCH_DB)}`);
    for (let i = 0; i < o.transactions; i++) {
      const base = (o.firstId ?? 0) + i * o.rowsPerTx;
      await c.query(
        `INSERT INTO bulk (id, grp, name, amount, created, pad)
         SELECT ${base} + seq, seq % 1000, CONCAT('name-', ${base} + seq), ((${base} + seq) % 100000) / 100,
                TIMESTAMP('2024-01-01') + INTERVAL (${base} + seq) SECOND, REPEAT(CHAR(65 + seq % 26), 60)
         FROM seq_1_to_${o.rowsPerTx}`,
      );
    }
  });
  const rowChanges = o.transactions * o.rowsPerTx;
  return { transactions: o.transactions, rowChanges, retries: 0, ms: performance.now() - started };
}

/** The huge-transaction backlog: one INSERT … SELECT of `rows` rows (autocommit: one transaction). */
export async function writeHugeTx(endpoint: ServerEndpoint, rows: number): Promise<WriteResult> {
  const started = performance.now();
  await withConnection(endpoint, (c) =>
    c.query(`INSERT INTO ${q(BENCH_DB)}.huge SELECT seq, CONCAT('row-', seq, '-', MD5(seq)), seq % 1000 FROM ${q(BENCH_DB)}.seq_1_to_${rows}`),
  );
  return { transactions: 1, rowChanges: rows, retries: 0, ms: performance.now() - started };
}

export interface BlobOptions {
  /** Rows inserted (each its own transaction); row 2 is then updated and row 3 deleted. */
  readonly rows: number;
  readonly mb: number;
}

/**
 * The big-value backlog: `rows` inserts of a `mb` MB LONGBLOB, then one update that replaces a value
 * (the event carries the before and the after image: twice the value) and one delete.
 */
export async function writeBlobs(endpoint: ServerEndpoint, o: BlobOptions): Promise<WriteResult> {
  const started = performance.now();
  // SHA2 gives 32 bytes; repeated to the size, distinct per seed.
  const blob = (seed: number): string => `REPEAT(UNHEX(SHA2('${seed}', 256)), ${Math.round((o.mb * 1024 * 1024) / 32)})`;
  await withConnection(endpoint, async (c) => {
    await c.query(`USE ${q(BENCH_DB)}`);
    for (let i = 1; i <= o.rows; i++) await c.query(`INSERT INTO blobs VALUES (${i}, ${blob(i)}, 'v1')`);
    await c.query(`UPDATE blobs SET body = ${blob(1000)}, note = 'v2' WHERE id = 2`);
    await c.query('DELETE FROM blobs WHERE id = 3');
  });
  return { transactions: o.rows + 2, rowChanges: o.rows + 2, retries: 0, ms: performance.now() - started };
}

export interface SteadyOptions {
  /** Row changes per second to write (4 per transaction). */
  readonly rowChangesPerSec: number;
  readonly durationMs: number;
  readonly rows: number;
  readonly concurrency: number;
  readonly signal?: AbortSignal;
}

export interface SteadyResult extends WriteResult {
  /** Transactions that started more than 100 ms after they were due (the writer could not keep up). */
  readonly late: number;
}

/**
 * Steady load: transactions due at a fixed rate (2 updates, 1 delete, 1 re-insert), each row written
 * with `ts_us` = the writer's clock just before the transaction is sent (it commits in the same round
 * trip). Writers own disjoint keys (id ≡ writer mod concurrency), so they never wait on each other.
 */
export async function writeSteady(endpoint: ServerEndpoint, o: SteadyOptions): Promise<SteadyResult> {
  const txPerSec = o.rowChangesPerSec / 4;
  const total = Math.max(1, Math.round((txPerSec * o.durationMs) / 1000));
  const started = performance.now();
  let next = 0;
  let retries = 0;
  let late = 0;
  const writer = async (w: number): Promise<void> => {
    const rand = prng(7000 + w);
    const own = Math.floor(o.rows / o.concurrency);
    const pick = (): number => 1 + w + o.concurrency * Math.floor(rand() * own);
    const c = await connect(endpoint, { multipleStatements: true, database: BENCH_DB });
    try {
      while (next < total && !o.signal?.aborted) {
        const i = next++;
        const due = started + (i * 1000) / txPerSec;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -100) late++;
        const a = pick();
        let b = pick();
        if (b === a) b = a + o.concurrency <= o.rows ? a + o.concurrency : a - o.concurrency;
        let d = pick();
        while (d === a || d === b) d = pick();
        const ts = nowUs();
        const sql =
          'BEGIN;' +
          `UPDATE steady SET v = v + 1, ts_us = ${ts} WHERE id = ${a};` +
          `UPDATE steady SET v = v + 1, ts_us = ${ts} WHERE id = ${b};` +
          `DELETE FROM steady WHERE id = ${d};` +
          `INSERT INTO steady (id, v, ts_us, pad) VALUES (${d}, ${i}, ${ts}, '${sysbenchText(rand, 5)}');` +
          'COMMIT';
        retries += await runTransaction(c, sql);
      }
    } finally {
      await c.end().catch(() => c.destroy());
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => writer(w)));
  const transactions = Math.min(next, total);
  return { transactions, rowChanges: transactions * 4, retries, late, ms: performance.now() - started };
}
