//! The recovery point file `recovery-point`: where the log was last known durable and whole,
//! plus the term map up to there. Reopen trusts everything before the point and scans only
//! what follows it.
//!
//! ```text
//! magic "GQRP" | version u32 = 2
//! logStartIndex u64 | logStartOffset u64
//! segmentBaseOffset u64 | position u64 | nextIndex u64 | nextOffset u64 | segmentMaxTimestamp i64
//! offsetIndexEntries u64 | timeIndexEntries u64
//! termCount u32 | termCount x (term i64 | firstIndex u64 | firstOffset u64)
//! crc32c u32 of everything before it
//! ```
//! `offsetIndexEntries` / `timeIndexEntries` count the entries of the point's segment's `.index`
//! and `.timeindex` that were fsynced before the point was written: recovery trusts exactly those
//! and rebuilds the rest from the log, because index files are not fsynced by every sync and may
//! hold anything past them after a power loss. Version 1 (written when every sync fsynced the
//! indexes) lacks the two counts and is still read.
//!
//! Written to `recovery-point.tmp`, fsynced, renamed over `recovery-point`, directory fsynced.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{io_context, Result};
use crate::fileio::sync_dir;

pub const CHECKPOINT_FILE: &str = "recovery-point";
const CHECKPOINT_MAGIC: [u8; 4] = *b"GQRP";

/// First entry of a term: Kafka's leader-epoch checkpoint, keyed by LogIndex as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermStart {
    pub term: i64,
    pub first_index: u64,
    pub first_offset: u64,
}

/// How many entries of the point's segment's index files were durable when the point was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexCounts {
    pub offset_index: u64,
    pub time_index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub log_start_index: u64,
    pub log_start_offset: u64,
    pub segment_base_offset: u64,
    pub position: u64,
    pub next_index: u64,
    pub next_offset: u64,
    pub segment_max_timestamp: i64,
    /// `None` for a version-1 point: then every index entry before `position` is trusted.
    pub index_counts: Option<IndexCounts>,
    pub terms: Vec<TermStart>,
}

