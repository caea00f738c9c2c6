/**
 * The sink half of Kafka mode: one worker of a consumer group, applying the partitions it is assigned
 * through the same lanes as the embedded transport.
 *
 * - The target is the truth about progress: on assignment the worker claims the partition on the
 *   target (which waits for a previous owner's open transactions), reads the stored offset and starts
 *   there; Kafka's committed offsets are only a hint (written after the target, for tools that look).
 * - Each lane batch is one target transaction that also stores the partition's offset (the first
 *   message not applied apart from its own, see offset-watermark.ts) and commits only while the claim
 *   holds, so data and offset commit together, and a worker the group has moved on from cannot commit
 *   over the new owner (PARTITION_FENCED: that partition is dropped). A kill re-applies only the lane
 *   batches that were in flight: row images are idempotent, and order groups (foreign keys) are
 *   exactly-once through the applied log, which commits inside their own batches.
 * - Backpressure: a batch is applied before the next is fetched for that partition, and kafkajs fetches
 *   at most `maxBytesPerPartition` ahead, so memory stays bounded whatever waits in Kafka.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import {
  BinlogSyncError,
  LaneScheduler,
  Partitioner,
  applyRounds,
  OrderGroupProgress,
  describeError,
  sleep,
  type Logger,
  type Mutation,
  type PartitionClaim,
  type PartitionOffsetStore,
  type Routed,
  type SinkConnector,
} from '../../src/index.js';
import { EnvelopeError } from './envelope.js';
import { EnvelopeReader } from './envelope-reader.js';
import { OffsetWatermark, type OffsetEntry } from './offset-watermark.js';

export interface KafkaSinkWorkerOptions {
  readonly pipeline: string;
  readonly topic: string;
  readonly partitions: number;
  readonly groupId: string;
  readonly kafka: Kafka;
  readonly sink: SinkConnector;
  readonly offsets: PartitionOffsetStore;
  readonly lanes: number;
  readonly batchSize: number;
  /** Lane batches applied at once across all partitions (≤ the sink's connection pool). */
  readonly concurrency: number;
  readonly logger: Logger;
  /** Bytes kafkajs fetches ahead per partition (bounds memory). Default 1 MiB. */
  readonly maxBytesPerPartition?: number;
  readonly onApplied?: (mutations: readonly Mutation[], appliedAtMs: number) => void;
}

interface PartitionState {
  readonly claim: PartitionClaim;
  /** First offset not yet applied (null: the target has nothing for this partition yet). */
  next: bigint | null;
  /** The highest offset stored on the target by this claim. */
  stored: bigint | null;
  readonly orderApplied: OrderGroupProgress;
  fenced: boolean;
  /** The first batch after the claim has been checked against the target's offset. */
  sought: boolean;
}

export interface SinkWorkerStats {
  readonly messages: number;
  readonly mutationsApplied: number;
  readonly batches: number;
  readonly assigned: readonly number[];
  readonly rebalances: number;
}

/** How long a worker waits for a new topic to reach the broker's metadata: 40 × 250 ms. */
const SUBSCRIBE_ATTEMPTS = 40;
const SUBSCRIBE_RETRY_MS = 250;

export class KafkaSinkWorker {
  private readonly partitioner: Partitioner;
  private readonly scheduler: LaneScheduler;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly id = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  private generation = 0;
  private states = new Map<number, Promise<PartitionState>>();
  private consumer: Consumer | null = null;
  private fatal: unknown = null;
  private failed!: (err: unknown) => void;
  private readonly failure = new Promise<never>((_, reject) => (this.failed = reject));
  private txSeq = 0;
  private messages = 0;
  private mutationsApplied = 0;
  private batches = 0;
  private assigned: number[] = [];
  private readonly hinting = new Set<number>();
  private readonly envelopes = new EnvelopeReader();

  constructor(private readonly o: KafkaSinkWorkerOptions) {
    this.partitioner = new Partitioner(o.partitions);
    this.scheduler = new LaneScheduler(o.lanes, o.batchSize);
    this.limit = pLimit(o.concurrency);
    this.failure.catch(() => undefined);
  }

  stats(): SinkWorkerStats {
    return { messages: this.messages, mutationsApplied: this.mutationsApplied, batches: this.batches, assigned: this.assigned, rebalances: this.generation };
  }

