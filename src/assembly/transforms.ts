/**
 * Routes and transforms as the pipeline file sets them (`routes`, `tables`, `keyless`), and the
 * snapshot's target reads that follow them.
 */
import type { PipelineConfig } from '../config/schema.js';
import type { TableRef } from '../core/event.js';
import type { SnapshotTarget } from '../core/ports.js';
import { RowTransforms } from '../core/row-transforms.js';

const built = new WeakMap<PipelineConfig, RowTransforms>();

export function rowTransformsOf(config: PipelineConfig): RowTransforms {
  let t = built.get(config);
  if (!t) built.set(config, (t = new RowTransforms({ routes: config.routes, tables: config.tables, keyless: config.keyless })));
  return t;
}

/** Where a snapshot reads the target's keys of a source table: the table it is routed to. */
export function snapshotTargetOf(transforms: RowTransforms): (source: TableRef) => TableRef {
  return (source) => transforms.target(source);
}

/**
 * The snapshot's target key reads, for routed tables. A table routed by a rule that merges several
 * source tables into one shares its target with the others: the target keys its chunk lacks may be
 * theirs, so none is deleted (a re-copy then leaves rows that no source table has any more; README).
 */
export function routedSnapshotTarget(inner: SnapshotTarget, transforms: RowTransforms): SnapshotTarget {
  if (!transforms.active) return inner;
  return {
    keysInRange: (keys, after, upTo) => (transforms.mayMerge(keys.table) ? Promise.resolve([]) : inner.keysInRange(keys, after, upTo)),
    keysWhere: (keys, where) => (transforms.mayMerge(keys.table) ? Promise.resolve([]) : inner.keysWhere(keys, where)),
  };
}
