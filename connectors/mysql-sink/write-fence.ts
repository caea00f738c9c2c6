/**
 * The write fence: while the pipeline lock is not held, no write to the target may start. The lock
 * (pipeline-lock.ts) owns the gate and moves it; the sink consults it before every apply attempt and
 * the checkpoint store before every save. While the lock is being taken again after its connection was
 * lost, writes wait; once it is gone for good (another daemon took it, an error retrying cannot fix,
 * the daemon stopping), they fail with that reason.
 *
 * The gate is what this process believes; the server may have released the lock a moment before the
 * process notices (the connection's end arrives a little later). The checkpoint save therefore also
 * checks on the server, in the same statement, that the lock is still held by `LockProof.connectionId`.
 */
import { BinlogSyncError, TargetError } from '../../src/index.js';

/** Which lock is held, by which target connection: what a statement can check with IS_USED_LOCK(). */
export interface LockProof {
  readonly lockName: string;
  readonly connectionId: number;
}

/** What writers consult. */
export interface WriteFence {
  /**
   * Resolves with the proof of the held lock: at once while it is held, later when it is being taken
   * again. Rejects with the reason once the lock is gone for good, when it was never taken, or when
   * `signal` aborts (the writer is closing).
   */
  held(signal?: AbortSignal): Promise<LockProof>;
}

type GateState =
  | { readonly kind: 'never-taken' }
  | { readonly kind: 'held'; readonly proof: LockProof }
  | { readonly kind: 'retaking' }
  | { readonly kind: 'gone'; readonly reason: Error };

interface Waiter {
  resolve(proof: LockProof): void;
  reject(err: Error): void;
}

export class LockGate implements WriteFence {
  private state: GateState = { kind: 'never-taken' };
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly pipeline: string) {}

  /** The lock is held (first taken, or taken again): writes go ahead. */
  open(proof: LockProof): void {
    if (this.state.kind === 'gone') return;
    this.state = { kind: 'held', proof };
    for (const w of this.waiters) w.resolve(proof);
    this.waiters.clear();
  }

  /** The lock's connection was lost and it is being taken again: writes wait. */
  close(): void {
    if (this.state.kind === 'gone') return;
    this.state = { kind: 'retaking' };
  }

  /** The lock will not be held again: waiting and later writes fail with `reason`. */
  fail(reason: Error): void {
    if (this.state.kind === 'gone') return;
    this.state = { kind: 'gone', reason };
    for (const w of this.waiters) w.reject(reason);
    this.waiters.clear();
  }

  get isHeld(): boolean {
    return this.state.kind === 'held';
  }

  held(signal?: AbortSignal): Promise<LockProof> {
    const s = this.state;
    if (s.kind === 'held') return Promise.resolve(s.proof);
    if (s.kind === 'gone') return Promise.reject(s.reason);
    if (s.kind === 'never-taken') {
      return Promise.reject(
        new BinlogSyncError('PIPELINE_LOCKED', `pipeline "${this.pipeline}": writes to the target need the pipeline lock, and this process has not taken it`),
      );
    }
    if (signal?.aborted) return Promise.reject(abandoned(this.pipeline));
    return new Promise<LockProof>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(abandoned(this.pipeline));
      };
      const waiter: Waiter = {
        resolve: (proof) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(proof);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function abandoned(pipeline: string): TargetError {
  return new TargetError('TARGET_CONNECTION', `pipeline "${pipeline}": a write waiting for the pipeline lock was abandoned because its writer was closed`, {
    retriable: true,
  });
}
