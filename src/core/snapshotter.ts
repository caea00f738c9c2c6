/**
 * The snapshot: copies tables into the target while the pipeline streams, online and lock-free.
 *
 * Each table is read in primary-key chunks (keyset pagination, `chunkSize` rows), each chunk in one
 * short consistent snapshot of the source; `parallelism` tables are copied at once, one chunk at a
 * time each. A chunk enters the stream at the binlog position of its snapshot (see
 * snapshot-window.ts), so a copied row is never older than the source and each row's changes stay in
 * order. Its rows are upserts applied through the same partitions and lanes as the binlog's changes.
 *
 * Progress (per table: the last key copied, rows, done) rides with each chunk into the checkpoint, as
 * of the moment the chunk is placed in the stream: a restart continues from the last chunk the
 * checkpoint covers, not from zero. Progress is updated only at placement, in stream order, so it
 * never claims a chunk the checkpoint does not cover.
 */
import type { Mutation, Row, SqlValue, TableKeys, TableRef } from './event.js';
import type { BinlogPosition } from './position.js';
import { tableKey } from './event.js';
import { BinlogSyncError, describeError } from './errors.js';
import { DEFAULT_BACKOFF, backoffDelay, sleep } from './backoff.js';
import { isNetworkError } from './network-errors.js';
import { valueFromJson, valueToJson, type JsonValue } from './json.js';
import type { Logger } from './log.js';
import type { SnapshotProgress, SnapshotSource, SnapshotTableProgress, SnapshotTarget } from './ports.js';
import { snapshotMutation } from './router.js';
import type { ChunkRows, ChunkWindow } from './snapshot-window.js';

/** One chunk, read and turned into the window's mutations. */
interface ReadChunk {
  readonly rows: ChunkRows;
  /** Rows read from the source. */
  readonly read: number;
  /** The table's last chunk (fewer rows than asked for). */
  readonly done: boolean;
  /** The last key copied (the previous one when the chunk is empty). */
  readonly last: readonly SqlValue[] | null;
}

/** The pipeline's side: where chunks enter the stream (Pipeline implements it). */
export interface ChunkPlacer {
  openChunkWindow(table: TableRef): ChunkWindow;
  placeChunk(w: ChunkWindow, rows: ChunkRows, progressAt?: (handedOn: number, skipped: number) => SnapshotProgress): Promise<void>;
  closeChunkWindow(w: ChunkWindow): void;
}

/**
 * Copies again the rows of `table` matching `where` (keys `verify` found different): upserts of what
 * the source holds, deletes of what only the target holds, placed in the stream like a snapshot chunk,
 * so a live change of the same key is never raced. Resolves once handed on.
 */
export async function copyRows(
  o: Pick<SnapshotterOptions, 'source' | 'target' | 'placer'>,
  table: TableRef,
  where: string,
): Promise<{ readonly copied: number; readonly deleted: number; readonly window: ChunkWindow }> {
  const w = o.placer.openChunkWindow(table);
  let rows: ChunkRows;
  try {
    const chunk = await o.source.readWhere(table, where);
    w.setAt(chunk.at);
    const now = Date.now();
    const upserts = chunk.rows.map((r, i) => snapshotMutation('upsert', chunk.keys, r.row, r.identity, w.seq, chunk.at, i, now, r.bytes));
    const deletes = await targetOnly(o, table, chunk.keys, await o.target.keysWhere(chunk.keys, where), upserts, w, chunk.at, now);
    rows = { upserts, deletes };
  } catch (err) {
    o.placer.closeChunkWindow(w);
    throw new BinlogSyncError('SNAPSHOT', `repair: reading the rows of ${tableKey(table)} to copy again failed: ${describeError(err)}`, { cause: err });
  }
  await o.placer.placeChunk(w, rows);
  return { copied: rows.upserts.length, deleted: rows.deletes.length, window: w };
}

