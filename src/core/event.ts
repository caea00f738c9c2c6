import type { DdlScope } from './ddl-scope.js';
import type { BinlogPosition } from './position.js';

/**
 * A column value as it travels through the pipeline. Chosen so that every MySQL type round-trips byte
 * for byte and serialises to JSON without loss (the Kafka transport and `replay --dry-run` rely on it):
 * - `number`: integers within ±2^53−1, FLOAT/DOUBLE, YEAR;
 * - `string`: BIGINT beyond 2^53 (exact digits), DECIMAL, DATE/TIME/DATETIME/TIMESTAMP (UTC for
 *   TIMESTAMP, 'YYYY-MM-DD HH:MM:SS[.ffffff]'), ENUM, SET, JSON text, character columns;
 * - `Buffer`: BINARY/VARBINARY/BLOB/BIT (raw bytes);
 * - `null`.
 */
export type SqlValue = null | number | string | Buffer;

/** A row image keyed by column name, in the table's column order. */
export type Row = Readonly<Record<string, SqlValue>>;

export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

export function tableKey(t: TableRef): string {
  return `${t.schema}.${t.name}`;
}

/**
 * What the source knows about a table's keys. `primaryKey` is the table's PRIMARY KEY or the key the
 * pipeline file configures for it; `uniqueKeys` are the other UNIQUE indexes (each a column list).
 * Secondary unique keys matter for ordering: two rows can trade a unique value, so their changes must
 * be applied in source order even though their primary keys differ (see `LaneScheduler`).
 */
export interface TableKeys {
  readonly table: TableRef;
  readonly primaryKey: readonly string[];
  readonly uniqueKeys: readonly (readonly string[])[];
  /**
   * Some primary-key column compares by a collation, not byte for byte (a case-insensitive VARCHAR,
   * a PAD SPACE collation): a key can change to a value the target calls equal, which is then one
   * update of that row, and an upsert must also write the key columns so the target takes the new
   * bytes. Absent: every key column compares byte for byte.
   */
  readonly collatedKey?: boolean;
  /**
   * Tables linked by foreign keys form one order group: their changes are applied in source order,
   * one at a time, with the target's foreign keys performing the cascades the binlog does not carry
   * (see docs/ARCHITECTURE.md). Absent: the table takes part in no foreign key.
   */
  readonly orderGroup?: string;
  /**
   * A table without a primary key synced with `keyless: full-row`: `primaryKey` lists every column, a
   * row is found by all of them (NULL-safe, one row at a time: `LIMIT 1`), and the table is its own
   * order group (or stays in its foreign-key group), so its changes are applied in source order, one
   * lane, exactly once. Absent: the table has a key.
   */
  readonly fullRow?: true;
}

/**
 * Who a row image is, as the target tells rows apart: its primary key and each UNIQUE key, with string
 * columns folded by their collation (the source computes it: it knows the collations). Two images
 * with equal `key` are the same target row whatever their bytes; equal `unique[i]` tokens collide in
 * unique index i.
 */
export interface RowIdentity {
  /** Table and folded primary key: equal for images of one target row, different otherwise. */
  readonly key: string;
  /** Per `TableKeys.uniqueKeys` index: the folded token, or null when a column is NULL (never conflicts). */
  readonly unique: readonly (string | null)[];
}

export type ChangeOp = 'insert' | 'update' | 'delete';

/**
 * One row change decoded from the binlog, as the source emits it (and `replay --dry-run` prints it).
 * `before` is set for update/delete, `after` for insert/update; both are full images.
 */
export interface ChangeEvent {
  readonly kind: 'change';
  readonly op: ChangeOp;
  readonly table: TableRef;
  readonly keys: TableKeys;
  readonly before: Row | null;
  readonly after: Row | null;
  /** Identities of `before` and `after` (null where the image is null). */
  readonly beforeId: RowIdentity | null;
  readonly afterId: RowIdentity | null;
  /** Sequence number of the source transaction this change belongs to (monotonic within one source run). */
  readonly txSeq: number;
  /** Position of the binlog event that carried this row (not a resume point: only commits are). */
  readonly position: BinlogPosition;
  /**
   * Where this change's transaction began (the position before it) and the change's index in it:
   * together a name for the change that is the same every time the binlog is read again.
   */
  readonly txStart: BinlogPosition;
  readonly index: number;
  /** Source commit time in ms since the epoch (binlog event header timestamp, second resolution). */
  readonly timestampMs: number;
  /** About how many binlog bytes this change took (its rows event's size over its rows): weighs queues. */
  readonly bytes: number;
}

