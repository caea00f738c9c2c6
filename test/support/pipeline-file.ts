/**
 * Pipeline files for unit tests of the config loader: a minimal valid file to extend, and the
 * problems a file is refused with.
 */
import { expect } from 'vitest';
import { parsePipelineConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

export interface PipelineFileParts {
  readonly name?: string;
  /** Lines under `source:` after host, user and serverId (default: `include: ["shop.*"]`). */
  readonly source?: string;
  /** Lines under `target:` after host and user. */
  readonly target?: string;
  /** Top-level sections after `target`. */
  readonly rest?: string;
}

/** A valid pipeline file (YAML text) with `parts` added. */
export function pipelineFile(parts: PipelineFileParts = {}): string {
  return [
    `name: ${parts.name ?? 'unit'}`,
    'source:',
    '  host: 127.0.0.1',
    '  user: sync',
    '  serverId: 5401',
    ...(parts.source ?? 'include: ["shop.*"]').split('\n').map((l) => `  ${l}`),
    'target:',
    '  host: 127.0.0.1',
    '  user: sync',
    ...(parts.target ?? '').split('\n').filter(Boolean).map((l) => `  ${l}`),
    parts.rest ?? '',
  ].join('\n');
}

/** The problems `text` is refused with (fails the test when it is accepted, or refused otherwise). */
export function configProblems(text: string, env: Record<string, string> = {}): readonly string[] {
  try {
    parsePipelineConfig(text, 'p.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.stack ?? '').not.toContain('ZodError');
    return e.problems;
  }
  throw new Error('expected a ConfigError');
}
