//! Integrity: what recovery does with a corrupt batch inside a closed segment (it moves what it
//! cuts into `quarantine/` instead of deleting it).

use crate::log::{Log, QUARANTINE_DIR};
use crate::log_tests::{batch, limits};
use crate::segment::log_path;

/// Appends 40 batches of 2 records to a log of 1 KiB segments and closes it.
fn filled(dir: &std::path::Path) -> Vec<u64> {
    let mut log = Log::open(dir, limits(1024, 0)).unwrap();
    for i in 0..40u64 {
        log.append(&[&batch(i * 2, 1, 1000 + i as i64, 2, i as u8)])
            .unwrap();
    }
    log.close().unwrap();
    let mut bases: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    bases.sort_unstable();
    bases
}

#[test]
fn a_corrupt_batch_in_a_closed_segment_moves_the_cut_bytes_and_later_segments_to_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let bases = filled(dir.path());
    assert!(bases.len() >= 4, "{bases:?}");
    // Flip a byte in the second batch of the first segment and drop the recovery point, so
    // the whole log is scanned (as after a lost or damaged point).
    let first = log_path(dir.path(), bases[0]);
    let mut bytes = std::fs::read(&first).unwrap();
    let second_batch = crate::record_batch::read_prefix(&bytes).unwrap().1;
    bytes[second_batch + 70] ^= 0x40;
    std::fs::write(&first, &bytes).unwrap();
    std::fs::remove_file(dir.path().join("recovery-point")).unwrap();

    let log = Log::open(dir.path(), limits(1024, 0)).unwrap();
    let report = log.recovery().clone();
    assert_eq!(log.last_index(), 1, "the log ends before the corrupt batch");
    let reason = report.truncation_reason.unwrap();
    assert!(
        reason.contains(&format!("segment {} byte {second_batch}", bases[0])),
        "{reason}"
    );
    let quarantine = dir.path().join(QUARANTINE_DIR);
    // The cut tail of the first segment and every later segment's files are kept there.
    assert!(
        report.quarantined.iter().any(|p| p.contains(".cut-at-")),
        "{:?}",
        report.quarantined
    );
    for base in &bases[1..] {
        let name = log_path(dir.path(), *base).file_name().unwrap().to_owned();
        assert!(
            quarantine.join(&name).exists(),
            "segment {base} kept in quarantine"
        );
        assert!(
            !log_path(dir.path(), *base).exists(),
            "segment {base} is out of the log"
        );
    }
    let kept: u64 = bases[1..]
        .iter()
        .map(|b| {
            std::fs::metadata(quarantine.join(log_path(dir.path(), *b).file_name().unwrap()))
                .unwrap()
                .len()
        })
        .sum::<u64>()
        + (bytes.len() - second_batch) as u64;
    assert_eq!(report.truncated_bytes, kept, "every byte cut is in quarantine");
}

#[test]
fn a_torn_tail_of_the_last_segment_is_cut_without_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let bases = filled(dir.path());
    let last = log_path(dir.path(), *bases.last().unwrap());
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&last, &bytes).unwrap();
    let log = Log::open(dir.path(), limits(1024, 0)).unwrap();
    assert!(log.recovery().truncated_bytes > 0);
    assert!(log.recovery().quarantined.is_empty());
    assert!(!dir.path().join(QUARANTINE_DIR).exists());
}

/// Scrubs the whole log from its first segment in steps of `step_bytes`; returns the first
/// damaged batch and the bytes verified.
fn scrub_all(log: &Log, first_base: u64, step_bytes: u64) -> (Option<crate::log::CorruptBatch>, u64) {
    let mut cursor = crate::log::ScrubCursor {
        segment_base_offset: first_base,
        position: 0,
        next_offset: first_base,
    };
    let mut verified = 0;
    for _ in 0..10_000 {
        let step = log.scrub(cursor, step_bytes).unwrap();
        verified += step.bytes;
        if step.corrupt.is_some() || step.wrapped {
            return (step.corrupt, verified);
        }
        cursor = step.cursor;
    }
    panic!("the scrub never wrapped");
}

#[test]
fn the_scrubber_verifies_every_batch_and_finds_a_flipped_byte_that_recovery_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let bases = filled(dir.path());
    let log = Log::open(dir.path(), limits(1024, 0)).unwrap();
    assert!(log.recovery().used_recovery_point);
    let (corrupt, verified) = scrub_all(&log, bases[0], 300);
    assert_eq!(corrupt, None);
    let active = std::fs::metadata(log_path(dir.path(), *bases.last().unwrap()))
        .unwrap()
        .len();
    assert_eq!(
        verified,
        log.size_bytes() - active,
        "one pass reads every sealed byte once"
    );
    drop(log);
    // A byte flipped inside data the recovery point covers: reopening does not read it...
    let third = log_path(dir.path(), bases[2]);
    let mut bytes = std::fs::read(&third).unwrap();
    let second_batch = crate::record_batch::read_prefix(&bytes).unwrap().1;
    bytes[second_batch + 65] ^= 0x01;
    std::fs::write(&third, &bytes).unwrap();
    let log = Log::open(dir.path(), limits(1024, 0)).unwrap();
    assert_eq!(log.recovery().truncated_bytes, 0);
    // ...the scrubber does, and names the segment, the position and the offset.
    let (corrupt, _) = scrub_all(&log, bases[0], 300);
    let corrupt = corrupt.expect("the flipped byte is found");
    assert_eq!(
        (corrupt.segment_base_offset, corrupt.position),
        (bases[2], second_batch as u64)
    );
    let header = crate::record_batch::parse_header(&bytes).unwrap();
    assert_eq!(corrupt.offset, header.next_offset() as u64);
    assert!(corrupt.reason.contains("crc"), "{}", corrupt.reason);
}

#[test]
fn an_index_entry_shifted_by_seven_bytes_is_caught_at_open_and_the_index_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let bases = filled(dir.path());
    for base in [bases[1], *bases.last().unwrap()] {
        // Every batch has an entry (interval 0); move the second entry's position by 7 bytes.
        let path = crate::segment::index_path(dir.path(), base);
        let mut bytes = std::fs::read(&path).unwrap();
        if bytes.len() < 16 + 2 * 12 {
            continue;
        }
        let at = 16 + 12 + 8;
        let position = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) + 7;
        bytes[at..at + 4].copy_from_slice(&position.to_be_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let log = Log::open(dir.path(), limits(1024, 0)).unwrap();
        assert!(
            !log.recovery().used_recovery_point,
            "segment {base}: the point is not trusted"
        );
        assert!(
            log.recovery().rebuilt_indexes.contains(&base),
            "segment {base} rebuilt"
        );
        // Every offset is found again (a fetch at the shifted entry's offset used to return nothing).
        for offset in (0..80u64).step_by(2) {
            let read = log.read_from(offset, 1 << 20, 80).unwrap();
            let header = crate::record_batch::parse_header(&read).unwrap();
            assert_eq!(header.base_offset as u64, offset);
        }
        log.close().unwrap();
    }
}
