/** Flattens a source's batches into single events (for tests that look at events one by one). */
export async function* eachEvent<T>(batches: AsyncIterable<readonly T[]>): AsyncGenerator<T, void, undefined> {
  for await (const batch of batches) yield* batch;
}
