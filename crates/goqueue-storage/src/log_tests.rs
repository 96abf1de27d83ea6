//! Log tests: behaviour, recovery from torn tails, and a random operation sequence checked
//! against a simple in-memory model.

use std::path::Path;

use crate::limits::Limits;
use crate::log::Log;
use crate::log_power_loss_tests::{check_index_files, simulate_power_loss};
use crate::record_batch::test_batch::encode;
use crate::segment::log_path;

/// Recovery points are taken only on roll, close, open and `checkpoint` unless a test lowers
/// `checkpoint_interval_bytes`; never by wall-clock time, so every run replays.
pub(crate) fn limits(segment_bytes: u64, index_interval_bytes: u64) -> Limits {
    Limits {
        segment_bytes,
        segment_ms: 0,
        max_batch_bytes: 1024,
        index_interval_bytes,
        checkpoint_interval_bytes: u64::MAX,
        checkpoint_interval_ms: u64::MAX,
    }
}

pub(crate) fn batch(offset: u64, term: i64, timestamp: i64, records: usize, fill: u8) -> Vec<u8> {
    let value = vec![fill; 20 + (fill as usize % 40)];
    let values: Vec<&[u8]> = (0..records).map(|_| &value[..]).collect();
    encode(offset as i64, term as i32, timestamp, &values)
}

/// xorshift64*: a tiny seeded generator so every run replays.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[test]
fn appended_batches_read_back_by_index_and_by_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), limits(4096, 0)).unwrap();
    assert_eq!(
        (log.first_index(), log.last_index(), log.next_offset()),
        (1, 0, 0)
    );
    let a = batch(0, 1, 100, 3, 1);
    let b = batch(3, 1, 200, 2, 2);
    let c = batch(5, 2, 300, 1, 3);
    let result = log.append(&[&a, &b]).unwrap();
    assert_eq!(
        (
            result.first_index,
            result.last_index,
            result.base_offset,
            result.next_offset
        ),
        (1, 2, 0, 5)
    );
    log.append(&[&c]).unwrap();
    assert_eq!(
        log.read_entries(1, 3, u64::MAX).unwrap(),
        ([a.clone(), b.clone(), c.clone()].concat(), 3)
    );
    assert_eq!(log.read_entries(2, 2, 0).unwrap(), (b.clone(), 1));
    assert_eq!(
        log.read_from(4, u64::MAX, u64::MAX).unwrap(),
        [b.clone(), c.clone()].concat()
    );
    assert_eq!(log.read_from(4, u64::MAX, 5).unwrap(), b);
    assert_eq!(log.read_from(0, 1, u64::MAX).unwrap(), a);
    assert_eq!(
        (log.term_at(1), log.term_at(3), log.term_at(4)),
        (Some(1), Some(2), None)
    );
    assert_eq!(log.offset_at(3).unwrap(), Some(5));
    assert_eq!(log.index_of_offset(4).unwrap(), Some(2));
    assert_eq!(log.offset_for_timestamp(150).unwrap(), Some(3));
    assert_eq!(log.offset_for_timestamp(301).unwrap(), None);
}

#[test]
fn a_rejected_append_leaves_the_log_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), limits(4096, 0)).unwrap();
    log.append(&[&batch(0, 1, 1, 1, 1)]).unwrap();
    let good = batch(1, 1, 1, 1, 2);
    let gap = batch(5, 1, 1, 1, 2);
    assert_eq!(log.append(&[&good, &gap]).unwrap_err().code(), "INVALID_OFFSET");
    let mut bad_crc = batch(2, 1, 1, 1, 2);
    *bad_crc.last_mut().unwrap() ^= 0xff;
    assert_eq!(
        log.append(&[&good, &bad_crc]).unwrap_err().code(),
        "CORRUPT_MESSAGE"
    );
    let old_term = batch(1, 0, 1, 1, 2);
    assert_eq!(log.append(&[&old_term]).unwrap_err().code(), "INVALID_RECORD");
    let large = encode(1, 1, 1, &[&[7u8; 2000]]);
    assert_eq!(log.append(&[&large]).unwrap_err().code(), "MESSAGE_TOO_LARGE");
    assert_eq!(
        (log.last_index(), log.next_offset(), log.size_bytes()),
        (1, 1, batch(0, 1, 1, 1, 1).len() as u64)
    );
}

