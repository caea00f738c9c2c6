/**
 * What the source knows about each captured table, from INFORMATION_SCHEMA: its PRIMARY KEY, its other
 * UNIQUE keys (for conflict routing) and its column data types (to tell a UUID from a BINARY(16)).
 * Cached per table; an entry is dropped when a DDL statement mentions the table or when a table map
 * with a table id not seen before arrives for it (MariaDB gives a table a new id after ALTER TABLE).
 * Note that INFORMATION_SCHEMA describes the table as it is now, not as it was when an old binlog
 * event was written; keys rarely change, and a change is a DDL that refreshes the entry.
 */
import { SourceError, orderGroups, type ForeignKeyLink } from '../../src/index.js';
import type { TableKeys, TableRef } from '../../src/index.js';

/** How the server compares a character column (null for binary and non-string columns). */
export interface ColumnCollation {
  readonly charset: string;
  readonly collation: string;
}

/** Prefix lengths of key parts (`KEY (c(10))`): characters for text, bytes for binary columns. */
export interface KeyPrefixes {
  readonly primary: ReadonlyMap<string, number>;
  /** Per `keys.uniqueKeys` index. */
  readonly unique: readonly ReadonlyMap<string, number>[];
}

export interface TableInfo {
  readonly keys: TableKeys;
  /** Column name → INFORMATION_SCHEMA DATA_TYPE ('int', 'uuid', …). */
  readonly dataTypes: ReadonlyMap<string, string>;
  /** Character columns (CHAR, VARCHAR, TEXT…) → their character set and collation. */
  readonly collations: ReadonlyMap<string, ColumnCollation>;
  readonly prefixes: KeyPrefixes;
  /** Generated (VIRTUAL/STORED) columns: the target computes them, so they are not copied. */
  readonly generated: ReadonlySet<string>;
}

/** Runs a parameterised metadata query and returns its rows. */
export type MetadataQuery = (sql: string, params: readonly unknown[]) => Promise<readonly Record<string, unknown>[]>;

const COLUMNS_SQL =
  'SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, EXTRA AS extra, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation FROM information_schema.COLUMNS ' +
  'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION';
const UNIQUE_SQL =
  'SELECT INDEX_NAME AS indexName, COLUMN_NAME AS name, SUB_PART AS subPart FROM information_schema.STATISTICS ' +
  'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX';

/** DATA_TYPEs whose values are text compared by a collation. */
const CHARACTER_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** Where the foreign keys among synced tables come from, and which tables are synced. */
export interface ForeignKeySource {
  readonly links: () => Promise<readonly ForeignKeyLink[]>;
  readonly isSynced: (t: TableRef) => boolean;
}

/** INFORMATION_SCHEMA does not know the table (dropped or renamed since the binlog event, or no privilege). */
export class UnknownTableError extends SourceError {}

export class SchemaCache {
  private readonly entries = new Map<string, Promise<TableInfo>>();
  /** `db.table` → order group, for the whole foreign-key graph (reloaded after DDL). */
  private groups: Promise<Map<string, string>> | null = null;

  /**
   * @param configuredKeys `source.keys`: "db.table" → key columns, for tables without a PRIMARY KEY.
   * @param onWarning told when a configured key is ignored because the table has a PRIMARY KEY.
   */
  constructor(
    private readonly query: MetadataQuery,
    private readonly configuredKeys: Readonly<Record<string, readonly string[]>> = {},
    private readonly onWarning: (message: string) => void = () => {},
    private readonly foreignKeys: ForeignKeySource | null = null,
    /** `keyless: full-row` for this table (`db.table`): match its rows by all their columns. */
    private readonly fullRow: (table: string) => boolean = () => false,
  ) {}

  private orderGroup(full: string): Promise<string | undefined> {
    const fk = this.foreignKeys;
    if (!fk) return Promise.resolve(undefined);
    if (!this.groups) {
      const loading = fk.links().then((links) => orderGroups(links, fk.isSynced));
      this.groups = loading;
      loading.catch(() => {
        if (this.groups === loading) this.groups = null;
      });
    }
    return this.groups.then((g) => g.get(full));
  }

