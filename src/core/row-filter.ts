/**
 * The row filter of a table (`tables."db.t".filter` in the pipeline file): a small expression language
 * evaluated on a row image, parsed by our own tokenizer and recursive-descent parser, never `eval`.
 * Pure.
 *
 *   expr    := or
 *   or      := and (OR and)*
 *   and     := not (AND not)*
 *   not     := NOT not | primary
 *   primary := '(' expr ')' | operand [ cmp operand | IS [NOT] NULL | [NOT] IN '(' operand (',' operand)* ')' ]
 *   cmp     := = | != | <> | < | <= | > | >=
 *   operand := column | `quoted column` | 'string' | number | NULL | TRUE | FALSE
 *
 * Keywords are case-insensitive; column names are case-sensitive, as MariaDB's are in a row image.
 * Logic is SQL's three-valued one: a comparison with NULL is unknown, and a row passes only when the
 * whole expression is true. Values compare exactly, not by a collation: strings by code points
 * ('a' <> 'A'), numbers numerically (DECIMAL and big BIGINT values, which travel as text, are compared
 * as numbers when the other side is a number), bytes (BINARY, BLOB) as bytes against a string's UTF-8.
 */
import type { Row, SqlValue } from './event.js';

export class RowFilterError extends Error {
  override readonly name = 'RowFilterError';
}

type Token =
  | { readonly kind: 'word'; readonly text: string; readonly at: number }
  | { readonly kind: 'column'; readonly text: string; readonly at: number }
  | { readonly kind: 'string'; readonly text: string; readonly at: number }
  | { readonly kind: 'number'; readonly text: string; readonly at: number }
  | { readonly kind: 'op'; readonly text: string; readonly at: number }
  | { readonly kind: 'end'; readonly text: ''; readonly at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE']);
const COMPARISONS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=']);

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const at = i;
    if (ch === "'" || ch === '`') {
      // 'it''s' and `a``b`: the quote doubled stands for itself, as in SQL.
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new RowFilterError(`unterminated ${ch === "'" ? 'string' : 'quoted column name'} starting at character ${at + 1}`);
        if (text[i] === ch) {
          if (text[i + 1] === ch) {
            s += ch;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += text[i];
        i++;
      }
      out.push(ch === "'" ? { kind: 'string', text: s, at } : { kind: 'column', text: s, at });
      continue;
    }
    const num = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    // A minus sign starts a number only where an operand is expected (there is no arithmetic).
    if (num && (ch !== '-' || out.length === 0 || out[out.length - 1]!.kind === 'op' || ['AND', 'OR', 'NOT', 'IN'].includes(out[out.length - 1]!.text.toUpperCase()))) {
      out.push({ kind: 'number', text: num[0], at });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i));
    if (word) {
      const upper = word[0].toUpperCase();
      out.push(KEYWORDS.has(upper) ? { kind: 'word', text: upper, at } : { kind: 'column', text: word[0], at });
      i += word[0].length;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (COMPARISONS.has(two)) {
      out.push({ kind: 'op', text: two, at });
      i += 2;
      continue;
    }
    if ('=<>(),'.includes(ch)) {
      out.push({ kind: 'op', text: ch, at });
      i++;
      continue;
    }
    throw new RowFilterError(`unexpected character ${JSON.stringify(ch)} at character ${at + 1} (allowed: column names, 'strings', numbers, = != <> < <= > >=, AND, OR, NOT, IN (…), IS [NOT] NULL, parentheses)`);
  }
  out.push({ kind: 'end', text: '', at: text.length });
  return out;
}

/** An operand: a column of the row, or a literal. */
export type Operand = { readonly column: string } | { readonly value: SqlValue | boolean };

export type FilterExpr =
  | { readonly kind: 'and' | 'or'; readonly left: FilterExpr; readonly right: FilterExpr }
  | { readonly kind: 'not'; readonly expr: FilterExpr }
  | { readonly kind: 'compare'; readonly op: string; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'is-null'; readonly negated: boolean; readonly operand: Operand }
  | { readonly kind: 'in'; readonly negated: boolean; readonly operand: Operand; readonly list: readonly Operand[] }
  /** A lone operand used as a condition (a column holding 0/1, TRUE). */
  | { readonly kind: 'truth'; readonly operand: Operand };

class Parser {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parse(): FilterExpr {
    const e = this.or();
    const t = this.peek();
    if (t.kind !== 'end') throw this.unexpected(t, 'AND, OR or the end');
    return e;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private isWord(w: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text === w;
  }

  private isOp(o: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === o;
  }

  private unexpected(t: Token, expected: string): RowFilterError {
    const what = t.kind === 'end' ? 'the end of the expression' : `${JSON.stringify(t.text)} at character ${t.at + 1}`;
    return new RowFilterError(`expected ${expected}, found ${what}`);
  }