  /** Consumes until `signal` is aborted (then finishes the batches in flight) or a fatal error. */
  async run(signal: AbortSignal): Promise<void> {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      sessionTimeout: 20_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 2_000,
      maxBytesPerPartition: this.o.maxBytesPerPartition ?? 1024 * 1024,
      readUncommitted: false, // only what the publisher committed
      retry: { retries: 10, restartOnFailure: async () => !this.fatal },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      // Every (re)assignment: claims are taken again, offsets read again from the target.
      this.generation++;
      this.states = new Map();
      const mine = (e.payload.memberAssignment[this.o.topic] ?? []).slice().sort((a, b) => a - b);
      this.assigned = mine;
      this.o.logger.info({ memberId: e.payload.memberId, partitions: mine, generation: this.generation }, `kafka sink worker: assigned partitions [${mine.join(', ')}] of ${this.o.topic}`);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.fail(new BinlogSyncError('KAFKA', `the Kafka consumer stopped: ${describeError(e.payload.error)}`, { cause: e.payload.error }));
    });
    await consumer.connect();
    await this.subscribe(consumer);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitions,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await Promise.race([stopped, this.failure]);
    } finally {
      await consumer.disconnect().catch((err: unknown) => this.o.logger.warn({ err: describeError(err) }, 'kafka sink worker: disconnect failed'));
    }
    if (this.fatal) throw this.fatal;
  }

  /**
   * Subscribes, waiting while the broker does not know the topic yet: a topic the publisher has just
   * created reaches the brokers' metadata a moment later (seen on a loaded machine: the sink worker,
   * started beside the publisher, stopped with UNKNOWN_TOPIC_OR_PARTITION), and kafkajs does not retry it.
   */
  private async subscribe(consumer: Consumer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
        return;
      } catch (err) {
        const type = (err as { type?: string }).type;
        if ((type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') || attempt >= SUBSCRIBE_ATTEMPTS) throw err;
        this.o.logger.info({ topic: this.o.topic, attempt, err: describeError(err) }, 'kafka sink worker: the broker does not know the topic yet; waiting');
        await sleep(SUBSCRIBE_RETRY_MS);
      }
    }
  }

  private fail(err: unknown): void {
    if (this.fatal) return;
    this.fatal = err;
    this.o.logger.error({ err: describeError(err) }, 'kafka sink worker stopping on an error that retrying cannot fix');
    this.failed(err);
  }

  private state(partition: number): Promise<PartitionState> {
    let s = this.states.get(partition);
    if (!s) {
      const claim: PartitionClaim = { pipeline: this.o.pipeline, topic: this.o.topic, partition, owner: `${this.id}#${this.generation}` };
      s = (async () => {
        const next = await this.o.offsets.claim(claim);
        // Read after the claim: it includes whatever the previous owner committed.
        const orderApplied = new OrderGroupProgress(await this.o.sink.orderApplied());
        this.o.logger.info({ partition, next: next?.toString() ?? null, owner: claim.owner }, `kafka sink worker: claimed partition ${partition}, resuming at offset ${next ?? 'the start of what Kafka has'}`);
        return { claim, next, stored: next, orderApplied, fenced: false, sought: false };
      })();
      const map = this.states;
      map.set(partition, s);
      s.catch(() => map.delete(partition));
    }
    return s;
  }

  /**
   * Kafka's committed offset, for tools that read it (lag in kafka-consumer-groups): not awaited, at
   * most one per partition in flight, because a coordinator move makes kafkajs retry it for seconds.
   */
  private commitHint(partition: number, next: bigint): void {
    if (this.hinting.has(partition)) return;
    this.hinting.add(partition);
    void (this.consumer?.commitOffsets([{ topic: this.o.topic, partition, offset: next.toString() }]) ?? Promise.resolve())
      .catch((err: unknown) => this.o.logger.debug({ err: describeError(err), partition }, 'kafka sink worker: committing the offset hint to Kafka failed (the target has it)'))
      .finally(() => this.hinting.delete(partition));
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.fatal || batch.messages.length === 0) return;
    try {
      const state = await this.state(batch.partition);
      if (state.fenced) {
        await sleep(500); // until the rebalance that moved it reaches this worker (nothing is resolved)
        return;
      }
      if (!payload.isRunning() || payload.isStale()) return;
      const first = BigInt(batch.messages[0]!.offset);
      if (state.next !== null && first > state.next && !state.sought) {
        // Kafka starts past the target's offset. Usually that is a transaction marker (a control record
        // takes an offset and is never delivered); it may be a committed offset ahead of a target restored
        // from a backup. Seek to the target's offset once per claim: then the target wins either way.
        state.sought = true;
        this.o.logger.debug({ partition: batch.partition, kafka: first.toString(), target: state.next.toString() }, 'kafka sink worker: seeking to the offset the target has');
        this.consumer?.seek({ topic: this.o.topic, partition: batch.partition, offset: state.next.toString() });
        return;
      }
      state.sought = true;
      const items: Routed[] = [];
      const entries: OffsetEntry[] = [];
      for (const m of batch.messages) {
        const offset = BigInt(m.offset);
        if (state.next !== null && offset < state.next) continue;
        if (m.value === null) continue; // a tombstone (not written by us; compaction markers)
        let mutation: Mutation;
        try {
          mutation = this.envelopes.read(m.value.toString('utf8'), ++this.txSeq);
        } catch (err) {
          if (err instanceof EnvelopeError) {
            throw new BinlogSyncError('KAFKA_MESSAGE', `message ${batch.partition}:${m.offset} of ${this.o.topic} is not one binlog-sync can apply: ${err.message}. Only binlog-sync publishers may write to this topic.`, {
              cause: err,
              details: { topic: this.o.topic, partition: batch.partition, offset: m.offset },
            });
          }
          throw err;
        }
        if (state.orderApplied.covers(mutation)) continue; // applied before (exactly once)
        const routed = this.partitioner.route(mutation);
        if (routed.partition !== batch.partition) {
          throw new BinlogSyncError('KAFKA_MESSAGE', `message ${batch.partition}:${m.offset} of ${this.o.topic} belongs to partition ${routed.partition} with transport.partitions: ${this.o.partitions}: the publisher used another partition count. Every process of a pipeline needs the same transport.partitions.`);
        }
        items.push(routed);
        entries.push({ txSeq: mutation.txSeq, offset });
      }
      const last = batch.messages[batch.messages.length - 1]!.offset;
      const end = BigInt(last) + 1n;
      const offsets = new OffsetWatermark(entries, end);
      const outcome = await applyRounds(items, this.scheduler, this.limit, {
        applyBatch: async (b) => {
          const seqs = new Set<number>();
          b.acks.forEach((txSeq) => seqs.add(txSeq));
          const nextOffset = offsets.nextWith(seqs);
          await this.o.sink.applyBatch(b.mutations, { claim: state.claim, nextOffset });
          offsets.applied(seqs);
          if (state.stored === null || nextOffset > state.stored) state.stored = nextOffset;
          this.batches++;
          this.mutationsApplied += b.mutations.length;
          this.o.onApplied?.(b.mutations, Date.now());
        },
        continueAfterRound: async () => {
          await payload.heartbeat().catch(() => undefined);
          return payload.isRunning() && !payload.isStale();
        },
      });
      if (outcome === 'stopped') return; // revoked: the next owner re-applies from the stored offset
      // The last round's lane batches each stored the offset of the others still in flight; nothing
      // applied at all (all skipped) stored nothing. Then store the end here.
      if (state.stored === null || state.stored < end) {
        await this.o.offsets.save(state.claim, end);
        state.stored = end;
      }
      const next = end;
      state.next = next;
      this.messages += batch.messages.length;
      payload.resolveOffset(last);
      this.commitHint(batch.partition, next);
    } catch (err) {
      if (err instanceof BinlogSyncError && err.code === 'PARTITION_FENCED') {
        this.o.logger.info({ partition: batch.partition, err: err.message }, 'kafka sink worker: partition fenced; leaving it to its new owner');
        const s = await this.states.get(batch.partition)?.catch(() => null);
        if (s) s.fenced = true;
        return;
      }
      if (err instanceof BinlogSyncError && err.retriable) {
        // A closing sink, a lost target: the batch is not resolved, so kafkajs fetches it again.
        this.o.logger.warn({ partition: batch.partition, err: describeError(err), retryInMs: 0 }, 'kafka sink worker: batch not applied; it is fetched again');
        this.states.delete(batch.partition);
        throw err;
      }
      this.fail(err);
    }
  }
}
