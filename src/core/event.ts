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
  /** Sequence number of the source transaction this change belongs to (monotonic within one source run). */
  readonly txSeq: number;
  /** Position of the binlog event that carried this row (not a resume point: only commits are). */
  readonly position: BinlogPosition;
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
}

/**
 * A DDL statement seen in the binlog. Not applied to the target in this version; emitted so the
 * pipeline can log it and refresh what it knows about keys. Also ends the open transaction.
 */
export interface SchemaChangeEvent {
  readonly kind: 'schema-change';
  readonly txSeq: number;
  readonly sql: string;
  readonly defaultSchema: string;
  readonly position: BinlogPosition;
  readonly timestampMs: number;
}

export type SourceEvent = ChangeEvent | CommitEvent | SchemaChangeEvent;

/**
 * What a sink applies: an idempotent statement about one key. Inserts and updates become `upsert`
 * (the full after-image), deletes become `delete` (by key). An update that changes the primary key
 * becomes a delete of the old key and an upsert of the new one, each routed by its own key.
 */
export interface Mutation {
  readonly op: 'upsert' | 'delete';
  readonly table: TableRef;
  readonly keys: TableKeys;
  /** Primary-key values in `keys.primaryKey` order. */
  readonly key: readonly SqlValue[];
  /** Full after-image for upserts; the before-image for deletes (only key columns are used). */
  readonly row: Row;
  /**
   * Values of secondary unique keys this change touches, before and after, as strings
   * ("<index>\u0000<v1>\u0000<v2>"); empty when the table has none. Used for conflict routing.
   */
  readonly uniqueTokens: readonly string[];
  readonly txSeq: number;
  readonly timestampMs: number;
  /** The weight of the change it came from (ChangeEvent.bytes), for byte-bounded queues. */
  readonly bytes: number;
}
