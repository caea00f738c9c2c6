/**
 * Where snapshot rows enter the stream, so that a copied row is never older than the source. Pure.
 *
 * A chunk is read in a consistent snapshot of the source that corresponds to one binlog position,
 * `at` (MariaDB reports it as binlog_snapshot_file/position of the reading transaction): the chunk's
 * rows are their state there. The chunk is handed on once the dispatcher has routed everything up to
 * `at`, as one transaction of the pipeline's own. Usually the dispatcher is past `at` by then (it
 * tails the binlog while the SELECT runs): a row that some change after `at` touched is then left out
 * of the chunk, because that change, routed already with its full row image, brings the row's newer
 * state. Each row's changes stay in order either way.
 *
 * For that, a window watches its table's changes from the moment it is opened, which is before the
 * snapshot is taken, so no change after `at` goes unseen; changes before `at` are let go once `at`
 * is known.
 */
import type { Mutation, TableRef } from './event.js';
import { tableKey } from './event.js';
import type { BinlogPosition } from './position.js';
import { comparePositions } from './position.js';

/** What one chunk read returned, as mutations of the window's transaction (`ChunkWindow.seq`), not yet routed. */
export interface ChunkRows {
  /** Upserts of the rows the chunk read. */
  readonly upserts: readonly Mutation[];
  /** Deletes of keys the target holds that the source does not (a re-copy of rows named by key). */
  readonly deletes: readonly Mutation[];
}

export class ChunkWindow {
  /** The binlog position the chunk's snapshot corresponds to (null until known). */
  at: BinlogPosition | null = null;
  private rows: ChunkRows | null = null;
  /** Row identities changed after `at`. */
  private readonly touched = new Set<string>();
  /** Before `at` is known: every change seen, with where its transaction began. */
  private early: { readonly rowId: string; readonly txStart: BinlogPosition }[] | null = [];

  constructor(
    readonly id: number,
    readonly table: TableRef,
  ) {}

  /** The number the chunk's mutations carry as their transaction: negative, the pipeline's own (see Watermark). */
  get seq(): number {
    return -this.id;
  }

  get ready(): boolean {
    return this.rows !== null && this.at !== null;
  }

  /** A change the dispatcher routes, of a transaction that began at `m.txStart`. */
  observe(m: Mutation): void {
    if (this.early) this.early.push({ rowId: m.rowId, txStart: m.txStart });
    else if (comparePositions(m.txStart, this.at!) >= 0) this.touched.add(m.rowId);
  }

  /** The chunk's snapshot position: changes of transactions that began before it are in the chunk already. */
  setAt(at: BinlogPosition): void {
    this.at = at;
    for (const e of this.early ?? []) if (comparePositions(e.txStart, at) >= 0) this.touched.add(e.rowId);
    this.early = null;
  }

  complete(rows: ChunkRows): void {
    if (this.at === null) throw new Error('snapshot window: completed before its snapshot position was set');
    this.rows = rows;
  }

  /** The chunk's mutations without the rows changed after `at` (call once, when due). */
  take(): { readonly mutations: Mutation[]; readonly skipped: number } {
    if (!this.rows) throw new Error('snapshot window: taken before it was complete');
    const mutations: Mutation[] = [];
    let skipped = 0;
    for (const list of [this.rows.deletes, this.rows.upserts]) {
      for (const m of list) {
        if (this.touched.has(m.rowId)) skipped++;
        else mutations.push(m);
      }
    }
    this.rows = null;
    return { mutations, skipped };
  }
}

/** The windows open in one pipeline. */
export class ChunkWindows {
  private readonly open = new Map<number, ChunkWindow>();
  private readonly byTable = new Map<string, ChunkWindow[]>();
  private nextId = 1;

  /** Any window watching: the dispatcher's per-change cost is one property read otherwise. */
  get watching(): boolean {
    return this.open.size > 0;
  }

  /** Starts watching `table`; take the snapshot (and `setAt`) after this returns. */
  openWindow(table: TableRef): ChunkWindow {
    const w = new ChunkWindow(this.nextId++, table);
    this.open.set(w.id, w);
    const key = tableKey(table);
    const list = this.byTable.get(key);
    if (list) list.push(w);
    else this.byTable.set(key, [w]);
    return w;
  }

  close(w: ChunkWindow): void {
    if (!this.open.delete(w.id)) return;
    const key = tableKey(w.table);
    const list = (this.byTable.get(key) ?? []).filter((x) => x !== w);
    if (list.length > 0) this.byTable.set(key, list);
    else this.byTable.delete(key);
  }

  observe(m: Mutation): void {
    const list = this.byTable.get(tableKey(m.table));
    if (list) for (const w of list) w.observe(m);
  }

  /** Complete windows whose position is at or before `passed` (everything up to it has been routed). */
  due(passed: BinlogPosition): ChunkWindow[] {
    const out: ChunkWindow[] = [];
    for (const w of this.open.values()) if (w.ready && comparePositions(w.at!, passed) <= 0) out.push(w);
    return out;
  }

  /** The earliest position of the complete windows (null: none is complete). */
  get nextDue(): BinlogPosition | null {
    let min: BinlogPosition | null = null;
    for (const w of this.open.values()) if (w.ready && (min === null || comparePositions(w.at!, min) < 0)) min = w.at;
    return min;
  }
}
