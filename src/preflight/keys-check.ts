/**
 * The target's keys must be the source's. Changes are applied as upserts that the target resolves by
 * its own PRIMARY KEY and UNIQUE indexes (INSERT … ON DUPLICATE KEY UPDATE, or REPLACE when the table
 * has secondary unique keys) and as deletes by the source's key; with other keys on the target they
 * overwrite or delete other rows than the source changed. Compared per synced table:
 * - the primary key (for a table without one, the `source.keys` columns must be unique on the target);
 * - the set of UNIQUE indexes, each as its columns with their prefix lengths (names may differ, and so
 *   may the column order: it changes how an index is searched, not which rows conflict);
 * - the character set and collation of every string column in those keys: the target compares keys by
 *   its collation, so with another one two rows the source keeps apart are one row on the target (say
 *   `a` and `A` under a case-insensitive collation), or the reverse.
 */
import type { Connection } from 'mysql2/promise';
import type { SourceConfig } from '../config/schema.js';
import type { PreflightCheck } from './report.js';
import { qualifiedName, type SourceTable } from './source-checks.js';
import { quoteIdent } from './sql.js';
import { NO_ROUTING, type TableRouting } from './routing.js';
import { foldColumn, readTableKeys, type TableColumn, type KeyPart, type TableKeySchema, type UniqueIndex } from './table-keys.js';
import { columnDefinitions, createStatement } from './target-checks.js';

export type KeyDifference =
  /** Primary keys differ; `source` is null for a table keyed by `source.keys`. */
  | { readonly kind: 'primary-key'; readonly source: UniqueIndex | null; readonly target: UniqueIndex | null }
  | { readonly kind: 'missing-unique'; readonly index: UniqueIndex }
  | { readonly kind: 'extra-unique'; readonly index: UniqueIndex }
  /** The `source.keys` columns are neither the primary key nor a UNIQUE index on the target. */
  | { readonly kind: 'configured-key-not-unique'; readonly columns: readonly string[] }
  | { readonly kind: 'collation'; readonly column: string; readonly source: TableColumn; readonly target: TableColumn };

/** What makes two indexes the same constraint: their parts, regardless of order and name. */
function signature(parts: readonly KeyPart[]): string {
  return parts
    .map((p) => `${foldColumn(p.column)}${p.prefix === null ? '' : `(${p.prefix})`}`)
    .sort()
    .join(',');
}

const columnsOnly = (columns: readonly string[]): KeyPart[] => columns.map((column) => ({ column, prefix: null }));

/**
 * The differences that matter for applying changes, between a table's keys on the source and on the
 * target. `configuredKey` is `source.keys` for the table; it counts only when the source has no
 * PRIMARY KEY (as in the pipeline itself).
 */
export function compareTableKeys(source: TableKeySchema, target: TableKeySchema, configuredKey?: readonly string[]): KeyDifference[] {
  const diffs: KeyDifference[] = [];
  const configured = source.primaryKey ? undefined : configuredKey;
  const keyParts = source.primaryKey?.parts ?? (configured ? columnsOnly(configured) : null);
  const keySig = configured ? signature(columnsOnly(configured)) : undefined;
  if (source.primaryKey) {
    if (!target.primaryKey || signature(target.primaryKey.parts) !== signature(source.primaryKey.parts)) {
      diffs.push({ kind: 'primary-key', source: source.primaryKey, target: target.primaryKey });
    }
  } else if (configured && target.primaryKey && signature(target.primaryKey.parts) !== keySig) {
    diffs.push({ kind: 'primary-key', source: null, target: target.primaryKey });
  }

  const unmatched = [...target.uniqueKeys];
  const missing: UniqueIndex[] = [];
  for (const index of source.uniqueKeys) {
    const at = unmatched.findIndex((t) => signature(t.parts) === signature(index.parts));
    if (at >= 0) unmatched.splice(at, 1);
    else missing.push(index);
  }
  if (configured) {
    const onTarget = [...(target.primaryKey ? [target.primaryKey] : []), ...target.uniqueKeys].some((i) => signature(i.parts) === keySig);
    // The target index that plays the configured key's part is not "extra" (the source has no such index).
    const playing = unmatched.findIndex((t) => signature(t.parts) === keySig);
    if (playing >= 0) unmatched.splice(playing, 1);
    // A source UNIQUE on exactly these columns that the target lacks is reported (and fixed) as such.
    if (!onTarget && !missing.some((i) => signature(i.parts) === keySig)) diffs.push({ kind: 'configured-key-not-unique', columns: configured });
  }
  for (const index of missing) diffs.push({ kind: 'missing-unique', index });
  for (const index of unmatched) diffs.push({ kind: 'extra-unique', index });

  const keyColumns = new Map<string, string>();
  for (const parts of [keyParts ?? [], ...source.uniqueKeys.map((i) => i.parts)]) {
    for (const p of parts) keyColumns.set(foldColumn(p.column), p.column);
  }
  for (const [folded] of keyColumns) {
    const s = source.columns.get(folded);
    const t = target.columns.get(folded);
    // A column missing on either side is reported by the column checks.
    if (!s || !t) continue;
    if (s.charset !== t.charset || s.collation !== t.collation) diffs.push({ kind: 'collation', column: s.name, source: s, target: t });
  }
  return diffs;
}

