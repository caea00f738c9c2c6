/**
 * Whether a target column can hold every value of a source column exactly (pure). The pipeline writes
 * full row images: a narrower or other-typed target column would refuse values, truncate them, or
 * store them differently (another fraction width, another scale, another character set), and the
 * target would drift from the source without a word. Equal definitions are compatible; so are wider
 * integers, longer strings of the same character set and wider string or binary types (CHAR → VARCHAR
 * → TEXT, BINARY → VARBINARY → BLOB). Anything else needs the source's definition.
 */
export interface ColumnDefinition {
  readonly name: string;
  /** INFORMATION_SCHEMA.COLUMNS.DATA_TYPE, lower case. */
  readonly dataType: string;
  /** INFORMATION_SCHEMA.COLUMNS.COLUMN_TYPE (e.g. `int(10) unsigned`, `enum('a','b')`). */
  readonly columnType: string;
  readonly maxLength: number | null;
  readonly charset: string | null;
}

const INT_BYTES: Readonly<Record<string, number>> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, integer: 4, bigint: 8 };
/** String types by how much they hold (same character set): any later one holds every earlier one. */
const TEXT_ORDER = ['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext'];
const BINARY_ORDER = ['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob'];
const TEXT_CAPACITY: Readonly<Record<string, number>> = { tinytext: 255, text: 65_535, mediumtext: 16_777_215, longtext: 4_294_967_295 };
const BLOB_CAPACITY: Readonly<Record<string, number>> = { tinyblob: 255, blob: 65_535, mediumblob: 16_777_215, longblob: 4_294_967_295 };

const normalized = (t: string): string => t.toLowerCase().replace(/\s+/g, ' ').trim();
const unsigned = (t: string): boolean => /\bunsigned\b/i.test(t);

/** Why the target column cannot hold the source column's values exactly, or null when it can. */
export function columnIncompatibility(source: ColumnDefinition, target: ColumnDefinition): string | null {
  const s = source.dataType;
  const t = target.dataType;
  if (normalized(source.columnType) === normalized(target.columnType) && source.charset === target.charset) return null;
  if (s in INT_BYTES && t in INT_BYTES) {
    const sb = INT_BYTES[s]!;
    const tb = INT_BYTES[t]!;
    const su = unsigned(source.columnType);
    const tu = unsigned(target.columnType);
    // Same sign: at least as wide; unsigned into signed: strictly wider; signed into unsigned: never.
    if ((su === tu && tb >= sb) || (su && !tu && tb > sb)) return null;
    return `${t} ${tu ? 'unsigned ' : ''}cannot hold every ${s}${su ? ' unsigned' : ''} value`;
  }
  if (s === 'float' && t === 'double') return null;
  const si = TEXT_ORDER.indexOf(s);
  const ti = TEXT_ORDER.indexOf(t);
  if (si >= 0 && ti >= 0) {
    if (source.charset !== target.charset) return `another character set (${target.charset ?? '?'} for ${source.charset ?? '?'}): characters would be converted or lost`;
    const capacity = (d: ColumnDefinition): number => TEXT_CAPACITY[d.dataType] ?? d.maxLength ?? 0;
    if (ti >= si && capacity(target) >= capacity(source)) return null;
    return `${target.columnType} is shorter than ${source.columnType}`;
  }
  const sj = BINARY_ORDER.indexOf(s);
  const tj = BINARY_ORDER.indexOf(t);
  if (sj >= 0 && tj >= 0) {
    // BINARY pads with zero bytes: only another BINARY of the same length keeps values exactly.
    if (t === 'binary' || (s === 'binary' && t !== 'binary')) return `${target.columnType} does not store ${source.columnType} values byte for byte (BINARY pads to its length)`;
    const capacity = (d: ColumnDefinition): number => BLOB_CAPACITY[d.dataType] ?? d.maxLength ?? 0;
    if (tj >= sj && capacity(target) >= capacity(source)) return null;
    return `${target.columnType} is shorter than ${source.columnType}`;
  }
  if (s !== t) return `another type (${target.columnType} for ${source.columnType})`;
  // Same type, other parameters: DECIMAL precision/scale, fractional seconds, ENUM/SET members, BIT width…
  return `another definition (${target.columnType} for ${source.columnType}): values would be stored differently`;
}
