//! Power-loss tests. A plain `sync` fdatasyncs only the active segment's `.log`; index files and
//! the recovery point are made durable only when a recovery point is taken. After a power loss
//! the disk therefore holds: everything before the recovery point (log bytes and the index
//! entries it counts), the log bytes of every sync, and past those anything — files shorter,
//! longer, torn, zero-filled or holding stale bytes. These tests build such states by hand and
//! check that reopening finds every synced entry by LogIndex, by offset and by timestamp, and
//! that no index entry on disk disagrees with the log.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::limits::Limits;
use crate::log::Log;
use crate::log_tests::{batch, limits, Rng};
use crate::offset_index::INDEX_HEADER_BYTES;
use crate::record_batch::{parse_header, read_prefix};
use crate::segment::{index_path, log_path, time_index_path};

/// One batch as found in a `.log` file.
#[derive(Debug, Clone, Copy)]
struct StoredBatch {
    position: u64,
    base_offset: u64,
    end: u64,
    max_timestamp: i64,
}

fn segment_bases(dir: &Path) -> Vec<u64> {
    let mut bases: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let stem = name.strip_suffix(".log")?;
            (stem.len() == 20).then(|| stem.parse().unwrap())
        })
        .collect();
    bases.sort_unstable();
    bases
}

/// The whole batches at the start of a `.log` file (stops at the first torn one).
fn stored_batches(path: &Path) -> Vec<StoredBatch> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some((_, total)) = read_prefix(&bytes[at..]) {
        if total < 61 || at + total > bytes.len() {
            break;
        }
        let header = parse_header(&bytes[at..]).unwrap();
        out.push(StoredBatch {
            position: at as u64,
            base_offset: header.base_offset as u64,
            end: (at + total) as u64,
            max_timestamp: header.max_timestamp,
        });
        at += total;
    }
    out
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}
fn be_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Checks every segment's `.index` and `.timeindex` on disk against its `.log`: headers carry
/// the segment's base LogIndex, every offset-index entry names a batch start with that batch's
/// relative offset and index, every time-index entry names a stored batch and the exact max
/// timestamp of the segment up to it. Call it after `open` or `close` (both write the indexes).
pub(crate) fn check_index_files(dir: &Path, first_index: u64) {
    let mut base_index = first_index;
    for base in segment_bases(dir) {
        let batches = stored_batches(&log_path(dir, base));
        let log_bytes = std::fs::metadata(log_path(dir, base)).unwrap().len();
        assert_eq!(
            batches.last().map_or(0, |b| b.end),
            log_bytes,
            "segment {base}: the log holds whole batches only"
        );
        let index = std::fs::read(index_path(dir, base)).unwrap();
        assert_eq!(&index[0..4], b"GQOI");
        assert_eq!(
            be_u64(&index, 8),
            base_index,
            "segment {base}: .index base LogIndex"
        );
        assert_eq!((index.len() - 16) % 12, 0, "segment {base}: whole .index entries");
        let mut previous_relative = 0u32;
        for entry in index[16..].chunks_exact(12) {
            let (relative_offset, relative_index, position) =
                (be_u32(entry, 0), be_u32(entry, 4), be_u32(entry, 8));
            assert!(
                relative_index > previous_relative,
                "segment {base}: .index increases"
            );
            previous_relative = relative_index;
            let stored = batches
                .get(relative_index as usize)
                .unwrap_or_else(|| panic!("segment {base}: .index entry for missing batch {relative_index}"));
            assert_eq!(
                (stored.position, stored.base_offset - base),
                (position as u64, relative_offset as u64),
                "segment {base}: .index entry {relative_index} disagrees with the log"
            );
        }
        let time = std::fs::read(time_index_path(dir, base)).unwrap();
        assert_eq!(&time[0..4], b"GQTI");
        assert_eq!(
            be_u64(&time, 8),
            base_index,
            "segment {base}: .timeindex base LogIndex"
        );
        assert_eq!(
            (time.len() - 16) % 12,
            0,
            "segment {base}: whole .timeindex entries"
        );
        let mut previous_timestamp = i64::MIN;
        for entry in time[16..].chunks_exact(12) {
            let timestamp = be_u64(entry, 0) as i64;
            let relative_index = be_u32(entry, 8) as usize;
            assert!(
                relative_index < batches.len(),
                "segment {base}: .timeindex entry for missing batch {relative_index}"
            );
            let running_max = batches[..=relative_index]
                .iter()
                .map(|b| b.max_timestamp)
                .max()
                .unwrap();
            assert_eq!(
                timestamp, running_max,
                "segment {base}: .timeindex entry {relative_index}"
            );
            assert!(
                timestamp > previous_timestamp,
                "segment {base}: .timeindex increases"
            );
            previous_timestamp = timestamp;
        }
        base_index += batches.len() as u64;
    }
}

