/**
 * The column types the fuzzer draws from: every type MariaDB has (integers of each width and sign,
 * DECIMAL, FLOAT, DOUBLE, BIT, each temporal type at each fsp, YEAR, CHAR/VARCHAR/TEXT in random
 * charsets and collations, BINARY/VARBINARY/BLOB, ENUM, SET, JSON, geometry, INET6, UUID, generated
 * columns). Each type knows its SQL definition and makes random SQL literals of valid values, edges
 * included, so the source accepts them under its default (strict) sql_mode.
 */
import type { FuzzRandom } from './random.js';

export interface StringCharset {
  readonly charset: string;
  readonly collation: string;
}

/** Collations by family: `_ci`, `_bin`, NO PAD, UCA (4.0, 5.2, 14.0), single-byte, utf8mb3. */
export const COLLATIONS: readonly StringCharset[] = [
  { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' },
  { charset: 'utf8mb4', collation: 'utf8mb4_bin' },
  { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
  { charset: 'utf8mb4', collation: 'utf8mb4_unicode_520_ci' },
  { charset: 'utf8mb4', collation: 'utf8mb4_general_nopad_ci' },
  { charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin' },
  { charset: 'utf8mb4', collation: 'utf8mb4_uca1400_ai_ci' },
  { charset: 'utf8mb4', collation: 'utf8mb4_uca1400_as_cs' },
  { charset: 'utf8mb4', collation: 'utf8mb4_german2_ci' },
  { charset: 'utf8mb3', collation: 'utf8mb3_general_ci' },
  { charset: 'utf8mb3', collation: 'utf8mb3_unicode_ci' },
  { charset: 'latin1', collation: 'latin1_swedish_ci' },
  { charset: 'latin1', collation: 'latin1_bin' },
  { charset: 'latin1', collation: 'latin1_german2_ci' },
  { charset: 'latin1', collation: 'latin1_general_cs' },
  { charset: 'ascii', collation: 'ascii_general_ci' },
];

/** Characters each charset can store (a random string draws from these). */
const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.\'\\"%';
const LATIN1 = ASCII + 'éèêëÉÈàáâäÄÅåæÆçÇßöÖüÜñÑøØ';
const BMP = LATIN1 + 'γάμμαΔΣЖжяЯ日本語中文한국어ﬁŉ';
const UTF8MB4 = BMP + '🚀😀𝔘𐍈';

export function alphabet(charset: string): string[] {
  const s = charset === 'ascii' ? ASCII : charset === 'latin1' ? LATIN1 : charset === 'utf8mb3' ? BMP : UTF8MB4;
  return [...s];
}

/** A random string of at most `max` characters from the charset's alphabet. */
export function randomText(r: FuzzRandom, charset: string, max: number): string {
  const chars = alphabet(charset);
  const n = r.chance(0.1) ? 0 : r.int(1, Math.max(1, Math.min(max, r.chance(0.8) ? 12 : max)));
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(chars);
  return s;
}

/** A string literal in the column's charset, quoted for the server (works for every byte). */
export function textLiteral(value: string, cs: StringCharset): string {
  return `_${cs.charset} X'${Buffer.from(value, cs.charset === 'utf8mb4' || cs.charset === 'utf8mb3' ? 'utf8' : 'latin1').toString('hex')}' COLLATE ${cs.collation}`;
}

export const bytesLiteral = (b: Buffer): string => (b.length === 0 ? "''" : `X'${b.toString('hex')}'`);

/** What kind of value a column holds (for keys, key changes and row lookups). */
export type ValueKind = 'int' | 'decimal' | 'real' | 'bit' | 'temporal' | 'text' | 'bytes' | 'enum' | 'json' | 'geometry' | 'special';

export interface ColumnType {
  /** The type in a column definition, e.g. `VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin`. */
  readonly sql: string;
  /** The short type name for reports (`varchar`, `time(3)`). */
  readonly label: string;
  readonly kind: ValueKind;
  /** Text types: their charset and collation. */
  readonly charset?: StringCharset;
  /** Can be part of a primary or unique key (BLOB/TEXT/JSON/geometry cannot without a prefix). */
  readonly keyable: boolean;
  /** A random valid SQL literal. */
  random(r: FuzzRandom): string;
  /** Large values (BLOB/TEXT): a literal of about `bytes` bytes. */
  readonly large?: ((r: FuzzRandom, bytes: number) => string) | undefined;
  /** Text keys: a value the collation may call equal to `value` (case, trailing space, accent). */
  variant?(r: FuzzRandom, value: string): string;
  /** Text types: the longest value in characters. */
  readonly maxChars?: number;
}

const pad = (n: number | bigint, w = 2): string => String(n).padStart(w, '0');

function intType(name: string, bits: number, unsigned: boolean): ColumnType {
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  return {
    sql: `${name}${unsigned ? ' UNSIGNED' : ''}`,
    label: `${name.toLowerCase()}${unsigned ? ' unsigned' : ''}`,
    kind: 'int',
    keyable: true,
    random: (r) => {
      const edge = r.chance(0.1);
      if (edge) return String(r.pick([min, max, 0n, min + 1n, max - 1n]));
      if (r.chance(0.6)) return String(BigInt(r.int(Math.max(Number(min), -1000), Math.min(Number(max), 1000))));
      const span = max - min + 1n;
      return String(min + (r.bits(bits) % span));
    },
  };
}

function decimalType(p: number, s: number): ColumnType {
  return {
    sql: `DECIMAL(${p},${s})`,
    label: `decimal(${p},${s})`,
    kind: 'decimal',
    keyable: true,
    random: (r) => {
      const intDigits = p - s;
      const whole = intDigits > 0 ? r.digits(r.chance(0.2) ? intDigits : r.int(1, intDigits)) : '0';
      const frac = s > 0 ? r.digits(s) : '';
      if (r.chance(0.05)) return `${r.chance(0.5) ? '-' : ''}${intDigits > 0 ? '9'.repeat(intDigits) : '0'}${s > 0 ? '.' + '9'.repeat(s) : ''}`;
      return `${r.chance(0.4) ? '-' : ''}${whole}${frac ? '.' + frac : ''}`;
    },
  };
}

function realType(name: 'FLOAT' | 'DOUBLE'): ColumnType {
  return {
    sql: name,
    label: name.toLowerCase(),
    kind: 'real',
    keyable: false,
    random: (r) => {
      if (r.chance(0.1)) return r.pick(['0', '-0', '1', '-1', name === 'FLOAT' ? '3.40282e38' : '1.7976931348623157e308', name === 'FLOAT' ? '1.17549e-38' : '2.2250738585072014e-308']);
      const v = (r.float() * 2 - 1) * 10 ** r.int(-20, 20);
      return name === 'FLOAT' ? v.toPrecision(7) : v.toPrecision(17);
    },
  };
}

function bitType(n: number): ColumnType {
  return {
    sql: `BIT(${n})`,
    label: `bit(${n})`,
    kind: 'bit',
    keyable: true,
    random: (r) => {
      const v = r.chance(0.1) ? r.pick([0n, (1n << BigInt(n)) - 1n]) : r.bits(n);
      return `b'${v.toString(2)}'`;
    },
  };
}

function fraction(r: FuzzRandom, fsp: number): string {
  if (fsp === 0) return '';
  return '.' + (r.chance(0.1) ? r.pick(['0'.repeat(fsp), '9'.repeat(fsp), '5'.padEnd(fsp, '0')]) : r.digits(fsp));
}

function dateText(r: FuzzRandom, fromYear = 1000, toYear = 9999): string {
  const y = r.chance(0.05) ? r.pick([fromYear, toYear]) : r.int(fromYear, toYear);
  const m = r.int(1, 12);
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return `${pad(y, 4)}-${pad(m)}-${pad(r.chance(0.1) ? days : r.int(1, days))}`;
}

function clockText(r: FuzzRandom): string {
  return `${pad(r.int(0, 23))}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}`;
}

function temporalType(name: 'DATE' | 'TIME' | 'DATETIME' | 'TIMESTAMP' | 'YEAR', fsp: number): ColumnType {
  const sql = name === 'DATE' || name === 'YEAR' ? name : `${name}(${fsp})`;
  return {
    sql,
    label: sql.toLowerCase(),
    kind: 'temporal',
    keyable: true,
    random: (r) => {
      switch (name) {
        case 'DATE':
          return `'${dateText(r)}'`;
        case 'YEAR':
          return String(r.chance(0.05) ? 0 : r.int(1901, 2155));
        case 'TIME': {
          if (r.chance(0.1)) return `'${r.pick(['-838:59:59', '838:59:59', '00:00:00', '-00:00:01', '-00:00:00.5'])}'`;
          const neg = r.chance(0.4) ? '-' : '';
          const h = r.chance(0.5) ? r.int(0, 23) : r.int(0, 838);
          const frac = h === 838 ? '' : fraction(r, fsp);
          const text = `${neg}${pad(h)}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}${frac}`;
          return `'${text === '-00:00:00' ? '00:00:00' : text}'`;
        }
        case 'DATETIME':
          return `'${dateText(r)} ${clockText(r)}${fraction(r, fsp)}'`;
        case 'TIMESTAMP':
          // Inside the TIMESTAMP range in any session time zone (±14 h).
          return `'${dateText(r, 1971, 2037)} ${clockText(r)}${fraction(r, fsp)}'`;
      }
    },
  };
}

function variantOf(r: FuzzRandom, value: string, charset: string): string {
  const chars = alphabet(charset);
  switch (r.int(0, 4)) {
    case 0:
      return value.toUpperCase() === value ? value.toLowerCase() : value.toUpperCase();
    case 1:
      return value + ' ';
    case 2: {
      // An accent: e <-> é, a <-> ä, s <-> ß where the charset has it.
      const swaps: Record<string, string> = { e: 'é', é: 'e', a: 'ä', ä: 'a', o: 'ö', ö: 'o', u: 'ü', ü: 'u', s: 'ß', E: 'É' };
      const out = [...value].map((ch) => (swaps[ch] && chars.includes(swaps[ch]) && r.chance(0.6) ? swaps[ch] : ch)).join('');
      return out;
    }
    case 3:
      return value.replace(/ +$/, '');
    default:
      return [...value].map((ch) => (r.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase())).join('');
  }
}

function textType(base: 'CHAR' | 'VARCHAR' | 'TINYTEXT' | 'TEXT' | 'MEDIUMTEXT' | 'LONGTEXT', cs: StringCharset, n: number): ColumnType {
  const sized = base === 'CHAR' || base === 'VARCHAR';
  const maxChars = sized ? n : base === 'TINYTEXT' ? Math.floor(255 / (cs.charset === 'utf8mb4' ? 4 : cs.charset === 'utf8mb3' ? 3 : 1)) : 400;
  const sql = `${sized ? `${base}(${n})` : base} CHARACTER SET ${cs.charset} COLLATE ${cs.collation}`;
  return {
    sql,
    label: `${base.toLowerCase()} ${cs.collation}`,
    kind: 'text',
    charset: cs,
    keyable: sized,
    maxChars,
    random: (r) => {
      let v = randomText(r, cs.charset, maxChars);
      if (r.chance(0.1) && v.length < maxChars) v += ' ';
      return textLiteral(v, cs);
    },
    large: base === 'MEDIUMTEXT' || base === 'LONGTEXT' ? (r, bytes) => `REPEAT(${textLiteral(randomText(r, cs.charset, 40) || 'x', cs)}, ${Math.max(1, Math.floor(bytes / 40))})` : undefined,
    variant: (r, value) => {
      const v = variantOf(r, value, cs.charset);
      return [...v].length <= maxChars && (base !== 'CHAR' || !v.endsWith(' ')) ? v : value;
    },
  };
}

function binaryType(base: 'BINARY' | 'VARBINARY' | 'TINYBLOB' | 'BLOB' | 'MEDIUMBLOB' | 'LONGBLOB', n: number): ColumnType {
  const sized = base === 'BINARY' || base === 'VARBINARY';
  const max = sized ? n : base === 'TINYBLOB' ? 255 : 600;
  return {
    sql: sized ? `${base}(${n})` : base,
    label: sized ? `${base.toLowerCase()}(${n})` : base.toLowerCase(),
    kind: 'bytes',
    keyable: sized,
    random: (r) => bytesLiteral(r.bytes(r.chance(0.1) ? 0 : r.int(1, Math.min(max, r.chance(0.8) ? 16 : max)))),
    large: base === 'MEDIUMBLOB' || base === 'LONGBLOB' ? (r, bytes) => `REPEAT(${bytesLiteral(r.bytes(64))}, ${Math.max(1, Math.floor(bytes / 64))})` : undefined,
  };
}

const ENUM_VALUES = ['small', 'medium', 'large', 'x-large', 'Ünïcödé', ''];

function enumType(): ColumnType {
  return {
    sql: `ENUM(${ENUM_VALUES.map((v) => `'${v}'`).join(',')}) CHARACTER SET utf8mb4`,
    label: 'enum',
    kind: 'enum',
    keyable: true,
    random: (r) => `'${r.pick(ENUM_VALUES)}'`,
  };
}

const SET_VALUES = ['read', 'write', 'admin', 'owner', 'ßpecial'];

function setType(): ColumnType {
  return {
    sql: `SET(${SET_VALUES.map((v) => `'${v}'`).join(',')}) CHARACTER SET utf8mb4`,
    label: 'set',
    kind: 'enum',
    keyable: true,
    random: (r) => `'${r.sample(SET_VALUES, r.int(0, SET_VALUES.length)).join(',')}'`,
  };
}

function jsonValue(r: FuzzRandom, depth: number): unknown {
  const k = r.int(0, depth > 2 ? 3 : 5);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5) ? r.int(-1e9, 1e9) : Number((r.float() * 1e6).toFixed(r.int(0, 6)));
    case 2:
      return r.chance(0.5);
    case 3:
      return randomText(r, 'utf8mb4', 10);
    case 4:
      return Array.from({ length: r.int(0, 3) }, () => jsonValue(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(0, 3) }, (_, i) => [`k${i}${randomText(r, 'latin1', 3)}`, jsonValue(r, depth + 1)]));
  }
}

