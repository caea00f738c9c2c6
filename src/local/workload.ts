/**
 * A reusable write workload: the demo writes it, the tests and the benchmark replicate it.
 *
 * Three tables cover what makes change capture hard: `wl_items` has a composite primary key,
 * `wl_users` a secondary UNIQUE key whose values writers swap between rows (through a temporary value,
 * all in one transaction), `wl_types` one column of nearly every type with edge values (NULL vs '',
 * bytes 0x00, 4-byte UTF-8, unsigned BIGINT beyond 2^53, FLOAT bit patterns, microsecond times).
 *
 * Deterministic for a seed: each writer owns the keys congruent to its index modulo the writer count,
 * keeps its own model of which of its rows exist, and draws every transaction from its own PRNG before
 * running it. Writers never touch each other's rows, so the final data depends only on the seed, the
 * writer count and the number of transactions each ran (`transactions` fixes those; `durationMs` does
 * not), given the same starting data. A run only touches rows it created itself: its keys start above
 * the highest key already in the tables, so runs can be repeated on one database. Deadlocks between
 * writers (InnoDB gap locks) are retried with the same statements.
 */
import mysql from 'mysql2/promise';
import type { ServerEndpoint } from './mariadb-server.js';

export interface WorkloadCounts {
  /** Transactions committed. */
  committed: number;
  /** Transactions that ended in ROLLBACK on purpose. */
  rolledBack: number;
  /** Row operations in committed transactions. */
  inserts: number;
  updates: number;
  /** Updates that changed a primary key (also counted in `updates`). */
  keyChanges: number;
  deletes: number;
  /** Unique-value swaps between two rows (three updates each, counted in `updates`). */
  swaps: number;
  /** Transactions re-run after a deadlock or lock wait timeout. */
  retries: number;
  durationMs: number;
}

export interface WorkloadOptions {
  readonly db: string;
  /** Stop after this long, or */
  readonly durationMs?: number;
  /** after this many transactions in total (split evenly over the writers; deterministic). */
  readonly transactions?: number;
  /** Concurrent writers (connections), default 4. */
  readonly concurrency?: number;
  /** Default 1. */
  readonly seed?: number;
  /** Stops the writers early (after their current transaction). */
  readonly signal?: AbortSignal;
}

export const WORKLOAD_TABLES = ['wl_items', 'wl_users', 'wl_types'] as const;

type QueryValues = Parameters<mysql.Connection['query']>[1];

