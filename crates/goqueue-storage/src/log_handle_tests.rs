//! Logs sharing a handle cache far smaller than their files: every operation still sees the
//! right bytes, the cache never holds more than its capacity, appends and syncs reopen evicted
//! files, and recovery after a crash is unchanged.

use std::sync::Arc;

use crate::handle_cache::HandleCache;
use crate::log::Log;
use crate::log_tests::{batch, limits, Rng};

const LOGS: usize = 6;

/// Every batch appended to each log, in order.
type Written = Vec<Vec<Vec<u8>>>;

fn open_all(root: &std::path::Path, cache: &Arc<HandleCache>) -> Vec<Log> {
    (0..LOGS)
        .map(|i| Log::open_with_handles(&root.join(format!("p{i}")), limits(1024, 0), cache.clone()).unwrap())
        .collect()
}

/// Appends `rounds` batches to random logs, syncing some, checking the cache bound after each.
fn append_randomly(logs: &mut [Log], written: &mut Written, cache: &HandleCache, seed: u64, rounds: usize) {
    let mut rng = Rng(seed);
    for round in 0..rounds {
        let at = rng.below(LOGS as u64) as usize;
        let log = &mut logs[at];
        let bytes = batch(
            log.next_offset(),
            1,
            1_000 + round as i64,
            1 + rng.below(3) as usize,
            round as u8,
        );
        log.append(&[&bytes]).unwrap();
        written[at].push(bytes);
        if rng.below(3) == 0 {
            log.sync().unwrap();
        }
        assert!(cache.stats().open <= cache.capacity(), "{:?}", cache.stats());
    }
}

fn assert_reads_back(logs: &[Log], written: &Written) {
    for (log, batches) in logs.iter().zip(written) {
        let (bytes, count) = log.read_entries(log.first_index(), u64::MAX, u64::MAX).unwrap();
        assert_eq!(count as usize, batches.len());
        assert_eq!(bytes, batches.concat());
        assert_eq!(log.read_from(0, u64::MAX, u64::MAX).unwrap(), batches.concat());
    }
}

#[test]
fn many_segments_through_two_handles_read_back_sync_and_recover_after_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let cache = HandleCache::new(2);
    let mut logs = open_all(root.path(), &cache);
    let mut written: Written = vec![Vec::new(); LOGS];
    append_randomly(&mut logs, &mut written, &cache, 7, 600);
    assert!(
        logs.iter().all(|log| log.segment_count() > 3),
        "several segments each"
    );
    assert_reads_back(&logs, &written);
    for log in &mut logs {
        log.sync().unwrap();
    }
    let stats = cache.stats();
    assert!(stats.evictions > 100 && stats.dirty_evictions > 0, "{stats:?}");
    // A crash: nothing closed, nothing written after the last sync. Recovery through a cache of
    // one handle finds every synced entry and trusts the recovery points.
    for log in logs {
        std::mem::forget(log);
    }
    let cache = HandleCache::new(1);
    let logs = open_all(root.path(), &cache);
    assert!(logs.iter().all(|log| log.recovery().truncated_bytes == 0));
    assert_reads_back(&logs, &written);
    assert!(cache.stats().open <= 1);
}

#[test]
fn an_append_to_an_evicted_active_segment_reopens_it_and_its_sync_makes_it_durable() {
    let root = tempfile::tempdir().unwrap();
    let cache = HandleCache::new(1);
    let mut logs = open_all(root.path(), &cache);
    let first = batch(0, 1, 1, 2, 1);
    logs[0].append(&[&first]).unwrap();
    logs[0].sync().unwrap();
    // Another log's sync takes the only handle.
    let other = batch(0, 1, 1, 1, 9);
    logs[1].append(&[&other]).unwrap();
    logs[1].sync().unwrap();
    let opens = cache.stats().opens;
    let second = batch(2, 1, 2, 1, 2);
    logs[0].append(&[&second]).unwrap();
    let job = logs[0].prepare_sync().unwrap();
    assert!(cache.stats().opens > opens, "the write reopened the evicted .log");
    // The job runs after yet another log evicted the dirty handle: it was fsynced at eviction.
    logs[2].append(&[&other]).unwrap();
    logs[2].sync().unwrap();
    assert!(cache.stats().dirty_evictions >= 1);
    assert_eq!(job.run().unwrap(), 2);
    assert_eq!(logs[0].durable_index(), 2);
    for log in logs {
        std::mem::forget(log);
    }
    let logs = open_all(root.path(), &cache);
    assert_eq!(
        logs[0].read_entries(1, 2, u64::MAX).unwrap(),
        ([first, second].concat(), 2)
    );
}

#[test]
fn readers_and_sync_jobs_on_other_threads_never_see_a_handle_closed_under_them() {
    let root = tempfile::tempdir().unwrap();
    let cache = HandleCache::new(1);
    let mut logs = open_all(root.path(), &cache);
    let mut written: Written = vec![Vec::new(); LOGS];
    append_randomly(&mut logs, &mut written, &cache, 11, 200);
    let (readers, writer) = logs.split_at_mut(3);
    let written_readers = &written[..3];
    std::thread::scope(|scope| {
        for (log, batches) in readers.iter().zip(written_readers) {
            scope.spawn(move || {
                for _ in 0..50 {
                    let (bytes, _) = log.read_entries(log.first_index(), u64::MAX, u64::MAX).unwrap();
                    assert_eq!(bytes, batches.concat());
                }
            });
        }
        // Meanwhile this thread appends to the other logs and runs their syncs on a fourth.
        let mut jobs = Vec::new();
        for round in 0..150 {
            let log = &mut writer[round % writer.len()];
            let bytes = batch(log.next_offset(), 1, round as i64, 1, round as u8);
            log.append(&[&bytes]).unwrap();
            jobs.push(log.prepare_sync().unwrap());
        }
        scope.spawn(move || {
            for job in jobs {
                job.run().unwrap();
            }
        });
    });
    assert!(writer.iter().all(|log| log.durable_index() == log.last_index()));
}
