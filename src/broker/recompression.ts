import type { BrokerConfig } from '../config/types.js';
import { recompressBatch } from '../storage/index.js';
import type { ValidatedBatch } from './storage.js';

/** Kafka codec ids by `compression.type` / `compression_type` word (`uncompressed` is Kafka's
 * older spelling of `none`). `producer` is absent: it keeps whatever the producer sent. */
const CODEC_IDS: Readonly<Record<string, number>> = {
  none: 0,
  uncompressed: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

/** RecordBatch v2 header bytes before the records section. */
const BATCH_HEADER_BYTES = 61;
/** Codec bits of a batch's attributes. */
const CODEC_MASK = 0x07;
/** Transactional (0x10) and control (0x20) batches keep their bytes. */
const KEEP_AS_SENT_MASK = 0x30;

/**
 * What the broker does to the batches of one topic: store them with `codec` when their records
 * section (as sent) holds at least `thresholdBytes`, or store everything as sent (`null`).
 */
export interface RecompressionPolicy {
  codec: number;
  thresholdBytes: number;
}

/**
 * The policy of a topic. A topic-level `compression.type` decides alone, Kafka's way, with no
 * threshold: `producer` stores batches as sent, any codec is applied to every batch. Without a
 * topic override the broker keys decide: with `compression_enabled` and a `compression_type`
 * other than `producer`, batches whose records section is at least `compression_threshold`
 * bytes are stored with `compression_type`; otherwise batches are stored as sent.
 */
export function recompressionPolicy(
  topicOverrides: Readonly<Record<string, string>>,
  broker: Pick<BrokerConfig, 'compressionEnabled' | 'compressionType' | 'compressionThresholdBytes'>,
): RecompressionPolicy | null {
  const override = topicOverrides['compression.type'];
  if (override !== undefined) {
    const codec = CODEC_IDS[override];
    return codec === undefined ? null : { codec, thresholdBytes: 0 };
  }
  if (!broker.compressionEnabled) return null;
  const codec = CODEC_IDS[broker.compressionType];
  return codec === undefined ? null : { codec, thresholdBytes: broker.compressionThresholdBytes };
}

/** Whether `policy` changes the stored bytes of a validated batch. */
export function needsRecompression(policy: RecompressionPolicy, batch: ValidatedBatch): boolean {
  return (
    (batch.attributes & KEEP_AS_SENT_MASK) === 0 &&
    (batch.attributes & CODEC_MASK) !== policy.codec &&
    batch.byteLength - BATCH_HEADER_BYTES >= policy.thresholdBytes
  );
}

/**
 * Applies `policy` to the batches about to be appended to one partition. Batches it leaves
 * alone are returned as the same Buffer objects (no copy; when none changes, the same array);
 * the others are rewritten natively. The input array is not modified. Throws (with a storage error `code`: MESSAGE_TOO_LARGE when
 * a rewritten batch exceeds `maxBatchBytes`, CORRUPT_MESSAGE or INVALID_RECORD when compressed
 * records do not decode) before anything is stored, so the partition's produce fails whole.
 */
export function recompressBatches(
  policy: RecompressionPolicy,
  batches: readonly Buffer[],
  infos: readonly ValidatedBatch[],
  maxBatchBytes: number,
): readonly Buffer[] {
  let out: Buffer[] | null = null;
  for (let i = 0; i < batches.length; i++) {
    if (needsRecompression(policy, infos[i]!)) {
      out ??= batches.slice();
      out[i] = recompressBatch(batches[i]!, policy.codec, maxBatchBytes);
    }
  }
  return out ?? batches;
}
