/**
 * Transaction assembly: turns the binlog's event sequence into the core's transaction-tagged events.
 * A transaction starts at a GTID event (MariaDB `mariadbgtid`, MySQL `gtid`/`anonymousgtid`) or a
 * `BEGIN` query, gets the next `txSeq`, and ends at an `xid` (InnoDB), a `COMMIT`/`ROLLBACK` query
 * (non-transactional tables; a ROLLBACK that is logged only undoes transactional changes, the
 * logged rows stand) or a DDL query, which commits implicitly and is its own group. Only ends
 * carry a resume position: inside a transaction MariaDB writes end_log_pos 0 and zongji freezes
 * its position, so nothing mid-transaction is offered as a resume point — except the end of a
 * statement-format change that the sink ran as a barrier (everything before it is applied then).
 *
 * On MariaDB it also tracks the GTID position: seeded where reading begins, moved by every event
 * group's GTID, and carried by transaction boundaries (ends and starts) as `gtidPos`, so a checkpoint
 * names its GTID position without asking the server. A statement barrier's position lies inside a
 * transaction and gets none: no GTID position names a place inside a transaction.
 */
import type { DdlScope } from '../../src/index.js';
import type { ChangeEvent, ChangeOp, CommitEvent, Row, RowIdentity, SchemaChangeEvent, StatementEvent, TableKeys, TableRef } from '../../src/index.js';
import type { BinlogPosition } from '../../src/index.js';
import type { AbandonEvent } from '../../src/index.js';
import { GtidPositionTracker, gtidPositionOfList, type Gtid } from '../../src/index.js';

/** One decoded row change, before it is placed in a transaction (the XA tracker holds these). */
export interface DecodedChange {
  readonly op: ChangeOp;
  readonly keys: TableKeys;
  readonly before: Row | null;
  readonly after: Row | null;
  readonly beforeId: RowIdentity | null;
  readonly afterId: RowIdentity | null;
  /** Share of its rows event's size. */
  readonly bytes: number;
}

interface OpenTx {
  readonly txSeq: number;
  readonly gtid: string | undefined;
  /** Where the group began: the end of the one before it (a resume point). */
  readonly start: BinlogPosition;
  changeCount: number;
  /** A BEGIN was seen (after the GTID event, on MySQL): a second BEGIN is a new transaction. */
  begun: boolean;
}

export class TxAssembler {
  private seq: number;
  private open: OpenTx | null = null;
  private fileName: string;
  private lastPos: number;
  private readonly gtidPos = new GtidPositionTracker();

  constructor(start: { file: string; pos: number }, firstTxSeq = 1) {
    this.fileName = start.file;
    this.lastPos = start.pos;
    this.seq = firstTxSeq - 1;
  }

  get file(): string {
    return this.fileName;
  }

  get inTransaction(): boolean {
    return this.open !== null && this.open.changeCount > 0;
  }

  /** Between event groups: no GTID, BEGIN or change since the last end. */
  get idle(): boolean {
    return this.open === null;
  }

  /** The txSeq the next transaction will get. */
  get nextTxSeq(): number {
    return this.seq + 1;
  }

  /**
   * An event that belongs to no transaction, seen between groups (format description, GTID list,
   * binlog checkpoint): the next group begins after it, which is where the source's head may sit.
   */
  between(nextPosition: number): BinlogPosition {
    if (this.open === null) this.lastPos = nextPosition;
    return this.boundary(nextPosition, undefined);
  }

  /** The GTID position where reading begins (null: unknown, until a binlog file's GTID list names it). */
  seedGtidPosition(text: string | null): void {
    this.gtidPos.seed(text);
  }

  /**
   * A GTID list event: the GTID position at its place. It seeds an unknown position only when it lies
   * where reading stands (the start of a file read from its start), not a list from before the start.
   */
  gtidList(list: readonly Gtid[], nextPosition: number): void {
    if (!this.gtidPos.known && this.open === null && nextPosition >= this.lastPos) this.gtidPos.seed(gtidPositionOfList(list));
  }

  /** A rotate event: the stream continues in `file` at `pos`. */
  rotate(file: string, pos: number): void {
    this.fileName = file;
    this.lastPos = pos;
  }

  private openTx(gtid: string | undefined, begun: boolean): OpenTx {
    this.open = { txSeq: ++this.seq, gtid, start: this.boundary(this.lastPos, undefined), changeCount: 0, begun };
    return this.open;
  }

  /** A GTID event: a new event group begins. `tracked`: a MariaDB GTID, which moves the GTID position. */
  gtid(gtid: string | undefined, tracked = false): void {
    this.openTx(gtid, false);
    if (tracked && gtid !== undefined) this.gtidPos.apply(gtid);
  }

