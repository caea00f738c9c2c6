/**
 * Low watermark over source transactions: which position is safe to resume from.
 *
 * A transaction is done when its end was seen (commit) and every mutation routed for it has been
 * acknowledged (applied and committed on the target). The watermark is the end position of the last
 * done transaction before which every transaction is done — acks may come back in any order, the
 * watermark only moves forward through an unbroken prefix (cf. Jeffail/checkpoint). An abandoned
 * transaction (connection lost mid-way; re-read later) closes without a position of its own.
 *
 * Memory stays bounded whatever the backlog: neighbouring done transactions are merged into one entry
 * (the later position wins), so the list alternates between transactions still in flight and single
 * done runs — at most twice the number of transactions with unacknowledged mutations, which the
 * bounded queues limit. Transactions that touched no synced table therefore cost nothing while the
 * target is down.
 *
 * Holds: a transaction whose effects arrive later (an XA PREPARE group, applied at its XA COMMIT)
 * pins the checkpoint at the position before it until the transaction that releases it is done, so a
 * restart reads the prepared rows again. A checkpoint pinned by a hold may lie between another XA
 * transaction's PREPARE and its ending, which is already applied: the checkpoint names those
 * (`resolvedXa`), so that a restart skips an ending it cannot match to a PREPARE only when it is one
 * of them (and refuses any other).
 *
 * The pipeline's own transactions (snapshot chunks placed into the stream) have negative numbers:
 * they are ordered where they are created, between source transactions. A transaction may carry the
 * snapshot's progress; once it is passed, the checkpoint carries that progress.
 */
import type { CommitEvent } from './event.js';
import type { Checkpoint, ResolvedXa, SnapshotProgress } from './ports.js';
import type { BinlogPosition } from './position.js';
import { comparePositions } from './position.js';

interface TxNode {
  txSeq: number;
  pending: number;
  closed: boolean;
  position: BinlogPosition | null;
  timestampMs: number;
  /** Holds this transaction releases once it is passed (XA COMMIT / ROLLBACK). */
  releases: string[] | null;
  /** The snapshot's progress once this transaction is applied. */
  snapshot: SnapshotProgress | null;
  prev: TxNode | null;
  next: TxNode | null;
}

export interface CommitOptions {
  /** Pin the checkpoint at `from` (the position before this transaction) until `release(id)`. */
  readonly hold?: { readonly id: string; readonly from: Checkpoint };
  /** Holds to drop once this transaction is passed. */
  readonly releases?: readonly string[];
  /** The snapshot's progress once this transaction is applied (a chunk of it). */
  readonly snapshot?: SnapshotProgress;
}

/** What a source's commit event says about holds (XA PREPARE groups) and their release. */
export function commitOptionsOf(ev: CommitEvent): CommitOptions {
  return {
    ...(ev.hold ? { hold: { id: ev.hold.id, from: { position: ev.hold.from, sourceTimestampMs: ev.hold.fromTimestampMs } } } : {}),
    ...(ev.releases ? { releases: ev.releases } : {}),
  };
}

/** Whether storing `b` after `a` would change nothing (same position, same XA and snapshot notes). */
export function sameCheckpoint(a: Checkpoint, b: Checkpoint): boolean {
  if (comparePositions(a.position, b.position) !== 0 || a.snapshot !== b.snapshot) return false;
  const x = a.resolvedXa ?? [];
  const y = b.resolvedXa ?? [];
  return x.length === y.length && x.every((r, i) => r.xid === y[i]!.xid && comparePositions(r.at, y[i]!.at) === 0);
}

export class WatermarkError extends Error {
  override readonly name = 'WatermarkError';
}

export class Watermark {
  private head: TxNode | null = null;
  private tail: TxNode | null = null;
  /** Transactions not done yet (acks and late commits find them here). */
  private readonly open = new Map<number, TxNode>();
  private readonly holds = new Map<string, Checkpoint>();
  /**
   * Released holds whose ending may still lie after the checkpoint: `from` is where their PREPARE
   * began (null: before the initial checkpoint), `at` where their ending was passed.
   */
  private readonly resolved = new Map<string, { readonly from: BinlogPosition | null; readonly at: BinlogPosition }>();
  private low: Checkpoint | null;
  /** The snapshot progress of the last passed transaction that carried one. */
  private snapshot: SnapshotProgress | null;
  private lastSeq = -Infinity;
  private entries = 0;

  constructor(initial: Checkpoint | null = null) {
    this.low = initial && { position: initial.position, sourceTimestampMs: initial.sourceTimestampMs };
    this.snapshot = initial?.snapshot ?? null;
    for (const r of initial?.resolvedXa ?? []) this.resolved.set(r.xid, { from: null, at: r.at });
  }

  private node(txSeq: number): TxNode {
    const found = this.open.get(txSeq);
    if (found) return found;
    if (txSeq >= 0) {
      if (txSeq <= this.lastSeq) throw new WatermarkError(`transaction ${txSeq} arrived after ${this.lastSeq}: sources must number transactions in order`);
      this.lastSeq = txSeq;
    }
    const n: TxNode = { txSeq, pending: 0, closed: false, position: null, timestampMs: 0, releases: null, snapshot: null, prev: this.tail, next: null };
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
    this.open.set(txSeq, n);
    this.entries++;
    return n;
  }

  /** `n` more mutations of `txSeq` are in flight. */
  track(txSeq: number, n = 1): void {
    const s = this.node(txSeq);
    if (s.closed) throw new WatermarkError(`transaction ${txSeq} got more mutations after its end`);
    s.pending += n;
  }

