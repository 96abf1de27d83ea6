//! Byte-exact repair of one damaged batch from another replica's copy of the same entry.
//!
//! In a replicated partition the leader writes `baseOffset` and `partitionLeaderEpoch` before it
//! replicates an entry, so every replica holds the same bytes for an entry of a given LogIndex
//! and term. A replica whose copy rotted on disk can therefore take a healthy peer's bytes and
//! write them over its own at the same place: nothing else in the log (indexes, term map,
//! recovery point, later batches) changes.

use crate::error::{io_context, Result, StorageError};
use crate::fileio::{read_exact_at, write_all_at};
use crate::limits::MAX_BATCH_BYTES_CEILING;
use crate::log::Log;
use crate::record_batch::{read_prefix, validate_batch, LOG_OVERHEAD_BYTES};
use crate::segment::{log_path, Segment};

/// Base offset of entry `index` of `segment`, without reading that batch's own header (its
/// `baseOffset` is outside the CRC, so bit rot there would go unnoticed): the offset of the sparse
/// index entry at or before it, plus the record counts of the batches in between, each of which
/// must pass its CRC32C first. Used where a truncation sets the log's next offset.
pub(super) fn offset_of_index(segment: &Segment, index: u64) -> Result<u64> {
    let relative = index - segment.base_index;
    let mut entry = segment.index.floor_by_index(relative);
    if entry.relative_index != 0 {
        // The entry's relative offset has no checksum either: it must agree with the batch it
        // points at (another file), else the walk starts at the segment's first batch.
        let mut prefix = [0u8; LOG_OVERHEAD_BYTES];
        segment.read_into(&mut prefix, entry.position as u64)?;
        let named = read_prefix(&prefix).map(|(offset, _)| offset as u64);
        if named != Some(segment.base_offset + entry.relative_offset as u64) {
            entry = segment.index.floor_by_index(0);
        }
    }
    let mut offset = segment.base_offset + entry.relative_offset as u64;
    let mut position = entry.position as u64;
    let mut unverified = None;
    for _ in entry.relative_index as u64..relative {
        let total = segment.batch_bytes_at(position)?;
        let header = match validate_batch(&segment.read(position, total as usize)?, MAX_BATCH_BYTES_CEILING) {
            Ok(header) => header,
            // A kept batch rotted (the scrubber or a peer repairs it later): its record count
            // is read anyway, and trusted only if the cut batch's own baseOffset agrees below.
            Err(error) => {
                unverified.get_or_insert(error);
                segment.header_at(position)?
            }
        };
        offset += header.last_offset_delta as u64 + 1;
        position += total;
    }
    match unverified {
        None => Ok(offset),
        Some(_) if segment.header_at(position)?.base_offset as u64 == offset => Ok(offset),
        Some(error) => Err(error),
    }
}

impl Log {
    /// The base offset entry `index` must have, learned without reading that entry's own header
    /// (see `offset_of_index`): what a reader compares a batch's `baseOffset` with when the
    /// batches it read do not continue each other.
    pub fn expected_offset_at(&self, index: u64) -> Result<u64> {
        if index < self.first_index() || index > self.last_index() {
            return Err(StorageError::OffsetOutOfRange(format!(
                "LogIndex {index} is not stored (entries {}..={})",
                self.first_index(),
                self.last_index()
            )));
        }
        let at = self.segments.partition_point(|s| s.base_index <= index) - 1;
        offset_of_index(&self.segments[at], index)
    }

