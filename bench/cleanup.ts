/**
 * Everything the benchmark starts (MariaDB servers, child processes) registers here, so that a normal
 * end, a failure and Ctrl-C all stop it. Each entry is stopped once, newest first.
 */
type Stopper = () => Promise<void>;

const stoppers = new Map<number, { label: string; stop: Stopper }>();
let nextId = 1;

/** Registers a stop function; returns a function that unregisters it (call after stopping it yourself). */
export function onCleanup(label: string, stop: Stopper): () => void {
  const id = nextId++;
  stoppers.set(id, { label, stop });
  return () => {
    stoppers.delete(id);
  };
}

let chain: Promise<void> = Promise.resolve();

/**
 * Stops everything still registered, newest first; never throws. Calls made while a cleanup runs
 * (Ctrl-C during a failure's cleanup) wait for it, so nobody exits halfway through removing files.
 */
export function cleanupAll(log: (line: string) => void = () => {}): Promise<void> {
  chain = chain.then(async () => {
    const entries = [...stoppers.values()].reverse();
    stoppers.clear();
    for (const { label, stop } of entries) {
      try {
        await stop();
      } catch (err) {
        log(`cleanup: could not stop ${label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  });
  return chain;
}