function jsonType(): ColumnType {
  return {
    sql: 'JSON',
    label: 'json',
    kind: 'json',
    keyable: false,
    random: (r) => textLiteral(JSON.stringify(jsonValue(r, 0)), { charset: 'utf8mb4', collation: 'utf8mb4_bin' }),
  };
}

function geometryType(name: 'GEOMETRY' | 'POINT' | 'LINESTRING' | 'POLYGON'): ColumnType {
  const coord = (r: FuzzRandom): string => `${(r.float() * 360 - 180).toFixed(r.int(0, 6))} ${(r.float() * 180 - 90).toFixed(r.int(0, 6))}`;
  const shape = (r: FuzzRandom, kind: string): string => {
    if (kind === 'POINT') return `POINT(${coord(r)})`;
    if (kind === 'LINESTRING') return `LINESTRING(${Array.from({ length: r.int(2, 5) }, () => coord(r)).join(', ')})`;
    const x = r.int(-100, 100);
    const y = r.int(-50, 50);
    const d = r.int(1, 20);
    return `POLYGON((${x} ${y}, ${x + d} ${y}, ${x + d} ${y + d}, ${x} ${y + d}, ${x} ${y}))`;
  };
  return {
    sql: name,
    label: name.toLowerCase(),
    kind: 'geometry',
    keyable: false,
    random: (r) => `ST_GeomFromText('${shape(r, name === 'GEOMETRY' ? r.pick(['POINT', 'LINESTRING', 'POLYGON']) : name)}')`,
  };
}

