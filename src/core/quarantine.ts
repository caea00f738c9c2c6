/**
 * Quarantine (`sink.onApplyError: quarantine`): a table whose changes the target refuses (a value too
 * long for its column, a missing column) is parked instead of stopping the pipeline. From then on
 * every change of that table, in source order, goes to a dead-letter table on the target
 * (`_binlog_sync.quarantine`) instead of the table itself, until `binlog-sync quarantine retry` applies
 * them after the operator fixed the cause. The other tables keep syncing and the checkpoint keeps
 * advancing: a parked change counts as applied once its dead-letter row is committed.
 *
 * Exactly once: a dead-letter row is keyed by the change's place in the binlog (its transaction's
 * start, its index there, and the row), so writing it again after a restart re-reads the change is a
 * no-op; retry applies the rows in that order. Row images make re-applying harmless, so the rows and
 * the checkpoint need not share a transaction.
 *
 * Not parked: tables in a foreign-key order group (parking a parent while its children go on would
 * break the cascades the group exists for), refusals of the applied log's own statements, and every
 * error that retrying can fix (the sink retries those itself).
 */
import { BinlogSyncError } from './errors.js';
import type { Mutation, Row, SqlValue, TableKeys } from './event.js';
import { tableKey } from './event.js';
import { rowFromJson, rowToJson, valueFromJson, valueToJson, type JsonValue } from './json.js';
import type { BinlogPosition } from './position.js';

/** Why a table is parked: the target's refusal of its first parked change. */
export interface ParkReason {
  /** `db.table`. */
  readonly table: string;
  /** The error as the sink reported it (statement, key, remedy). */
  readonly error: string;
  /** The first parked change's transaction start. */
  readonly position: BinlogPosition;
}

export interface ParkedTable {
  readonly table: string;
  readonly error: string;
  readonly position: BinlogPosition;
  readonly parkedAt: string;
  /** Dead-letter rows waiting for retry. */
  readonly events: number;
}

/** The dead-letter table on the target, as the pipeline uses it. */
export interface QuarantineStore {
  /** The pipeline's parked tables. */
  parked(pipeline: string): Promise<readonly ParkedTable[]>;
  /**
   * Writes `mutations` (all of `table`) to the dead-letter table, in one target transaction, ignoring
   * rows written before (same place in the binlog). `reason` parks the table in that same transaction.
   */
  park(pipeline: string, table: string, mutations: readonly Mutation[], reason: ParkReason | null): Promise<void>;
}

/**
 * The table a non-retriable apply error lets the pipeline park, or null when it must stop instead. The
 * sink marks refusals of a table's data or definition (`details.refusedTable`, see
 * connectors/mysql-sink/error-classifier.ts `refusesTableData`); foreign-key order groups are never
 * parked.
 */
export function parkableTable(err: unknown, mutations: readonly Mutation[]): string | null {
  if (!(err instanceof BinlogSyncError) || err.retriable || err.code !== 'TARGET_APPLY') return null;
  const table = err.details.refusedTable;
  if (typeof table !== 'string') return null;
  const own = mutations.filter((m) => tableKey(m.table) === table);
  if (own.length === 0 || own.some((m) => m.keys.orderGroup !== undefined)) return null;
  return table;
}

/** The parked tables of a running pipeline: which mutations go to the dead-letter table. */
export class QuarantineSet {
  private readonly tables = new Set<string>();

  constructor(parked: Iterable<string> = []) {
    for (const t of parked) this.tables.add(t);
  }

  get size(): number {
    return this.tables.size;
  }

  list(): string[] {
    return [...this.tables].sort();
  }

  has(table: string): boolean {
    return this.tables.has(table);
  }

  add(table: string): void {
    this.tables.add(table);
  }

  /** `mutations` split into those to apply and, per parked table, those to park (each in batch order). */
  split(mutations: readonly Mutation[]): { apply: readonly Mutation[]; park: ReadonlyMap<string, Mutation[]> } {
    if (this.tables.size === 0) return { apply: mutations, park: new Map() };
    const apply: Mutation[] = [];
    const park = new Map<string, Mutation[]>();
    for (const m of mutations) {
      const t = tableKey(m.table);
      if (!this.tables.has(t)) apply.push(m);
      else {
        const list = park.get(t);
        if (list) list.push(m);
        else park.set(t, [m]);
      }
    }
    return { apply, park };
  }
}

