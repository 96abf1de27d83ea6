//! One segment: `<base offset>.log` (batches back to back, exactly Kafka's layout) with its
//! sparse `.index` and `.timeindex`.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{io_context, Result, StorageError};
use crate::handle_cache::{CachedFile, HandleCache, OpenFile};

/// Appends below this size are gathered in memory and written together (on a full buffer, a
/// read past the file, sync, roll, truncation or close); larger ones are written at once.
pub const WRITE_BUFFER_BYTES: usize = 256 * 1024;
use crate::limits::BATCH_HEADER_BYTES;
use crate::offset_index::{Loaded, OffsetEntry, OffsetIndex};
use crate::record_batch::{parse_header, read_prefix, BatchHeader, LOG_OVERHEAD_BYTES};
use crate::time_index::TimeIndex;

/// File name stem of a segment: its base offset as 20 zero-padded digits (Kafka's naming).
pub fn file_stem(base_offset: u64) -> String {
    format!("{base_offset:020}")
}

pub fn log_path(dir: &Path, base_offset: u64) -> PathBuf {
    dir.join(format!("{}.log", file_stem(base_offset)))
}
pub fn index_path(dir: &Path, base_offset: u64) -> PathBuf {
    dir.join(format!("{}.index", file_stem(base_offset)))
}
pub fn time_index_path(dir: &Path, base_offset: u64) -> PathBuf {
    dir.join(format!("{}.timeindex", file_stem(base_offset)))
}

pub struct Segment {
    pub dir: PathBuf,
    pub base_offset: u64,
    pub base_index: u64,
    /// Opened on demand through the process's handle cache (see `handle_cache`).
    pub log: Arc<CachedFile>,
    /// Bytes of whole batches in `.log`.
    pub size: u64,
    /// Bytes already written to the file; `pending` holds the rest (`size = flushed + pending`).
    pub flushed: u64,
    /// Appended batches not yet written: small appends are coalesced into one write.
    pub pending: Vec<u8>,
    pub index: OffsetIndex,
    pub time_index: TimeIndex,
    /// Batches stored.
    pub entries: u64,
    /// Offset after the last batch (`base_offset` when empty).
    pub next_offset: u64,
    /// Largest batch max timestamp (i64::MIN when empty).
    pub max_timestamp: i64,
    /// Wall-clock time the segment was created or reopened, the age used for rolling.
    pub created_ms: i64,
}

