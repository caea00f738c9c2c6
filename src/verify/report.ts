/**
 * What `verify` prints (pure): a line per table with its differing keys (a capped list each, with
 * counts), a total line, and a note when rechecks could not wait for the pipeline; or the same as one
 * JSON document. Also the exit code: 0 all equal, 1 something differs, 2 a table could not be compared.
 * Keys are shown readable (`display`) and exact (`values`: HEX for strings and bytes, the server's text
 * for numbers and temporals, as `keyColumns[].encoding` says), so a repair step can write them back.
 */
import { formatPosition } from '../core/position.js';
import type { KeyColumn, KeyTuple } from './key-columns.js';
import type { KeyList, TableVerdict } from './table-verifier.js';
import type { VerifyResult } from './verify-pipeline.js';

export const DEFAULT_LISTED_KEYS = 10;

export type TableStatus = 'equal' | 'different' | 'error';

export function tableStatus(v: TableVerdict): TableStatus {
  if (v.error !== undefined) return 'error';
  return v.missing.count + v.extra.count + v.different.count > 0 ? 'different' : 'equal';
}

export function verifyExitCode(r: VerifyResult): 0 | 1 | 2 {
  const statuses = r.tables.map(tableStatus);
  if (statuses.includes('error')) return 2;
  return statuses.includes('different') ? 1 : 0;
}

const PRINTABLE = /^[^\p{Cc}\p{Cs}\uFFFD]*$/u;
const UTF8_CHARSETS = new Set(['utf8mb4', 'utf8mb3', 'utf8']);

/** The text of a string's bytes when Node can decode it exactly, else null (shown as hex). */
function decodeText(hex: string, charset: string | null): string | null {
  const bytes = Buffer.from(hex, 'hex');
  let encoding: BufferEncoding;
  if (charset !== null && UTF8_CHARSETS.has(charset)) encoding = 'utf8';
  // ASCII reads the same in every charset we meet; MySQL's latin1 is cp1252, ISO-8859-1 outside 0x80-0x9f.
  else if (bytes.every((b) => b < 0x80 || (charset === 'latin1' && b >= 0xa0))) encoding = 'latin1';
  else return null;
  const text = bytes.toString(encoding);
  return Buffer.from(text, encoding).equals(bytes) && PRINTABLE.test(text) ? text : null;
}

const shorten = (s: string, max = 120): string => (s.length > max ? `${s.slice(0, max)}…` : s);

/** One key value, readable: numbers as they are, text quoted, bytes (or undecodable text) as 0x…. */
export function displayValue(col: KeyColumn, value: string | null): string {
  if (value === null) return 'NULL';
  switch (col.kind) {
    case 'number':
      return value;
    case 'temporal':
      return `'${value}'`;
    case 'binary':
      return `0x${shorten(value)}`;
    case 'string':
    case 'other': {
      const text = decodeText(value, col.kind === 'other' ? 'ascii' : col.charset);
      return text === null ? `0x${shorten(value)}` : JSON.stringify(shorten(text));
    }
  }
}