/**
 * Where a parked mutation sorts among its table's parked mutations: binlog order, snapshot rows before
 * the changes of the transaction they were read in front of, and within one change the delete of an
 * old key before the upsert of the new one (the new row may take the old one's unique values).
 */
export function parkedOrder(m: Mutation): { readonly position: BinlogPosition; readonly fromBinlog: 0 | 1; readonly index: number; readonly part: 0 | 1 } {
  return { position: m.txStart, fromBinlog: m.snapshot ? 0 : 1, index: m.index, part: m.op === 'delete' ? 0 : 1 };
}

/** A mutation's dead-letter form: JSON, lossless (bytes as hex, big numbers and DECIMAL as text). */
export interface ParkedMutationJson {
  readonly v: 1;
  readonly op: Mutation['op'];
  readonly keys: TableKeys;
  readonly key: readonly JsonValue[];
  readonly oldKey: readonly JsonValue[] | null;
  readonly rowId: string;
  readonly row: Record<string, JsonValue>;
  readonly uniqueTokens: readonly string[];
  readonly timestampMs: number;
  readonly bytes: number;
  readonly txStart: BinlogPosition;
  readonly index: number;
  readonly snapshot?: true;
}

export function mutationToJson(m: Mutation): ParkedMutationJson {
  return {
    v: 1,
    op: m.op,
    keys: m.keys,
    key: m.key.map(valueToJson),
    oldKey: m.oldKey ? m.oldKey.map(valueToJson) : null,
    rowId: m.rowId,
    row: rowToJson(m.row)!,
    uniqueTokens: m.uniqueTokens,
    timestampMs: m.timestampMs,
    bytes: m.bytes,
    txStart: m.txStart,
    index: m.index,
    ...(m.snapshot ? { snapshot: true as const } : {}),
  };
}

/** Reads a dead-letter row back; `where` names it in the error when it is not one binlog-sync wrote. */
export function mutationFromJson(text: string, where: string): Mutation {
  let j: ParkedMutationJson;
  try {
    j = JSON.parse(text) as ParkedMutationJson;
  } catch (err) {
    throw new BinlogSyncError('TARGET_APPLY', `${where}: the parked change is not valid JSON (${(err as Error).message}); it was changed by hand? Delete the row or restore it.`, { cause: err });
  }
  if (j.v !== 1 || !['upsert', 'delete', 'update'].includes(j.op) || !j.keys?.table || !Array.isArray(j.key) || typeof j.row !== 'object' || j.row === null) {
    throw new BinlogSyncError('TARGET_APPLY', `${where}: the parked change is not in the format binlog-sync writes (version 1 with op, keys, key and row); it was changed by hand? Delete the row or restore it.`);
  }
  return {
    op: j.op,
    table: j.keys.table,
    keys: j.keys,
    key: j.key.map(valueFromJson),
    oldKey: j.oldKey ? j.oldKey.map(valueFromJson) : null,
    rowId: j.rowId,
    row: rowFromJson(j.row) as Row,
    uniqueTokens: j.uniqueTokens ?? [],
    txSeq: 0,
    timestampMs: j.timestampMs,
    bytes: j.bytes,
    txStart: j.txStart,
    index: j.index,
    ...(j.snapshot ? { snapshot: true as const } : {}),
  };
}

/**
 * Cuts an ordered list of one table's parked mutations into batches the sink can apply in order: a
 * batch holds at most one mutation per row and per unique value (the sink's contract: what a lane
 * would have folded), so a row's changes land in successive batches, in order.
 */
export function orderedBatches(mutations: readonly Mutation[], maxBatch: number): Mutation[][] {
  const out: Mutation[][] = [];
  let batch: Mutation[] = [];
  let seen = new Set<string>();
  for (const m of mutations) {
    const marks = [`r${m.rowId}`, ...m.uniqueTokens.map((t) => `u${t}`)];
    if (batch.length >= maxBatch || marks.some((k) => seen.has(k))) {
      out.push(batch);
      batch = [];
      seen = new Set();
    }
    batch.push(m);
    for (const k of marks) seen.add(k);
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** A value's short text for listings. */
export function describeKey(key: readonly SqlValue[]): string {
  return key.map((v) => (Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v === null ? 'NULL' : String(v))).join(', ');
}