/// What may follow the durable part of an index file after a power loss.
#[derive(Debug, Clone, Copy)]
enum IndexTail {
    /// Nothing: the unsynced entries never reached the disk.
    Cut,
    /// A torn entry.
    TornEntry,
    /// The file was extended but its blocks never written (delayed allocation).
    Zeros,
    /// Random bytes.
    Garbage,
    /// Entries that look valid (increasing) but point at wrong places, inside the durable log.
    Plausible,
    /// Whatever the process had written (the complete but unsynced entries).
    AsWritten,
}

const INDEX_TAILS: [IndexTail; 6] = [
    IndexTail::Cut,
    IndexTail::TornEntry,
    IndexTail::Zeros,
    IndexTail::Garbage,
    IndexTail::Plausible,
    IndexTail::AsWritten,
];

/// Replaces an index file's bytes after `keep_bytes` by `tail`.
fn damage_index(path: &Path, keep_bytes: u64, tail: IndexTail, rng: &mut Rng) {
    let bytes = std::fs::read(path).unwrap_or_default();
    let keep = (keep_bytes as usize).min(bytes.len());
    let mut out = bytes[..keep].to_vec();
    let entries = 1 + rng.below(20) as usize;
    match tail {
        IndexTail::Cut => {}
        IndexTail::TornEntry => out.extend((0..1 + rng.below(11)).map(|_| rng.below(256) as u8)),
        IndexTail::Zeros => out.resize(out.len() + 12 * entries + rng.below(4096) as usize, 0),
        IndexTail::Garbage => {
            out.extend((0..12 * entries + rng.below(12) as usize).map(|_| rng.below(256) as u8))
        }
        IndexTail::Plausible => {
            // Small steps after the last durable entry: increasing in every column (so a loader
            // that checks only order accepts them) but not at batch starts, nor the real
            // timestamps.
            let last = out
                .len()
                .checked_sub(12)
                .filter(|&at| at >= INDEX_HEADER_BYTES as usize)
                .map(|at| out[at..at + 12].to_vec());
            let time_index = path.extension().is_some_and(|e| e == "timeindex");
            if time_index {
                let (mut timestamp, mut relative) = last
                    .as_ref()
                    .map_or((0, 0), |e| (be_u64(e, 0) as i64, be_u32(e, 8)));
                for _ in 0..entries {
                    timestamp += 1;
                    relative += 1;
                    out.extend_from_slice(&timestamp.to_be_bytes());
                    out.extend_from_slice(&relative.to_be_bytes());
                }
            } else {
                let (mut offset, mut relative, mut position) = last
                    .as_ref()
                    .map_or((0, 0, 0), |e| (be_u32(e, 0), be_u32(e, 4), be_u32(e, 8)));
                for _ in 0..entries {
                    offset += 1;
                    relative += 1;
                    position += 1 + rng.below(3) as u32;
                    out.extend_from_slice(&offset.to_be_bytes());
                    out.extend_from_slice(&relative.to_be_bytes());
                    out.extend_from_slice(&position.to_be_bytes());
                }
            }
        }
        IndexTail::AsWritten => out = bytes,
    }
    std::fs::write(path, out).unwrap();
}

fn set_file_len(path: &Path, length: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(length)
        .unwrap();
}