/**
 * End of a source transaction (XID, COMMIT, or a DDL statement, which commits implicitly). `position`
 * is the resume point: the position just after the transaction, at which a restarted reader begins.
 */
export interface CommitEvent {
  readonly kind: 'commit';
  readonly txSeq: number;
  readonly position: BinlogPosition;
  readonly timestampMs: number;
  /** Number of change events the source emitted for this transaction (after table filtering). */
  readonly changeCount: number;
  /**
   * An XA PREPARE group: its rows are not applied yet (they are, with the XA COMMIT that comes later),
   * so the checkpoint must stay at `from` (the position before this group) until `id` is released.
   */
  readonly hold?: { readonly id: string; readonly from: BinlogPosition; readonly fromTimestampMs: number };
  /** XA COMMIT / XA ROLLBACK: the holds this transaction ends once it is applied. */
  readonly releases?: readonly string[];
}

/**
 * A DDL (or other non-data) statement seen in the binlog; also ends the open transaction. When it
 * changes synced tables or included databases (`synced`), `schemaChanges: apply` runs it on the
 * target as a barrier; otherwise it is logged.
 */
export interface SchemaChangeEvent {
  readonly kind: 'schema-change';
  readonly txSeq: number;
  readonly sql: string;
  readonly defaultSchema: string;
  /** End of the query event: identifies the statement (it is applied once). */
  readonly position: BinlogPosition;
  readonly timestampMs: number;
  /** What it changes among the synced tables and included databases; absent when nothing. */
  readonly synced?: DdlScope;
}

/**
 * A statement-format data change (the writing session ran with binlog_format STATEMENT or MIXED) on
 * a synced table, emitted when the pipeline is told to apply such statements (`source.statementEvents:
 * apply`): the sink runs it on the target as a barrier, after every earlier change and before any
 * later one, as a native replica would.
 */
export interface StatementEvent {
  readonly kind: 'statement';
  readonly txSeq: number;
  readonly sql: string;
  /** The session's default database when the statement ran. */
  readonly defaultSchema: string;
  /** Synced tables it writes (as far as the statement says). */
  readonly tables: readonly TableRef[];
  /** End of the query event: identifies the statement (it is applied once). */
  readonly position: BinlogPosition;
  readonly timestampMs: number;
  /** Session values the statement depends on (`SET INSERT_ID=…` before an auto-increment insert). */
  readonly insertId?: string;
  readonly lastInsertId?: string;
}

export type SourceEvent = ChangeEvent | CommitEvent | SchemaChangeEvent | StatementEvent;

/**
 * What a sink applies: a statement about one key. Inserts and updates become `upsert` (the full
 * after-image), deletes become `delete` (by key); both idempotent. An update that changes the primary
 * key becomes a delete of the old key and an upsert of the new one, each routed by its own key —
 * except in an order group (foreign keys), where it stays one `update` of the row found by `oldKey`,
 * so that the target's ON UPDATE rules act on it.
 */
export interface Mutation {
  readonly op: 'upsert' | 'delete' | 'update';
  readonly table: TableRef;
  readonly keys: TableKeys;
  /** Primary-key values in `keys.primaryKey` order. */
  readonly key: readonly SqlValue[];
  /** The row's identity (`RowIdentity.key`): equal for mutations of one target row. */
  readonly rowId: string;
  /** `update` only: the primary-key values before the change (`key` holds the new ones). */
  readonly oldKey: readonly SqlValue[] | null;
  /** Full after-image for upserts; the before-image for deletes (only key columns are used). */
  readonly row: Row;
  /**
   * Tokens of the secondary unique values this change touches, before and after (`RowIdentity.unique`,
   * deduplicated, NULLs left out); empty when the table has none. Used for conflict routing.
   */
  readonly uniqueTokens: readonly string[];
  readonly txSeq: number;
  readonly timestampMs: number;
  /** The weight of the change it came from (ChangeEvent.bytes), for byte-bounded queues. */
  readonly bytes: number;
  /** Of the change it came from: which change of the binlog it is (order groups apply it exactly once). */
  readonly txStart: BinlogPosition;
  readonly index: number;
  /**
   * A row read by a snapshot, not a change from the binlog: the row's state at the chunk's place in
   * the stream. Applied without foreign-key checks (a copied row has no cascade to run, and its
   * parent may be copied later) and outside the order groups' exactly-once bookkeeping.
   */
  readonly snapshot?: true;
}
