/**
 * The boundaries between the core and the connectors. The core (partitioning, lanes, watermark,
 * checkpoints, pipeline) only ever talks to a source, a sink and a checkpoint store through these.
 */
import type { BinlogPosition } from './position.js';
import type { JsonValue } from './json.js';
import type { Mutation, Row, RowIdentity, SchemaChangeEvent, SourceEvent, SqlValue, StatementEvent, TableKeys, TableRef } from './event.js';
import type { BinlogSyncError } from './errors.js';
import type { SourceIdentity } from './source-identity.js';

/** Where a source begins reading. `earliest`/`latest` are resolved to a position (and pinned) first. */
export type StartFrom =
  | { readonly kind: 'position'; readonly position: BinlogPosition }
  | { readonly kind: 'gtid'; readonly gtid: string };

/**
 * The abandoned part of a transaction: emitted by a source that lost its connection in the middle of
 * transaction `txSeq` and will re-read it from its start under a new sequence number. Changes already
 * emitted for it stay valid (the binlog holds only committed data; apply is idempotent), but its end
 * position is not a resume point.
 */
export interface AbandonEvent {
  readonly kind: 'abandon';
  readonly txSeq: number;
  readonly changeCount: number;
}

/**
 * The source cannot go past this point without writing something wrong (a statement-format change
 * it is told not to apply, a partial row image, an XA COMMIT whose rows it never saw). Everything
 * before it is applied and checkpointed; then the run stops with `error`, which names the event and
 * what to do. The stored checkpoint thus sits before the event's transaction.
 */
export interface HaltEvent {
  readonly kind: 'halt';
  readonly error: BinlogSyncError;
}

/**
 * The stream is between transactions at `position`, past an event that is no transaction (a format
 * description, GTID list or binlog checkpoint event, e.g. after a rotation): the source's head may
 * sit there with no transaction ending at it.
 */
export interface PositionEvent {
  readonly kind: 'position';
  readonly position: BinlogPosition;
}

export type SourceStreamEvent = SourceEvent | AbandonEvent | HaltEvent | PositionEvent;

export interface SourceReadOptions {
  readonly from: StartFrom;
  /** The stored checkpoint's resolved XA transactions (when `from` is that checkpoint): their endings are skipped. */
  readonly resolvedXa?: readonly ResolvedXa[];
  /** Stop after the transaction that ends at or beyond this position (replay of a bounded range). */
  readonly until?: BinlogPosition;
  /**
   * The server `from` is a place of. Every binlog session (the first, and each after a reconnect)
   * checks first that the server answering is this one: a failover behind the same address would
   * otherwise be read at a file:pos that means something else there. Fails with SOURCE_CHANGED.
   */
  readonly source?: SourceIdentity;
  /** Ends the stream: the iterator returns after its current event. */
  readonly signal: AbortSignal;
}

