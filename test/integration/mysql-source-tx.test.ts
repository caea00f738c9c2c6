import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import { SourceError } from '../../src/core/errors.js';
import type { ChangeEvent, CommitEvent, SchemaChangeEvent } from '../../src/core/event.js';
import type { BinlogPosition } from '../../src/core/position.js';
import type { SourceStreamEvent, StartFrom } from '../../src/core/ports.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { eachEvent } from '../support/each-event.js';

let db: LocalMariaDb;
let source: MySqlSource;

async function readRange(from: StartFrom, until: BinlogPosition, src = source): Promise<SourceStreamEvent[]> {
  const events: SourceStreamEvent[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 20_000);
  try {
    for await (const e of eachEvent(src.read({ from, until, signal: ac.signal }))) events.push(e);
  } finally {
    clearTimeout(timer);
  }
  if (ac.signal.aborted) throw new Error(`did not reach ${until.file}:${until.pos} within 20 s`);
  return events;
}

/** A compact picture of a stream: `insert shop.a {id:1}` / `commit 2` / `ddl …` (positions between transactions left out). */
function describeEvents(events: readonly SourceStreamEvent[]): string[] {
  return events.flatMap((e) => {
    switch (e.kind) {
      case 'change': {
        const img = e.after ?? e.before!;
        return `${e.op} ${e.table.schema}.${e.table.name} ${String(img.id)}${e.op === 'update' ? `->${String(e.after!.v)}` : ''}`;
      }
      case 'commit':
        return `commit ${e.changeCount}`;
      case 'schema-change':
        return `ddl ${e.sql.split(' ').slice(0, 3).join(' ')}`;
      case 'abandon':
        return `abandon ${e.txSeq}`;
      case 'statement':
        return `statement ${e.sql}`;
      case 'halt':
        return `halt ${e.error.code}`;
      case 'position':
        return [];
    }
  });
}

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'src-tx', serverId: 22, binlog: true });
  await db.rootQuery(`
    CREATE DATABASE shop; CREATE DATABASE other;
    CREATE TABLE shop.a (id INT PRIMARY KEY, v VARCHAR(10), UNIQUE KEY uq_v (v)) ENGINE=InnoDB;
    CREATE TABLE shop.b (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB;
    CREATE TABLE shop.tmp_x (id INT PRIMARY KEY, v VARCHAR(10));
    CREATE TABLE shop.m (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=MyISAM;
    CREATE TABLE other.c (id INT PRIMARY KEY, v VARCHAR(10));
    CREATE TABLE shop.nokey (id INT, v VARCHAR(10));
    CREATE TABLE shop.cfgkey (id INT NOT NULL, v VARCHAR(10));`);
  source = new MySqlSource({ ...db.endpoint(), serverId: 2201, include: ['shop.*'], exclude: ['shop.tmp_*', 'shop.nokey'], keys: { 'shop.cfgkey': ['id'] } });
});

afterAll(async () => {
  await source?.close();
  await db?.stop();
});