function inet6Type(): ColumnType {
  return {
    sql: 'INET6',
    label: 'inet6',
    kind: 'special',
    keyable: true,
    random: (r) => {
      if (r.chance(0.3)) return `'::ffff:${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}'`;
      return `'${Array.from({ length: 8 }, () => r.int(0, 0xffff).toString(16)).join(':')}'`;
    },
  };
}

function uuidType(): ColumnType {
  return {
    sql: 'UUID',
    label: 'uuid',
    kind: 'special',
    keyable: true,
    random: (r) => {
      // MariaDB refuses a UUID whose variant is not RFC 4122's; versions 1 (time-based, stored
      // reordered) and 4 (random).
      const raw = r.bytes(16).toString('hex');
      const h = `${raw.slice(0, 12)}${r.pick(['1', '4'])}${raw.slice(13, 16)}${r.pick(['8', '9', 'a', 'b'])}${raw.slice(17)}`;
      return `'${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}'`;
    },
  };
}

/** Any column type, with its parameters drawn at random. */
export function randomColumnType(r: FuzzRandom): ColumnType {
  const fsp = (): number => r.int(0, 6);
  const cs = (): StringCharset => r.pick(COLLATIONS);
  const make = r.pick<() => ColumnType>([
    () => intType('TINYINT', 8, r.chance(0.3)),
    () => intType('SMALLINT', 16, r.chance(0.3)),
    () => intType('MEDIUMINT', 24, r.chance(0.3)),
    () => intType('INT', 32, r.chance(0.3)),
    () => intType('BIGINT', 64, r.chance(0.3)),
    () => {
      const p = r.int(1, 65);
      return decimalType(p, r.int(0, Math.min(p, 30)));
    },
    () => realType('FLOAT'),
    () => realType('DOUBLE'),
    () => bitType(r.int(1, 64)),
    () => temporalType('DATE', 0),
    () => temporalType('TIME', fsp()),
    () => temporalType('DATETIME', fsp()),
    () => temporalType('TIMESTAMP', fsp()),
    () => temporalType('YEAR', 0),
    () => textType('CHAR', cs(), r.int(1, 30)),
    () => textType('VARCHAR', cs(), r.int(1, 200)),
    () => textType(r.pick(['TINYTEXT', 'TEXT', 'MEDIUMTEXT', 'LONGTEXT'] as const), cs(), 0),
    () => binaryType('BINARY', r.int(1, 32)),
    () => binaryType('VARBINARY', r.int(1, 300)),
    () => binaryType(r.pick(['TINYBLOB', 'BLOB', 'MEDIUMBLOB', 'LONGBLOB'] as const), 0),
    enumType,
    setType,
    jsonType,
    () => geometryType(r.pick(['GEOMETRY', 'POINT', 'LINESTRING', 'POLYGON'] as const)),
    inet6Type,
    uuidType,
  ]);
  return make();
}

/** A type for a key column: integers, DECIMAL, temporal, short strings in any collation, VARBINARY. */
export function randomKeyType(r: FuzzRandom): ColumnType {
  return r.weighted<() => ColumnType>([
    [3, () => r.pick([() => intType('INT', 32, r.chance(0.3)), () => intType('BIGINT', 64, r.chance(0.3)), () => intType('SMALLINT', 16, false)])()],
    [5, () => textType('VARCHAR', r.pick(COLLATIONS), r.int(4, 40))],
    [1, () => textType('CHAR', r.pick(COLLATIONS), r.int(4, 12))],
    [1, () => binaryType('VARBINARY', r.int(4, 16))],
    [1, () => decimalType(r.int(4, 20), r.int(0, 3))],
    [1, () => temporalType('DATETIME', r.int(0, 6))],
    [1, () => temporalType('DATE', 0)],
    [1, uuidType],
  ])();
}

export const keyIntType = (unsigned = false): ColumnType => intType('INT', 32, unsigned);
export const keyBigintType = (): ColumnType => intType('BIGINT', 64, false);
export const keyTextType = (cs: StringCharset, n: number): ColumnType => textType('VARCHAR', cs, n);
