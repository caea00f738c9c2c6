/**
 * The reading loop: binlog sessions → decoded, transaction-tagged `SourceStreamEvent`s, pulled by the
 * consumer. `read` owns reconnecting (backoff, resuming just after the last commit it handed on; an
 * open transaction is abandoned and read again under a new txSeq) and error classification (error
 * 1236, position purged, is final); `sessionBatches` owns batching one session's events; `convert`
 * turns one binlog event into stream events. A watchdog notices a connection that went silent while
 * the server moved on.
 */
import type { Logger } from 'pino';
import type { AnyBinlogEvent, TableMapEntry } from '@vlasky/zongji';
import { DEFAULT_BACKOFF, backoffDelay, sleep, type BackoffPolicy } from '../../src/index.js';
import { SourceError, describeError } from '../../src/index.js';
import type { Row, SourceEvent, StatementEvent, TableKeys, TableRef } from '../../src/index.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../../src/index.js';
import type { PositionEvent, SourceReadOptions, SourceStreamEvent, StartFrom } from '../../src/index.js';
import { BinlogSession, type RawItem, type SessionConnection } from './binlog-session.js';
import type { CollationFolder } from './collation-folder.js';
import { classifyBinlogError } from './error-classes.js';
import { compileRowDecoder, fspOf, type ColumnSpec, type RowDecoder } from './row-decoder.js';
import { TableIdentity } from './row-identity.js';
import { UnknownTableError, type SchemaCache, type TableInfo } from './schema-cache.js';
import { keysAsWritten } from './keys-as-written.js';
import type { TableFilter } from '../../src/index.js';
import { TxAssembler, type DecodedChange } from './tx-assembler.js';
import { XaTracker } from './xa-tracker.js';
import { describeXid, xidOfEvent, type XidFields } from './xa-ids.js';
import { classifyStatement, ddlScope, describeDdlScope, dmlWriteTargets, parseXid } from '../../src/index.js';
import { describeSource, isMariaDbGtidList, sameSource, type Gtid, type SourceIdentity } from '../../src/index.js';

/** What to do with a statement-format data change on a synced table (`source.statementEvents`). */
export type StatementPolicy = 'stop' | 'apply';

export interface BinlogReaderConfig {
  readonly connection: SessionConnection;
  readonly serverId: number;
  readonly filter: TableFilter;
  readonly schema: SchemaCache;
  readonly folder: CollationFolder;
  readonly logger: Logger;
  readonly silentAfterMs: number;
  readonly reconnect: BackoffPolicy;
  readonly highWaterBytes: number;
  readonly lowWaterBytes: number;
  readonly statementEvents: StatementPolicy;
  /** DDL on synced tables: `stop` halts before it; otherwise (default) it is handed on (`schemaChanges`). */
  readonly schemaChanges?: 'apply' | 'stop' | 'ignore';
  /** The server's binlog head; rejects or hangs when the server does not answer. */
  readonly head: () => Promise<BinlogPosition>;
  /** The oldest binlog position still on the server (for the purged-position message). */
  readonly earliest: () => Promise<BinlogPosition>;
  /**
   * Asked before each binlog session: who the server is, and its GTID position at `at` (null when
   * starting from a GTID position, on MySQL, or when the server does not know the place).
   */
  readonly sessionStart: (at: BinlogPosition | null) => Promise<{ readonly identity: SourceIdentity; readonly gtidPos: string | null }>;
}

/** Numbers a test or a metrics endpoint can read while the reader runs. */
export interface ReaderStats {
  reconnects: number;
  silentReconnects: number;
  /** Highest number of bytes the session buffers ever held. */
  maxBufferedBytes: number;
  bufferedBytes: number;
  bufferedEvents: number;
  /** Row events (not rows) zongji handed us that we then dropped by the filter (should stay 0). */
  lateFiltered: number;
  /** Bytes of rows held for prepared XA transactions. */
  xaHeldBytes: number;
  /** A binlog dump is open (the server accepted it); false while connecting or reconnecting. */
  connected: boolean;
  /** When binlog data (an event or a heartbeat) last arrived, ms since the epoch; null before a session. */
  lastDataAt: number | null;
  /** We paused the socket (the pipeline is full): silence is then ours, not the server's. */
  paused: boolean;
}

/**
 * The binlog heartbeat period asked of the server: several heartbeats fit in the silence after which
 * the connection counts as dead (`silentAfterMs`), so a quiet source is never taken for a stalled one,
 * and the position moves on a quiet source within seconds.
 */
export function heartbeatPeriodMs(silentAfterMs: number): number {
  return Math.max(100, Math.min(5_000, Math.floor(silentAfterMs / 4)));
}

interface TableDecoder {
  readonly table: TableRef;
  readonly keys: TableKeys;
  readonly decode: RowDecoder;
  readonly types: readonly number[];
  readonly identity: TableIdentity;
  /** Column positions the row images may lack with a FULL image (generated columns). */
  readonly optional: ReadonlySet<number>;
  readonly names: readonly string[];
}

