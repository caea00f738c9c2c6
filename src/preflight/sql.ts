/** Small SQL helpers shared by the preflight checks. */
import type { Connection, RowDataPacket } from 'mysql2/promise';

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function quoteString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `sync@%` (CURRENT_USER()) → `'sync'@'%'`, as GRANT statements want it. */
export function quoteAccount(currentUser: string): string {
  const at = currentUser.lastIndexOf('@');
  return at < 0 ? quoteString(currentUser) : `${quoteString(currentUser.slice(0, at))}@${quoteString(currentUser.slice(at + 1))}`;
}

export interface TableName {
  readonly db: string;
  readonly table: string;
}

/** `db.table`, as the pipeline file and the messages write it. */
export function qualifiedName(t: TableName): string {
  return `${t.db}.${t.table}`;
}

/** Anything that runs a query: a connection, a pool connection or a pool. */
export type Queryable = Pick<Connection, 'query'>;

export async function rows(conn: Queryable, sql: string, params: readonly unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await conn.query<RowDataPacket[]>(sql, params as unknown[]);
  return result;
}

/** mysql2 error code/number, when the error is one. */
export function sqlErrorCode(err: unknown): { code?: string; errno?: number } {
  const e = err as { code?: unknown; errno?: unknown };
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
  };
}
