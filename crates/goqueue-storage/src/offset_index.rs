//! Sparse index of a segment: which byte position holds the entry with a given LogIndex or
//! KafkaOffset. Both columns grow with position, so one sorted array answers both lookups by
//! binary search; the caller then walks at most `index_interval_bytes` of batch headers.
//!
//! File `<base offset>.index`: a 16-byte header, then 12-byte entries, all big-endian.
//! ```text
//! header: magic "GQOI" | version u16 = 1 | entry bytes u16 = 12 | base LogIndex u64
//! entry:  offset - baseOffset u32 | LogIndex - baseIndex u32 | byte position in .log u32
//! ```
//! The entry for the segment's first batch (0, 0, 0) is implicit.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Arc;

use crate::error::{io_context, Result};
use crate::fileio::write_all_at;
use crate::handle_cache::{CachedFile, HandleCache};

pub const OFFSET_INDEX_MAGIC: [u8; 4] = *b"GQOI";
pub const INDEX_HEADER_BYTES: u64 = 16;
pub const OFFSET_INDEX_ENTRY_BYTES: u64 = 12;

/// An index loaded from its file, and whether the whole file was well formed (`intact`).
pub type Loaded<T> = (T, bool);

/// One sparse index entry, relative to the segment's base offset and base index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub relative_index: u32,
    pub position: u32,
}

/// In-memory copy of a segment's sparse index plus the file it mirrors.
pub struct OffsetIndex {
    /// Opened on demand through the handle cache: only writes (when a recovery point is taken,
    /// on roll, truncation and close) and their fsync use it; lookups never read the file.
    file: Arc<CachedFile>,
    pub base_index: u64,
    entries: Vec<OffsetEntry>,
    /// Entries already written to the file; the rest are written by `flush`.
    persisted: usize,
}

pub(crate) fn header(magic: [u8; 4], entry_bytes: u16, base_index: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&magic);
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out[6..8].copy_from_slice(&entry_bytes.to_be_bytes());
    out[8..16].copy_from_slice(&base_index.to_be_bytes());
    out
}

/// Creates (or replaces) an index file holding only its header.
pub(crate) fn create_index_file(
    cache: &Arc<HandleCache>,
    path: &Path,
    magic: [u8; 4],
    base_index: u64,
) -> Result<Arc<CachedFile>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_context(format!("creating {}", path.display())))?;
    write_all_at(&file, &header(magic, 12, base_index), 0)
        .map_err(io_context(format!("writing {}", path.display())))?;
    Ok(Arc::new(CachedFile::opened(cache, path, file, true)))
}

/// Cuts an index file to `length` bytes (its kept entries).
pub(crate) fn cut_index_file(file: &CachedFile, length: u64) -> Result<()> {
    file.set_len(length)
        .map_err(io_context(format!("truncating {}", file.path().display())))
}

/// Writes `bytes` (encoded entries) at `position` of an index file.
pub(crate) fn write_index_file(file: &CachedFile, bytes: &[u8], position: u64) -> Result<()> {
    file.write_all_at(bytes, position)
        .map_err(io_context(format!("writing {}", file.path().display())))
}

/// Parses an index header; `None` when it is not ours.
pub(crate) fn parse_header(bytes: &[u8], magic: [u8; 4], entry_bytes: u16) -> Option<u64> {
    if bytes.len() < 16 || bytes[0..4] != magic || bytes[4..6] != 1u16.to_be_bytes() {
        return None;
    }
    if bytes[6..8] != entry_bytes.to_be_bytes() {
        return None;
    }
    Some(u64::from_be_bytes(bytes[8..16].try_into().unwrap()))
}

impl OffsetIndex {
    /// Creates (or replaces) an empty index file.
    pub fn create(cache: &Arc<HandleCache>, path: &Path, base_index: u64) -> Result<OffsetIndex> {
        Ok(OffsetIndex {
            file: create_index_file(cache, path, OFFSET_INDEX_MAGIC, base_index)?,
            base_index,
            entries: Vec::new(),
            persisted: 0,
        })
    }

