/**
 * The small bounded buffer between zongji's push-style 'binlog' events and the pull-style async
 * iterator. zongji has no backpressure of its own: when the buffered weight (event bytes) rises above
 * `highWater` we call `onHigh` (pause the socket); once the consumer has drained it below `lowWater`
 * we call `onLow` (resume). A terminal error is delivered after the items buffered before it, so
 * committed transactions read before a lost connection are not thrown away.
 */
export interface EventBufferOptions<T> {
  readonly highWater: number;
  readonly lowWater: number;
  readonly weigh: (item: T) => number;
  readonly onHigh: () => void;
  readonly onLow: () => void;
}

export type Pulled<T> = { readonly done: false; readonly value: T } | { readonly done: true };

export class EventBuffer<T> {
  private items: T[] = [];
  private head = 0;
  private weightNow = 0;
  private paused = false;
  private ended = false;
  private failure: { error: unknown } | null = null;
  private waiter: ((r: Pulled<T> | { error: unknown }) => void) | null = null;
  /** Highest weight ever buffered (for tests and metrics). */
  maxWeight = 0;

  constructor(private readonly options: EventBufferOptions<T>) {}

  get weight(): number {
    return this.weightNow;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get closed(): boolean {
    return this.ended || this.failure !== null;
  }

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w({ done: false, value: item });
      return;
    }
    this.items.push(item);
    this.weightNow += this.options.weigh(item);
    if (this.weightNow > this.maxWeight) this.maxWeight = this.weightNow;
    // Called again even when already paused: zongji resumes the socket itself after fetching
    // table metadata, which would otherwise undo our pause.
    if (this.weightNow > this.options.highWater) {
      this.paused = true;
      this.options.onHigh();
    }
  }

  /** No more items; the consumer gets `done` after the buffered ones. */
  end(): void {
    if (this.closed) return;
    this.ended = true;
    this.settleWaiter();
  }

  /** Ends with an error, delivered after the buffered items. The first failure wins. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.settleWaiter();
  }

  /** Drops buffered items and ends now (abort). */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.weightNow = 0;
    this.ended = true;
    this.settleWaiter();
  }

  /** Next item synchronously when one is buffered, else undefined (the fast path of `next`). */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as T; // let it be collected
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.weightNow -= this.options.weigh(item);
    if (this.paused && this.weightNow <= this.options.lowWater) {
      this.paused = false;
      this.options.onLow();
    }
    return item;
  }

  next(): Promise<Pulled<T>> {
    const item = this.shift();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ done: true });
    if (this.waiter) throw new Error('EventBuffer.next() called while a previous next() is pending');
    return new Promise((resolve, reject) => {
      this.waiter = (r) => ('error' in r ? reject(r.error) : resolve(r));
    });
  }

  private settleWaiter(): void {
    const w = this.waiter;
    if (!w || this.length > 0) return;
    this.waiter = null;
    w(this.failure ? { error: this.failure.error } : { done: true });
  }
}