    /// Writes `bytes`, a whole valid batch, over the stored entry `index`, when it is that
    /// entry: its `baseOffset` continues the previous batch, its `partitionLeaderEpoch` is the
    /// entry's term in the term map, and it ends exactly where the next stored batch begins (or
    /// at the segment's end) — all learned from bytes before the entry and from memory, never
    /// from the damaged bytes themselves. Then fdatasyncs the segment and reads the bytes back.
    /// Returns false when the stored bytes were already equal (nothing written).
    pub fn repair_batch(&mut self, index: u64, bytes: &[u8]) -> Result<bool> {
        if index < self.first_index() || index > self.last_index() {
            return Err(StorageError::OffsetOutOfRange(format!(
                "LogIndex {index} is not stored (entries {}..={})",
                self.first_index(),
                self.last_index()
            )));
        }
        let header = validate_batch(bytes, MAX_BATCH_BYTES_CEILING)?;
        let term = self.term_at(index);
        let at = self.segments.partition_point(|s| s.base_index <= index) - 1;
        let segment = &self.segments[at];
        let position = segment.position_of_index(index)?;
        let expected_offset = if index == segment.base_index {
            segment.base_offset
        } else {
            let previous = segment.position_of_index(index - 1)?;
            segment.header_at(previous)?.next_offset() as u64
        };
        let refuse = |reason: String| {
            Err(StorageError::InvalidArgument(format!(
                "repair of LogIndex {index} (segment {} byte {position}) refused: {reason}",
                segment.base_offset
            )))
        };
        if header.base_offset as u64 != expected_offset {
            return refuse(format!(
                "the copy's baseOffset {} is not {expected_offset}",
                header.base_offset
            ));
        }
        if Some(header.partition_leader_epoch as i64) != term {
            return refuse(format!(
                "the copy's term {} is not the stored term {term:?}",
                header.partition_leader_epoch
            ));
        }
        let end = position + bytes.len() as u64;
        if end > segment.flushed {
            return refuse(format!(
                "it would end at byte {end}, past the {} bytes written",
                segment.flushed
            ));
        }
        if end < segment.size {
            // The next batch must start right after the copy: its prefix (offset and length)
            // names the offset the copy ends at.
            let mut prefix = [0u8; LOG_OVERHEAD_BYTES];
            segment.read_into(&mut prefix, end)?;
            let next = read_prefix(&prefix).map(|(offset, _)| offset);
            if next != Some(header.next_offset()) {
                return refuse(format!(
                    "the next batch at byte {end} starts with offset {next:?}, not {}",
                    header.next_offset()
                ));
            }
        }
        let path = log_path(&segment.dir, segment.base_offset);
        let file = &*segment.log_file()?;
        let mut stored = vec![0u8; bytes.len()];
        read_exact_at(file, &mut stored, position)
            .map_err(io_context(format!("reading {}", path.display())))?;
        if stored == bytes {
            return Ok(false);
        }
        write_all_at(file, bytes, position).map_err(io_context(format!("writing {}", path.display())))?;
        file.sync_data()
            .map_err(io_context(format!("fdatasync of {}", path.display())))?;
        read_exact_at(file, &mut stored, position)
            .map_err(io_context(format!("reading {}", path.display())))?;
        if stored != bytes {
            return Err(StorageError::CorruptMessage(format!(
                "{} byte {position}: the repaired batch of LogIndex {index} reads back different",
                path.display()
            )));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use crate::log::Log;
    use crate::log_tests::{batch, limits};
    use crate::segment::log_path;

    /// A log of 1 KiB segments holding 40 batches of 2 records (term 1); returns it and every
    /// batch as appended.
    fn filled(dir: &std::path::Path) -> (Log, Vec<Vec<u8>>) {
        let mut log = Log::open(dir, limits(1024, 0)).unwrap();
        let batches: Vec<Vec<u8>> = (0..40u64)
            .map(|i| batch(i * 2, 1, 1000 + i as i64, 2, i as u8))
            .collect();
        for bytes in &batches {
            log.append(&[bytes]).unwrap();
        }
        log.sync().unwrap();
        (log, batches)
    }

    fn second_segment_start(dir: &std::path::Path) -> (u64, Vec<u8>) {
        let mut bases: Vec<u64> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
            .collect();
        bases.sort_unstable();
        (bases[1], std::fs::read(log_path(dir, bases[1])).unwrap())
    }

    #[test]
    fn a_flipped_byte_is_written_back_from_a_healthy_copy_and_the_file_equals_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, batches) = filled(dir.path());
        let (base, original) = second_segment_start(dir.path());
        let index = log.index_of_offset(base).unwrap().unwrap();
        let first = ((base / 2) + 1) as usize; // LogIndex of the segment's first batch
        assert_eq!(index as usize, first);
        // Damage the second batch of the segment: its baseOffset (outside the CRC) and a record.
        let second = batches[first - 1].len();
        let mut damaged = original.clone();
        damaged[second + 7] ^= 0x10;
        damaged[second + 70] ^= 0x01;
        std::fs::write(log_path(dir.path(), base), &damaged).unwrap();

        assert!(log.repair_batch(index + 1, &batches[first]).unwrap());
        assert_eq!(std::fs::read(log_path(dir.path(), base)).unwrap(), original);
        assert!(
            !log.repair_batch(index + 1, &batches[first]).unwrap(),
            "a second repair writes nothing"
        );
        let (bytes, count) = log.read_entries(index + 1, index + 1, 1 << 20).unwrap();
        assert_eq!((bytes, count), (batches[first].clone(), 1));
    }

