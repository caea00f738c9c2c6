/**
 * The source side of a routed or transformed table: the rows the target should hold, computed in Node
 * from the source tables routed to it (`transformed-rows.ts`), chunked by the target's key over all of
 * them, one chunk in memory at a time. The target side stays `sqlSide` over the target table.
 */
import { keysCondition, rangeCondition, type KeyedRow } from './checksum-sql.js';
import { groupRows } from './key-match.js';
import { checksumOf, expectedRow, mergeExpected, MergedKeyCollision, sourceRowsSql, unionBoundarySql } from './transformed-rows.js';
import type { TransformedPlan } from './transformed-plan.js';
import { keyTupleOf, LOOKUP_BATCH, type ScannedSide, type SideQuery } from './verify-side.js';

/** `rows`: SELECTs on the source over a connection in the decoder's forms (`DECODER_FORM_OPTIONS`, UTC). */
export function transformedSourceSide(rows: SideQuery, plan: TransformedPlan): ScannedSide {
  const { key } = plan;
  const read = async (where: string): Promise<KeyedRow[]> => {
    const bySource = [];
    for (const source of plan.sources) {
      const raw = await rows(sourceRowsSql(source, key, where));
      bySource.push({ source: source.name, rows: raw.flatMap((r) => expectedRow(source, key, r) ?? []) });
    }
    return mergeExpected(plan.name, key, bySource);
  };
  // The merged tables are read one after the other: a row moving from one to another under the same
  // key in between looks like a collision once. A real one is still there when read again.
  const expected = (where: string): Promise<KeyedRow[]> => read(where).catch((err: unknown) => (err instanceof MergedKeyCollision ? read(where) : Promise.reject(err)));
  const inRange: ScannedSide['checksum'] = async (range) => checksumOf(await expected(rangeCondition(key, range)));
  return {
    async boundary(lo, chunkSize) {
      const found = await rows(
        unionBoundarySql(
          plan.sources.map((s) => s.table),
          key,
          lo,
          chunkSize,
        ),
      );
      return found[0] ? keyTupleOf(found[0].map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v))) : null;
    },
    checksum: inRange,
    async rangeRows(range) {
      return groupRows(await expected(rangeCondition(key, range)));
    },
    async keyRows(keys) {
      const out: KeyedRow[] = [];
      for (let i = 0; i < keys.length; i += LOOKUP_BATCH) out.push(...(await expected(` WHERE ${keysCondition(key, keys.slice(i, i + LOOKUP_BATCH))}`)));
      return groupRows(out);
    },
  };
}