impl Segment {
    /// Creates an empty segment (replacing stale files of the same name).
    pub fn create(
        cache: &Arc<HandleCache>,
        dir: &Path,
        base_offset: u64,
        base_index: u64,
        now_ms: i64,
    ) -> Result<Segment> {
        let path = log_path(dir, base_offset);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_context(format!("creating {}", path.display())))?;
        let log = CachedFile::opened(cache, &path, file, true);
        Segment::with_fresh_indexes(cache, dir, base_offset, base_index, log, now_ms)
    }

    /// A segment over an existing (or new) log file with new, empty index files; the caller
    /// replays the batches through `note_batch`.
    pub fn with_fresh_indexes(
        cache: &Arc<HandleCache>,
        dir: &Path,
        base_offset: u64,
        base_index: u64,
        log: CachedFile,
        now_ms: i64,
    ) -> Result<Segment> {
        let index = OffsetIndex::create(cache, &index_path(dir, base_offset), base_index)?;
        let time_index = TimeIndex::create(cache, &time_index_path(dir, base_offset), base_index)?;
        Ok(Segment {
            dir: dir.to_owned(),
            base_offset,
            base_index,
            log: Arc::new(log),
            size: 0,
            flushed: 0,
            pending: Vec::new(),
            index,
            time_index,
            entries: 0,
            next_offset: base_offset,
            max_timestamp: i64::MIN,
            created_ms: now_ms,
        })
    }

    /// Names an existing `.log` file (opened on first use) and loads its `.index` (see
    /// `OffsetIndex::load`: `None` when missing or foreign, else the valid prefix and whether it
    /// was the whole file). Returns the segment's file length too.
    pub fn open_files(
        cache: &Arc<HandleCache>,
        dir: &Path,
        base_offset: u64,
    ) -> Result<(CachedFile, u64, Option<Loaded<OffsetIndex>>)> {
        let path = log_path(dir, base_offset);
        let length = std::fs::metadata(&path)
            .map_err(io_context(format!("reading size of {}", path.display())))?
            .len();
        let log = CachedFile::existing(cache, &path);
        let index = OffsetIndex::load(cache, &index_path(dir, base_offset), length)?;
        Ok((log, length, index))
    }

    /// The open descriptor of the log file, for one operation (the handle cache may close it
    /// once dropped). Writes through it bypass the cache's dirty mark: fsync them yourself.
    pub fn log_file(&self) -> Result<Arc<OpenFile>> {
        self.log.handle().map_err(io_context(format!(
            "opening {}",
            log_path(&self.dir, self.base_offset).display()
        )))
    }

    pub fn last_index(&self) -> u64 {
        self.base_index + self.entries - 1
    }

    fn read_error(&self, position: u64) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
        move |source| StorageError::Io {
            context: format!(
                "reading {} at byte {position}",
                log_path(&self.dir, self.base_offset).display()
            ),
            source,
        }
    }

    /// Reads `length` bytes at `position`.
    pub fn read(&self, position: u64, length: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; length];
        self.read_into(&mut buf, position)?;
        Ok(buf)
    }

    /// Reads `length` bytes at `position` straight from the file (recovery scans bytes the
    /// segment has not accounted for yet).
    pub fn read_file(&self, position: u64, length: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; length];
        self.log
            .read_exact_at(&mut buf, position)
            .map_err(self.read_error(position))?;
        Ok(buf)
    }

    /// Header of the batch at `position` (a batch written by this log, so already validated).
    pub fn header_at(&self, position: u64) -> Result<BatchHeader> {
        let mut buf = [0u8; BATCH_HEADER_BYTES];
        self.read_into(&mut buf, position)?;
        parse_header(&buf)
    }

    /// Total bytes of the batch at `position`.
    pub fn batch_bytes_at(&self, position: u64) -> Result<u64> {
        let mut buf = [0u8; LOG_OVERHEAD_BYTES];
        self.read_into(&mut buf, position)?;
        read_prefix(&buf)
            .map(|(_, total)| total as u64)
            .ok_or_else(|| StorageError::CorruptMessage(format!("negative batchLength at byte {position}")))
    }

    /// Byte position of entry `index` (must be stored in this segment): one binary search in
    /// the sparse index, then a walk over at most `index_interval_bytes` of batch prefixes.
    pub fn position_of_index(&self, index: u64) -> Result<u64> {
        debug_assert!(index >= self.base_index && index < self.base_index + self.entries);
        let relative = index - self.base_index;
        let entry = self.index.floor_by_index(relative);
        let mut position = entry.position as u64;
        for _ in entry.relative_index as u64..relative {
            position += self.batch_bytes_at(position)?;
        }
        Ok(position)
    }

    /// `(position, LogIndex, header)` of the batch holding `offset` (which must be in
    /// `[base_offset, next_offset)`).
    pub fn locate_offset(&self, offset: u64) -> Result<(u64, u64, BatchHeader)> {
        debug_assert!(offset >= self.base_offset && offset < self.next_offset);
        let entry = self.index.floor_by_offset(offset - self.base_offset);
        let mut position = entry.position as u64;
        let mut index = self.base_index + entry.relative_index as u64;
        loop {
            let header = self.header_at(position)?;
            if header.last_offset() as u64 >= offset {
                return Ok((position, index, header));
            }
            position += header.total_bytes() as u64;
            index += 1;
            if position >= self.size {
                return Err(StorageError::CorruptMessage(format!(
                    "offset {offset} not found in segment {} although within its range",
                    self.base_offset
                )));
            }
        }
    }

    /// Appends one validated batch. `index_interval_bytes` spaces the sparse index entries.
    ///
    /// A full disk (ENOSPC, EDQUOT) does not fail the append: the batch stays in the write buffer
    /// (readable, not durable) and the next `sync` reports the error, so a caller that retries
    /// the sync once space is back loses nothing and never sees a half-applied append.
    pub fn append(&mut self, bytes: &[u8], header: &BatchHeader, index_interval_bytes: u64) -> Result<()> {
        let position = self.size;
        if self.pending.len() + bytes.len() > WRITE_BUFFER_BYTES {
            if let Err(error) = self.flush_log() {
                if !error.is_no_space() {
                    return Err(error);
                }
            }
        }
        let written_directly = bytes.len() >= WRITE_BUFFER_BYTES
            && self.pending.is_empty()
            && match self.log.write_all_at(bytes, self.flushed) {
                Ok(()) => true,
                Err(error) if crate::error::is_no_space_io(&error) => false,
                Err(error) => {
                    return Err(io_context(format!(
                        "writing {} at byte {position}",
                        log_path(&self.dir, self.base_offset).display()
                    ))(error))
                }
            };
        if written_directly {
            self.flushed += bytes.len() as u64;
        } else {
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(WRITE_BUFFER_BYTES);
            }
            self.pending.extend_from_slice(bytes);
        }
        self.note_batch(position, header, index_interval_bytes)
    }

    /// Writes buffered batches to `.log` (not fsynced); index entries stay in memory.
    pub fn flush_log(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.log
            .write_all_at(&self.pending, self.flushed)
            .map_err(io_context(format!(
                "writing {} at byte {}",
                log_path(&self.dir, self.base_offset).display(),
                self.flushed
            )))?;
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Writes buffered batches and index entries to the files (not fsynced).
    /// A plain sync needs only `flush_log`: index entries reach their files when a recovery
    /// point is taken (and on roll, truncation, close and drop).
    pub fn flush(&mut self) -> Result<()> {
        self.flush_log()?;
        self.index.flush()?;
        self.time_index.flush()
    }

    /// Reads `buf.len()` bytes at `position`, from the file and the write buffer.
    pub fn read_into(&self, buf: &mut [u8], position: u64) -> Result<()> {
        let end = position + buf.len() as u64;
        let from_file = self.flushed.saturating_sub(position).min(buf.len() as u64) as usize;
        if from_file > 0 {
            self.log
                .read_exact_at(&mut buf[..from_file], position)
                .map_err(self.read_error(position))?;
        }
        if end > self.flushed {
            let start = position.max(self.flushed) - self.flushed;
            let length = buf.len() - from_file;
            let source = self
                .pending
                .get(start as usize..start as usize + length)
                .ok_or_else(|| {
                    StorageError::OffsetOutOfRange(format!(
                        "read of {} bytes at {position} runs past the segment",
                        buf.len()
                    ))
                })?;
            buf[from_file..].copy_from_slice(source);
        }
        Ok(())
    }

    /// Accounts for a batch now present at `position` (after an append or during recovery).
    pub fn note_batch(
        &mut self,
        position: u64,
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> Result<()> {
        let relative_index = self.entries as u32;
        let max_timestamp = self.max_timestamp.max(header.max_timestamp);
        if self.entries > 0 && position - self.index.last_position() >= index_interval_bytes.max(1) {
            self.index.push(OffsetEntry {
                relative_offset: (header.base_offset as u64 - self.base_offset) as u32,
                relative_index,
                position: position as u32,
            });
            self.time_index.maybe_push(max_timestamp, relative_index);
        } else if self.entries == 0 {
            self.time_index.maybe_push(max_timestamp, 0);
        }
        self.max_timestamp = max_timestamp;
        self.size = position + header.total_bytes() as u64;
        self.entries += 1;
        self.next_offset = header.next_offset() as u64;
        Ok(())
    }

    /// Records the segment's final max timestamp in the time index (on roll, sync and close), so
    /// a reopen learns it without a scan.
    pub fn seal_time_index(&mut self) -> Result<()> {
        if self.entries > 0 {
            self.time_index
                .maybe_push(self.max_timestamp, (self.entries - 1) as u32);
        }
        Ok(())
    }

    /// Keeps the first `entries` batches, which end at byte `position`.
    pub fn truncate(&mut self, entries: u64, position: u64, next_offset: u64) -> Result<()> {
        self.flush()?;
        self.log.set_len(position).map_err(io_context(format!(
            "truncating {}",
            log_path(&self.dir, self.base_offset).display()
        )))?;
        self.index.truncate_to_position(position)?;
        self.time_index.truncate_to_index(entries)?;
        self.size = position;
        self.flushed = position;
        self.entries = entries;
        self.next_offset = next_offset;
        // The time index's last entry bounds the batches up to it; scan the few after it for
        // the exact max timestamp of what is left.
        let last = self.time_index.last();
        let mut max_timestamp = last.map_or(i64::MIN, |e| e.timestamp);
        let start = last.map_or(0, |e| e.relative_index as u64 + 1);
        if start < entries {
            let mut at = self.position_of_index(self.base_index + start)?;
            while at < position {
                let header = self.header_at(at)?;
                max_timestamp = max_timestamp.max(header.max_timestamp);
                at += header.total_bytes() as u64;
            }
        }
        self.max_timestamp = max_timestamp;
        Ok(())
    }

    /// The `.log` file, for a sync job (a name, not a descriptor: queued jobs hold no file open).
    pub fn log_file_to_sync(&self) -> Arc<CachedFile> {
        self.log.clone()
    }

    /// All three files of this segment, for a sync job.
    pub fn files_to_sync(&self) -> Vec<Arc<CachedFile>> {
        vec![
            self.log_file_to_sync(),
            self.index.file_to_sync(),
            self.time_index.file_to_sync(),
        ]
    }

    /// Deletes the segment's files.
    pub fn delete(mut self) -> Result<()> {
        self.pending.clear();
        self.log.close();
        self.index.close();
        self.time_index.close();
        for path in [
            log_path(&self.dir, self.base_offset),
            index_path(&self.dir, self.base_offset),
            time_index_path(&self.dir, self.base_offset),
        ] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_context(format!("deleting {}", path.display()))(e)),
            }
        }
        Ok(())
    }
}

impl Drop for Segment {
    /// A segment dropped without `close` (an error path, a garbage-collected binding object)
    /// still writes what it buffered; nothing is fsynced.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
