/**
 * Where a run begins. A stored checkpoint always wins. Without one, the configured `start` is used;
 * `earliest` and `latest` are resolved to a concrete position and stored (pinned) before the first
 * event is read, so a crash right after the first start cannot skip or re-decide anything.
 */
import type { Checkpoint, CheckpointStore, SourceConnector, StartFrom } from './ports.js';
import type { BinlogPosition } from './position.js';

export type StartSetting = 'earliest' | 'latest' | { readonly file: string; readonly position: number } | { readonly gtid: string };

export interface ResolvedStart {
  readonly from: StartFrom;
  /** The checkpoint the watermark begins at (null for a GTID start: there is no file:pos yet). */
  readonly checkpoint: Checkpoint | null;
  readonly origin: 'checkpoint' | 'configured' | 'pinned';
}

export async function resolveStart(
  pipeline: string,
  start: StartSetting,
  source: Pick<SourceConnector, 'head' | 'earliest'>,
  store: CheckpointStore,
): Promise<ResolvedStart> {
  const stored = await store.load(pipeline);
  if (stored) return { from: { kind: 'position', position: stored.position }, checkpoint: stored, origin: 'checkpoint' };
  if (typeof start === 'object' && 'gtid' in start) {
    return { from: { kind: 'gtid', gtid: start.gtid }, checkpoint: null, origin: 'configured' };
  }
  let position: BinlogPosition;
  if (start === 'earliest') position = await source.earliest();
  else if (start === 'latest') position = await source.head();
  else position = { file: start.file, pos: start.position };
  const checkpoint: Checkpoint = { position, sourceTimestampMs: Date.now() };
  await store.save(pipeline, checkpoint);
  return { from: { kind: 'position', position }, checkpoint, origin: 'pinned' };
}