export interface SourceConnector {
  /**
   * Streams decoded events in binlog order, in batches (whatever was decoded together: the per-event
   * cost must stay a function call, not a promise). The stream is pull-based: when the consumer stops pulling
   * (the pipeline is full), the source pauses its socket, so memory stays bounded whatever the backlog.
   * Reconnects by itself (with backoff) after a lost or silent connection; throws only what retrying
   * cannot fix (e.g. the position was purged: `SOURCE_POSITION_PURGED`).
   */
  read(options: SourceReadOptions): AsyncIterable<readonly SourceStreamEvent[]>;
  /** The source's current binlog head (SHOW BINARY LOG STATUS, or SHOW MASTER STATUS on older servers). */
  head(): Promise<BinlogPosition>;
  /** The first position of the oldest binlog file still on the server. */
  earliest(): Promise<BinlogPosition>;
  /**
   * Loads what decoding the synced tables' first changes needs (their keys and columns), so that the
   * first change of a table does not wait for it. Best effort: what fails is loaded on first use.
   */
  warmUp?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the source server says about itself and its binlog in GTID terms: who it is, and where a GTID
 * position lies in its binlog. Start resolution asks it to decide whether a checkpoint belongs to this
 * server, or can be continued on it (source-continuity.ts).
 */
export interface SourceServer {
  identity(): Promise<SourceIdentity>;
  /**
   * The MariaDB GTID position at `position` in this server's binlog (`BINLOG_GTID_POS`); null on MySQL,
   * or when the server does not know the place (its file is gone, or it is not an event boundary).
   */
  gtidPositionAt(position: BinlogPosition): Promise<string | null>;
  /** The last GTID of every (domain, server) in this server's binlog (MariaDB `gtid_binlog_state`); null on MySQL. */
  gtidBinlogState(): Promise<string | null>;
  /**
   * Where this server's binlog continues after the GTID position `gtidPos`: the file:pos at which a
   * binlog dump from that GTID position begins. `refused` carries the server's reason when it will not
   * send from there (it lacks a transaction of the position, or holds other ones in its place).
   */
  locateGtidPosition(gtidPos: string): Promise<{ readonly position: BinlogPosition } | { readonly refused: string }>;
}

/** Applies mutations to the target. */
export interface SinkConnector {
  /**
   * Applies one lane batch in one target transaction: at most one mutation per (table, key), already
   * folded by the lane. Retries transient failures itself; throws a non-retriable `TargetError` naming
   * the table, key and statement when retrying cannot help. Resolves only once the data is committed.
   *
   * With `claimed` (Kafka sink workers), the same transaction stores the partition's offset, and it
   * commits only while the claim holds: if another worker has claimed the partition since, it rolls
   * back with PARTITION_FENCED. So data and offset are committed together or not at all.
   */
  applyBatch(mutations: readonly Mutation[], claimed?: ClaimedOffset): Promise<void>;
  /**
   * Runs a statement-format change on the target, exactly once: the target records that it ran in
   * the same transaction, and a statement recorded already is skipped. `checkpoint`, when given, is
   * stored in that same transaction (the resume point just after the statement), so a restart never
   * re-reads row changes from before a statement that has run. Resolves with whether it ran now.
   */
  applyStatement(statement: StatementEvent, checkpoint: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null): Promise<'applied' | 'already-applied'>;
  /**
   * Runs a DDL statement (`schemaChanges: apply`) on the target once, and records that it ran together
   * with `checkpoint` (when given, the resume point just after it). A DDL recorded already is skipped;
   * one that may have run before a crash is run again, and "done already" errors count as done.
   */
  applySchemaChange(ddl: SchemaChangeEvent, checkpoint: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null): Promise<'applied' | 'already-applied'>;
  /**
   * The server whose binlog the positions of everything handed on from now on are places in (called
   * before the first change when the pipeline knows it). A sink that keeps a schema history keyed by
   * position compares only positions of that server: another server's file:pos name other events.
   */
  readingFrom?(source: SourceIdentity): void;
  /** Where the last statement-format change this pipeline ran on the target was (null: none). */
  lastStatement(): Promise<BinlogPosition | null>;
  /**
   * Per order group (tables linked by foreign keys): its last change committed on the target, which
   * the sink records in the same transaction as the change. A re-read skips what these cover.
   */
  orderApplied(): Promise<ReadonlyMap<string, AppliedChange>>;
  /**
   * Opens the connections the first lane batches will use, so that the first changes do not wait for
   * connects and session set-up. Best effort: a connection that fails is opened on first use.
   */
  warmUp?(): Promise<void>;
  close(): Promise<void>;
}

/** A change named by its transaction's start and its index in it (`ChangeEvent.txStart/index`). */
export interface AppliedChange {
  readonly txStart: BinlogPosition;
  readonly index: number;
}

export interface Checkpoint {
  /** Resume point: just after the last transaction whose changes are all applied. */
  readonly position: BinlogPosition;
  /** Source commit time of that transaction (ms since the epoch), for lag in seconds. */
  readonly sourceTimestampMs: number;
  /**
   * XA transactions prepared before `position` whose XA COMMIT or ROLLBACK, after it, is applied
   * already. A prepared XA transaction holds the checkpoint at its XA PREPARE, so a restart from here
   * reads the endings of these without their XA PREPARE: the source skips them instead of refusing.
   */
  readonly resolvedXa?: readonly ResolvedXa[];
  /**
   * A snapshot (initial copy, or re-copy of some tables) in progress: how far each table is copied
   * in the data this checkpoint covers. A restart continues the copy from there. Absent when none runs.
   */
  readonly snapshot?: SnapshotProgress;
  /**
   * The server whose binlog `position` is in (and `position.gtidPos`, where it was known, the GTID
   * position there). Absent in checkpoints stored before binlog-sync recorded it.
   */
  readonly source?: SourceIdentity;
}

/** What a snapshot reads from the source (see core/snapshotter.ts). */
export interface SnapshotSource {
  /** The included tables (or those of `only` that are included), with the source's row estimate. */
  snapshotTables(only?: readonly TableRef[]): Promise<readonly SnapshotTable[]>;
  /**
   * Up to `limit` rows after the key `after` (from the first when null), in primary-key order as the
   * source orders keys, read in one consistent snapshot, with the binlog position that snapshot
   * corresponds to: the rows are their state there.
   */
  readChunk(table: TableRef, after: readonly SqlValue[] | null, limit: number): Promise<SnapshotChunk>;
  /** The identities of rows of `table` (key columns at least) as the target compares keys. */
  identify(table: TableRef, rows: readonly Row[]): Promise<readonly RowIdentity[]>;
  /**
   * The rows matching `where` (a condition over the key columns, written by `verify` for the keys it
   * found different), in one consistent snapshot, with the binlog position it corresponds to.
   */
  readWhere(table: TableRef, where: string): Promise<SnapshotChunk>;
}

/** What a snapshot reads from the target: the keys it holds in a chunk's range (rows the source lacks are deleted). */
export interface SnapshotTarget {
  /**
   * The primary keys (as rows of the key columns) the target holds after `after` (from the first when
   * null) up to and including `upTo` (to the end when null), compared and ordered by the target.
   */
  keysInRange(keys: TableKeys, after: readonly SqlValue[] | null, upTo: readonly SqlValue[] | null): Promise<readonly Row[]>;
  /** The primary keys the target holds that match `where` (see SnapshotSource.readWhere). */
  keysWhere(keys: TableKeys, where: string): Promise<readonly Row[]>;
}

export interface SnapshotTable {
  readonly table: TableRef;
  readonly estimatedRows: number;
}

export interface SnapshotChunk {
  readonly at: BinlogPosition;
  readonly keys: TableKeys;
  readonly rows: readonly SnapshotRow[];
}

/** A row as a snapshot read it: values in the binlog decoder's forms, and its identity as the target compares keys. */
export interface SnapshotRow {
  readonly row: Row;
  readonly identity: RowIdentity;
  /** Its approximate size (for the byte-bounded queues). */
  readonly bytes: number;
}

/** How far a snapshot has copied each of its tables (in the data a checkpoint covers). */
export interface SnapshotProgress {
  /** Why it runs: `initial` (first start), `when_needed` (the checkpoint was purged), `requested` (the snapshot command). */
  readonly reason: 'initial' | 'when_needed' | 'requested';
  readonly startedAtMs: number;
  /** In copy order. */
  readonly tables: readonly SnapshotTableProgress[];
}

export interface SnapshotTableProgress {
  /** `db.table`. */
  readonly table: string;
  /** The last primary key copied (JSON form, see core/json.ts), null before the first chunk. */
  readonly after: readonly JsonValue[] | null;
  readonly done: boolean;
  /** Rows copied so far. */
  readonly rows: number;
  /** The source's estimate of the table's rows when the copy began (for progress). */
  readonly estimatedRows: number;
}

/** An XA transaction whose ending (XA COMMIT or ROLLBACK) at `at` is applied, its XA PREPARE before the checkpoint. */
export interface ResolvedXa {
  /** The source's id of the XA transaction (as its XA events name it). */
  readonly xid: string;
  readonly at: BinlogPosition;
}

/** Durable store of one checkpoint per pipeline name. */
export interface CheckpointStore {
  load(pipeline: string): Promise<Checkpoint | null>;
  save(pipeline: string, checkpoint: Checkpoint): Promise<void>;
  /**
   * Replaces the pipeline's checkpoint with `checkpoint`, also when that is behind the stored one
   * (`run --reset-to`), atomically: when it fails, the stored checkpoint is the one before.
   */
  reset(pipeline: string, checkpoint: Checkpoint): Promise<void>;
  /** Deletes the pipeline's checkpoint. */
  clear(pipeline: string): Promise<void>;
}

/**
 * A Kafka sink worker's hold on one partition of a topic: recorded on the target, checked inside each
 * apply transaction, so that a worker the group has moved on from (stalled past a rebalance) cannot
 * commit over the partition's new owner.
 */
export interface PartitionClaim {
  readonly pipeline: string;
  readonly topic: string;
  readonly partition: number;
  /** Unique per worker and group generation. */
  readonly owner: string;
}

/** A Kafka lane batch's claim, and the partition offset its transaction stores (first message not applied). */
export interface ClaimedOffset {
  readonly claim: PartitionClaim;
  readonly nextOffset: bigint;
}

/** Where a partition's consumption stands, kept on the target next to the data it describes. */
export interface PartitionOffsetStore {
  /**
   * Takes the partition for `claim.owner` (waiting for transactions of a previous owner to end) and
   * returns the offset of the first message not yet applied, or null when nothing was ever applied.
   */
  claim(claim: PartitionClaim): Promise<bigint | null>;
  /** Records that every message before `nextOffset` is applied; fails with PARTITION_FENCED when the claim is lost. */
  save(claim: PartitionClaim, nextOffset: bigint): Promise<void>;
  /** Every partition's stored offset and owner for the pipeline and topic (status). */
  list(pipeline: string, topic: string): Promise<readonly { readonly partition: number; readonly nextOffset: bigint; readonly owner: string }[]>;
  close(): Promise<void>;
}

/**
 * Work another command asks of the running daemon (`snapshot --tables`, `verify --repair`), kept on the
 * target: the daemon runs it inside its pipeline, so copied rows take their place in the stream.
 */
export interface ControlRequest {
  readonly id: number;
  readonly kind: 'snapshot' | 'repair';
  /** `db.table` names: the tables to copy (snapshot) or repair. */
  readonly tables: readonly string[];
  /** repair: per table, the keys to copy again, as `verify` reports them (its key columns and exact values). */
  readonly repairs: readonly RepairKeys[];
  readonly state: 'pending' | 'running' | 'done' | 'failed';
  readonly message: string | null;
}

/** Keys of one table to copy again: `columns` and `keys` in verify's forms (src/verify/key-columns.ts). */
export interface RepairKeys {
  readonly table: string;
  readonly columns: readonly unknown[];
  readonly keys: readonly (readonly (string | null)[])[];
}

export interface RequestStore {
  add(pipeline: string, request: Pick<ControlRequest, 'kind' | 'tables' | 'repairs'>): Promise<number>;
  /** The oldest unfinished request (a running one first: the daemon that ran it stopped). */
  next(pipeline: string): Promise<ControlRequest | null>;
  get(id: number): Promise<ControlRequest | null>;
  setState(id: number, state: ControlRequest['state'], message?: string): Promise<void>;
  close(): Promise<void>;
}
