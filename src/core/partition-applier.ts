/**
 * One partition's apply loop, shared by the embedded pipeline and the Kafka sink workers: what a
 * partition has taken is planned into lane rounds (`LaneScheduler`), each round's lane batches are
 * applied concurrently (bounded by the shared `limit`), and rounds run one after another, so a row's
 * changes reach the target in source order. The caller says what applying one batch means (the sink
 * call and its acknowledgement) and may stop between rounds.
 */
import type pLimit from 'p-limit';
import type { LaneBatch, LaneScheduler } from './lanes.js';
import type { Routed } from './partitioner.js';

export interface ApplyRoundsOptions {
  /** Applies one lane batch (one target transaction) and acknowledges it; rejects when it cannot. */
  readonly applyBatch: (batch: LaneBatch) => Promise<void>;
  /** Asked after every round: false stops before the next (the rest is not applied). */
  readonly continueAfterRound?: () => boolean | Promise<boolean>;
}

/**
 * Applies `items` (in the order the partition delivered them) round by round. Resolves 'done', or
 * 'stopped' when `continueAfterRound` said so; rejects with the first failure of a round, once every
 * batch of that round has settled (none is left running).
 */
export async function applyRounds(items: readonly Routed[], scheduler: LaneScheduler, limit: ReturnType<typeof pLimit>, o: ApplyRoundsOptions): Promise<'done' | 'stopped'> {
  for (let i = 0; i < items.length; i += scheduler.roundCapacity) {
    const chunk = i === 0 && items.length <= scheduler.roundCapacity ? items : items.slice(i, i + scheduler.roundCapacity);
    for (const round of scheduler.plan(chunk)) {
      const results = await Promise.allSettled(round.batches.map((b) => limit(() => o.applyBatch(b))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (o.continueAfterRound && !(await o.continueAfterRound())) return 'stopped';
    }
  }
  return 'done';
}