type RowsEvent = AnyBinlogEvent & {
  readonly tableId: number;
  readonly numberOfColumns?: number;
  readonly columns_present_bitmap?: Buffer;
  readonly columns_present_bitmap2?: Buffer;
  readonly rows: readonly Record<string, unknown>[] | readonly { before: Record<string, unknown>; after: Record<string, unknown> }[];
};

type Converted = readonly SourceStreamEvent[] | null;

/** State of one `read` that outlives its sessions. */
interface ReadState {
  readonly asm: TxAssembler;
  readonly xa: XaTracker;
  /** The XA group whose rows are being read (held, not emitted), or null. */
  xaGroup: string | null;
  /** XA transactions whose ending is applied already, their PREPARE before the start (the checkpoint's `resolvedXa`). */
  readonly resolvedXa: Set<string>;
  /** INTVAR values for the next statement-format query. */
  insertId: string | undefined;
  lastInsertId: string | undefined;
}

function sameColumns(types: readonly number[], entry: TableMapEntry): boolean {
  const cols = entry.columns;
  if (!cols || cols.length !== types.length) return false;
  for (let i = 0; i < types.length; i++) if (cols[i]!.type !== types[i]) return false;
  return true;
}

function startOf(from: StartFrom): { file: string; pos: number } {
  return from.kind === 'position' ? { file: from.position.file, pos: from.position.pos } : { file: '', pos: 4 };
}

/** Columns (by position) a rows event's bitmap leaves out, ignoring `optional` ones. */
function absentColumns(bitmap: Buffer | undefined, count: number, optional: ReadonlySet<number>): number[] {
  if (!bitmap) return [];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) === 0 && !optional.has(i)) out.push(i);
  }
  return out;
}

/** Most events handed on in one batch (bounds a batch's memory; a batch is typically far smaller). */
const MAX_BATCH = 1024;

interface SessionBatch {
  readonly events: SourceStreamEvent[];
  /** The resume point after this batch (its last transaction end), if it has one. */
  readonly boundary: StartFrom | null;
}

/** The session's next raw event, or undefined once it ended (its frame, holding the event, ends here). */
async function nextRawItem(buffer: BinlogSession['buffer']): Promise<RawItem | undefined> {
  const pulled = await buffer.next();
  return pulled.done ? undefined : pulled.value;
}

/**
 * Appends one binlog event's converted events to the batch; true when the batch must end here (a halt,
 * or `until` reached at a transaction end). Transaction ends set the batch's resume point.
 */
function appendConverted(converted: readonly SourceStreamEvent[], events: SourceStreamEvent[], until: BinlogPosition | undefined, setBoundary: (b: StartFrom) => void): boolean {
  for (const event of converted) {
    events.push(event);
    if (event.kind === 'halt') return true;
    if (event.kind === 'commit' || event.kind === 'schema-change') {
      setBoundary({ kind: 'position', position: event.position });
      if (until && comparePositions(event.position, until) >= 0) return true;
    }
  }
  return false;
}

export class BinlogReader {
  readonly stats: ReaderStats = {
    reconnects: 0,
    silentReconnects: 0,
    maxBufferedBytes: 0,
    bufferedBytes: 0,
    bufferedEvents: 0,
    lateFiltered: 0,
    xaHeldBytes: 0,
    connected: false,
    lastDataAt: null,
    paused: false,
  };
  private readonly decoders = new Map<number, TableDecoder>();
  /**
   * The last definition INFORMATION_SCHEMA gave of each table: a reader behind a RENAME or DROP of a
   * table still knows its key's collations for the rows before it.
   */
  private readonly lastKnown = new Map<string, TableInfo>();
  private session: BinlogSession | null = null;
  private state: ReadState | null = null;

  constructor(private readonly config: BinlogReaderConfig) {}

  /** Buffer state of the live session (for backpressure tests and metrics). */
  refreshStats(): ReaderStats {
    const b = this.session?.buffer;
    this.stats.bufferedBytes = b?.weight ?? 0;
    this.stats.bufferedEvents = b?.length ?? 0;
    if (b && b.maxWeight > this.stats.maxBufferedBytes) this.stats.maxBufferedBytes = b.maxWeight;
    this.stats.xaHeldBytes = this.state?.xa.heldBytes ?? 0;
    const s = this.session;
    this.stats.connected = s?.connected ?? false;
    this.stats.lastDataAt = s ? s.lastDataAt : this.stats.lastDataAt;
    this.stats.paused = b?.isPaused ?? false;
    return this.stats;
  }

