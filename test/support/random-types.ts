/**
 * Seeded random values for the decoder's type tests: tables of temporal types at every fsp, DECIMAL
 * at many (precision, scale), BIT(1..64), integers at every width and FLOAT/DOUBLE, each column with
 * its edge values and a generator of random SQL literals, plus how the server shows a stored value as
 * text (to compare a decoded value with). Everything comes from one seed (`prng`), so a failure is
 * reproduced by running again with the same seed.
 */
import { Dice, prng } from '../../src/local/workload.js';
import { normalizeInteger } from '../../connectors/mysql-source/row-decoder.js';
import type { SqlValue } from '../../src/core/event.js';

/** How a decoded value compares with the server's text of the column (see `serverText`). */
export type TextKind = 'text' | 'integer' | 'real' | 'bits' | 'year';

export interface RandomColumn {
  readonly name: string;
  readonly sqlType: string;
  readonly kind: TextKind;
  /** SQL literals every run inserts (boundaries and known-bad cases). */
  readonly edges: readonly string[];
  /** A random SQL literal. */
  readonly random: (r: Rand) => string;
}

export interface RandomTable {
  readonly name: string;
  readonly columns: readonly RandomColumn[];
}

export class Rand extends Dice {
  constructor(seed: number) {
    super(prng(seed));
  }
  /** `n` decimal digits, zeros often (so 9-digit groups get leading zeros). */
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.chance(0.45) ? '0' : String(this.int(1, 9));
    return s;
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const q = (s: string): string => `'${s}'`;

// ---------------------------------------------------------------------------------------------
// Temporal

/** '' or '.' and fsp digits; all zeros often (the case zongji got wrong for negative TIME). */
function fraction(r: Rand, fsp: number): string {
  if (fsp === 0) return '';
  if (r.chance(0.3)) return '.' + '0'.repeat(fsp);
  let s = '.';
  for (let i = 0; i < fsp; i++) s += String(r.int(0, 9));
  return s;
}

function timeColumn(fsp: number): RandomColumn {
  return {
    name: `t${fsp}`,
    sqlType: fsp ? `TIME(${fsp})` : 'TIME',
    kind: 'text',
    edges: ['-838:59:59.999999', '838:59:59.999999', '-838:59:59', '838:59:59', '-00:00:00.000001', '-00:00:00.5', '-00:00:00', '00:00:00', '-00:15:00', '-01:00:00', '-199:10:00.000', '-00:00:01'].map(q),
    random: (r) => {
      const hour = r.pick([() => r.int(0, 23), () => r.int(0, 99), () => r.int(100, 838)])();
      const minute = r.chance(0.25) ? 0 : r.int(0, 59);
      const second = r.chance(0.3) ? 0 : r.int(0, 59);
      return q(`${r.chance(0.5) ? '-' : ''}${pad(hour)}:${pad(minute)}:${pad(second)}${fraction(r, fsp)}`);
    },
  };
}

function dateText(r: Rand): string {
  if (r.chance(0.03)) return '0000-00-00';
  if (r.chance(0.03)) return `${pad(r.int(1000, 9999), 4)}-00-00`;
  const year = r.pick([() => r.int(1000, 9999), () => r.int(1900, 2100)])();
  const month = r.int(1, 12);
  const days = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return `${pad(year, 4)}-${pad(month)}-${pad(r.chance(0.1) ? days : r.int(1, days))}`;
}

function clock(r: Rand, fsp: number): string {
  return `${pad(r.int(0, 23))}:${pad(r.int(0, 59))}:${pad(r.chance(0.2) ? 0 : r.int(0, 59))}${fraction(r, fsp)}`;
}

function datetimeColumn(fsp: number): RandomColumn {
  return {
    name: `dt${fsp}`,
    sqlType: fsp ? `DATETIME(${fsp})` : 'DATETIME',
    kind: 'text',
    edges: ['1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '0000-00-00 00:00:00', '2020-00-00 00:00:00', '1999-12-31 23:59:59.000001', '2024-02-29 12:00:00.5'].map(q),
    random: (r) => q(`${dateText(r)} ${clock(r, fsp)}`),
  };
}

/** UTC text of epoch seconds (the test session runs at '+00:00'). */
function utc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function timestampColumn(fsp: number): RandomColumn {
  return {
    name: `ts${fsp}`,
    sqlType: `${fsp ? `TIMESTAMP(${fsp})` : 'TIMESTAMP'} NULL`,
    kind: 'text',
    edges: ['1970-01-01 00:00:01', '2038-01-19 03:14:07.999999', '0000-00-00 00:00:00', '2000-02-29 23:59:59.000001', '1970-01-01 00:00:01.5'].map(q),
    random: (r) => q(utc(r.pick([() => r.int(1, 2 ** 31 - 1), () => r.int(1_500_000_000, 1_900_000_000)])()) + fraction(r, fsp)),
  };
}

// ---------------------------------------------------------------------------------------------
// Numbers

const DECIMALS: readonly (readonly [number, number])[] = [
  [1, 0], [65, 30], [65, 0], [10, 10], [18, 9], [19, 9], [2, 1], [9, 0], [9, 9], [10, 0], [27, 9], [28, 10],
  [30, 15], [38, 0], [40, 20], [55, 30], [65, 1], [65, 29], [17, 8], [4, 2], [6, 6], [20, 19], [36, 18], [64, 30],
];

/** Digits where every 9-digit group (counted from the point) has leading zeros and a 1 at its end. */
function groupedOnes(n: number, fromPoint: 'left' | 'right'): string {
  const pattern = '000000001'.repeat(Math.ceil(n / 9) + 1);
  return fromPoint === 'right' ? pattern.slice(pattern.length - n) : pattern.slice(0, n);
}

function decimalLiteral(sign: string, int: string, frac: string): string {
  return `${sign}${int === '' ? '0' : int}${frac === '' ? '' : '.' + frac}`;
}

function decimalColumn(p: number, s: number): RandomColumn {
  const i = p - s;
  const nines = decimalLiteral('', '9'.repeat(i), '9'.repeat(s));
  const tiny = decimalLiteral('', '', s ? '0'.repeat(s - 1) + '1' : '');
  const grouped = decimalLiteral('', groupedOnes(i, 'right'), groupedOnes(s, 'left'));
  return {
    name: `d${p}_${s}`,
    sqlType: `DECIMAL(${p},${s})`,
    kind: 'text',
    edges: [nines, '-' + nines, '0', tiny, s ? '-' + tiny : '-1', grouped, '-' + grouped, i ? '1' : '0', i ? '-1' : '-0'],
    random: (r) => {
      const int = r.chance(0.2) ? '' : r.digits(r.int(0, i));
      const frac = r.digits(s);
      return decimalLiteral(r.chance(0.5) ? '-' : '', int, frac);
    },
  };
}

function bitColumn(n: number): RandomColumn {
  const lit = (v: bigint): string => `b'${v.toString(2)}'`;
  const all = (1n << BigInt(n)) - 1n;
  return {
    name: `b${n}`,
    sqlType: `BIT(${n})`,
    kind: 'bits',
    edges: [lit(0n), lit(all), lit(1n), lit(1n << BigInt(n - 1))],
    random: (r) => lit(r.bits(n)),
  };
}

function intColumn(name: string, sqlType: string, bits: number, unsigned: boolean): RandomColumn {
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const edges = [min, max, 0n, min + 1n, max - 1n, unsigned ? 1n : -1n];
  if (bits === 64) edges.push(2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, ...(unsigned ? [] : [-(2n ** 53n) + 1n, -(2n ** 53n), -(2n ** 53n) - 1n]));
  return {
    name,
    sqlType,
    kind: 'integer',
    edges: edges.map(String),
    random: (r) => {
      if (r.chance(0.5)) return String(r.bits(bits) + min);
      const near = BigInt(r.int(0, bits > 8 ? 1000 : 100)); // close to a limit
      return String(r.chance(0.5) ? min + near : max - near);
    },
  };
}

/** A finite float of the given width from random bits, as a literal the server reads back exactly. */
function realColumn(name: string, sqlType: 'FLOAT' | 'DOUBLE'): RandomColumn {
  const finite = (r: Rand): number => {
    const b = Buffer.alloc(8);
    for (;;) {
      if (sqlType === 'FLOAT') {
        b.writeUInt32LE(Number(r.bits(32)));
        const v = b.readFloatLE(0);
        if (Number.isFinite(v)) return v;
      } else {
        b.writeBigUInt64LE(r.bits(64));
        const v = b.readDoubleLE(0);
        if (Number.isFinite(v)) return v;
      }
    }
  };
  // toExponential(): an approximate-value literal with enough digits to name the number exactly
  const lit = (v: number): string => (Object.is(v, -0) ? '-0e0' : v.toExponential());
  const edges = sqlType === 'FLOAT'
    ? [3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38, 1.401298464324817e-45, 0.1, -0.5, 0]
    : [1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 5e-324, 0.1, -0.5, 0];
  return {
    name,
    sqlType,
    kind: 'real',
    edges: edges.map((v) => lit(sqlType === 'FLOAT' ? Math.fround(v) : v)),
    random: (r) => {
      if (r.chance(0.7)) return lit(finite(r));
      const plain = (r.float() - 0.5) * 10 ** r.int(-20, 20); // a number of everyday size
      return lit(sqlType === 'FLOAT' ? Math.fround(plain) : plain);
    },
  };
}

const FSPS = [0, 1, 2, 3, 4, 5, 6];

export function randomTypeTables(): readonly RandomTable[] {
  return [
    { name: 'r_time', columns: FSPS.map(timeColumn) },
    {
      name: 'r_datetime',
      columns: [
        ...FSPS.map(datetimeColumn),
        ...FSPS.map(timestampColumn),
        { name: 'd', sqlType: 'DATE', kind: 'text', edges: ["'0000-00-00'", "'1000-01-01'", "'9999-12-31'", "'2020-00-00'"], random: (r) => q(dateText(r)) },
        { name: 'y', sqlType: 'YEAR', kind: 'year', edges: ['0', '1901', '2155', '2000'], random: (r) => String(r.chance(0.05) ? 0 : r.int(1901, 2155)) },
      ],
    },
    { name: 'r_decimal', columns: DECIMALS.map(([p, s]) => decimalColumn(p, s)) },
    { name: 'r_bit', columns: Array.from({ length: 64 }, (_, i) => bitColumn(i + 1)) },
    {
      name: 'r_number',
      columns: [
        intColumn('ti', 'TINYINT', 8, false),
        intColumn('tiu', 'TINYINT UNSIGNED', 8, true),
        intColumn('si', 'SMALLINT', 16, false),
        intColumn('siu', 'SMALLINT UNSIGNED', 16, true),
        intColumn('mi', 'MEDIUMINT', 24, false),
        intColumn('miu', 'MEDIUMINT UNSIGNED', 24, true),
        intColumn('i', 'INT', 32, false),
        intColumn('iu', 'INT UNSIGNED', 32, true),
        intColumn('bi', 'BIGINT', 64, false),
        intColumn('biu', 'BIGINT UNSIGNED', 64, true),
        realColumn('f', 'FLOAT'),
        realColumn('dbl', 'DOUBLE'),
      ],
    },
  ];
}

export function createTableSql(schema: string, t: RandomTable): string {
  return `CREATE TABLE ${schema}.${t.name} (id INT PRIMARY KEY, ${t.columns.map((c) => `${c.name} ${c.sqlType}`).join(', ')})`;
}

/**
 * Rows of SQL literals: first one row per edge index (a column short of edges repeats its first),
 * a row of NULLs, then `count` random rows.
 */
export function randomRows(t: RandomTable, r: Rand, count: number): string[][] {
  const rows: string[][] = [];
  const edgeRows = Math.max(...t.columns.map((c) => c.edges.length));
  for (let k = 0; k < edgeRows; k++) rows.push(t.columns.map((c) => c.edges[k % c.edges.length]!));
  rows.push(t.columns.map(() => 'NULL'));
  for (let k = 0; k < count; k++) rows.push(t.columns.map((c) => (r.chance(0.05) ? 'NULL' : c.random(r))));
  return rows;
}

/** The server's own text of a column: CAST AS CHAR; FLOAT via DOUBLE (CHAR shows 6 digits); BIT as HEX. */
export function serverText(c: RandomColumn): string {
  if (c.kind === 'bits') return `HEX(${c.name})`;
  if (c.sqlType === 'FLOAT') return `CAST(CAST(${c.name} AS DOUBLE) AS CHAR)`;
  return `CAST(${c.name} AS CHAR)`;
}

/** Whether a decoded value is the value the server's text shows; null when it is, else why not. */
export function compareWithText(c: RandomColumn, decoded: SqlValue | undefined, text: string | null): string | null {
  if (text === null || decoded === null) return text === null && decoded === null ? null : 'NULL on one side only';
  switch (c.kind) {
    case 'text':
      return decoded === text ? null : 'text differs';
    case 'integer':
      return decoded === normalizeInteger(text) ? null : 'integer differs';
    case 'year':
      return decoded === Number(text) ? null : 'year differs';
    case 'real':
      return typeof decoded === 'number' && Object.is(decoded, Number(text)) ? null : 'number differs';
    case 'bits': {
      if (!Buffer.isBuffer(decoded)) return 'not bytes';
      const bits = Number(/\d+/.exec(c.sqlType)![0]);
      if (decoded.length !== Math.ceil(bits / 8)) return `${decoded.length} bytes, BIT(${bits}) has ${Math.ceil(bits / 8)}`;
      return BigInt('0x0' + decoded.toString('hex')) === BigInt('0x0' + text) ? null : 'bits differ';
    }
  }
}
