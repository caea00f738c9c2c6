/**
 * What `verify` compares of a table the pipeline routes or transforms (`routes`, `tables.…columns`,
 * `mask`, `filter`), pure: the target table, its key (the source's, which `columns` and `mask` must
 * leave alone), the compared columns (the source's columns that reach the target, with the target's
 * types), and per source table feeding it (several when a route merges shards) how each compared
 * column's part of the row text comes from the source row: copied (the source server's own lossless
 * text, as for a plain table), hashed or nulled by `mask`, with the row `filter` deciding whether the
 * row belongs on the target at all. Refused with a reason: no usable key, a key column dropped or
 * masked, a filter or mask column the table lacks, a target table or column missing, merged source
 * tables whose keys or columns differ.
 */
import { BinlogSyncError } from '../core/errors.js';
import type { RowFilter } from '../core/row-filter.js';
import { maskOf, type RowTransforms } from '../core/row-transforms.js';
import { qualifiedName, type TableName } from '../preflight/sql.js';
import type { ChecksumTable, ComparedColumn } from './checksum-sql.js';
import type { KeyColumn } from './key-columns.js';
import { planTable, type TableFacts } from './table-plan.js';

/** How one compared column's part of the row text is made from a source row. */
export type ColumnPart =
  /** The source server's own part text of the column (`columnPartExpr`), as it reaches the target unchanged. */
  | { readonly kind: 'copy'; readonly column: ComparedColumn }
  /** `mask: hash`: the SHA-256 text of the value as the pipeline reads it, as the target column stores it. */
  | { readonly kind: 'hash'; readonly column: string; readonly target: ComparedColumn }
  /** `mask: null`. */
  | { readonly kind: 'null' };

export interface TransformedSource {
  readonly table: TableName;
  /** `db.table` on the source. */
  readonly name: string;
  /** One per compared column, in the compared columns' order. */
  readonly parts: readonly ColumnPart[];
  /** Columns read in the binlog decoder's form (those the filter reads and `mask: hash` hashes). */
  readonly reads: readonly ComparedColumn[];
  readonly filter: RowFilter | null;
}

export interface TransformedPlan {
  /** The target's `db.table`. */
  readonly name: string;
  /** The target table and its key (the source's key columns, with the source's collations). */
  readonly target: ChecksumTable;
  readonly key: readonly KeyColumn[];
  /** The compared columns on the target, with the target's types. */
  readonly targetColumns: readonly ComparedColumn[];
  readonly sources: readonly TransformedSource[];
}

export type TransformedOutcome = { readonly plan: TransformedPlan } | { readonly name: string; readonly problem: string };

const fold = (name: string): string => name.toLowerCase();

interface SourcePlan {
  readonly source: TransformedSource;
  readonly key: readonly KeyColumn[];
  readonly targetColumns: readonly ComparedColumn[];
}

function planSource(f: TableFacts, transforms: RowTransforms): SourcePlan | string {
  const name = qualifiedName(f.table);
  // The key as verify picks it for a plain table (primary key or source.keys), from the source alone.
  const keyed = planTable({ ...f, targetColumns: f.sourceColumns });
  if (!('plan' in keyed)) return `${name}: ${keyed.problem}`;
  const key = keyed.plan.key;
  const ref = { schema: f.table.db, name: f.table.table };
  let rowPlan;
  try {
    const keys = { table: ref, primaryKey: key.map((c) => c.name), uniqueKeys: [] };
    rowPlan = transforms.plan(keys);
    transforms.validate(keys, f.sourceColumns.map((c) => c.name));
  } catch (err) {
    if (err instanceof BinlogSyncError) return err.message;
    throw err;
  }
  const to = transforms.target(ref);
  const toName = `${to.schema}.${to.name}`;
  if (!f.targetColumns) return `the target table ${toName} does not exist`;
  const targetByName = new Map(f.targetColumns.map((c) => [fold(c.name), c]));
  const kept = f.sourceColumns.filter((c) => rowPlan.keep(c.name));
  const lacking = kept.filter((c) => !targetByName.has(fold(c.name))).map((c) => c.name);
  if (lacking.length > 0) return `the target table ${toName} lacks column${lacking.length === 1 ? '' : 's'} ${lacking.join(', ')} of ${name}`;
  const targetColumns = kept.map((c) => {
    const t = targetByName.get(fold(c.name))!;
    return { name: t.name, dataType: t.dataType };
  });
  const parts = kept.map((c, i): ColumnPart => {
    switch (maskOf(rowPlan, c.name)) {
      case 'null':
        return { kind: 'null' };
      case 'hash':
        return { kind: 'hash', column: c.name, target: targetColumns[i]! };
      case null:
        return { kind: 'copy', column: { name: c.name, dataType: c.dataType } };
    }
  });
  const sourceByName = new Map(f.sourceColumns.map((c) => [c.name, c]));
  const readNames = new Set([...(rowPlan.filter?.columns ?? []), ...parts.flatMap((p) => (p.kind === 'hash' ? [p.column] : []))]);
  const reads = [...readNames].map((n) => ({ name: n, dataType: sourceByName.get(n)!.dataType }));
  return { source: { table: f.table, name, parts, reads, filter: rowPlan.filter }, key, targetColumns };
}

/** The plan of one target table from the facts of the source tables routed to it (pure). */
export function planTransformed(target: TableName, sources: readonly TableFacts[], transforms: RowTransforms): TransformedOutcome {
  const name = qualifiedName(target);
  const refuse = (problem: string): TransformedOutcome => ({ name, problem: `not compared: ${problem}` });
  if (sources.length === 0) return refuse('no source table is routed to it');
  const planned: SourcePlan[] = [];
  for (const f of sources) {
    const p = planSource(f, transforms);
    if (typeof p === 'string') return refuse(p);
    planned.push(p);
  }
  const first = planned[0]!;
  const names = (cols: readonly { name: string }[]): string => cols.map((c) => fold(c.name)).join(', ');
  for (const p of planned.slice(1)) {
    if (names(p.key) !== names(first.key) || names(p.targetColumns) !== names(first.targetColumns)) {
      return refuse(
        `the source tables merged into it differ: ${first.source.name} has key (${names(first.key)}) and columns (${names(first.targetColumns)}), ` +
          `${p.source.name} key (${names(p.key)}) and columns (${names(p.targetColumns)}); verify compares merged tables with the same key and columns only`,
      );
    }
  }
  return {
    plan: {
      name,
      target: { db: target.db, table: target.table, key: first.key },
      key: first.key,
      targetColumns: first.targetColumns,
      sources: planned.map((p) => p.source),
    },
  };
}
