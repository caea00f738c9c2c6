/**
 * How preflight finds a source table's counterpart on the target under `routes` and
 * `tables.…columns` (see src/core/row-transforms.ts): the routed table, with the kept columns only.
 */
import type { PipelineConfig } from '../config/schema.js';
import { RowTransforms } from '../core/row-transforms.js';
import type { PreflightCheck } from './report.js';
import { qualifiedName, type TableName } from './sql.js';

/**
 * The `tables` settings against the included tables: no key column excluded or masked, every filter
 * and mask column one the table has. Null when there are no settings.
 */
export function tableSettingsCheck(
  tables: readonly (TableName & { readonly columns: readonly string[]; readonly primaryKey: readonly string[] | null })[],
  config: Pick<PipelineConfig, 'routes' | 'tables' | 'keyless'> & { readonly source: Pick<PipelineConfig['source'], 'keys'> },
): PreflightCheck | null {
  if (Object.keys(config.tables).length === 0) return null;
  const transforms = new RowTransforms({ routes: config.routes, tables: config.tables, keyless: config.keyless });
  const problems: string[] = [];
  for (const t of tables) {
    const key = t.primaryKey ?? config.source.keys[qualifiedName(t)] ?? [];
    try {
      transforms.validate({ table: { schema: t.db, name: t.table }, primaryKey: key, uniqueKeys: [] }, t.columns);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  const id = 'config.tables';
  const title = 'Table settings fit the tables';
  if (problems.length === 0) return { id, title, status: 'ok', detail: 'every columns, mask and filter setting names columns the tables have, and keeps their keys' };
  return { id, title, status: 'fail', detail: problems.join('\n'), fix: 'Correct the tables section of the pipeline file as each line says.' };
}

export interface TableRouting {
  /** The target table of a source table. */
  target(t: TableName): TableName;
  /** Whether a source column reaches the target. */
  keeps(t: TableName, column: string): boolean;
}

export const NO_ROUTING: TableRouting = Object.freeze({ target: (t: TableName) => t, keeps: () => true });

export function routingOf(config: Pick<PipelineConfig, 'routes' | 'tables' | 'keyless'>): TableRouting {
  const transforms = new RowTransforms({ routes: config.routes, tables: config.tables, keyless: config.keyless });
  if (!transforms.active) return NO_ROUTING;
  return {
    target: (t) => {
      const to = transforms.target({ schema: t.db, name: t.table });
      return { db: to.schema, table: to.name };
    },
    keeps: (t, c) => transforms.keeps({ schema: t.db, name: t.table }, c),
  };
}

/**
 * Source tables routed into one target table share its keys: a row of one with the same key as a row
 * of another is one target row (the later change wins). Said as a warning naming them, since only the
 * data can tell whether their keys overlap.
 */
export function mergedRoutesCheck(tables: readonly (TableName & { readonly primaryKey: readonly string[] | null })[], routing: TableRouting): PreflightCheck | null {
  const by = new Map<string, TableName[]>();
  for (const t of tables) {
    const k = qualifiedName(routing.target(t));
    by.set(k, [...(by.get(k) ?? []), t]);
  }
  const merged = [...by.entries()].filter(([, list]) => list.length > 1);
  if (merged.length === 0) return null;
  const lines = merged.map(([to, list]) => {
    const key = (tables.find((t) => qualifiedName(t) === qualifiedName(list[0]!))?.primaryKey ?? []).join(', ') || 'source.keys';
    return `${list.map(qualifiedName).join(', ')} → ${to}, keyed by (${key}): rows with equal keys in two of them are one target row, and the later change wins`;
  });
  return {
    id: 'routes.merge',
    title: 'Merged tables keep their rows apart',
    status: 'warn',
    detail: lines.join('\n'),
    fix: 'Make the keys disjoint across the merged tables: a column that tells the shards apart in the primary key (e.g. shard_id), or keys from disjoint ranges (auto_increment_offset / auto_increment_increment per shard).',
  };
}