function describeParts(parts: readonly KeyPart[]): string {
  return `(${parts.map((p) => `${p.column}${p.prefix === null ? '' : `(${p.prefix})`}`).join(', ')})`;
}

function sqlParts(parts: readonly KeyPart[]): string {
  return `(${parts.map((p) => `${quoteIdent(p.column)}${p.prefix === null ? '' : `(${p.prefix})`}`).join(', ')})`;
}

function describeCollation(c: TableColumn): string {
  return c.collation === null ? 'not a string column' : `${c.charset ?? '?'} ${c.collation}`;
}

const HITS_OTHER_ROWS = 'upserts and deletes would match other rows on the target than the source changed';

function explain(d: KeyDifference, configuredKey: readonly string[] | undefined): string {
  switch (d.kind) {
    case 'primary-key':
      return d.source
        ? `PRIMARY KEY ${describeParts(d.source.parts)} on the source, ${d.target ? `PRIMARY KEY ${describeParts(d.target.parts)}` : 'none'} on the target: ${HITS_OTHER_ROWS}`
        : `PRIMARY KEY ${describeParts(d.target!.parts)} on the target, none on the source (its key is source.keys ${describeParts(columnsOnly(configuredKey ?? []))}): ${HITS_OTHER_ROWS}`;
    case 'missing-unique':
      return `UNIQUE ${d.index.name} ${describeParts(d.index.parts)} of the source is missing on the target: the target does not enforce that uniqueness, so the two tables no longer hold to the same rules`;
    case 'extra-unique':
      return `UNIQUE ${d.index.name} ${describeParts(d.index.parts)} on the target is not a unique key on the source: when two source rows share a value, applying the second deletes (REPLACE) or overwrites (INSERT … ON DUPLICATE KEY UPDATE) the first on the target`;
    case 'configured-key-not-unique':
      return `source.keys ${describeParts(columnsOnly(d.columns))} is neither the PRIMARY KEY nor a UNIQUE index on the target: each update would insert another copy of the row (INSERT … ON DUPLICATE KEY UPDATE finds no row to update), and each delete would remove every row with those values`;
    case 'collation':
      return `key column ${d.column} is ${describeCollation(d.source)} on the source, ${describeCollation(d.target)} on the target: the target compares keys by its collation, so rows the source keeps apart can be one row there, or the reverse (${HITS_OTHER_ROWS})`;
  }
}