const q = (id: string): string => '`' + id.replace(/`/g, '``') + '`';

/** Creates `db` (if missing) and the workload tables (dropping earlier ones). */
export async function createWorkloadSchema(conn: mysql.Connection, db: string): Promise<void> {
  const d = q(db);
  await conn.query(`CREATE DATABASE IF NOT EXISTS ${d}`);
  for (const t of WORKLOAD_TABLES) await conn.query(`DROP TABLE IF EXISTS ${d}.${q(t)}`);
  await conn.query(`CREATE TABLE ${d}.wl_items (
    tenant INT NOT NULL,
    item_id BIGINT NOT NULL,
    qty INT NOT NULL,
    note VARCHAR(64) NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (tenant, item_id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  await conn.query(`CREATE TABLE ${d}.wl_users (
    id INT NOT NULL PRIMARY KEY,
    email VARCHAR(100) NOT NULL,
    name VARCHAR(100) NULL,
    balance DECIMAL(14,2) NOT NULL DEFAULT 0,
    UNIQUE KEY uq_email (email)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  await conn.query(`CREATE TABLE ${d}.wl_types (
    id BIGINT NOT NULL PRIMARY KEY,
    c_tiny TINYINT NULL,
    c_small SMALLINT UNSIGNED NULL,
    c_medium MEDIUMINT NULL,
    c_int INT NULL,
    c_big BIGINT UNSIGNED NULL,
    c_dec DECIMAL(30,10) NULL,
    c_float FLOAT NULL,
    c_double DOUBLE NULL,
    c_bit BIT(13) NULL,
    c_bool TINYINT(1) NULL,
    c_char CHAR(10) NULL,
    c_varchar VARCHAR(255) NULL,
    c_binary VARBINARY(64) NULL,
    c_blob BLOB NULL,
    c_text TEXT NULL,
    c_json JSON NULL,
    c_enum ENUM('small','medium','large') NULL,
    c_set SET('red','green','blue') NULL,
    c_date DATE NULL,
    c_time TIME(3) NULL,
    c_datetime DATETIME(6) NULL,
    c_timestamp TIMESTAMP(6) NULL DEFAULT NULL,
    c_year YEAR NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: a small, fast, seeded PRNG in [0, 1); good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random choices over a PRNG (`prng`): the workload's, and the type tests' random values. */
export class Dice {
  constructor(private readonly next: () => number) {}
  float(): number {
    return this.next();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const v = items[Math.floor(this.next() * items.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }
  /** A uniformly random unsigned integer of `bits` bits. */
  bits(bits: number): bigint {
    let v = 0n;
    for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(this.int(0, 0xffff));
    return v & ((1n << BigInt(bits)) - 1n);
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

const WORDS = ['alpha', 'beta', 'γάμμα', 'δέλτα', '日本語', 'emoji 🚀', "quote ' and \\", 'tab\tnew\nline', ''];

function typesRow(d: Dice): unknown[] {
  const maybe = <T>(v: () => T): T | null => (d.chance(0.1) ? null : v());
  return [
    maybe(() => d.int(-128, 127)),
    maybe(() => d.int(0, 65535)),
    maybe(() => d.int(-8388608, 8388607)),
    maybe(() => d.int(-2147483648, 2147483647)),
    // Unsigned BIGINT as exact text, often beyond 2^53.
    maybe(() => (BigInt(d.int(0, 2 ** 31)) * 8589934592n + BigInt(d.int(0, 2 ** 31))).toString()),
    maybe(() => `${d.chance(0.5) ? '-' : ''}${d.int(0, 99999999)}${pad(d.int(0, 99), 2)}.${pad(d.int(0, 9999999999), 10)}`),
    maybe(() => Math.fround((d.float() - 0.5) * 10 ** d.int(-10, 30))),
    maybe(() => (d.float() - 0.5) * 10 ** d.int(-300, 300)),
    maybe(() => Buffer.from([d.int(0, 31), d.int(0, 255)])),
    maybe(() => d.int(0, 1)),
    maybe(() => d.pick(['', 'x', 'ten chars!', 'ü'])),
    maybe(() => `${d.pick(WORDS)} ${d.int(0, 1e6)}`),
    maybe(() => d.bytes(d.int(0, 64))),
    maybe(() => d.bytes(d.int(0, 2000))),
    maybe(() => d.pick(WORDS).repeat(d.int(0, 50))),
    maybe(() =>
      JSON.stringify({ n: d.int(-1e9, 1e9), s: d.pick(WORDS), big: '18446744073709551615', a: [d.float(), null, true] }),
    ),
    maybe(() => d.pick(['small', 'medium', 'large'])),
    maybe(() => ['red', 'green', 'blue'].filter(() => d.chance(0.5)).join(',')),
    maybe(() => `${d.int(1000, 9999)}-${pad(d.int(1, 12))}-${pad(d.int(1, 28))}`),
    maybe(() => `${d.chance(0.2) ? '-' : ''}${d.int(0, 838)}:${pad(d.int(0, 59))}:${pad(d.int(0, 59))}.${pad(d.int(0, 999), 3)}`),
    maybe(() => `${d.int(1000, 9999)}-${pad(d.int(1, 12))}-${pad(d.int(1, 28))} ${pad(d.int(0, 23))}:${pad(d.int(0, 59))}:${pad(d.int(0, 59))}.${pad(d.int(0, 999999), 6)}`),
    // TIMESTAMP, written in a '+00:00' session (see the writer): any instant in its range.
    maybe(() => `${d.int(1971, 2037)}-${pad(d.int(1, 12))}-${pad(d.int(1, 28))} ${pad(d.int(0, 23))}:${pad(d.int(0, 59))}:${pad(d.int(0, 59))}.${pad(d.int(0, 999999), 6)}`),
    maybe(() => d.int(1901, 2155)),
  ];
}

const TYPES_COLUMNS =
  'c_tiny, c_small, c_medium, c_int, c_big, c_dec, c_float, c_double, c_bit, c_bool, c_char, c_varchar, ' +
  'c_binary, c_blob, c_text, c_json, c_enum, c_set, c_date, c_time, c_datetime, c_timestamp, c_year';
const TYPES_PLACEHOLDERS = TYPES_COLUMNS.split(',').map(() => '?').join(', ');

// ---------------------------------------------------------------------------------------------
// One writer: its own keys, its own model of them, its own PRNG

interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

interface PlannedTx {
  readonly statements: Statement[];
  readonly rollback: boolean;
  /** Applied to the model and the counts once the transaction committed. */
  readonly onCommit: Array<() => void>;
  inserts: number;
  updates: number;
  keyChanges: number;
  deletes: number;
  swaps: number;
}

class Writer {
  private readonly d: Dice;
  private readonly items = new Set<string>(); // "tenant:item"
  private readonly users = new Map<number, string>(); // id -> email
  private readonly types = new Set<number>();
  private counter = 0;

  constructor(
    private readonly index: number,
    private readonly writers: number,
    seed: number,
    private readonly db: string,
    /** Keys start above this, so that rows from earlier runs are never hit. */
    private readonly keyBase: number,
  ) {
    this.d = new Dice(prng((seed * 1_000_003 + index * 7919) >>> 0));
  }

  /** A fresh key of this writer: ≡ index (mod writers). */
  private newKey(): number {
    this.counter++;
    return this.keyBase + this.counter * this.writers + this.index;
  }

  private t(name: string): string {
    return `${q(this.db)}.${name}`;
  }

  plan(): PlannedTx {
    const tx: PlannedTx = { statements: [], rollback: false, onCommit: [], inserts: 0, updates: 0, keyChanges: 0, deletes: 0, swaps: 0 };
    const roll = this.d.float();
    // Shadow copies so several operations in one transaction see each other's effects.
    const shadow = { items: new Set(this.items), users: new Map(this.users), types: new Set(this.types) };
    const ops = roll < 0.6 ? 1 : this.d.int(2, 6);
    for (let i = 0; i < ops; i++) this.planOp(tx, shadow);
    if (this.d.chance(0.05)) {
      return { ...tx, rollback: true, onCommit: [] };
    }
    tx.onCommit.push(() => {
      this.items.clear();
      for (const k of shadow.items) this.items.add(k);
      this.users.clear();
      for (const [k, v] of shadow.users) this.users.set(k, v);
      this.types.clear();
      for (const k of shadow.types) this.types.add(k);
    });
    return tx;
  }

  private planOp(
    tx: PlannedTx,
    s: { items: Set<string>; users: Map<number, string>; types: Set<number> },
  ): void {
    const d = this.d;
    const table = d.pick(['items', 'items', 'users', 'users', 'types'] as const);
    const r = d.float();
    // Mostly inserts while a table is small, so that updates and deletes have rows to work on.
    const insertFirst = (n: number, min: number): boolean => n < min || r < (n < 20 ? 0.7 : 0.3);
    if (table === 'items') {
      const keys = [...s.items];
      if (insertFirst(keys.length, 1)) {
        const tenant = d.int(1, 5);
        const item = this.newKey();
        tx.statements.push({
          sql: `INSERT INTO ${this.t('wl_items')} (tenant, item_id, qty, note, updated_at) VALUES (?, ?, ?, ?, ?)`,
          params: [tenant, item, d.int(0, 1000), d.chance(0.2) ? null : d.pick(WORDS), this.stamp()],
        });
        s.items.add(`${tenant}:${item}`);
        tx.inserts++;
        return;
      }
      const key = d.pick(keys);
      const [tenant, item] = key.split(':').map(Number) as [number, number];
      if (r < 0.65) {
        tx.statements.push({
          sql: `UPDATE ${this.t('wl_items')} SET qty = qty + ?, note = ?, updated_at = ? WHERE tenant = ? AND item_id = ?`,
          params: [d.int(-10, 10), d.chance(0.3) ? null : d.pick(WORDS), this.stamp(), tenant, item],
        });
        tx.updates++;
      } else if (r < 0.8) {
        // Primary key change: move the item to a new id (and maybe a new tenant).
        const nt = d.chance(0.5) ? tenant : d.int(1, 5);
        const ni = this.newKey();
        tx.statements.push({
          sql: `UPDATE ${this.t('wl_items')} SET tenant = ?, item_id = ? WHERE tenant = ? AND item_id = ?`,
          params: [nt, ni, tenant, item],
        });
        s.items.delete(key);
        s.items.add(`${nt}:${ni}`);
        tx.updates++;
        tx.keyChanges++;
      } else {
        tx.statements.push({ sql: `DELETE FROM ${this.t('wl_items')} WHERE tenant = ? AND item_id = ?`, params: [tenant, item] });
        s.items.delete(key);
        tx.deletes++;
      }
      return;
    }
    if (table === 'users') {
      const ids = [...s.users.keys()];
      if (insertFirst(ids.length, 2)) {
        const id = this.newKey();
        const email = `w${this.index}-${id}@example.com`;
        tx.statements.push({
          sql: `INSERT INTO ${this.t('wl_users')} (id, email, name, balance) VALUES (?, ?, ?, ?)`,
          params: [id, email, d.chance(0.2) ? null : d.pick(WORDS), `${d.int(0, 99999)}.${pad(d.int(0, 99))}`],
        });
        s.users.set(id, email);
        tx.inserts++;
        return;
      }
      const id = d.pick(ids);
      if (r < 0.5) {
        tx.statements.push({
          sql: `UPDATE ${this.t('wl_users')} SET balance = balance + ?, name = ? WHERE id = ?`,
          params: [`${d.int(-500, 500)}.${pad(d.int(0, 99))}`, d.chance(0.2) ? null : d.pick(WORDS), id],
        });
        tx.updates++;
      } else if (r < 0.75) {
        // Swap two users' emails through a temporary value: the unique key never holds a duplicate.
        const other = d.pick(ids.filter((x) => x !== id));
        const a = s.users.get(id) ?? '';
        const b = s.users.get(other) ?? '';
        const tmp = `tmp-w${this.index}-${this.newKey()}`;
        tx.statements.push(
          { sql: `UPDATE ${this.t('wl_users')} SET email = ? WHERE id = ?`, params: [tmp, id] },
          { sql: `UPDATE ${this.t('wl_users')} SET email = ? WHERE id = ?`, params: [a, other] },
          { sql: `UPDATE ${this.t('wl_users')} SET email = ? WHERE id = ?`, params: [b, id] },
        );
        s.users.set(id, b);
        s.users.set(other, a);
        tx.updates += 3;
        tx.swaps++;
      } else if (r < 0.85) {
        // A new email that a deleted row may have had before: unique values get reused.
        // Only keys already handed out: a future key's insert uses its own default email.
        if (this.counter === 0) return;
        const email = `w${this.index}-${this.keyBase + d.int(1, this.counter) * this.writers + this.index}@example.com`;
        if ([...s.users.values()].includes(email)) return;
        tx.statements.push({ sql: `UPDATE ${this.t('wl_users')} SET email = ? WHERE id = ?`, params: [email, id] });
        s.users.set(id, email);
        tx.updates++;
      } else {
        tx.statements.push({ sql: `DELETE FROM ${this.t('wl_users')} WHERE id = ?`, params: [id] });
        s.users.delete(id);
        tx.deletes++;
      }
      return;
    }
    const ids = [...s.types];
    if (insertFirst(ids.length, 1)) {
      const id = this.newKey();
      tx.statements.push({
        sql: `INSERT INTO ${this.t('wl_types')} (id, ${TYPES_COLUMNS}) VALUES (?, ${TYPES_PLACEHOLDERS})`,
        params: [id, ...typesRow(d)],
      });
      s.types.add(id);
      tx.inserts++;
      return;
    }
    const id = d.pick(ids);
    if (r < 0.7) {
      const assignments = TYPES_COLUMNS.split(', ').map((c) => `${c} = ?`).join(', ');
      tx.statements.push({ sql: `UPDATE ${this.t('wl_types')} SET ${assignments} WHERE id = ?`, params: [...typesRow(d), id] });
      tx.updates++;
    } else if (r < 0.8) {
      const ni = this.newKey();
      tx.statements.push({ sql: `UPDATE ${this.t('wl_types')} SET id = ? WHERE id = ?`, params: [ni, id] });
      s.types.delete(id);
      s.types.add(ni);
      tx.updates++;
      tx.keyChanges++;
    } else {
      tx.statements.push({ sql: `DELETE FROM ${this.t('wl_types')} WHERE id = ?`, params: [id] });
      s.types.delete(id);
      tx.deletes++;
    }
  }

  private stamp(): string {
    const d = this.d;
    return `2024-${pad(d.int(1, 12))}-${pad(d.int(1, 28))} ${pad(d.int(0, 23))}:${pad(d.int(0, 59))}:${pad(d.int(0, 59))}.${pad(d.int(0, 999999), 6)}`;
  }
}

const RETRIABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

async function runTx(conn: mysql.Connection, tx: PlannedTx, counts: WorkloadCounts): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await conn.query('START TRANSACTION');
      for (const st of tx.statements) await conn.query(st.sql, st.params as QueryValues);
      await conn.query(tx.rollback ? 'ROLLBACK' : 'COMMIT');
      return;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      const code = (err as { code?: string }).code;
      if (code && RETRIABLE.has(code) && attempt < 20) {
        counts.retries++;
        await new Promise((r) => setTimeout(r, 5 + attempt * 10));
        continue;
      }
      throw err;
    }
  }
}

/** The highest key any earlier run used (0 on empty tables). */
async function highestKey(endpoint: ServerEndpoint, db: string): Promise<number> {
  const conn = await mysql.createConnection({ ...endpoint });
  try {
    const [rows] = await conn.query(
      `SELECT GREATEST(
         (SELECT COALESCE(MAX(item_id), 0) FROM ${q(db)}.wl_items),
         (SELECT COALESCE(MAX(id), 0) FROM ${q(db)}.wl_users),
         (SELECT COALESCE(MAX(id), 0) FROM ${q(db)}.wl_types)) AS k`,
    );
    return Number((rows as { k: number | string }[])[0]?.k ?? 0);
  } finally {
    await conn.end();
  }
}

/** Runs the workload against `db` (created with `createWorkloadSchema`) and returns what it did. */
export async function runWorkload(endpoint: ServerEndpoint, options: WorkloadOptions): Promise<WorkloadCounts> {
  const { db, durationMs, transactions, signal } = options;
  if ((durationMs === undefined) === (transactions === undefined)) {
    throw new Error('runWorkload: give exactly one of durationMs and transactions');
  }
  const writers = Math.max(1, options.concurrency ?? 4);
  const seed = options.seed ?? 1;
  const counts: WorkloadCounts = {
    committed: 0,
    rolledBack: 0,
    inserts: 0,
    updates: 0,
    keyChanges: 0,
    deletes: 0,
    swaps: 0,
    retries: 0,
    durationMs: 0,
  };
  const started = Date.now();
  const deadline = durationMs === undefined ? Infinity : started + durationMs;
  const share = (i: number): number =>
    transactions === undefined ? Infinity : Math.floor(transactions / writers) + (i < transactions % writers ? 1 : 0);

  const keyBase = await highestKey(endpoint, db);
  const one = async (i: number): Promise<void> => {
    const writer = new Writer(i, writers, seed, db, keyBase);
    const conn = await mysql.createConnection({ ...endpoint });
    try {
      // TIMESTAMP values are generated as UTC wall-clock times; no DST gaps in '+00:00'.
      await conn.query("SET SESSION time_zone = '+00:00'");
      for (let n = 0; n < share(i) && Date.now() < deadline && !signal?.aborted; n++) {
        const tx = writer.plan();
        await runTx(conn, tx, counts);
        if (tx.rollback) {
          counts.rolledBack++;
          continue;
        }
        for (const f of tx.onCommit) f();
        counts.committed++;
        counts.inserts += tx.inserts;
        counts.updates += tx.updates;
        counts.keyChanges += tx.keyChanges;
        counts.deletes += tx.deletes;
        counts.swaps += tx.swaps;
      }
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, i) => one(i)));
  counts.durationMs = Date.now() - started;
  return counts;
}
