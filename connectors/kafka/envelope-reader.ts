/**
 * The sink worker's decoder of envelopes: the Mutation `decodeMutation` returns, without parsing what
 * the sink does not use. `decodeMutation` JSON.parses the whole value: both row images (an update
 * carries two), the `source` and `transaction` blocks and `binlogSync.keys`, one new object per JSON
 * object, for every message; that was 16 % of the sink worker's CPU and much of its garbage. The
 * envelope's text is not changed (other consumers read it); this reader relies on the layout our
 * writer produces (`encodeMutation` and `EnvelopeWriter`: JSON.stringify's, keys in the envelope's
 * order, no whitespace), finds where each value lies with a few `indexOf`s (see `find`), and parses
 * - the one row image the mutation carries (the after image, or the before image of a delete),
 * - `binlogSync`'s values one by one, where `keys` (the same text for every row of a table) is parsed
 *   once per table and `txStart` once per transaction: those objects are shared by the mutations that
 *   carry the same text (nothing modifies a mutation's keys or positions),
 * - four values of `source` (db, table, ts_ms, row).
 * Anything else (another layout, another version, a value of an unexpected type, invalid JSON in a
 * part it reads) goes to `decodeMutation`, so the result and the errors are exactly its. The one
 * difference: text that is not valid JSON inside a part this reader skips (the other row image, the
 * rest of `source`, `op`, `ts_ms`, `transaction`), or a raw control character in a string without
 * escapes that it takes as it is (db, table, rowId), is not noticed; only binlog-sync publishers write
 * to the topic.
 * `test/unit/kafka/envelope-reader.test.ts` compares both decoders on random envelopes.
 */
import type { BinlogPosition, Mutation, SqlValue, TableKeys } from '../../src/index.js';
import { decodeKey, decodeMutation, decodeRow, NO_BINARY, type JsonRow } from './envelope.js';

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const QUOTE = 0x22;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Thrown inside the fast path: this value is for `decodeMutation`. */
class NotTheFastPath extends Error {}
const notFast = new NotTheFastPath();

/**
 * Where the next `token` (beginning with `,"` or `},"`) starts at or after `from`, else not the fast path.
 * In JSON.stringify's text every quote inside a string is escaped (preceded by a backslash), so `,"`
 * never occurs inside a string: it is always the start of the next key (or of a string in an array).
 * The first `,"name":` after a place is therefore the next key of that name in the text, and in a flat
 * object of scalars (a row image, a key, `source`) the first `},"name":` is where that object ends.
 */
function find(s: string, token: string, from: number): number {
  const at = s.indexOf(token, from);
  if (at < 0) throw notFast;
  return at;
}

/** A JSON string's value (only a string: anything else is for `decodeMutation`). */
function jsonString(s: string, a: number, b: number): string {
  if (s.charCodeAt(a) !== QUOTE || b - a < 2 || s.charCodeAt(b - 1) !== QUOTE) throw notFast;
  const inner = s.slice(a + 1, b - 1);
  return inner.includes('\\') ? (JSON.parse(s.slice(a, b)) as string) : inner;
}

/** A JSON number's value (only a number). Plain integers of up to 15 digits are read here, the rest by JSON.parse. */
function jsonNumber(s: string, a: number, b: number): number {
  let i = s.charCodeAt(a) === MINUS ? a + 1 : a;
  const digits = b - i;
  if (digits >= 1 && digits <= 15 && !(digits > 1 && s.charCodeAt(i) === ZERO)) {
    let n = 0;
    for (; i < b; i++) {
      const c = s.charCodeAt(i);
      if (c < ZERO || c > NINE) break;
      n = n * 10 + (c - ZERO);
    }
    if (i === b) return s.charCodeAt(a) === MINUS ? -n : n;
  }
  const v: unknown = JSON.parse(s.slice(a, b));
  if (typeof v !== 'number') throw notFast;
  return v;
}