/// Simulates a power loss on a log whose process died without closing it (call after
/// `std::mem::forget(log)`): the `.log` files lose an arbitrary part of what follows the last
/// synced entry (`synced`), and the index files of the recovery point's segment and later ones
/// lose or garble whatever follows what the point counts. Nothing durable is touched.
pub(crate) fn simulate_power_loss(dir: &Path, synced: u64, first_index: u64, rng: &mut Rng) {
    let point = Checkpoint::read(dir).expect("a log always has a recovery point after open");
    let bases = segment_bases(dir);
    let point_segment = bases
        .iter()
        .position(|&b| b == point.segment_base_offset)
        .expect("the recovery point names an existing segment");
    // Where the first entry after `synced` starts: everything from there may be lost.
    let mut index = first_index;
    let mut cut_from: Option<(usize, u64)> = None;
    for (s, &base) in bases.iter().enumerate() {
        for stored in stored_batches(&log_path(dir, base)) {
            if index > synced && cut_from.is_none() {
                cut_from = Some((s, stored.position));
            }
            index += 1;
        }
    }
    if let Some((s, position)) = cut_from {
        assert!(
            (s, position) >= (point_segment, point.position),
            "the recovery point ({}, {}) covers unsynced bytes ({}, {position})",
            point.segment_base_offset,
            point.position,
            bases[s]
        );
        let path = log_path(dir, bases[s]);
        let length = std::fs::metadata(&path).unwrap().len();
        let new_length = match rng.below(4) {
            0 => position,
            1 => length,
            _ => position + rng.below(length - position + 1),
        };
        set_file_len(&path, new_length);
        if rng.below(3) == 0 {
            // Zeros where the file grew but its blocks were never written.
            set_file_len(&path, new_length + rng.below(3000));
        }
        for &later in &bases[s + 1..] {
            match rng.below(3) {
                0 => {
                    std::fs::remove_file(log_path(dir, later)).unwrap();
                }
                1 => set_file_len(&log_path(dir, later), 0),
                _ => {}
            }
        }
    }
    let counts = point.index_counts.expect("points are written with index counts");
    for (s, &base) in bases.iter().enumerate().skip(point_segment) {
        let (index_keep, time_keep) = if s == point_segment {
            (
                INDEX_HEADER_BYTES + counts.offset_index * 12,
                INDEX_HEADER_BYTES + counts.time_index * 12,
            )
        } else {
            (rng.below(64), rng.below(64))
        };
        for (path, keep) in [
            (index_path(dir, base), index_keep),
            (time_index_path(dir, base), time_keep),
        ] {
            if s == point_segment {
                let length = std::fs::metadata(&path).unwrap().len();
                assert!(
                    length >= keep,
                    "{} lost entries its recovery point counts",
                    path.display()
                );
            }
            let tail = INDEX_TAILS[rng.below(INDEX_TAILS.len() as u64) as usize];
            damage_index(&path, keep, tail, rng);
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// One entry the test wrote: its LogIndex, bytes, base offset, record count and max timestamp.
#[derive(Clone)]
struct Written {
    index: u64,
    bytes: Vec<u8>,
    offset: u64,
    records: u64,
    max_timestamp: i64,
}

/// A log with a recovery point after entry 40, a plain sync after entry 80 and 20 more entries
/// written but never synced, left without `close` (the process died).
struct Scenario {
    dir: tempfile::TempDir,
    options: Limits,
    written: Vec<Written>,
    /// Bytes of `.index` / `.timeindex` when the recovery point was taken.
    index_at_point: (u64, u64),
    /// `.log` bytes when the recovery point was taken and at the last sync.
    log_at_point: u64,
    log_at_sync: u64,
}

const AT_POINT: u64 = 40;
const AT_SYNC: u64 = 80;
const WRITTEN: u64 = 100;

fn scenario(index_interval_bytes: u64) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let options = limits(1 << 20, index_interval_bytes);
    let mut log = Log::open(dir.path(), options).unwrap();
    let mut written = Vec::new();
    let mut offset = 0u64;
    let mut index_at_point = (0, 0);
    let mut log_at_point = 0;
    let mut log_at_sync = 0;
    for i in 1..=WRITTEN {
        let records = 1 + i % 3;
        // Timestamps mostly grow, sometimes step back, so the time index skips entries.
        let timestamp = (i as i64 * 10) - if i % 7 == 0 { 35 } else { 0 };
        let bytes = batch(offset, 1 + i as i64 / 30, timestamp, records as usize, i as u8);
        log.append(&[&bytes]).unwrap();
        written.push(Written {
            index: i,
            bytes: bytes.clone(),
            offset,
            records,
            max_timestamp: timestamp + records as i64 - 1,
        });
        offset += records;
        if i == AT_POINT {
            assert_eq!(log.checkpoint().unwrap(), AT_POINT);
            let size = |p: PathBuf| std::fs::metadata(p).unwrap().len();
            index_at_point = (
                size(index_path(dir.path(), 0)),
                size(time_index_path(dir.path(), 0)),
            );
            log_at_point = size(log_path(dir.path(), 0));
        }
        if i == AT_SYNC {
            let job = log.prepare_sync().unwrap();
            assert!(!job.takes_recovery_point());
            assert_eq!(job.run().unwrap(), AT_SYNC);
            log_at_sync = std::fs::metadata(log_path(dir.path(), 0)).unwrap().len();
        }
    }
    // The process dies: buffered log bytes and index entries reach the files (the OS has them),
    // nothing more is synced. Each test then decides what of that survives the power loss.
    drop(log);
    Scenario {
        dir,
        options,
        written,
        index_at_point,
        log_at_point,
        log_at_sync,
    }
}

/// Reopens and checks: at least every synced entry is there and is found by LogIndex, by
/// each of its offsets and by timestamp; the recovery point was used (only the log after it
/// was scanned); the index files on disk agree with the log.
fn reopen_and_check(scenario: &Scenario, at_least: u64) -> Log {
    let dir = scenario.dir.path();
    let log = Log::open(dir, scenario.options).unwrap();
    let last = log.last_index();
    assert!(
        last >= at_least,
        "synced entries lost: last index {last} < {at_least}"
    );
    assert!(last <= WRITTEN);
    let recovery = log.recovery();
    assert!(recovery.used_recovery_point, "{recovery:?}");
    let kept_bytes: u64 = scenario.written[..last as usize]
        .iter()
        .map(|w| w.bytes.len() as u64)
        .sum();
    assert_eq!(
        recovery.scanned_bytes,
        kept_bytes - scenario.log_at_point,
        "only the log after the recovery point is scanned"
    );
    let kept = &scenario.written[..last as usize];
    for w in kept {
        assert_eq!(log.read_entries(w.index, w.index, 0).unwrap().0, w.bytes);
        assert_eq!(log.offset_at(w.index).unwrap(), Some(w.offset));
        assert_eq!(log.term_at(w.index), Some(1 + w.index as i64 / 30));
        for offset in w.offset..w.offset + w.records {
            assert_eq!(
                log.index_of_offset(offset).unwrap(),
                Some(w.index),
                "offset {offset}"
            );
            assert_eq!(log.read_from(offset, 0, u64::MAX).unwrap(), w.bytes);
        }
    }
    let end = kept.last().map_or(0, |w| w.offset + w.records);
    assert_eq!(log.next_offset(), end);
    assert_eq!(log.index_of_offset(end).unwrap(), None);
    for timestamp in -40..(WRITTEN as i64 * 10 + 10) {
        let expected = kept
            .iter()
            .find(|w| w.max_timestamp >= timestamp)
            .map(|w| w.offset);
        assert_eq!(
            log.offset_for_timestamp(timestamp).unwrap(),
            expected,
            "timestamp {timestamp}"
        );
    }
    check_index_files(dir, 1);
    log
}

#[test]
fn index_files_damaged_past_the_recovery_point_are_rebuilt_from_the_log() {
    for index_interval_bytes in [0, 100] {
        for (n, tail) in INDEX_TAILS.iter().enumerate() {
            let s = scenario(index_interval_bytes);
            let mut rng = Rng(n as u64 + 1);
            let dir = s.dir.path();
            damage_index(&index_path(dir, 0), s.index_at_point.0, *tail, &mut rng);
            damage_index(&time_index_path(dir, 0), s.index_at_point.1, *tail, &mut rng);
            // The log kept everything the process wrote.
            let log = reopen_and_check(&s, WRITTEN);
            assert_eq!(log.last_index(), WRITTEN, "{tail:?}");
        }
    }
}

#[test]
fn unsynced_log_bytes_lost_with_stale_index_entries_left_pointing_past_the_log() {
    for (n, tail) in INDEX_TAILS.iter().enumerate() {
        let s = scenario(0);
        let mut rng = Rng(n as u64 + 7);
        let dir = s.dir.path();
        // Only what the last sync covered survives in the log; the index files kept every entry
        // the process wrote (pointing past the log) or lost them in one of the ways above.
        set_file_len(&log_path(dir, 0), s.log_at_sync);
        if !matches!(tail, IndexTail::AsWritten) {
            damage_index(&index_path(dir, 0), s.index_at_point.0, *tail, &mut rng);
            damage_index(&time_index_path(dir, 0), s.index_at_point.1, *tail, &mut rng);
        }
        let log = reopen_and_check(&s, AT_SYNC);
        assert_eq!(log.last_index(), AT_SYNC, "{tail:?}");
        assert_eq!(log.recovery().truncated_bytes, 0);
    }
}

#[test]
fn a_torn_or_zero_filled_log_tail_after_the_last_sync_is_cut() {
    let s = scenario(100);
    let dir = s.dir.path();
    let next_batch = s.written[AT_SYNC as usize].bytes.len() as u64;
    // Half of the next batch reached the disk, then the file was extended with zeros.
    set_file_len(&log_path(dir, 0), s.log_at_sync + next_batch / 2);
    set_file_len(&log_path(dir, 0), s.log_at_sync + 4096);
    let mut rng = Rng(3);
    damage_index(
        &index_path(dir, 0),
        s.index_at_point.0,
        IndexTail::AsWritten,
        &mut rng,
    );
    let log = reopen_and_check(&s, AT_SYNC);
    assert_eq!(log.last_index(), AT_SYNC);
    assert_eq!(log.recovery().truncated_bytes, 4096);
    assert!(log.recovery().truncation_reason.is_some());
}

#[test]
fn a_plain_sync_leaves_index_files_and_the_recovery_point_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), limits(1 << 20, 0)).unwrap();
    let point = std::fs::read(dir.path().join("recovery-point")).unwrap();
    let index = std::fs::read(index_path(dir.path(), 0)).unwrap();
    for i in 0..20 {
        log.append(&[&batch(i, 1, i as i64, 1, i as u8)]).unwrap();
        let job = log.prepare_sync().unwrap();
        assert!(!job.takes_recovery_point());
        assert_eq!(job.run().unwrap(), i + 1);
    }
    assert_eq!(std::fs::read(dir.path().join("recovery-point")).unwrap(), point);
    assert_eq!(std::fs::read(index_path(dir.path(), 0)).unwrap(), index);
    // A roll seals a segment: the next sync fsyncs its files and takes a point in the new one.
    log.roll(0).unwrap();
    log.append(&[&batch(20, 1, 20, 1, 20)]).unwrap();
    assert!(log.recovery_point_due());
    let job = log.prepare_sync().unwrap();
    assert!(job.takes_recovery_point());
    assert_eq!(job.run().unwrap(), 21);
    let taken = Checkpoint::read(dir.path()).unwrap();
    assert_eq!((taken.segment_base_offset, taken.next_index), (20, 22));
    assert!(!log.prepare_sync().unwrap().takes_recovery_point());
    log.close().unwrap();
    check_index_files(dir.path(), 1);
}

