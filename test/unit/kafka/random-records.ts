/** Seeded random Kafka records for the record batch tests (encoder and decoder): every shape kafkajs takes. */
import type { RecordInput } from '../../../connectors/kafka/record-batch-fastpath.js';

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

export function randomText(rand: () => number, n: number): string {
  const chars = ['a', 'Z', '0', '"', '\\', 'é', 'Ж', '日', '🚀', '\u0000', '{'];
  let s = '';
  for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)];
  return s;
}

/** Sizes around the 1-, 2- and 3-byte varint boundaries (63/64, 8191/8192), and larger ones. */
const SIZES = [0, 1, 63, 64, 200, 8191, 8192, 20_000];

function randomPayload(rand: () => number, sizes: number): string | Buffer | null {
  const r = rand();
  const n = SIZES[Math.floor(rand() * sizes)]!;
  if (r < 0.1) return null;
  return r < 0.6 ? randomText(rand, Math.ceil(n / 3)) : randomBytes(rand, n);
}

/**
 * A random record: keys and values null, text or bytes (of the first `sizes` of SIZES), up to three
 * headers (arrays, empty values, names that are also Object.prototype's), offset and timestamp deltas
 * of every varint width. (kafkajs cannot size a null header value: not drawn.)
 */
export function randomRecord(rand: () => number, i: number, sizes = SIZES.length): RecordInput {
  const headers: Record<string, string | Buffer | string[]> = {};
  const nh = Math.floor(rand() * 4);
  for (let h = 0; h < nh; h++) {
    const name = rand() < 0.2 ? ['binlog-sync.tx', 'toString', '1', 'constructor'][h]! : `binlog-sync.${randomText(rand, 1 + Math.floor(rand() * 8))}`;
    const r = rand();
    headers[name] = r < 0.3 ? [randomText(rand, 5), '', 'x'] : r < 0.7 ? randomText(rand, 30) : randomBytes(rand, 12);
  }
  const deltas = [0, 1, 63, 64, 8191, 8192, 1_000_000, 2 ** 31 + 5, 2 ** 40, 2 ** 50, -1, -64, -(2 ** 35), -(2 ** 52)];
  return {
    key: randomPayload(rand, sizes),
    value: randomPayload(rand, sizes),
    headers,
    offsetDelta: rand() < 0.8 ? i : [0, 1, 63, 64, 8191, 8192, 1_000_000, 2 ** 31 - 1][Math.floor(rand() * 8)]!,
    timestampDelta: deltas[Math.floor(rand() * deltas.length)]!,
  };
}