/** A JSON object (only an object). */
function jsonObject(s: string, a: number, b: number): JsonRow {
  if (s.charCodeAt(a) !== OPEN_BRACE) throw notFast;
  return JSON.parse(s.slice(a, b)) as JsonRow;
}

/**
 * Where a row image that is `null` or a flat object starts at `at` ends, given the key that follows it
 * (`,"after":` or `,"source":{`): the image's end.
 */
function imageEnd(s: string, at: number, next: string): number {
  if (s.startsWith('null', at) && s.startsWith(next, at + 4)) return at + 4;
  if (s.charCodeAt(at) !== OPEN_BRACE) throw notFast;
  return find(s, `}${next}`, at) + 1;
}

const HEAD = '{"before":';
const AFTER = ',"after":';
const SOURCE = ',"source":{';
const SYNC_HEADS = { upsert: ',"binlogSync":{"v":1,"op":"upsert","keys":', delete: ',"binlogSync":{"v":1,"op":"delete","keys":', update: ',"binlogSync":{"v":1,"op":"update","keys":' } as const;
const SYNC = ',"binlogSync":{"v":1,"op":"';

/** Parsed transaction starts by their text; cleared when it holds this many (the texts are slices of their messages: at most ~4 MB kept). */
const MAX_POSITION_TEXTS = 4096;
/** Parsed `binlogSync.keys` by their text; cleared when it holds this many (tables change with DDL). */
const MAX_KEYS_TEXTS = 1024;

export class EnvelopeReader {
  private readonly keys = new Map<string, TableKeys>();
  private lastKeysText = '';
  private lastKeys: TableKeys | null = null;
  private readonly positions = new Map<string, BinlogPosition>();

  /** What `decodeMutation(value, txSeq)` returns (and throws). */
  read(value: string, txSeq: number): Mutation {
    // Not our writer's layout, or not a valid envelope: decodeMutation decides, and says why.
    return this.readFast(value, txSeq) ?? decodeMutation(value, txSeq);
  }

  /** The mutation when the value has our writer's layout and reads without a doubt, else null. */
  readFast(value: string, txSeq: number): Mutation | null {
    try {
      return this.fast(value, txSeq);
    } catch {
      return null;
    }
  }

