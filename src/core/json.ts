/**
 * JSON form of pipeline values (for `replay --dry-run`, and the Kafka transport later). Everything in
 * `SqlValue` is JSON-safe except Buffers, which become `{"$hex": "…"}`; decoding reverses it exactly.
 */
import type { Row, SqlValue } from './event.js';

export type JsonValue = null | number | string | { readonly $hex: string };

export function valueToJson(v: SqlValue): JsonValue {
  return Buffer.isBuffer(v) ? { $hex: v.toString('hex') } : v;
}

export function valueFromJson(v: JsonValue): SqlValue {
  return v !== null && typeof v === 'object' ? Buffer.from(v.$hex, 'hex') : v;
}

export function rowToJson(row: Row | null): Record<string, JsonValue> | null {
  if (!row) return null;
  const out: Record<string, JsonValue> = {};
  for (const k of Object.keys(row)) out[k] = valueToJson(row[k]!);
  return out;
}

export function rowFromJson(row: Record<string, JsonValue> | null): Row | null {
  if (!row) return null;
  const out: Record<string, SqlValue> = {};
  for (const k of Object.keys(row)) out[k] = valueFromJson(row[k]!);
  return out;
}
