/**
 * Folds string key values into the form their collation compares, so that keys are routed, folded and
 * laned exactly as the target tells rows apart ('key1' and 'KEY1' are one row under utf8mb4_general_ci,
 * 'k1' and 'k1 ' under every PAD SPACE collation, 'e' and 'é' under utf8mb4_unicode_ci).
 *
 * The comparison form is the collation's weight string (`WEIGHT_STRING`), with trailing weights of the
 * space character removed for PAD SPACE collations (the server compares as if the shorter value were
 * padded with spaces). It is computed by the source server itself, so it is exact for every collation
 * the server ships, tailorings and contractions included. Three shortcuts avoid a round trip:
 * - `_bin` collations compare code points: the value itself (trailing spaces removed when PAD SPACE);
 * - printable ASCII under a collation whose weights are one per character (the general, unicode and
 *   ai root collations, and every collation of a single-byte character set): the weights of its
 *   characters, fetched once per collation, concatenated;
 * - everything already folded (a two-generation cache).
 * Other values are fetched in one query per batch (`prepare`) before they are folded.
 */
import { FOLDED_MARK } from '../../src/index.js';
import { SourceError } from '../../src/index.js';

/** Runs a parameterised query on the source and returns its rows as arrays. */
export type ArrayQuery = (sql: string, params: readonly unknown[]) => Promise<readonly (readonly unknown[])[]>;

export interface Collation {
  readonly name: string;
  readonly charset: string;
  /** PAD SPACE: trailing spaces do not count. */
  readonly padSpace: boolean;
  /**
   * How values are folded: `codepoints` (a _bin collation), `weights` (the weight string, trailing
   * space weights stripped under PAD SPACE), or `padded` (a PAD SPACE collation whose weight string
   * has several levels, so space weights are not at its end: the weight string of the value padded
   * to the longest key, hashed).
   */
  readonly kind: 'codepoints' | 'weights' | 'padded';
  /** Hex weight of ' ' (PAD SPACE weight collations strip it from the end). */
  readonly spaceWeight: string;
  /** Weights of printable ASCII (0x20..0x7e), when composing them per character is exact. */
  readonly asciiWeights: readonly string[] | null;
}

const NAME = /^[A-Za-z0-9_]+$/;

/** Charsets with one byte per character: their collations weigh each character on its own. */
const SINGLE_BYTE = new Set(['latin1', 'latin2', 'latin5', 'latin7', 'ascii', 'cp1250', 'cp1251', 'cp1256', 'cp1257', 'cp850', 'cp852', 'cp866', 'dec8', 'greek', 'hebrew', 'hp8', 'keybcs2', 'koi8r', 'koi8u', 'macce', 'macroman', 'swe7', 'armscii8', 'geostd8', 'tis620']);

/**
 * Root collations whose weight string is the concatenation of one primary weight run per character
 * for printable ASCII (no contractions, no multi-level weights). Language tailorings (czech 'ch',
 * danish 'aa', hungarian 'dz', …) and the accent/case-sensitive UCA 9 collations (several weight
 * levels) are not here: their values always go to the server.
 */
const ROOT_WEIGHTS = /_(general_ci|general_nopad_ci|general_mysql500_ci|unicode_ci|unicode_nopad_ci|unicode_520_ci|unicode_520_nopad_ci|0900_ai_ci|uca1400_ai_ci|uca1400_nopad_ai_ci)$/;

export function asciiComposes(name: string, charset: string): boolean {
  return SINGLE_BYTE.has(charset) || ROOT_WEIGHTS.test(name);
}

const FIRST_PRINTABLE = 0x20;
const LAST_PRINTABLE = 0x7e;
/** Values per weight query (one row, this many columns). */
const QUERY_CHUNK = 200;
/** `padded` collations pad values to this many characters: InnoDB keys hold at most 3072 bytes. */
const PADDED_CHARS = 3072;
/** Folded values remembered per generation (two generations: about twice this many). */
const CACHE_GENERATION = 50_000;

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < FIRST_PRINTABLE || c > LAST_PRINTABLE) return false;
  }
  return true;
}

function trimSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x20) end--;
  return end === s.length ? s : s.slice(0, end);
}

export class CollationNotPreparedError extends Error {
  override readonly name = 'CollationNotPreparedError';
}

export class CollationFolder {
  private readonly collations = new Map<string, Promise<Collation>>();
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  /** Round trips for weights (tests and metrics). */
  lookups = 0;

  constructor(private readonly query: ArrayQuery) {}

  /** What the server says about a collation (loaded once). */
  collation(name: string, charset: string): Promise<Collation> {
    let c = this.collations.get(name);
    if (!c) {
      c = this.load(name, charset);
      this.collations.set(name, c);
      c.catch(() => {
        if (this.collations.get(name) === c) this.collations.delete(name);
      });
    }
    return c;
  }

