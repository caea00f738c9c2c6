/**
 * Waiting on a condition instead of sleeping: a test that sleeps and then asserts is slow when the
 * machine is fast and flaky when it is slow. `waitFor` polls until the condition holds and fails with
 * `what` (and the last value or error seen) when it does not within `timeoutMs`.
 */
export interface WaitOptions {
  /** What is waited for, for the failure message ("the checkpoint to reach mysql-bin.000002:4"). */
  readonly what: string;
  readonly timeoutMs?: number;
  /** Between polls; default 50 ms. */
  readonly intervalMs?: number;
}

/**
 * Resolves with the condition's first truthy result. A condition that throws counts as not yet true
 * (a server that is still starting); the last error is in the failure message.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  let lastError: unknown = undefined;
  for (;;) {
    try {
      last = await condition();
      lastError = undefined;
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = lastError !== undefined ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what} (${seen})`, lastError !== undefined ? { cause: lastError } : undefined);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

/** `promise`, or a failure naming `what` if it does not settle within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
