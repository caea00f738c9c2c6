/**
 * XA transactions as the binlog records them (MariaDB 10.11; MySQL alike, see FACTS):
 * - `XA PREPARE` writes its own event group: GTID (or an `XA START` query), rows, `XA END`, then an
 *   XA_PREPARE event. The rows are not committed yet: they may still be rolled back.
 * - `XA COMMIT xid` / `XA ROLLBACK xid` come later as a group of their own (GTID + query), with
 *   other transactions in between (the prepared rows stay locked on the source until then).
 * - `XA COMMIT … ONE PHASE` is an ordinary group (MariaDB) or ends in a one-phase XA_PREPARE (MySQL).
 * So the prepared group's rows are held here, by xid, until its XA COMMIT (then applied as part of
 * that transaction) or XA ROLLBACK (then dropped). Meanwhile the watermark holds the checkpoint
 * before the prepare group, so a restart reads the rows again. Memory is bounded: a prepared
 * transaction larger than `maxBytes` stops the pipeline with a clear error instead of growing.
 */
import { SourceError } from '../../src/index.js';
import type { DecodedChange } from './tx-assembler.js';
import { describeXid } from './xa-ids.js';

interface Held {
  readonly changes: DecodedChange[];
  bytes: number;
  prepared: boolean;
}

/** Default bound on the rows held for prepared XA transactions (their binlog size). */
export const XA_HOLD_MAX_BYTES = 64 << 20;

export class XaTracker {
  private readonly held = new Map<string, Held>();
  private bytes = 0;

  constructor(private readonly maxBytes = XA_HOLD_MAX_BYTES) {}

  /** An XA group for `xid` begins (XA START): earlier rows held under that xid are from a re-read. */
  start(xid: string): void {
    this.forget(xid);
    this.held.set(xid, { changes: [], bytes: 0, prepared: false });
  }

  /** Holds a change of the XA group `xid`. Throws SOURCE_XA past the memory bound. */
  hold(xid: string, change: DecodedChange): void {
    const h = this.held.get(xid);
    if (!h) throw new Error(`XA ${xid}: a row outside its group (a reader bug)`);
    h.changes.push(change);
    h.bytes += change.bytes;
    this.bytes += change.bytes;
    if (this.bytes > this.maxBytes) {
      throw new SourceError(
        'SOURCE_XA',
        `prepared XA transactions hold ${this.bytes} bytes of rows, more than the ${this.maxBytes} bytes binlog-sync keeps in memory until their XA COMMIT (the last one: ${describeXid(xid)}). Commit or roll back long-prepared XA transactions on the source; the pipeline resumes from its checkpoint.`,
        { details: { xid: describeXid(xid), bytes: this.bytes } },
      );
    }
  }

  /** The group of `xid` ended in XA PREPARE: its rows wait for the XA COMMIT. */
  prepared(xid: string): void {
    const h = this.held.get(xid);
    if (h) h.prepared = true;
  }

  /** XA COMMIT: the held rows (undefined when this reader never saw the XA PREPARE). */
  take(xid: string): readonly DecodedChange[] | undefined {
    const h = this.held.get(xid);
    if (!h) return undefined;
    this.forget(xid);
    return h.changes;
  }

  /** XA ROLLBACK (or a one-phase group that carried the rows itself). */
  forget(xid: string): void {
    const h = this.held.get(xid);
    if (!h) return;
    this.bytes -= h.bytes;
    this.held.delete(xid);
  }

  /** Whether `xid` is a group whose rows are still being read (XA START seen, no XA PREPARE yet). */
  isOpen(xid: string): boolean {
    const h = this.held.get(xid);
    return h !== undefined && !h.prepared;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
