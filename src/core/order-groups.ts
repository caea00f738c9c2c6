/**
 * Order groups: tables linked by foreign keys, directly or through others (connected components of
 * the foreign-key graph among synced tables). The changes of one group are applied in source order
 * and exactly once, because the target's foreign keys act on them (cascades the binlog does not
 * carry). Pure.
 */
import type { Mutation, TableRef } from './event.js';
import { tableKey } from './event.js';
import type { AppliedChange } from './ports.js';
import { compareChanges } from './position.js';

export interface ForeignKeyLink {
  readonly child: TableRef;
  readonly parent: TableRef;
}

/**
 * `db.table` → group name, for every synced table that takes part in a foreign key with another
 * synced table (or itself). The name is the group's smallest `db.table`: stable while the group keeps
 * its members.
 */
export function orderGroups(links: readonly ForeignKeyLink[], isSynced: (t: TableRef) => boolean): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root)!;
    for (let n = k; n !== root; ) {
      const next = parent.get(n)!;
      parent.set(n, root);
      n = next;
    }
    return root;
  };
  const add = (k: string): void => {
    if (!parent.has(k)) parent.set(k, k);
  };
  for (const { child, parent: p } of links) {
    if (!isSynced(child) || !isSynced(p)) continue;
    const a = tableKey(child);
    const b = tableKey(p);
    add(a);
    add(b);
    const ra = find(a);
    const rb = find(b);
    // The smaller name becomes the root, so the root is the group's smallest member.
    if (ra !== rb) {
      if (ra < rb) parent.set(rb, ra);
      else parent.set(ra, rb);
    }
  }
  const out = new Map<string, string>();
  for (const k of parent.keys()) out.set(k, find(k));
  return out;
}

/**
 * Per order group, the last change handed on (or, at start, applied on the target). Order-group
 * changes are applied exactly once: a change at or before it (the target has it, or it is on its way
 * after a re-read) is to be skipped. Used by the embedded dispatcher, the Kafka publisher and the Kafka
 * sink workers.
 */
export class OrderGroupProgress {
  private readonly last: Map<string, AppliedChange>;

  constructor(applied: ReadonlyMap<string, AppliedChange> = new Map()) {
    this.last = new Map(applied);
  }

  /** Whether `m` (of an order group) is covered already; when it is not, it becomes the group's last. */
  covers(m: Mutation): boolean {
    const group = m.keys.orderGroup;
    if (group === undefined) return false;
    const last = this.last.get(group);
    if (last && compareChanges(m, last) <= 0) return true;
    this.last.set(group, { txStart: m.txStart, index: m.index });
    return false;
  }
}
