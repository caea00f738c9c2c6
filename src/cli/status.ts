/**
 * `binlog-sync status --config FILE [--json]`: the stored checkpoint, the source's binlog head, the lag
 * between them (bytes across binlog files, and seconds), and whether a daemon holds the pipeline lock.
 */
import mysql from 'mysql2/promise';
import { loadPipelineConfig, type PipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import { configPath, parseCommandArgs } from './args.js';
import { openConnectors, openKafkaConnectors, readPublishedPosition, sinkGroup } from '../assembly/index.js';
import type { Checkpoint, SourceServer } from '../core/ports.js';
import { askContinuity } from '../core/start-position.js';
import { describeSource, type SourceIdentity } from '../core/source-identity.js';
import type { Continuity } from '../core/source-continuity.js';
import { judgeRetention, type RetentionRisk } from '../observability/retention-guard.js';

export interface KafkaPartitionStatus {
  readonly partition: number;
  /** The topic's end offset (high watermark; counts transaction markers). */
  readonly endOffset: string;
  /** First offset not yet applied, as the target records it (the truth), or null. */
  readonly appliedOffset: string | null;
  /** The consumer group's committed offset in Kafka (a hint the workers write after the target), or null. */
  readonly committedOffset: string | null;
  /** endOffset − appliedOffset (messages not yet applied, plus markers), or null. */
  readonly lag: string | null;
  readonly owner: string | null;
}

export interface KafkaStatus {
  readonly topic: string;
  readonly group: string;
  /** The position just after the last source transaction the publisher committed to Kafka. */
  readonly published: { position: string; gtidPos: string | null; sourceTime: string; server: string | null } | null;
  /** Whether the source can continue the published position (as for the checkpoint). */
  readonly continuity: SourceContinuity | null;
  readonly publishedLagBytes: number | null;
  readonly partitions: readonly KafkaPartitionStatus[];
  readonly members: readonly { memberId: string; clientId: string; host: string }[];
  readonly groupState: string;
}

export interface PipelineStatus {
  readonly pipeline: string;
  readonly running: boolean;
  readonly lockHolder: number | null;
  /** `server`: the server the position is in, null when the checkpoint does not say (stored by an older version). */
  readonly checkpoint: { position: string; gtid: string | null; gtidPos: string | null; sourceTime: string; server: string | null } | null;
  /** The server at source.host:port now. */
  readonly source: string;
  /** Whether a start continues the checkpoint on that server (null: no checkpoint). */
  readonly continuity: SourceContinuity | null;
  readonly sourceHead: string;
  readonly lagBytes: number | null;
  readonly lagSeconds: number | null;
  /** When the checkpoint row was last written (a quiet pipeline does not rewrite an unchanged one). */
  readonly checkpointStoredAt: string | null;
  readonly checkpointAgeSeconds: number | null;
  /** Whether the source may purge the checkpoint's binlog file before the pipeline reads past it (see retention-guard.ts). */
  readonly retention: { readonly risk: RetentionRisk; readonly headroomSeconds: number | null; readonly expireSeconds: number | null; readonly message: string } | null;
  /** A snapshot in progress, as far as the stored checkpoint covers it. */
  readonly snapshot: { readonly reason: string; readonly tables: readonly { table: string; rows: number; estimatedRows: number; done: boolean }[] } | null;
  /** Requests to the daemon not finished yet (snapshot --tables, verify --repair). */
  readonly requests: readonly { id: number; kind: string; tables: readonly string[]; state: string }[];
  /** Tables parked by sink.onApplyError: quarantine (`binlog-sync quarantine list` tells more). */
  readonly quarantined: readonly { table: string; events: number; since: string; parkedAt: string; error: string }[];
  /** transport.kind: kafka only. */
  readonly kafka?: KafkaStatus;
}

/**
 * What a start would do with the stored position on the current source: `same` server, `unrecorded`
 * (an older checkpoint: continues as before), `another-server` (continues there by its GTID position,
 * once that server shows where that is), `discontinuous` (refused; `reason` says why).
 */
export interface SourceContinuity {
  readonly kind: Continuity['kind'];
  readonly reason?: string;
}

async function continuityOf(checkpoint: Checkpoint, source: SourceServer, current: SourceIdentity): Promise<SourceContinuity> {
  const c = await askContinuity(checkpoint, source, current);
  return c.kind === 'discontinuous' ? { kind: c.kind, reason: c.reason } : { kind: c.kind };
}

/** Whether the position is a place of the current source's binlog (then distances to its head mean something). */
function onThisServer(c: SourceContinuity | null): boolean {
  return c?.kind === 'same' || c?.kind === 'unrecorded';
}

/** Bytes of binlog between two positions, from SHOW BINARY LOGS (null when `from`'s file is gone). */
export async function binlogDistance(config: PipelineConfig['source'], from: BinlogPosition, to: BinlogPosition): Promise<number | null> {
  if (comparePositions(from, to) >= 0) return 0;
  if (from.file === to.file) return to.pos - from.pos;
  const conn = await mysql.createConnection({ host: config.host, port: config.port, user: config.user, password: config.password });
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
    const files = rows.map((r) => ({ file: String(r.Log_name), size: Number(r.File_size) }));
    const i = files.findIndex((f) => f.file === from.file);
    if (i < 0) return null;
    let total = 0;
    for (let k = i; k < files.length; k++) {
      const f = files[k]!;
      if (f.file === to.file) return total + to.pos - (k === i ? from.pos : 0);
      total += f.size - (k === i ? from.pos : 0);
    }
    return total;
  } finally {
    await conn.end();
  }
}