#[test]
fn a_torn_tail_is_cut_at_the_last_valid_batch_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let batches: Vec<Vec<u8>> = (0..20).map(|i| batch(i, 1, i as i64, 1, i as u8)).collect();
    {
        let mut log = Log::open(dir.path(), limits(1 << 20, 100)).unwrap();
        for b in &batches[..10] {
            log.append(&[b]).unwrap();
        }
        log.sync().unwrap();
        for b in &batches[10..] {
            log.append(&[b]).unwrap();
        }
        // Dropped without close: a crash after appends that were never synced.
    }
    let path = log_path(dir.path(), 0);
    let full = std::fs::read(&path).unwrap();
    let end_of_15: usize = batches[..15].iter().map(|b| b.len()).sum();
    // Half of batch 15, then garbage.
    let mut torn = full[..end_of_15 + batches[15].len() / 2].to_vec();
    torn.extend_from_slice(b"garbage!");
    std::fs::write(&path, &torn).unwrap();
    let log = Log::open(dir.path(), limits(1 << 20, 100)).unwrap();
    assert_eq!(log.last_index(), 15);
    assert_eq!(log.next_offset(), 15);
    assert!(log.recovery().used_recovery_point);
    assert_eq!(log.recovery().truncated_bytes, (torn.len() - end_of_15) as u64);
    assert!(log
        .recovery()
        .truncation_reason
        .as_deref()
        .unwrap()
        .contains("byte"));
    assert_eq!(
        log.read_entries(1, 15, u64::MAX).unwrap().0,
        full[..end_of_15].to_vec()
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), end_of_15 as u64);
}

#[test]
fn a_corrupt_batch_before_the_end_cuts_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let batches: Vec<Vec<u8>> = (0..30).map(|i| batch(i, 1, i as i64, 1, i as u8)).collect();
    {
        let mut log = Log::open(dir.path(), limits(1024, 0)).unwrap();
        for b in &batches {
            log.append(&[b]).unwrap();
        }
        assert!(log.segment_count() > 2);
    }
    // No recovery point covers the later segments: damage a byte in the second segment.
    std::fs::remove_file(dir.path().join("recovery-point")).unwrap();
    let mut segments: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    segments.sort();
    let second = dir.path().join(&segments[1]);
    let base: u64 = segments[1][..20].parse().unwrap();
    let mut bytes = std::fs::read(&second).unwrap();
    let first_len = batches[base as usize].len();
    bytes[first_len + 70] ^= 0x55;
    std::fs::write(&second, bytes).unwrap();
    let log = Log::open(dir.path(), limits(1024, 0)).unwrap();
    assert_eq!(log.next_offset(), base + 1);
    assert_eq!(
        log.read_entries(1, 100, u64::MAX).unwrap().0,
        batches[..=base as usize].concat()
    );
    assert!(log
        .recovery()
        .truncation_reason
        .as_deref()
        .unwrap()
        .contains("crc"));
}

#[test]
fn missing_and_damaged_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let batches: Vec<Vec<u8>> = (0..40)
        .map(|i| batch(i * 2, 1 + i as i64 / 10, i as i64, 2, i as u8))
        .collect();
    {
        let mut log = Log::open(dir.path(), limits(1024, 150)).unwrap();
        for b in &batches {
            log.append(&[b]).unwrap();
        }
        log.close().unwrap();
    }
    std::fs::remove_file(dir.path().join(format!("{:020}.index", 0))).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".timeindex"))
        .collect();
    names.sort();
    std::fs::write(dir.path().join(&names[1]), b"nonsense").unwrap();
    let log = Log::open(dir.path(), limits(1024, 150)).unwrap();
    assert!(!log.recovery().rebuilt_indexes.is_empty());
    assert_eq!(log.recovery().truncated_bytes, 0);
    assert_eq!(log.last_index(), 40);
    for (i, b) in batches.iter().enumerate() {
        let index = i as u64 + 1;
        assert_eq!(log.read_entries(index, index, 0).unwrap().0, *b);
        assert_eq!(log.index_of_offset(i as u64 * 2 + 1).unwrap(), Some(index));
        assert_eq!(log.term_at(index), Some(1 + i as i64 / 10));
    }
}

