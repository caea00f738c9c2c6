/**
 * Which messages of one fetched Kafka batch (one partition) are applied, and the offset a lane batch
 * stores in its own target transaction: the first message not applied apart from that batch's own.
 * Written with GREATEST, that value is true as soon as the transaction commits, whatever the lane
 * batches still in flight beside it do; so the target's offset never runs ahead of the data, and a
 * restart re-applies only what was in flight. Pure.
 */
export interface OffsetEntry {
  /** The sequence number the message's mutation carries (the lanes acknowledge by it). */
  readonly txSeq: number;
  readonly offset: bigint;
}

export class OffsetWatermark {
  private readonly indexOf = new Map<number, number>();
  private readonly done: Uint8Array;
  /** Every entry before it is applied. */
  private low = 0;

  /**
   * `entries`: the messages to apply, in offset order. `end`: the offset after the fetched batch's last
   * message (messages not among the entries — skipped, already applied — count as applied).
   */
  constructor(
    private readonly entries: readonly OffsetEntry[],
    private readonly end: bigint,
  ) {
    this.done = new Uint8Array(entries.length);
    entries.forEach((e, i) => this.indexOf.set(e.txSeq, i));
  }

  /** The offset to store with a lane batch that applies `txSeqs`: valid once that batch commits. */
  nextWith(txSeqs: ReadonlySet<number>): bigint {
    for (let i = this.low; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (this.done[i] === 0 && !txSeqs.has(e.txSeq)) return e.offset;
    }
    return this.end;
  }

  /** Marks the messages of a committed lane batch applied. Throws on a sequence number it does not hold. */
  applied(txSeqs: Iterable<number>): void {
    for (const seq of txSeqs) {
      const i = this.indexOf.get(seq);
      if (i === undefined) throw new Error(`offset watermark: message ${seq} is not part of this batch`);
      this.done[i] = 1;
    }
    while (this.low < this.entries.length && this.done[this.low] === 1) this.low++;
  }

  /** The first offset not applied (the batch's end once everything is). */
  get next(): bigint {
    return this.low < this.entries.length ? this.entries[this.low]!.offset : this.end;
  }
}
