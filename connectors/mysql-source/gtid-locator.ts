/**
 * Where a MariaDB GTID position lies in a server's binlog, as the server itself finds it: a binlog
 * dump from that GTID position begins with a Gtid_list event naming the position, whose end is the
 * place in the server's binlog where the dump continues (seen on MariaDB 10.11: for `0-11-7` it ends
 * where the group after 0-11-7 begins). A server that lacks a transaction of the position, or holds
 * other ones in its place, refuses the dump (error 1236) and says why.
 */
import type { AnyBinlogEvent } from '@vlasky/zongji';
import { TableFilter, describeError, formatGtidPosition, parseGtidPosition, sameGtidPosition, type BinlogPosition, type Gtid } from '../../src/index.js';
import { BinlogSession, type SessionConnection } from './binlog-session.js';
import { classifyBinlogError } from './error-classes.js';

/** Reads no table: only the position events matter here. */
const NO_TABLES = new TableFilter([]);

export type LocatedGtidPosition = { readonly position: BinlogPosition } | { readonly refused: string };

export async function locateGtidPosition(connection: SessionConnection, serverId: number, gtidPos: string, timeoutMs: number): Promise<LocatedGtidPosition> {
  const wanted = formatGtidPosition(parseGtidPosition(gtidPos));
  const session = new BinlogSession(connection, serverId, { kind: 'gtid', gtid: wanted }, NO_TABLES, { high: 1 << 20, low: 256 << 10 });
  const silence = `the binlog dump sent no Gtid_list event naming "${wanted}" within ${timeoutMs} ms`;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    session.stop(new Error(silence));
  }, timeoutMs);
  let file = '';
  try {
    session.start();
    for (;;) {
      const pulled = await session.buffer.next();
      if (pulled.done) return { refused: 'the binlog dump ended before it said where it begins' };
      const { name, event } = pulled.value;
      if (name === 'rotate') file = (event as AnyBinlogEvent & { binlogName: string }).binlogName;
      else if (name === 'mariadbgtidlist') {
        const list = (event as AnyBinlogEvent & { gtids: readonly { domainId: number; serverId: number; seqNo: number | string }[] }).gtids;
        const named = formatGtidPosition(list.map((g): Gtid => ({ domain: g.domainId, server: g.serverId, seq: BigInt(g.seqNo) })));
        if (file !== '' && event.nextPosition > 0 && sameGtidPosition(named, wanted)) return { position: { file, pos: event.nextPosition } };
      } else if (name === 'mariadbgtid' || name === 'xid' || name === 'query') {
        return { refused: `the binlog dump sent a transaction (at ${file}:${event.nextPosition}) before any Gtid_list event naming "${wanted}"` };
      }
    }
  } catch (err) {
    if (timedOut) return { refused: silence };
    // Error 1236: the server refuses to send from there, and says why.
    if (classifyBinlogError(err) === 'purged') return { refused: describeError(err) };
    throw err;
  } finally {
    clearTimeout(timer);
    session.stop();
  }
}
