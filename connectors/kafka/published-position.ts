/**
 * Where the publisher stands: the binlog position just after the last source transaction it has
 * published, committed in the same Kafka transaction as the messages themselves. It is stored as the
 * metadata of a consumer-group offset (Kafka's own compacted `__consumer_offsets` topic, group
 * `binlog-sync.NAME.publisher`): a transactional producer can write it atomically with its messages
 * (`sendOffsets`), and an admin client can read it back without joining a group. So a killed
 * publisher resumes exactly after the last committed Kafka transaction: no gap and no duplicate.
 */
import type { Admin, Producer, Transaction } from 'kafkajs';
import { BinlogSyncError, parseSourceKey, sourceKey, type BinlogPosition, type Checkpoint, type CheckpointStore } from '../../src/index.js';

export function publisherGroup(pipeline: string): string {
  return `binlog-sync.${pipeline}.publisher`;
}

/** The transactional.id of the pipeline's publisher: a second publisher with it fences the first. */
export function publisherTransactionalId(pipeline: string): string {
  return `binlog-sync.${pipeline}.publisher`;
}

export interface PublishedPosition {
  readonly checkpoint: Checkpoint;
  /** Kafka transactions committed so far (the offset the metadata is stored under). */
  readonly commits: bigint;
}

interface Metadata {
  readonly file: string;
  readonly pos: number;
  readonly ts: number;
  /** The checkpoint's resolvedXa as [xid, file, pos] (kept short: Kafka caps offset metadata at 4 KiB by default). */
  readonly x?: readonly (readonly [string, string, number])[];
  /** The server the position is in, as `sourceKey` writes it (`mariadb:11:0`); absent in positions published before it was recorded. */
  readonly s?: string;
  /** The MariaDB GTID position at file:pos (BinlogPosition.gtidPos). */
  readonly g?: string;
}

export function positionMetadata(checkpoint: Checkpoint): string {
  const { position, resolvedXa, source } = checkpoint;
  const m: Metadata = {
    file: position.file,
    pos: position.pos,
    ts: checkpoint.sourceTimestampMs,
    ...(resolvedXa && resolvedXa.length > 0 ? { x: resolvedXa.map((r) => [r.xid, r.at.file, r.at.pos] as const) } : {}),
    ...(source ? { s: sourceKey(source) } : {}),
    ...(position.gtidPos !== undefined ? { g: position.gtidPos } : {}),
  };
  return JSON.stringify(m);
}

/** The checkpoint that positionMetadata wrote (throws when it is not one). */
export function checkpointOfMetadata(text: string): Checkpoint {
  const m = JSON.parse(text) as Metadata;
  if (typeof m.file !== 'string' || !Number.isInteger(m.pos)) throw new Error('no file/pos');
  if (m.g !== undefined && typeof m.g !== 'string') throw new Error('g is not a GTID position');
  const position: BinlogPosition = m.g !== undefined ? { file: m.file, pos: m.pos, gtidPos: m.g } : { file: m.file, pos: m.pos };
  return {
    position,
    sourceTimestampMs: m.ts,
    ...(m.x ? { resolvedXa: m.x.map(([xid, file, pos]) => ({ xid, at: { file, pos } })) } : {}),
    ...(m.s !== undefined ? { source: parseSourceKey(m.s) } : {}),
  };
}

/** Writes the position into the open Kafka transaction `tx` (visible when, and only if, it commits). */
export async function sendPosition(tx: Transaction, pipeline: string, topic: string, commits: bigint, checkpoint: Checkpoint): Promise<void> {
  await tx.sendOffsets({
    consumerGroupId: publisherGroup(pipeline),
    // kafkajs passes `metadata` through to TxnOffsetCommit; its types leave it out.
    topics: [{ topic, partitions: [{ partition: 0, offset: commits.toString(), metadata: positionMetadata(checkpoint) } as { partition: number; offset: string }] }],
  });
}

export async function readPublishedPosition(admin: Admin, pipeline: string, topic: string): Promise<PublishedPosition | null> {
  const groupId = publisherGroup(pipeline);
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p = offsets.find((t) => t.topic === topic)?.partitions.find((x) => x.partition === 0);
  if (!p || p.offset === '-1' || !p.metadata) return null;
  try {
    return { checkpoint: checkpointOfMetadata(p.metadata), commits: BigInt(p.offset) };
  } catch (err) {
    throw new BinlogSyncError('KAFKA', `the publisher position stored in Kafka (group ${groupId}, topic ${topic}) is unreadable: ${JSON.stringify(p.metadata)} (${(err as Error).message}). Was the group written by something else?`, {
      cause: err,
    });
  }
}

/**
 * The publisher position as a CheckpointStore, for resolving the start: `earliest`/`latest` are pinned
 * with a Kafka transaction that holds only the position, before the first event is read.
 */
export class KafkaPositionStore implements CheckpointStore {
  private commits: bigint = 0n;

  constructor(
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  /** Kafka transactions committed so far (the publisher continues the count). */
  get committed(): bigint {
    return this.commits;
  }

  async load(pipeline: string): Promise<Checkpoint | null> {
    const p = await readPublishedPosition(this.admin, pipeline, this.topic);
    if (p) this.commits = p.commits;
    return p?.checkpoint ?? null;
  }

  async save(pipeline: string, checkpoint: Checkpoint): Promise<void> {
    const tx = await this.producer.transaction();
    try {
      this.commits++;
      await sendPosition(tx, pipeline, this.topic, this.commits, checkpoint);
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
  }

  reset(pipeline: string, checkpoint: Checkpoint): Promise<void> {
    return this.save(pipeline, checkpoint);
  }

  async clear(): Promise<void> {
    throw new BinlogSyncError('USAGE', 'the publisher position in Kafka cannot be cleared by binlog-sync; use a new topic, or `run --reset-to FILE:POS --yes`');
  }
}
