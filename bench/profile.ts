/** Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): top self-time frames and time per package. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileFrame {
  readonly frame: string;
  readonly selfPct: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Sampled time minus (idle) and (program). */
  readonly busyMs: number;
  /** Share of non-idle time. */
  readonly top: readonly ProfileFrame[];
  readonly byPackage: readonly ProfileFrame[];
}

function where(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const i = url.search(/\/(dist|src|connectors|bench)\//);
  if (i >= 0) return url.slice(i + 1);
  return url.replace(/^file:\/\//, '');
}

function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node core';
  const w = where(url);
  const m = /^(@[^/]+\/[^/]+|[^/]+)\//.exec(w);
  if (url.includes('node_modules/')) return m?.[1] ?? w;
  if (/^dist\/(connectors|src|bench)\//.test(w)) return `binlog-sync ${w.split('/')[1]}`;
  return w;
}

export async function summariseProfile(file: string, topN = 15): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, p.timeDeltas[i] ?? 0));
    }
  } else {
    for (const n of p.nodes) self.set(n.id, n.hitCount ?? 0);
  }
  const frames = new Map<string, number>();
  const packages = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    busy += us;
    const name = `${functionName || '(anonymous)'}${url ? ` ${where(url)}:${lineNumber + 1}` : ''}`;
    frames.set(name, (frames.get(name) ?? 0) + us);
    const pkg = functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const rank = (m: Map<string, number>, n: number): ProfileFrame[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([frame, us]) => ({ frame, selfPct: busy ? (100 * us) / busy : 0 }));
  return { file, totalMs: total / 1000, busyMs: busy / 1000, top: rank(frames, topN), byPackage: rank(packages, 10) };
}

/** The newest `.cpuprofile` in a directory. */
export async function newestProfile(dir: string): Promise<string | null> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length ? join(dir, files[files.length - 1]!) : null;
}
