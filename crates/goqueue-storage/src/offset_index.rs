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

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{io_context, Result};
use crate::fileio::write_all_at;

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
    path: PathBuf,
    /// Open only while needed: between a write and the sync job that makes it durable (the job
    /// holds the last reference, so an idle partition keeps no index file open).
    file: Option<Arc<File>>,
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
pub(crate) fn create_index_file(path: &Path, magic: [u8; 4], base_index: u64) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_context(format!("creating {}", path.display())))?;
    write_all_at(&file, &header(magic, 12, base_index), 0)
        .map_err(io_context(format!("writing {}", path.display())))?;
    Ok(file)
}

/// The open handle of an index file, opened again when a sync job took it: a sync job that
/// takes a recovery point holds the last reference, so the file closes when it is done and an
/// idle partition keeps no index file open.
pub(crate) fn index_file_handle(slot: &mut Option<Arc<File>>, path: &Path) -> Result<Arc<File>> {
    if slot.is_none() {
        *slot = Some(Arc::new(open_index_file(path)?));
    }
    Ok(slot.clone().expect("opened above"))
}

/// Opens an existing index file for reading and writing.
pub(crate) fn open_index_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_context(format!("opening {}", path.display())))
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
    pub fn create(path: &Path, base_index: u64) -> Result<OffsetIndex> {
        // The header is written; the file is reopened when entries are written or synced.
        create_index_file(path, OFFSET_INDEX_MAGIC, base_index)?;
        Ok(OffsetIndex {
            path: path.to_owned(),
            file: None,
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
    pub fn load(path: &Path, log_bytes: u64) -> Result<Option<Loaded<OffsetIndex>>> {
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
        let file = open_index_file(path)?;
        let kept_bytes = INDEX_HEADER_BYTES + entries.len() as u64 * OFFSET_INDEX_ENTRY_BYTES;
        if kept_bytes != bytes.len() as u64 {
            file.set_len(kept_bytes)
                .map_err(io_context(format!("truncating {}", path.display())))?;
        }
        let persisted = entries.len();
        let index = OffsetIndex {
            path: path.to_owned(),
            file: None,
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
        self.handle()?
            .set_len(INDEX_HEADER_BYTES + self.persisted as u64 * OFFSET_INDEX_ENTRY_BYTES)
            .map_err(io_context(format!("truncating {}", self.path.display())))
    }

    fn handle(&mut self) -> Result<Arc<File>> {
        index_file_handle(&mut self.file, &self.path)
    }

    /// The file for a sync job; this index lets go of it (see `index_file_handle`).
    pub fn take_file_for_sync(&mut self) -> Result<Arc<File>> {
        index_file_handle(&mut self.file, &self.path).inspect(|_| self.file = None)
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
        write_all_at(&*self.handle()?, &bytes, at)
            .map_err(io_context(format!("writing {}", self.path.display())))?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Keeps only entries whose position is below `position`.
    pub fn truncate_to_position(&mut self, position: u64) -> Result<()> {
        let keep = self.entries.partition_point(|e| (e.position as u64) < position);
        self.entries.truncate(keep);
        self.persisted = self.persisted.min(keep);
        self.handle()?
            .set_len(INDEX_HEADER_BYTES + self.persisted as u64 * OFFSET_INDEX_ENTRY_BYTES)
            .map_err(io_context(format!("truncating {}", self.path.display())))
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
