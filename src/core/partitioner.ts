/**
 * Stable (table, primary key identity) → partition. Every change of one row lands in one partition, so a
 * partition's consumer sees that row's changes in source order.
 *
 * Tables with secondary UNIQUE keys are partitioned by table alone: two rows may trade a unique value
 * (a swap of emails), and only a consumer that sees both rows' changes can order them (LaneScheduler).
 * Tables linked by foreign keys are partitioned by their order group: a parent's change and its
 * children's are applied in source order.
 */
import type { Mutation } from './event.js';
import { tableKey } from './event.js';
import { fnv1a32 } from './key.js';

export interface Routed {
  readonly mutation: Mutation;
  readonly partition: number;
  /** Hash of the row's identity (`Mutation.rowId`), computed once here and reused by the lanes. */
  readonly hash: number;
}

export class Partitioner {
  constructor(readonly partitions: number) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }

  route(mutation: Mutation): Routed {
    const keys = mutation.keys;
    // An order group is one stream: its partition and (in the lanes) its lane come from the group.
    if (keys.orderGroup !== undefined) {
      const hash = fnv1a32(keys.orderGroup);
      return { mutation, partition: hash % this.partitions, hash };
    }
    const hash = fnv1a32(mutation.rowId);
    const partitionHash = keys.uniqueKeys.length > 0 ? fnv1a32(tableKey(mutation.table)) : hash;
    return { mutation, partition: partitionHash % this.partitions, hash };
  }
}
