/**
 * A bounded FIFO between one producer and one consumer. The producer is told "full" instead of the
 * queue growing (`tryPush` → false, then `waitForSpace`), which is how backpressure reaches the source.
 * Bounded by count and, with `weigh`, by weight (bytes): a few huge rows fill it as surely as many
 * small ones. One item is always accepted into an empty queue, however heavy, so nothing gets stuck.
 */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
}

export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  private closed = false;
  private spaceWaiters: (() => void)[] = [];
  private itemWaiter: (() => void) | null = null;
  private weightNow = 0;

  constructor(
    readonly capacity: number,
    readonly maxWeight = Infinity,
    private readonly weigh: (item: T) => number = () => 0,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get weight(): number {
    return this.weightNow;
  }

  private get full(): boolean {
    return this.size >= this.capacity || (this.size > 0 && this.weightNow >= this.maxWeight);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  tryPush(item: T): boolean {
    if (this.closed) throw new QueueClosedError('push to a closed queue');
    if (this.full) return false;
    this.items.push(item);
    this.weightNow += this.weigh(item);
    const w = this.itemWaiter;
    if (w) {
      this.itemWaiter = null;
      w();
    }
    return true;
  }

  /** Resolves once there is room (or the queue is closed). */
  waitForSpace(): Promise<void> {
    if (this.closed || !this.full) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  async push(item: T): Promise<void> {
    while (!this.tryPush(item)) await this.waitForSpace();
  }

  /** Waits for at least one item, then takes up to `max`. Returns [] once closed and drained. */
  async takeBatch(max: number): Promise<T[]> {
    while (this.size === 0) {
      if (this.closed) return [];
      await new Promise<void>((resolve) => (this.itemWaiter = resolve));
    }
    const n = Math.min(max, this.size);
    const out = this.items.slice(this.head, this.head + n);
    this.head += n;
    for (const item of out) this.weightNow -= this.weigh(item);
    if (this.size === 0) this.weightNow = 0;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.wakeProducers();
    return out;
  }

  private wakeProducers(): void {
    if (this.spaceWaiters.length === 0 || this.full) return;
    const ws = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of ws) w();
  }

  /** No more pushes; the consumer drains what is left, then gets []. */
  close(): void {
    this.closed = true;
    const w = this.itemWaiter;
    this.itemWaiter = null;
    w?.();
    const ws = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const s of ws) s();
  }
}
