import type { TestServer } from './servers.js';

/** Columns (name, type, nullability, default) and indexes of every table of `db`, as text to compare. */
export async function shapeOf(server: TestServer, db: string): Promise<string[]> {
  const columns = await server.query<{ t: string; c: string; ty: string; n: string; d: string | null }>(
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ty, IS_NULLABLE AS n, COLUMN_DEFAULT AS d FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
    [db],
  );
  const indexes = await server.query<{ t: string; i: string; c: string; u: number }>(
    'SELECT TABLE_NAME AS t, INDEX_NAME AS i, COLUMN_NAME AS c, NON_UNIQUE AS u FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX',
    [db],
  );
  return [...columns.map((r) => `${r.t}.${r.c} ${r.ty} null=${r.n} default=${String(r.d)}`), ...indexes.map((r) => `${r.t} index ${r.i}(${r.c}) non_unique=${r.u}`)];
}
