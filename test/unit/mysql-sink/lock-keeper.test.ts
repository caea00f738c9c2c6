/**
 * The pipeline lock keeper and its write fence, against a scripted lock: what happens to writers while
 * the lock is lost, taken again, taken over or unobtainable, and what is logged for every attempt.
 */
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../support/log-capture.js';
import { BinlogSyncError, TargetError } from '../../../src/core/errors.js';
import { PipelineLockKeeper, type HeldLock } from '../../../connectors/mysql-sink/pipeline-lock.js';
import { LockGate, type LockProof } from '../../../connectors/mysql-sink/write-fence.js';

class FakeHeld implements HeldLock {
  readonly lockName = 'binlog-sync:p';
  readonly lost: Promise<Error>;
  released = false;
  lose!: (err: Error) => void;
  constructor(readonly connectionId: number) {
    this.lost = new Promise((resolve) => (this.lose = resolve));
  }
  async release(): Promise<void> {
    this.released = true;
  }
}

/** Answers each acquire() with the next scripted outcome: a held lock or an error. */
class ScriptedLock {
  calls = 0;
  constructor(private readonly script: (FakeHeld | Error)[]) {}
  async acquire(): Promise<HeldLock> {
    this.calls++;
    const next = this.script.shift();
    if (!next) throw new Error('script exhausted');
    if (next instanceof Error) throw next;
    return next;
  }
}

const FAST = { initialMs: 1, maxMs: 2, factor: 1 };
const refused = (): TargetError =>
  new TargetError('TARGET_CONNECTION', 'pipeline lock: cannot connect to the target to lock "p": connect ECONNREFUSED 127.0.0.1:3307 [ECONNREFUSED -111]', { retriable: true });
const lockedBy = (id: number): BinlogSyncError =>
  new BinlogSyncError('PIPELINE_LOCKED', `pipeline "p" is already running: the target lock 'binlog-sync:p' is held by connection ${id}.`, { details: { holderConnectionId: id } });

