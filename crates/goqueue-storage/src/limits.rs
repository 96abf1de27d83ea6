//! Named limits, all checked in `Limits::validate` (options) and `check_batch_size` (appends).

use crate::error::{Result, StorageError};

/// Smallest well-formed RecordBatch v2: the 61-byte header with no records.
pub const BATCH_HEADER_BYTES: usize = 61;
/// Hard ceiling for one batch, whatever the options say (Kafka's int32 batchLength).
pub const MAX_BATCH_BYTES_CEILING: usize = i32::MAX as usize;
/// Segment files address positions with u32 in the index, so a segment stays below 4 GiB.
pub const MAX_SEGMENT_BYTES_CEILING: u64 = u32::MAX as u64;
/// Smallest segment size accepted (keeps tests able to roll often, rejects nonsense).
pub const MIN_SEGMENT_BYTES: u64 = 1024;
/// Records in one batch: Kafka's lastOffsetDelta is an int32.
pub const MAX_RECORDS_PER_BATCH: i64 = i32::MAX as i64;
/// Offsets and indexes stay below 2^53 so JavaScript numbers hold them exactly.
pub const MAX_SAFE_NUMBER: u64 = (1 << 53) - 1;

/// Per-log limits, given at open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Roll a new segment before a segment would grow past this.
    pub segment_bytes: u64,
    /// Roll a new segment when the active one's first batch is older than this (0 = never by age).
    pub segment_ms: u64,
    /// Largest accepted batch (bytes, header included).
    pub max_batch_bytes: usize,
    /// Bytes between two sparse index entries (0 = an entry for every batch).
    pub index_interval_bytes: u64,
    /// A sync also writes a recovery point (fdatasync of the active segment's index files, then
    /// the `recovery-point` file) once this many log bytes were appended since the last one.
    /// It bounds what recovery scans after a crash. 0 = at every sync (the slow, old way).
    pub checkpoint_interval_bytes: u64,
    /// ... or once this long has passed since the last one and something was appended.
    /// 0 = at every sync; `u64::MAX` = never by time.
    pub checkpoint_interval_ms: u64,
}

/// Default `checkpoint_interval_bytes`: a crash rescans at most about this much log (tens of
/// milliseconds), while a busy log writes a recovery point about once per 16 MiB appended.
pub const DEFAULT_CHECKPOINT_INTERVAL_BYTES: u64 = 16 << 20;
/// Default `checkpoint_interval_ms`: a slowly written log still moves its recovery point, at a
/// cost of at most one checkpoint per 10 s per written log (Kafka's default is 60 s).
pub const DEFAULT_CHECKPOINT_INTERVAL_MS: u64 = 10_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            max_batch_bytes: 1 << 20,
            index_interval_bytes: 4096,
            checkpoint_interval_bytes: DEFAULT_CHECKPOINT_INTERVAL_BYTES,
            checkpoint_interval_ms: DEFAULT_CHECKPOINT_INTERVAL_MS,
        }
    }
}

impl Limits {
    /// Rejects options that cannot work together.
    pub fn validate(&self) -> Result<()> {
        if self.segment_bytes < MIN_SEGMENT_BYTES || self.segment_bytes > MAX_SEGMENT_BYTES_CEILING {
            return Err(StorageError::InvalidArgument(format!(
                "segmentBytes must be in [{MIN_SEGMENT_BYTES}, {MAX_SEGMENT_BYTES_CEILING}], got {}",
                self.segment_bytes
            )));
        }
        if self.max_batch_bytes < BATCH_HEADER_BYTES || self.max_batch_bytes > MAX_BATCH_BYTES_CEILING {
            return Err(StorageError::InvalidArgument(format!(
                "maxBatchBytes must be in [{BATCH_HEADER_BYTES}, {MAX_BATCH_BYTES_CEILING}], got {}",
                self.max_batch_bytes
            )));
        }
        if self.max_batch_bytes as u64 > self.segment_bytes {
            return Err(StorageError::InvalidArgument(format!(
                "maxBatchBytes ({}) must not exceed segmentBytes ({}) so every batch fits a segment",
                self.max_batch_bytes, self.segment_bytes
            )));
        }
        if self.index_interval_bytes > self.segment_bytes {
            return Err(StorageError::InvalidArgument(format!(
                "indexIntervalBytes ({}) must not exceed segmentBytes ({})",
                self.index_interval_bytes, self.segment_bytes
            )));
        }
        Ok(())
    }

    /// The one place a batch's size is checked against the limits.
    pub fn check_batch_size(&self, batch_bytes: usize) -> Result<()> {
        check_batch_size(batch_bytes, self.max_batch_bytes)
    }
}

/// A batch's total size against `max_batch_bytes`.
pub fn check_batch_size(batch_bytes: usize, max_batch_bytes: usize) -> Result<()> {
    if batch_bytes > max_batch_bytes {
        return Err(StorageError::MessageTooLarge(format!(
            "batchLength gives {batch_bytes} bytes, above maxBatchBytes {max_batch_bytes}"
        )));
    }
    Ok(())
}