#[test]
fn a_clean_reopen_scans_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = Log::open(dir.path(), limits(2048, 100)).unwrap();
        for i in 0..50 {
            log.append(&[&batch(i, 1, 0, 1, i as u8)]).unwrap();
        }
        log.close().unwrap();
    }
    let log = Log::open(dir.path(), limits(2048, 100)).unwrap();
    assert!(log.recovery().used_recovery_point);
    assert_eq!(log.recovery().scanned_bytes, 0);
    assert_eq!(log.last_index(), 50);
    assert_eq!(log.durable_index(), 50);
}

#[test]
fn retention_drops_old_and_oversized_segments_but_never_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), limits(1024, 0)).unwrap();
    for i in 0..40 {
        log.append(&[&batch(i, 1, i as i64 * 1000, 1, i as u8)]).unwrap();
    }
    let segments = log.segment_count();
    assert!(segments > 3);
    let first = log
        .apply_retention(40_000, None, Some(log.size_bytes() / 2), u64::MAX)
        .unwrap();
    assert!(first > 1 && log.size_bytes() >= 1);
    assert_eq!(log.offset_at(first).unwrap(), Some(first - 1));
    let first = log.apply_retention(10_000_000, Some(1), None, u64::MAX).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.first_index(), first);
    assert_eq!(log.last_index(), 40);
    assert_eq!(log.term_at(first), Some(1));
}

/// One step of the model: entries with their bytes, from `first_index`.
struct Model {
    first_index: u64,
    start_offset: u64,
    entries: Vec<(u64, i64, Vec<u8>)>,
}

impl Model {
    fn last_index(&self) -> u64 {
        self.first_index + self.entries.len() as u64 - 1
    }
    fn next_offset(&self) -> u64 {
        self.entries.last().map_or(self.start_offset, |(o, _, b)| {
            o + u32::from_be_bytes(b[23..27].try_into().unwrap()) as u64 + 1
        })
    }
}

fn check(log: &Log, model: &Model, rng: &mut Rng) {
    assert_eq!(log.first_index(), model.first_index);
    assert_eq!(log.last_index(), model.last_index());
    assert_eq!(log.next_offset(), model.next_offset());
    if let Some((offset, _, _)) = model.entries.first() {
        assert_eq!(log.log_start_offset(), *offset);
    }
    let size: u64 = model.entries.iter().map(|e| e.2.len() as u64).sum();
    assert_eq!(log.size_bytes(), size);
    for _ in 0..5 {
        if model.entries.is_empty() {
            break;
        }
        let i = rng.below(model.entries.len() as u64) as usize;
        let index = model.first_index + i as u64;
        let (offset, term, bytes) = &model.entries[i];
        assert_eq!(log.term_at(index), Some(*term));
        assert_eq!(log.offset_at(index).unwrap(), Some(*offset));
        assert_eq!(log.index_of_offset(*offset).unwrap(), Some(index));
        let to = index + rng.below(4);
        let max_bytes = rng.below(600);
        let (read, count) = log.read_entries(index, to, max_bytes).unwrap();
        let mut expected = Vec::new();
        for (k, (_, _, b)) in model.entries[i..].iter().enumerate() {
            if k as u64 > to - index || (k > 0 && expected.len() + b.len() > max_bytes as usize) {
                break;
            }
            expected.extend_from_slice(b);
        }
        assert_eq!(read, expected, "read_entries({index}, {to}, {max_bytes})");
        assert!(count >= 1);
        assert_eq!(&log.read_from(*offset, 0, u64::MAX).unwrap(), bytes);
    }
}

