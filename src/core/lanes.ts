/**
 * LaneScheduler: splits what one partition has queued into rounds of lane batches. Pure.
 *
 * - Each mutation goes to one of `lanes` lanes. For tables with only a primary key the lane is a hash
 *   of the row's key. For tables with secondary UNIQUE keys it is chosen by causality: every value the
 *   change touches (its key and each unique value, before and after) is a token; a mutation goes to the
 *   lane that already holds one of its tokens in this round. When its tokens sit in two different lanes
 *   (two rows that are independent so far now depend on each other) the round ends before it.
 * - Within a lane, several changes of one row fold into the last one (an upsert carries the full after
 *   image and a delete needs only the key, so the last change alone gives the final state).
 * - Order groups (tables linked by foreign keys) are the exception: all changes of a group go to one
 *   lane and stay in source order, unfolded, because the target's foreign keys act on each of them
 *   (a delete folded away would skip its cascade).
 * - A round uses only as many lanes as it has work for (`perLane` mutations each, the sink's
 *   `batchSize`): every lane batch is a target transaction, and on a durable target a commit costs
 *   more than the rows in it, so a small round is one transaction and a large one is spread over up
 *   to `lanes`. Lane choice only has to be consistent within a round, because rounds are barriers.
 * - Lanes of one round run concurrently; rounds run one after another. Together: each row's changes
 *   are applied in source order, and two rows that share a unique value are never in flight in two
 *   lanes at once, so no lane waits on another's locks or duplicate key.
 */
import type { Mutation } from './event.js';
import { laneHash } from './key.js';
import type { Routed } from './partitioner.js';
import { AckCounts } from './acks.js';

export interface LaneBatch {
  readonly lane: number;
  /** Folded: at most one mutation per row, in first-seen order (order-group mutations: all, in source order). */
  readonly mutations: Mutation[];
  /** How many queued mutations (before folding) of each transaction this batch settles. */
  readonly acks: AckCounts;
}

export interface Round {
  readonly batches: LaneBatch[];
  /** Number of queued mutations the round consumes (≥ the folded mutations it applies). */
  readonly consumed: number;
}

interface OpenLane {
  readonly lane: number;
  readonly mutations: Mutation[];
  readonly slotOf: Map<string, number>;
  readonly acks: AckCounts;
}

export class LaneScheduler {
  constructor(
    readonly lanes: number,
    /** Mutations a lane batch is sized for: a round uses ceil(items / perLane) lanes, at most `lanes`. */
    readonly perLane: number,
  ) {
    if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`lanes must be a positive integer, got ${lanes}`);
    if (!Number.isInteger(perLane) || perLane < 1) throw new RangeError(`perLane must be a positive integer, got ${perLane}`);
  }

  /** Most mutations worth planning at once: a full batch for every lane. */
  get roundCapacity(): number {
    return this.lanes * this.perLane;
  }

  /** Plans all of `items` (in queue order) into consecutive rounds. */
  plan(items: readonly Routed[]): Round[] {
    const lanes = Math.max(1, Math.min(this.lanes, Math.ceil(items.length / this.perLane)));
    const rounds: Round[] = [];
    let open = new Map<number, OpenLane>();
    let laneOfToken = new Map<string, number>();
    let consumed = 0;

    const close = (): void => {
      if (consumed === 0) return;
      rounds.push({
        batches: [...open.values()].map((l) => ({ lane: l.lane, mutations: l.mutations, acks: l.acks })),
        consumed,
      });
      open = new Map();
      laneOfToken = new Map();
      consumed = 0;
    };

    for (const item of items) {
      const m = item.mutation;
      const ordered = m.keys.orderGroup !== undefined;
      let lane: number;
      // An order group's hash is the group's: one lane per group and round.
      if (ordered || m.keys.uniqueKeys.length === 0) {
        lane = laneHash(item.hash) % lanes;
      } else {
        let found = this.findLane(laneOfToken, item);
        if (found === 'conflict') {
          close();
          found = -1;
        }
        lane = found >= 0 ? found : laneHash(item.hash) % lanes;
        laneOfToken.set(m.rowId, lane);
        for (const t of m.uniqueTokens) laneOfToken.set(t, lane);
      }
      let l = open.get(lane);
      if (!l) {
        l = { lane, mutations: [], slotOf: new Map(), acks: new AckCounts() };
        open.set(lane, l);
      }
      const slot = ordered ? undefined : l.slotOf.get(m.rowId);
      if (slot !== undefined) l.mutations[slot] = m;
      else {
        if (!ordered) l.slotOf.set(m.rowId, l.mutations.length);
        l.mutations.push(m);
      }
      l.acks.add(m.txSeq);
      consumed++;
    }
    close();
    return rounds;
  }

  private findLane(laneOfToken: Map<string, number>, item: Routed): number | 'conflict' {
    let found = laneOfToken.get(item.mutation.rowId) ?? -1;
    for (const t of item.mutation.uniqueTokens) {
      const l = laneOfToken.get(t);
      if (l === undefined) continue;
      if (found === -1) found = l;
      else if (l !== found) return 'conflict';
    }
    return found;
  }
}
