import type * as binding from '#native';
import type { Codecs } from '../protocol/records.js';
import { native } from './errors.js';
import { nativeBinding } from './native-binding.js';

/**
 * Kafka's batch codecs on the native core (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). Snappy
 * output is Xerial-framed like the Java client's; decompress also takes raw and framed snappy.
 * Errors are StorageError: UNSUPPORTED_COMPRESSION_TYPE or CORRUPT_MESSAGE.
 */
export const nativeCodecs: Codecs = {
  compress: (codec, data) => {
    const { compress } = nativeBinding();
    return native(() => compress(codec, data));
  },
  decompress: (codec, data) => {
    const { decompress } = nativeBinding();
    return native(() => decompress(codec, data));
  },
};

/** Batch facts reported by `validateBatches`. */
export type BatchInfo = binding.BatchInfo;

/**
 * Validates one or more concatenated RecordBatch v2 (size against `maxBatchBytes`, magic,
 * lengths, CRC32C, record count, records section of uncompressed batches) without copying.
 * Throws StorageError naming the batch, the field and the reason.
 */
export function validateBatches(records: Buffer, maxBatchBytes: number): BatchInfo[] {
  const { validateBatches } = nativeBinding();
  return native(() => validateBatches(records, maxBatchBytes));
}

/** The compression a broker applies to a topic's batches (`compression.type`, threshold). */
export type RecompressionPlan = binding.RecompressionPlan;

/**
 * `validateBatches` for a produce: also streams the records of every compressed batch through
 * its decoder (within the decompression cap for `maxBatchBytes`) and requires exactly
 * `recordsCount` well-formed records, so a batch cannot claim offsets it does not fill. Batches
 * `plan` will recompress are left to the recompression, which decodes and checks them anyway.
 */
export function validateProduceBatches(
  records: Buffer,
  maxBatchBytes: number,
  plan?: RecompressionPlan | null,
): BatchInfo[] {
  const { validateProduceBatches } = nativeBinding();
  return native(() => validateProduceBatches(records, maxBatchBytes, plan ?? null));
}