fn run_sequence(seed: u64, dir: &Path) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let interval = [0, 100, 400][rng.below(3) as usize];
    let options = Limits {
        // Recovery points only on roll, close, open and `checkpoint`; at every sync; or every
        // few batches.
        checkpoint_interval_bytes: [u64::MAX, 0, 300, 2000][rng.below(4) as usize],
        ..limits(1024 + rng.below(2048), interval)
    };
    let mut log = Log::open(dir, options).unwrap();
    let mut model = Model {
        first_index: 1,
        start_offset: 0,
        entries: Vec::new(),
    };
    let mut term = 1i64;
    let mut timestamp = 0i64;
    let mut synced = 0u64;
    for step in 0..300 {
        match rng.below(100) {
            0..=49 => {
                let count = 1 + rng.below(3) as usize;
                let mut offset = model.next_offset();
                let mut batches = Vec::new();
                for _ in 0..count {
                    if rng.below(10) == 0 {
                        term += 1;
                    }
                    timestamp += rng.below(5) as i64;
                    let records = 1 + rng.below(4) as usize;
                    let b = batch(offset, term, timestamp, records, rng.below(256) as u8);
                    offset += records as u64;
                    batches.push(b);
                }
                let refs: Vec<&[u8]> = batches.iter().map(|b| &b[..]).collect();
                log.append(&refs).unwrap();
                for b in batches {
                    let offset = u64::from_be_bytes(b[0..8].try_into().unwrap());
                    model.entries.push((offset, term_of(&b), b));
                }
            }
            50..=59 if !model.entries.is_empty() => {
                let keep = rng.below(model.entries.len() as u64 + 1);
                let index = model.first_index + keep - 1;
                log.truncate_after(index).unwrap();
                synced = synced.min(index);
                if keep == 0 {
                    model.start_offset = model.entries[0].0;
                }
                model.entries.truncate(keep as usize);
                term = model.entries.last().map_or(term, |e| e.1).max(term);
            }
            60..=66 => {
                let target = model.first_index + rng.below(model.entries.len() as u64 + 2);
                let start_offset = model.next_offset();
                let first = log.truncate_before(target).unwrap();
                assert!(first >= model.first_index && first <= target.max(model.first_index));
                let drop = (first - model.first_index) as usize;
                model.entries.drain(..drop);
                model.first_index = first;
                if model.entries.is_empty() {
                    model.start_offset = start_offset;
                }
            }
            67..=71 => {
                log.roll(0).unwrap();
            }
            72..=75 => {
                assert_eq!(log.sync().unwrap(), model.last_index());
                synced = model.last_index();
            }
            76..=77 => {
                assert_eq!(log.checkpoint().unwrap(), model.last_index());
                synced = model.last_index();
            }
            78..=83 => {
                log.close().unwrap();
                check_index_files(dir, model.first_index);
                log = Log::open(dir, options).unwrap();
                assert_eq!(log.recovery().truncated_bytes, 0, "seed {seed} step {step}");
                synced = log.last_index();
            }
            84..=85 => {
                // The process ends without close: buffered appends are written, nothing sealed.
                drop(log);
                log = Log::open(dir, options).unwrap();
                assert_eq!(log.recovery().truncated_bytes, 0, "seed {seed} step {step}");
                synced = log.last_index();
            }
            86..=87 => {
                // A hard crash: whatever was still buffered in memory is lost, what was synced
                // survives, and what survives is a prefix of what was appended.
                std::mem::forget(log);
                log = Log::open(dir, options).unwrap();
                assert_eq!(log.recovery().truncated_bytes, 0, "seed {seed} step {step}");
                assert!(
                    log.last_index() >= synced,
                    "seed {seed} step {step}: synced entries lost"
                );
                assert!(log.last_index() <= model.last_index());
                let keep = (log.last_index() + 1 - model.first_index) as usize;
                if keep == 0 && !model.entries.is_empty() {
                    model.start_offset = model.entries[0].0;
                }
                model.entries.truncate(keep);
                synced = log.last_index();
            }
            88..=90 => {
                // A power loss: of what follows the last sync, the log files keep an arbitrary
                // part, and index files past what the recovery point counts hold anything.
                std::mem::forget(log);
                simulate_power_loss(dir, synced, model.first_index, &mut rng);
                log = Log::open(dir, options).unwrap();
                assert!(
                    log.last_index() >= synced,
                    "seed {seed} step {step}: synced entries lost"
                );
                assert!(log.last_index() <= model.last_index());
                let keep = (log.last_index() + 1 - model.first_index) as usize;
                if keep == 0 && !model.entries.is_empty() {
                    model.start_offset = model.entries[0].0;
                }
                model.entries.truncate(keep);
                synced = log.last_index();
                check_index_files(dir, model.first_index);
            }
            91..=93 => {
                let ts = rng.below(timestamp as u64 + 2) as i64;
                let expected = model
                    .entries
                    .iter()
                    .find(|(_, _, b)| i64::from_be_bytes(b[35..43].try_into().unwrap()) >= ts)
                    .map(|e| e.0);
                assert_eq!(
                    log.offset_for_timestamp(ts).unwrap(),
                    expected,
                    "seed {seed} step {step} ts {ts}"
                );
            }
            94 => {
                // A snapshot install: the log restarts empty further on.
                let first = model.last_index() + 1 + rng.below(5);
                let offset = model.next_offset() + rng.below(50);
                log.reset(first, offset).unwrap();
                model = Model {
                    first_index: first,
                    start_offset: offset,
                    entries: Vec::new(),
                };
                synced = synced.min(first - 1);
            }
            95..=97 => {
                let keep_from = model.first_index + rng.below(model.entries.len() as u64 + 1);
                let budget = rng.below(model.entries.iter().map(|e| e.2.len() as u64).sum::<u64>() + 1);
                let start_offset = model.next_offset();
                let first = log
                    .apply_retention(i64::MAX, None, Some(budget), keep_from)
                    .unwrap();
                assert!(first >= model.first_index && first <= keep_from.max(model.first_index));
                let drop = (first - model.first_index) as usize;
                model.entries.drain(..drop);
                model.first_index = first;
                if model.entries.is_empty() {
                    model.start_offset = start_offset;
                }
                let size: u64 = model.entries.iter().map(|e| e.2.len() as u64).sum();
                assert!(
                    drop == 0 || size >= budget,
                    "retention went below its byte budget"
                );
            }
            _ => {}
        }
        check(&log, &model, &mut rng);
    }
}

