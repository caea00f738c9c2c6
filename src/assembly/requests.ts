/**
 * The daemon's side of requests (`binlog-sync snapshot --tables`, `verify --repair`): while no snapshot
 * runs, it takes the oldest unfinished request from the target and runs it inside its pipeline, so the
 * rows it copies take their place in the stream and never race a live change of the same key:
 * - snapshot: the tables are copied as the initial snapshot copies (progress in the checkpoint; a
 *   restart continues it);
 * - repair: the keys `verify` found different are read again from the source (and deleted where only
 *   the target has them), in one chunk per table.
 * A request is `done` once its rows are applied on the target; `failed` with the reason otherwise. One
 * the daemon did not finish (it stopped) is `running` and is run again at the next start.
 */
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { tableKey } from '../core/event.js';
import type { Pipeline } from '../core/pipeline.js';
import type { ControlRequest, RepairKeys, RequestStore, SnapshotProgress, SnapshotSource, SnapshotTarget } from '../core/ports.js';
import { copyRows, planSnapshot } from '../core/snapshotter.js';
import { keysCondition } from '../verify/checksum-sql.js';
import { keyColumn, type KeyColumn } from '../verify/key-columns.js';

export interface RequestRunnerOptions {
  readonly pipelineName: string;
  readonly store: RequestStore;
  readonly pipeline: Pipeline;
  readonly source: SnapshotSource;
  readonly target: SnapshotTarget;
  /** Runs a snapshot of `progress` in the pipeline; resolves when all its chunks are placed. */
  readonly snapshot: (progress: SnapshotProgress) => Promise<void>;
  /** The snapshot the run resumed from its checkpoint (its request, if it was one, is finished with it). */
  readonly resumed: Promise<void> | null;
  readonly resumedReason: SnapshotProgress['reason'] | null;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
}

function tableRef(name: string): { schema: string; name: string } {
  const dot = name.indexOf('.');
  return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

export class RequestRunner {
  constructor(private readonly o: RequestRunnerOptions) {}

  /** Serves requests until the signal; never throws (a failed request is recorded as failed). */
  async run(): Promise<void> {
    const { o } = this;
    if (o.resumed) {
      await o.resumed.catch(() => undefined);
      if (o.resumedReason === 'requested' && !o.signal.aborted) await this.finishResumed();
    }
    while (!o.signal.aborted && !o.pipeline.stopping) {
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      if (o.signal.aborted || o.pipeline.stopping) return;
      const request = await o.store.next(o.pipelineName).catch((err: unknown) => {
        o.logger.warn({ err: describeError(err) }, 'could not read the requests table; will try again');
        return null;
      });
      if (request) await this.serve(request);
    }
  }

  /** The resumed snapshot was a request: it is done once its last chunk is applied. */
  private async finishResumed(): Promise<void> {
    const request = await this.o.store.next(this.o.pipelineName).catch(() => null);
    if (!request || request.kind !== 'snapshot' || request.state !== 'running') return;
    await this.settle(request, async () => {
      await this.snapshotApplied();
      return 'copied again (continued after a restart)';
    });
  }

  private async serve(request: ControlRequest): Promise<void> {
    const { o } = this;
    o.logger.info({ request: request.id, kind: request.kind, tables: request.tables }, `request ${request.id}: ${request.kind} of ${request.tables.join(', ')}`);
    await o.store.setState(request.id, 'running');
    await this.settle(request, () => (request.kind === 'snapshot' ? this.snapshot(request) : this.repair(request)));
  }

  private async settle(request: ControlRequest, work: () => Promise<string>): Promise<void> {
    const { o } = this;
    try {
      const summary = await work();
      await o.store.setState(request.id, 'done', summary);
      o.logger.info({ request: request.id, summary }, `request ${request.id} done: ${summary}`);
    } catch (err) {
      // A stopping daemon leaves the request running: the next start runs it again.
      if (o.signal.aborted || o.pipeline.stopping) return;
      const message = describeError(err);
      o.logger.error({ request: request.id, err: message }, `request ${request.id} failed`);
      await o.store.setState(request.id, 'failed', message).catch(() => undefined);
    }
  }

  private async snapshot(request: ControlRequest): Promise<string> {
    const plan = await planSnapshot(this.o.source, 'requested', request.tables.map(tableRef));
    await this.o.snapshot(plan);
    await this.snapshotApplied();
    return `copied ${plan.tables.map((t) => t.table).join(', ')} again`;
  }

  /** Until the checkpoint carries no snapshot progress: every chunk is applied. */
  private async snapshotApplied(): Promise<void> {
    while (this.o.pipeline.stats().checkpoint?.snapshot) {
      if (this.o.pipeline.stopping) throw new Error('the pipeline stopped');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async repair(request: ControlRequest): Promise<string> {
    let copied = 0;
    let deleted = 0;
    for (const r of request.repairs) {
      const table = tableRef(r.table);
      const where = keysCondition(repairColumns(r), r.keys);
      const outcome = await copyRows({ source: this.o.source, target: this.o.target, placer: this.o.pipeline }, table, where);
      await this.o.pipeline.chunkApplied(outcome.window);
      copied += outcome.copied;
      deleted += outcome.deleted;
      this.o.logger.info({ table: tableKey(table), keys: r.keys.length, copied: outcome.copied, deleted: outcome.deleted }, `repair of ${tableKey(table)}: ${outcome.copied} rows copied again, ${outcome.deleted} deleted`);
    }
    return `${copied} rows copied again, ${deleted} deleted, in ${request.repairs.length} tables`;
  }
}

/** A repair's key columns, checked to be what verify writes (they build the SQL that selects the keys). */
function repairColumns(r: RepairKeys): KeyColumn[] {
  return r.columns.map((c) => keyColumn(c as Parameters<typeof keyColumn>[0]));
}
