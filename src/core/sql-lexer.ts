/**
 * A tokenizer for the MySQL/MariaDB SQL the binlog carries in query events (DDL, BEGIN/COMMIT, XA, DML
 * written in STATEMENT format). Not a parser: it turns text into tokens so that the few questions we ask
 * of a statement (what kind is it, which tables does it name) are answered on tokens, never by regular
 * expressions over raw text, where a name inside a comment or a string would be taken for real.
 *
 * What it knows:
 * - `/* … *\/` comments are skipped; executable comments `/*! … *\/` (MySQL) and `/*M! … *\/` (MariaDB)
 *   hold real SQL (mysqldump and the servers themselves write them): their content is tokenized as code
 *   and their version number (`/*!40101`, `/*M!100100`) dropped. Which versions would run them is not
 *   known here; a statement from the binlog is what the server ran, so all of it counts.
 * - `-- ` (two dashes then a space or control character, as MySQL requires) and `#` comment out the rest
 *   of the line.
 * - '…' and "…" strings with backslash escapes (\n, \t, \0, \Z, \\, \' …) and doubled quotes (''); the
 *   token's value is the decoded text. `N'…'` is a string; an introducer such as `_utf8mb4'…'` is a word
 *   followed by a string. Double quotes are taken as strings (the default sql_mode); where a name is
 *   expected, the statement parsers also accept them as names (ANSI_QUOTES).
 * - backtick identifiers with doubled backticks (`a``b` is the name a`b).
 * - numbers (12, 1.5, .5, 1e-3), hexadecimal X'0A' / 0x0a and bit b'01' / 0b01 literals.
 * - user and system variables (@v, @'v', @@global.x lexes as @@global, '.', x).
 * - qualified names: `db`.`t`, db.t and db . t are a name, '.', a name; after a '.', a run of name
 *   characters is a name even when it starts with a digit (t.1col).
 * Backslash escapes are always honoured (NO_BACKSLASH_ESCAPES changes that on a server; the binlog's
 * statements rarely need it).
 */

export type SqlTokenKind =
  /** An unquoted identifier or keyword. */
  | 'word'
  /** A backtick-quoted identifier. */
  | 'ident'
  | 'string'
  | 'number'
  /** X'…' or 0x…: `value` is the hex digits, lower case, an even number of them. */
  | 'hex'
  /** b'…' or 0b…: `value` is the binary digits. */
  | 'bits'
  /** @name, @'name', @@name */
  | 'variable'
  /** Operators and punctuation: ( ) , . ; = <=> := … */
  | 'punct';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  /**
   * word, number, variable, punct: the text as written; ident: the name without its backticks; string:
   * the decoded content; hex and bits: the digits (see the kinds).
   */
  readonly value: string;
  /** For words, the value in upper case (keywords compare on it); '' for other kinds. */
  readonly upper: string;
  /** Offsets in the statement text: the first character of the token and the one after it. */
  readonly start: number;
  readonly end: number;
  /** For strings, the quote they were written with. */
  readonly quote?: "'" | '"';
}

export class SqlLexError extends Error {
  override readonly name = 'SqlLexError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at offset ${position}`);
  }
}

const OPERATORS = ['<=>', '->>', '<=', '>=', '<>', '!=', ':=', '||', '&&', '<<', '>>', '->'];

function isNameChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || // 0-9
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    c === 0x5f || // _
    c === 0x24 || // $
    c >= 0x80
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

const ESCAPES: Readonly<Record<string, string>> = { '0': '\0', "'": "'", '"': '"', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '\\': '\\' };

