import { describe, expect, it } from 'vitest';
import { OffsetWatermark } from '../../../connectors/kafka/offset-watermark.js';

// Messages at offsets 10..15 with sequence numbers 1..6; offset 12 was skipped (a marker), so seq 3 is 13.
const entries = [
  { txSeq: 1, offset: 10n },
  { txSeq: 2, offset: 11n },
  { txSeq: 3, offset: 13n },
  { txSeq: 4, offset: 14n },
  { txSeq: 5, offset: 15n },
];

describe('OffsetWatermark', () => {
  it('stores with a batch the first message not applied apart from its own', () => {
    const w = new OffsetWatermark(entries, 16n);
    // A batch holding the first two messages: once it commits, everything before 13 is applied.
    expect(w.nextWith(new Set([1, 2]))).toBe(13n);
    // A batch holding later messages only: the first message is still not applied.
    expect(w.nextWith(new Set([3, 5]))).toBe(10n);
    // A batch holding everything: the end of the fetched batch.
    expect(w.nextWith(new Set([1, 2, 3, 4, 5]))).toBe(16n);
  });

  it('counts batches in flight beside it as not applied, and moves on as batches commit', () => {
    const w = new OffsetWatermark(entries, 16n);
    const a = new Set([1, 3]);
    const b = new Set([2, 4, 5]);
    // Both in flight: each may only claim what is true if it alone commits.
    expect(w.nextWith(a)).toBe(11n);
    expect(w.nextWith(b)).toBe(10n);
    w.applied(b);
    expect(w.next).toBe(10n);
    expect(w.nextWith(a)).toBe(16n);
    w.applied(a);
    expect(w.next).toBe(16n);
  });

  it('is the end at once when nothing needs applying, and refuses a message it does not hold', () => {
    const empty = new OffsetWatermark([], 42n);
    expect(empty.next).toBe(42n);
    expect(empty.nextWith(new Set())).toBe(42n);
    expect(() => new OffsetWatermark(entries, 16n).applied([9])).toThrow(/not part of this batch/);
  });
});
