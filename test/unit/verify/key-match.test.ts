import { describe, expect, it } from 'vitest';
import { differingKeys, groupRows, judgeRound, lookupKey } from '../../../src/verify/key-match.js';
import type { KeyedRow } from '../../../src/verify/checksum-sql.js';

const row = (match: string, hash: string, key: string = match): KeyedRow => ({ key: [key], match, hash });
const rows = (...r: KeyedRow[]) => groupRows(r);

describe('groupRows', () => {
  it('groups rows by match form, hashes sorted (a non-unique configured key)', () => {
    const g = groupRows([row('a', 'h2'), row('b', 'x'), row('a', 'h1', 'A')]);
    expect(g.get('a')).toEqual({ key: ['a'], hashes: 'h1,h2' });
    expect(g.get('b')).toEqual({ key: ['b'], hashes: 'x' });
    // The same rows in another order compare equal.
    expect(differingKeys(g, groupRows([row('a', 'h1'), row('a', 'h2'), row('b', 'x')]))).toEqual([]);
  });
});

describe('differingKeys', () => {
  it('finds keys on one side only and keys with other hashes, nothing else', () => {
    const source = rows(row('1', 'a'), row('2', 'b'), row('3', 'c'));
    const target = rows(row('1', 'a'), row('3', 'C'), row('4', 'd'));
    expect(differingKeys(source, target)).toEqual(['2', '3', '4']);
  });

  it('takes keys equal under the collation (one match form, other bytes) for one row', () => {
    const source = rows(row('w(key7)', 'h-lower', '6B657937'));
    const target = rows(row('w(key7)', 'h-upper', '4B455937'));
    expect(differingKeys(source, target)).toEqual(['w(key7)']);
    const [j] = judgeRound(['w(key7)'], source, target, source);
    expect(j).toEqual({ match: 'w(key7)', outcome: 'different', sourceKey: ['6B657937'], targetKey: ['4B455937'] });
  });

  it('compares a non-unique key by all its rows', () => {
    expect(differingKeys(rows(row('k', 'a'), row('k', 'b')), rows(row('k', 'a')))).toEqual(['k']);
  });
});

describe('judgeRound', () => {
  const source = rows(row('1', 'a'), row('2', 'b'), row('3', 'c'));
  const target = rows(row('1', 'A'), row('3', 'c'), row('4', 'd'));

  it('calls a key missing, extra or different when the source kept its value through the round', () => {
    const judged = judgeRound(['1', '2', '4'], source, target, rows(row('1', 'a'), row('2', 'b')));
    expect(judged.map((j) => [j.match, j.outcome])).toEqual([
      ['1', 'different'],
      ['2', 'missing'],
      ['4', 'extra'],
    ]);
    expect(judged[1]).toMatchObject({ sourceKey: ['2'], targetKey: null });
    expect(judged[2]).toMatchObject({ sourceKey: null, targetKey: ['4'] });
  });

  it('calls a key changing when the source value moved, appeared or went during the round', () => {
    const judged = judgeRound(['1', '2', '4'], source, target, rows(row('1', 'a2'), row('4', 'd')));
    expect(judged.map((j) => [j.match, j.outcome])).toEqual([
      ['1', 'changing'],
      ['2', 'changing'],
      ['4', 'changing'],
    ]);
    // A row that appeared on the source is looked up by its source key from then on.
    expect(judged[2]).toMatchObject({ sourceKey: ['4'], targetKey: ['4'] });
  });

  it('looks a key up by the source bytes when the source has the row, else by the target bytes', () => {
    expect(lookupKey({ sourceKey: ['s'], targetKey: ['t'] })).toEqual(['s']);
    expect(lookupKey({ sourceKey: null, targetKey: ['t'] })).toEqual(['t']);
    expect(() => lookupKey({ sourceKey: null, targetKey: null })).toThrow();
  });
});