  /** The table's keys and column types; loads them on first use. Concurrent callers share one load. */
  get(table: TableRef): Promise<TableInfo> {
    const key = `${table.schema}.${table.name}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = this.load(table);
      this.entries.set(key, entry);
      // A failed load is not cached: the next event retries it.
      entry.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    return entry;
  }

  invalidate(table: TableRef): void {
    this.entries.delete(`${table.schema}.${table.name}`);
  }

  /**
   * Drops every entry whose table name the statement mentions (a cheap, conservative test: a mention
   * in a comment or string also counts, which only costs a reload).
   */
  invalidateMentionedIn(sql: string): void {
    // Any DDL may add or drop a foreign key: the graph is read again (DDL is rare).
    if (this.groups) {
      this.groups = null;
      this.entries.clear();
      return;
    }
    const text = sql.toLowerCase();
    for (const key of [...this.entries.keys()]) {
      const name = key.slice(key.indexOf('.') + 1).toLowerCase();
      if (text.includes(name)) this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.groups = null;
  }

  private async load(table: TableRef): Promise<TableInfo> {
    const full = `${table.schema}.${table.name}`;
    const params = [table.schema, table.name];
    const [columns, uniques, orderGroup] = await Promise.all([this.query(COLUMNS_SQL, params), this.query(UNIQUE_SQL, params), this.orderGroup(full)]);
    if (columns.length === 0) {
      throw new UnknownTableError(
        'SOURCE_METADATA',
        `${full}: the binlog has changes for this table but INFORMATION_SCHEMA does not know it (dropped or renamed since, or the source user lacks privileges on it). Exclude it in source.exclude or grant SELECT on it.`,
        { details: { table: full } },
      );
    }
    // A row is a plain object, where `__proto__` is not a property but the prototype: the column's
    // values would be dropped without a word. Stop, naming it, rather than lose them.
    if (columns.some((c) => String(c.name) === '__proto__')) {
      throw new SourceError(
        'SOURCE_METADATA',
        `${full} has a column named __proto__, which binlog-sync cannot carry (its values would be lost). Rename the column, or exclude the table in source.exclude.`,
        { details: { table: full, column: '__proto__' } },
      );
    }
    const dataTypes = new Map<string, string>();
    const generated = new Set<string>();
    const collations = new Map<string, ColumnCollation>();
    for (const c of columns) {
      dataTypes.set(String(c.name), String(c.dataType).toLowerCase());
      // ENUM and SET also carry a collation, but their values arrive as the exact member text.
      if (typeof c.collation === 'string' && typeof c.charset === 'string' && CHARACTER_TYPES.has(String(c.dataType).toLowerCase())) {
        collations.set(String(c.name), { charset: c.charset, collation: c.collation });
      }
      // 'VIRTUAL GENERATED' / 'STORED GENERATED' on MySQL and MariaDB alike.
      if (/GENERATED/i.test(String(c.extra ?? ''))) generated.add(String(c.name));
    }

    const indexes = new Map<string, string[]>();
    const subParts = new Map<string, Map<string, number>>();
    for (const u of uniques) {
      const index = String(u.indexName);
      let cols = indexes.get(index);
      if (!cols) indexes.set(index, (cols = []));
      cols.push(String(u.name));
      if (u.subPart !== null && u.subPart !== undefined) {
        let parts = subParts.get(index);
        if (!parts) subParts.set(index, (parts = new Map()));
        parts.set(String(u.name), Number(u.subPart));
      }
    }
    const primary = indexes.get('PRIMARY');
    const uniqueEntries = [...indexes.entries()].filter(([name]) => name !== 'PRIMARY');
    const uniqueKeys = uniqueEntries.map(([, cols]) => Object.freeze(cols));
    const NONE = new Map<string, number>();

    const configured = this.configuredKeys[full];
    let primaryKey: readonly string[];
    if (primary) {
      if (configured) this.onWarning(`${full}: source.keys is ignored for this table, it has a PRIMARY KEY (${primary.join(', ')})`);
      primaryKey = primary;
    } else if (configured && configured.length > 0) {
      const missing = configured.filter((c) => !dataTypes.has(c));
      if (missing.length > 0) {
        throw new SourceError(
          'SOURCE_METADATA',
          `${full}: source.keys names column(s) the table does not have: ${missing.join(', ')} (columns: ${[...dataTypes.keys()].join(', ')})`,
          { details: { table: full, missing } },
        );
      }
      primaryKey = [...configured];
    } else if (this.fullRow(full)) {
      // keyless: full-row: every copied column is the key (generated ones are the target's to compute).
      primaryKey = [...dataTypes.keys()].filter((c) => !generated.has(c));
    } else {
      throw new SourceError(
        'SOURCE_TABLE_WITHOUT_KEY',
        `${full} has no PRIMARY KEY, so its rows cannot be matched in the target. Add a PRIMARY KEY to the table, or configure the columns that identify a row in source.keys ("${full}": [col, …]), or match rows by all their columns with keyless: full-row (globally or under tables."${full}"), or exclude the table in source.exclude.`,
        { details: { table: full } },
      );
    }
    const fullRow = !primary && !(configured && configured.length > 0);
    // A keyless table is applied in source order, exactly once: its own order group, unless it is in one.
    const group = orderGroup ?? (fullRow ? `keyless:${full}` : undefined);
    return Object.freeze({
      keys: Object.freeze({
        table: Object.freeze({ schema: table.schema, name: table.name }),
        primaryKey: Object.freeze(primaryKey),
        uniqueKeys: Object.freeze(uniqueKeys),
        ...(primaryKey.some((c) => collations.has(c)) ? { collatedKey: true } : {}),
        ...(group !== undefined ? { orderGroup: group } : {}),
        ...(fullRow ? { fullRow: true as const } : {}),
      }),
      dataTypes,
      collations,
      prefixes: { primary: (primary && subParts.get('PRIMARY')) || NONE, unique: uniqueEntries.map(([name]) => subParts.get(name) ?? NONE) },
      generated,
    });
  }
}
