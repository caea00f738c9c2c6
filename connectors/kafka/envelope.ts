/**
 * The Kafka message of one mutation, and back. The value is a Debezium-shaped JSON envelope that any
 * consumer can read (`before`, `after`, `source`, `op`, `ts_ms`), plus a `binlogSync` block with what
 * our sink workers need to apply it exactly as the embedded transport would (the row's identity, its
 * unique-key tokens, its keys, the change's name in the binlog). Values are lossless:
 * - numbers are JSON numbers (integers within ±2^53−1, FLOAT/DOUBLE, YEAR);
 * - BIGINT beyond 2^53, DECIMAL, temporal types, ENUM, SET, JSON and character columns are strings;
 * - bytes (BINARY, VARBINARY, BLOB, BIT) are base64 strings, and `binlogSync.binary` names those columns.
 */
import type { BinlogPosition, ChangeEvent, Mutation, Row, SqlValue, TableKeys } from '../../src/index.js';
import { formatPosition } from '../../src/index.js';

export const ENVELOPE_VERSION = 1;
/** Header names: the source transaction (its start position) and the row event's position. */
export const TX_HEADER = 'binlog-sync.tx';
export const POSITION_HEADER = 'binlog-sync.position';

type JsonScalar = null | number | string;
export type JsonRow = Record<string, JsonScalar>;

/** Debezium's op letters: c(reate), u(pdate), d(elete); r (snapshot read) is not produced yet. */
export type EnvelopeOp = 'c' | 'u' | 'd';

export interface Envelope {
  readonly before: JsonRow | null;
  readonly after: JsonRow | null;
  readonly source: {
    readonly version: string;
    readonly connector: 'mysql';
    /** The pipeline's name. */
    readonly name: string;
    readonly ts_ms: number;
    readonly db: string;
    readonly table: string;
    readonly server_id: number;
    readonly gtid: string | null;
    /** The binlog file and position of the row event. */
    readonly file: string;
    readonly pos: number;
    /** The change's index in its source transaction. */
    readonly row: number;
  };
  readonly op: EnvelopeOp;
  /** When the publisher wrote the message (ms since the epoch). */
  readonly ts_ms: number;
  /** The source transaction: its id is the position where it began. */
  readonly transaction: { readonly id: string; readonly data_collection_order: number };
  readonly binlogSync: {
    readonly v: number;
    readonly op: Mutation['op'];
    readonly keys: TableKeys;
    readonly key: JsonRow;
    readonly oldKey: JsonRow | null;
    readonly rowId: string;
    readonly uniqueTokens: readonly string[];
    readonly txStart: BinlogPosition;
    readonly bytes: number;
    /** Columns whose values are base64-encoded bytes (in before, after, key and oldKey). */
    readonly binary: readonly string[];
  };
}

export interface EncodedMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface EnvelopeContext {
  readonly pipeline: string;
  readonly serverId: number;
  readonly version: string;
  readonly nowMs: number;
}

class BinaryColumns {
  readonly names = new Set<string>();
  row(row: Row | null): JsonRow | null {
    if (!row) return null;
    const out: JsonRow = {};
    for (const k of Object.keys(row)) out[k] = this.value(k, row[k]!);
    return out;
  }
  key(columns: readonly string[], values: readonly SqlValue[]): JsonRow {
    const out: JsonRow = {};
    columns.forEach((c, i) => (out[c] = this.value(c, values[i] ?? null)));
    return out;
  }
  private value(column: string, v: SqlValue): JsonScalar {
    if (!Buffer.isBuffer(v)) return v;
    this.names.add(column);
    return v.toString('base64');
  }
}

/** The op letter a consumer sees: a key-changing update arrives as a delete of the old key and a create of the new one, as Debezium does. */
export function envelopeOp(change: ChangeEvent, m: Mutation): EnvelopeOp {
  if (m.op === 'delete') return 'd';
  if (change.op === 'insert') return 'c';
  return m.op === 'upsert' && m.oldKey === null && change.beforeId && change.afterId && change.beforeId.key !== change.afterId.key ? 'c' : 'u';
}

