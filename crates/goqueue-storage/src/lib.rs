//! goqueue storage core: Kafka RecordBatch v2, CRC32C, codecs and the segmented log.

pub mod checkpoint;
pub mod compression;
pub mod directory_lock;
pub mod error;
mod fileio;
pub mod handle_cache;
pub mod limits;
pub mod log;
pub mod offset_index;
pub mod recompress;
pub mod record_batch;
pub mod record_count;
pub mod record_hash;
pub mod segment;
pub mod time_index;

pub use compression::{
    compress, decompress, decompress_within, max_decompressed_bytes, Codec, MAX_DECOMPRESSED_BYTES,
};
pub use directory_lock::{DirectoryLock, DirectoryLockError};
pub use error::{Result, StorageError};
pub use handle_cache::{HandleCache, HandleCacheStats};
pub use limits::Limits;
pub use log::{AppendResult, CorruptBatch, Log, RecoveryReport, ScrubCursor, ScrubStep, SyncJob};
pub use recompress::{recompress_batch, recompress_batch_within};
pub use record_batch::{validate_batch, validate_batches, BatchHeader};
pub use record_count::{check_compressed_records, validate_produce_batches, RecompressionPlan};

/// CRC32C (Castagnoli) of `bytes`, hardware accelerated where the CPU allows.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_check_value() {
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    }
}
#[cfg(test)]
mod log_handle_tests;
#[cfg(test)]
mod log_integrity_tests;
#[cfg(test)]
mod log_power_loss_tests;
#[cfg(test)]
mod log_tests;