    #[test]
    fn the_expected_offset_of_an_entry_ignores_its_own_flipped_base_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = filled(dir.path());
        let (base, mut bytes) = second_segment_start(dir.path());
        let index = log.index_of_offset(base).unwrap().unwrap();
        let second = crate::record_batch::read_prefix(&bytes).unwrap().1;
        bytes[second + 3] ^= 0x01;
        std::fs::write(log_path(dir.path(), base), &bytes).unwrap();
        assert_eq!(log.expected_offset_at(index + 1).unwrap(), base + 2);
        assert_eq!(log.expected_offset_at(index).unwrap(), base);
        assert!(log.expected_offset_at(log.last_index() + 1).is_err());
        log.sync().unwrap();
    }

    #[test]
    fn a_copy_of_another_entry_or_term_or_length_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, batches) = filled(dir.path());
        let (base, original) = second_segment_start(dir.path());
        let index = log.index_of_offset(base).unwrap().unwrap();
        let first = index as usize - 1;
        // Another entry's bytes (wrong baseOffset).
        assert!(log.repair_batch(index + 1, &batches[first + 2]).is_err());
        // The same offsets in another term.
        let other_term = batch(base + 2, 2, 1000 + first as i64 + 1, 2, (first + 1) as u8);
        assert!(log.repair_batch(index + 1, &other_term).is_err());
        // The right offsets with another length (one record more).
        let longer = batch(base + 2, 1, 1000, 3, 0);
        assert!(log.repair_batch(index + 1, &longer).is_err());
        // Not a valid batch.
        let mut broken = batches[first + 1].clone();
        broken[70] ^= 0x01;
        assert!(log.repair_batch(index + 1, &broken).is_err());
        assert!(log.repair_batch(log.last_index() + 1, &batches[0]).is_err());
        assert_eq!(std::fs::read(log_path(dir.path(), base)).unwrap(), original);
    }
}

#[cfg(test)]
mod truncation_tests {
    use crate::log::Log;
    use crate::log_tests::{batch, limits};
    use crate::offset_index::INDEX_HEADER_BYTES;
    use crate::segment::{index_path, log_path};

    /// Ten one-batch entries of two records each (LogIndex 1..=10, offsets 0..=19), closed:
    /// the recovery point covers them all. Returns the log file's bytes.
    fn ten_closed_batches(dir: &std::path::Path) -> Vec<u8> {
        let mut log = Log::open(dir, limits(1 << 20, 4096)).unwrap();
        for i in 0..10u64 {
            log.append(&[&batch(i * 2, 1, 1000 + i as i64, 2, i as u8)])
                .unwrap();
        }
        log.close().unwrap();
        std::fs::read(log_path(dir, 0)).unwrap()
    }

    /// File position of the batch after the first `skipped` ones.
    fn position_after(bytes: &[u8], skipped: usize) -> usize {
        let mut position = 0usize;
        for _ in 0..skipped {
            position +=
                12 + i32::from_be_bytes(bytes[position + 8..position + 12].try_into().unwrap()) as usize;
        }
        position
    }