  begin(): void {
    if (this.open && !this.open.begun && this.open.changeCount === 0) {
      this.open.begun = true;
      return;
    }
    this.openTx(undefined, true);
  }

  private current(): OpenTx {
    return this.open ?? this.openTx(undefined, true);
  }

  /** Where the open event group began (the position before it); null between groups. */
  get groupStart(): BinlogPosition | null {
    return this.open?.start ?? null;
  }

  position(pos: number, gtid: string | undefined): BinlogPosition {
    return gtid === undefined ? { file: this.fileName, pos } : { file: this.fileName, pos, gtid };
  }

  /** A position between event groups: with the GTID position there, when it is known. */
  private boundary(pos: number, gtid: string | undefined): BinlogPosition {
    const gtidPos = this.gtidPos.text;
    if (gtidPos === undefined) return this.position(pos, gtid);
    return gtid === undefined ? { file: this.fileName, pos, gtidPos } : { file: this.fileName, pos, gtid, gtidPos };
  }

  /** The position object of the last change: the rows of one rows event share one (values never change). */
  private lastChangePosition: BinlogPosition | null = null;

  private changePosition(pos: number, gtid: string | undefined): BinlogPosition {
    const last = this.lastChangePosition;
    if (last && last.pos === pos && last.gtid === gtid && last.file === this.fileName) return last;
    return (this.lastChangePosition = this.position(pos, gtid));
  }

  change(c: DecodedChange, nextPosition: number, timestampMs: number): ChangeEvent {
    const tx = this.current();
    const index = tx.changeCount++;
    // Row events inside a MariaDB transaction carry end_log_pos 0: fall back to the last real one.
    const pos = nextPosition > 0 ? nextPosition : this.lastPos;
    return {
      kind: 'change',
      op: c.op,
      table: c.keys.table,
      keys: c.keys,
      before: c.before,
      after: c.after,
      beforeId: c.beforeId,
      afterId: c.afterId,
      txSeq: tx.txSeq,
      position: this.changePosition(pos, tx.gtid),
      txStart: tx.start,
      index,
      timestampMs,
      bytes: c.bytes,
    };
  }

  /**
   * An `xid`, a COMMIT/ROLLBACK query, or the end of an XA group. `xa.hold`: the group is an XA
   * PREPARE whose rows come later, with the XA COMMIT; `xa.releases`: it is that XA COMMIT/ROLLBACK.
   */
  commit(nextPosition: number, timestampMs: number, xa: { hold?: string; releases?: readonly string[] } = {}): CommitEvent {
    const tx = this.current();
    this.open = null;
    this.lastPos = nextPosition;
    const event: CommitEvent = { kind: 'commit', txSeq: tx.txSeq, position: this.boundary(nextPosition, tx.gtid), timestampMs, changeCount: tx.changeCount };
    if (xa.hold !== undefined) return { ...event, hold: { id: xa.hold, from: tx.start, fromTimestampMs: timestampMs } };
    if (xa.releases && xa.releases.length > 0) return { ...event, releases: xa.releases };
    return event;
  }

  /** A statement-format data change to be applied as it is (part of the open transaction). */
  statement(sql: string, defaultSchema: string, tables: readonly TableRef[], nextPosition: number, timestampMs: number, ids: { insertId?: string | undefined; lastInsertId?: string | undefined }): StatementEvent {
    const tx = this.current();
    tx.changeCount++;
    const event: StatementEvent = { kind: 'statement', txSeq: tx.txSeq, sql, defaultSchema, tables, position: this.position(nextPosition > 0 ? nextPosition : this.lastPos, tx.gtid), timestampMs };
    return {
      ...event,
      ...(ids.insertId !== undefined ? { insertId: ids.insertId } : {}),
      ...(ids.lastInsertId !== undefined ? { lastInsertId: ids.lastInsertId } : {}),
    };
  }

  /** A DDL query: its own group (a standalone GTID opened it), a transaction boundary. */
  ddl(sql: string, defaultSchema: string, nextPosition: number, timestampMs: number, synced: DdlScope | null = null): SchemaChangeEvent {
    const tx = this.open && this.open.changeCount === 0 ? this.open : { txSeq: ++this.seq, gtid: undefined };
    this.open = null;
    this.lastPos = nextPosition;
    return { kind: 'schema-change', txSeq: tx.txSeq, sql, defaultSchema, position: this.boundary(nextPosition, tx.gtid), timestampMs, ...(synced ? { synced } : {}) };
  }

  /**
   * The connection was lost. Returns the abandon event for an open transaction that already emitted
   * changes (it will be read again under a new txSeq), and forgets the open transaction either way.
   */
  abandon(): AbandonEvent | null {
    const tx = this.open;
    this.open = null;
    if (!tx || tx.changeCount === 0) return null;
    return { kind: 'abandon', txSeq: tx.txSeq, changeCount: tx.changeCount };
  }
}