/// Bytes before the term list: magic, version, seven u64 fields (version 1) plus the two index
/// counts (version 2), and the term count.
const V1_FIXED_BYTES: usize = 8 + 7 * 8 + 4;
const V2_FIXED_BYTES: usize = V1_FIXED_BYTES + 2 * 8;

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.terms.len() * 24);
        out.extend_from_slice(&CHECKPOINT_MAGIC);
        out.extend_from_slice(&2u32.to_be_bytes());
        for value in [
            self.log_start_index,
            self.log_start_offset,
            self.segment_base_offset,
            self.position,
            self.next_index,
            self.next_offset,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(&self.segment_max_timestamp.to_be_bytes());
        // A point is always made with counts (version 1 exists only to be read). Zero counts
        // would still be safe: recovery would trust no index entry of the point's segment.
        debug_assert!(
            self.index_counts.is_some(),
            "a recovery point is written with its index counts"
        );
        let counts = self.index_counts.unwrap_or(IndexCounts {
            offset_index: 0,
            time_index: 0,
        });
        out.extend_from_slice(&counts.offset_index.to_be_bytes());
        out.extend_from_slice(&counts.time_index.to_be_bytes());
        out.extend_from_slice(&(self.terms.len() as u32).to_be_bytes());
        for t in &self.terms {
            out.extend_from_slice(&t.term.to_be_bytes());
            out.extend_from_slice(&t.first_index.to_be_bytes());
            out.extend_from_slice(&t.first_offset.to_be_bytes());
        }
        let crc = crate::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Checkpoint> {
        if bytes.len() < V1_FIXED_BYTES + 4 || bytes[0..4] != CHECKPOINT_MAGIC {
            return None;
        }
        let version = u32::from_be_bytes(bytes[4..8].try_into().unwrap());
        let fixed = match version {
            1 => V1_FIXED_BYTES,
            2 => V2_FIXED_BYTES,
            _ => return None,
        };
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if body.len() < fixed || crate::crc32c(body) != u32::from_be_bytes(crc.try_into().ok()?) {
            return None;
        }
        let u64_at = |at: usize| u64::from_be_bytes(body[at..at + 8].try_into().unwrap());
        let count = u32::from_be_bytes(body[fixed - 4..fixed].try_into().unwrap()) as usize;
        if body.len() != fixed + count * 24 {
            return None;
        }
        let terms = (0..count)
            .map(|i| {
                let at = fixed + i * 24;
                TermStart {
                    term: u64_at(at) as i64,
                    first_index: u64_at(at + 8),
                    first_offset: u64_at(at + 16),
                }
            })
            .collect();
        let index_counts = (version >= 2).then(|| IndexCounts {
            offset_index: u64_at(64),
            time_index: u64_at(72),
        });
        Some(Checkpoint {
            log_start_index: u64_at(8),
            log_start_offset: u64_at(16),
            segment_base_offset: u64_at(24),
            position: u64_at(32),
            next_index: u64_at(40),
            next_offset: u64_at(48),
            segment_max_timestamp: u64_at(56) as i64,
            index_counts,
            terms,
        })
    }

    /// Reads the checkpoint; `None` when missing or damaged.
    pub fn read(dir: &Path) -> Option<Checkpoint> {
        Checkpoint::decode(&std::fs::read(dir.join(CHECKPOINT_FILE)).ok()?)
    }

    /// Replaces the checkpoint atomically and durably.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
        let target = dir.join(CHECKPOINT_FILE);
        let mut file = File::create(&tmp).map_err(io_context(format!("creating {}", tmp.display())))?;
        file.write_all(&self.encode())
            .map_err(io_context(format!("writing {}", tmp.display())))?;
        file.sync_all()
            .map_err(io_context(format!("syncing {}", tmp.display())))?;
        std::fs::rename(&tmp, &target).map_err(io_context(format!("renaming {}", tmp.display())))?;
        sync_dir(dir).map_err(io_context(format!("syncing directory {}", dir.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = Checkpoint {
            log_start_index: 3,
            log_start_offset: 10,
            segment_base_offset: 40,
            position: 999,
            next_index: 30,
            next_offset: 77,
            segment_max_timestamp: -5,
            index_counts: Some(IndexCounts {
                offset_index: 7,
                time_index: 3,
            }),
            terms: vec![TermStart {
                term: 2,
                first_index: 3,
                first_offset: 10,
            }],
        };
        checkpoint.write(dir.path()).unwrap();
        assert_eq!(Checkpoint::read(dir.path()), Some(checkpoint));
        let path = dir.path().join(CHECKPOINT_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(Checkpoint::read(dir.path()), None);
    }

    #[test]
    fn a_version_1_point_is_read_without_index_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"GQRP");
        bytes.extend_from_slice(&1u32.to_be_bytes());
        for value in [3u64, 10, 40, 999, 30, 77] {
            bytes.extend_from_slice(&value.to_be_bytes());
        }
        bytes.extend_from_slice(&(-5i64).to_be_bytes());
        bytes.extend_from_slice(&1u32.to_be_bytes());
        for value in [2u64, 3, 10] {
            bytes.extend_from_slice(&value.to_be_bytes());
        }
        let crc = crate::crc32c(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        std::fs::write(dir.path().join(CHECKPOINT_FILE), bytes).unwrap();
        let read = Checkpoint::read(dir.path()).unwrap();
        assert_eq!(read.index_counts, None);
        assert_eq!(
            (read.position, read.next_index, read.segment_max_timestamp),
            (999, 30, -5)
        );
        assert_eq!(
            read.terms,
            vec![TermStart {
                term: 2,
                first_index: 3,
                first_offset: 10
            }]
        );
    }
}
