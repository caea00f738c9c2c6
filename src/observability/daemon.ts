/**
 * The daemon's observability, as `metrics` in the pipeline file asks: the Prometheus registry, the HTTP
 * endpoint, and the health monitor attached to the pipeline once it runs (before that, and after it
 * stopped, /readyz answers 503 and /healthz 200).
 */
import type { PipelineConfig } from '../config/schema.js';
import type { Logger, LogProblemListener } from '../core/log.js';
import { HealthMonitor, type MonitoredPipeline, type MonitoredSource } from './health-monitor.js';
import { noMetrics, type Metrics, type PrometheusMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import type { Readiness } from './readiness.js';
import { RetentionWatch } from './retention-watch.js';

/** What `runPipeline` needs: the metrics the pipeline counts into, and a monitor for the running pipeline. */
export interface PipelineObserver {
  readonly metrics: Metrics;
  /** Watches `pipeline` until the returned function is called. */
  attach(pipeline: MonitoredPipeline, source: MonitoredSource): () => void;
}

/**
 * Counts warn/error log records: by their `code` (errors_total), and as a retry when they say an
 * attempt is made again (`attempt`: the target's retry loop; `retryInMs`: a binlog reconnect).
 */
export function countLoggedProblems(metrics: Metrics): LogProblemListener {
  return (fields, bindings) => {
    if (typeof fields.code === 'string') metrics.problem(fields.code);
    else if (typeof fields.errorClass === 'string') metrics.problem(`TARGET_${fields.errorClass.toUpperCase().replace(/-/g, '_')}`);
    if (typeof fields.attempt === 'number' || typeof fields.retryInMs === 'number') {
      metrics.retry(typeof bindings.component === 'string' ? bindings.component : 'pipeline');
    }
  };
}

/**
 * Without metrics.port the daemon still watches binlog retention (a log warning), asking the source
 * once a minute; with it, every 5 s for lag in bytes as well.
 */
const PROBE_WITHOUT_METRICS_MS = 60_000;

export class DaemonObservability implements PipelineObserver {
  readonly metrics: Metrics;
  private monitor: HealthMonitor | null = null;
  private server: MetricsServer | null = null;
  private readonly retention: RetentionWatch;

  constructor(
    private readonly prometheus: PrometheusMetrics | null,
    private readonly config: Pick<PipelineConfig, 'metrics' | 'source'>,
    private readonly logger: Logger,
  ) {
    this.metrics = prometheus ?? noMetrics;
    this.retention = new RetentionWatch(this.metrics, logger.child({ component: 'retention' }));
  }

  /** Starts serving when metrics.port is set; fails with a message naming metrics.host/port when the port cannot be had. */
  async listen(): Promise<string | null> {
    const port = this.config.metrics.port;
    if (port === undefined || !this.prometheus) return null;
    this.server = await startMetricsServer({ host: this.config.metrics.host, port, metrics: this.prometheus, readiness: () => this.readiness(), logger: this.logger });
    return this.server.url;
  }

  attach(pipeline: MonitoredPipeline, source: MonitoredSource): () => void {
    const monitor = new HealthMonitor({
      pipeline,
      source,
      silentAfterMs: this.config.source.silentAfterMs,
      logger: this.logger,
      onInventory: (inventory, stats) => this.retention.observe(inventory, stats),
      ...(this.prometheus ? {} : { probeEveryMs: PROBE_WITHOUT_METRICS_MS }),
    }).start();
    this.monitor = monitor;
    this.prometheus?.setSampler(() => monitor.sample());
    return () => {
      monitor.stop();
      if (this.monitor === monitor) {
        this.monitor = null;
        this.prometheus?.setSampler(null);
      }
    };
  }

  readiness(): Readiness {
    return this.monitor?.readiness() ?? { ready: false, reasons: ['the pipeline is not running (preflight and start, or stopped)'] };
  }

  async close(): Promise<void> {
    this.monitor?.stop();
    await this.server?.close();
  }
}
