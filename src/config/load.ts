/**
 * Reads a pipeline file: YAML → `${VAR}` interpolation → validation → defaults → deep freeze.
 * Every problem in the file is reported at once, each with its YAML path, in one `ConfigError`; a YAML
 * syntax error names file:line:col. Nothing here throws anything else for a bad file.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { BinlogSyncError, ConfigError, describeError } from '../core/errors.js';
import { Interpolated, UNKNOWN_KEYS_MARKER, pipelineSchema, type PipelineConfig } from './schema.js';

export type Env = Readonly<Record<string, string | undefined>>;
type PathKey = PropertyKey;

/** `source.keys["shop.orders"][0]`: dotted keys, bracketed indexes, quoted keys that would be ambiguous. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else {
      const s = String(k);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out === '' ? '(top level)' : out;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` (default also used when VAR is empty, as in the shell) in
 * one string; `$$` is a literal `$`. Returns the text and whether anything came from the environment.
 */
export function interpolate(
  raw: string,
  env: Env,
  onProblem: (message: string) => void,
): { text: string; interpolated: boolean } {
  let out = '';
  let interpolated = false;
  let i = 0;
  while (i < raw.length) {
    const ch = raw[i]!;
    if (ch !== '$') {
      out += ch;
      i += 1;
      continue;
    }
    const next = raw[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      out += '$';
      i += 1;
      continue;
    }
    const close = raw.indexOf('}', i + 2);
    if (close < 0) {
      onProblem(`unterminated "\${" in ${JSON.stringify(raw)} (write $$ for a literal $)`);
      return { text: raw, interpolated: false };
    }
    const body = raw.slice(i + 2, close);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
    if (!m) {
      onProblem(`"\${${body}}" is not a variable reference: expected \${NAME} or \${NAME:-default} (write $$ for a literal $)`);
      out += raw.slice(i, close + 1);
    } else {
      const name = m[1]!;
      const fallback = m[2];
      const value = env[name];
      if (fallback !== undefined) out += value === undefined || value === '' ? fallback : value;
      else if (value !== undefined) out += value;
      else onProblem(`environment variable ${name} is not set (used as \${${name}}; set it, or give a default: \${${name}:-value})`);
      interpolated = true;
    }
    i = close + 1;
  }
  return { text: out, interpolated };
}

/** Interpolates every string value (not keys) of a parsed YAML tree; strings that used `${…}` are boxed. */
function interpolateTree(value: unknown, env: Env, path: PathKey[], problems: string[]): unknown {
  if (typeof value === 'string') {
    const r = interpolate(value, env, (msg) => problems.push(`${formatPath(path)}: ${msg}`));
    return r.interpolated ? new Interpolated(r.text) : r.text;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, env, [...path, i], problems));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    // `key:` with nothing after it (null) counts as not given: optional keys take their default.
    // Except in `mask`, where `column: null` is a value (mask to NULL).
    const nullIsValue = path[path.length - 1] === 'mask';
    for (const [k, v] of Object.entries(value)) if (v !== null || nullIsValue) out[k] = interpolateTree(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known key closest to a misspelt one, if it is close enough to be a plausible typo. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  // An abbreviation (`pos` for `position`) is as likely a slip as a typo.
  const abbreviated = lower.length >= 3 ? known.filter((k) => k.toLowerCase().startsWith(lower)) : [];
  if (abbreviated.length === 1) return abbreviated[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function issueProblems(issue: z.core.$ZodIssue, base: readonly PathKey[]): string[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys' && issue.message.startsWith(UNKNOWN_KEYS_MARKER)) {
    const known = JSON.parse(issue.message.slice(UNKNOWN_KEYS_MARKER.length)) as string[];
    return issue.keys.map((key) => {
      const guess = suggestKey(key, known);
      return `${formatPath([...path, key])}: unknown key${guess ? ` (did you mean "${guess}"?)` : ` (expected one of: ${known.join(', ')})`}`;
    });
  }
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
    return issue.issues.flatMap((e) => issueProblems(e, path));
  }
  return [`${formatPath(path)}: ${issue.message}`];
}

/** Validates an already-parsed (and not yet interpolated) YAML value. */
function validate(raw: unknown, fileLabel: string, env: Env): PipelineConfig {
  const problems: string[] = [];
  const interpolated = interpolateTree(raw, env, [], problems);
  // A value whose interpolation failed already has its problem; its validation would only repeat it.
  const failed = problems.map((p) => p.slice(0, p.indexOf(': ') + 2));
  const result = pipelineSchema.safeParse(interpolated, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(...issueProblems(issue, []).filter((p) => !failed.some((f) => p.startsWith(f))));
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(fileLabel, dedupe(problems));
  return deepFreeze(result.data) as PipelineConfig;
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses pipeline YAML text. `fileLabel` names the file in messages. Throws `ConfigError` listing every
 * problem (YAML syntax errors as `file:line:col: message`).
 */
export function parsePipelineConfig(text: string, fileLabel: string, env: Env = process.env): PipelineConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // One syntax error tends to cascade into many on the same line: keep the first per line.
    const byLine = new Map<number, string>();
    for (const e of doc.errors) {
      const at = e.linePos?.[0] ?? { line: 0, col: 0 };
      if (byLine.has(at.line)) continue;
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      byLine.set(at.line, `${fileLabel}:${at.line}:${at.col}: YAML syntax error: ${message}`);
    }
    const problems = [...byLine.values()];
    if (problems.length > 10) problems.splice(10, problems.length - 10, `… and ${problems.length - 10} more lines with YAML errors`);
    throw new ConfigError(fileLabel, problems);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) {
    throw new ConfigError(fileLabel, ['(top level): the file is empty: expected a mapping with name, source and target (see config/example.yaml)']);
  }
  return validate(raw, fileLabel, env);
}

/** Reads and validates a pipeline file. Throws `CONFIG_NOT_FOUND` (a `BinlogSyncError`) or `ConfigError`. */
export async function loadPipelineConfig(file: string, env: Env = process.env): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new BinlogSyncError('CONFIG_NOT_FOUND', `pipeline file not found: ${file} (start from config/example.yaml)`, {
        cause: err,
        details: { file },
      });
    }
    throw new ConfigError(file, [`cannot read the file: ${describeError(err)}`], err);
  }
  return parsePipelineConfig(text, file, env);
}

export type { PipelineConfig, SourceConfig, TargetConfig, StartConfig, SnapshotMode } from './schema.js';
export { snapshotMode, startSetting } from './schema.js';
