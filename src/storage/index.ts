/**
 * The storage layer as the rest of goqueue sees it. Only this folder imports the native binding.
 */
import { NativeLog } from './native-log.js';
import type { StorageOptions } from './options.js';

export { crc32c as nativeCrc32c, recompressBatch } from '#native';
export { type BatchInfo, nativeCodecs, validateBatches } from './codecs.js';
export { DataDirectoryLockedError, DirectoryLock } from './directory-lock.js';
export { KAFKA_ERROR_CODE, StorageError, type StorageErrorCode } from './errors.js';
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
