import { describe, expect, it } from 'vitest';
import { Watermark } from '../../../src/core/watermark.js';

const p = (pos: number) => ({ file: 'mysql-bin.000001', pos });

describe('Watermark', () => {
  it('advances only through an unbroken prefix of done transactions', () => {
    const w = new Watermark();
    w.track(1, 2);
    w.track(2, 1);
    w.commit(1, p(100), 1);
    w.commit(2, p(200), 2);
    w.ack(2);
    expect(w.checkpoint).toBeNull();
    w.ack(1, 1);
    expect(w.checkpoint).toBeNull();
    w.ack(1, 1);
    expect(w.checkpoint?.position).toEqual(p(200));
    expect(w.inFlight).toBe(0);
  });

  it('never passes a transaction whose commit was not seen', () => {
    const w = new Watermark({ position: p(4), sourceTimestampMs: 0 });
    w.track(1);
    w.ack(1);
    expect(w.checkpoint?.position).toEqual(p(4));
    w.commit(1, p(50), 0);
    expect(w.checkpoint?.position).toEqual(p(50));
  });

  it('passes transactions without routed changes (filtered tables) at once', () => {
    const w = new Watermark();
    w.commit(1, p(10), 0);
    expect(w.checkpoint?.position).toEqual(p(10));
  });

  it('closes an abandoned transaction without taking its position', () => {
    const w = new Watermark();
    w.commit(1, p(10), 0);
    w.track(2, 1);
    w.abandon(2);
    w.track(3, 1);
    w.ack(2);
    expect(w.checkpoint?.position).toEqual(p(10));
    w.commit(3, p(30), 0);
    w.ack(3);
    expect(w.checkpoint?.position).toEqual(p(30));
  });

  it('rejects more acks than tracked mutations', () => {
    const w = new Watermark();
    w.track(1);
    w.ack(1);
    expect(() => w.ack(1)).toThrow(/more mutations|unknown/);
  });

  it('keeps memory flat over a long stream', () => {
    const w = new Watermark();
    for (let i = 1; i <= 100_000; i++) {
      w.track(i);
      w.commit(i, p(i * 10), i);
      w.ack(i);
    }
    expect(w.inFlight).toBe(0);
    expect(w.checkpoint?.position).toEqual(p(1_000_000));
  });
});

describe('Watermark memory while the target is down', () => {
  it('keeps one entry for any number of transactions that touched no synced table', () => {
    const w = new Watermark();
    w.track(1);
    w.commit(1, p(10), 1); // in flight: the target is down
    for (let i = 2; i <= 50_000; i++) w.commit(i, p(i * 10), i);
    expect(w.size).toBe(2);
    expect(w.checkpoint).toBeNull();
    w.ack(1);
    expect(w.checkpoint?.position).toEqual(p(500_000));
    expect(w.size).toBe(0);
  });

  it('merges done transactions behind one that is stuck, whatever order the acks come in', () => {
    const w = new Watermark();
    w.track(1);
    w.commit(1, p(10), 1);
    for (let i = 2; i <= 20_000; i++) {
      w.track(i);
      w.commit(i, p(i * 10), i);
    }
    // Acks of everything but the first, in a scattered order.
    for (let k = 0; k < 7; k++) for (let i = 2 + k; i <= 20_000; i += 7) w.ack(i);
    expect(w.size).toBe(2);
    expect(w.inFlight).toBe(1);
    expect(w.checkpoint).toBeNull();
    w.ack(1);
    expect(w.checkpoint?.position).toEqual(p(200_000));
  });
});

describe('Watermark holds (XA PREPARE … XA COMMIT)', () => {
  it('pins the checkpoint before a prepared transaction until the one that releases it is done', () => {
    const w = new Watermark();
    w.commit(1, p(10), 1);
    // tx 2 is an XA PREPARE group: its rows are applied later, with tx 4 (the XA COMMIT).
    w.commit(2, p(20), 2, { hold: { id: 'xid-a', from: { position: p(10), sourceTimestampMs: 1 } } });
    w.track(3);
    w.commit(3, p(30), 3);
    w.ack(3);
    expect(w.checkpoint?.position).toEqual(p(10));
    w.track(4, 2);
    w.commit(4, p(40), 4, { releases: ['xid-a'] });
    w.ack(4);
    expect(w.checkpoint?.position).toEqual(p(10));
    expect(w.heldCount).toBe(1);
    w.ack(4);
    expect(w.checkpoint?.position).toEqual(p(40));
    expect(w.heldCount).toBe(0);
  });

  it('reports an earlier unfinished transaction rather than a later hold', () => {
    const w = new Watermark({ position: p(4), sourceTimestampMs: 0 });
    w.track(1);
    w.commit(1, p(10), 1);
    w.commit(2, p(20), 2, { hold: { id: 'x', from: { position: p(10), sourceTimestampMs: 1 } } });
    expect(w.checkpoint?.position).toEqual(p(4));
    w.ack(1);
    expect(w.checkpoint?.position).toEqual(p(10));
  });

  it('names an XA transaction whose ending is applied while a later PREPARE holds the checkpoint before that ending (found by the fuzzer)', () => {
    const w = new Watermark();
    // XA a prepared at 10..20, XA b prepared at 30..40, XA COMMIT a at 50, XA COMMIT b at 70.
    w.commit(1, p(20), 1, { hold: { id: 'a', from: { position: p(10), sourceTimestampMs: 1 } } });
    w.commit(2, p(40), 2, { hold: { id: 'b', from: { position: p(30), sourceTimestampMs: 2 } } });
    w.track(3);
    w.commit(3, p(50), 3, { releases: ['a'] });
    w.ack(3);
    // b pins the checkpoint at 30: a restart reads a's XA COMMIT (50) but not its PREPARE (10).
    expect(w.checkpoint).toEqual({ position: p(30), sourceTimestampMs: 2, resolvedXa: [{ xid: 'a', at: p(50) }] });
    w.track(4);
    w.commit(4, p(70), 4, { releases: ['b'] });
    w.ack(4);
    // Nothing is read again before 70: nothing to name.
    expect(w.checkpoint).toEqual({ position: p(70), sourceTimestampMs: 4 });
  });

  it('keeps naming the resolved XA transactions of its initial checkpoint until it passes their endings', () => {
    const w = new Watermark({ position: p(30), sourceTimestampMs: 2, resolvedXa: [{ xid: 'a', at: p(50) }] });
    expect(w.checkpoint?.resolvedXa).toEqual([{ xid: 'a', at: p(50) }]);
    // b's PREPARE is read again and holds the checkpoint at 30.
    w.commit(1, p(40), 2, { hold: { id: 'b', from: { position: p(30), sourceTimestampMs: 2 } } });
    w.commit(2, p(50), 3, { releases: ['a'] }); // a's ending, skipped by the source: nothing to apply
    expect(w.checkpoint).toEqual({ position: p(30), sourceTimestampMs: 2, resolvedXa: [{ xid: 'a', at: p(50) }] });
    w.track(3);
    w.commit(3, p(70), 4, { releases: ['b'] });
    w.ack(3);
    expect(w.checkpoint).toEqual({ position: p(70), sourceTimestampMs: 4 });
  });

  it('rejects changes for a transaction after its end', () => {
    const w = new Watermark();
    w.track(1);
    w.commit(1, p(10), 1);
    expect(() => w.track(1)).toThrow(/after its end/);
  });
});
