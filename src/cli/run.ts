/**
 * `binlog-sync run --config FILE [--reset-to FILE:POS --yes]`: the sync daemon.
 * Preflight (refuses to start on a hard failure), lock the pipeline name, resolve the start, run until
 * SIGTERM/SIGINT, drain, store a final checkpoint, exit 0. A second signal exits at once.
 */
import { loadPipelineConfig } from '../config/load.js';
import { createLogger, type Logger } from '../core/log.js';
import { formatPosition, parsePosition } from '../core/position.js';
import { runKafkaMode, runPipeline, type KafkaRole } from '../assembly/index.js';
import { configPath, parseCommandArgs, UsageError } from './args.js';
import { snapshotBars } from './snapshot-bars.js';
import { DaemonObservability, countLoggedProblems } from '../observability/daemon.js';
import { PrometheusMetrics } from '../observability/metrics.js';

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', argv, {
    config: { type: 'string', short: 'c' },
    'reset-to': { type: 'string' },
    yes: { type: 'boolean', default: false },
    'progress-interval': { type: 'string' },
  });
  const file = configPath('run', values, positionals);
  const resetTo = values['reset-to'] ? parsePosition(values['reset-to']) : null;
  if (resetTo && !values.yes) {
    throw new UsageError(
      `run --reset-to ${formatPosition(resetTo)} rewinds the stored checkpoint: changes after it are applied again (idempotently), changes before it are never read. Add --yes to confirm.`,
    );
  }
  const config = await loadPipelineConfig(file);
  const metrics = config.metrics.port !== undefined ? new PrometheusMetrics() : null;
  const logger = createLogger({ name: config.name, ...(metrics ? { onProblem: countLoggedProblems(metrics) } : {}) });
  const progress = values['progress-interval'] ? Number(values['progress-interval']) : undefined;
  if (config.transport.kind === 'kafka') {
    if (resetTo) throw new UsageError('run --reset-to is for the embedded transport; in Kafka mode the publisher position lives in Kafka (a new topic starts from source.start)');
    return withStopSignals(logger, (signal) => runKafkaMode({ config, logger, signal, role: 'both', ...(progress ? { progressEveryMs: progress } : {}) }));
  }
  const observer = new DaemonObservability(metrics, config, logger);
  await observer.listen();
  const bars = snapshotBars();
  try {
    return await withStopSignals(logger, (signal) =>
      runPipeline({
        config,
        logger,
        signal,
        resetTo,
        ...(progress ? { progressEveryMs: progress } : {}),
        ...(bars ? { onSnapshotProgress: bars.onProgress } : {}),
        observer,
      }),
    );
  } finally {
    bars?.stop();
    await observer.close();
  }
}

/**
 * Runs `body` until it ends or SIGTERM/SIGINT aborts its signal (it then drains and stores its
 * position); a second signal exits at once. Resolves with exit code 0.
 */
export async function withStopSignals(logger: Logger, body: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      logger.info({ signal: sig }, 'stopping: draining in-flight changes and storing a final checkpoint (send again to exit at once)');
      ac.abort();
    } else {
      logger.warn('second signal: exiting without draining (the stored checkpoint stays valid)');
      process.exit(130);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await body(ac.signal);
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    logger.flush?.();
  }
}

/** `binlog-sync source|sink --config FILE`: one half of Kafka mode (see kafka-mode.ts). */
export function kafkaRoleCommand(role: Exclude<KafkaRole, 'both'>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const { values, positionals } = parseCommandArgs(role, argv, { config: { type: 'string', short: 'c' }, 'progress-interval': { type: 'string' } });
    const config = await loadPipelineConfig(configPath(role, values, positionals));
    if (config.transport.kind !== 'kafka') {
      throw new UsageError(`${role}: the pipeline file uses transport.kind: ${config.transport.kind}; \`binlog-sync ${role}\` is one half of Kafka mode (transport.kind: kafka). Use \`binlog-sync run\` for the embedded transport.`);
    }
    const logger = createLogger({ name: config.name });
    const progress = values['progress-interval'] ? Number(values['progress-interval']) : undefined;
    return withStopSignals(logger, (signal) => runKafkaMode({ config, logger, signal, role, ...(progress ? { progressEveryMs: progress } : {}) }));
  };
}