describe('MySqlSource transaction assembly', () => {
  it('assembles transactions, skips rollbacks and excluded tables, ends at DDL, and resumes at any commit', async () => {
    const start = await source.head();
    await db.rootQuery(`
      BEGIN; INSERT INTO shop.a VALUES (1,'x'),(2,'y'); UPDATE shop.b SET v='q' WHERE id=0; INSERT INTO shop.b VALUES (1,'b1'); INSERT INTO shop.tmp_x VALUES (1,'t'); INSERT INTO other.c VALUES (1,'c'); COMMIT;
      BEGIN; INSERT INTO shop.a VALUES (3,'z'); DELETE FROM shop.b; ROLLBACK;
      BEGIN; UPDATE shop.a SET v='w' WHERE id=1; DELETE FROM shop.a WHERE id=2; COMMIT;
      INSERT INTO shop.m VALUES (1,'myisam');
      ALTER TABLE shop.b ADD COLUMN w INT NULL;
      INSERT INTO shop.b (id, v, w) VALUES (2,'b2',7);
      INSERT INTO other.c VALUES (2,'c');
      INSERT INTO shop.cfgkey VALUES (5,'k');`);
    const until = await source.head();
    const events = await readRange({ kind: 'position', position: start }, until);

    expect(describeEvents(events)).toEqual([
      'insert shop.a 1',
      'insert shop.a 2',
      'insert shop.b 1',
      'commit 3',
      'update shop.a 1->w',
      'delete shop.a 2',
      'commit 2',
      'insert shop.m 1',
      'commit 1', // MyISAM: ends with a COMMIT query, not an xid
      'ddl ALTER TABLE shop.b',
      'insert shop.b 2',
      'commit 1',
      'commit 0', // other.c: excluded, but its commit still advances the position
      'insert shop.cfgkey 5',
      'commit 1',
    ]);

    // txSeq: one per transaction, increasing; changes share their commit's txSeq.
    const seqs = events.map((e) => ('txSeq' in e ? e.txSeq : -1));
    expect(seqs).toEqual([1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 7, 7]);
    const a1 = events[0] as ChangeEvent;
    expect(a1.keys).toEqual({ table: { schema: 'shop', name: 'a' }, primaryKey: ['id'], uniqueKeys: [['v']] });
    expect((events[13] as ChangeEvent).keys.primaryKey).toEqual(['id']); // configured key
    const b2 = events[10] as ChangeEvent;
    expect(b2.after).toEqual({ id: 2, v: 'b2', w: 7 });
    const ddl = events[9] as SchemaChangeEvent;
    expect(ddl.defaultSchema).toBe('');

    // Commit positions carry the file, the end of the transaction and the MariaDB GTID.
    const ends = events.filter((e): e is CommitEvent | SchemaChangeEvent => e.kind === 'commit' || e.kind === 'schema-change');
    for (const c of ends) expect(c.position).toMatchObject({ file: start.file, gtid: expect.stringMatching(/^0-22-\d+$/) });
    const positions = ends.map((c) => c.position.pos);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    expect(ends.at(-1)!.position.pos).toBe(until.pos);

    // A second reader started at each resume point gets exactly what followed it (with new txSeqs).
    const fresh = new MySqlSource({ ...db.endpoint(), serverId: 2202, include: ['shop.*'], exclude: ['shop.tmp_*', 'shop.nokey'], keys: { 'shop.cfgkey': ['id'] } });
    try {
      for (const end of ends.slice(0, -1)) {
        const idx = events.indexOf(end);
        const rest = await readRange({ kind: 'position', position: end.position }, until, fresh);
        expect(describeEvents(rest)).toEqual(describeEvents(events.slice(idx + 1)));
      }
      // GTID start: after the transaction with that GTID.
      const rest = await readRange({ kind: 'gtid', gtid: ends[1]!.position.gtid! }, until, fresh);
      expect(describeEvents(rest)).toEqual(describeEvents(events.slice(events.indexOf(ends[1]!) + 1)));
    } finally {
      await fresh.close();
    }
  });

  it('stops at `until` after the commit at or beyond it', async () => {
    const start = await source.head();
    await db.rootQuery(`INSERT INTO shop.a VALUES (10,'a10'); INSERT INTO shop.a VALUES (11,'a11'); INSERT INTO shop.a VALUES (12,'a12');`);
    const all = await readRange({ kind: 'position', position: start }, await source.head());
    const commits = all.filter((e): e is CommitEvent => e.kind === 'commit');
    expect(commits).toHaveLength(3);
    // until a position inside the second transaction: stops after its commit
    const mid = { file: commits[0]!.position.file, pos: commits[0]!.position.pos + 1 };
    const part = await readRange({ kind: 'position', position: start }, mid);
    expect(describeEvents(part)).toEqual(['insert shop.a 10', 'commit 1', 'insert shop.a 11', 'commit 1']);
  });

  it('fails with SOURCE_TABLE_WITHOUT_KEY naming a captured table without a key', async () => {
    const strict = new MySqlSource({ ...db.endpoint(), serverId: 2203, include: ['shop.nokey'], exclude: [] });
    try {
      const start = await strict.head();
      await db.rootQuery(`INSERT INTO shop.nokey VALUES (1,'n')`);
      const err = await readRange({ kind: 'position', position: start }, await strict.head(), strict).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).code).toBe('SOURCE_TABLE_WITHOUT_KEY');
      expect((err as Error).message).toMatch(/shop\.nokey has no PRIMARY KEY.*source\.keys/);
    } finally {
      await strict.close();
    }
  });

  it('follows the binlog across FLUSH LOGS into the next file', async () => {
    const start = await source.head();
    await db.rootQuery(`INSERT INTO shop.a VALUES (20,'a20'); FLUSH BINARY LOGS; INSERT INTO shop.a VALUES (21,'a21');`);
    const until = await source.head();
    expect(until.file).not.toBe(start.file);
    const events = await readRange({ kind: 'position', position: start }, until);
    expect(describeEvents(events).filter((d) => !d.startsWith('ddl'))).toEqual(['insert shop.a 20', 'commit 1', 'insert shop.a 21', 'commit 1']);
    const last = events.at(-1) as CommitEvent;
    // MariaDB may log a binlog checkpoint event after the commit: the head can be a little beyond it,
    // and the reader still stops there (it does not wait for another transaction).
    expect(last.position.file).toBe(until.file);
    expect(last.position.pos).toBeLessThanOrEqual(until.pos);
  });
});
