/**
 * In-process transport: one bounded queue per partition. Memory is bounded by partitions × capacity
 * mutations and partitions × maxBytes of (binlog-sized) row data, whichever fills first.
 */
import { BoundedQueue } from '../core/bounded-queue.js';
import type { Routed } from '../core/partitioner.js';
import type { Transport } from './transport.js';

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded';
  private readonly queues: BoundedQueue<Routed>[];

  constructor(
    readonly partitions: number,
    capacityPerPartition: number,
    maxBytesPerPartition = Infinity,
  ) {
    const weigh = (r: Routed): number => r.mutation.bytes;
    this.queues = Array.from({ length: partitions }, () => new BoundedQueue<Routed>(capacityPerPartition, maxBytesPerPartition, weigh));
  }

  private queue(p: number): BoundedQueue<Routed> {
    const q = this.queues[p];
    if (!q) throw new RangeError(`partition ${p} out of range 0..${this.partitions - 1}`);
    return q;
  }

  tryPublish(partition: number, item: Routed): boolean {
    return this.queue(partition).tryPush(item);
  }

  waitForSpace(partition: number): Promise<void> {
    return this.queue(partition).waitForSpace();
  }

  end(): void {
    for (const q of this.queues) q.close();
  }

  take(partition: number, max: number): Promise<Routed[]> {
    return this.queue(partition).takeBatch(max);
  }

  depth(partition: number): number {
    return this.queue(partition).size;
  }

  get queued(): number {
    let n = 0;
    for (const q of this.queues) n += q.size;
    return n;
  }
}