export async function readStatus(config: PipelineConfig): Promise<PipelineStatus> {
  const c = await openConnectors(config, createLogger({ level: 'silent' }), { sink: false, oneShot: true });
  try {
    const [checkpoint, head, holder, current, requests, stored, inventory, parked] = await Promise.all([
      c.checkpoints.load(config.name),
      c.source.head(),
      c.lock.holder(),
      c.source.identity(),
      c.requests.unfinished(config.name),
      c.checkpoints.list().then((all) => all.find((r) => r.pipeline === config.name) ?? null),
      c.source.binlogInventory(),
      config.transport.kind === 'kafka' ? [] : c.quarantine.parked(config.name),
    ]);
    const continuity = checkpoint ? await continuityOf(checkpoint, c.source, current) : null;
    const lagBytes = checkpoint && onThisServer(continuity) ? await binlogDistance(config.source, checkpoint.position, head) : null;
    const lagSeconds = checkpoint && lagBytes !== null ? (lagBytes === 0 ? 0 : Math.max(0, (Date.now() - checkpoint.sourceTimestampMs) / 1000)) : null;
    // status sees one moment, so it cannot tell the pipeline's pace: the retention margin alone decides.
    const verdict = checkpoint && onThisServer(continuity) ? judgeRetention({ nowMs: Date.now(), expireSeconds: inventory.expireSeconds, files: inventory.files, head, checkpoint, bytesPerSecond: null }) : null;
    return {
      pipeline: config.name,
      running: holder !== null,
      lockHolder: holder,
      checkpoint: checkpoint
        ? {
            position: formatPosition(checkpoint.position),
            gtid: checkpoint.position.gtid ?? null,
            gtidPos: checkpoint.position.gtidPos ?? null,
            sourceTime: new Date(checkpoint.sourceTimestampMs).toISOString(),
            server: checkpoint.source ? describeSource(checkpoint.source) : null,
          }
        : null,
      source: describeSource(current),
      continuity,
      sourceHead: formatPosition(head),
      snapshot: checkpoint?.snapshot
        ? { reason: checkpoint.snapshot.reason, tables: checkpoint.snapshot.tables.map((t) => ({ table: t.table, rows: t.rows, estimatedRows: t.estimatedRows, done: t.done })) }
        : null,
      requests: requests.map((r) => ({ id: r.id, kind: r.kind, tables: r.tables, state: r.state })),
      quarantined: parked.map((p) => ({ table: p.table, events: p.events, since: formatPosition(p.position), parkedAt: p.parkedAt, error: p.error })),
      lagBytes,
      lagSeconds: lagSeconds === null ? null : Math.round(lagSeconds * 10) / 10,
      checkpointStoredAt: stored?.updatedAt ?? null,
      checkpointAgeSeconds: stored ? Math.max(0, Math.round((Date.now() - Date.parse(stored.updatedAt)) / 100) / 10) : null,
      retention: verdict ? { risk: verdict.risk, headroomSeconds: verdict.headroomSeconds, expireSeconds: inventory.expireSeconds, message: verdict.message } : null,
      ...(config.transport.kind === 'kafka' ? { kafka: await readKafkaStatus(config, head, (cp) => continuityOf(cp, c.source, current)) } : {}),
    };
  } finally {
    await c.close();
  }
}

