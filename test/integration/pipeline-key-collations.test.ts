/**
 * Keys compared as the target compares them. Under a case-insensitive, accent-insensitive or PAD SPACE
 * collation, `UPDATE t SET id = 'KEY1' WHERE id = 'key1'` keeps the row: it is one update of that row
 * (and the target must end with the new bytes), not a delete of one key and an insert of another that
 * the target would take for the same row. Every collation family MariaDB ships is covered (MySQL's
 * utf8mb4_0900_ai_ci and MariaDB 10.10+'s uca1400 where the server has them), for a VARCHAR primary key, a
 * composite key with such a column, and a secondary UNIQUE key, under concurrent writers with value
 * updates mixed in so that any reordering shows. Then the target must equal the source, byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';
import { prng } from '../../src/local/workload.js';

const DB = 'coll';
const ROWS = 40;
const UPDATES = 2000;
const WRITERS = 4;

const COLLATIONS: readonly { name: string; charset: string; padSpace: boolean; accents: boolean; caseFolds: boolean }[] = [
  { name: 'utf8mb4_general_ci', charset: 'utf8mb4', padSpace: true, accents: true, caseFolds: true },
  { name: 'utf8mb4_general_nopad_ci', charset: 'utf8mb4', padSpace: false, accents: true, caseFolds: true },
  { name: 'utf8mb4_bin', charset: 'utf8mb4', padSpace: true, accents: false, caseFolds: false },
  { name: 'utf8mb4_nopad_bin', charset: 'utf8mb4', padSpace: false, accents: false, caseFolds: false },
  { name: 'utf8mb4_unicode_ci', charset: 'utf8mb4', padSpace: true, accents: true, caseFolds: true },
  { name: 'utf8mb4_unicode_nopad_ci', charset: 'utf8mb4', padSpace: false, accents: true, caseFolds: true },
  { name: 'utf8mb4_unicode_520_ci', charset: 'utf8mb4', padSpace: true, accents: true, caseFolds: true },
  { name: 'utf8mb4_german2_ci', charset: 'utf8mb4', padSpace: true, accents: false, caseFolds: true },
  { name: 'utf8mb4_czech_ci', charset: 'utf8mb4', padSpace: true, accents: false, caseFolds: true },
  { name: 'latin1_swedish_ci', charset: 'latin1', padSpace: true, accents: false, caseFolds: true },
  { name: 'latin1_general_ci', charset: 'latin1', padSpace: true, accents: false, caseFolds: true },
  { name: 'latin1_bin', charset: 'latin1', padSpace: true, accents: false, caseFolds: false },
  { name: 'utf8mb4_0900_ai_ci', charset: 'utf8mb4', padSpace: false, accents: true, caseFolds: true },
  { name: 'utf8mb4_uca1400_ai_ci', charset: 'utf8mb4', padSpace: true, accents: true, caseFolds: true },
];

let servers: ServerPair;
let available: Set<string>;

const table = (kind: string, collation: string): string => `\`${DB}\`.\`${kind}_${collation}\``;

beforeAll(async () => {
  servers = await startServerPair();
  // SHOW COLLATION lists MariaDB 10.10+'s UCA 14 collations without their charset (uca1400_ai_ci);
  // the full names a column uses are in COLLATION_CHARACTER_SET_APPLICABILITY.
  const rows = await servers.source.query<{ Collation: string }>('SHOW COLLATION');
  const full = await servers.source
    .query<{ n: string }>('SELECT FULL_COLLATION_NAME AS n FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY')
    .catch(() => [] as { n: string }[]);
  available = new Set([...rows.map((r) => r.Collation), ...full.map((r) => r.n)]);
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    for (const c of COLLATIONS) {
      if (!available.has(c.name)) continue;
      const col = `VARCHAR(40) CHARACTER SET ${c.charset} COLLATE ${c.name}`;
      await s.query(`CREATE TABLE ${table('pk', c.name)} (id ${col} NOT NULL PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NULL) ENGINE=InnoDB`);
      await s.query(`CREATE TABLE ${table('ck', c.name)} (tenant INT NOT NULL, name ${col} NOT NULL, v INT NOT NULL, PRIMARY KEY (tenant, name)) ENGINE=InnoDB`);
      await s.query(`CREATE TABLE ${table('uq', c.name)} (id INT NOT NULL PRIMARY KEY, code ${col} NOT NULL, v INT NOT NULL, UNIQUE KEY uq_code (code)) ENGINE=InnoDB`);
    }
  }
});

afterAll(async () => {
  await servers?.stop();
});

/** A value the collation calls equal to `v` (case, trailing space, accent), or v itself when it has none. */
function equalVariant(v: string, c: (typeof COLLATIONS)[number], roll: number): string {
  const options: (() => string)[] = [];
  if (c.caseFolds) options.push(() => (v === v.toLowerCase() ? v.toUpperCase() : v.toLowerCase()));
  if (c.padSpace) options.push(() => (v.endsWith(' ') ? v.trimEnd() : `${v} `));
  if (c.accents) options.push(() => (v.includes('é') ? v.replace(/é/g, 'e') : v.replace(/e/g, 'é')));
  if (options.length === 0) return v;
  return options[Math.floor(roll * options.length) % options.length]!();
}

