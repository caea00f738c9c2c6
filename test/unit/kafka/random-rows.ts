/** Seeded random rows for the envelope tests: every SqlValue kind, including the awkward ones. */
import type { Row } from '../../../src/core/event.js';

/** A random value of every SqlValue kind: NULL, safe integers, odd doubles, bytes, escapes and unicode, plain text. */
export function randomValue(rnd: () => number): Row[string] {
  const pick = Math.floor(rnd() * 10);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return Math.floor(rnd() * 2 ** 53) * (rnd() < 0.5 ? -1 : 1);
    case 2:
      return [0.1, -0, 1e-300, 1.7976931348623157e308, Number.NaN, Number.POSITIVE_INFINITY][Math.floor(rnd() * 6)]!;
    case 3:
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 9) }, () => Math.floor(rnd() * 256)));
    case 4:
      return '"quote" \\ back \n\t\u0000\u001f \u2028 😀 \ud800 é';
    default:
      return Array.from({ length: Math.floor(rnd() * 20) }, () => String.fromCharCode(32 + Math.floor(rnd() * 95))).join('');
  }
}

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
