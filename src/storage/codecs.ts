import * as binding from '#native';
import type { Codecs } from '../protocol/records.js';
import { native } from './errors.js';

/**
 * Kafka's batch codecs on the native core (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). Snappy
 * output is Xerial-framed like the Java client's; decompress also takes raw and framed snappy.
 * Errors are StorageError: UNSUPPORTED_COMPRESSION_TYPE or CORRUPT_MESSAGE.
 */
export const nativeCodecs: Codecs = {
  compress: (codec, data) => native(() => binding.compress(codec, data)),
  decompress: (codec, data) => native(() => binding.decompress(codec, data)),
};

/** Batch facts reported by `validateBatches`. */
export type BatchInfo = binding.BatchInfo;

/**
 * Validates one or more concatenated RecordBatch v2 (size against `maxBatchBytes`, magic,
 * lengths, CRC32C, record count, records section of uncompressed batches) without copying.
 * Throws StorageError naming the batch, the field and the reason.
 */
export function validateBatches(records: Buffer, maxBatchBytes: number): BatchInfo[] {
  return native(() => binding.validateBatches(records, maxBatchBytes));
}
