/**
 * MariaDB's own replication as the baseline: a replica server pointed at the source's binlog range
 * start with CHANGE MASTER … MASTER_LOG_FILE/POS (one SQL thread, MariaDB's default), timed from
 * START SLAVE until its SQL thread has executed up to the range's end (SHOW SLAVE STATUS polled every
 * 20 ms), then stopped.
 */
import type { ServerEndpoint } from '../src/local/mariadb-server.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../src/core/position.js';
import { connect, rows } from './sql.js';

export interface NativeResult {
  readonly ms: number;
  /** @@slave_parallel_threads on the replica (0: one SQL thread). */
  readonly parallelThreads: number;
}

const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function measureNativeReplica(
  replica: ServerEndpoint,
  source: ServerEndpoint,
  from: BinlogPosition,
  to: BinlogPosition,
  options: { pollMs?: number; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<NativeResult> {
  const pollMs = options.pollMs ?? 20;
  const c = await connect(replica);
  try {
    await c.query('STOP SLAVE');
    await c.query('RESET SLAVE ALL');
    await c.query(
      `CHANGE MASTER TO MASTER_HOST=${sqlString(source.host)}, MASTER_PORT=${source.port}, ` +
        `MASTER_USER=${sqlString(source.user)}, MASTER_PASSWORD=${sqlString(source.password)}, ` +
        `MASTER_LOG_FILE=${sqlString(from.file)}, MASTER_LOG_POS=${from.pos}, MASTER_USE_GTID=no`,
    );
    const parallelThreads = Number((await rows(c, 'SELECT @@slave_parallel_threads AS n'))[0]?.n ?? 0);
    const started = performance.now();
    await c.query('START SLAVE');
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const s = (await rows(c, 'SHOW SLAVE STATUS'))[0];
      if (!s) throw new Error('native replica: SHOW SLAVE STATUS is empty after START SLAVE');
      const executed: BinlogPosition = { file: String(s.Relay_Master_Log_File), pos: Number(s.Exec_Master_Log_Pos) };
      if (executed.file && comparePositions(executed, to) >= 0) {
        const ms = performance.now() - started;
        await c.query('STOP SLAVE');
        return { ms, parallelThreads };
      }
      if (s.Slave_SQL_Running === 'No' && s.Last_SQL_Errno && Number(s.Last_SQL_Errno) !== 0) {
        throw new Error(`native replica: SQL thread stopped: ${String(s.Last_SQL_Error)} (at ${formatPosition(executed)})`);
      }
      if (s.Slave_IO_Running === 'No' && s.Last_IO_Errno && Number(s.Last_IO_Errno) !== 0) {
        throw new Error(`native replica: IO thread stopped: ${String(s.Last_IO_Error)}`);
      }
      if (options.signal?.aborted) throw new Error('native replica: aborted');
      if (Date.now() > deadline) throw new Error(`native replica: not caught up to ${formatPosition(to)} in time (at ${formatPosition(executed)})`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await c.query('STOP SLAVE').catch(() => {});
    await c.end().catch(() => c.destroy());
  }
}