  /** The transaction ended at `position` (its resume point). */
  commit(txSeq: number, position: BinlogPosition, timestampMs: number, options: CommitOptions = {}): void {
    const s = this.node(txSeq);
    s.closed = true;
    s.position = position;
    s.timestampMs = timestampMs;
    if (options.hold) this.holds.set(options.hold.id, options.hold.from);
    if (options.releases && options.releases.length > 0) s.releases = [...options.releases];
    if (options.snapshot) s.snapshot = options.snapshot;
    if (s.pending === 0) this.settle(s);
  }

  /** The transaction will be re-read under a new number; what was routed for it still has to settle. */
  abandon(txSeq: number): void {
    const s = this.open.get(txSeq);
    if (!s) return;
    s.closed = true;
    s.position = null;
    if (s.pending === 0) this.settle(s);
  }

  /** `n` mutations of `txSeq` are durably applied. */
  ack(txSeq: number, n = 1): void {
    const s = this.open.get(txSeq);
    if (!s) throw new WatermarkError(`ack for unknown transaction ${txSeq}`);
    s.pending -= n;
    if (s.pending < 0) throw new WatermarkError(`transaction ${txSeq} acknowledged more mutations than were routed`);
    if (s.pending === 0 && s.closed) this.settle(s);
  }

  /** `s` just became done: merge it with done neighbours, then move the watermark if it leads. */
  private settle(s: TxNode): void {
    this.open.delete(s.txSeq);
    let n = s;
    const prev = n.prev;
    if (prev && !this.open.has(prev.txSeq)) {
      this.absorb(prev, n);
      n = prev;
    }
    const next = n.next;
    if (next && !this.open.has(next.txSeq)) this.absorb(n, next);
    if (n === this.head) this.pass(n);
  }

  /** Folds done `later` into done `earlier` (its neighbour): passing one passes both. */
  private absorb(earlier: TxNode, later: TxNode): void {
    if (later.position) {
      earlier.position = later.position;
      earlier.timestampMs = later.timestampMs;
    }
    if (later.releases) earlier.releases = earlier.releases ? [...earlier.releases, ...later.releases] : later.releases;
    if (later.snapshot) earlier.snapshot = later.snapshot;
    earlier.txSeq = later.txSeq;
    this.unlink(later);
  }

  private pass(n: TxNode): void {
    if (n.position) this.low = { position: n.position, sourceTimestampMs: n.timestampMs };
    if (n.snapshot) this.snapshot = n.snapshot;
    if (n.releases) {
      for (const id of n.releases) {
        const hold = this.holds.get(id);
        if (hold && this.low) this.resolved.set(id, { from: hold.position, at: this.low.position });
        this.holds.delete(id);
      }
    }
    this.unlink(n);
    // Endings at or before the checkpoint are never read again.
    const cp = this.pinned();
    if (cp) for (const [id, r] of this.resolved) if (comparePositions(r.at, cp.position) <= 0) this.resolved.delete(id);
  }

  private unlink(n: TxNode): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = null;
    this.entries--;
  }

  /**
   * Everything before `position` is applied and the change at it too (a statement applied as a
   * barrier): it becomes the low watermark, even inside an open transaction. Refused (false) while a
   * prepared transaction holds the checkpoint further back.
   */
  passBarrier(position: BinlogPosition, timestampMs: number): boolean {
    if (this.holds.size > 0) return false;
    for (let n = this.head; n; n = n.next) if (n.pending > 0) throw new WatermarkError('a barrier was passed with mutations still in flight');
    this.low = { position, sourceTimestampMs: timestampMs };
    return true;
  }

  /** The low watermark, or the oldest hold when that is further back. */
  private pinned(): Checkpoint | null {
    const low = this.low;
    for (const hold of this.holds.values()) {
      // Holds are taken in stream order: the first one is the oldest.
      return low && comparePositions(hold.position, low.position) < 0 ? hold : low;
    }
    return low;
  }

  /**
   * The checkpoint that is safe to store now (null before anything is done and no initial one). A
   * snapshot's progress rides along until every table is copied. (When a hold pins the checkpoint
   * before the chunk that made that progress, a restart reads the changes in between again over the
   * copied rows, which converges to the same rows: replay is idempotent.)
   */
  get checkpoint(): Checkpoint | null {
    const cp = this.pinned();
    if (!cp) return cp;
    const snapshot = this.snapshot && this.snapshot.tables.some((t) => !t.done) ? this.snapshot : null;
    const resolvedXa: ResolvedXa[] = [];
    for (const [xid, r] of this.resolved) {
      // Its PREPARE before the checkpoint (not read again) and its ending after it (read again).
      if ((r.from === null || comparePositions(r.from, cp.position) < 0) && comparePositions(r.at, cp.position) > 0) resolvedXa.push({ xid, at: r.at });
    }
    if (resolvedXa.length === 0 && !snapshot) return cp;
    return { ...cp, ...(resolvedXa.length > 0 ? { resolvedXa } : {}), ...(snapshot ? { snapshot } : {}) };
  }

  /** Whether transaction `txSeq` (seen before) has all its mutations applied. */
  isDone(txSeq: number): boolean {
    return !this.open.has(txSeq);
  }

  /** Transactions seen but not yet done. */
  get inFlight(): number {
    return this.open.size;
  }

  /** Prepared transactions pinning the checkpoint. */
  get heldCount(): number {
    return this.holds.size;
  }

  /** Entries kept (for tests: bounded by the transactions in flight). */
  get size(): number {
    return this.entries;
  }
}