/** Deletes for the target's keys (`held`) that are not among the source's rows (`upserts`). */
async function targetOnly(
  o: Pick<SnapshotterOptions, 'source'>,
  table: TableRef,
  keys: TableKeys,
  held: readonly Row[],
  upserts: readonly Mutation[],
  w: ChunkWindow,
  at: BinlogPosition,
  now: number,
): Promise<Mutation[]> {
  if (held.length === 0) return [];
  const ids = await o.source.identify(table, held);
  const copied = new Set(upserts.map((m) => m.rowId));
  const deletes: Mutation[] = [];
  held.forEach((row, i) => {
    const id = ids[i]!;
    if (!copied.has(id.key)) deletes.push(snapshotMutation('delete', keys, row, id, w.seq, at, upserts.length + i, now, 64));
  });
  return deletes;
}

export interface SnapshotterOptions {
  readonly source: SnapshotSource;
  /** The target's keys in each chunk's range: keys the source lacks there are deleted. */
  readonly target: SnapshotTarget;
  readonly placer: ChunkPlacer;
  /** Where to begin: a fresh plan (`planSnapshot`) or the progress a checkpoint carried. */
  readonly progress: SnapshotProgress;
  readonly chunkSize: number;
  readonly parallelism: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Called after every chunk placed (progress bars, status). */
  readonly onProgress?: (progress: SnapshotProgress, table: SnapshotTableProgress) => void;
}

/** A fresh plan: every table from its first row. */
export async function planSnapshot(source: SnapshotSource, reason: SnapshotProgress['reason'], only?: readonly TableRef[]): Promise<SnapshotProgress> {
  const tables = await source.snapshotTables(only);
  return {
    reason,
    startedAtMs: Date.now(),
    tables: tables.map((t) => ({ table: tableKey(t.table), after: null, done: false, rows: 0, estimatedRows: t.estimatedRows })),
  };
}

