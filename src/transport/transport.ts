/**
 * The boundary between the dispatcher (source side) and the partition consumers (sink side).
 * Embedded: in-process bounded queues. Kafka (later): a topic with the same partitioning, where
 * `publish` produces and each consumer reads its assigned partitions.
 */
import type { Routed } from '../core/partitioner.js';

export interface PartitionProducer {
  /** Accepts the item, or returns false when the partition is full (then await `waitForSpace`). */
  tryPublish(partition: number, item: Routed): boolean;
  waitForSpace(partition: number): Promise<void>;
  /** No more items: consumers drain what is queued and finish. */
  end(): void;
}

export interface PartitionConsumer {
  /** Up to `max` items of `partition`, waiting for at least one; [] when the stream has ended. */
  take(partition: number, max: number): Promise<Routed[]>;
  /** Items queued (not yet taken) across partitions, for progress reports. */
  readonly queued: number;
  /** Items queued in one partition (metrics); absent where the queue is not ours to count. */
  depth?(partition: number): number;
}

export interface Transport extends PartitionProducer, PartitionConsumer {
  readonly partitions: number;
  readonly kind: string;
}
