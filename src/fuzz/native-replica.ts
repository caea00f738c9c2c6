/**
 * The fuzzer's reference: MariaDB's own replication from the same start position as the pipeline.
 * A row-based native replica applies what the binlog says, performs foreign-key cascades itself and
 * runs no triggers for row events, which is the behaviour the pipeline's target must match.
 */
import mysql from 'mysql2/promise';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import type { ServerEndpoint } from '../local/mariadb-server.js';

const str = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class NativeReplicaError extends Error {
  override readonly name = 'NativeReplicaError';
}

export class NativeReplica {
  private constructor(private readonly c: mysql.Connection) {}

  /** Points the replica at `from` on the source (not started yet). */
  static async configure(replica: ServerEndpoint, source: ServerEndpoint, from: BinlogPosition): Promise<NativeReplica> {
    const c = await mysql.createConnection(replica);
    await c.query('STOP SLAVE');
    await c.query('RESET SLAVE ALL');
    await c.query(
      `CHANGE MASTER TO MASTER_HOST=${str(source.host)}, MASTER_PORT=${source.port}, MASTER_USER=${str(source.user)}, ` +
        `MASTER_PASSWORD=${str(source.password)}, MASTER_LOG_FILE=${str(from.file)}, MASTER_LOG_POS=${from.pos}, MASTER_USE_GTID=no`,
    );
    return new NativeReplica(c);
  }

  /** Starts replicating; with `until`, its SQL thread stops at that position (a transaction boundary). */
  async start(until?: BinlogPosition): Promise<void> {
    await this.c.query(until ? `START SLAVE UNTIL MASTER_LOG_FILE=${str(until.file)}, MASTER_LOG_POS=${until.pos}` : 'START SLAVE');
  }

  private async status(): Promise<Record<string, unknown>> {
    const [rows] = await this.c.query('SHOW SLAVE STATUS');
    const s = (rows as Record<string, unknown>[])[0];
    if (!s) throw new NativeReplicaError('native replica: SHOW SLAVE STATUS is empty');
    const sqlErr = Number(s.Last_SQL_Errno ?? 0);
    if (sqlErr !== 0) throw new NativeReplicaError(`native replica: SQL thread stopped: ${String(s.Last_SQL_Error)}`);
    const ioErr = Number(s.Last_IO_Errno ?? 0);
    if (ioErr !== 0) throw new NativeReplicaError(`native replica: IO thread stopped: ${String(s.Last_IO_Error)}`);
    return s;
  }

  /** Waits until the replica has executed everything up to `to` (with `until`: and its SQL thread stopped there). */
  async waitFor(to: BinlogPosition, options: { stopped?: boolean; timeoutMs?: number } = {}): Promise<BinlogPosition> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const s = await this.status();
      const executed: BinlogPosition = { file: String(s.Relay_Master_Log_File ?? ''), pos: Number(s.Exec_Master_Log_Pos ?? 0) };
      const reached = executed.file !== '' && comparePositions(executed, to) >= 0;
      if (reached && (!options.stopped || s.Slave_SQL_Running === 'No')) return executed;
      if (options.stopped && s.Slave_SQL_Running === 'No' && !reached && executed.file !== '') {
        throw new NativeReplicaError(`native replica: its SQL thread stopped at ${formatPosition(executed)}, before ${formatPosition(to)}`);
      }
      if (Date.now() > deadline) throw new NativeReplicaError(`native replica: not at ${formatPosition(to)} in time (executed up to ${formatPosition(executed)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await this.c.query('STOP SLAVE').catch(() => undefined);
    await this.c.end().catch(() => this.c.destroy());
  }
}
