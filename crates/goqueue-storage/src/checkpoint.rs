//! The recovery point file `recovery-point`: where the log was last known durable and whole,
//! plus the term map up to there. Reopen trusts everything before the point and scans only
//! what follows it.
//!
//! ```text
//! magic "GQRP" | version u32 = 1
//! logStartIndex u64 | logStartOffset u64
//! segmentBaseOffset u64 | position u64 | nextIndex u64 | nextOffset u64 | segmentMaxTimestamp i64
//! termCount u32 | termCount x (term i64 | firstIndex u64 | firstOffset u64)
//! crc32c u32 of everything before it
//! ```
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub log_start_index: u64,
    pub log_start_offset: u64,
    pub segment_base_offset: u64,
    pub position: u64,
    pub next_index: u64,
    pub next_offset: u64,
    pub segment_max_timestamp: i64,
    pub terms: Vec<TermStart>,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.terms.len() * 24);
        out.extend_from_slice(&CHECKPOINT_MAGIC);
        out.extend_from_slice(&1u32.to_be_bytes());
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
        if bytes.len() < 72 || bytes[0..4] != CHECKPOINT_MAGIC || bytes[4..8] != 1u32.to_be_bytes() {
            return None;
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crate::crc32c(body) != u32::from_be_bytes(crc.try_into().ok()?) {
            return None;
        }
        let u64_at = |at: usize| u64::from_be_bytes(body[at..at + 8].try_into().unwrap());
        let count = u32::from_be_bytes(body[64..68].try_into().unwrap()) as usize;
        if body.len() != 68 + count * 24 {
            return None;
        }
        let terms = (0..count)
            .map(|i| {
                let at = 68 + i * 24;
                TermStart {
                    term: u64_at(at) as i64,
                    first_index: u64_at(at + 8),
                    first_offset: u64_at(at + 16),
                }
            })
            .collect();
        Some(Checkpoint {
            log_start_index: u64_at(8),
            log_start_offset: u64_at(16),
            segment_base_offset: u64_at(24),
            position: u64_at(32),
            next_index: u64_at(40),
            next_offset: u64_at(48),
            segment_max_timestamp: u64_at(56) as i64,
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
}
