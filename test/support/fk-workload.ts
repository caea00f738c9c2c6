/**
 * A schema with foreign keys of every referential action and a seeded workload on it, for the tests
 * of foreign-key cascades (which the binlog does not carry: the target's own foreign keys must
 * perform them). Writers own disjoint key ranges; an operation that a foreign key refuses (the
 * writer's picture of its rows can lag behind a cascade) is rolled back and counted, which is fine:
 * the source is the truth the target is compared with.
 */
import type mysql from 'mysql2/promise';
import { prng } from '../../src/local/workload.js';

export function foreignKeySchema(db: string): string[] {
  return [
    `CREATE DATABASE ${db}`,
    `CREATE TABLE ${db}.parent (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, v INT NOT NULL, UNIQUE KEY uq_code (code)) ENGINE=InnoDB`,
    `CREATE TABLE ${db}.child (id INT PRIMARY KEY, parent_id INT NULL, v INT NOT NULL,
       CONSTRAINT fk_child FOREIGN KEY (parent_id) REFERENCES ${db}.parent (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB`,
    `CREATE TABLE ${db}.grandchild (id INT PRIMARY KEY, child_id INT NOT NULL, v INT NOT NULL,
       CONSTRAINT fk_grand FOREIGN KEY (child_id) REFERENCES ${db}.child (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB`,
    `CREATE TABLE ${db}.nullchild (id INT PRIMARY KEY, parent_id INT NULL, v INT NOT NULL,
       CONSTRAINT fk_null FOREIGN KEY (parent_id) REFERENCES ${db}.parent (id) ON DELETE SET NULL ON UPDATE SET NULL) ENGINE=InnoDB`,
    `CREATE TABLE ${db}.codechild (id INT PRIMARY KEY, parent_code VARCHAR(20) NULL, v INT NOT NULL,
       CONSTRAINT fk_code FOREIGN KEY (parent_code) REFERENCES ${db}.parent (code) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB`,
    `CREATE TABLE ${db}.strict_child (id INT PRIMARY KEY, parent_id INT NOT NULL,
       CONSTRAINT fk_strict FOREIGN KEY (parent_id) REFERENCES ${db}.parent (id) ON DELETE RESTRICT ON UPDATE NO ACTION) ENGINE=InnoDB`,
    `CREATE TABLE ${db}.node (id INT PRIMARY KEY, up INT NULL, v INT NOT NULL,
       CONSTRAINT fk_node FOREIGN KEY (up) REFERENCES ${db}.node (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB`,
  ];
}

export interface FkCounts {
  committed: number;
  refused: number;
}

/** One writer: ids w*1e6 + n. Runs `transactions` transactions of 1-4 operations each. */
export async function runForeignKeyWriter(conn: mysql.Connection, db: string, writer: number, seed: number, transactions: number, counts: FkCounts): Promise<void> {
  const rnd = prng(seed * 7919 + writer);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  let next = writer * 1_000_000;
  const id = (): number => ++next;
  const parents: number[] = [];
  const children: number[] = [];
  const nodes: number[] = [];
  for (let t = 0; t < transactions; t++) {
    const statements: [string, unknown[]][] = [];
    const ops = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < ops; k++) {
      const r = rnd();
      const p = pick(parents);
      const c = pick(children);
      if (r < 0.2 || p === undefined) {
        const pid = id();
        statements.push([`INSERT INTO ${db}.parent VALUES (?, ?, ?)`, [pid, `c${pid}`, t]]);
        const cid = id();
        statements.push([`INSERT INTO ${db}.child VALUES (?, ?, ?)`, [cid, pid, t]]);
        statements.push([`INSERT INTO ${db}.grandchild VALUES (?, ?, ?)`, [id(), cid, t]]);
        statements.push([`INSERT INTO ${db}.nullchild VALUES (?, ?, ?)`, [id(), pid, t]]);
        statements.push([`INSERT INTO ${db}.codechild VALUES (?, ?, ?)`, [id(), `c${pid}`, t]]);
        if (rnd() < 0.2) statements.push([`INSERT INTO ${db}.strict_child VALUES (?, ?)`, [id(), pid]]);
        parents.push(pid);
        children.push(cid);
      } else if (r < 0.35) {
        statements.push([`UPDATE ${db}.parent SET v = v + 1 WHERE id = ?`, [p]]);
      } else if (r < 0.5) {
        // ON UPDATE CASCADE (child, grandchild through it), SET NULL (nullchild); refused with a strict child.
        const np = id();
        statements.push([`UPDATE ${db}.parent SET id = ? WHERE id = ?`, [np, p]]);
        parents[parents.indexOf(p)] = np;
      } else if (r < 0.6) {
        statements.push([`UPDATE ${db}.parent SET code = ? WHERE id = ?`, [`k${id()}`, p]]);
      } else if (r < 0.72) {
        // ON DELETE CASCADE two levels deep, SET NULL, and the code-keyed child; refused with a strict child.
        statements.push([`DELETE FROM ${db}.parent WHERE id = ?`, [p]]);
        parents.splice(parents.indexOf(p), 1);
      } else if (r < 0.8 && c !== undefined) {
        statements.push([`DELETE FROM ${db}.child WHERE id = ?`, [c]]);
        children.splice(children.indexOf(c), 1);
      } else if (r < 0.86 && c !== undefined) {
        statements.push([`UPDATE ${db}.child SET parent_id = ?, v = v + 1 WHERE id = ?`, [p, c]]);
      } else if (r < 0.94 || nodes.length === 0) {
        const nid = id();
        statements.push([`INSERT INTO ${db}.node VALUES (?, ?, ?)`, [nid, pick(nodes) ?? null, t]]);
        nodes.push(nid);
      } else {
        // Deletes a subtree of the self-referencing table.
        const n = pick(nodes)!;
        statements.push([`DELETE FROM ${db}.node WHERE id = ?`, [n]]);
        nodes.splice(nodes.indexOf(n), 1);
      }
    }
    try {
      await conn.query('BEGIN');
      for (const [sql, params] of statements) await conn.query(sql, params);
      await conn.query('COMMIT');
      counts.committed++;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      const errno = (err as { errno?: number }).errno;
      // 1451/1452: a foreign key refused it (a strict child, or a row a cascade removed); 1213/1205: locks.
      if (errno !== 1451 && errno !== 1452 && errno !== 1213 && errno !== 1205 && errno !== 1062) throw err;
      counts.refused++;
    }
  }
}
