/**
 * Counts changes per (table, op) over one batch, so that metrics are incremented once per batch with
 * its totals instead of once per row. Adding is an identity comparison and an increment in the common
 * case (a run of changes of one table): the source and the router hand on one `TableRef` object per
 * table, so the last table is remembered by reference and the map is consulted only when it changes.
 */
import type { TableRef } from '../core/event.js';

export interface TableOpCount {
  readonly table: TableRef;
  readonly op: string;
  readonly count: number;
}

export class TableOpTally {
  private readonly byTable = new Map<TableRef, Map<string, number>>();
  private lastTable: TableRef | null = null;
  private lastOps: Map<string, number> | null = null;
  private total = 0;

  add(table: TableRef, op: string, n = 1): void {
    let ops = this.lastOps;
    if (table !== this.lastTable || ops === null) {
      ops = this.byTable.get(table) ?? null;
      if (ops === null) {
        ops = new Map();
        this.byTable.set(table, ops);
      }
      this.lastTable = table;
      this.lastOps = ops;
    }
    ops.set(op, (ops.get(op) ?? 0) + n);
    this.total += n;
  }

  /** Changes added since the last `clear`. */
  get size(): number {
    return this.total;
  }

  /** The totals, one per (table, op); tables of equal names (a new table id after ALTER) stay apart. */
  *counts(): IterableIterator<TableOpCount> {
    for (const [table, ops] of this.byTable) for (const [op, count] of ops) yield { table, op, count };
  }

  clear(): void {
    this.byTable.clear();
    this.lastTable = null;
    this.lastOps = null;
    this.total = 0;
  }
}