/** The column's definition from the source, with its character set and collation spelled out. */
export function withCollation(definition: string, charset: string, collation: string): string {
  const typed = /^(`(?:[^`]|``)+`\s+\w+(?:\((?:[^()']|'(?:[^'\\]|\\.|'')*')*\))?(?:\s+(?:unsigned|zerofill|binary))*)(.*)$/is.exec(definition);
  if (!typed) return definition;
  const rest = typed[2]!.replace(/\s+CHARACTER SET\s+\w+/gi, '').replace(/\s+COLLATE\s+\w+/gi, '');
  return `${typed[1]!} CHARACTER SET ${charset} COLLATE ${collation}${rest}`;
}

function fixClauses(d: KeyDifference, definitions: ReadonlyMap<string, string>): string[] {
  switch (d.kind) {
    case 'primary-key':
      if (!d.source) return ['DROP PRIMARY KEY'];
      return [...(d.target ? ['DROP PRIMARY KEY'] : []), `ADD PRIMARY KEY ${sqlParts(d.source.parts)}`];
    case 'missing-unique':
      return [`ADD UNIQUE KEY ${quoteIdent(d.index.name)} ${sqlParts(d.index.parts)}`];
    case 'extra-unique':
      return [`DROP INDEX ${quoteIdent(d.index.name)}`];
    case 'configured-key-not-unique':
      return [`ADD UNIQUE KEY ${sqlParts(columnsOnly(d.columns))}`];
    case 'collation': {
      const def = [...definitions.entries()].find(([name]) => foldColumn(name) === foldColumn(d.column))?.[1];
      const base = def ?? `${quoteIdent(d.column)} <type as on the source>`;
      return [`MODIFY COLUMN ${d.source.collation === null ? base : withCollation(base, d.source.charset ?? '', d.source.collation)}`];
    }
  }
}

export async function targetKeysCheck(
  source: Connection,
  target: Connection,
  tables: readonly SourceTable[],
  sourceConfig: SourceConfig,
  routing: TableRouting = NO_ROUTING,
): Promise<PreflightCheck> {
  const id = 'target.keys';
  const title = 'Target keys match the source';
  const [onSource, onTarget] = await Promise.all([readTableKeys(source, tables), readTableKeys(target, tables.map((t) => routing.target(t)))]);
  const problems: string[] = [];
  const fixes: string[] = [];
  let compared = 0;
  for (const t of tables) {
    const name = qualifiedName(t);
    const to = routing.target(t);
    const found = onSource.get(name);
    // A unique key on a column the pipeline does not copy cannot be on the target.
    const s = found && { ...found, uniqueKeys: found.uniqueKeys.filter((i) => i.parts.every((p) => routing.keeps(t, p.column))) };
    const tg = onTarget.get(qualifiedName(to));
    // A table missing on the target is reported by target.tables; its CREATE TABLE carries the keys.
    if (!s || !tg) continue;
    const configured = s.primaryKey ? undefined : sourceConfig.keys[name];
    // source.keys naming unknown columns is reported by source.table-keys.
    if (configured && !configured.every((c) => s.columns.has(foldColumn(c)))) continue;
    compared += 1;
    const diffs = compareTableKeys(s, tg, configured);
    if (diffs.length === 0) continue;
    const routed = qualifiedName(to) === name ? name : `${qualifiedName(to)} (from ${name})`;
    for (const d of diffs) problems.push(`${routed}: ${explain(d, configured)}`);
    const definitions = diffs.some((d) => d.kind === 'collation')
      ? columnDefinitions(await createStatement(source, t.db, t.table))
      : new Map<string, string>();
    // Drops first: an index that is replaced by one of the same name is dropped, then added.
    const rank = (clause: string) => (clause.startsWith('DROP') ? 0 : clause.startsWith('MODIFY') ? 1 : 2);
    const clauses = diffs.flatMap((d) => fixClauses(d, definitions)).sort((a, b) => rank(a) - rank(b));
    fixes.push(`ALTER TABLE ${quoteIdent(to.db)}.${quoteIdent(to.table)} ${clauses.join(', ')};`);
  }
  if (problems.length === 0) {
    return { id, title, status: 'ok', detail: compared > 0 ? `primary and unique keys of all ${compared} table${compared === 1 ? '' : 's'} match, with the same collations` : 'no tables to compare' };
  }
  return {
    id,
    title,
    status: 'fail',
    detail: problems.join('\n'),
    fix: `On the target (changing a key fails if the rows already there break it: compare them with the source first):\n${fixes.join('\n')}`,
  };
}
