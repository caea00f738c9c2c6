import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DAEMON_NODE_FLAGS } from '../../../src/cli/node-flags.js';

describe('DAEMON_NODE_FLAGS', () => {
  it('are the flags on the launcher\'s first line (a running process cannot set them)', () => {
    const first = readFileSync(new URL('../../../bin/binlog-sync.js', import.meta.url), 'utf8').split('\n')[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`);
  });
});
