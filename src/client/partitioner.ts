/**
 * Partition choice for records without an explicit partition. Keyed records use the Java
 * client's default (`toPositive(murmur2(keyBytes)) % numPartitions`) so a key lands on the same
 * partition as it would with Kafka's own producer; keyless records stick to one partition
 * until a batch for it is sent, then move on (KIP-480's sticky partitioner).
 */

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    // Little-endian 4-byte words, as the Java code assembles them.
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs at -2^31). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for `key`. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}

/** Keyless records: one partition per topic until `onBatchSent`, then another (random) one. */
export class StickyPartitioner {
  private readonly current = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  partition(topic: string, partitionCount: number): number {
    const existing = this.current.get(topic);
    if (existing !== undefined && existing < partitionCount) return existing;
    const chosen = Math.floor(this.random() * partitionCount);
    this.current.set(topic, chosen);
    return chosen;
  }

  /** A batch for `topic` was closed: move new keyless records to a different partition. */
  onBatchSent(topic: string, partitionCount: number): void {
    const previous = this.current.get(topic);
    if (partitionCount <= 1 || previous === undefined) {
      this.current.delete(topic);
      return;
    }
    // Pick uniformly among the other partitions.
    const offset = 1 + Math.floor(this.random() * (partitionCount - 1));
    this.current.set(topic, (previous + offset) % partitionCount);
  }
}
