/** `binlog-sync check --config FILE`: the preflight checklist; exit 3 on a hard failure. */
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { formatPreflightReport, runPreflight } from '../preflight/index.js';
import { configPath, parseCommandArgs } from './args.js';
import { openConnectors } from '../assembly/index.js';
import { sameSource } from '../core/source-identity.js';

export async function checkCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('check', argv, { config: { type: 'string', short: 'c' } });
  const config = await loadPipelineConfig(configPath('check', values, positionals));
  // The stored checkpoint (if the target is reachable) is the position `run` would start from, if it
  // is a place of this source's binlog (another server's is for `run` to continue or refuse).
  let checkpoint = null;
  try {
    const c = await openConnectors(config, createLogger({ name: config.name, level: 'silent' }), { sink: false, oneShot: true });
    try {
      const stored = await c.checkpoints.load(config.name);
      checkpoint = stored && (!stored.source || sameSource(stored.source, await c.source.identity())) ? stored : null;
    } finally {
      await c.close();
    }
  } catch {
    // Unreachable target: the checklist reports it with its fix.
  }
  const report = await runPreflight(config, checkpoint ? { checkpoint: checkpoint.position } : {});
  console.log(formatPreflightReport(report));
  return report.hasHardFailure ? 3 : 0;
}