export function encodeMutation(change: ChangeEvent, m: Mutation, ctx: EnvelopeContext): EncodedMessage {
  const binary = new BinaryColumns();
  const op = envelopeOp(change, m);
  const before = op === 'c' ? null : binary.row(change.before);
  const after = op === 'd' ? null : binary.row(change.after);
  const key = binary.key(m.keys.primaryKey, m.key);
  const oldKey = m.oldKey ? binary.key(m.keys.primaryKey, m.oldKey) : null;
  const txId = formatPosition(m.txStart);
  const envelope: Envelope = {
    before,
    after,
    source: {
      version: ctx.version,
      connector: 'mysql',
      name: ctx.pipeline,
      ts_ms: m.timestampMs,
      db: m.table.schema,
      table: m.table.name,
      server_id: ctx.serverId,
      gtid: null,
      file: change.position.file,
      pos: change.position.pos,
      row: m.index,
    },
    op,
    ts_ms: ctx.nowMs,
    transaction: { id: txId, data_collection_order: m.index },
    binlogSync: {
      v: ENVELOPE_VERSION,
      op: m.op,
      keys: m.keys,
      key,
      oldKey,
      rowId: m.rowId,
      uniqueTokens: m.uniqueTokens,
      txStart: m.txStart,
      bytes: m.bytes,
      binary: [...binary.names],
    },
  };
  return {
    key: JSON.stringify(key),
    value: JSON.stringify(envelope),
    headers: { [TX_HEADER]: txId, [POSITION_HEADER]: formatPosition(change.position) },
  };
}

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export const NO_BINARY: ReadonlySet<string> = new Set();

export function decodeRow(row: JsonRow | null, binary: ReadonlySet<string>): Record<string, SqlValue> | null {
  if (!row) return null;
  // Without bytes every value already is the SqlValue it stands for: the parsed object is the row.
  if (binary.size === 0) return row;
  const out: Record<string, SqlValue> = {};
  for (const k of Object.keys(row)) {
    const v = row[k]!;
    out[k] = binary.has(k) && typeof v === 'string' ? Buffer.from(v, 'base64') : v;
  }
  return out;
}

export function decodeKey(key: JsonRow, columns: readonly string[], binary: ReadonlySet<string>): SqlValue[] {
  const row = decodeRow(key, binary)!;
  const out: SqlValue[] = [];
  for (const c of columns) {
    if (!Object.hasOwn(row, c)) throw new EnvelopeError(`key column ${c} missing from the message key`);
    out.push(row[c]!);
  }
  return out;
}

/**
 * The mutation a message carries. `txSeq` is the consumer's own sequence (the source's is per run);
 * throws EnvelopeError when the value is not one of ours (another producer wrote to the topic).
 */
export function decodeMutation(value: string, txSeq: number): Mutation {
  let e: Envelope;
  try {
    e = JSON.parse(value) as Envelope;
  } catch (err) {
    throw new EnvelopeError(`not JSON: ${(err as Error).message}`);
  }
  const b = e?.binlogSync;
  if (!b || typeof b !== 'object' || b.v !== ENVELOPE_VERSION) {
    throw new EnvelopeError(`not a binlog-sync envelope of version ${ENVELOPE_VERSION} (binlogSync.v is ${JSON.stringify(b?.v)})`);
  }
  const binary = Array.isArray(b.binary) && b.binary.length > 0 ? new Set(b.binary) : NO_BINARY;
  const row = decodeRow(b.op === 'delete' ? e.before : e.after, binary);
  if (!row) throw new EnvelopeError(`a ${b.op} without its ${b.op === 'delete' ? 'before' : 'after'} image`);
  return {
    op: b.op,
    table: { schema: e.source.db, name: e.source.table },
    keys: b.keys,
    key: decodeKey(b.key, b.keys.primaryKey, binary),
    rowId: b.rowId,
    oldKey: b.oldKey ? decodeKey(b.oldKey, b.keys.primaryKey, binary) : null,
    row,
    uniqueTokens: b.uniqueTokens,
    txSeq,
    timestampMs: e.source.ts_ms,
    bytes: b.bytes,
    txStart: b.txStart,
    index: e.source.row,
  };
}
