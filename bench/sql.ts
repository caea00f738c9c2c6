/** Small SQL helpers shared by the benchmark's parts: connections, binlog head, table digests. */
import mysql from 'mysql2/promise';
import { LocalMariaDb, type LocalServerOptions, type ServerEndpoint } from '../src/local/mariadb-server.js';
import { onCleanup } from './cleanup.js';

/** The source's binlog head (the statement depends on the server version). */
export { binlogHead } from '../src/local/binlog-head.js';

export const BENCH_DB = 'bench';

export const q = (id: string): string => '`' + id.replace(/`/g, '``') + '`';

/**
 * Every bench server takes packets of 1 GB: a 64 MB BLOB row travels in one binlog event (twice its
 * size for an update), one statement to the target and one digest expression (its hex) when verified.
 */
const BENCH_SERVER_ARGS = ['--max-allowed-packet=1G'];

/** Starts a throwaway server that the benchmark's cleanup stops (also on failure and Ctrl-C). */
export async function startServer(given: LocalServerOptions): Promise<{ server: LocalMariaDb; stop: () => Promise<void> }> {
  // The label names the server's temp dir, which mariadb-install-db's shell script does not quote: no spaces
  // ("oltp flush=1" under --target-flush 1,2 failed there).
  const label = given.label.replace(/[^A-Za-z0-9_.=-]+/g, '-');
  const options: LocalServerOptions = { ...given, label, extraArgs: [...BENCH_SERVER_ARGS, ...(given.extraArgs ?? [])] };
  // mariadb-install-db occasionally fails when another one runs at the same moment (other test
  // suites on this machine): one retry.
  const server = await LocalMariaDb.start(options).catch(async () => {
    await new Promise((r) => setTimeout(r, 500));
    return LocalMariaDb.start(options);
  });
  const unregister = onCleanup(`MariaDB ${label}`, () => server.stop());
  return {
    server,
    stop: async () => {
      unregister();
      await server.stop();
    },
  };
}

export async function connect(endpoint: ServerEndpoint, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ ...endpoint, supportBigNumbers: true, bigNumberStrings: true, ...extra });
  c.on('error', () => {});
  return c;
}

export async function withConnection<T>(endpoint: ServerEndpoint, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await connect(endpoint, { multipleStatements: true });
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

type Rows = Record<string, unknown>[];

export async function rows(c: mysql.Connection, sql: string, params: unknown[] = []): Promise<Rows> {
  const [r] = await c.query(sql, params);
  return r as Rows;
}

export async function variable(c: mysql.Connection, name: string): Promise<string> {
  const r = (await rows(c, `SELECT @@${name} AS v`))[0];
  return String(r?.v);
}

export interface TableFigure {
  readonly table: string;
  readonly rows: number;
  /** BIT_XOR of CRC32 over all columns of each row: order-independent, every column. */
  readonly crc: string;
}

/** Row count and an every-column checksum of every base table of `db`, sorted by table name. */
export async function digestDatabase(endpoint: ServerEndpoint, db = BENCH_DB): Promise<TableFigure[]> {
  return withConnection(endpoint, async (c) => {
    await c.query("SET SESSION time_zone = '+00:00'");
    const cols = await rows(
      c,
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS d FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      [db],
    );
    const byTable = new Map<string, string[]>();
    for (const r of cols) {
      const t = String(r.t);
      const name = q(String(r.c));
      // HEX keeps bytes exact and tells NULL (skipped by CONCAT_WS) from '' apart via ISNULL.
      const expr = `CONCAT(ISNULL(${name}), HEX(${name}))`;
      byTable.set(t, [...(byTable.get(t) ?? []), expr]);
    }
    const out: TableFigure[] = [];
    for (const [t, exprs] of [...byTable.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const r = (await rows(c, `SELECT COUNT(*) AS n, BIT_XOR(CRC32(CONCAT_WS('#', ${exprs.join(', ')}))) AS x FROM ${q(db)}.${q(t)}`))[0];
      out.push({ table: t, rows: Number(r?.n), crc: String(r?.x) });
    }
    return out;
  });
}

/** Describes the differences between two digests ('' when equal). */
export function digestDifference(a: readonly TableFigure[], b: readonly TableFigure[], aName: string, bName: string): string {
  const problems: string[] = [];
  const bBy = new Map(b.map((f) => [f.table, f]));
  for (const fa of a) {
    const fb = bBy.get(fa.table);
    if (!fb) problems.push(`${fa.table}: missing on ${bName}`);
    else if (fa.rows !== fb.rows || fa.crc !== fb.crc) {
      problems.push(`${fa.table}: ${aName} ${fa.rows} rows crc ${fa.crc}, ${bName} ${fb.rows} rows crc ${fb.crc}`);
    }
    bBy.delete(fa.table);
  }
  for (const t of bBy.keys()) problems.push(`${t}: missing on ${aName}`);
  return problems.join('; ');
}