async function retrying(c: mysql.Connection, statements: [string, unknown[]][]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await c.query('BEGIN');
      for (const [sql, params] of statements) await c.query(sql, params);
      await c.query('COMMIT');
      return;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      const errno = (err as { errno?: number }).errno;
      if ((errno === 1213 || errno === 1205) && attempt < 50) continue;
      throw err;
    }
  }
}

/** Each writer owns rows ≡ its index (mod WRITERS) and keeps their current key bytes. */
async function writer(index: number, c: (typeof COLLATIONS)[number], seed: number): Promise<void> {
  const rnd = prng(seed * 97 + index);
  const conn = await servers.source.connect();
  try {
    const mine = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % WRITERS === index);
    const pk = new Map(mine.map((i) => [i, `ke${i}y`]));
    const ck = new Map(mine.map((i) => [i, `ne${i}m`]));
    const uq = new Map(mine.map((i) => [i, `ce${i}d`]));
    for (let n = 0; n < UPDATES / WRITERS; n++) {
      const i = mine[Math.floor(rnd() * mine.length)]!;
      const statements: [string, unknown[]][] = [];
      const ops = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < ops; k++) {
        const which = rnd();
        if (which < 0.4) {
          const old = pk.get(i)!;
          const next = equalVariant(old, c, rnd());
          statements.push([`UPDATE ${table('pk', c.name)} SET id = ?, v = v + 1, note = ? WHERE id = ?`, [next, `n${n}`, old]]);
          pk.set(i, next);
        } else if (which < 0.65) {
          const old = ck.get(i)!;
          const next = equalVariant(old, c, rnd());
          statements.push([`UPDATE ${table('ck', c.name)} SET name = ?, v = v + 1 WHERE tenant = ? AND name = ?`, [next, i % 3, old]]);
          ck.set(i, next);
        } else if (which < 0.9) {
          const old = uq.get(i)!;
          const next = equalVariant(old, c, rnd());
          statements.push([`UPDATE ${table('uq', c.name)} SET code = ?, v = v + 1 WHERE id = ?`, [next, i]]);
          uq.set(i, next);
        } else {
          statements.push([`UPDATE ${table('pk', c.name)} SET v = v * 2 WHERE id = ?`, [pk.get(i)!]]);
        }
      }
      await retrying(conn, statements);
    }
  } finally {
    await conn.end();
  }
}

describe('keys compared by their collation', () => {
  for (const c of COLLATIONS) it(`${c.name}: collation-equal key changes lose no row and end with the new bytes`, async (ctx) => {
    const name = c.name;
    if (!available.has(name)) {
      ctx.skip(`${name} is not a collation of this server (${(await servers.source.query<{ v: string }>('SELECT VERSION() AS v'))[0]?.v})`);
      return;
    }
    const running = await startInProcess(servers.source, servers.target, {
      PIPELINE_NAME: `coll-${name}`.slice(0, 60),
      SYNC_DB: DB,
      LANES: '16',
      PARTITIONS: '4',
      BATCH_SIZE: '8',
      START: 'latest',
    });
    try {
      await running.pipeline;
      const rows = Array.from({ length: ROWS }, (_, i) => i);
      await servers.source.query(`INSERT INTO ${table('pk', name)} (id, v) VALUES ${rows.map((i) => `('ke${i}y', 0)`).join(',')}`);
      await servers.source.query(`INSERT INTO ${table('ck', name)} (tenant, name, v) VALUES ${rows.map((i) => `(${i % 3}, 'ne${i}m', 0)`).join(',')}`);
      await servers.source.query(`INSERT INTO ${table('uq', name)} (id, code, v) VALUES ${rows.map((i) => `(${i}, 'ce${i}d', 0)`).join(',')}`);
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w, c, name.length)));
      await running.caughtUp(120_000);
      for (const kind of ['pk', 'ck', 'uq']) {
        const [src] = await servers.source.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table(kind, name)}`);
        expect(Number(src!.n)).toBe(ROWS);
      }
      await assertSameData(servers.source, servers.target, DB);
    } finally {
      await running.stop();
    }
  });
});
