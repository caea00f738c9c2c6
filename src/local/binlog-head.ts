/** The binlog head of a source, for the demo, verify, the tests and the benchmark (the connector has its own, with GTIDs). */
import type mysql from 'mysql2/promise';
import type { BinlogPosition } from '../core/position.js';
import { binlogStatusStatement } from '../core/server-version.js';

type Rows = Record<string, unknown>[];

/** The current binlog file and position, with the statement this server's version understands. */
export async function binlogHead(conn: mysql.Connection): Promise<BinlogPosition> {
  const [versionRows] = await conn.query('SELECT VERSION() AS version');
  const statement = binlogStatusStatement(String((versionRows as Rows)[0]?.version ?? ''));
  const [rows] = await conn.query(statement);
  const r = (rows as Rows)[0];
  if (!r) throw new Error(`${statement} returned nothing: is the binlog on?`);
  return { file: String(r.File), pos: Number(r.Position) };
}