fn term_of(b: &[u8]) -> i64 {
    i32::from_be_bytes(b[12..16].try_into().unwrap()) as i64
}

#[test]
fn random_operation_sequences_match_the_model() {
    for seed in 1..=16 {
        let dir = tempfile::tempdir().unwrap();
        run_sequence(seed, dir.path());
    }
}

#[test]
fn a_sync_prepared_before_a_truncation_neither_raises_the_durable_mark_nor_moves_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), limits(1 << 20, 0)).unwrap();
    for i in 0..10 {
        log.append(&[&batch(i, 1, 0, 1, i as u8)]).unwrap();
    }
    log.sync().unwrap();
    for i in 10..20 {
        log.append(&[&batch(i, 1, 0, 1, i as u8)]).unwrap();
    }
    // The job runs "on another thread" after the log was truncated below what it would claim.
    let job = log.prepare_sync().unwrap();
    log.truncate_after(5).unwrap();
    assert_eq!(log.durable_index(), 5);
    assert_eq!(job.run().unwrap(), 5);
    assert_eq!(log.durable_index(), 5);
    // Different entries now take indexes 6.. and must not be mistaken for the old ones.
    for i in 5..8 {
        log.append(&[&batch(i, 2, 0, 1, 100 + i as u8)]).unwrap();
    }
    std::mem::forget(log); // crash without flushing the write buffer
    let log = Log::open(dir.path(), limits(1 << 20, 0)).unwrap();
    assert_eq!(log.last_index(), 5);
    assert_eq!(log.term_at(5), Some(1));
    assert_eq!(log.recovery().truncated_bytes, 0);
}