  private async load(name: string, charset: string): Promise<Collation> {
    if (!NAME.test(name) || !NAME.test(charset)) throw new SourceError('SOURCE_METADATA', `unexpected collation name ${JSON.stringify(name)} / ${JSON.stringify(charset)}`);
    const conv = (expr: string): string => `CONVERT(${expr} USING ${charset}) COLLATE ${name}`;
    const ws = (lit: string): string => `HEX(WEIGHT_STRING(${conv(lit)}))`;
    const [row] = await this.query(`SELECT ${conv("'a'")} = ${conv("'a '")}, ${ws("' '")}, ${ws("'a'")}, ${ws("'a '")}`, []);
    if (!row) throw new SourceError('SOURCE_METADATA', `collation ${name}: the source did not answer`);
    const padSpace = Number(row[0]) === 1;
    const spaceWeight = String(row[1]);
    if (/_bin$/.test(name)) return { name, charset, padSpace, kind: 'codepoints', spaceWeight, asciiWeights: null };
    // One weight run per character, in order: trailing space weights end the weight string.
    const simple = String(row[3]) === String(row[2]) + spaceWeight;
    if (padSpace && !simple) return { name, charset, padSpace, kind: 'padded', spaceWeight, asciiWeights: null };
    let asciiWeights: string[] | null = null;
    if (simple && asciiComposes(name, charset)) {
      const chars: string[] = [];
      for (let c = FIRST_PRINTABLE; c <= LAST_PRINTABLE; c++) chars.push(String.fromCharCode(c));
      asciiWeights = await this.fetchWeights({ name, charset }, chars);
    }
    return { name, charset, padSpace, kind: 'weights', spaceWeight, asciiWeights };
  }

  /** Whether folding `value` needs the server (not a shortcut, not cached). */
  needsLookup(c: Collation, value: string): boolean {
    if (c.kind === 'codepoints') return false;
    if (c.asciiWeights && isPrintableAscii(value)) return false;
    const k = cacheKey(c, value);
    return !this.current.has(k) && !this.previous.has(k);
  }

  /** Fetches the weights of the values that need the server, in as few round trips as possible. */
  async prepare(items: readonly { readonly collation: Collation; readonly value: string }[]): Promise<void> {
    const byCollation = new Map<Collation, Set<string>>();
    for (const { collation, value } of items) {
      if (!this.needsLookup(collation, value)) continue;
      let set = byCollation.get(collation);
      if (!set) byCollation.set(collation, (set = new Set()));
      set.add(value);
    }
    for (const [c, set] of byCollation) {
      const values = [...set];
      const weights = await this.fetchWeights(c, values);
      values.forEach((v, i) => this.remember(cacheKey(c, v), strip(c, weights[i]!)));
    }
  }

  /** The comparison form of `value` (synchronous: `prepare` must have covered it). */
  fold(c: Collation, value: string): string {
    if (c.kind === 'codepoints') return FOLDED_MARK + (c.padSpace ? trimSpaces(value) : value);
    if (c.asciiWeights && isPrintableAscii(value)) {
      let w = '';
      for (let i = 0; i < value.length; i++) w += c.asciiWeights[value.charCodeAt(i) - FIRST_PRINTABLE]!;
      // Stripped like the server's weight strings, so both forms of one value are the same token.
      return FOLDED_MARK + strip(c, w);
    }
    const k = cacheKey(c, value);
    let w = this.current.get(k);
    if (w === undefined) {
      w = this.previous.get(k);
      if (w === undefined) throw new CollationNotPreparedError(`collation ${c.name}: value not prepared before folding (a source bug)`);
      this.remember(k, w);
    }
    return FOLDED_MARK + w;
  }

  private remember(key: string, weight: string): void {
    if (this.current.size >= CACHE_GENERATION) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, weight);
  }

  private async fetchWeights(c: Pick<Collation, 'name' | 'charset'> & { kind?: Collation['kind'] }, values: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    const expr =
      c.kind === 'padded'
        ? `SHA2(WEIGHT_STRING((CONVERT(? USING ${c.charset}) COLLATE ${c.name}) AS CHAR(${PADDED_CHARS})), 256)`
        : `HEX(WEIGHT_STRING(CONVERT(? USING ${c.charset}) COLLATE ${c.name}))`;
    for (let i = 0; i < values.length; i += QUERY_CHUNK) {
      const chunk = values.slice(i, i + QUERY_CHUNK);
      const cols = chunk.map(() => expr).join(', ');
      this.lookups++;
      const [row] = await this.query(`SELECT ${cols}`, chunk);
      if (!row || row.length !== chunk.length) throw new SourceError('SOURCE_METADATA', `collation ${c.name}: WEIGHT_STRING returned ${row?.length ?? 0} values for ${chunk.length}`);
      for (const w of row) out.push(String(w));
    }
    return out;
  }
}

function cacheKey(c: Collation, value: string): string {
  return c.name + '\u0000' + value;
}

/** PAD SPACE: the weight string without the space weights at its end. */
function strip(c: Collation, weight: string): string {
  if (!c.padSpace || c.kind !== 'weights' || c.spaceWeight.length === 0) return weight;
  const sw = c.spaceWeight;
  let end = weight.length;
  while (end >= sw.length && end % sw.length === 0 && weight.startsWith(sw, end - sw.length)) end -= sw.length;
  return end === weight.length ? weight : weight.slice(0, end);
}
