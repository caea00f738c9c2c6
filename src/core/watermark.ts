/**
 * Low watermark over source transactions: which position is safe to resume from.
 *
 * A transaction is done when its end was seen (commit) and every mutation routed for it has been
 * acknowledged (applied and committed on the target). The watermark is the end position of the last
 * done transaction before which every transaction is done — acks may come back in any order, the
 * watermark only moves forward through an unbroken prefix (cf. Jeffail/checkpoint). An abandoned
 * transaction (connection lost mid-way; re-read later) closes without a position of its own.
 */
import type { Checkpoint } from './ports.js';
import type { BinlogPosition } from './position.js';

interface TxState {
  readonly txSeq: number;
  pending: number;
  closed: boolean;
  position: BinlogPosition | null;
  timestampMs: number;
}

export class WatermarkError extends Error {
  override readonly name = 'WatermarkError';
}

export class Watermark {
  private readonly queue: TxState[] = [];
  private head = 0;
  private readonly bySeq = new Map<number, TxState>();
  private low: Checkpoint | null;
  private lastSeq = -Infinity;

  constructor(initial: Checkpoint | null = null) {
    this.low = initial;
  }

  private state(txSeq: number): TxState {
    let s = this.bySeq.get(txSeq);
    if (s) return s;
    if (txSeq < this.lastSeq) throw new WatermarkError(`transaction ${txSeq} arrived after ${this.lastSeq}: sources must number transactions in order`);
    s = { txSeq, pending: 0, closed: false, position: null, timestampMs: 0 };
    this.lastSeq = txSeq;
    this.bySeq.set(txSeq, s);
    this.queue.push(s);
    return s;
  }

  /** `n` more mutations of `txSeq` are in flight. */
  track(txSeq: number, n = 1): void {
    this.state(txSeq).pending += n;
  }

  /** The transaction ended at `position` (its resume point). */
  commit(txSeq: number, position: BinlogPosition, timestampMs: number): void {
    const s = this.state(txSeq);
    s.closed = true;
    s.position = position;
    s.timestampMs = timestampMs;
    this.advance();
  }

  /** The transaction will be re-read under a new number; what was routed for it still has to settle. */
  abandon(txSeq: number): void {
    const s = this.bySeq.get(txSeq);
    if (!s) return;
    s.closed = true;
    s.position = null;
    this.advance();
  }

  /** `n` mutations of `txSeq` are durably applied. */
  ack(txSeq: number, n = 1): void {
    const s = this.bySeq.get(txSeq);
    if (!s) throw new WatermarkError(`ack for unknown transaction ${txSeq}`);
    s.pending -= n;
    if (s.pending < 0) throw new WatermarkError(`transaction ${txSeq} acknowledged more mutations than were routed`);
    if (s.pending === 0 && s.closed) this.advance();
  }

  private advance(): void {
    while (this.head < this.queue.length) {
      const s = this.queue[this.head]!;
      if (!s.closed || s.pending > 0) break;
      if (s.position) this.low = { position: s.position, sourceTimestampMs: s.timestampMs };
      this.bySeq.delete(s.txSeq);
      this.head++;
    }
    // Compact now and then so the array does not grow with the stream.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The checkpoint that is safe to store now (null before anything is done and no initial one). */
  get checkpoint(): Checkpoint | null {
    return this.low;
  }

  /** Transactions seen but not yet done. */
  get inFlight(): number {
    return this.queue.length - this.head;
  }
}