  /**
   * Yields events in batches (see `sessionBatches`); the resume point (`from`) only moves once a
   * batch has been handed on. Ends when `until` is reached, on abort, or after a halt event.
   */
  async *read(options: SourceReadOptions): AsyncGenerator<readonly SourceStreamEvent[], void, undefined> {
    const { signal } = options;
    const log = this.config.logger;
    let from: StartFrom = options.from;
    const resolvedXa = new Set((options.resolvedXa ?? []).map((r) => r.xid));
    const state: ReadState = { asm: new TxAssembler(startOf(from)), xa: new XaTracker(), xaGroup: null, resolvedXa, insertId: undefined, lastInsertId: undefined };
    this.state = state;
    let attempt = 0;
    while (!signal.aborted) {
      const session = new BinlogSession(this.config.connection, this.config.serverId, from, this.config.filter, {
        high: this.config.highWaterBytes,
        low: this.config.lowWaterBytes,
      });
      this.session = session;
      const onAbort = (): void => {
        session.buffer.clear();
        session.stop();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const watchdog = this.startWatchdog(session);
      let failure: unknown = null;
      try {
        await this.prepareSession(from, options.source, state);
        session.start(heartbeatPeriodMs(this.config.silentAfterMs));
        log.debug({ from: from.kind === 'gtid' ? from.gtid : formatPosition(from.position) }, 'binlog session started');
        const batches = this.sessionBatches(session, state, options);
        try {
          // Not `for await`: its loop variable would keep the last batch (maybe a 64 MB row) alive while
          // the next one is awaited. Each reference is dropped once the batch is handed on.
          for (;;) {
            let next: IteratorResult<SessionBatch, void> | null = await batches.next();
            if (next.done) return;
            let events: SourceStreamEvent[] | null = next.value.events;
            const boundary = next.value.boundary;
            next = null;
            yield events;
            events = null;
            if (boundary) {
              from = boundary;
              attempt = 0;
            }
            if (signal.aborted) return;
          }
        } finally {
          await batches.return(undefined);
        }
      } catch (err) {
        if (signal.aborted) return;
        failure = err;
      } finally {
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        this.refreshStats();
        session.stop();
        this.session = null;
      }

      // MySQL says it with error 1236, the purged-position error: look at it first.
      if (sameServerId(failure)) {
        throw new SourceError(
          'SOURCE_CONNECTION',
          `binlog reading failed: another replica connected to the source with our server id ${this.config.serverId} (source.serverId), and the source dropped this connection for it: ${describeError(failure)}. ` +
            'Every reader of the source needs its own id: another binlog-sync with the same pipeline file, or a native replica with that server_id. Give each its own source.serverId.',
          { cause: failure, details: { serverId: this.config.serverId } },
        );
      }
      const kind = classifyBinlogError(failure);
      if (kind === 'purged') throw await this.purgedError(from, failure);
      if (kind === 'fatal') {
        if (failure instanceof SourceError) throw failure;
        throw new SourceError('SOURCE_CONNECTION', `binlog reading failed: ${describeError(failure)}`, { cause: failure });
      }
      const abandoned = state.asm.abandon();
      state.xaGroup = null;
      if (abandoned) yield [abandoned];
      const delay = backoffDelay(this.config.reconnect ?? DEFAULT_BACKOFF, attempt++);
      this.stats.reconnects++;
      log.warn(
        { code: 'SOURCE_CONNECTION', err: describeError(failure), retryInMs: delay, resumeAt: from.kind === 'gtid' ? from.gtid : formatPosition(from.position), abandonedTxSeq: abandoned?.txSeq },
        'binlog connection lost; reconnecting',
      );
      await sleep(delay, signal);
    }
  }

  /**
   * Before a session reads: the server must be the one `from` is a place of (a failover behind the
   * same address would otherwise be read at a file:pos that names other events there), and the GTID
   * position tracking starts over where the session starts.
   */
  private async prepareSession(from: StartFrom, expected: SourceIdentity | undefined, state: ReadState): Promise<void> {
    const { identity, gtidPos } = await this.config.sessionStart(from.kind === 'position' ? from.position : null);
    if (expected && !sameSource(expected, identity)) {
      const c = this.config.connection;
      throw new SourceError(
        'SOURCE_CHANGED',
        `the source at ${c.host}:${c.port} is now ${describeSource(identity)}, but this run reads the binlog of ${describeSource(expected)} (a failover or a restore behind the same address?): ` +
          `stopped without reading, as ${from.kind === 'position' ? formatPosition(from.position) : 'its position'} would name other events there. The checkpoint stays at what was applied. ` +
          'Start binlog-sync again: it continues on the new server by the checkpoint\'s GTID position when that server holds its transactions, and refuses (naming both servers) otherwise.',
        { details: { expected, found: identity } },
      );
    }
    state.asm.seedGtidPosition(from.kind === 'gtid' ? (isMariaDbGtidList(from.gtid) ? from.gtid : null) : gtidPos);
  }

  /**
   * One session's events in batches: everything already buffered is converted (synchronously where
   * possible) and handed on in one array (up to MAX_BATCH), so the per-event cost is a function call,
   * not a promise. When the session fails, what was converted before the failure is handed on first
   * (it may end a transaction whose changes went out in an earlier batch), then the error is thrown.
   */
  private async *sessionBatches(session: BinlogSession, state: ReadState, options: SourceReadOptions): AsyncGenerator<SessionBatch, void, undefined> {
    const { until } = options;
    const asm = state.asm;
    let events: SourceStreamEvent[] = [];
    let boundary: StartFrom | null = null;
    const take = (): SessionBatch => {
      const b = { events, boundary };
      events = [];
      boundary = null;
      return b;
    };
    try {
      for (;;) {
        let item = session.buffer.shift();
        if (item === undefined || events.length >= MAX_BATCH) {
          if (events.length > 0) yield take();
          if (options.signal.aborted) return;
          if (item === undefined) {
            item = await nextRawItem(session.buffer);
            if (item === undefined) return; // only an abort ends a session without an error
          }
        }
        let converted = this.convert(item, state);
        if (converted instanceof Promise) converted = await converted;
        // Non-transaction events between groups (format, GTID list, checkpoint) are positions too:
        // they reach `until`, and the head may sit after them. (Not rotate: its header position
        // belongs to the file it ends.)
        const between = converted === null && asm.idle && item.name !== 'rotate' && item.event.nextPosition > 0 ? this.betweenGroups(item, asm) : null;
        // Nothing of this event stays referenced from here while the generator is suspended: a suspended
        // generator keeps its registers, and one holding a 64 MB rows event would keep it alive (the
        // bounded-memory test for big BLOBs).
        item = undefined;
        if (converted === null) {
          if (between === null) continue;
          events.push(between);
          if (until && comparePositions(between.position, until) >= 0) {
            yield take();
            return;
          }
          continue;
        }
        const end = appendConverted(converted, events, until, (b) => (boundary = b));
        converted = null;
        if (end) {
          yield take();
          return;
        }
      }
    } catch (err) {
      if (events.length > 0) yield take();
      throw err;
    }
  }

  /** The position after a non-transaction event between groups; null for a heartbeat naming another file than the one we follow. */
  private betweenGroups(item: RawItem, asm: TxAssembler): PositionEvent | null {
    const position = asm.between(item.event.nextPosition);
    // A heartbeat names the file it is in; one that disagrees with the rotations we followed says nothing here.
    if (item.name === 'heartbeat' && (item.event as AnyBinlogEvent & { binlogName?: string }).binlogName !== position.file) return null;
    return { kind: 'position', position };
  }

  /** Converts one binlog event; null when it yields nothing (most non-row events). */
  private convert(item: RawItem, state: ReadState): Converted | Promise<Converted> {
    const ev = item.event;
    const asm = state.asm;
    switch (item.name) {
      case 'tablemap': {
        const preparing = this.prepareTable(ev as AnyBinlogEvent & { tableId: number; schemaName: string; tableName: string }, item.entry);
        return preparing ? preparing.then(() => null) : null;
      }
      case 'rotate': {
        const r = ev as AnyBinlogEvent & { binlogName: string; position: number };
        asm.rotate(r.binlogName, r.position);
        return null;
      }
      case 'mariadbgtid': {
        const g = ev as AnyBinlogEvent & XidFields & { gtid: string; preparedXa?: boolean };
        asm.gtid(g.gtid, true);
        state.xaGroup = null;
        // MariaDB marks the XA PREPARE group in its GTID event (there is no XA START query).
        if (g.preparedXa) this.startXa(state, xidOfEvent(g));
        return null;
      }
      case 'mariadbgtidlist': {
        const list = (ev as AnyBinlogEvent & { gtids: readonly { domainId: number; serverId: number; seqNo: number | string }[] }).gtids;
        asm.gtidList(list.map((g): Gtid => ({ domain: g.domainId, server: g.serverId, seq: BigInt(g.seqNo) })), ev.nextPosition);
        return null;
      }
      case 'gtid':
        asm.gtid((ev as AnyBinlogEvent & { gtid: string }).gtid);
        state.xaGroup = null;
        return null;
      case 'anonymousgtid':
        asm.gtid(undefined);
        state.xaGroup = null;
        return null;
      case 'intvar': {
        const iv = ev as AnyBinlogEvent & { type: number; value: number | string | bigint };
        if (iv.type === 2) state.insertId = String(iv.value);
        else if (iv.type === 1) state.lastInsertId = String(iv.value);
        return null;
      }
      case 'xid':
        return this.endGroup(state, ev);
      case 'xaprepare': {
        const p = ev as AnyBinlogEvent & XidFields & { onePhase: boolean };
        const xid = state.xaGroup ?? xidOfEvent(p);
        if (p.onePhase) return this.endGroup(state, ev);
        state.xa.prepared(xid);
        state.xaGroup = null;
        return [asm.commit(ev.nextPosition, ev.timestamp, { hold: xid })];
      }
      case 'query':
        return this.query(item, state);
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        return this.rowChanges(item, state);
      case 'unknown':
        return asm.idle ? null : [this.unreadable(item.event, state)];
      default:
        return null;
    }
  }

  private startXa(state: ReadState, xid: string): void {
    state.xaGroup = xid;
    state.xa.start(xid);
  }

  /** An Xid event (or a one-phase XA end): commits the group, with the rows an XA group held. */
  private endGroup(state: ReadState, ev: AnyBinlogEvent): Converted {
    const { asm } = state;
    if (state.xaGroup === null) return [asm.commit(ev.nextPosition, ev.timestamp)];
    const held = state.xa.take(state.xaGroup) ?? [];
    state.xaGroup = null;
    const out: SourceStreamEvent[] = held.map((c) => asm.change(c, ev.nextPosition, ev.timestamp));
    out.push(asm.commit(ev.nextPosition, ev.timestamp));
    return out;
  }

  private query(item: RawItem, state: ReadState): Converted {
    const q = item.event as AnyBinlogEvent & { query: string; schema: string } & Partial<XidFields> & { completedXa?: boolean };
    const { asm, xa } = state;
    const kind = classifyStatement(q.query);
    switch (kind) {
      case 'begin':
        asm.begin();
        return null;
      case 'commit':
      case 'rollback': // a logged ROLLBACK: its non-transactional changes stand
      case 'xa-commit-one-phase':
        return this.endGroup(state, q);
      case 'xa-start': {
        // MySQL writes XA START as a query; MariaDB marks the group in its GTID event instead.
        if (asm.idle) asm.begin();
        const xid = parseXid(q.query);
        if (xid !== null) this.startXa(state, xid);
        return null;
      }
      case 'xa-end':
      case 'xa-prepare': // the XA_PREPARE event ends the group
      case 'savepoint':
        return null;
      case 'xa-commit':
      case 'xa-rollback': {
        const xid = parseXid(q.query);
        if (xid === null) return [this.halt(new SourceError('SOURCE_XA', `cannot read the XA transaction id of "${q.query.slice(0, 200)}" at ${formatPosition(asm.position(q.nextPosition, undefined))}`))];
        if (kind === 'xa-rollback') {
          state.resolvedXa.delete(xid);
          xa.forget(xid);
          return [asm.commit(q.nextPosition, q.timestamp, { releases: [xid] })];
        }
        const held = xa.take(xid);
        if (held === undefined && state.resolvedXa.delete(xid)) {
          // Applied before the checkpoint was stored (a later prepared transaction held it back).
          this.config.logger.info({ xid: describeXid(xid), position: formatPosition(asm.position(q.nextPosition, undefined)) }, 'XA COMMIT of a transaction the target has already: skipped');
          return [asm.commit(q.nextPosition, q.timestamp, { releases: [xid] })];
        }
        if (held === undefined) {
          return [
            this.halt(
              new SourceError(
                'SOURCE_XA',
                `XA COMMIT ${describeXid(xid)} at ${formatPosition(asm.position(q.nextPosition, undefined))}, but this pipeline never read its XA PREPARE (it lies before the position the pipeline started from), so its rows are unknown. ` +
                  'Restart from a position before that XA PREPARE (mariadb-binlog / mysqlbinlog shows it) with `binlog-sync run --reset-to FILE:POS --yes`, or re-copy the tables it wrote and reset to a position after this event.',
                { details: { xid: describeXid(xid), position: formatPosition(asm.position(q.nextPosition, undefined)) } },
              ),
            ),
          ];
        }
        const out: SourceStreamEvent[] = held.map((c) => asm.change(c, q.nextPosition, q.timestamp));
        out.push(asm.commit(q.nextPosition, q.timestamp, { releases: [xid] }));
        return out;
      }
      case 'dml':
        return this.statement(q, state);
      case 'ddl':
        return this.ddl(q, state);
      case 'other': // GRANT, CREATE USER, FLUSH …: their own group, a transaction boundary
        this.config.schema.invalidateMentionedIn(q.query);
        return [asm.ddl(q.query, q.schema, q.nextPosition, q.timestamp)];
    }
  }

  /**
   * Table DDL. The schema cache forgets the tables it names here, in stream order, so rows after it
   * are decoded and keyed by the new definition. On synced tables under `schemaChanges: stop` it halts
   * instead; the checkpoint then stays before it.
   */
  private ddl(q: AnyBinlogEvent & { query: string; schema: string }, state: ReadState): Converted {
    const { asm } = state;
    const synced = ddlScope(q.query, q.schema, this.config.filter);
    if (synced !== null && this.config.schemaChanges === 'stop') {
      const at = asm.position(q.nextPosition, undefined);
      return [
        this.halt(
          new SourceError(
            'SOURCE_SCHEMA_CHANGE',
            `DDL on ${describeDdlScope(synced)} at ${formatPosition(at)} (default database \`${q.schema}\`), and schemaChanges is stop:\n  ${q.query.slice(0, 500)}\n` +
              'binlog-sync stopped before applying it; the checkpoint stays before it. To continue, either run the same change on the target by hand and restart after it with ' +
              `\`binlog-sync run --reset-to ${formatPosition(at)} --yes\`, or set schemaChanges: apply in the pipeline file and restart, and binlog-sync runs it on the target.`,
            { details: { position: formatPosition(at), statement: q.query.slice(0, 500), changes: describeDdlScope(synced) } },
          ),
        ),
      ];
    }
    this.config.schema.invalidateMentionedIn(q.query);
    return [asm.ddl(q.query, q.schema, q.nextPosition, q.timestamp, synced)];
  }

  /** A statement-format data change: ignored when it writes no synced table, else stop or apply. */
  private statement(q: AnyBinlogEvent & { query: string; schema: string }, state: ReadState): Converted {
    const { asm } = state;
    const insertId = state.insertId;
    const lastInsertId = state.lastInsertId;
    state.insertId = state.lastInsertId = undefined;
    const targets = dmlWriteTargets(q.query, q.schema);
    const synced = targets === null ? null : targets.filter((t) => this.config.filter.matches(t.schema, t.name));
    if (synced !== null && synced.length === 0) return null;
    const position = asm.position(q.nextPosition, undefined);
    if (this.config.statementEvents === 'stop') {
      const tables = synced === null ? 'tables binlog-sync could not determine' : synced.map((t) => `${t.schema}.${t.name}`).join(', ');
      return [
        this.halt(
          new SourceError(
            'SOURCE_STATEMENT_EVENT',
            `statement-format change at ${formatPosition(position)} (default database \`${q.schema}\`) on ${tables}: the writing session ran with binlog_format=STATEMENT or MIXED, so the binlog holds the statement, not the rows it changed:\n  ${q.query.slice(0, 500)}\n` +
              'binlog-sync stopped before applying it; the checkpoint stays before this transaction. Either set binlog_format=ROW for every session on the source, re-copy the table(s) to the target and restart after this event (`binlog-sync run --reset-to FILE:POS --yes`), ' +
              'or set source.statementEvents: apply in the pipeline file to run such statements on the target as a native replica would (deterministic statements only).',
            { details: { position: formatPosition(position), statement: q.query.slice(0, 500), tables: synced?.map((t) => `${t.schema}.${t.name}`) ?? null } },
          ),
        ),
      ];
    }
    const event: StatementEvent = asm.statement(q.query, q.schema, synced ?? [], q.nextPosition, q.timestamp, { insertId, lastInsertId });
    return [event];
  }

  private halt(error: SourceError): SourceStreamEvent {
    return { kind: 'halt', error };
  }

  /** Builds the decoder of a table id not seen yet (a promise), or returns undefined when it is known. */
  private prepareTable(ev: { tableId: number; schemaName: string; tableName: string }, entry: TableMapEntry | undefined): Promise<void> | undefined {
    if (!entry || !entry.columns) return undefined; // zongji filtered the table out
    if (!this.config.filter.matches(ev.schemaName, ev.tableName)) return undefined;
    const known = this.decoders.get(ev.tableId);
    if (known && known.table.schema === ev.schemaName && known.table.name === ev.tableName && sameColumns(known.types, entry)) return undefined;
    // zongji keeps the table map's primary key (binlog_row_metadata=FULL) on the event only.
    const primaryKey = (ev as { primaryKey?: unknown }).primaryKey;
    return this.buildDecoder(ev.tableId, { schema: ev.schemaName, name: ev.tableName }, entry as TableMapEntry & { columns: NonNullable<TableMapEntry['columns']> }, Array.isArray(primaryKey) ? { primaryKey: primaryKey as number[] } : {});
  }

  private async buildDecoder(tableId: number, table: TableRef, entry: TableMapEntry & { columns: NonNullable<TableMapEntry['columns']> }, written: { readonly primaryKey?: readonly number[] }): Promise<void> {
    // A table id we have not seen (first use, or a new id after ALTER TABLE / restart): re-read keys.
    this.config.schema.invalidate(table);
    let known: TableInfo | null = null;
    let unknown: UnknownTableError | null = null;
    const key = `${table.schema}.${table.name}`;
    try {
      known = await this.config.schema.get(table);
      this.lastKnown.set(key, known);
    } catch (err) {
      if (!(err instanceof UnknownTableError)) throw err;
      unknown = err;
      known = this.lastKnown.get(key) ?? null;
    }
    // The binlog may be older than INFORMATION_SCHEMA's view of the table (read again from before a DDL).
    const info = keysAsWritten(table, known, { columns: entry.columns.map((c) => c.name), types: entry.columns.map((c) => c.type), ...(written.primaryKey ? { primaryKey: written.primaryKey } : {}) }, () => unknown!);
    const specs: ColumnSpec[] = entry.columns.map((c, i) => {
      const columnType = entry.columnSchemas[i]?.COLUMN_TYPE ?? '';
      const decimals = (c.metadata as { decimals?: unknown } | undefined)?.decimals;
      return {
        name: c.name,
        typeCode: c.type,
        columnType,
        dataType: info.dataTypes.get(c.name),
        generated: info.generated.has(c.name),
        fsp: typeof decimals === 'number' ? decimals : fspOf(columnType),
      };
    });
    const optional = new Set<number>();
    specs.forEach((s, i) => s.generated && optional.add(i));
    this.decoders.set(tableId, {
      table: info.keys.table,
      keys: info.keys,
      decode: compileRowDecoder(info.keys.table, specs),
      types: entry.columns.map((c) => c.type),
      identity: await TableIdentity.build(info, this.config.folder),
      optional,
      names: specs.map((s) => s.name),
    });
  }

  private rowChanges(item: RawItem, state: ReadState): Converted | Promise<Converted> {
    const ev = item.event as RowsEvent;
    const d = this.decoders.get(ev.tableId);
    if (!d) {
      if (item.entry) this.stats.lateFiltered++;
      return null;
    }
    const partial = this.partialImage(ev, item.name, d, state);
    if (partial) return [partial];
    const decoded = this.decodeRows(ev, item.name, d);
    if (d.identity.folds) {
      const pending: Parameters<CollationFolder['prepare']>[0][number][] = [];
      for (const r of decoded) {
        d.identity.pending(r.before, pending);
        d.identity.pending(r.after, pending);
      }
      if (pending.length > 0) return this.config.folder.prepare(pending).then(() => this.placeRows(ev, decoded, d, state));
    }
    return this.placeRows(ev, decoded, d, state);
  }

  /**
   * An event zongji cannot decode, inside a transaction: its changes cannot be known, so the pipeline
   * stops before the transaction instead of skipping them. (Outside transactions such events, e.g.
   * MariaDB's Start_encryption, carry no data.)
   */
  private unreadable(ev: AnyBinlogEvent, state: ReadState): SourceStreamEvent {
    const position = ev.nextPosition > 0 ? state.asm.position(ev.nextPosition, undefined) : state.asm.groupStart;
    const where = position ? formatPosition(position) : 'an unknown position';
    return this.halt(
      new SourceError(
        'SOURCE_UNREADABLE_EVENT',
        `the transaction ending after ${where} holds a binlog event that binlog-sync cannot read (the binlog library does not decode it). ` +
          'LOAD DATA run in a session with binlog_format=STATEMENT or MIXED is logged this way (Begin_load_query/Execute_load_query events), without its rows. ' +
          'binlog-sync stopped before this transaction; the checkpoint stays before it. Run LOAD DATA with binlog_format=ROW (then its rows are in the binlog), ' +
          're-copy the table it loaded to the target, then restart after this event with `binlog-sync run --reset-to FILE:POS --yes`.',
        { details: { position: position ? formatPosition(position) : null } },
      ),
    );
  }

  /** A rows event that lacks columns (binlog_row_image MINIMAL or NOBLOB in the writing session). */
  private partialImage(ev: RowsEvent, name: string, d: TableDecoder, state: ReadState): SourceStreamEvent | null {
    const count = ev.numberOfColumns ?? d.names.length;
    const first = absentColumns(ev.columns_present_bitmap, count, d.optional);
    const second = name === 'updaterows' ? absentColumns(ev.columns_present_bitmap2, count, d.optional) : [];
    if (first.length === 0 && second.length === 0) return null;
    const cols = (idx: number[]): string => idx.map((i) => d.names[i] ?? `#${i + 1}`).join(', ');
    const images = [
      first.length > 0 ? `${name === 'writerows' ? 'after' : 'before'} image lacks ${cols(first)}` : '',
      second.length > 0 ? `after image lacks ${cols(second)}` : '',
    ].filter((s) => s).join('; ');
    const position = ev.nextPosition > 0 ? state.asm.position(ev.nextPosition, undefined) : state.asm.groupStart;
    const table = `${d.table.schema}.${d.table.name}`;
    return this.halt(
      new SourceError(
        'SOURCE_PARTIAL_ROW_IMAGE',
        `${table}: the rows event at ${position ? formatPosition(position) : 'an unknown position'} carries a partial row image (${images}): the writing session ran with binlog_row_image=MINIMAL or NOBLOB. ` +
          'binlog-sync applies full row images only and never writes a column the event did not carry, so it stopped here; the checkpoint stays before this transaction. ' +
          `Make every session log binlog_row_image=FULL (in the server configuration, and do not let applications change it per session), re-copy ${table} to the target, then restart after this event with \`binlog-sync run --reset-to FILE:POS --yes\`.`,
        { details: { table, position: position ? formatPosition(position) : null, absent: [...new Set([...first, ...second])].map((i) => d.names[i]) } },
      ),
    );
  }

  private decodeRows(ev: RowsEvent, name: string, d: TableDecoder): { before: Row | null; after: Row | null }[] {
    const decode = d.decode;
    if (name === 'updaterows') {
      const rows = ev.rows as readonly { before: Record<string, unknown>; after: Record<string, unknown> }[];
      return rows.map((r) => ({ before: decode(r.before), after: decode(r.after) }));
    }
    const rows = ev.rows as readonly Record<string, unknown>[];
    const insert = name === 'writerows';
    return rows.map((r) => (insert ? { before: null, after: decode(r) } : { before: decode(r), after: null }));
  }

  /** Gives decoded rows their identities and puts them in the open transaction (or holds them for XA). */
  private placeRows(ev: RowsEvent, rows: readonly { before: Row | null; after: Row | null }[], d: TableDecoder, state: ReadState): Converted {
    const id = d.identity;
    const bytes = Math.ceil(ev.size / Math.max(1, rows.length));
    const xid = state.xaGroup;
    const out: SourceEvent[] = [];
    for (const { before, after } of rows) {
      const beforeId = before && id.identify(before);
      const afterId = after && (before && beforeId ? id.identifyAfter(after, before, beforeId) : id.identify(after));
      const op = before && after ? 'update' : after ? 'insert' : 'delete';
      const change: DecodedChange = { op, keys: d.keys, before, after, beforeId, afterId, bytes };
      if (xid !== null) state.xa.hold(xid, change);
      else out.push(state.asm.change(change, ev.nextPosition, ev.timestamp));
    }
    return out.length > 0 ? out : null;
  }

  private startWatchdog(session: BinlogSession): NodeJS.Timeout {
    const silentAfter = this.config.silentAfterMs;
    let checking = false;
    const timer = setInterval(() => {
      const b = session.buffer;
      if (b.weight > this.stats.maxBufferedBytes) this.stats.maxBufferedBytes = b.weight;
      // Paused by us (the consumer is busy) is not silence.
      if (checking || b.isPaused || b.closed || Date.now() - session.lastDataAt < silentAfter) return;
      checking = true;
      void this.isDead(session).then((dead) => {
        checking = false;
        session.lastDataAt = Date.now(); // next check after another silent period
        if (dead) {
          this.stats.silentReconnects++;
          this.config.logger.warn({ code: 'SOURCE_SILENT', silentMs: silentAfter }, `no binlog data for ${silentAfter} ms while the server moved on or stopped answering; reconnecting`);
          session.stop(new SourceError('SOURCE_SILENT', `binlog connection silent for ${silentAfter} ms`, { retriable: true }));
        }
      });
    }, Math.max(50, Math.min(5_000, Math.floor(silentAfter / 4))));
    timer.unref();
    return timer;
  }

  /** Silent connection: dead when the server's head is beyond what we received, or it does not answer. */
  private async isDead(session: BinlogSession): Promise<boolean> {
    try {
      const head = await this.config.head();
      const got = session.received();
      return got === null || comparePositions(head, got) > 0;
    } catch (err) {
      this.config.logger.debug({ err: describeError(err) }, 'watchdog head query failed');
      return true;
    }
  }

  private async purgedError(from: StartFrom, cause: unknown): Promise<SourceError> {
    const wanted = from.kind === 'gtid' ? `GTID ${from.gtid}` : formatPosition(from.position);
    let oldest = 'unknown (SHOW BINARY LOGS failed)';
    try {
      oldest = formatPosition(await this.config.earliest());
    } catch {
      // keep 'unknown'
    }
    return new SourceError(
      'SOURCE_POSITION_PURGED',
      `the source cannot send its binlog from ${wanted}: ${describeError(cause)}. The oldest binlog position still on the server is ${oldest}. ` +
        'The changes in between are lost for this pipeline: re-snapshot the target and restart from a current position with `binlog-sync run --reset-to <FILE:POS>` (or start: earliest to take whatever is left), and raise the source\'s binlog retention (expire_logs_days / binlog_expire_logs_seconds).',
      { cause, details: { position: wanted, oldest } },
    );
  }
}

/** MariaDB 4052 (ER_SLAVE_SAME_ID) / MySQL 1236 text: a newer replica with our server id took over. */
function sameServerId(err: unknown): boolean {
  const e = err as { errno?: unknown; message?: unknown } | null;
  return e?.errno === 4052 || /same server_uuid\/server_id|same server_id/i.test(String(e?.message ?? ''));
}
