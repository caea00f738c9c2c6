/**
 * Whether the source that answers now can continue a stored checkpoint, decided from the checkpoint
 * and what the server says about itself. Pure: start resolution (start-position.ts) asks the server,
 * `status` shows the verdict.
 *
 * - Same server (same identity, and where the checkpoint has a GTID position, the server's binlog is
 *   at that same GTID position at the checkpoint's file:pos): continue at the file:pos.
 * - A checkpoint stored before identities were recorded: continue at the file:pos, as before.
 * - Another MariaDB server whose binlog holds every transaction of the checkpoint's GTID position (a
 *   replica with log_slave_updates that took over): continue there by that GTID position, once the
 *   server has shown where in its binlog that position is.
 * - Anything else cannot be continued: the file:pos would name other events there, silently.
 */
import { BinlogSyncError } from './errors.js';
import { formatGtid, missingFromBinlogState, sameGtidPosition } from './gtid-position.js';
import type { Checkpoint } from './ports.js';
import { formatPosition } from './position.js';
import { describeSource, sameSource, type SourceIdentity } from './source-identity.js';

export interface ContinuityFacts {
  readonly current: SourceIdentity;
  /** Asked when the identities are the same: the server's GTID position at the checkpoint's file:pos (null: it does not know the place). */
  readonly gtidPosAtCheckpoint?: string | null;
  /** Asked when they differ: the server's binlog state (`gtid_binlog_state`; null on MySQL). */
  readonly binlogState?: string | null;
}

export type Continuity =
  | { readonly kind: 'same' }
  | { readonly kind: 'unrecorded' }
  | { readonly kind: 'another-server'; readonly from: SourceIdentity; readonly gtidPos: string }
  | { readonly kind: 'discontinuous'; readonly from: SourceIdentity; readonly reason: string };

/** Which fact `assessContinuity` needs beyond the server's identity. */
export function continuityQuestion(stored: Checkpoint, current: SourceIdentity): 'gtid-position-at-checkpoint' | 'binlog-state' | null {
  if (!stored.source) return null;
  if (sameSource(stored.source, current)) return stored.position.gtidPos !== undefined ? 'gtid-position-at-checkpoint' : null;
  return stored.source.flavor === 'mariadb' && current.flavor === 'mariadb' && stored.position.gtidPos !== undefined ? 'binlog-state' : null;
}

export function assessContinuity(stored: Checkpoint, facts: ContinuityFacts): Continuity {
  const from = stored.source;
  if (!from) return { kind: 'unrecorded' };
  const { current } = facts;
  const gtidPos = stored.position.gtidPos;
  const at = formatPosition(stored.position);
  if (sameSource(from, current)) {
    const there = facts.gtidPosAtCheckpoint;
    if (gtidPos === undefined || there === undefined || (there !== null && sameGtidPosition(there, gtidPos))) return { kind: 'same' };
    if (there === null) {
      return {
        kind: 'discontinuous',
        from,
        reason:
          `it has the same identity, but its binlog has no event group boundary at ${at} (BINLOG_GTID_POS is NULL there): ` +
          'the file was purged, the binlog was reset (RESET MASTER), or it is another server with the same server_id and gtid_domain_id',
      };
    }
    return {
      kind: 'discontinuous',
      from,
      reason:
        `it has the same identity, but its binlog at ${at} is at GTID position "${there}" where the checkpoint recorded "${gtidPos}": ` +
        'it is another server with the same server_id and gtid_domain_id, or its binlog was reset (RESET MASTER) since the checkpoint was stored',
    };
  }
  if (from.flavor === 'mysql' || current.flavor === 'mysql') {
    return {
      kind: 'discontinuous',
      from,
      reason: 'binlog-sync continues a checkpoint on another server by its GTID position, which it records on MariaDB only (on MySQL, gtid_executed is the server\'s state, not a binlog position\'s)',
    };
  }
  if (gtidPos === undefined) {
    return {
      kind: 'discontinuous',
      from,
      reason: 'the checkpoint has no GTID position to look for there (it was stored inside a transaction, after a statement-format change, or where the old server could not tell its GTID position)',
    };
  }
  if (stored.resolvedXa && stored.resolvedXa.length > 0) {
    return {
      kind: 'discontinuous',
      from,
      reason: `a prepared XA transaction holds the checkpoint while the endings of others after it (${stored.resolvedXa.map((r) => `at ${formatPosition(r.at)}`).join(', ')}) are applied already, and those places cannot be found in another server's binlog`,
    };
  }
  const missing = missingFromBinlogState(facts.binlogState ?? '', gtidPos);
  if (missing.length > 0) {
    return {
      kind: 'discontinuous',
      from,
      reason:
        `its binlog lacks ${missing.map(formatGtid).join(', ')} of the checkpoint's GTID position "${gtidPos}" (its gtid_binlog_state is "${facts.binlogState ?? ''}"): ` +
        'the target has transactions this server never had (it was behind when it took over, or took other transactions in their place)',
    };
  }
  return { kind: 'another-server', from, gtidPos };
}

/**
 * The start is refused: the checkpoint belongs to `from`, the server at `endpoint` is `current` and
 * cannot continue it (`reason`). Names both, and what to do.
 */
export function sourceChangedError(pipeline: string, endpoint: string, stored: Checkpoint, current: SourceIdentity, reason: string): BinlogSyncError {
  const from = stored.source;
  const checkpoint = `${formatPosition(stored.position)}${stored.position.gtidPos !== undefined ? `, GTID position "${stored.position.gtidPos}"` : ''}`;
  const owner = from ? describeSource(from) : 'an unrecorded server';
  return new BinlogSyncError(
    'SOURCE_CHANGED',
    `the checkpoint of "${pipeline}" (${checkpoint}) belongs to ${owner}, but the source at ${endpoint} is ${describeSource(current)}, and it cannot continue there: ${reason}. ` +
      'binlog-sync did not start; the target and the checkpoint are unchanged. What to do: if that server is still there, point source.host/source.port back at it; ' +
      'if the target holds the data up to a known binlog position of the new server, rewind there with `binlog-sync run --reset-to FILE:POS --yes`; ' +
      'otherwise re-copy the synced tables from the new server and reset to the binlog position of that copy.',
    { details: { pipeline, checkpoint: formatPosition(stored.position), gtidPos: stored.position.gtidPos ?? null, checkpointSource: from ?? null, source: current, endpoint } },
  );
}
