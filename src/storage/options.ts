/** Options of a partition log; every field has a default. */
export interface StorageOptions {
  /** Roll a new segment before one grows past this (default 1 GiB). */
  segmentBytes?: number;
  /** Roll a new segment once the active one is this old; 0 or less = never (default 7 days). */
  segmentMs?: number;
  /** Largest accepted batch, header included (default 1 MiB; lowered to `segmentBytes` so every
   * batch fits a segment). */
  maxBatchBytes?: number;
  /** Bytes between sparse index entries; 0 = one entry per batch (default 4096). */
  indexIntervalBytes?: number;
}

export const DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_SEGMENT_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_INDEX_INTERVAL_BYTES = 4096;

/** Options with defaults filled in (the native core checks ranges and combinations). */
export function resolveOptions(options: StorageOptions = {}): Required<StorageOptions> {
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  return {
    segmentBytes,
    segmentMs: Math.max(0, options.segmentMs ?? DEFAULT_SEGMENT_MS),
    maxBatchBytes: Math.min(options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES, segmentBytes),
    // A topic may ask for segments smaller than the default interval (segment.bytes >= 1 KiB).
    indexIntervalBytes: options.indexIntervalBytes ?? Math.min(DEFAULT_INDEX_INTERVAL_BYTES, segmentBytes),
  };
}

/** Retention policy for `applyRetention`. */
export interface RetentionPolicy {
  /** Wall-clock now, compared with each segment's max timestamp. */
  nowMs: number;
  /** Drop segments whose newest batch is older than this; -1 = no time limit. */
  retentionMs: number;
  /** Drop the oldest segments while the log stays at or above this size; -1 = no size limit. */
  retentionBytes: number;
  /** Never drop an entry at or after this index (e.g. not yet committed or snapshotted). */
  keepFrom?: number;
}
