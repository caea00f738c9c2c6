/**
 * Snapshot progress on a terminal: a bar per table (rows copied of the source's estimate, rows/s,
 * ETA), drawn by cli-progress on stderr. Not on a terminal, nothing is drawn: the snapshot's own log
 * lines and the periodic progress lines say the same in a structured way.
 */
import cliProgress from 'cli-progress';
import type { SnapshotProgress, SnapshotTableProgress } from '../core/ports.js';

export interface SnapshotBars {
  readonly onProgress: (progress: SnapshotProgress, table: SnapshotTableProgress) => void;
  stop(): void;
}

/** Bars when stderr is a terminal, else null. */
export function snapshotBars(stream: NodeJS.WriteStream = process.stderr): SnapshotBars | null {
  if (!stream.isTTY) return null;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      etaBuffer: 20,
      format: '{table} |{bar}| {percentage}% {value}/{total} rows, {speed} rows/s, ETA {eta_formatted}',
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; startedAt: number; startRows: number }>();
  return {
    onProgress: (_progress, t) => {
      let entry = bars.get(t.table);
      if (!entry) {
        entry = { bar: multi.create(Math.max(t.estimatedRows, t.rows, 1), t.rows, { table: t.table.padEnd(24), speed: 0 }), startedAt: Date.now(), startRows: t.rows };
        bars.set(t.table, entry);
      }
      const seconds = Math.max(0.001, (Date.now() - entry.startedAt) / 1000);
      const total = t.done ? t.rows : Math.max(t.estimatedRows, t.rows + 1);
      entry.bar.setTotal(Math.max(total, 1));
      entry.bar.update(t.rows, { table: t.table.padEnd(24), speed: Math.round((t.rows - entry.startRows) / seconds) });
    },
    stop: () => multi.stop(),
  };
}
