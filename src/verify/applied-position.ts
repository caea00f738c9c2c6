/**
 * Waits until the pipeline has applied up to a source position: its checkpoint on the target is at or
 * past it. Bounded: the first wait that runs out of time (or finds no checkpoint at all) is recorded as
 * the shortfall, and from then on nothing waits any more (a stopped pipeline would otherwise cost the
 * timeout once per recheck); later calls still say whether the position has been reached by then.
 * Concurrent callers share one read of the checkpoint at a time.
 */
import { comparePositions, type BinlogPosition } from '../core/position.js';

/** Why rechecks ran without the pipeline having applied up to the source position. */
export interface AppliedShortfall {
  /** The source position that was waited for. */
  readonly wanted: BinlogPosition;
  /** The pipeline's checkpoint when the wait ended (null: it has none). */
  readonly applied: BinlogPosition | null;
  readonly waitedMs: number;
}

export interface AppliedPositionOptions {
  /** How long one wait may take before the waiter gives up for good. */
  readonly timeoutMs: number;
  /** Between reads of the checkpoint; default 100 ms. */
  readonly pollMs?: number;
}

export class AppliedPositionWaiter {
  private latest: BinlogPosition | null = null;
  private reading: Promise<BinlogPosition | null> | null = null;
  private gaveUp: AppliedShortfall | null = null;

  constructor(
    private readonly readApplied: () => Promise<BinlogPosition | null>,
    private readonly options: AppliedPositionOptions,
  ) {}

  /** The first wait that was not met, or null. */
  get shortfall(): AppliedShortfall | null {
    return this.gaveUp;
  }

  /** Whether the pipeline has applied up to `wanted` (waiting for it, unless the waiter gave up before). */
  async reach(wanted: BinlogPosition): Promise<boolean> {
    if (this.covers(this.latest, wanted)) return true;
    const started = Date.now();
    for (;;) {
      const applied = await this.read();
      if (this.covers(applied, wanted)) return true;
      if (this.gaveUp) return false;
      const waitedMs = Date.now() - started;
      if (applied === null || waitedMs >= this.options.timeoutMs) {
        this.gaveUp = { wanted, applied, waitedMs };
        return false;
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 100));
    }
  }

  private covers(applied: BinlogPosition | null, wanted: BinlogPosition): boolean {
    return applied !== null && comparePositions(applied, wanted) >= 0;
  }

  private read(): Promise<BinlogPosition | null> {
    this.reading ??= this.readApplied()
      .then((p) => {
        if (p && (!this.latest || comparePositions(p, this.latest) > 0)) this.latest = p;
        return p;
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}