/** Whether a promise has settled, after letting everything queued run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  return done;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

describe('LockGate', () => {
  it('refuses writes before the lock was ever taken', async () => {
    const err = await new LockGate('p').held().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinlogSyncError);
    expect((err as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
    expect((err as Error).message).toMatch(/has not taken it/);
  });

  it('lets writes through while held, holds them while closed, fails them once gone', async () => {
    const gate = new LockGate('p');
    gate.open({ lockName: 'l', connectionId: 1 });
    expect(await gate.held()).toEqual({ lockName: 'l', connectionId: 1 });
    gate.close();
    const waiting = gate.held();
    expect(await settled(waiting)).toBe(false);
    gate.open({ lockName: 'l', connectionId: 2 });
    expect(await waiting).toEqual({ lockName: 'l', connectionId: 2 });
    gate.close();
    const doomed = gate.held().catch((e: unknown) => e);
    const reason = new Error('taken over');
    gate.fail(reason);
    expect(await doomed).toBe(reason);
    expect(await gate.held().catch((e: unknown) => e)).toBe(reason);
    gate.open({ lockName: 'l', connectionId: 3 });
    expect(await gate.held().catch((e: unknown) => e)).toBe(reason);
  });

  it('a waiting writer that closes stops waiting', async () => {
    const gate = new LockGate('p');
    gate.open({ lockName: 'l', connectionId: 1 });
    gate.close();
    const ac = new AbortController();
    const waiting = gate.held(ac.signal).catch((e: unknown) => e);
    ac.abort();
    const err = await waiting;
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).code).toBe('TARGET_CONNECTION');
  });
});

describe('PipelineLockKeeper', () => {
  it('holds writes while the lock is taken again, logs every failed attempt with its error, then lets them through', async () => {
    const first = new FakeHeld(7);
    const second = new FakeHeld(8);
    const lock = new ScriptedLock([first, refused(), refused(), second]);
    const { lines, logger } = captureLogs('debug');
    const keeper = new PipelineLockKeeper(lock, 'p', { logger, retry: FAST });
    const gone: Error[] = [];
    await keeper.acquire((e) => gone.push(e));
    expect(await keeper.fence.held()).toEqual({ lockName: 'binlog-sync:p', connectionId: 7 });
    expect(keeper.connectionId).toBe(7);

    first.lose(new Error('connection closed'));
    await until(() => keeper.connectionId === null, 'the fence closing');
    const write: Promise<LockProof> = keeper.fence.held();
    expect(await write).toEqual({ lockName: 'binlog-sync:p', connectionId: 8 });
    expect(lock.calls).toBe(4);
    expect(gone).toEqual([]);

    const failures = lines.filter((l) => /to take it again failed/.test(l.msg));
    expect(failures.map((l) => l.attempt)).toEqual([1, 2]);
    for (const f of failures) {
      expect(f.err).toContain('ECONNREFUSED');
      expect(f.msg).toContain('ECONNREFUSED');
      expect(f.msg).toMatch(/retrying in \d+ ms/);
    }
    expect(lines.some((l) => /lost with its target connection/.test(l.msg))).toBe(true);
    expect(lines.at(-1)?.msg).toBe('pipeline lock taken again after 3 attempt(s): writes resume');
    await keeper.release();
    expect(second.released).toBe(true);
  });

  it('stops on an error retrying cannot fix: the fence fails with it and the owner is told', async () => {
    const first = new FakeHeld(7);
    const denied = new TargetError('TARGET_CONNECTION', "pipeline lock: cannot connect: Access denied for user 'sync'@'localhost' [ER_ACCESS_DENIED_ERROR 1045]", {
      retriable: false,
    });
    const lock = new ScriptedLock([first, refused(), denied]);
    const { lines, logger } = captureLogs('debug');
    const keeper = new PipelineLockKeeper(lock, 'p', { logger, retry: FAST });
    const gone: Error[] = [];
    await keeper.acquire((e) => gone.push(e));
    first.lose(new Error('connection closed'));
    await until(() => gone.length > 0, 'the owner being told');
    expect(gone).toEqual([denied]);
    expect(await keeper.fence.held().catch((e: unknown) => e)).toBe(denied);
    const last = lines.at(-1)!;
    expect(last.level).toBe(50);
    expect(last.attempt).toBe(2);
    expect(last.msg).toMatch(/attempt 2 to take it again failed \(.*Access denied.*\): not retriable, stopping/);
    expect(lines.filter((l) => /to take it again failed/.test(l.msg))).toHaveLength(2);
  });

  it('stops with PIPELINE_LOCKED when another daemon took the lock meanwhile', async () => {
    const first = new FakeHeld(7);
    const lock = new ScriptedLock([first, lockedBy(99)]);
    const keeper = new PipelineLockKeeper(lock, 'p', { retry: FAST });
    const gone: Error[] = [];
    await keeper.acquire((e) => gone.push(e));
    const waiting = keeper.fence.held().then(() => 'resolved');
    first.lose(new Error('killed'));
    await until(() => gone.length > 0, 'the owner being told');
    expect((gone[0] as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
    // A write that started before the loss was let through; one that waits now fails.
    expect(await waiting).toBe('resolved');
    expect(((await keeper.fence.held().catch((e: unknown) => e)) as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
  });

  it('retries while the server still shows our own lost connection as the holder, within the grace period', async () => {
    const first = new FakeHeld(7);
    const second = new FakeHeld(8);
    const lock = new ScriptedLock([first, lockedBy(7), lockedBy(7), second]);
    const { lines, logger } = captureLogs('debug');
    const keeper = new PipelineLockKeeper(lock, 'p', { logger, retry: FAST });
    await keeper.acquire(() => {
      throw new Error('must not be called');
    });
    first.lose(new Error('connection closed'));
    await until(() => keeper.connectionId === 8, 'the lock being taken again');
    expect(lines.filter((l) => /still held by our previous connection 7/.test(l.msg))).toHaveLength(2);

    // Past the grace period, our old id is treated like anybody else's.
    const third = new FakeHeld(9);
    const late = new PipelineLockKeeper(new ScriptedLock([third, lockedBy(9)]), 'p', { retry: FAST, staleHolderGraceMs: 0 });
    const gone: Error[] = [];
    await late.acquire((e) => gone.push(e));
    third.lose(new Error('connection closed'));
    await until(() => gone.length > 0, 'the owner being told');
    expect((gone[0] as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
  });

  it('release fails waiting writes and stops taking the lock again', async () => {
    const first = new FakeHeld(7);
    const lock = new ScriptedLock([first, refused(), refused(), refused(), refused()]);
    const keeper = new PipelineLockKeeper(lock, 'p', { retry: { initialMs: 50, maxMs: 50, factor: 1 } });
    await keeper.acquire();
    first.lose(new Error('connection closed'));
    await until(() => keeper.connectionId === null, 'the fence closing');
    const waiting = keeper.fence.held().catch((e: unknown) => e);
    await keeper.release();
    const err = await waiting;
    expect(err).toBeInstanceOf(TargetError);
    expect((err as Error).message).toMatch(/released \(the daemon is stopping\)/);
    const calls = lock.calls;
    await new Promise((r) => setTimeout(r, 120));
    expect(lock.calls).toBe(calls);
  });
});