/** Kafka mode: the publisher's committed position, each partition's end / applied / committed offsets, the group. */
async function readKafkaStatus(config: PipelineConfig, head: BinlogPosition, continuityOfPosition: (cp: Checkpoint) => Promise<SourceContinuity>): Promise<KafkaStatus> {
  const topic = config.transport.topic!;
  const group = sinkGroup(config);
  const k = openKafkaConnectors(config, createLogger({ level: 'silent' }));
  const admin = k.kafka.admin();
  try {
    await admin.connect();
    const [published, ends, committed, applied, described] = await Promise.all([
      readPublishedPosition(admin, config.name, topic),
      admin.fetchTopicOffsets(topic).catch(() => []),
      admin.fetchOffsets({ groupId: group, topics: [topic] }).catch(() => []),
      k.offsets.list(config.name, topic),
      admin.describeGroups([group]).catch(() => ({ groups: [] })),
    ]);
    const committedOf = new Map((committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]));
    const appliedOf = new Map(applied.map((a) => [a.partition, a]));
    const g = described.groups[0];
    const cp = published?.checkpoint;
    const continuity = cp ? await continuityOfPosition(cp) : null;
    return {
      topic,
      group,
      published: cp
        ? {
            position: formatPosition(cp.position),
            gtidPos: cp.position.gtidPos ?? null,
            sourceTime: new Date(cp.sourceTimestampMs).toISOString(),
            server: cp.source ? describeSource(cp.source) : null,
          }
        : null,
      continuity,
      publishedLagBytes: cp && onThisServer(continuity) ? await binlogDistance(config.source, cp.position, head) : null,
      partitions: ends
        .map((e) => {
          const a = appliedOf.get(e.partition);
          const c = committedOf.get(e.partition);
          return {
            partition: e.partition,
            endOffset: e.high,
            appliedOffset: a ? a.nextOffset.toString() : null,
            committedOffset: c !== undefined && c !== '-1' ? c : null,
            lag: a ? (BigInt(e.high) - a.nextOffset > 0n ? BigInt(e.high) - a.nextOffset : 0n).toString() : null,
            owner: a?.owner ?? null,
          };
        })
        .sort((x, y) => x.partition - y.partition),
      members: (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost })),
      groupState: g?.state ?? 'Unknown',
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await k.close();
  }
}

function describeStoredPosition(p: { position: string; gtid?: string | null; gtidPos: string | null; server: string | null }): string {
  const gtid = p.gtid ? ` (gtid ${p.gtid})` : '';
  const gtidPos = p.gtidPos !== null ? `, GTID position "${p.gtidPos}"` : '';
  return `${p.position}${gtid}${gtidPos} on ${p.server ?? 'an unrecorded server (stored by an older binlog-sync)'}`;
}