  private fast(s: string, txSeq: number): Mutation {
    if (!s.startsWith(HEAD)) throw notFast;
    const beforeAt = HEAD.length;
    const beforeEnd = imageEnd(s, beforeAt, AFTER);
    const afterAt = beforeEnd + AFTER.length;
    const afterEnd = imageEnd(s, afterAt, SOURCE);
    // source: {"version":…,"connector":…,"name":…,"ts_ms":N,"db":"…","table":"…","server_id":N,"gtid":…,"file":…,"pos":N,"row":N}
    const sourceAt = afterEnd + SOURCE.length;
    const tsKey = find(s, ',"ts_ms":', sourceAt);
    const dbKey = find(s, ',"db":', tsKey);
    const tableKey = find(s, ',"table":', dbKey);
    const serverKey = find(s, ',"server_id":', tableKey);
    const rowKey = find(s, ',"row":', serverKey);
    const sourceEnd = find(s, '},"op":', rowKey);
    // op, ts_ms and transaction are not read; binlogSync's keys follow in the writer's order.
    const syncAt = find(s, SYNC, sourceEnd);
    const op = s.startsWith(SYNC_HEADS.upsert, syncAt) ? 'upsert' : s.startsWith(SYNC_HEADS.delete, syncAt) ? 'delete' : s.startsWith(SYNC_HEADS.update, syncAt) ? 'update' : null;
    if (op === null) throw notFast;
    const keysAt = syncAt + SYNC_HEADS[op].length;
    const keyKey = find(s, ',"key":', keysAt);
    const oldKeyKey = find(s, '},"oldKey":', keyKey) + 1;
    const oldKeyAt = oldKeyKey + 10;
    const oldKeyNull = s.startsWith('null,"rowId":', oldKeyAt);
    const rowIdKey = oldKeyNull ? oldKeyAt + 4 : find(s, '},"rowId":', oldKeyAt) + 1;
    const uniqueKey = find(s, ',"uniqueTokens":', rowIdKey);
    const txStartKey = find(s, ',"txStart":', uniqueKey);
    const bytesKey = find(s, ',"bytes":', txStartKey);
    const binaryKey = find(s, ',"binary":', bytesKey);
    if (!s.endsWith('}}')) throw notFast;
    const end = s.length - 2;

    const binaryText = s.slice(binaryKey + 10, end);
    let binary: ReadonlySet<string> = NO_BINARY;
    if (binaryText !== '[]') {
      const parsed: unknown = JSON.parse(binaryText);
      if (Array.isArray(parsed) && parsed.length > 0) binary = new Set(parsed as string[]);
    }
    const keys = this.tableKeys(s, keysAt, keyKey);
    const row = op === 'delete' ? decodeRow(jsonObject(s, beforeAt, beforeEnd), binary)! : decodeRow(jsonObject(s, afterAt, afterEnd), binary)!;
    const key = decodeKey(jsonObject(s, keyKey + 7, oldKeyKey), keys.primaryKey, binary);
    const oldKey: SqlValue[] | null = oldKeyNull ? null : decodeKey(jsonObject(s, oldKeyAt, rowIdKey), keys.primaryKey, binary);
    const uniqueText = s.slice(uniqueKey + 16, txStartKey);
    let uniqueTokens: string[] = [];
    if (uniqueText !== '[]') {
      if (uniqueText.charCodeAt(0) !== OPEN_BRACKET) throw notFast;
      uniqueTokens = JSON.parse(uniqueText) as string[];
    }
    return {
      op,
      table: { schema: jsonString(s, dbKey + 6, tableKey), name: jsonString(s, tableKey + 9, serverKey) },
      keys,
      key,
      rowId: jsonString(s, rowIdKey + 9, uniqueKey),
      oldKey,
      row,
      uniqueTokens,
      txSeq,
      timestampMs: jsonNumber(s, tsKey + 9, dbKey),
      bytes: jsonNumber(s, bytesKey + 9, binaryKey),
      txStart: this.position(s, txStartKey + 11, bytesKey),
      index: jsonNumber(s, rowKey + 7, sourceEnd),
    };
  }

  /** `binlogSync.keys` between `at` and `end`: the same object for the same text (rows of one table). */
  private tableKeys(s: string, at: number, end: number): TableKeys {
    // Most messages are of the table before them: compare in place, without a slice.
    if (this.lastKeys !== null && end - at === this.lastKeysText.length && s.startsWith(this.lastKeysText, at)) return this.lastKeys;
    const text = s.slice(at, end);
    let keys = this.keys.get(text);
    if (keys === undefined) {
      if (text.charCodeAt(0) !== OPEN_BRACE) throw notFast;
      const parsed = JSON.parse(text) as TableKeys;
      // decodeMutation reads primaryKey as a list of names; anything else is for it to judge.
      if (!Array.isArray(parsed.primaryKey)) throw notFast;
      if (this.keys.size >= MAX_KEYS_TEXTS) this.keys.clear();
      this.keys.set(text, (keys = parsed));
    }
    this.lastKeysText = text;
    this.lastKeys = keys;
    return keys;
  }

  /**
   * The position between `at` and `end`: one object per text among the recent ones (the rows of a
   * transaction share it; they arrive interleaved with other transactions' rows, one partition at a time).
   */
  private position(s: string, at: number, end: number): BinlogPosition {
    const text = s.slice(at, end);
    let p = this.positions.get(text);
    if (p === undefined) {
      p = JSON.parse(text) as BinlogPosition;
      if (this.positions.size >= MAX_POSITION_TEXTS) this.positions.clear();
      this.positions.set(text, p);
    }
    return p;
  }
}
