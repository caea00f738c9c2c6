/**
 * `npm run fuzz -- --seed S --minutes M [--profile P] [--kills N] [--sessions N] [--runs N]`: the
 * differential fuzzer. With `--runs`, seeds S, S+1, … run one after another. Exits 1 if any run found
 * a difference, after printing the seed, the table, the first differing key with both values, and
 * the command that reproduces it.
 */
import { parseArgs } from 'node:util';
import { runFuzz, stopRunsInProgress } from './harness.js';
import { FUZZ_PROFILES, type FuzzProfile } from './workload.js';

const USAGE = `usage: npm run fuzz -- [--seed S] [--minutes M] [--profile auto|${FUZZ_PROFILES.join('|')}] [--kills N] [--sessions N] [--runs N]`;

function positive(name: string, text: string, integer: boolean): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) throw new Error(`--${name} ${text}: expected a ${integer ? 'whole ' : ''}number ≥ 0\n${USAGE}`);
  return v;
}

let interrupted = false;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      minutes: { type: 'string', default: '1' },
      profile: { type: 'string', default: 'auto' },
      kills: { type: 'string', default: '3' },
      sessions: { type: 'string', default: '3' },
      runs: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const profile = values.profile as FuzzProfile | 'auto';
  if (profile !== 'auto' && !FUZZ_PROFILES.includes(profile)) throw new Error(`--profile ${profile}: expected auto or one of ${FUZZ_PROFILES.join(', ')}`);
  const first = positive('seed', values.seed, true);
  const runs = Math.max(1, positive('runs', values.runs, true));
  const durationMs = positive('minutes', values.minutes, false) * 60_000;
  const failed: string[] = [];
  for (let seed = first; seed < first + runs; seed++) {
    const started = Date.now();
    const report = await runFuzz({ seed, durationMs, profile, kills: positive('kills', values.kills, true), sessions: Math.max(1, positive('sessions', values.sessions, true)) });
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    if (interrupted) break; // the servers went away under the run: its verdict would be noise
    if (report.ok) {
      console.log(`[fuzz] seed ${seed} (${report.profile}): OK in ${secs} s, ${report.kills} kill -9`);
    } else {
      failed.push(report.repro);
      console.log(`[fuzz] seed ${seed} (${report.profile}): FAILED in ${secs} s`);
      for (const p of report.problems) console.log(p.split('\n').map((l) => `  ${l}`).join('\n'));
      console.log(`  pipeline log: ${report.logFile}`);
      console.log(`  reproduce: ${report.repro}`);
    }
  }
  console.log(`[fuzz] ${runs - failed.length} of ${runs} runs equal to the native replica${failed.length > 0 ? `; failing: \n  ${failed.join('\n  ')}` : ''}`);
  return failed.length === 0 ? 0 : 1;
}

// An interrupted fuzzer stops the servers and the pipeline it started, instead of leaving them running.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.log(`[fuzz] ${signal}: stopping the servers and the pipeline of the run in progress`);
    void stopRunsInProgress().finally(() => process.exit(code));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  },
);
