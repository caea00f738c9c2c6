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
