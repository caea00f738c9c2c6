/**
 * Compares one table on the source and the target, chunk by chunk, by the checksums each side gives
 * (`verify-side.ts`: computed by the servers, or in Node for a transformed table's source rows), and
 * narrows a chunk that differs down to its keys.
 *
 * Scan: the source's key is paged by keyset (`ScannedSide.boundary`); each chunk's checksum runs on both
 * sides at once, a bounded number of chunks in flight. Both sides select the chunk by the same key
 * range, each under its own collation (preflight makes the target's key collations the source's).
 *
 * Under live writes a chunk can differ only because the pipeline has not applied the latest changes.
 * So a chunk that differs is checked again once the pipeline has applied past the source position taken
 * after the source was read; if it still differs, its rows are fetched as (key, hash) from both sides,
 * matched by key as the servers compare keys, and the differing keys are checked again for a few rounds
 * (`judgeRound`). Only keys that differ in every round, with the source's value standing still in the
 * last, are differences; keys whose source value kept moving are reported apart as still changing.
 */
import type { LimitFunction } from 'p-limit';
import type { BinlogPosition } from '../core/position.js';
import type { AppliedPositionWaiter } from './applied-position.js';
import type { KeyRange } from './checksum-sql.js';
import type { KeyColumn, KeyTuple } from './key-columns.js';
import { differingKeys, judgeRound, lookupKey, type KeyedRows, type KeyJudgement } from './key-match.js';
import type { Checksum, ScannedSide, VerifySide } from './verify-side.js';

/** One table's comparison: its name and key as reported, and how each side is read. */
export interface VerifyJob {
  /** `db.table` as reported (a transformed table's target name). */
  readonly name: string;
  readonly key: readonly KeyColumn[];
  readonly source: ScannedSide;
  readonly target: VerifySide;
}

export interface TableVerifyContext {
  /** The source's binlog position now. */
  readonly sourceHead: () => Promise<BinlogPosition>;
  readonly applied: AppliedPositionWaiter;
  /** Bounds the chunk work (checksums, rechecks) of all tables together. */
  readonly limit: LimitFunction;
  readonly chunkSize: number;
  /** Key-level rounds for a chunk that still differs (the first reads the whole chunk). */
  readonly rounds: number;
  /** Keys kept per kind and table (counts go on). */
  readonly keptKeys: number;
}

export interface ReportedKey {
  /** The key as the source stores it; for a row only on the target, as the target stores it. */
  readonly key: KeyTuple;
  /** The target's key when the row is on both sides with other key bytes (another case under `_ci`). */
  readonly targetKey?: KeyTuple;
}

export interface KeyList {
  readonly count: number;
  /** The first `keptKeys` of them. */
  readonly keys: readonly ReportedKey[];
}

export interface TableVerdict {
  /** `db.table` (of the target, for a routed or transformed table). */
  readonly table: string;
  /** The source tables of a routed or transformed target table (several when a route merges them). */
  readonly sources?: readonly string[];
  readonly keyColumns: readonly KeyColumn[];
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly chunks: number;
  /** Chunks that differed at first and were checked again. */
  readonly rechecked: number;
  /** Rows on the source, not on the target. */
  readonly missing: KeyList;
  /** Rows on the target, not on the source. */
  readonly extra: KeyList;
  /** Rows on both sides with different values. */
  readonly different: KeyList;
  /** Keys whose source value kept changing through the rechecks: no verdict, not differences. */
  readonly stillChanging: KeyList;
  /** False when some recheck ran before the pipeline had applied up to the source position. */
  readonly confirmed: boolean;
  readonly elapsedMs: number;
  /** Set when the table could not be compared; then nothing else means anything. */
  readonly error?: string;
}

type Kind = 'missing' | 'extra' | 'different' | 'stillChanging';

/** Counts each kind of key, and keeps the first `kept` of each in key order (chunk, then place in it). */
class KeyTally {
  private readonly lists: Record<Kind, { count: number; keys: { at: readonly [number, number]; key: ReportedKey }[] }> = {
    missing: { count: 0, keys: [] },
    extra: { count: 0, keys: [] },
    different: { count: 0, keys: [] },
    stillChanging: { count: 0, keys: [] },
  };

  constructor(private readonly kept: number) {}

  /** `at`: the chunk's index and the key's place in the chunk (chunks finish in any order). */
  add(j: KeyJudgement, at: readonly [number, number]): void {
    const list = this.lists[j.outcome === 'changing' ? 'stillChanging' : j.outcome];
    list.count++;
    const key = lookupKey(j);
    const otherBytes = j.sourceKey && j.targetKey && j.targetKey.some((v, i) => v !== j.sourceKey![i]);
    list.keys.push({ at, key: otherBytes ? { key, targetKey: j.targetKey! } : { key } });
    if (list.keys.length >= 2 * this.kept) this.trim(list.keys);
  }

  list(kind: Kind): KeyList {
    const l = this.lists[kind];
    this.trim(l.keys);
    return { count: l.count, keys: l.keys.map((k) => k.key) };
  }