function tableRefOf(name: string): TableRef {
  const dot = name.indexOf('.');
  return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

export class Snapshotter {
  /** Per table, as placed in the stream so far (what the checkpoint will carry). */
  private readonly placed: Map<string, SnapshotTableProgress>;
  /** Rows read by this run (a restart reads only what its checkpoint did not cover). */
  private readThisRun = 0;
  /** Target rows this run found that the source lacks (deleted). */
  private deleted = 0;

  constructor(private readonly o: SnapshotterOptions) {
    this.placed = new Map(o.progress.tables.map((t) => [t.table, t]));
  }

  private current(): SnapshotProgress {
    return Object.freeze({ ...this.o.progress, tables: Object.freeze([...this.placed.values()]) });
  }

  /** Copies every table not done yet; resolves when all are placed in the stream, rejects on the first failure. */
  async run(): Promise<SnapshotProgress> {
    const todo = [...this.placed.values()].filter((t) => !t.done).map((t) => t.table);
    const started = Date.now();
    const total = [...this.placed.values()].reduce((n, t) => n + t.estimatedRows, 0);
    this.o.logger.info(
      { reason: this.o.progress.reason, tables: todo.length, ofTables: this.placed.size, estimatedRows: total, chunkSize: this.o.chunkSize, parallelism: this.o.parallelism },
      [...this.placed.values()].some((t) => t.done || t.rows > 0)
        ? `snapshot: continuing, ${todo.length} of ${this.placed.size} tables left`
        : `snapshot: copying ${todo.length} tables while streaming`,
    );
    let next = 0;
    let failure: unknown = null;
    const worker = async (): Promise<void> => {
      while (failure === null && !this.o.signal.aborted && next < todo.length) {
        const table = todo[next++]!;
        try {
          await this.copyTable(table);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.parallelism, todo.length) }, () => worker()));
    if (failure !== null) throw failure;
    const progress = this.current();
    if (!this.o.signal.aborted) {
      const rows = progress.tables.reduce((n, t) => n + t.rows, 0);
      this.o.logger.info(
        { tables: progress.tables.length, rows, rowsThisRun: this.readThisRun, targetOnlyRowsDeleted: this.deleted, seconds: (Date.now() - started) / 1000 },
        `snapshot: done, ${rows} rows of ${progress.tables.length} tables copied`,
      );
    }
    return progress;
  }

  private async copyTable(name: string): Promise<void> {
    const table = tableRefOf(name);
    let after: readonly SqlValue[] | null = (this.placed.get(name)?.after ?? null)?.map((v) => valueFromJson(v)) ?? null;
    let failures = 0;
    for (;;) {
      if (this.o.signal.aborted) return;
      const w = this.o.placer.openChunkWindow(table);
      let chunk: ReadChunk;
      try {
        chunk = await this.readChunk(w, table, after);
        failures = 0;
      } catch (err) {
        this.o.placer.closeChunkWindow(w);
        const where = `${name} after key ${after ? JSON.stringify(after.map(valueToJson)) : '(start)'}`;
        const retriable = err instanceof BinlogSyncError ? err.retriable : isNetworkError(err);
        if (retriable && !this.o.signal.aborted) {
          // A server restarting or unreachable for a while: the stream waits for it too.
          const delayMs = backoffDelay(DEFAULT_BACKOFF, failures++);
          this.o.logger.warn({ table: name, attempt: failures, delayMs, err: describeError(err) }, `snapshot: reading a chunk of ${where} failed; trying again`);
          await sleep(delayMs, this.o.signal).catch(() => undefined);
          continue;
        }
        throw new BinlogSyncError('SNAPSHOT', `snapshot: reading a chunk of ${where} failed: ${describeError(err)}`, { cause: err });
      }
      const lastJson: JsonValue[] | null = chunk.last ? chunk.last.map(valueToJson) : null;
      await this.o.placer.placeChunk(w, chunk.rows, () => {
        const before = this.placed.get(name)!;
        const now: SnapshotTableProgress = { ...before, after: lastJson, done: chunk.done, rows: before.rows + chunk.read };
        this.readThisRun += chunk.read;
        this.deleted += chunk.rows.deletes.length;
        this.placed.set(name, now);
        const progress = this.current();
        this.o.onProgress?.(progress, now);
        return progress;
      });
      if (chunk.done) {
        this.o.logger.info({ table: name, rows: this.placed.get(name)!.rows }, `snapshot: ${name} copied`);
        return;
      }
      after = chunk.last;
    }
  }

  /**
   * The chunk after `after`, as the window's mutations: upserts of the rows read, and deletes of the
   * keys the target holds in the chunk's range (to the end, for the last chunk) that the source does
   * not (rows deleted while the pipeline could not see it: a purged binlog, an accident on the
   * target). A row the stream inserts meanwhile is a change after the chunk's position: the window
   * keeps its delete out.
   */
  private async readChunk(w: ChunkWindow, table: TableRef, after: readonly SqlValue[] | null): Promise<ReadChunk> {
    const chunk = await this.o.source.readChunk(table, after, this.o.chunkSize);
    if (chunk.keys.fullRow) {
      // Keyset pagination over all columns would skip duplicate rows, and a re-copy could not tell
      // which of several equal target rows to keep.
      throw new BinlogSyncError(
        'SNAPSHOT',
        `${tableKey(table)} has no primary key (keyless: full-row): the snapshot copies tables by key and cannot copy it. Copy it yourself at a known binlog position (e.g. mysqldump --single-transaction --master-data=2) and start from there with source.snapshot: never, or exclude it.`,
        { details: { table: tableKey(table) } },
      );
    }
    w.setAt(chunk.at);
    const now = Date.now();
    const upserts = chunk.rows.map((r, i) => snapshotMutation('upsert', chunk.keys, r.row, r.identity, w.seq, chunk.at, i, now, r.bytes));
    const read = chunk.rows.length;
    const done = read < this.o.chunkSize;
    const last = read > 0 ? upserts[read - 1]!.key : after;
    const held = await this.o.target.keysInRange(chunk.keys, after, done ? null : last);
    const deletes = await targetOnly(this.o, table, chunk.keys, held, upserts, w, chunk.at, now);
    return { rows: { upserts, deletes }, read, done, last };
  }
}