function describeContinuity(c: SourceContinuity): string {
  switch (c.kind) {
    case 'same':
      return 'the checkpoint\'s server';
    case 'unrecorded':
      return 'a start continues at the checkpoint\'s position, as before, and records this server';
    case 'another-server':
      return 'another server, which holds the checkpoint\'s GTID position: a start continues there by it';
    case 'discontinuous':
      return `a start is refused: ${c.reason}`;
  }
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', argv, {
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean', default: false },
  });
  const config = await loadPipelineConfig(configPath('status', values, positionals));
  const s = await readStatus(config);
  if (values.json) {
    console.log(JSON.stringify(s));
    return 0;
  }
  const lines: [string, string][] = [
    ['pipeline', s.pipeline],
    ['daemon', s.running ? `running (target connection ${s.lockHolder})` : 'not running'],
    ['checkpoint', s.checkpoint ? describeStoredPosition(s.checkpoint) : 'none yet (the first run starts from source.start)'],
    ['source', `${s.source}${s.continuity ? `: ${describeContinuity(s.continuity)}` : ''}`],
    ['source head', s.sourceHead],
    [
      'lag',
      s.lagBytes === null
        ? !s.checkpoint
          ? '-'
          : onThisServer(s.continuity)
            ? 'unknown: the checkpoint binlog file is no longer on the source'
            : 'unknown: the checkpoint is a place in another server\'s binlog'
        : `${s.lagBytes} bytes, ${s.lagSeconds} s${s.lagBytes === 0 ? ' (caught up)' : ''}`,
    ],
    ['stored', s.checkpointStoredAt ? `${s.checkpointAgeSeconds} s ago (${s.checkpointStoredAt}; an unchanged checkpoint is not written again)` : '-'],
    ['retention', s.retention ? `${s.retention.risk === 'at-risk' || s.retention.risk === 'purged' ? `${s.retention.risk.toUpperCase()}: ` : ''}${s.retention.message}` : '-'],
    ...(s.snapshot
      ? ([
          [
            'snapshot',
            `${s.snapshot.reason}: ${s.snapshot.tables.filter((t) => t.done).length} of ${s.snapshot.tables.length} tables copied` +
              s.snapshot.tables
                .filter((t) => !t.done)
                .map((t) => `\n             ${t.table}: ${t.rows} of ~${t.estimatedRows} rows (${t.estimatedRows > 0 ? Math.min(100, Math.round((100 * t.rows) / t.estimatedRows)) : 0}%)`)
                .join(''),
          ],
        ] as [string, string][])
      : []),
    ...s.requests.map((r): [string, string] => [`request ${r.id}`, `${r.kind} of ${r.tables.join(', ')}: ${r.state}`]),
    ...s.quarantined.map((q): [string, string] => [
      'QUARANTINED',
      `${q.table}: NOT SYNCED since ${q.since}, ${q.events} change(s) parked; ${q.error.split('\n')[0]} (binlog-sync quarantine list / retry)`,
    ]),
  ];
  const kf = s.kafka;
  // Kafka mode keeps no checkpoint row and no lock: its position is the publisher's, its workers are the group.
  for (const [k, v] of kf ? lines.filter(([k]) => k === 'pipeline' || k === 'source head') : lines) console.log(`${k.padEnd(12)} ${v}`);
  if (kf) {
    console.log(`${'published'.padEnd(12)} ${kf.published ? `${describeStoredPosition(kf.published)}, ${kf.publishedLagBytes ?? '?'} bytes behind the head` : 'nothing yet'} to ${kf.topic}`);
    if (kf.continuity) console.log(`${'source'.padEnd(12)} ${s.source}: ${describeContinuity(kf.continuity)}`);
    console.log(`${'group'.padEnd(12)} ${kf.group}: ${kf.groupState}, ${kf.members.length} worker(s)${kf.members.map((m) => `\n             ${m.memberId} on ${m.host}`).join('')}`);
    console.log('partition   end offset   applied (target)   committed (kafka)   lag   owner');
    for (const p of kf.partitions) {
      console.log(`${String(p.partition).padEnd(11)} ${p.endOffset.padEnd(12)} ${(p.appliedOffset ?? '-').padEnd(18)} ${(p.committedOffset ?? '-').padEnd(19)} ${(p.lag ?? '-').padEnd(5)} ${p.owner ?? '-'}`);
    }
  }
  return 0;
}