export function displayKey(columns: readonly KeyColumn[], key: KeyTuple): string {
  const parts = columns.map((c, i) => `${c.name}=${displayValue(c, key[i] ?? null)}`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

const rate = (rows: number, ms: number): number => (ms > 0 ? Math.round((rows * 1000) / ms) : rows);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function totals(r: VerifyResult) {
  const sum = (f: (v: TableVerdict) => number): number => r.tables.reduce((a, v) => a + f(v), 0);
  const statuses = r.tables.map(tableStatus);
  return {
    tables: r.tables.length,
    equal: statuses.filter((s) => s === 'equal').length,
    different: statuses.filter((s) => s === 'different').length,
    errors: statuses.filter((s) => s === 'error').length,
    sourceRows: sum((v) => v.sourceRows),
    targetRows: sum((v) => v.targetRows),
    missingKeys: sum((v) => v.missing.count),
    extraKeys: sum((v) => v.extra.count),
    differentKeys: sum((v) => v.different.count),
    stillChangingKeys: sum((v) => v.stillChanging.count),
    elapsedMs: r.elapsedMs,
    rowsPerSecond: rate(sum((v) => v.sourceRows), r.elapsedMs),
  };
}

function shortfallNote(r: VerifyResult): string | null {
  const s = r.shortfall;
  if (!s || r.tables.every((v) => v.confirmed)) return null;
  const wanted = formatPosition(s.wanted);
  const what = s.applied
    ? `the pipeline had not applied up to the source position ${wanted} within ${(s.waitedMs / 1000).toFixed(0)} s (its checkpoint: ${formatPosition(s.applied)})`
    : `the pipeline "${r.pipeline}" has no checkpoint on the target, so verify could not wait for it to apply up to the source position ${wanted} (has it run under this name?)`;
  return (
    `${what}: rows of the tables marked "not confirmed" may differ only because the pipeline is behind or stopped. ` +
    'That is not proof of a difference; verify again once it has caught up.'
  );
}

const LIST_TITLES = {
  missing: 'missing on the target',
  extra: 'extra on the target',
  different: 'different',
  stillChanging: 'still changing on the source (not counted as differences)',
} as const;

/** The human-readable report. */
export function formatVerifyText(r: VerifyResult, listedKeys = DEFAULT_LISTED_KEYS): string {
  const lines = [`verify ${r.pipeline}: ${plural(r.tables.length, 'table')}, chunks of ${r.chunkSize} rows`];
  const width = Math.max(12, ...r.tables.map((v) => v.table.length));
  for (const v of r.tables) {
    const status = tableStatus(v);
    const from = v.sources ? ` (from ${v.sources.join(', ')})` : '';
    if (status === 'error') {
      lines.push(`  ${v.table.padEnd(width)}  ERROR      ${v.error}${from}`);
      continue;
    }
    const mark = status === 'equal' ? 'equal    ' : 'DIFFERENT';
    const figures = `source ${v.sourceRows} rows, target ${v.targetRows} rows, ${plural(v.chunks, 'chunk')}, ${rate(v.sourceRows, v.elapsedMs)} rows/s`;
    const counts = status === 'different' ? `: ${v.missing.count} missing, ${v.extra.count} extra, ${v.different.count} different` : '';
    lines.push(`  ${v.table.padEnd(width)}  ${mark}  ${figures}${counts}${status === 'different' && !v.confirmed ? ' (not confirmed)' : ''}${from}`);
    for (const kind of ['missing', 'extra', 'different', 'stillChanging'] as const) {
      const list: KeyList = v[kind];
      if (list.count === 0) continue;
      const shown = list.keys.slice(0, listedKeys).map((k) => displayKey(v.keyColumns, k.key) + (k.targetKey ? ` (target: ${displayKey(v.keyColumns, k.targetKey)})` : ''));
      const more = list.count > shown.length ? `, … ${list.count - shown.length} more` : '';
      lines.push(`      ${LIST_TITLES[kind]} (${list.count}): ${shown.join(', ')}${more}`);
    }
  }
  const t = totals(r);
  lines.push(
    `total: ${plural(t.tables, 'table')}: ${t.equal} equal, ${t.different} different${t.errors > 0 ? `, ${t.errors} not compared` : ''}; ` +
      `${t.sourceRows} source rows, ${t.targetRows} target rows; ${t.missingKeys} missing, ${t.extraKeys} extra, ${t.differentKeys} different` +
      `${t.stillChangingKeys > 0 ? `, ${t.stillChangingKeys} still changing` : ''}; ${(t.elapsedMs / 1000).toFixed(1)} s, ${t.rowsPerSecond} rows/s`,
  );
  const note = shortfallNote(r);
  if (note) lines.push(`note: ${note}`);
  return lines.join('\n');
}

function jsonKeys(columns: readonly KeyColumn[], list: KeyList, listedKeys: number) {
  return {
    count: list.count,
    keys: list.keys.slice(0, listedKeys).map((k) => ({
      values: k.key,
      display: displayKey(columns, k.key),
      ...(k.targetKey ? { targetValues: k.targetKey, targetDisplay: displayKey(columns, k.targetKey) } : {}),
    })),
  };
}

/** The JSON document (`--json`): the same content as the text. */
export function verifyJson(r: VerifyResult, listedKeys = DEFAULT_LISTED_KEYS) {
  return {
    pipeline: r.pipeline,
    equal: verifyExitCode(r) === 0,
    chunkSize: r.chunkSize,
    confirmed: r.tables.every((v) => v.confirmed),
    shortfall: r.shortfall
      ? { wanted: formatPosition(r.shortfall.wanted), applied: r.shortfall.applied ? formatPosition(r.shortfall.applied) : null, waitedMs: r.shortfall.waitedMs, note: shortfallNote(r) }
      : null,
    tables: r.tables.map((v) => ({
      table: v.table,
      ...(v.sources ? { sources: v.sources } : {}),
      status: tableStatus(v),
      ...(v.error !== undefined ? { error: v.error } : {}),
      keyColumns: v.keyColumns.map((c) => ({ name: c.name, type: c.dataType, encoding: c.kind === 'number' || c.kind === 'temporal' ? 'text' : 'hex' })),
      sourceRows: v.sourceRows,
      targetRows: v.targetRows,
      chunks: v.chunks,
      rechecked: v.rechecked,
      confirmed: v.confirmed,
      elapsedMs: v.elapsedMs,
      rowsPerSecond: rate(v.sourceRows, v.elapsedMs),
      missing: jsonKeys(v.keyColumns, v.missing, listedKeys),
      extra: jsonKeys(v.keyColumns, v.extra, listedKeys),
      different: jsonKeys(v.keyColumns, v.different, listedKeys),
      stillChanging: jsonKeys(v.keyColumns, v.stillChanging, listedKeys),
    })),
    total: totals(r),
  };
}
