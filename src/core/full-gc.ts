/**
 * A full, synchronous garbage collection, available whether or not node was started with `--expose-gc`
 * (the launcher sets it, but `node bin/binlog-sync.js`, the container image and the tests may not):
 * the flag can be turned on at run time, and a fresh context then holds the `gc` function.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

export function fullGc(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
