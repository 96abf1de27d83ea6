//! One error type for the whole storage core. Each variant has a stable `code()` string that the
//! binding exposes to JavaScript as `error.code`.

use std::io;

/// Everything the storage core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Bytes that are not a well-formed RecordBatch v2 (bad CRC, magic, lengths, truncation).
    #[error("corrupt record batch: {0}")]
    CorruptMessage(String),
    /// A well-formed batch whose content breaks a rule (record count, records section, term order).
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    /// A batch larger than the configured maximum.
    #[error("record batch too large: {0}")]
    MessageTooLarge(String),
    /// A batch whose baseOffset is not the log's next offset (or not contiguous with the previous one).
    #[error("invalid offset: {0}")]
    InvalidOffset(String),
    /// A LogIndex or KafkaOffset outside the stored range.
    #[error("out of range: {0}")]
    OffsetOutOfRange(String),
    /// A codec id that is not one of Kafka's (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    #[error("unsupported compression type: {0}")]
    UnsupportedCompression(String),
    /// A bad option or argument from the caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The log was closed.
    #[error("log is closed")]
    LogClosed,
    /// An operating-system error, with what we were doing.
    #[error("i/o error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl StorageError {
    /// Stable code string; JavaScript code branches on it.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::CorruptMessage(_) => "CORRUPT_MESSAGE",
            StorageError::InvalidRecord(_) => "INVALID_RECORD",
            StorageError::MessageTooLarge(_) => "MESSAGE_TOO_LARGE",
            StorageError::InvalidOffset(_) => "INVALID_OFFSET",
            StorageError::OffsetOutOfRange(_) => "OFFSET_OUT_OF_RANGE",
            StorageError::UnsupportedCompression(_) => "UNSUPPORTED_COMPRESSION_TYPE",
            StorageError::InvalidArgument(_) => "INVALID_ARGUMENT",
            StorageError::LogClosed => "LOG_CLOSED",
            StorageError::Io { .. } => "IO_ERROR",
        }
    }
}

/// Whether an OS error means the file system is out of space (ENOSPC) or quota (EDQUOT).
pub fn is_no_space_io(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(28) | Some(122)) || error.kind() == io::ErrorKind::StorageFull
}

impl StorageError {
    /// A write failed because the disk (or the quota) is full: retrying after space is freed
    /// can succeed.
    pub fn is_no_space(&self) -> bool {
        matches!(self, StorageError::Io { source, .. } if is_no_space_io(source))
    }
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, StorageError>;

/// Wraps an `io::Error` with a description of the operation that failed.
pub(crate) fn io_context(context: impl Into<String>) -> impl FnOnce(io::Error) -> StorageError {
    let context = context.into();
    move |source| StorageError::Io { context, source }
}
