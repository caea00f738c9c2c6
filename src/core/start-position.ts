/**
 * Where a run begins. A stored checkpoint wins, if the source that answers now can continue it
 * (source-continuity.ts): on the same server at its file:pos; on another server that holds its
 * transactions (a replica that took over), at the place of its GTID position in that server's binlog,
 * which is stored as the checkpoint first; otherwise the start is refused. Without a checkpoint, the
 * configured `start` is used; `earliest` and `latest` are resolved to a concrete position and stored
 * (pinned) before the first event is read, so a crash right after the first start cannot skip or
 * re-decide anything. Every checkpoint stored here names the current server.
 */
import type { Logger } from './log.js';
import type { Checkpoint, CheckpointStore, SourceConnector, SourceServer, StartFrom } from './ports.js';
import { formatPosition, type BinlogPosition } from './position.js';
import { assessContinuity, continuityQuestion, sourceChangedError, type Continuity } from './source-continuity.js';
import { sameGtidPosition } from './gtid-position.js';
import { describeSource, type SourceIdentity } from './source-identity.js';

export type StartSetting = 'earliest' | 'latest' | { readonly file: string; readonly position: number } | { readonly gtid: string };

export interface ResolvedStart {
  readonly from: StartFrom;
  /** The checkpoint the watermark begins at (null for a GTID start: there is no file:pos yet). */
  readonly checkpoint: Checkpoint | null;
  readonly origin: 'checkpoint' | 'configured' | 'pinned' | 'moved';
  /** The server `from` is a place of: the source that answered now. */
  readonly source: SourceIdentity;
}

export type StartSource = Pick<SourceConnector, 'head' | 'earliest'> & SourceServer;

export interface StartOptions {
  readonly logger: Logger;
  /** The source's host:port, for messages. */
  readonly endpoint: string;
  /**
   * Why the target cannot follow the checkpoint to another server, or null when it can. The embedded
   * pipeline's applied log names changes by positions of the old server's binlog: any past the
   * checkpoint could not be recognised there.
   */
  readonly canMove?: (stored: Checkpoint) => Promise<string | null>;
}

/** The facts `assessContinuity` needs, asked of the server. */
export async function askContinuity(stored: Checkpoint, source: SourceServer, current: SourceIdentity): Promise<Continuity> {
  const question = continuityQuestion(stored, current);
  if (question === 'gtid-position-at-checkpoint') return assessContinuity(stored, { current, gtidPosAtCheckpoint: await source.gtidPositionAt(stored.position) });
  if (question === 'binlog-state') return assessContinuity(stored, { current, binlogState: await source.gtidBinlogState() });
  return assessContinuity(stored, { current });
}

export async function resolveStart(pipeline: string, start: StartSetting, source: StartSource, store: CheckpointStore, options: StartOptions): Promise<ResolvedStart> {
  const current = await source.identity();
  const stored = await store.load(pipeline);
  if (stored) return continueCheckpoint(pipeline, stored, source, current, store, options);
  if (typeof start === 'object' && 'gtid' in start) {
    return { from: { kind: 'gtid', gtid: start.gtid }, checkpoint: null, origin: 'configured', source: current };
  }
  let position: BinlogPosition;
  if (start === 'earliest') position = await source.earliest();
  else if (start === 'latest') position = await source.head();
  else position = { file: start.file, pos: start.position };
  const gtidPos = await source.gtidPositionAt(position);
  const checkpoint: Checkpoint = { position: { file: position.file, pos: position.pos, ...(gtidPos !== null ? { gtidPos } : {}) }, sourceTimestampMs: Date.now(), source: current };
  await store.save(pipeline, checkpoint);
  return { from: { kind: 'position', position: checkpoint.position }, checkpoint, origin: 'pinned', source: current };
}

async function continueCheckpoint(pipeline: string, stored: Checkpoint, source: StartSource, current: SourceIdentity, store: CheckpointStore, options: StartOptions): Promise<ResolvedStart> {
  const continuity = await askContinuity(stored, source, current);
  const here = { from: { kind: 'position', position: stored.position }, checkpoint: stored, origin: 'checkpoint', source: current } as const;
  switch (continuity.kind) {
    case 'same':
      return here;
    case 'unrecorded':
      options.logger.warn(
        { checkpoint: formatPosition(stored.position), source: describeSource(current) },
        `the checkpoint of "${pipeline}" does not say which server it belongs to (stored by an older binlog-sync): continuing at ${formatPosition(stored.position)} of ${describeSource(current)}, as before; the next checkpoint saved records the server`,
      );
      return here;
    case 'discontinuous':
      return whenSourceCannotContinue(pipeline, options.endpoint, stored, current, continuity.reason);
    case 'another-server':
      return moveToServer(pipeline, stored, continuity, source, current, store, options);
  }
}

/**
 * The checkpoint's GTID position is held by this other server: find the place of that position in its
 * binlog and store it as the checkpoint (with the target's side of the move, `store.reset`) before
 * anything is read. The server proves the place: its GTID position there must be exactly the
 * checkpoint's, so what follows in its binlog is exactly what the target lacks.
 */
async function moveToServer(
  pipeline: string,
  stored: Checkpoint,
  move: Extract<Continuity, { kind: 'another-server' }>,
  source: StartSource,
  current: SourceIdentity,
  store: CheckpointStore,
  options: StartOptions,
): Promise<ResolvedStart> {
  const refuse = (reason: string): never => whenSourceCannotContinue(pipeline, options.endpoint, stored, current, reason);
  const blocked = await options.canMove?.(stored);
  if (blocked) refuse(blocked);
  const located = await source.locateGtidPosition(move.gtidPos);
  if ('refused' in located) return refuse(`it holds the checkpoint's GTID position "${move.gtidPos}" by its binlog state, but will not send its binlog from there: ${located.refused}`);
  const there = await source.gtidPositionAt(located.position);
  if (there === null || !sameGtidPosition(there, move.gtidPos)) {
    return refuse(
      `its binlog has no place whose GTID position is exactly the checkpoint's "${move.gtidPos}" (at ${formatPosition(located.position)}, where a dump from it begins, it is "${there ?? 'unknown'}"): ` +
        'transactions of several GTID domains lie in another order there',
    );
  }
  const moved: Checkpoint = { position: { file: located.position.file, pos: located.position.pos, gtidPos: move.gtidPos }, sourceTimestampMs: stored.sourceTimestampMs, source: current };
  await store.reset(pipeline, moved);
  options.logger.warn(
    { from: describeSource(move.from), to: describeSource(current), gtidPos: move.gtidPos, previous: formatPosition(stored.position), position: formatPosition(moved.position) },
    `the source is another server: the checkpoint ${formatPosition(stored.position)} of ${describeSource(move.from)} is GTID position "${move.gtidPos}", ` +
      `which ${describeSource(current)} holds; continuing there at ${formatPosition(moved.position)}`,
  );
  return { from: { kind: 'position', position: moved.position }, checkpoint: moved, origin: 'moved', source: current };
}

/**
 * The decision point for a source that cannot continue the checkpoint. Today the start is refused;
 * `source.snapshot: when_needed` (the snapshot work) is to re-copy the synced tables from the current
 * source here instead, and continue from that copy's position.
 */
function whenSourceCannotContinue(pipeline: string, endpoint: string, stored: Checkpoint, current: SourceIdentity, reason: string): never {
  throw sourceChangedError(pipeline, endpoint, stored, current, reason);
}
