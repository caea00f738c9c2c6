import { describe, expect, it } from 'vitest';
import { resolveStart, type StartSource } from '../../../src/core/start-position.js';
import type { Checkpoint, CheckpointStore } from '../../../src/core/ports.js';
import type { BinlogPosition } from '../../../src/core/position.js';
import type { SourceIdentity } from '../../../src/core/source-identity.js';
import { captureLogs } from '../../support/log-capture.js';

const primary: SourceIdentity = { flavor: 'mariadb', serverId: 11, domainId: 0 };
const replica: SourceIdentity = { flavor: 'mariadb', serverId: 12, domainId: 0 };

/** A MariaDB server: its identity, its GTID positions by place, its binlog state and where a GTID position lies. */
function server(identity: SourceIdentity, binlog: { at: Record<string, string>; state: string; locate?: Record<string, BinlogPosition | string> }): StartSource {
  return {
    identity: async () => identity,
    head: async () => ({ file: 'mysql-bin.000001', pos: 2288 }),
    earliest: async () => ({ file: 'mysql-bin.000001', pos: 4 }),
    gtidPositionAt: async (p) => binlog.at[`${p.file}:${p.pos}`] ?? null,
    gtidBinlogState: async () => binlog.state,
    locateGtidPosition: async (g) => {
      const found = binlog.locate?.[g];
      if (found === undefined) throw new Error(`unexpected locate ${g}`);
      return typeof found === 'string' ? { refused: found } : { position: found };
    },
  };
}

function memoryStore(initial: Checkpoint | null): CheckpointStore & { saved: Checkpoint | null; resets: number } {
  return {
    saved: initial,
    resets: 0,
    async load() {
      return this.saved;
    },
    async save(_p, cp) {
      this.saved = cp;
    },
    async reset(_p, cp) {
      this.resets++;
      this.saved = cp;
    },
    async clear() {
      this.saved = null;
    },
  };
}

const stored: Checkpoint = { position: { file: 'mysql-bin.000003', pos: 1500, gtidPos: '0-11-7' }, sourceTimestampMs: 42, source: primary };
const options = (logger = captureLogs().logger, canMove?: () => Promise<string | null>) => ({ logger, endpoint: '127.0.0.1:3307', ...(canMove ? { canMove } : {}) });

describe('resolveStart', () => {
  it('pins earliest with the server\'s identity and its GTID position there', async () => {
    const store = memoryStore(null);
    const start = await resolveStart('p', 'earliest', server(primary, { at: { 'mysql-bin.000001:4': '' }, state: '' }), store, options());
    expect(start).toMatchObject({ origin: 'pinned', source: primary, from: { kind: 'position', position: { file: 'mysql-bin.000001', pos: 4, gtidPos: '' } } });
    expect(store.saved).toMatchObject({ position: { file: 'mysql-bin.000001', pos: 4, gtidPos: '' }, source: primary });
  });

  it('continues on the same server at the checkpoint', async () => {
    const store = memoryStore(stored);
    const start = await resolveStart('p', 'earliest', server(primary, { at: { 'mysql-bin.000003:1500': '0-11-7' }, state: '0-11-9' }), store, options());
    expect(start).toEqual({ from: { kind: 'position', position: stored.position }, checkpoint: stored, origin: 'checkpoint', source: primary });
    expect(store.resets).toBe(0);
  });

  it('moves to a replica that holds the checkpoint\'s transactions: stores the place there first, logs from where to where', async () => {
    const store = memoryStore(stored);
    const { lines, logger } = captureLogs();
    const at = { file: 'mysql-bin.000001', pos: 1622 };
    const start = await resolveStart('p', 'earliest', server(replica, { at: { 'mysql-bin.000001:1622': '0-11-7' }, state: '0-11-10,0-12-11', locate: { '0-11-7': at } }), store, options(logger));
    const moved = { position: { ...at, gtidPos: '0-11-7' }, sourceTimestampMs: 42, source: replica };
    expect(start).toEqual({ from: { kind: 'position', position: moved.position }, checkpoint: moved, origin: 'moved', source: replica });
    expect(store.saved).toEqual(moved);
    expect(store.resets).toBe(1);
    const line = lines.find((l) => l.msg.startsWith('the source is another server'));
    expect(line?.msg).toBe(
      'the source is another server: the checkpoint mysql-bin.000003:1500 of MariaDB server_id 11 (gtid_domain_id 0) is GTID position "0-11-7", which MariaDB server_id 12 (gtid_domain_id 0) holds; continuing there at mysql-bin.000001:1622',
    );
  });

  it('refuses the move when the server\'s GTID position at the place it names is not exactly the checkpoint\'s', async () => {
    const store = memoryStore(stored);
    const src = server(replica, { at: { 'mysql-bin.000001:1622': '0-11-7,1-12-3' }, state: '0-11-10,1-12-3', locate: { '0-11-7': { file: 'mysql-bin.000001', pos: 1622 } } });
    await expect(resolveStart('p', 'earliest', src, store, options())).rejects.toMatchObject({ code: 'SOURCE_CHANGED', message: expect.stringMatching(/no place whose GTID position is exactly the checkpoint's "0-11-7"/) });
    expect(store.saved).toBe(stored);
  });

  it('refuses the move when the server will not send from the GTID position, with its reason', async () => {
    const store = memoryStore(stored);
    const src = server(replica, { at: {}, state: '0-11-10', locate: { '0-11-7': 'connecting slave requested to start from GTID 0-11-7, which is not in the master\'s binlog' } });
    await expect(resolveStart('p', 'earliest', src, store, options())).rejects.toThrow(/will not send its binlog from there: connecting slave requested/);
    expect(store.resets).toBe(0);
  });

  it('refuses the move when the target cannot follow (changes applied past the checkpoint)', async () => {
    const store = memoryStore(stored);
    const src = server(replica, { at: {}, state: '0-11-10' });
    await expect(resolveStart('p', 'earliest', src, store, options(undefined, async () => 'applied past it'))).rejects.toThrow(/cannot continue there: applied past it/);
    expect(store.resets).toBe(0);
  });

  it('refuses another server that lacks the checkpoint\'s transactions, and changes nothing', async () => {
    const store = memoryStore(stored);
    await expect(resolveStart('p', 'earliest', server(replica, { at: {}, state: '0-11-5' }), store, options())).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    expect(store.saved).toBe(stored);
  });

  it('continues an old checkpoint without identity where it is, saying once that it had none', async () => {
    const { source: _, ...old } = stored;
    const store = memoryStore(old);
    const { lines, logger } = captureLogs();
    const start = await resolveStart('p', 'earliest', server(replica, { at: {}, state: '' }), store, options(logger));
    expect(start).toMatchObject({ origin: 'checkpoint', checkpoint: old, source: replica });
    expect(lines.filter((l) => /does not say which server it belongs to/.test(l.msg))).toHaveLength(1);
  });
});