#[test]
fn a_recovery_point_is_taken_once_the_interval_bytes_were_appended() {
    let dir = tempfile::tempdir().unwrap();
    let one = batch(0, 1, 0, 1, 1).len() as u64;
    let options = Limits {
        checkpoint_interval_bytes: 5 * one,
        ..limits(1 << 20, 0)
    };
    let mut log = Log::open(dir.path(), options).unwrap();
    let mut taken = Vec::new();
    for i in 0..12 {
        log.append(&[&batch(i, 1, 0, 1, 1)]).unwrap();
        let job = log.prepare_sync().unwrap();
        taken.push(job.takes_recovery_point());
        job.run().unwrap();
    }
    let expected: Vec<bool> = (1..=12).map(|n| n % 5 == 0).collect();
    assert_eq!(taken, expected);
    assert_eq!(Checkpoint::read(dir.path()).unwrap().next_index, 11);
    // Interval 0: a point at every sync (how every sync behaved before).
    let every = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        every.path(),
        Limits {
            checkpoint_interval_bytes: 0,
            ..limits(1 << 20, 0)
        },
    )
    .unwrap();
    for i in 0..3 {
        log.append(&[&batch(i, 1, 0, 1, 1)]).unwrap();
        assert!(log.prepare_sync().unwrap().takes_recovery_point());
    }
}