  private trim(keys: { at: readonly [number, number] }[]): void {
    keys.sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1]);
    keys.length = Math.min(keys.length, this.kept);
  }
}

/** A chunk that differed at first. */
interface Suspect {
  readonly index: number;
  readonly range: KeyRange;
  readonly source: Checksum;
  readonly target: Checksum;
}

/** Chunks a table's scan may run ahead of their checksums. */
const SCAN_AHEAD = 8;

export async function verifyTable(ctx: TableVerifyContext, job: VerifyJob): Promise<TableVerdict> {
  return new TableVerifier(ctx, job).run();
}

class TableVerifier {
  private sourceRows = 0;
  private targetRows = 0;
  private chunks = 0;
  private confirmed = true;
  private readonly tally: KeyTally;
  private readonly suspects: Suspect[] = [];

  constructor(
    private readonly ctx: TableVerifyContext,
    private readonly job: VerifyJob,
  ) {
    this.tally = new KeyTally(ctx.keptKeys);
  }

  async run(): Promise<TableVerdict> {
    const started = Date.now();
    await this.scan();
    await Promise.all(this.suspects.map((s) => this.ctx.limit(() => this.recheckChunk(s))));
    const t = this.tally;
    return {
      table: this.job.name,
      keyColumns: this.job.key,
      sourceRows: this.sourceRows,
      targetRows: this.targetRows,
      chunks: this.chunks,
      rechecked: this.suspects.length,
      missing: t.list('missing'),
      extra: t.list('extra'),
      different: t.list('different'),
      stillChanging: t.list('stillChanging'),
      confirmed: this.confirmed,
      elapsedMs: Date.now() - started,
    };
  }

  /** Pages the source's key and checksums each chunk on both sides; chunks that differ become suspects. */
  private async scan(): Promise<void> {
    const pending = new Set<Promise<void>>();
    let failure: { err: unknown } | null = null;
    let lo: KeyTuple | null = null;
    for (;;) {
      const hi = await this.job.source.boundary(lo, this.ctx.chunkSize);
      const range: KeyRange = { lo, hi };
      const index = this.chunks++;
      const task = this.ctx
        .limit(() => Promise.all([this.job.source.checksum(range), this.job.target.checksum(range)]))
        .then(([source, target]) => {
          this.sourceRows += source.rows;
          this.targetRows += target.rows;
          if (source.rows !== target.rows || source.xor !== target.xor) this.suspects.push({ index, range, source, target });
        })
        .catch((err: unknown) => {
          failure ??= { err };
        })
        .finally(() => pending.delete(task));
      pending.add(task);
      while (pending.size >= SCAN_AHEAD && !failure) await Promise.race(pending);
      if (failure || hi === null) break;
      lo = hi;
    }
    await Promise.all(pending);
    if (failure) throw (failure as { err: unknown }).err;
  }

  /** Reads the source, waits for the pipeline to apply past the source's position, reads the target. */
  private async sourceThenTarget<T>(readSource: () => Promise<T>, readTarget: () => Promise<T>): Promise<{ source: T; target: T }> {
    const source = await readSource();
    const position = await this.ctx.sourceHead();
    if (!(await this.ctx.applied.reach(position))) this.confirmed = false;
    const target = await readTarget();
    return { source, target };
  }

  private async recheckChunk(first: Suspect): Promise<void> {
    const { range } = first;
    const { source, target } = this.job;
    const again = await this.sourceThenTarget(
      () => source.checksum(range),
      () => target.checksum(range),
    );
    // The later counts replace the first pass's: under live writes they are the closer pair.
    this.sourceRows += again.source.rows - first.source.rows;
    this.targetRows += again.target.rows - first.target.rows;
    if (again.source.rows === again.target.rows && again.source.xor === again.target.xor) return;

    let judged = await this.round(
      () => source.rangeRows(range),
      () => target.rangeRows(range),
    );
    const place = new Map(judged.map((j, i) => [j.match, i]));
    for (let round = 2; round <= this.ctx.rounds && judged.length > 0; round++) {
      const keys = judged.map(lookupKey);
      judged = await this.round(
        () => source.keyRows(keys),
        () => target.keyRows(keys),
      );
    }
    for (const j of judged) this.tally.add(j, [first.index, place.get(j.match) ?? 0]);
  }

  /** One recheck round over some rows: the keys that still differ (or still change), judged. */
  private async round(readSource: () => Promise<KeyedRows>, readTarget: () => Promise<KeyedRows>): Promise<KeyJudgement[]> {
    const { source, target } = await this.sourceThenTarget(readSource, readTarget);
    const differing = differingKeys(source, target);
    if (differing.length === 0) return [];
    const keys = differing.map((m) => lookupKey({ sourceKey: source.get(m)?.key ?? null, targetKey: target.get(m)?.key ?? null }));
    const sourceAgain = await this.job.source.keyRows(keys);
    return judgeRound(differing, source, target, sourceAgain);
  }
}
