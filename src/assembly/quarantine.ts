/**
 * `binlog-sync quarantine retry`: applies a parked table's changes (src/core/quarantine.ts) in binlog
 * order through the sink, then un-parks the table. It runs with the daemon stopped, under the
 * pipeline lock: the daemon keeps parking the table's new changes while it runs, and a retry beside
 * it could apply an older parked image after a newer one. Re-applying is harmless (row images), so a
 * retry that stops half-way (the target still refuses a change, a kill) leaves the table parked and
 * the next retry starts again from its first parked change.
 */
import { BinlogSyncError } from '../core/errors.js';
import { formatPosition } from '../core/position.js';
import { orderedBatches } from '../core/quarantine.js';
import type { OpenConnectors } from './connectors.js';

/** Parked changes read per page. */
const PAGE = 2000;

export interface RetryProgress {
  readonly applied: number;
  readonly total: number;
}

/** Applies every parked change of `table` and un-parks it; resolves with the number applied. */
export async function retryParkedTable(c: Pick<OpenConnectors, 'sink' | 'quarantine'>, pipeline: string, table: string, batchSize: number, onProgress?: (p: RetryProgress) => void): Promise<number> {
  const parked = await c.quarantine.parked(pipeline);
  const entry = parked.find((p) => p.table === table);
  if (!entry) {
    const list = parked.length > 0 ? `the parked tables are ${parked.map((p) => p.table).join(', ')}` : 'no table is parked';
    throw new BinlogSyncError('USAGE', `quarantine retry: ${table} is not parked in pipeline "${pipeline}" (${list}; see \`binlog-sync quarantine list\`)`);
  }
  let applied = 0;
  let after = null;
  for (;;) {
    const page = await c.quarantine.page(pipeline, table, after, PAGE);
    if (page.length === 0) break;
    for (const batch of orderedBatches(page.map((p) => p.mutation), batchSize)) {
      try {
        await c.sink.applyBatch(batch);
      } catch (err) {
        const at = batch[0]!.txStart;
        throw new BinlogSyncError(
          'QUARANTINE',
          `quarantine retry: the target still refuses the parked changes of ${table} (at the transaction after ${formatPosition(at)}, ${applied} of ${entry.events} applied before): ${err instanceof Error ? err.message : String(err)}\n` +
            `  ${table} stays parked and nothing was deleted from the dead-letter table; fix the cause and run the retry again (it starts again from the first parked change, which is harmless).`,
          { cause: err, details: { table, position: formatPosition(at), applied } },
        );
      }
      applied += batch.length;
      onProgress?.({ applied, total: entry.events });
    }
    after = page[page.length - 1]!.cursor;
  }
  await c.quarantine.release(pipeline, table);
  return applied;
}