/** Lazily yields the tokens of `sql`: questions about a statement's first words never lex a huge rest. */
export function* lexSql(sql: string): Generator<SqlToken, void, undefined> {
  const n = sql.length;
  let i = 0;
  /** Inside `/*! … *\/`: its closing `*\/` ends the executable region, it is not an operator. */
  let inExecutable = false;
  /** The last two tokens: whether a name is qualified depends on them. */
  const recent: { previous: SqlToken | null; beforePrevious: SqlToken | null } = { previous: null, beforePrevious: null };

  const make = (kind: SqlTokenKind, value: string, start: number, end: number, quote?: "'" | '"'): SqlToken => {
    const token: SqlToken = { kind, value, upper: kind === 'word' ? value.toUpperCase() : '', start, end, ...(quote ? { quote } : {}) };
    recent.beforePrevious = recent.previous;
    recent.previous = token;
    return token;
  };
  /** A '.' right after a name qualifies it: what follows is a name too, whatever it starts with. */
  const afterQualifier = (): boolean => {
    const { previous, beforePrevious } = recent;
    return previous?.kind === 'punct' && previous.value === '.' && (beforePrevious?.kind === 'word' || beforePrevious?.kind === 'ident' || beforePrevious?.kind === 'string');
  };

  const readQuoted = (start: number, quote: string): { value: string; end: number } => {
    let out = '';
    let j = start + 1;
    for (;;) {
      if (j >= n) throw new SqlLexError(`unterminated ${quote === '`' ? 'identifier' : 'string'}`, start);
      const ch = sql[j]!;
      if (ch === quote) {
        if (sql[j + 1] === quote) {
          out += quote;
          j += 2;
          continue;
        }
        return { value: out, end: j + 1 };
      }
      if (ch === '\\' && quote !== '`') {
        const next = sql[j + 1];
        if (next === undefined) throw new SqlLexError('unterminated string', start);
        // \% and \_ keep their backslash (they matter to LIKE); an unknown escape is the character itself.
        out += next === '%' || next === '_' ? `\\${next}` : (ESCAPES[next] ?? next);
        j += 2;
        continue;
      }
      out += ch;
      j++;
    }
  };

  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const ch = sql[i]!;
    const next = sql[i + 1];

    // Comments and executable comments.
    if (ch === '/' && next === '*') {
      const bang = sql[i + 2] === '!' ? i + 2 : sql[i + 2] === 'M' && sql[i + 3] === '!' ? i + 3 : -1;
      if (bang >= 0 && !inExecutable) {
        const j = bang + 1;
        let digits = 0;
        while (j + digits < n && isDigit(sql.charCodeAt(j + digits))) digits++;
        // MySQL versions have 5 digits (40101), MariaDB's and newer MySQL's 6 (100100).
        i = j + (digits === 6 ? 6 : digits >= 5 ? 5 : 0);
        inExecutable = true;
        continue;
      }
      const close = sql.indexOf('*/', i + 2);
      if (close < 0) throw new SqlLexError('unterminated comment', i);
      i = close + 2;
      continue;
    }
    if (inExecutable && ch === '*' && next === '/') {
      inExecutable = false;
      i += 2;
      continue;
    }
    if (ch === '#' || (ch === '-' && next === '-' && (i + 2 >= n || isSpace(sql.charCodeAt(i + 2)) || sql.charCodeAt(i + 2) < 0x20))) {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }

    // Strings and quoted identifiers.
    if (ch === "'" || ch === '"') {
      const q = readQuoted(i, ch);
      yield make('string', q.value, i, q.end, ch);
      i = q.end;
      continue;
    }
    if (ch === '`') {
      const q = readQuoted(i, '`');
      yield make('ident', q.value, i, q.end);
      i = q.end;
      continue;
    }
    if ((ch === 'N' || ch === 'n') && next === "'") {
      const q = readQuoted(i + 1, "'");
      yield make('string', q.value, i, q.end, "'");
      i = q.end;
      continue;
    }
    if ((ch === 'X' || ch === 'x' || ch === 'B' || ch === 'b') && next === "'") {
      const close = sql.indexOf("'", i + 2);
      if (close < 0) throw new SqlLexError('unterminated literal', i);
      const digits = sql.slice(i + 2, close);
      const hex = ch === 'X' || ch === 'x';
      if (hex ? !/^[0-9a-fA-F]*$/.test(digits) || digits.length % 2 !== 0 : !/^[01]*$/.test(digits)) {
        throw new SqlLexError(`invalid ${hex ? 'hexadecimal' : 'bit'} literal`, i);
      }
      yield make(hex ? 'hex' : 'bits', hex ? digits.toLowerCase() : digits, i, close + 1);
      i = close + 1;
      continue;
    }

    // Variables.
    if (ch === '@') {
      let j = i + 1;
      if (sql[j] === '@') j++;
      const q = sql[j];
      if (q === "'" || q === '"' || q === '`') {
        const quoted = readQuoted(j, q);
        yield make('variable', sql.slice(i, quoted.end), i, quoted.end);
        i = quoted.end;
        continue;
      }
      while (j < n && isNameChar(sql.charCodeAt(j))) j++;
      yield make('variable', sql.slice(i, j), i, j);
      i = j;
      continue;
    }

    // Names (after a qualifying '.', whatever they start with) and numbers.
    if (isNameChar(c) && (afterQualifier() || !isDigit(c))) {
      let j = i + 1;
      while (j < n && isNameChar(sql.charCodeAt(j))) j++;
      yield make('word', sql.slice(i, j), i, j);
      i = j;
      continue;
    }
    // A '.' right after a name (t.1col) qualifies it; elsewhere '.5' is a number.
    const qualifies = ch === '.' && recent.previous?.end === i && (recent.previous.kind === 'word' || recent.previous.kind === 'ident');
    if (isDigit(c) || (ch === '.' && !qualifies && next !== undefined && isDigit(next.charCodeAt(0)))) {
      if (ch === '0' && (next === 'x' || next === 'b')) {
        let j = i + 2;
        const ok = next === 'x' ? /[0-9a-fA-F]/ : /[01]/;
        while (j < n && ok.test(sql[j]!)) j++;
        if (j > i + 2 && (j >= n || !isNameChar(sql.charCodeAt(j)))) {
          const digits = sql.slice(i + 2, j);
          yield next === 'x' ? make('hex', (digits.length % 2 ? '0' : '') + digits.toLowerCase(), i, j) : make('bits', digits, i, j);
          i = j;
          continue;
        }
      }
      const m = /\d*\.?\d+(?:[eE][+-]?\d+)?|\d+\.?/y;
      m.lastIndex = i;
      const num = m.exec(sql)![0];
      let j = i + num.length;
      // 123abc is a name (MySQL allows names that start with digits), 123 a number.
      if (/^\d+$/.test(num) && j < n && isNameChar(sql.charCodeAt(j))) {
        while (j < n && isNameChar(sql.charCodeAt(j))) j++;
        yield make('word', sql.slice(i, j), i, j);
      } else {
        yield make('number', num, i, j);
      }
      i = j;
      continue;
    }

    const op = OPERATORS.find((o) => sql.startsWith(o, i)) ?? ch;
    yield make('punct', op, i, i + op.length);
    i += op.length;
  }
}

