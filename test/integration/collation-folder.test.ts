/**
 * The collation folder against the server itself: for every utf8mb4 and latin1 collation the source
 * ships, seeded pairs of values that are often equal under some collation (case, accents, trailing
 * spaces and tabs, NBSP, ß/ss, ignorable controls, emoji, contractions like 'ch') must fold to equal
 * tokens exactly when the server's `=` says they are equal. Covers the shortcuts (code points for
 * _bin, per-character ASCII weights) and the server path, and that both give the same token for one
 * value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { CollationFolder, type Collation } from '../../connectors/mysql-source/collation-folder.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { prng } from '../../src/local/workload.js';

let db: LocalMariaDb;
let conn: mysql.Connection;
let folder: CollationFolder;

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'collations', serverId: 31, binlog: false });
  conn = await mysql.createConnection({ ...db.endpoint(), charset: 'utf8mb4_general_ci' });
  folder = new CollationFolder(async (sql, params) => (await conn.query({ sql, values: params as unknown[], rowsAsArray: true }))[0] as unknown[][]);
});

afterAll(async () => {
  await conn?.end();
  await db?.stop();
});

const PIECES = ['a', 'A', 'e', 'é', 'E', 'É', 'ss', 'ß', 'ch', 'CH', 'c', 'h', 'aa', 'å', 'Å', 'o', 'ö', 'oe', ' ', '  ', '\t', '\u00a0', '\u0001', '-', '_', '.', 'x', 'Z', 'z', '1', '🚀', '🎉', 'ı', 'İ', 'i', 'I', 'ŀ', 'l', 'ae', 'æ', 'Æ'];
const LATIN1 = ['a', 'A', 'e', 'é', 'E', 'É', 'ss', 'ß', 'ch', 'c', 'h', 'aa', 'å', 'Å', 'o', 'ö', 'oe', ' ', '  ', '\t', '\u00a0', '-', '_', '.', 'x', 'Z', 'z', '1', 'ae', 'æ', 'Æ', 'Ð', 'ð', 'þ', 'Ü', 'ü', 'y', 'ÿ', '€'];

function values(seed: number, pieces: readonly string[]): [string, string][] {
  const rnd = prng(seed);
  const word = (): string => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pieces[Math.floor(rnd() * pieces.length)]!).join('');
  const pairs: [string, string][] = [];
  for (let i = 0; i < 250; i++) {
    const a = word();
    // Half the time a near variant of a (case, one piece swapped, a trailing space), else another word.
    let b: string;
    const r = rnd();
    if (r < 0.2) b = a.toUpperCase() === a ? a.toLowerCase() : a.toUpperCase();
    else if (r < 0.35) b = `${a} `;
    else if (r < 0.5) b = a + pieces[Math.floor(rnd() * pieces.length)]!;
    else b = word();
    if (pieces === LATIN1) b = [...b].filter((ch) => LATIN1.some((p) => p.includes(ch)) || ch.toUpperCase() !== ch.toLowerCase()).join('');
    pairs.push([a, b]);
  }
  return pairs;
}

async function serverEquals(c: Collation, pairs: readonly [string, string][]): Promise<boolean[]> {
  const exprs = pairs.map(() => `CONVERT(? USING ${c.charset}) COLLATE ${c.name} = CONVERT(? USING ${c.charset}) COLLATE ${c.name}`);
  const [rows] = await conn.query({ sql: `SELECT ${exprs.join(', ')}`, values: pairs.flat(), rowsAsArray: true });
  return (rows as unknown[][])[0]!.map((v) => Number(v) === 1);
}

describe('CollationFolder', () => {
  it('folds equal values to equal tokens exactly when the server calls them equal, for every utf8mb4 and latin1 collation', async () => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT COLLATION_NAME AS name, CHARACTER_SET_NAME AS cs FROM information_schema.COLLATIONS WHERE CHARACTER_SET_NAME IN ('utf8mb4','latin1') ORDER BY 1");
    expect(rows.length).toBeGreaterThan(30);
    const problems: string[] = [];
    let checked = 0;
    for (const [i, r] of rows.entries()) {
      const c = await folder.collation(String(r.name), String(r.cs));
      const pairs = values(1000 + i, r.cs === 'latin1' ? LATIN1 : PIECES);
      const equal = await serverEquals(c, pairs);
      await folder.prepare(pairs.flatMap(([a, b]) => [{ collation: c, value: a }, { collation: c, value: b }]));
      pairs.forEach(([a, b], k) => {
        checked++;
        const same = folder.fold(c, a) === folder.fold(c, b);
        if (same !== equal[k]) problems.push(`${c.name}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}: server says ${equal[k] ? 'equal' : 'different'}, tokens ${same ? 'equal' : 'differ'}`);
      });
    }
    const byCollation = new Map<string, string[]>();
    for (const p of problems) {
      const name = p.slice(0, p.indexOf(':'));
      byCollation.set(name, [...(byCollation.get(name) ?? []), p]);
    }
    // One example per collation, so every collation that disagrees shows.
    expect([...byCollation.values()].map((list) => `${list[0]} (${list.length} pairs)`)).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('gives one value the same token whether it takes a shortcut or the server path', async () => {
    for (const name of ['utf8mb4_general_ci', 'utf8mb4_unicode_ci', 'utf8mb4_unicode_520_nopad_ci', 'latin1_swedish_ci']) {
      const cs = name.split('_')[0]!;
      const c = await folder.collation(name, cs);
      expect(c.asciiWeights).not.toBeNull();
      // 'Ab c ' takes the ASCII shortcut in `folder`; the same collation without its ASCII weights asks the server.
      const ascii = 'Ab c ';
      const viaServer = new CollationFolder(async (sql, params) => (await conn.query({ sql, values: params as unknown[], rowsAsArray: true }))[0] as unknown[][]);
      const plain: Collation = { ...c, asciiWeights: null };
      await viaServer.prepare([{ collation: plain, value: ascii }]);
      expect(viaServer.fold(plain, ascii)).toBe(folder.fold(c, ascii));
    }
  });
});