    /// Opens the log again after `bytes` replaced its file; the damage lies under the recovery
    /// point, so the open reads none of it.
    fn reopen_damaged(dir: &std::path::Path, bytes: &[u8]) -> Log {
        std::fs::write(log_path(dir, 0), bytes).unwrap();
        let log = Log::open(dir, limits(1 << 20, 4096)).unwrap();
        assert_eq!(
            log.recovery().scanned_bytes,
            0,
            "the recovery point covers the damage"
        );
        log
    }

    /// Seed 108 of the torture run: bit rot flipped the `baseOffset` (outside the CRC) of a batch
    /// the recovery point covers, so the log opened without reading it. A Raft truncation that
    /// cut exactly there took the flipped value as the log's next offset, and the follower stored
    /// every later entry at wrong offsets (its log "stopped" at the damaged offset).
    #[test]
    fn a_truncation_at_a_batch_whose_base_offset_rotted_keeps_the_true_next_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = ten_closed_batches(dir.path());
        // The eighth batch (LogIndex 8, offsets 14..15): flip a high bit of its baseOffset.
        let position = position_after(&bytes, 7);
        assert_eq!(
            u64::from_be_bytes(bytes[position..position + 8].try_into().unwrap()),
            14
        );
        bytes[position + 3] ^= 0x01;
        let mut log = reopen_damaged(dir.path(), &bytes);
        log.truncate_after(7).unwrap();
        assert_eq!(log.next_offset(), 14);
        log.append(&[&batch(14, 2, 2000, 3, 9)]).unwrap();
        assert_eq!((log.last_index(), log.next_offset()), (8, 17));
    }

    /// Bit rot inside a kept batch (a record byte, under the CRC) a few batches before a Raft
    /// truncation point in the active segment: the truncation walks the batches between the
    /// sparse index entry and the cut, CRC-checking each. It must not fail with CORRUPT_MESSAGE:
    /// in the broker that error comes from the native append in the Ready loop (a follower
    /// taking a new leader's conflicting entries), which stops the raft node and the broker,
    /// and the scrubber never looks at the active segment.
    #[test]
    fn a_truncation_succeeds_when_a_kept_batch_before_the_cut_rotted() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = ten_closed_batches(dir.path());
        // The sixth batch (LogIndex 6): flip the last byte of its last record's value.
        let position = position_after(&bytes, 6);
        bytes[position - 2] ^= 0x01;
        let mut log = reopen_damaged(dir.path(), &bytes);
        log.truncate_after(7).unwrap();
        assert_eq!(log.next_offset(), 14);
    }

    /// The same bit rot as seed 108, one file over: a low bit of a sealed segment's `.index`
    /// entry (its relative offset, no checksum either) flips. The open-time check samples 64
    /// entries of a sealed segment and the load checks only that entries increase, so the entry
    /// is trusted; a Raft truncation that cuts just after it takes base + the flipped relative
    /// offset as the log's next offset, and the next entry is stored at a wrong offset.
    #[test]
    fn a_truncation_past_a_rotted_sparse_index_entry_keeps_the_true_next_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), limits(1 << 20, 0)).unwrap();
        for i in 0..300u64 {
            log.append(&[&batch(i * 2, 1, 1000 + i as i64, 2, i as u8)])
                .unwrap();
        }
        log.roll(2000).unwrap();
        log.append(&[&batch(600, 1, 2000, 2, 1)]).unwrap();
        log.close().unwrap();
        // Every batch but the first has an entry; file entry 1 is LogIndex 3 (offsets 4..5).
        let path = index_path(dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = INDEX_HEADER_BYTES as usize + 12;
        assert_eq!(u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()), 4);
        bytes[at + 3] ^= 0x01; // relative offset 4 -> 5, still increasing
        std::fs::write(&path, &bytes).unwrap();

        let mut log = Log::open(dir.path(), limits(1 << 20, 0)).unwrap();
        assert!(
            log.recovery().rebuilt_indexes.is_empty(),
            "the damaged entry was trusted"
        );
        log.truncate_after(2).unwrap(); // keeps LogIndex 1..=2, offsets 0..=3
        assert_eq!(log.next_offset(), 4);
    }
}
