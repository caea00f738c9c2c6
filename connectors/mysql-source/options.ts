import type { Logger } from 'pino';
import type { BackoffPolicy } from '../../src/index.js';

export interface MySqlSourceOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Replica server id for the binlog connection: unique among the source's replicas. */
  readonly serverId: number;
  /** `db.table` globs (`*`, `?`) to capture; exclude wins. System schemas are always excluded. */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Key columns for tables without a PRIMARY KEY: `"db.table": ["col", …]`. */
  readonly keys?: Readonly<Record<string, readonly string[]>>;
  /** Tables (`db.table`) without a key to match by all their columns (`keyless: full-row`); default none. */
  readonly fullRow?: (table: string) => boolean;
  /** No binlog bytes for this long → check whether the connection is dead (default 30 s). */
  readonly silentAfterMs?: number;
  readonly logger?: Logger;
  /**
   * Accept a server with binlog_row_metadata other than FULL. Then zongji reads column metadata
   * from INFORMATION_SCHEMA at read time, and events written before an ALTER TABLE can be decoded
   * with today's columns (silently wrong). Default false: refuse.
   */
  readonly allowNoRowMetadata?: boolean;
  readonly reconnect?: BackoffPolicy;
  /**
   * Buffer between zongji and the consumer, in binlog event bytes (default 256 KiB / 64 KiB). Small on
   * purpose: every decoded event waiting here is alive at the next scavenge, which moves it to the old
   * generation. With 1 MiB, catching up the bench's OLTP backlog (120,000 row events) promoted ~236 MB
   * and spent ~0.65 s in scavenges in the embedded pipeline and ~0.9 s in the Kafka publisher; with
   * 256 KiB usually ~80–90 MB and ~0.3 s / ~0.45 s, at the same rows/s (bulk too).
   */
  readonly bufferHighWaterBytes?: number;
  readonly bufferLowWaterBytes?: number;
  /** Timeout of connects and of the watchdog's head query (default 10 s). */
  readonly connectTimeoutMs?: number;
  /**
   * A statement-format data change (a session with binlog_format STATEMENT/MIXED) on a synced table:
   * `stop` (default) halts before it with SOURCE_STATEMENT_EVENT; `apply` hands it on to be run on the
   * target as a barrier.
   */
  readonly statementEvents?: 'stop' | 'apply';
  /**
   * DDL on synced tables (`schemaChanges`): `stop` halts before it with SOURCE_SCHEMA_CHANGE; `apply`
   * and `ignore` (default) hand it on marked with what it changes, for the pipeline to apply or log.
   */
  readonly schemaChanges?: 'apply' | 'stop' | 'ignore';
}

export const SOURCE_DEFAULTS = Object.freeze({
  silentAfterMs: 30_000,
  bufferHighWaterBytes: 256 << 10,
  bufferLowWaterBytes: 64 << 10,
  connectTimeoutMs: 10_000,
});