#[test]
fn a_late_recovery_point_job_never_replaces_a_newer_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), limits(1 << 20, 0)).unwrap();
    log.append(&[&batch(0, 1, 0, 1, 1)]).unwrap();
    let early = log.prepare_checkpoint().unwrap();
    log.append(&[&batch(1, 1, 0, 1, 2)]).unwrap();
    let late = log.prepare_checkpoint().unwrap();
    assert_eq!(late.run().unwrap(), 2);
    assert_eq!(early.run().unwrap(), 2);
    assert_eq!(Checkpoint::read(dir.path()).unwrap().next_index, 3);
}

#[test]
fn retention_keeps_the_recovery_point_position_so_a_crash_scans_only_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let options = limits(1024, 100);
    let mut log = Log::open(dir.path(), options).unwrap();
    for i in 0..60 {
        log.append(&[&batch(i, 1, i as i64, 1, i as u8)]).unwrap();
    }
    log.checkpoint().unwrap();
    assert!(log.segment_count() > 3);
    let first = log.apply_retention(i64::MAX, None, Some(1), u64::MAX).unwrap();
    assert!(first > 1);
    let tail: Vec<Vec<u8>> = (60..63).map(|i| batch(i, 1, i as i64, 1, i as u8)).collect();
    for b in &tail {
        log.append(&[b]).unwrap();
    }
    log.sync().unwrap();
    std::mem::forget(log);
    let log = Log::open(dir.path(), options).unwrap();
    assert!(log.recovery().used_recovery_point);
    assert_eq!(
        log.recovery().scanned_bytes,
        tail.iter().map(|b| b.len() as u64).sum::<u64>(),
        "only the bytes appended after the point are scanned"
    );
    assert_eq!((log.first_index(), log.last_index()), (first, 63));
    check_index_files(dir.path(), first);
}

