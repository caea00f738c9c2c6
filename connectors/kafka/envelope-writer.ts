/**
 * The publisher's encoder of envelopes: the same text as `encodeMutation` (JSON.stringify of the
 * envelope object), byte for byte, written as one string without the intermediate objects. Per
 * message, encodeMutation built the envelope and a copy of each row image only to serialise them, and
 * serialised the table's keys, the source block's constants and the transaction's position again for
 * every row: that was ~10 % of the publisher's CPU and a good part of its garbage. Here what is the same
 * for every row of a table (the `source` block's constants, `binlogSync.keys`) is serialised once, the
 * positions once per transaction and row event, column names once, and only the values per row.
 * `test/unit/kafka/envelope-writer.test.ts` compares both encoders on random rows.
 */
import type { BinlogPosition, ChangeEvent, Mutation, Row, SqlValue, TableKeys } from '../../src/index.js';
import { formatPosition } from '../../src/index.js';
import { ENVELOPE_VERSION, envelopeOp, POSITION_HEADER, TX_HEADER, type EncodedMessage, type EnvelopeContext } from './envelope.js';

/** What every message of one table shares (the context is fixed per writer). */
interface TableFragments {
  /** `,"source":{"version":…,"connector":"mysql","name":…,"ts_ms":` */
  readonly sourceHead: string;
  /** `,"db":…,"table":…,"server_id":…,"gtid":null,"file":` */
  readonly sourceTable: string;
  /** `"keys":{…},"key":` */
  readonly keys: string;
  /**
   * The primary-key columns in the order JSON.stringify writes an object of them (integer-like names
   * first), their places in the key, and `"name":` of each.
   */
  readonly keyColumns: readonly string[];
  readonly keyIndex: readonly number[];
  readonly keyNames: readonly string[];
}

/** A position's JSON and its `file:pos` form, for the last position object seen (rows of one event or transaction share it). */
class PositionText {
  private last: BinlogPosition | null = null;
  pos = 0;
  json = '';
  formatted = '';
  formattedJson = '';
  fileJson = '';
  /** The message headers of rows of this event in the transaction that began at `headersTx` (shared: nothing writes to them). */
  private headers: Readonly<Record<string, string>> | null = null;
  private headersTx = '';
  of(p: BinlogPosition): this {
    if (p !== this.last) {
      this.last = p;
      this.pos = p.pos;
      this.json = JSON.stringify(p);
      this.formatted = formatPosition(p);
      this.formattedJson = JSON.stringify(this.formatted);
      this.fileJson = JSON.stringify(p.file);
      this.headers = null;
    }
    return this;
  }
  headersIn(tx: PositionText): Readonly<Record<string, string>> {
    if (this.headers === null || this.headersTx !== tx.formatted) {
      this.headersTx = tx.formatted;
      this.headers = { [TX_HEADER]: tx.formatted, [POSITION_HEADER]: this.formatted };
    }
    return this.headers;
  }
}

export class EnvelopeWriter {
  private readonly tables = new WeakMap<TableKeys, TableFragments>();
  /** `"name":` for each column name seen (names repeat in every row). */
  private readonly names = new Map<string, string>();
  private readonly txStart = new PositionText();
  private readonly rowEvent = new PositionText();
  /** Columns holding bytes in the message being written, in the order JSON.stringify's encoder meets them. */
  private binary: string[] = [];

  constructor(private readonly ctx: Omit<EnvelopeContext, 'nowMs'>) {}

  /** The message of one mutation of `change`, as `encodeMutation(change, m, { ...ctx, nowMs })` writes it. */
  encode(change: ChangeEvent, m: Mutation, nowMs: number): EncodedMessage {
    this.binary = [];
    const t = this.fragments(m.keys);
    const op = envelopeOp(change, m);
    const before = op === 'c' ? 'null' : this.row(change.before);
    const after = op === 'd' ? 'null' : this.row(change.after);
    const key = this.key(t, m.key);
    const oldKey = m.oldKey ? this.key(t, m.oldKey) : 'null';
    const tx = this.txStart.of(m.txStart);
    const at = this.rowEvent.of(change.position);
    const value =
      `{"before":${before},"after":${after}${t.sourceHead}${num(m.timestampMs)}${t.sourceTable}${at.fileJson},"pos":${num(at.pos)},"row":${num(m.index)}},` +
      `"op":"${op}","ts_ms":${num(nowMs)},"transaction":{"id":${tx.formattedJson},"data_collection_order":${num(m.index)}},` +
      `"binlogSync":{"v":${ENVELOPE_VERSION},"op":"${m.op}",${t.keys}${key},"oldKey":${oldKey},"rowId":${JSON.stringify(m.rowId)},` +
      `"uniqueTokens":${m.uniqueTokens.length === 0 ? '[]' : JSON.stringify(m.uniqueTokens)},"txStart":${tx.json},"bytes":${num(m.bytes)},` +
      `"binary":${this.binary.length === 0 ? '[]' : JSON.stringify(this.binary)}}}`;
    return { key, value, headers: at.headersIn(tx) };
  }

  private fragments(keys: TableKeys): TableFragments {
    let t = this.tables.get(keys);
    if (!t) {
      const c = this.ctx;
      const order: Record<string, number> = {};
      keys.primaryKey.forEach((column, i) => (order[column] = i));
      const keyColumns = Object.keys(order);
      t = {
        sourceHead: `,"source":{"version":${JSON.stringify(c.version)},"connector":"mysql","name":${JSON.stringify(c.pipeline)},"ts_ms":`,
        sourceTable: `,"db":${JSON.stringify(keys.table.schema)},"table":${JSON.stringify(keys.table.name)},"server_id":${num(c.serverId)},"gtid":null,"file":`,
        keys: `"keys":${JSON.stringify(keys)},"key":`,
        keyColumns,
        keyIndex: keyColumns.map((column) => order[column]!),
        keyNames: keyColumns.map((column) => this.name(column)),
      };
      this.tables.set(keys, t);
    }
    return t;
  }

  private name(column: string): string {
    let n = this.names.get(column);
    if (n === undefined) this.names.set(column, (n = `${JSON.stringify(column)}:`));
    return n;
  }

  private row(row: Row | null): string {
    if (!row) return 'null';
    // Without bytes the row is its own JSON (V8's serialiser is fastest on the whole object).
    let bytes = false;
    for (const k in row) if (Buffer.isBuffer(row[k])) bytes = true;
    if (!bytes) return JSON.stringify(row);
    let out = '{';
    for (const k of Object.keys(row)) {
      const v = row[k];
      if (v === undefined) continue; // JSON.stringify leaves such a property out
      out += `${out.length === 1 ? '' : ','}${this.name(k)}${this.value(k, v)}`;
    }
    return `${out}}`;
  }

  private key(t: TableFragments, values: readonly SqlValue[]): string {
    let out = '{';
    for (let i = 0; i < t.keyNames.length; i++) out += `${i === 0 ? '' : ','}${t.keyNames[i]!}${this.value(t.keyColumns[i]!, values[t.keyIndex[i]!] ?? null)}`;
    return `${out}}`;
  }

  private value(column: string, v: SqlValue): string {
    if (v === null) return 'null';
    if (typeof v === 'number') return num(v);
    if (typeof v === 'string') return JSON.stringify(v);
    if (!Buffer.isBuffer(v)) return JSON.stringify(v) ?? 'null'; // not a SqlValue: whatever JSON.stringify makes of it
    if (!this.binary.includes(column)) this.binary.push(column);
    return `"${v.toString('base64')}"`;
  }
}

/** A number as JSON.stringify writes it (NaN and ±Infinity as null). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
