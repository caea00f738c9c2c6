/**
 * Which tables the source captures: `db.table` glob patterns (`*` any run of characters, `?` one
 * character; `shop.*` is every table of `shop`). A table is captured when it matches an include
 * pattern and no exclude pattern (exclude wins). The pipeline's own schema and the server's system
 * schemas are always excluded: replicating them is never what the user means.
 */
export const ALWAYS_EXCLUDED_SCHEMAS: readonly string[] = Object.freeze([
  '_binlog_sync',
  'mysql',
  'sys',
  'information_schema',
  'performance_schema',
]);

export class TableFilterError extends Error {
  override readonly name = 'TableFilterError';
}

function globToRegExp(pattern: string): RegExp {
  if (!/^[^.]+\.[^.]+$/.test(pattern)) {
    throw new TableFilterError(`"${pattern}" is not a table pattern: expected db.table, e.g. shop.* or shop.order_?`);
  }
  return globPartToRegExp(pattern);
}

/** A glob (`*`, `?`) as an anchored expression; every other character stands for itself. */
export function globPartToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^]*';
    else if (ch === '?') re += '[^]';
    else re += ch.replace(/[\\^$+.()|{}[\]]/g, '\\$&');
  }
  // Identifiers compare case-sensitively on Linux servers (lower_case_table_names=0); so do we.
  return new RegExp(`^${re}$`);
}

export class TableFilter {
  private readonly include: readonly RegExp[];
  private readonly exclude: readonly RegExp[];
  /** The database part of each include pattern (`shop` of `shop.*`, `shop_?` of `shop_?.orders`). */
  private readonly includeDatabases: readonly RegExp[];
  /** Decisions are asked for on every table map event: remember them (tables are few). */
  private readonly memo = new Map<string, boolean>();

  constructor(include: readonly string[], exclude: readonly string[] = []) {
    this.include = include.map(globToRegExp);
    this.exclude = exclude.map(globToRegExp);
    this.includeDatabases = include.map((p) => globPartToRegExp(p.slice(0, p.indexOf('.'))));
  }

  /** Whether some include pattern can match a table of `schema` (CREATE/DROP DATABASE is synced then). */
  includesDatabase(schema: string): boolean {
    return !ALWAYS_EXCLUDED_SCHEMAS.includes(schema.toLowerCase()) && this.includeDatabases.some((re) => re.test(schema));
  }

  matches(schema: string, table: string): boolean {
    const key = `${schema}.${table}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const decision =
      !ALWAYS_EXCLUDED_SCHEMAS.includes(schema.toLowerCase()) &&
      this.include.some((re) => re.test(key)) &&
      !this.exclude.some((re) => re.test(key));
    if (this.memo.size > 100_000) this.memo.clear();
    this.memo.set(key, decision);
    return decision;
  }
}