  private or(): FilterExpr {
    let left = this.and();
    while (this.isWord('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterExpr {
    let left = this.not();
    while (this.isWord('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): FilterExpr {
    if (this.isWord('NOT')) {
      this.next();
      return { kind: 'not', expr: this.not() };
    }
    return this.primary();
  }

  private primary(): FilterExpr {
    if (this.isOp('(')) {
      this.next();
      const e = this.or();
      if (!this.isOp(')')) throw this.unexpected(this.peek(), '")"');
      this.next();
      return e;
    }
    const left = this.operand();
    const t = this.peek();
    if (t.kind === 'op' && COMPARISONS.has(t.text)) {
      this.next();
      return { kind: 'compare', op: t.text === '!=' ? '<>' : t.text, left, right: this.operand() };
    }
    if (this.isWord('IS')) {
      this.next();
      let negated = false;
      if (this.isWord('NOT')) {
        this.next();
        negated = true;
      }
      if (!this.isWord('NULL')) throw this.unexpected(this.peek(), 'NULL after IS / IS NOT');
      this.next();
      return { kind: 'is-null', negated, operand: left };
    }
    let negated = false;
    if (this.isWord('NOT')) {
      this.next();
      negated = true;
      if (!this.isWord('IN')) throw this.unexpected(this.peek(), 'IN after NOT');
    }
    if (this.isWord('IN')) {
      this.next();
      if (!this.isOp('(')) throw this.unexpected(this.peek(), '"(" after IN');
      this.next();
      const list: Operand[] = [this.operand()];
      while (this.isOp(',')) {
        this.next();
        list.push(this.operand());
      }
      if (!this.isOp(')')) throw this.unexpected(this.peek(), '"," or ")" in the IN list');
      this.next();
      return { kind: 'in', negated, operand: left, list };
    }
    return { kind: 'truth', operand: left };
  }

  private operand(): Operand {
    const t = this.next();
    switch (t.kind) {
      case 'column':
        return { column: t.text };
      case 'string':
        return { value: t.text };
      case 'number':
        return { value: Number(t.text) };
      case 'word':
        if (t.text === 'NULL') return { value: null };
        if (t.text === 'TRUE' || t.text === 'FALSE') return { value: t.text === 'TRUE' };
        break;
      default:
        break;
    }
    throw this.unexpected(t, 'a column name, a \'string\', a number or NULL');
  }
}

export function parseFilter(text: string): FilterExpr {
  if (text.trim() === '') throw new RowFilterError('the filter is empty');
  return new Parser(tokenize(text)).parse();
}

/** Every column an expression reads (to check them against the table once). */
export function filterColumns(e: FilterExpr): string[] {
  const out = new Set<string>();
  const op = (o: Operand): void => {
    if ('column' in o) out.add(o.column);
  };
  const walk = (x: FilterExpr): void => {
    switch (x.kind) {
      case 'and':
      case 'or':
        walk(x.left);
        walk(x.right);
        return;
      case 'not':
        walk(x.expr);
        return;
      case 'compare':
        op(x.left);
        op(x.right);
        return;
      case 'is-null':
      case 'truth':
        op(x.operand);
        return;
      case 'in':
        op(x.operand);
        x.list.forEach(op);
        return;
    }
  };
  walk(e);
  return [...out];
}

type Value = SqlValue | boolean;
/** Three-valued truth: null is SQL's UNKNOWN. */
type Truth = boolean | null;

function valueOf(o: Operand, row: Row): Value {
  return 'column' in o ? (row[o.column] ?? null) : o.value;
}

function asNumber(v: Value): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** <0, 0, >0, or null when either side is NULL or the two cannot be compared. */
function compare(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  if (typeof a === 'number' || typeof b === 'number' || typeof a === 'boolean' || typeof b === 'boolean') {
    const x = asNumber(a);
    const y = asNumber(b);
    if (x === null || y === null) return null;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    const x = Buffer.isBuffer(a) ? a : Buffer.from(a, 'utf8');
    const y = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
    return Buffer.compare(x, y);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function holds(op: string, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function evaluate(e: FilterExpr, row: Row): Truth {
  switch (e.kind) {
    case 'and': {
      const l = evaluate(e.left, row);
      if (l === false) return false;
      const r = evaluate(e.right, row);
      if (r === false) return false;
      return l === null || r === null ? null : true;
    }
    case 'or': {
      const l = evaluate(e.left, row);
      if (l === true) return true;
      const r = evaluate(e.right, row);
      if (r === true) return true;
      return l === null || r === null ? null : false;
    }
    case 'not': {
      const v = evaluate(e.expr, row);
      return v === null ? null : !v;
    }
    case 'compare': {
      const c = compare(valueOf(e.left, row), valueOf(e.right, row));
      return c === null ? null : holds(e.op, c);
    }
    case 'is-null':
      return (valueOf(e.operand, row) === null) !== e.negated;
    case 'in': {
      const v = valueOf(e.operand, row);
      if (v === null) return null;
      let unknown = false;
      for (const o of e.list) {
        const c = compare(v, valueOf(o, row));
        if (c === 0) return !e.negated;
        if (c === null) unknown = true;
      }
      return unknown ? null : e.negated;
    }
    case 'truth': {
      const n = asNumber(valueOf(e.operand, row));
      return n === null ? null : n !== 0;
    }
  }
}

/** A parsed filter: `passes(row)` is true only when the expression is TRUE for the row (not UNKNOWN). */
export class RowFilter {
  readonly expr: FilterExpr;
  readonly columns: readonly string[];
  constructor(readonly text: string) {
    this.expr = parseFilter(text);
    this.columns = filterColumns(this.expr);
  }

  passes(row: Row): boolean {
    return evaluate(this.expr, row) === true;
  }
}
