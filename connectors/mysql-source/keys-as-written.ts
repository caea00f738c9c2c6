/**
 * The keys of a table as a binlog event was written, when INFORMATION_SCHEMA (which describes the
 * table as it is now) no longer fits the event: the binlog is read again from before a DDL that
 * renamed or dropped the table or a key column (`replay --from`, `run --reset-to`), or the reader lags
 * behind such a DDL. With `binlog_row_metadata=FULL` the table map carries the column names and the
 * primary key as they were; those name the row, and the sink carries the change forward through the
 * target's schema history. Where that cannot be done exactly, it fails loudly rather than key rows
 * wrongly. Pure.
 */
import { SourceError, type TableRef } from '../../src/index.js';
import type { KeyPrefixes, TableInfo } from './schema-cache.js';

/** What the table map says of the table (binlog_row_metadata=FULL). */
export interface WrittenTable {
  /** Column names in table order, as written. */
  readonly columns: readonly string[];
  /** Binlog column type codes, per column. */
  readonly types: readonly number[];
  /** Indexes of the primary key columns, when the table map carries them. */
  readonly primaryKey?: readonly number[];
}

/** VARCHAR, BLOB/TEXT, VAR_STRING, STRING: text may compare by a collation the table map does not say. */
const CHARACTER_TYPE_CODES: ReadonlySet<number> = new Set([15, 252, 253, 254]);

const NONE: ReadonlyMap<string, number> = new Map();

function sameSet(a: readonly (string | undefined)[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c) => c !== undefined && b.includes(c));
}

/**
 * `info` (null: INFORMATION_SCHEMA does not know the table any more) fitted to the columns the event
 * was written with: unchanged when the event has its primary key columns and names no other primary
 * key (unique keys that name a column the event lacks are left out: they only route changes);
 * otherwise the table map's own primary key, with today's as a unique key when the event has it. `unknown` is the error to throw when neither can key the rows.
 */
export function keysAsWritten(table: TableRef, info: TableInfo | null, written: WrittenTable, unknown: () => Error): TableInfo {
  // Exact names: the row image is keyed by the names as written (a case-only rename since counts).
  const present = new Set(written.columns);
  const has = (c: string): boolean => present.has(c);
  if (info?.keys.fullRow && !info.keys.primaryKey.every(has)) {
    // keyless: full-row matches a row by every column it was written with (the sink drops those a
    // later DDL dropped); a column added since is not part of it.
    const primaryKey = written.columns.filter((c) => !info.generated.has(c));
    return { ...info, keys: { ...info.keys, primaryKey, uniqueKeys: info.keys.uniqueKeys.filter((k) => k.every(has)) }, prefixes: { primary: NONE, unique: info.keys.uniqueKeys.flatMap((k, i) => (k.every(has) ? [info.prefixes.unique[i] ?? NONE] : [])) } };
  }
  const writtenKey = written.primaryKey?.map((i) => written.columns[i]);
  // The event names another primary key than the table has now (the key moved to other columns since):
  // the event's own key says which row it changed.
  const keyMoved = info !== null && !info.keys.fullRow && writtenKey !== undefined && writtenKey.length > 0 && !sameSet(writtenKey, info.keys.primaryKey);
  if (info && !keyMoved && info.keys.primaryKey.every(has)) {
    if (info.keys.uniqueKeys.every((k) => k.every(has))) return info;
    const kept = info.keys.uniqueKeys.map((k, i) => i).filter((i) => info.keys.uniqueKeys[i]!.every(has));
    return {
      ...info,
      keys: { ...info.keys, uniqueKeys: kept.map((i) => info.keys.uniqueKeys[i]!) },
      prefixes: { primary: info.prefixes.primary, unique: kept.map((i) => info.prefixes.unique[i] ?? NONE) },
    };
  }
  const full = `${table.schema}.${table.name}`;
  const indexes = written.primaryKey;
  if (!indexes || indexes.length === 0 || indexes.some((i) => written.columns[i] === undefined)) {
    if (!info) throw unknown();
    const missing = info.keys.primaryKey.filter((c) => !has(c));
    throw new SourceError(
      'SOURCE_METADATA',
      `${full}: the binlog has rows of this table without its key column(s) ${missing.join(', ')} (a later DDL added, renamed or dropped them), and the binlog does not say the key they were written with. ` +
        `binlog-sync cannot tell which rows they change. What to do: re-copy the table with \`binlog-sync snapshot --tables ${full}\` and start after that DDL with \`binlog-sync run --reset-to FILE:POS --yes\`.`,
      { details: { table: full, missing } },
    );
  }
  const primaryKey = indexes.map((i) => written.columns[i]!);
  const collations = info?.collations ?? new Map();
  // A text key compared by a collation: without the collation two spellings of one key would be two rows.
  const uncertain = primaryKey.filter((c, k) => CHARACTER_TYPE_CODES.has(written.types[indexes[k]!] ?? -1) && !collations.has(c));
  if (uncertain.length > 0) {
    throw new SourceError(
      'SOURCE_METADATA',
      `${full}: the binlog has rows of this table keyed by ${primaryKey.join(', ')}, which INFORMATION_SCHEMA no longer describes (the table or the column was renamed or dropped since); ` +
        `the text key column(s) ${uncertain.join(', ')} compare by a collation binlog-sync cannot learn now, so it cannot tell which rows are the same. ` +
        `What to do: re-copy the table with \`binlog-sync snapshot --tables ${full}\` (under its name now) and start after the DDL that changed it with \`binlog-sync run --reset-to FILE:POS --yes\`.`,
      { details: { table: full, key: primaryKey, uncertain } },
    );
  }
  // The primary key the table has now is a unique key on the target: changes that collide in it are
  // applied in source order (see LaneScheduler), whatever the event's own key.
  const today = info && info.keys.primaryKey.every(has) && !sameSet(info.keys.primaryKey, primaryKey) ? [{ key: info.keys.primaryKey, prefixes: info.prefixes.primary }] : [];
  const others = info ? info.keys.uniqueKeys.flatMap((k, i) => (k.every(has) ? [{ key: k, prefixes: info.prefixes.unique[i] ?? NONE }] : [])) : [];
  const uniques = [...today, ...others];
  const uniqueKeys = uniques.map((u) => u.key);
  const prefixes: KeyPrefixes = { primary: NONE, unique: uniques.map((u) => u.prefixes) };
  return {
    keys: {
      table: info?.keys.table ?? { schema: table.schema, name: table.name },
      primaryKey,
      uniqueKeys,
      ...(primaryKey.some((c) => collations.has(c)) ? { collatedKey: true } : {}),
      ...(info?.keys.orderGroup !== undefined ? { orderGroup: info.keys.orderGroup } : {}),
    },
    dataTypes: info?.dataTypes ?? new Map(),
    collations,
    prefixes,
    generated: info?.generated ?? new Set(),
  };
}
