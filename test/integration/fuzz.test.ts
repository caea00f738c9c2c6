/**
 * The differential fuzzer in CI: fixed seeds, one per profile, each comparing the pipeline's target
 * with a native MariaDB replica of the same source (see src/fuzz/). The `rows` seed kills the
 * pipeline with SIGKILL four times during its workload, which includes XA transactions. A failure
 * prints the table, the first differing key with both values and `npm run fuzz -- …` to run the case
 * again.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../src/fuzz/harness.js';
import type { FuzzProfile } from '../../src/fuzz/workload.js';

interface Case {
  readonly seed: number;
  readonly profile: FuzzProfile;
  readonly seconds: number;
  readonly kills: number;
  /** What the seed's schema is chosen for (checked, so a generator change cannot hollow the case out). */
  readonly wants: { foreignKeys: boolean; triggers: boolean };
}

const CASES: readonly Case[] = [
  { seed: 131, profile: 'rows', seconds: 40, kills: 4, wants: { foreignKeys: true, triggers: true } },
  { seed: 125, profile: 'statement-apply', seconds: 20, kills: 1, wants: { foreignKeys: true, triggers: false } },
  { seed: 105, profile: 'statement-stop', seconds: 15, kills: 1, wants: { foreignKeys: true, triggers: true } },
  { seed: 158, profile: 'row-image', seconds: 15, kills: 1, wants: { foreignKeys: true, triggers: true } },
];

describe('differential fuzzer: the pipeline target equals a native replica', () => {
  for (const c of CASES) {
    it(`seed ${c.seed}, ${c.profile}, ${c.seconds} s, ${c.kills} kill -9`, async () => {
      const lines: string[] = [];
      const report = await runFuzz({ seed: c.seed, durationMs: c.seconds * 1000, profile: c.profile, kills: c.kills, sessions: 3, log: (l) => lines.push(l) });
      expect(report.problems, `${report.problems.join('\n')}\n${lines.join('\n')}\nreproduce: ${report.repro}\npipeline log: ${report.logFile}`).toEqual([]);
      expect(report.schema.tables.some((t) => t.foreignKeys.length > 0)).toBe(c.wants.foreignKeys);
      expect(report.schema.triggers.length > 0).toBe(c.wants.triggers);
      expect(report.workload?.stats.committed ?? 0).toBeGreaterThan(200);
      expect(report.workload?.stats.keyChanges ?? 0).toBeGreaterThan(20);
      if (c.profile === 'statement-apply') expect(report.workload?.stats.statementFormatTx ?? 0).toBeGreaterThan(20);
      if (c.profile === 'rows') {
        // XA transactions of every ending, under the same kill -9 restarts.
        expect(report.workload?.stats.xaCommitted ?? 0).toBeGreaterThan(10);
        expect(report.workload?.stats.xaRolledBack ?? 0).toBeGreaterThan(5);
        expect(report.workload?.stats.xaOnePhase ?? 0).toBeGreaterThan(5);
        expect(report.workload?.stats.bulkInserts ?? 0).toBeGreaterThan(5);
        expect(report.workload?.stats.rotations ?? 0).toBeGreaterThan(0);
      }
      if (c.profile === 'statement-stop' || c.profile === 'row-image') expect(report.workload?.change).not.toBeNull();
      // A stop profile stops by design, often before its last kill moment comes.
      if (c.profile === 'rows' || c.profile === 'statement-apply') expect(report.kills).toBe(c.kills);
      else expect(report.kills).toBeLessThanOrEqual(c.kills);
    }, 300_000);
  }
});