/** Every token of `sql`; throws SqlLexError on an unterminated string, identifier or comment. */
export function tokenizeSql(sql: string): SqlToken[] {
  return [...lexSql(sql)];
}

/**
 * A read position over a statement's tokens, pulled from the lexer as needed. The statement parsers
 * (sql-statement.ts, ddl.ts) walk statements with it.
 */
export class SqlCursor {
  private readonly tokens: SqlToken[] = [];
  private readonly source: Iterator<SqlToken, void, undefined>;
  private exhausted = false;
  private index = 0;

  constructor(sql: string) {
    this.source = lexSql(sql);
  }

  private fill(upTo: number): void {
    while (!this.exhausted && this.tokens.length <= upTo) {
      const r = this.source.next();
      if (r.done) this.exhausted = true;
      else this.tokens.push(r.value);
    }
  }

  /** The token `ahead` places from here, or null past the end. */
  peek(ahead = 0): SqlToken | null {
    this.fill(this.index + ahead);
    return this.tokens[this.index + ahead] ?? null;
  }

  take(): SqlToken | null {
    const t = this.peek();
    if (t) this.index++;
    return t;
  }

  get done(): boolean {
    return this.peek() === null;
  }

  /** Where the cursor is, for `reset`. */
  get mark(): number {
    return this.index;
  }

  reset(mark: number): void {
    this.index = mark;
  }

  /** Whether the token `ahead` places from here is the keyword `word` (case-insensitive; `word` in upper case). */
  isWord(word: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t !== null && t.kind === 'word' && t.upper === word;
  }

  /** Whether the next token is one of these keywords. */
  isAnyWord(words: ReadonlySet<string>, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t !== null && t.kind === 'word' && words.has(t.upper);
  }

  isPunct(p: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t !== null && t.kind === 'punct' && t.value === p;
  }

  /** Takes the keywords in order if they are next, all of them or none. */
  takeWords(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!this.isWord(words[k]!, k)) return false;
    this.index += words.length;
    return true;
  }

  takePunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.index++;
    return true;
  }

  /** Takes keywords from `words` for as long as the next token is one (statement modifiers). */
  skipWords(words: ReadonlySet<string>): void {
    while (this.isAnyWord(words)) this.index++;
  }

  /**
   * At '(' : takes everything up to and including its matching ')'. Returns false (and takes nothing)
   * when the next token is not '(' or the parenthesis is never closed.
   */
  skipParenthesized(): boolean {
    if (!this.isPunct('(')) return false;
    const start = this.index;
    let depth = 0;
    for (;;) {
      const t = this.take();
      if (!t) {
        this.index = start;
        return false;
      }
      if (t.kind !== 'punct') continue;
      if (t.value === '(') depth++;
      else if (t.value === ')' && --depth === 0) return true;
    }
  }

  /**
   * Takes tokens (whole parenthesized groups at a time) until `stop` says the next token ends the run,
   * at parenthesis depth 0, or the statement ends. ';' always stops.
   */
  skipUntil(stop: (cursor: SqlCursor) => boolean): void {
    for (;;) {
      const t = this.peek();
      if (!t || (t.kind === 'punct' && (t.value === ';' || t.value === ')')) || stop(this)) return;
      if (t.kind === 'punct' && t.value === '(') {
        if (!this.skipParenthesized()) return;
      } else this.index++;
    }
  }
}