    /// Loads an index file; `Ok(None)` when it is missing or its header is not ours (the caller
    /// rebuilds it). Otherwise keeps the longest run of entries from the start that strictly
    /// increase in all three columns and point inside `log_bytes`, drops the rest from the file
    /// too (so later appends cannot sit after them), and says whether the run was the whole
    /// file (`intact`). Entries past the end of the log alone do not count as damage: a cut
    /// tail leaves them behind.
    pub fn load(
        cache: &Arc<HandleCache>,
        path: &Path,
        log_bytes: u64,
    ) -> Result<Option<Loaded<OffsetIndex>>> {
        let Ok(bytes) = std::fs::read(path) else {
            return Ok(None);
        };
        let Some(base_index) = parse_header(&bytes, OFFSET_INDEX_MAGIC, OFFSET_INDEX_ENTRY_BYTES as u16)
        else {
            return Ok(None);
        };
        let body = &bytes[INDEX_HEADER_BYTES as usize..];
        let mut intact = body.len() % OFFSET_INDEX_ENTRY_BYTES as usize == 0;
        let mut entries = Vec::with_capacity(body.len() / 12);
        let mut previous = OffsetEntry::default();
        for chunk in body.chunks_exact(12) {
            let entry = OffsetEntry {
                relative_offset: u32::from_be_bytes(chunk[0..4].try_into().unwrap()),
                relative_index: u32::from_be_bytes(chunk[4..8].try_into().unwrap()),
                position: u32::from_be_bytes(chunk[8..12].try_into().unwrap()),
            };
            if entry.position as u64 >= log_bytes {
                break;
            }
            if entry.relative_offset <= previous.relative_offset
                || entry.relative_index <= previous.relative_index
                || entry.position <= previous.position
            {
                intact = false;
                break;
            }
            entries.push(entry);
            previous = entry;
        }
        let file = Arc::new(CachedFile::existing(cache, path));
        let kept_bytes = INDEX_HEADER_BYTES + entries.len() as u64 * OFFSET_INDEX_ENTRY_BYTES;
        if kept_bytes != bytes.len() as u64 {
            cut_index_file(&file, kept_bytes)?;
        }
        let persisted = entries.len();
        let index = OffsetIndex {
            file,
            base_index,
            entries,
            persisted,
        };
        Ok(Some((index, intact)))
    }

    /// Keeps only the first `count` entries, in memory and in the file.
    pub fn keep_first(&mut self, count: usize) -> Result<()> {
        self.entries.truncate(count);
        self.persisted = self.persisted.min(self.entries.len());
        cut_index_file(
            &self.file,
            INDEX_HEADER_BYTES + self.persisted as u64 * OFFSET_INDEX_ENTRY_BYTES,
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

    pub fn entries(&self) -> &[OffsetEntry] {
        &self.entries
    }

    /// Entries held (in memory; after `flush`, also in the file).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index has no entry (only the implicit first one).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an entry after the last one (in memory; `flush` writes it).
    pub fn push(&mut self, entry: OffsetEntry) {
        self.entries.push(entry);
    }

    /// Writes the entries added since the last flush, in one write.
    pub fn flush(&mut self) -> Result<()> {
        if self.persisted == self.entries.len() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity((self.entries.len() - self.persisted) * 12);
        for entry in &self.entries[self.persisted..] {
            bytes.extend_from_slice(&entry.relative_offset.to_be_bytes());
            bytes.extend_from_slice(&entry.relative_index.to_be_bytes());
            bytes.extend_from_slice(&entry.position.to_be_bytes());
        }
        let at = INDEX_HEADER_BYTES + self.persisted as u64 * OFFSET_INDEX_ENTRY_BYTES;
        write_index_file(&self.file, &bytes, at)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Keeps only entries whose position is below `position`.
    pub fn truncate_to_position(&mut self, position: u64) -> Result<()> {
        let keep = self.entries.partition_point(|e| (e.position as u64) < position);
        self.entries.truncate(keep);
        self.persisted = self.persisted.min(keep);
        cut_index_file(
            &self.file,
            INDEX_HEADER_BYTES + self.persisted as u64 * OFFSET_INDEX_ENTRY_BYTES,
        )
    }

    /// Last entry whose relative index is <= `relative_index` (the implicit first entry otherwise).
    pub fn floor_by_index(&self, relative_index: u64) -> OffsetEntry {
        let at = self
            .entries
            .partition_point(|e| e.relative_index as u64 <= relative_index);
        if at == 0 {
            OffsetEntry::default()
        } else {
            self.entries[at - 1]
        }
    }

    /// Last entry whose relative offset is <= `relative_offset`.
    pub fn floor_by_offset(&self, relative_offset: u64) -> OffsetEntry {
        let at = self
            .entries
            .partition_point(|e| e.relative_offset as u64 <= relative_offset);
        if at == 0 {
            OffsetEntry::default()
        } else {
            self.entries[at - 1]
        }
    }

    /// Position of the last entry (0 when none), for the interval rule.
    pub fn last_position(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.position as u64)
    }
}
