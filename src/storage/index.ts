/**
 * The storage layer as the rest of goqueue sees it. Only this folder imports the native binding.
 */

import { nativeBinding } from './native-binding.js';
import { NativeLog } from './native-log.js';
import type { StorageOptions } from './options.js';

export {
  NativeModuleMissingError,
  nativeAvailable,
  nativeBinding,
  nativePlatform,
} from './native-binding.js';

/** CRC32C (Castagnoli) of `bytes` on the native core. */
export function nativeCrc32c(bytes: Buffer): number {
  return nativeBinding().crc32c(bytes);
}

/** Content hashes (8 bytes big-endian each) of the records of one RecordBatch v2, on the native
 * core: key, value and headers (content-hash de-duplication). */
export function recordHashes(batch: Buffer, maxBatchBytes: number): Buffer {
  return nativeBinding().recordHashes(batch, maxBatchBytes);
}

/** Re-encodes one RecordBatch with `codec` on the native core (see crates/goqueue-napi). */
export function recompressBatch(batch: Buffer, codec: number, maxBatchBytes?: number | null): Buffer {
  return nativeBinding().recompressBatch(batch, codec, maxBatchBytes);
}
export {
  type BatchInfo,
  nativeCodecs,
  type RecompressionPlan,
  validateBatches,
  validateProduceBatches,
} from './codecs.js';
export { DataDirectoryLockedError, DirectoryLock } from './directory-lock.js';
export { isNoSpaceError, KAFKA_ERROR_CODE, StorageError, type StorageErrorCode } from './errors.js';
export { MemoryLog } from './memory-log.js';
export { NativeLog, type RecoveryReport, splitBatches } from './native-log.js';
export {
  DEFAULT_INDEX_INTERVAL_BYTES,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_SEGMENT_MS,
  type RetentionPolicy,
  type StorageOptions,
} from './options.js';
export type { AppendResult, PartitionLog } from './partition-log.js';

/** Opens (creating when missing) a partition's native log in `dir`, recovering a torn tail. */
export function openNativeLog(dir: string, options?: StorageOptions): NativeLog {
  return NativeLog.open(dir, options);
}
