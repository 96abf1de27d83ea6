//! Sparse time index of a segment: `(max timestamp so far, LogIndex - baseIndex)`, strictly
//! increasing in timestamp. Entry `(t, i)` says every batch up to relative index `i` has a max
//! timestamp of at most `t`, so a search for the first batch with max timestamp >= T may start
//! after the last entry whose `t < T`.
//!
//! File `<base offset>.timeindex`: a 16-byte header, then 12-byte entries, all big-endian.
//! ```text
//! header: magic "GQTI" | version u16 = 1 | entry bytes u16 = 12 | base LogIndex u64
//! entry:  max timestamp i64 | LogIndex - baseIndex u32
//! ```

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::handle_cache::{CachedFile, HandleCache};
use crate::offset_index::{
    create_index_file, cut_index_file, parse_header, write_index_file, Loaded, INDEX_HEADER_BYTES,
};

pub const TIME_INDEX_MAGIC: [u8; 4] = *b"GQTI";
pub const TIME_INDEX_ENTRY_BYTES: u64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_index: u32,
}

pub struct TimeIndex {
    /// Opened on demand through the handle cache (see `OffsetIndex::file`).
    file: Arc<CachedFile>,
    entries: Vec<TimeEntry>,
    /// Entries already written to the file; the rest are written by `flush`.
    persisted: usize,
}

impl TimeIndex {
    pub fn create(cache: &Arc<HandleCache>, path: &Path, base_index: u64) -> Result<TimeIndex> {
        Ok(TimeIndex {
            file: create_index_file(cache, path, TIME_INDEX_MAGIC, base_index)?,
            entries: Vec::new(),
            persisted: 0,
        })
    }

    /// Loads a time index; `Ok(None)` when missing or its header is not ours or names another
    /// base index than the offset index's (`base_index`). Otherwise keeps the longest run of
    /// entries from the start that increase (timestamps strictly, relative indexes weakly),
    /// drops the rest from the file too, and says whether the run was the whole file.
    pub fn load(cache: &Arc<HandleCache>, path: &Path, base_index: u64) -> Result<Option<Loaded<TimeIndex>>> {
        let Ok(bytes) = std::fs::read(path) else {
            return Ok(None);
        };
        if parse_header(&bytes, TIME_INDEX_MAGIC, TIME_INDEX_ENTRY_BYTES as u16) != Some(base_index) {
            return Ok(None);
        }
        let body = &bytes[INDEX_HEADER_BYTES as usize..];
        let mut intact = body.len() % TIME_INDEX_ENTRY_BYTES as usize == 0;
        let mut entries: Vec<TimeEntry> = Vec::with_capacity(body.len() / 12);
        for chunk in body.chunks_exact(12) {
            let entry = TimeEntry {
                timestamp: i64::from_be_bytes(chunk[0..8].try_into().unwrap()),
                relative_index: u32::from_be_bytes(chunk[8..12].try_into().unwrap()),
            };
            if let Some(last) = entries.last() {
                if entry.timestamp <= last.timestamp || entry.relative_index < last.relative_index {
                    intact = false;
                    break;
                }
            }
            entries.push(entry);
        }
        let file = Arc::new(CachedFile::existing(cache, path));
        let kept_bytes = INDEX_HEADER_BYTES + entries.len() as u64 * TIME_INDEX_ENTRY_BYTES;
        if kept_bytes != bytes.len() as u64 {
            cut_index_file(&file, kept_bytes)?;
        }
        let persisted = entries.len();
        let index = TimeIndex {
            file,
            entries,
            persisted,
        };
        Ok(Some((index, intact)))
    }

    /// Entries held (in memory; after `flush`, also in the file).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `at` (0 = the first).
    pub fn entry(&self, at: usize) -> Option<TimeEntry> {
        self.entries.get(at).copied()
    }

    /// Keeps only the first `count` entries, in memory and in the file.
    pub fn keep_first(&mut self, count: usize) -> Result<()> {
        self.entries.truncate(count);
        self.persisted = self.persisted.min(self.entries.len());
        cut_index_file(
            &self.file,
            INDEX_HEADER_BYTES + self.persisted as u64 * TIME_INDEX_ENTRY_BYTES,
        )
    }

    /// The file, for a sync job.
    pub fn file_to_sync(&self) -> Arc<CachedFile> {
        self.file.clone()
    }

    /// Closes the file's handle (the segment is being deleted).
    pub fn close(&self) {
        self.file.close();
    }

    pub fn last(&self) -> Option<TimeEntry> {
        self.entries.last().copied()
    }

    /// Appends `(timestamp, relative_index)` when the timestamp grows past the last entry
    /// (in memory; `flush` writes it).
    pub fn maybe_push(&mut self, timestamp: i64, relative_index: u32) {
        if self
            .entries
            .last()
            .is_some_and(|last| timestamp <= last.timestamp)
        {
            return;
        }
        self.entries.push(TimeEntry {
            timestamp,
            relative_index,
        });
    }

    /// Writes the entries added since the last flush, in one write.
    pub fn flush(&mut self) -> Result<()> {
        if self.persisted == self.entries.len() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity((self.entries.len() - self.persisted) * 12);
        for entry in &self.entries[self.persisted..] {
            bytes.extend_from_slice(&entry.timestamp.to_be_bytes());
            bytes.extend_from_slice(&entry.relative_index.to_be_bytes());
        }
        let at = INDEX_HEADER_BYTES + self.persisted as u64 * TIME_INDEX_ENTRY_BYTES;
        write_index_file(&self.file, &bytes, at)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Keeps only entries whose relative index is below `relative_index`.
    pub fn truncate_to_index(&mut self, relative_index: u64) -> Result<()> {
        let keep = self
            .entries
            .partition_point(|e| (e.relative_index as u64) < relative_index);
        self.entries.truncate(keep);
        self.persisted = self.persisted.min(keep);
        cut_index_file(
            &self.file,
            INDEX_HEADER_BYTES + self.persisted as u64 * TIME_INDEX_ENTRY_BYTES,
        )
    }

    /// Relative index where a search for max timestamp >= `timestamp` may start.
    pub fn search_start(&self, timestamp: i64) -> u64 {
        let at = self.entries.partition_point(|e| e.timestamp < timestamp);
        if at == 0 {
            0
        } else {
            self.entries[at - 1].relative_index as u64 + 1
        }
    }
}
