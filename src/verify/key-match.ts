/**
 * Matching the rows of the two sides by key, as the servers compare keys (pure). Rows are grouped by
 * their key's match form (`readKeyedRow`): a key that differs only in case under a `_ci` collation, or
 * only by trailing spaces under PAD SPACE, is one row with a changed value, not a missing and an extra
 * row. Several rows share a match form only under a `source.keys` key that is not unique: the group then
 * compares as the sorted list of its rows' hashes.
 *
 * One recheck round reads the source, then (once the pipeline has applied past the source's position)
 * the target, then the source again for the keys that differ (`judgeRound`). A key that differs while
 * the source kept its value through the round is a difference: the target has applied everything up to
 * a point after the first read, and the source had that value the whole time. A key whose source value
 * moved during the round is still changing: no conclusion.
 */
import type { KeyTuple } from './key-columns.js';
import type { KeyedRow } from './checksum-sql.js';

/** The rows of one match form on one side. */
export interface RowGroup {
  /** The key as this side stores it (its first row's). */
  readonly key: KeyTuple;
  /** Sorted row hashes, joined. */
  readonly hashes: string;
}

export type KeyedRows = ReadonlyMap<string, RowGroup>;

export function groupRows(rows: readonly KeyedRow[]): Map<string, RowGroup> {
  const lists = new Map<string, { key: KeyTuple; hashes: string[] }>();
  for (const r of rows) {
    const g = lists.get(r.match);
    if (g) g.hashes.push(r.hash);
    else lists.set(r.match, { key: r.key, hashes: [r.hash] });
  }
  const out = new Map<string, RowGroup>();
  for (const [match, g] of lists) out.set(match, { key: g.key, hashes: g.hashes.length === 1 ? g.hashes[0]! : g.hashes.sort().join(',') });
  return out;
}

const sameGroup = (a: RowGroup | undefined, b: RowGroup | undefined): boolean => (a === undefined ? b === undefined : b !== undefined && a.hashes === b.hashes);

/** Match forms whose rows differ between the two sides (present on one only, or other hashes). */
export function differingKeys(source: KeyedRows, target: KeyedRows): string[] {
  const out: string[] = [];
  for (const [match, s] of source) if (!sameGroup(s, target.get(match))) out.push(match);
  for (const match of target.keys()) if (!source.has(match)) out.push(match);
  return out;
}

export type DifferenceKind = 'missing' | 'extra' | 'different';

export interface KeyJudgement {
  readonly match: string;
  /** `changing`: the source's value moved during the round. */
  readonly outcome: DifferenceKind | 'changing';
  /** The key as the source stores it (null: no such row there). */
  readonly sourceKey: KeyTuple | null;
  /** The key as the target stores it (null: no such row there). */
  readonly targetKey: KeyTuple | null;
}

/**
 * The verdict on each differing key of a round: `source` read first, `target` after the pipeline
 * applied past the source's position, `sourceAgain` read after the target (for the differing keys).
 */
export function judgeRound(differing: readonly string[], source: KeyedRows, target: KeyedRows, sourceAgain: KeyedRows): KeyJudgement[] {
  return differing.map((match) => {
    const s = source.get(match);
    const t = target.get(match);
    const again = sourceAgain.get(match);
    const sourceKey = (again ?? s)?.key ?? null;
    const targetKey = t?.key ?? null;
    if (!sameGroup(s, again)) return { match, outcome: 'changing', sourceKey, targetKey };
    const outcome: DifferenceKind = s === undefined ? 'extra' : t === undefined ? 'missing' : 'different';
    return { match, outcome, sourceKey, targetKey };
  });
}

/** The key to look a judged key up by, on either side: the source's bytes when it has the row. */
export function lookupKey(j: Pick<KeyJudgement, 'sourceKey' | 'targetKey'>): KeyTuple {
  const key = j.sourceKey ?? j.targetKey;
  if (!key) throw new TypeError('lookupKey: a key seen on neither side');
  return key;
}