#[test]
fn segments_rolled_after_the_recovery_point_get_their_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let options = limits(1024, 100);
    let batches: Vec<Vec<u8>> = (0..60).map(|i| batch(i, 1, i as i64 * 3, 1, i as u8)).collect();
    let mut log = Log::open(dir.path(), options).unwrap();
    for b in &batches[..5] {
        log.append(&[b]).unwrap();
    }
    log.checkpoint().unwrap();
    for b in &batches[5..] {
        log.append(&[b]).unwrap();
    }
    assert!(log.segment_count() > 3);
    drop(log); // written, never synced: every rolled segment's files may be anything
    let bases = segment_bases(dir.path());
    let mut rng = Rng(11);
    let point = Checkpoint::read(dir.path()).unwrap();
    assert_eq!(point.segment_base_offset, 0);
    let counts = point.index_counts.unwrap();
    damage_index(
        &index_path(dir.path(), 0),
        16 + counts.offset_index * 12,
        IndexTail::Plausible,
        &mut rng,
    );
    std::fs::remove_file(index_path(dir.path(), bases[1])).unwrap();
    damage_index(
        &time_index_path(dir.path(), bases[2]),
        0,
        IndexTail::Garbage,
        &mut rng,
    );
    damage_index(&index_path(dir.path(), bases[3]), 30, IndexTail::Zeros, &mut rng);
    let log = Log::open(dir.path(), options).unwrap();
    assert!(log.recovery().used_recovery_point);
    assert_eq!(log.last_index(), 60);
    for (i, b) in batches.iter().enumerate() {
        let index = i as u64 + 1;
        assert_eq!(log.read_entries(index, index, 0).unwrap().0, *b);
        assert_eq!(log.index_of_offset(i as u64).unwrap(), Some(index));
        assert_eq!(log.offset_for_timestamp(i as i64 * 3).unwrap(), Some(i as u64));
    }
    check_index_files(dir.path(), 1);
}
