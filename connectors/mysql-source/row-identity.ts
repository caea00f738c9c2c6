/**
 * Row identities as the target compares keys: per table, which key columns fold by a collation or a
 * prefix, and the values a batch needs from the server before it can be folded (see CollationFolder).
 */
import { RowIdentifier, exactToken, type ColumnFold, type KeyPlace } from '../../src/index.js';
import type { Row, RowIdentity, SqlValue } from '../../src/index.js';
import type { Collation, CollationFolder } from './collation-folder.js';
import type { TableInfo } from './schema-cache.js';

/** The first `n` characters (code points, as MySQL counts them) of `s`. */
function firstChars(s: string, n: number): string {
  if (s.length <= n) return s;
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return s.slice(0, i);
}

export class TableIdentity {
  private readonly identifier: RowIdentifier;
  /** Collated key columns (each once), for `pending`. */
  private readonly collated: readonly { readonly column: string; readonly collation: Collation; readonly prefix: number | undefined }[];

  private constructor(info: TableInfo, private readonly folder: CollationFolder, collations: ReadonlyMap<string, Collation>) {
    const prefixOf = (column: string, place: KeyPlace): number | undefined =>
      place === 'primary' ? info.prefixes.primary.get(column) : info.prefixes.unique[place]?.get(column);
    const seen = new Map<string, { column: string; collation: Collation; prefix: number | undefined }>();
    this.identifier = new RowIdentifier(info.keys, (column, place): ColumnFold | null => {
      const prefix = prefixOf(column, place);
      const collation = collations.get(column);
      if (collation) {
        seen.set(`${column}\u0000${prefix ?? ''}`, { column, collation, prefix });
        return (v) => (typeof v === 'string' ? folder.fold(collation, prefix === undefined ? v : firstChars(v, prefix)) : exactToken(v));
      }
      if (prefix !== undefined) return (v) => exactToken(typeof v === 'string' ? firstChars(v, prefix) : Buffer.isBuffer(v) ? v.subarray(0, prefix) : v);
      return null;
    });
    this.collated = [...seen.values()];
  }

  /** Loads what the table's key columns need (their collations) and builds the identity. */
  static async build(info: TableInfo, folder: CollationFolder): Promise<TableIdentity> {
    const keyColumns = new Set([...info.keys.primaryKey, ...info.keys.uniqueKeys.flat()]);
    const collations = new Map<string, Collation>();
    for (const column of keyColumns) {
      const c = info.collations.get(column);
      if (c) collations.set(column, await folder.collation(c.collation, c.charset));
    }
    return new TableIdentity(info, folder, collations);
  }

  /** Whether any key column needs folding (otherwise `pending` is always empty). */
  get folds(): boolean {
    return this.collated.length > 0;
  }

  /** Adds the key values of `row` that the folder must fetch before `identify` can run. */
  pending(row: Row | null, into: { collation: Collation; value: string }[]): void {
    if (row === null) return;
    for (const { column, collation, prefix } of this.collated) {
      const v: SqlValue | undefined = row[column];
      if (typeof v !== 'string') continue;
      const value = prefix === undefined ? v : firstChars(v, prefix);
      if (this.folder.needsLookup(collation, value)) into.push({ collation, value });
    }
  }

  identify(row: Row): RowIdentity {
    return this.identifier.identify(row);
  }

  identifyAfter(after: Row, before: Row, beforeId: RowIdentity): RowIdentity {
    return this.identifier.identifyAfter(after, before, beforeId);
  }
}
