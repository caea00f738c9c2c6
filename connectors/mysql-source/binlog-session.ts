/**
 * One binlog connection: a ZongJi instance started at a position or GTID, whose events go into a
 * bounded `EventBuffer` (pausing the socket above the high-water mark). A session never reconnects:
 * when it fails, its buffer fails after the events read so far, and the reader starts a new one.
 */
import ZongJi, { type AnyBinlogEvent, type TableMapEntry } from '@vlasky/zongji';
import type { StartFrom } from '../../src/index.js';
import { EventBuffer } from './event-buffer.js';
import { attachZongjiDecoder } from './zongji-row-reader.js';
import type { TableFilter } from '../../src/index.js';

/** A binlog event as read, with the table map zongji decoded its rows with (captured at read time). */
export interface RawItem {
  readonly event: AnyBinlogEvent;
  readonly name: string;
  readonly entry: TableMapEntry | undefined;
  readonly weight: number;
}

/**
 * `tablemap` must be included: without it zongji drops every row event silently (FACTS). Everything
 * else we do not use is left out so zongji does not even build the event objects.
 */
export const INCLUDED_EVENTS = Object.freeze([
  'rotate',
  'mariadbgtid',
  'gtid',
  'anonymousgtid',
  'query',
  'xid',
  'tablemap',
  'writerows',
  'updaterows',
  'deleterows',
  // XA: the end of an XA PREPARE group (its rows wait for the XA COMMIT).
  'xaprepare',
  // INSERT_ID / LAST_INSERT_ID for statement-format inserts applied as statements.
  'intvar',
  // Not used for data; they tell us how far the binlog goes between transactions (a replay whose
  // `until` is the head after FLUSH LOGS ends on these, not on a commit).
  'format',
  'mariadbgtidlist',
  'binlogcheckpoint',
  // Sent by the server on a quiet connection (we ask for them, see heartbeatPeriodMs): they keep data
  // arriving, so silence means a stall, and they carry the position the server has sent us up to.
  'heartbeat',
  // Events zongji cannot decode. Inside a transaction they stop the pipeline: LOAD DATA in statement
  // format is logged as Begin_load_query/Execute_load_query, which zongji does not know, and skipping
  // them would lose the rows without a word.
  'unknown',
]);

export interface SessionConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly connectTimeoutMs: number;
}

/**
 * mysql2 options zongji decodes values with (it reads them from the connection's config):
 * `dateStrings` keeps microseconds and zero dates, `timezone: 'Z'` formats TIMESTAMP in UTC
 * whatever the process TZ, `jsonStrings` keeps MySQL JSON as text (exact big numbers).
 */
export function zongjiConnectionOptions(c: SessionConnection): Record<string, unknown> {
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    connectTimeout: c.connectTimeoutMs,
    dateStrings: true,
    timezone: 'Z',
    jsonStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4_general_ci',
    enableKeepAlive: true,
  };
}

interface ZongJiInternals {
  _skipSchema(schema: string, table: string): boolean;
  connection: { pause(): void; resume(): void; stream?: NodeJS.EventEmitter; query(sql: string, cb: (err: Error | null) => void): void } | null;
  options: { filename?: string; position?: number };
}

const BINLOG_EVENT_HEADER = 19;

export class BinlogSession {
  readonly buffer: EventBuffer<RawItem>;
  private readonly zongji: ZongJi;
  private stopped = false;
  /** When binlog bytes last arrived on the socket (any event, also ones zongji filters out). */
  lastDataAt = Date.now();
  /** The server accepted the binlog dump (zongji's `ready`); false again once stopped. */
  connected = false;

  constructor(
    connection: SessionConnection,
    private readonly serverId: number,
    private readonly from: StartFrom,
    filter: TableFilter,
    water: { high: number; low: number },
  ) {
    this.zongji = new ZongJi(zongjiConnectionOptions(connection));
    // Our row reader (exact TIME/GEOMETRY; the fast path unless BINLOG_SYNC_ZONGJI_FASTPATH=0), in the
    // mode of the moment for this instance; throws SOURCE_DECODE when zongji is not the one it mirrors.
    attachZongjiDecoder(this.zongji);
    // Filter excluded tables inside zongji, before it decodes their rows: its table map parser asks
    // `_skipSchema(db, table)` and, when true, drops the map so the row events are skipped unparsed.
    // Its public includeSchema takes exact names only; we need globs. (The reader filters again.)
    this.internals._skipSchema = (schema, table) => !filter.matches(schema, table);
    this.buffer = new EventBuffer<RawItem>({
      highWater: water.high,
      lowWater: water.low,
      weigh: (item) => item.weight,
      onHigh: () => this.internals.connection?.pause(),
      onLow: () => this.internals.connection?.resume(),
    });
    this.zongji.on('binlog', (event: AnyBinlogEvent) => this.onEvent(event));
    this.zongji.on('ready', () => {
      this.connected = !this.stopped;
    });
    this.zongji.on('error', (err: Error) => {
      // After stop() zongji floods errors from the torn-down connection: ignore them (FACTS).
      if (!this.stopped) this.buffer.fail(err);
    });
  }

  private get internals(): ZongJiInternals {
    return this.zongji as unknown as ZongJiInternals;
  }

  private onEvent(event: AnyBinlogEvent): void {
    if (this.stopped) return;
    const name = event.getEventName();
    let entry: TableMapEntry | undefined;
    if (name === 'tablemap' || name === 'writerows' || name === 'updaterows' || name === 'deleterows') {
      entry = this.zongji.tableMap[(event as { tableId: number }).tableId];
    }
    this.buffer.push({ event, name, entry, weight: event.size + BINLOG_EVENT_HEADER });
  }

  /**
   * Starts the dump. `heartbeatPeriodMs`: the server sends a heartbeat event after that long without
   * an event (what a native replica's MASTER_HEARTBEAT_PERIOD asks for; in nanoseconds on the binlog
   * connection before the dump command). zongji opens the binlog connection in `start` and sends its
   * own preamble on it only after asking the server about itself on its control connection, so this
   * query, queued right after `start`, runs before the dump command.
   */
  start(heartbeatPeriodMs = 0): void {
    const from = this.from;
    const position =
      from.kind === 'gtid' ? { gtidSet: from.gtid } : { filename: from.position.file, position: from.position.pos };
    this.zongji.start({ serverId: this.serverId, includeEvents: [...INCLUDED_EVENTS], ...position });
    if (heartbeatPeriodMs > 0) {
      this.internals.connection?.query(`SET @master_heartbeat_period = ${Math.round(heartbeatPeriodMs) * 1_000_000}`, (err) => {
        if (err && !this.stopped) this.buffer.fail(err);
      });
    }
    const stream = this.internals.connection?.stream;
    stream?.on('data', () => {
      this.lastDataAt = Date.now();
    });
  }

  /** How far the server has sent us the binlog (zongji advances this for filtered events too). */
  received(): { file: string; pos: number } | null {
    const o = this.internals.options;
    return o.filename && typeof o.position === 'number' ? { file: o.filename, pos: o.position } : null;
  }

  /** Kills the connection; the buffer ends with `error` (or plainly when none is given). */
  stop(error?: unknown): void {
    if (this.stopped) return;
    if (error !== undefined) this.buffer.fail(error);
    else this.buffer.end();
    this.stopped = true;
    this.connected = false;
    try {
      this.zongji.stop();
    } catch {
      // teardown of a connection that is already gone
    }
  }
}
