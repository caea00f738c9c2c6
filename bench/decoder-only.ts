/**
 * The reader's physical limit: zongji alone reading a binlog range and decoding its rows, with nothing
 * applied anywhere. Decoded with the same mysql2 value options the source connector uses (date
 * strings, UTC, JSON as text, exact big numbers), so the decode work is the same.
 */
import ZongJi, { type AnyBinlogEvent } from '@vlasky/zongji';
import type { ServerEndpoint } from '../src/local/mariadb-server.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../src/core/position.js';
import { zongjiConnectionOptions } from '../connectors/mysql-source/binlog-session.js';

export interface DecodeResult {
  readonly rowEvents: number;
  readonly transactions: number;
  readonly binlogEvents: number;
  readonly ms: number;
}

export async function decodeRange(
  source: ServerEndpoint,
  from: BinlogPosition,
  to: BinlogPosition,
  options: { serverId: number; schema: string; timeoutMs?: number },
): Promise<DecodeResult> {
  // The same connection options as the source connector, so the two decode alike.
  const zongji = new ZongJi(zongjiConnectionOptions({ host: source.host, port: source.port, user: source.user, password: source.password, connectTimeoutMs: 10_000 }));
  let file = from.file;
  let rowEvents = 0;
  let transactions = 0;
  let binlogEvents = 0;
  let stopped = false;
  const started = performance.now();
  try {
    return await new Promise<DecodeResult>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`decoder-only: did not reach ${formatPosition(to)} in time (at ${file})`)),
        options.timeoutMs ?? 30 * 60_000,
      );
      const finish = (): void => {
        clearTimeout(timer);
        resolve({ rowEvents, transactions, binlogEvents, ms: performance.now() - started });
      };
      zongji.on('binlog', (event: AnyBinlogEvent) => {
        if (stopped) return;
        binlogEvents++;
        switch (event.getEventName()) {
          case 'rotate':
            file = (event as { binlogName: string }).binlogName;
            break;
          case 'writerows':
          case 'deleterows':
          case 'updaterows':
            rowEvents += (event as { rows: unknown[] }).rows.length;
            break;
          case 'xid':
          case 'query':
            if (event.getEventName() === 'xid') transactions++;
            if (comparePositions({ file, pos: event.nextPosition }, to) >= 0) {
              stopped = true;
              finish();
            }
            break;
        }
      });
      zongji.on('error', (err: Error) => {
        if (!stopped) {
          stopped = true;
          clearTimeout(timer);
          reject(err);
        }
      });
      zongji.start({
        serverId: options.serverId,
        filename: from.file,
        position: from.pos,
        includeEvents: ['rotate', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query'],
        includeSchema: { [options.schema]: true },
      });
    });
  } finally {
    stopped = true;
    try {
      zongji.stop();
    } catch {
      // already torn down
    }
  }
}
