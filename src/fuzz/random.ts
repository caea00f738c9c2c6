/**
 * The fuzzer's seeded randomness: every choice of a run (schema, workload, kill moments) comes from
 * one seed, split into independent streams (`fork`) so that the schema does not change when the
 * workload draws more numbers.
 */
import { Dice, prng } from '../local/workload.js';

export class FuzzRandom extends Dice {
  constructor(readonly seed: number) {
    super(prng(seed));
  }

  /** An independent stream for one purpose (`label`), derived from this seed. */
  fork(label: string): FuzzRandom {
    let h = this.seed ^ 0x9e3779b9;
    for (const ch of label) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return new FuzzRandom(h >>> 0);
  }

  /** `n` items drawn without repetition (order random). */
  sample<T>(items: readonly T[], n: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length > 0) out.push(pool.splice(this.int(0, pool.length - 1), 1)[0] as T);
    return out;
  }

  /** A weighted choice: `[weight, value]` pairs. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let x = this.float() * total;
    for (const [w, v] of choices) {
      x -= w;
      if (x < 0) return v;
    }
    const last = choices[choices.length - 1];
    if (!last) throw new Error('weighted choice from an empty list');
    return last[1];
  }


  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.chance(0.15) ? 0 : this.int(0, 9));
    return s;
  }
}
