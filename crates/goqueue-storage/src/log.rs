//! The segmented log of one partition: one directory, segments ordered by base offset, each
//! entry (one RecordBatch) addressable by LogIndex and by KafkaOffset.
//!
//! Durability: `durable_index <= last_index`. Appends land in the page cache; a `SyncJob`
//! (prepared on the owning thread, run on any thread) fdatasyncs the files, then (sometimes)
//! writes the recovery point, then raises `durable_index`. In steady state a sync costs one
//! fdatasync of the active segment's `.log`: index entries can be rebuilt from the log, so they
//! are written and fsynced only when a recovery point is taken — on roll, on close, and once
//! `checkpoint_interval_bytes` / `checkpoint_interval_ms` passed since the last point. Recovery
//! trusts the index entries the point counts and rebuilds the rest by scanning the log after it.
//! Truncations bump an epoch so a sync prepared before them never writes a recovery point that
//! covers bytes they removed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::checkpoint::{Checkpoint, IndexCounts, TermStart};
use crate::error::{io_context, Result, StorageError};
use crate::fileio::sync_dir;
use crate::handle_cache::{CachedFile, HandleCache};
use crate::limits::{Limits, MAX_BATCH_BYTES_CEILING, MAX_SAFE_NUMBER};
use crate::offset_index::OffsetIndex;
use crate::record_batch::{
    read_prefix, validate_batch, with_batch_position, BatchHeader, LOG_OVERHEAD_BYTES,
};
use crate::segment::{index_path, log_path, time_index_path, Segment};
use crate::time_index::TimeIndex;

/// `Log::repair_batch`: one entry rewritten from another replica's identical copy.
#[path = "log_repair.rs"]
mod repair;

/// What `append` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub first_index: u64,
    pub last_index: u64,
    pub base_offset: u64,
    pub next_offset: u64,
}

/// What `open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// A valid recovery point let the scan start at the unflushed tail.
    pub used_recovery_point: bool,
    /// Bytes read and checked during the scan.
    pub scanned_bytes: u64,
    /// Bytes cut off as a torn or corrupt tail (including whole later segments).
    pub truncated_bytes: u64,
    /// Why the tail was cut, naming the segment and byte position.
    pub truncation_reason: Option<String>,
    /// Base offsets of segments whose index files were rebuilt.
    pub rebuilt_indexes: Vec<u64>,
    /// Files moved into `quarantine/` instead of being deleted: whole segments after a cut, and
    /// the cut-off bytes of a segment that was not a torn tail (see `quarantine_tail`).
    pub quarantined: Vec<String>,
}

/// Where the scrubber is in a log: a segment, a byte position in it, the offset the batch
/// there must start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrubCursor {
    pub segment_base_offset: u64,
    pub position: u64,
    pub next_offset: u64,
}

/// A batch the scrubber found damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptBatch {
    pub segment_base_offset: u64,
    pub position: u64,
    /// The offset the damaged batch should start with: reads from here on are refused.
    pub offset: u64,
    pub reason: String,
}

/// What one `scrub` step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrubStep {
    pub cursor: ScrubCursor,
    /// Bytes verified.
    pub bytes: u64,
    /// The step reached the end of the log; `cursor` is back at the first segment.
    pub wrapped: bool,
    pub corrupt: Option<CorruptBatch>,
}

impl ScrubCursor {
    /// The start of the segment based at `base_offset`.
    fn segment_start(base_offset: u64) -> ScrubCursor {
        ScrubCursor {
            segment_base_offset: base_offset,
            position: 0,
            next_offset: base_offset,
        }
    }
}

impl ScrubStep {
    /// The end of the log was reached after `bytes`: next, the first segment.
    fn wrapped(first_base_offset: u64, bytes: u64) -> ScrubStep {
        ScrubStep {
            cursor: ScrubCursor::segment_start(first_base_offset),
            bytes,
            wrapped: true,
            corrupt: None,
        }
    }

    fn corrupt(batch: CorruptBatch) -> ScrubStep {
        ScrubStep {
            cursor: ScrubCursor {
                segment_base_offset: batch.segment_base_offset,
                position: batch.position,
                next_offset: batch.offset,
            },
            bytes: 0,
            wrapped: false,
            corrupt: Some(batch),
        }
    }
}

/// Index entries of a sealed segment checked at open (spread over it); the recovery point's
/// segment has every trusted entry checked.
pub const SAMPLED_INDEX_ENTRIES: usize = 64;

/// Index sanity check at open: the first `counted` entries of `index` (at most `sample` of them,
/// spread evenly, the last always included) each point at a batch that starts with the offset
/// the entry names. An entry moved by a stray write would send lookups into the middle of a
/// batch (a fetch there would return nothing forever); when one fails the recovery point is not
/// trusted, every segment is scanned and its indexes rebuilt (reported in `rebuilt_indexes`).
fn index_points_at_batches(
    log: &CachedFile,
    base_offset: u64,
    index: &OffsetIndex,
    counted: usize,
    sample: usize,
) -> bool {
    let entries = &index.entries()[..index.len().min(counted)];
    let count = entries.len();
    if count == 0 {
        return true;
    }
    let step = (count / sample.max(1)).max(1);
    let mut at = 0;
    loop {
        let entry = entries[at];
        let mut prefix = [0u8; LOG_OVERHEAD_BYTES];
        if log.read_exact_at(&mut prefix, entry.position as u64).is_err() {
            return false;
        }
        match read_prefix(&prefix) {
            Some((base, _)) if base >= 0 && base as u64 == base_offset + entry.relative_offset as u64 => {}
            _ => return false,
        }
        if at == count - 1 {
            return true;
        }
        at = (at + step).min(count - 1);
    }
}

/// Folder (inside the log's directory) that receives what recovery cuts off.
pub const QUARANTINE_DIR: &str = "quarantine";
/// A cut of the last segment's tail smaller than this is a torn write of a crash and is dropped;
/// larger cuts, and any cut in an earlier segment, keep their bytes in quarantine.
pub const TORN_TAIL_MAX_BYTES: u64 = 1 << 20;

struct CheckpointState {
    /// Bumped by every truncation: a job prepared in an older epoch raises nothing.
    epoch: u64,
    /// The recovery point on disk (what recovery would trust now).
    last: Option<Checkpoint>,
}

struct Shared {
    dir: PathBuf,
    durable_index: AtomicU64,
    checkpoint: Mutex<CheckpointState>,
}

/// Work of one `sync`, detached from the log so it can run off the owning thread.
pub struct SyncJob {
    shared: Arc<Shared>,
    /// The active segment's `.log`; plus, when a point is taken, its `.index` and `.timeindex`
    /// and every file of segments sealed since the last sync. Names, not descriptors: a queued
    /// job holds no file open (when it runs it fsyncs the files whose handles are still open; an
    /// evicted one was fsynced at its eviction).
    files: Vec<Arc<CachedFile>>,
    sync_directory: bool,
    /// The recovery point to write once `files` are durable; `None` for a plain sync.
    checkpoint: Option<Checkpoint>,
    epoch: u64,
    target_index: u64,
}

impl SyncJob {
    /// Fdatasyncs the files (and the directory when segments were created or deleted), writes
    /// the recovery point when the job takes one, and returns the new durable index.
    pub fn run(self) -> Result<u64> {
        for file in &self.files {
            file.sync_data().map_err(io_context("syncing a segment file"))?;
        }
        if self.sync_directory {
            sync_dir(&self.shared.dir)
                .map_err(io_context(format!("syncing {}", self.shared.dir.display())))?;
        }
        let mut state = self.shared.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        if state.epoch == self.epoch {
            if let Some(point) = self.checkpoint {
                // Within an epoch the log only grows at its end, so a point with a lower
                // next index is older (a job that ran late) and must not replace a newer one.
                let newer = state
                    .last
                    .as_ref()
                    .is_none_or(|last| point.next_index >= last.next_index && *last != point);
                if newer {
                    point.write(&self.shared.dir)?;
                    state.last = Some(point);
                }
            }
            self.shared
                .durable_index
                .fetch_max(self.target_index, Ordering::SeqCst);
        }
        Ok(self.shared.durable_index.load(Ordering::SeqCst))
    }

    /// Whether this job writes a recovery point.
    pub fn takes_recovery_point(&self) -> bool {
        self.checkpoint.is_some()
    }
}

/// What a sync covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncScope {
    /// The active `.log` (and sealed segments); a recovery point only when one is due.
    Plain,
    /// The active segment's three files and a recovery point.
    RecoveryPoint,
    /// Every file of every segment, the directory and a recovery point (end of `open`).
    Everything,
}

pub struct Log {
    shared: Arc<Shared>,
    /// Where the segment files' descriptors live (the process's cache unless a test gives one).
    handles: Arc<HandleCache>,
    limits: Limits,
    /// Ordered by base offset (and base index); never empty; only the last may be empty.
    segments: Vec<Segment>,
    /// Term starts, ascending in term and index; the first covers `first_index` when non-empty.
    terms: Vec<TermStart>,
    /// Files of rolled segments not yet fsynced.
    unsynced: Vec<Arc<CachedFile>>,
    /// Segment files were created or deleted since the last sync.
    directory_dirty: bool,
    /// Log bytes appended since the last recovery point was prepared.
    bytes_since_checkpoint: u64,
    /// Wall-clock time the last recovery point was prepared.
    last_checkpoint_ms: i64,
    recovery: RecoveryReport,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".log")?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse().ok())?
}

/// Bytes read per call while scanning a segment during recovery.
const SCAN_CHUNK_BYTES: usize = 8 << 20;

impl Log {
    /// Opens (creating when missing) the log in `dir`, recovering as described in
    /// docs/storage.md: trust everything before the recovery point, scan and check what follows,
    /// cut a torn or corrupt tail, rebuild damaged indexes.
    pub fn open(dir: &Path, limits: Limits) -> Result<Log> {
        Log::open_with_handles(dir, limits, HandleCache::global())
    }

    /// `open` with the segment files' descriptors kept in `handles` instead of the process's
    /// cache.
    pub fn open_with_handles(dir: &Path, limits: Limits, handles: Arc<HandleCache>) -> Result<Log> {
        limits.validate()?;
        std::fs::create_dir_all(dir).map_err(io_context(format!("creating {}", dir.display())))?;
        let mut bases = Vec::new();
        let listing = std::fs::read_dir(dir).map_err(io_context(format!("listing {}", dir.display())))?;
        for entry in listing {
            let entry = entry.map_err(io_context(format!("listing {}", dir.display())))?;
            if let Some(base) = entry.file_name().to_str().and_then(parse_segment_name) {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        let checkpoint = Checkpoint::read(dir);
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            durable_index: AtomicU64::new(0),
            checkpoint: Mutex::new(CheckpointState {
                epoch: 0,
                last: checkpoint.clone(),
            }),
        });
        let mut log = Log {
            shared,
            handles,
            limits,
            segments: Vec::new(),
            terms: Vec::new(),
            unsynced: Vec::new(),
            directory_dirty: false,
            bytes_since_checkpoint: 0,
            last_checkpoint_ms: now_ms(),
            recovery: RecoveryReport::default(),
        };
        remove_orphan_indexes(dir, &bases)?;
        if bases.is_empty() {
            let (index, offset) = checkpoint
                .as_ref()
                .map_or((1, 0), |c| (c.next_index, c.next_offset));
            log.segments
                .push(Segment::create(&log.handles, dir, offset, index, now_ms())?);
            log.directory_dirty = true;
        } else {
            log.recover(&bases, checkpoint)?;
        }
        let last = log.last_index();
        log.shared.durable_index.store(last, Ordering::SeqCst);
        // Everything found on disk is now made durable and recorded, so later opens trust it.
        let job = log.prepare_sync_inner(SyncScope::Everything)?;
        job.run()?;
        Ok(log)
    }

    fn recover(&mut self, bases: &[u64], checkpoint: Option<Checkpoint>) -> Result<()> {
        let dir = self.shared.dir.clone();
        let now = now_ms();
        let mut files = Vec::with_capacity(bases.len());
        for &base in bases {
            files.push(Segment::open_files(&self.handles, &dir, base)?);
        }
        // Time indexes, loaded against the offset index's base index.
        let mut time_indexes = Vec::with_capacity(bases.len());
        for (i, (_, _, index)) in files.iter().enumerate() {
            let time = match index {
                Some((index, _)) => {
                    TimeIndex::load(&self.handles, &time_index_path(&dir, bases[i]), index.base_index)?
                }
                None => None,
            };
            time_indexes.push(time);
        }
        let intact = |i: usize| {
            matches!(
                (&files[i].2, &time_indexes[i]),
                (Some((_, true)), Some((_, true)))
            )
        };
        // Use the recovery point when it names a segment we have and lies within it, the index
        // entries it counts for that segment are there, and every segment before it has whole
        // indexes (they were fsynced when it was sealed) with increasing base indexes.
        let usable = checkpoint.as_ref().and_then(|c| {
            let k = bases.iter().position(|&b| b == c.segment_base_offset)?;
            let (index, _) = files[k].2.as_ref()?;
            let (time, _) = time_indexes[k].as_ref()?;
            let entries = c.next_index.checked_sub(index.base_index)?;
            let trusted = c
                .index_counts
                .is_none_or(|counts| trusted_prefix_present(index, time, counts, c.position, entries));
            let counted = c
                .index_counts
                .map_or(usize::MAX, |counts| counts.offset_index as usize);
            let ok = c.position <= files[k].1
                && trusted
                && index_points_at_batches(&files[k].0, bases[k], index, counted, usize::MAX)
                && (0..k).all(|i| {
                    let sampled = files[i].2.as_ref().is_none_or(|(index, _)| {
                        index_points_at_batches(
                            &files[i].0,
                            bases[i],
                            index,
                            usize::MAX,
                            SAMPLED_INDEX_ENTRIES,
                        )
                    });
                    let (a, b) = (files[i].2.as_ref(), files[i + 1].2.as_ref());
                    sampled
                        && intact(i)
                        && matches!((a, b), (Some((a, _)), Some((b, _))) if b.base_index > a.base_index)
                });
            ok.then_some(k)
        });
        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len());
        let lengths: Vec<u64> = files.iter().map(|f| f.1).collect();
        let mut drained = files.into_iter().zip(time_indexes).enumerate();
        let (position, next_index, next_offset, mut terms);
        if let (Some(k), Some(c)) = (usable, checkpoint.as_ref()) {
            self.recovery.used_recovery_point = true;
            for (i, ((log, length, index), time)) in drained.by_ref().take(k + 1) {
                let (mut index, _) = index.expect("checked above");
                let (mut time, _) = time.expect("checked above");
                if let (true, Some(counts)) = (i == k, c.index_counts) {
                    // Past the counted entries the files hold whatever reached the disk
                    // before a crash: drop it, the scan below rebuilds those entries.
                    index.keep_first(counts.offset_index as usize)?;
                    time.keep_first(counts.time_index as usize)?;
                }
                let (entries, next, size, max_timestamp) = if i < k {
                    (
                        0, // filled below from the next segment's base
                        bases[i + 1],
                        length,
                        time.last().map_or(i64::MIN, |e| e.timestamp),
                    )
                } else {
                    (
                        c.next_index - index.base_index,
                        c.next_offset,
                        c.position,
                        c.segment_max_timestamp,
                    )
                };
                segments.push(Segment {
                    dir: dir.clone(),
                    base_offset: bases[i],
                    base_index: index.base_index,
                    log: Arc::new(log),
                    size,
                    flushed: size,
                    pending: Vec::new(),
                    index,
                    time_index: time,
                    entries,
                    next_offset: next,
                    max_timestamp,
                    created_ms: now,
                });
            }
            for i in 0..k {
                segments[i].entries = segments[i + 1].base_index - segments[i].base_index;
            }
            // A version-1 point trusts the entries before its position (they were fsynced with
            // every sync then); for version 2 these are no-ops after `keep_first`.
            let active = &mut segments[k];
            active.index.truncate_to_position(c.position)?;
            active.time_index.truncate_to_index(active.entries)?;
            position = c.position;
            next_index = c.next_index;
            next_offset = c.next_offset;
            terms = c.terms.clone();
            terms.retain(|t| t.first_index < next_index);
        } else {
            position = 0;
            next_index = match (&checkpoint, &segment_index_base(&dir, bases[0])) {
                (_, Some(base)) => *base,
                (Some(c), None) if c.log_start_offset == bases[0] => c.log_start_index,
                _ => 1,
            };
            next_offset = bases[0];
            terms = Vec::new();
        }
        // Scan from the recovery point (or the start) to the end, segment by segment.
        let mut state = ScanState {
            next_index,
            next_offset,
            terms,
        };
        let mut cut: Option<String> = None;
        if let Some(k) = usable {
            cut = scan_and_cut(
                &mut segments[k],
                position,
                lengths[k],
                &mut state,
                &self.limits,
                &mut self.recovery,
                k + 1 == bases.len(),
            )?;
        }
        for (i, ((log, length, _), _)) in drained {
            if cut.is_none() && bases[i] != state.next_offset {
                cut = Some(format!(
                    "segment {} does not continue the log at offset {}",
                    bases[i], state.next_offset
                ));
            }
            if cut.is_some() {
                // A later segment is intact as far as we know: it is moved aside, never deleted,
                // so an operator (or a repair) can still read it.
                self.recovery.truncated_bytes += length;
                drop(log);
                quarantine_segment_files(&dir, bases[i], &mut self.recovery)?;
                self.directory_dirty = true;
                continue;
            }
            let mut segment =
                Segment::with_fresh_indexes(&self.handles, &dir, bases[i], state.next_index, log, now)?;
            self.recovery.rebuilt_indexes.push(bases[i]);
            cut = scan_and_cut(
                &mut segment,
                0,
                length,
                &mut state,
                &self.limits,
                &mut self.recovery,
                i + 1 == bases.len(),
            )?;
            segments.push(segment);
        }
        let terms = state.terms;
        self.recovery.truncation_reason = cut;
        self.segments = segments;
        self.terms = terms;
        let (first_index, start_offset) = (self.first_index(), self.log_start_offset());
        prune_terms(&mut self.terms, first_index, start_offset);
        Ok(())
    }

    /// One step of the scrubber: re-reads whole batches of the sealed segment whose base offset
    /// is the first at or after `cursor.segment_base_offset`, from `cursor.position`, up to
    /// about `max_bytes`, and checks each one as recovery would (lengths, magic, CRC32C, record
    /// count, `baseOffset` continuing the previous batch). The active segment is skipped.
    /// Returns where the next step starts (the first segment again after the last sealed one:
    /// `wrapped`) and the first bad batch.
    pub fn scrub(&self, cursor: ScrubCursor, max_bytes: u64) -> Result<ScrubStep> {
        let at = self
            .segments
            .partition_point(|s| s.base_offset < cursor.segment_base_offset);
        let (segment, mut position, mut expected) = match self.segments.get(at) {
            Some(s) if s.base_offset == cursor.segment_base_offset => {
                (s, cursor.position, cursor.next_offset)
            }
            Some(s) => (s, 0, s.base_offset),
            None => return Ok(ScrubStep::wrapped(self.segments[0].base_offset, 0)),
        };
        // Sealed segments only: the active one is still being written and may be cut by a
        // truncation under the cursor; its bytes before the recovery point were read at open
        // only when no point was usable, and are scrubbed once it is sealed.
        let sealed = at + 1 < self.segments.len();
        let end = if sealed { segment.flushed } else { 0 };
        if position > end {
            // The segment changed under the cursor (a truncation): start it over.
            position = 0;
            expected = segment.base_offset;
        }
        let mut read = 0u64;
        while position < end && read < max_bytes.max(1) {
            let prefix = segment.read_file(position, LOG_OVERHEAD_BYTES.min((end - position) as usize))?;
            let bad = |reason: String| CorruptBatch {
                segment_base_offset: segment.base_offset,
                position,
                offset: expected,
                reason: format!("segment {} byte {position}: {reason}", segment.base_offset),
            };
            let Some((_, total)) = read_prefix(&prefix) else {
                return Ok(ScrubStep::corrupt(bad("torn or negative batch prefix".into())));
            };
            if position + total as u64 > end || total > MAX_BATCH_BYTES_CEILING {
                return Ok(ScrubStep::corrupt(bad(format!(
                    "batch of {total} bytes runs past the {end} bytes written"
                ))));
            }
            let bytes = segment.read_file(position, total)?;
            let header = match validate_batch(&bytes, MAX_BATCH_BYTES_CEILING) {
                Ok(header) => header,
                Err(error) => return Ok(ScrubStep::corrupt(bad(error.to_string()))),
            };
            if header.base_offset as u64 != expected {
                return Ok(ScrubStep::corrupt(bad(format!(
                    "baseOffset {} where {expected} was expected",
                    header.base_offset
                ))));
            }
            expected = header.next_offset() as u64;
            position += total as u64;
            read += total as u64;
        }
        let next = if position >= end && at + 1 < self.segments.len() {
            ScrubCursor::segment_start(self.segments[at + 1].base_offset)
        } else if position >= end {
            return Ok(ScrubStep::wrapped(self.segments[0].base_offset, read));
        } else {
            ScrubCursor {
                segment_base_offset: segment.base_offset,
                position,
                next_offset: expected,
            }
        };
        Ok(ScrubStep {
            cursor: next,
            bytes: read,
            wrapped: false,
            corrupt: None,
        })
    }

    /// What recovery found when the log was opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn first_index(&self) -> u64 {
        self.segments[0].base_index
    }
    pub fn last_index(&self) -> u64 {
        let last = self.active();
        last.base_index + last.entries - 1
    }
    pub fn durable_index(&self) -> u64 {
        self.shared
            .durable_index
            .load(Ordering::SeqCst)
            .min(self.last_index())
    }
    pub fn log_start_offset(&self) -> u64 {
        self.segments[0].base_offset
    }
    pub fn next_offset(&self) -> u64 {
        self.active().next_offset
    }
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
    /// Term starts as `(term, first LogIndex, first KafkaOffset)`.
    pub fn term_starts(&self) -> &[TermStart] {
        &self.terms
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("a log always has a segment")
    }
    fn active_mut(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("a log always has a segment")
    }
    fn last_term(&self) -> Option<i64> {
        self.terms.last().map(|t| t.term)
    }

    /// Validates every batch first (header, CRC, size, contiguous offsets, non-decreasing
    /// terms), then appends them all as entries `last_index + 1 ..`. A validation failure leaves
    /// the log unchanged.
    pub fn append(&mut self, batches: &[&[u8]]) -> Result<AppendResult> {
        self.append_at(batches, now_ms())
    }

    /// `append` with the wall-clock time used for rolling by age.
    pub fn append_at(&mut self, batches: &[&[u8]], now_ms: i64) -> Result<AppendResult> {
        if batches.is_empty() {
            return Err(StorageError::InvalidArgument(
                "append needs at least one batch".into(),
            ));
        }
        let mut headers: Vec<BatchHeader> = Vec::with_capacity(batches.len());
        let mut expected_offset = self.next_offset();
        let mut last_term = self.last_term();
        for (i, bytes) in batches.iter().enumerate() {
            let header = validate_batch(bytes, self.limits.max_batch_bytes)
                .map_err(|e| with_batch_position(e, i, 0))?;
            if header.total_bytes() != bytes.len() {
                return Err(StorageError::CorruptMessage(format!(
                    "batch {i}: buffer holds {} bytes but batchLength gives {}; pass one batch per buffer",
                    bytes.len(),
                    header.total_bytes()
                )));
            }
            if header.base_offset as u64 != expected_offset {
                return Err(StorageError::InvalidOffset(format!(
                    "batch {i}: baseOffset {} but the log expects {expected_offset}",
                    header.base_offset
                )));
            }
            if header.next_offset() as u64 > MAX_SAFE_NUMBER {
                return Err(StorageError::InvalidOffset(format!(
                    "batch {i}: offsets past 2^53 are not supported"
                )));
            }
            let term = header.partition_leader_epoch as i64;
            if term < 0 || last_term.is_some_and(|t| term < t) {
                return Err(StorageError::InvalidRecord(format!(
                    "batch {i}: partitionLeaderEpoch {term} is below the term {} of the previous entry",
                    last_term.unwrap_or(0)
                )));
            }
            last_term = Some(term);
            expected_offset = header.next_offset() as u64;
            headers.push(header);
        }
        let first_index = self.last_index() + 1;
        let base_offset = self.next_offset();
        for (bytes, header) in batches.iter().zip(&headers) {
            self.maybe_roll(bytes.len() as u64, header, now_ms)?;
            let interval = self.limits.index_interval_bytes;
            let index = self.last_index() + 1;
            let segment = self.active_mut();
            let before = (segment.entries, segment.size, segment.next_offset);
            if let Err(error) = segment.append(bytes, header, interval) {
                // Best effort: keep the file at whole batches.
                let _ = segment.truncate(before.0, before.1, before.2);
                return Err(error);
            }
            self.bytes_since_checkpoint += bytes.len() as u64;
            let term = header.partition_leader_epoch as i64;
            if self.last_term() != Some(term) {
                self.terms.push(TermStart {
                    term,
                    first_index: index,
                    first_offset: header.base_offset as u64,
                });
            }
        }
        Ok(AppendResult {
            first_index,
            last_index: self.last_index(),
            base_offset,
            next_offset: self.next_offset(),
        })
    }

    fn maybe_roll(&mut self, batch_bytes: u64, header: &BatchHeader, now_ms: i64) -> Result<()> {
        let limits = self.limits;
        let active = self.active();
        if active.entries == 0 {
            return Ok(());
        }
        let full = active.size + batch_bytes > limits.segment_bytes;
        let old = limits.segment_ms > 0 && now_ms - active.created_ms >= limits.segment_ms as i64;
        let offsets_overflow = header.next_offset() as u64 - active.base_offset > u32::MAX as u64;
        let entries_overflow = active.entries >= u32::MAX as u64;
        if full || old || offsets_overflow || entries_overflow {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    /// Writes buffered appends to the active segment's file without an fsync: they survive the
    /// process dying (kill -9), not a power loss. For `fsync_enabled=false`, where a sync round
    /// skips the fsync but acknowledged writes must not stay in this process's memory.
    pub fn write_buffered(&mut self) -> Result<()> {
        self.active_mut().flush_log()
    }

    /// Starts a new segment at `next_offset` (no-op when the active segment is empty).
    pub fn roll(&mut self, now_ms: i64) -> Result<()> {
        if self.active().entries == 0 {
            return Ok(());
        }
        let (next_offset, next_index) = (self.next_offset(), self.last_index() + 1);
        let active = self.active_mut();
        active.seal_time_index()?;
        active.flush()?;
        let files = active.files_to_sync();
        self.unsynced.extend(files);
        let segment = Segment::create(&self.handles, &self.shared.dir, next_offset, next_index, now_ms)?;
        self.segments.push(segment);
        self.directory_dirty = true;
        Ok(())
    }

    fn segment_of_index(&self, index: u64) -> &Segment {
        let at = self.segments.partition_point(|s| s.base_index <= index);
        &self.segments[at.saturating_sub(1)]
    }

    fn segment_position_of_offset(&self, offset: u64) -> usize {
        let at = self.segments.partition_point(|s| s.base_offset <= offset);
        at.saturating_sub(1)
    }

    /// Term of entry `index`, from the in-memory term map.
    pub fn term_at(&self, index: u64) -> Option<i64> {
        if index < self.first_index() || index > self.last_index() {
            return None;
        }
        let at = self.terms.partition_point(|t| t.first_index <= index);
        at.checked_sub(1).map(|i| self.terms[i].term)
    }

    /// Base offset of entry `index`.
    pub fn offset_at(&self, index: u64) -> Result<Option<u64>> {
        if index < self.first_index() || index > self.last_index() {
            return Ok(None);
        }
        let segment = self.segment_of_index(index);
        let position = segment.position_of_index(index)?;
        Ok(Some(segment.header_at(position)?.base_offset as u64))
    }

    /// Entry holding `offset`.
    pub fn index_of_offset(&self, offset: u64) -> Result<Option<u64>> {
        if offset < self.log_start_offset() || offset >= self.next_offset() {
            return Ok(None);
        }
        let segment = &self.segments[self.segment_position_of_offset(offset)];
        Ok(Some(segment.locate_offset(offset)?.1))
    }

    /// Entries `[from, to]` concatenated, stopping once `max_bytes` would be passed (the first
    /// entry always comes whole). Returns the bytes and the number of entries.
    pub fn read_entries(&self, from: u64, to: u64, max_bytes: u64) -> Result<(Vec<u8>, u64)> {
        if from < self.first_index() {
            return Err(StorageError::OffsetOutOfRange(format!(
                "LogIndex {from} is before the first stored entry {}",
                self.first_index()
            )));
        }
        let to = to.min(self.last_index());
        if from > to {
            return Ok((Vec::new(), 0));
        }
        let mut at = self.segments.partition_point(|s| s.base_index <= from) - 1;
        let mut position = self.segments[at].position_of_index(from)?;
        let mut out = Vec::new();
        let mut count = 0;
        while at < self.segments.len() && count <= to - from {
            let (bytes, entries) = read_run(
                &self.segments[at],
                position,
                max_bytes,
                out.len() as u64,
                to - from + 1 - count,
                u64::MAX,
            )?;
            let stopped = entries == 0 || position + bytes.len() as u64 != self.segments[at].size;
            if out.is_empty() {
                out = bytes;
            } else {
                out.extend_from_slice(&bytes);
            }
            count += entries;
            if stopped {
                break;
            }
            at += 1;
            position = 0;
        }
        Ok((out, count))
    }

    /// Whole batches holding offsets >= `from`, concatenated, for a Kafka Fetch: stops before a
    /// batch whose base offset is >= `up_to` and once `max_bytes` is reached; the first batch
    /// comes whole even when larger (KIP-74).
    pub fn read_from(&self, from: u64, max_bytes: u64, up_to: u64) -> Result<Vec<u8>> {
        if from < self.log_start_offset() || from > self.next_offset() {
            return Err(StorageError::OffsetOutOfRange(format!(
                "offset {from} is outside [{}, {}]",
                self.log_start_offset(),
                self.next_offset()
            )));
        }
        if from == self.next_offset() || from >= up_to {
            return Ok(Vec::new());
        }
        let mut at = self.segment_position_of_offset(from);
        let (mut position, _, _) = self.segments[at].locate_offset(from)?;
        let mut out = Vec::new();
        while at < self.segments.len() {
            let (bytes, entries) = read_run(
                &self.segments[at],
                position,
                max_bytes,
                out.len() as u64,
                u64::MAX,
                up_to,
            )?;
            let stopped = entries == 0 || position + bytes.len() as u64 != self.segments[at].size;
            if out.is_empty() {
                out = bytes;
            } else {
                out.extend_from_slice(&bytes);
            }
            if stopped {
                break;
            }
            at += 1;
            position = 0;
        }
        Ok(out)
    }

    /// Base offset of the first batch whose max timestamp is >= `timestamp`.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<u64>> {
        for segment in &self.segments {
            if segment.entries == 0 || segment.max_timestamp < timestamp {
                continue;
            }
            let start = segment
                .time_index
                .search_start(timestamp)
                .min(segment.entries - 1);
            let mut position = segment.position_of_index(segment.base_index + start)?;
            while position < segment.size {
                let header = segment.header_at(position)?;
                if header.max_timestamp >= timestamp {
                    return Ok(Some(header.base_offset as u64));
                }
                position += header.total_bytes() as u64;
            }
        }
        Ok(None)
    }

    /// Removes every entry after `index` (Raft conflict resolution).
    pub fn truncate_after(&mut self, index: u64) -> Result<()> {
        if index >= self.last_index() {
            return Ok(());
        }
        if index + 1 < self.first_index() {
            return Err(StorageError::OffsetOutOfRange(format!(
                "cannot truncate after LogIndex {index}: entries before {} are gone",
                self.first_index()
            )));
        }
        while self.segments.len() > 1 && self.active().base_index > index {
            let segment = self.segments.pop().expect("len > 1");
            segment.delete()?;
            self.directory_dirty = true;
        }
        let segment = self.active_mut();
        let keep = index + 1 - segment.base_index;
        if keep < segment.entries {
            let (position, next_offset) = if keep == 0 {
                (0, segment.base_offset)
            } else {
                let position = segment.position_of_index(index + 1)?;
                (position, repair::offset_of_index(segment, index + 1)?)
            };
            segment.truncate(keep, position, next_offset)?;
        }
        self.terms.retain(|t| t.first_index <= index);
        self.after_truncation()
    }

    /// Removes whole segments whose entries all lie before `index`; returns the new first index.
    pub fn truncate_before(&mut self, index: u64) -> Result<u64> {
        let index = index.min(self.last_index() + 1);
        if index <= self.first_index() {
            return Ok(self.first_index());
        }
        if self.active().entries > 0 && self.last_index() < index {
            self.roll(now_ms())?;
        }
        let mut removed = false;
        while self.segments.len() > 1 && self.segments[0].base_index + self.segments[0].entries <= index {
            let segment = self.segments.remove(0);
            segment.delete()?;
            removed = true;
        }
        if removed {
            self.directory_dirty = true;
            let (first_index, start_offset) = (self.first_index(), self.log_start_offset());
            prune_terms(&mut self.terms, first_index, start_offset);
            self.after_truncation()?;
        }
        Ok(self.first_index())
    }

    /// Empties the log and restarts it at `first_index` / `next_offset` (a Raft snapshot install).
    pub fn reset(&mut self, first_index: u64, next_offset: u64) -> Result<()> {
        if first_index == 0 || first_index > MAX_SAFE_NUMBER || next_offset > MAX_SAFE_NUMBER {
            return Err(StorageError::InvalidArgument(format!(
                "reset needs 1 <= firstIndex < 2^53 and nextOffset < 2^53, got {first_index} and {next_offset}"
            )));
        }
        for segment in self.segments.drain(..) {
            segment.delete()?;
        }
        self.segments.push(Segment::create(
            &self.handles,
            &self.shared.dir,
            next_offset,
            first_index,
            now_ms(),
        )?);
        self.terms.clear();
        self.directory_dirty = true;
        self.after_truncation()
    }

    /// Deletes the oldest segments (never the active one, never one holding `keep_from` or
    /// later) while they are older than `retention_ms` (by their max timestamp) or while the log
    /// stays above `retention_bytes` without them. Returns the new first index.
    pub fn apply_retention(
        &mut self,
        now_ms: i64,
        retention_ms: Option<u64>,
        retention_bytes: Option<u64>,
        keep_from: u64,
    ) -> Result<u64> {
        let cut = self.retention_cut(now_ms, retention_ms, retention_bytes, keep_from);
        self.truncate_before(cut)
    }

    /// The first index `apply_retention` would keep, without removing anything: a replicated
    /// log records a snapshot at the cut before it drops the segments below it.
    pub fn retention_cut(
        &self,
        now_ms: i64,
        retention_ms: Option<u64>,
        retention_bytes: Option<u64>,
        keep_from: u64,
    ) -> u64 {
        let mut total = self.size_bytes();
        let mut cut = self.first_index();
        for segment in &self.segments[..self.segments.len() - 1] {
            let next_index = segment.base_index + segment.entries;
            let expired =
                retention_ms.is_some_and(|ms| segment.max_timestamp < now_ms.saturating_sub(ms as i64));
            let oversized = retention_bytes.is_some_and(|bytes| total - segment.size >= bytes);
            if !(expired || oversized) || next_index > keep_from {
                break;
            }
            total -= segment.size;
            cut = next_index;
        }
        cut
    }

    /// After a truncation: lower the durable mark, fence syncs prepared before it, and rewrite
    /// the recovery point when it covered removed bytes, names a deleted segment or an old log
    /// start. A new point claims only what is already durable.
    fn after_truncation(&mut self) -> Result<()> {
        let last_index = self.last_index();
        let shared = self.shared.clone();
        let mut state = shared.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        state.epoch += 1;
        let durable = self.shared.durable_index.load(Ordering::SeqCst).min(last_index);
        self.shared.durable_index.store(durable, Ordering::SeqCst);
        let point = match &state.last {
            // The cut lies before the point: the log as it is now lies before it too, so its
            // bytes and index entries were fsynced before that point was written.
            Some(last) if last.next_index > last_index + 1 => Some(self.durable_point(false)?),
            // Its segment was deleted: claim only the start of the first remaining segment.
            Some(last)
                if !self
                    .segments
                    .iter()
                    .any(|s| s.base_offset == last.segment_base_offset) =>
            {
                Some(self.durable_point(true)?)
            }
            // Only the start moved (segments before the point's were deleted): the point's
            // position and counts stay valid, so recovery still scans only what follows it.
            Some(last) if last.log_start_index != self.first_index() => {
                let mut point = last.clone();
                point.log_start_index = self.first_index();
                point.log_start_offset = self.log_start_offset();
                prune_terms(&mut point.terms, point.log_start_index, point.log_start_offset);
                Some(point)
            }
            Some(_) => None,
            None => Some(self.durable_point(true)?),
        };
        if let Some(point) = point {
            if std::mem::take(&mut self.directory_dirty) {
                sync_dir(&self.shared.dir).map_err(io_context("syncing the log directory"))?;
            }
            point.write(&self.shared.dir)?;
            state.last = Some(point);
        }
        Ok(())
    }

    /// A recovery point at the end of the log (`false`) or at the start of the first segment
    /// (`true`), after making the named segment's files durable (truncations are rare; this
    /// keeps the point's claim about that segment's index entries true).
    fn durable_point(&mut self, at_first_segment: bool) -> Result<Checkpoint> {
        let segment = if at_first_segment {
            &mut self.segments[0]
        } else {
            self.segments.last_mut().expect("a log always has a segment")
        };
        segment.flush()?;
        for file in segment.files_to_sync() {
            file.sync_data()
                .map_err(io_context("syncing a segment file for a recovery point"))?;
        }
        let point = if at_first_segment {
            self.bytes_since_checkpoint = self.size_bytes();
            self.checkpoint_at_first_segment()
        } else {
            self.bytes_since_checkpoint = 0;
            self.current_checkpoint()
        };
        self.last_checkpoint_ms = now_ms();
        Ok(point)
    }

    fn checkpoint_at_first_segment(&self) -> Checkpoint {
        let first = &self.segments[0];
        Checkpoint {
            log_start_index: first.base_index,
            log_start_offset: first.base_offset,
            segment_base_offset: first.base_offset,
            position: 0,
            next_index: first.base_index,
            next_offset: first.base_offset,
            segment_max_timestamp: i64::MIN,
            index_counts: Some(IndexCounts {
                offset_index: 0,
                time_index: 0,
            }),
            terms: Vec::new(),
        }
    }

    fn current_checkpoint(&self) -> Checkpoint {
        let active = self.active();
        Checkpoint {
            log_start_index: self.first_index(),
            log_start_offset: self.log_start_offset(),
            segment_base_offset: active.base_offset,
            position: active.size,
            next_index: self.last_index() + 1,
            next_offset: active.next_offset,
            segment_max_timestamp: active.max_timestamp,
            index_counts: Some(IndexCounts {
                offset_index: active.index.len() as u64,
                time_index: active.time_index.len() as u64,
            }),
            terms: self.terms.clone(),
        }
    }

    /// Prepares a sync of everything appended so far; run the job on any thread.
    /// Writes buffered appends to the files first (a write error surfaces here). The job
    /// fdatasyncs the active `.log` (plus the files of segments sealed since the last sync, and
    /// the directory when segments were created); it also takes a recovery point when a
    /// segment was sealed or the checkpoint interval has passed.
    pub fn prepare_sync(&mut self) -> Result<SyncJob> {
        self.prepare_sync_inner(SyncScope::Plain)
    }

    /// Prepares a sync that always takes a recovery point (fdatasync of the active segment's
    /// `.log`, `.index` and `.timeindex`, then the point), as `close` does.
    pub fn prepare_checkpoint(&mut self) -> Result<SyncJob> {
        self.prepare_sync_inner(SyncScope::RecoveryPoint)
    }

    /// Whether the next `prepare_sync` would take a recovery point.
    pub fn recovery_point_due(&self) -> bool {
        !self.unsynced.is_empty() || self.checkpoint_interval_passed(now_ms())
    }

    fn checkpoint_interval_passed(&self, now_ms: i64) -> bool {
        let elapsed_ms = now_ms.saturating_sub(self.last_checkpoint_ms).max(0) as u64;
        self.bytes_since_checkpoint >= self.limits.checkpoint_interval_bytes
            || (self.bytes_since_checkpoint > 0 && elapsed_ms >= self.limits.checkpoint_interval_ms)
    }

    fn prepare_sync_inner(&mut self, scope: SyncScope) -> Result<SyncJob> {
        let now = now_ms();
        let take_point = match scope {
            SyncScope::Plain => !self.unsynced.is_empty() || self.checkpoint_interval_passed(now),
            SyncScope::RecoveryPoint | SyncScope::Everything => true,
        };
        let mut files: Vec<Arc<CachedFile>> = Vec::new();
        if scope == SyncScope::Everything {
            for segment in &mut self.segments {
                segment.flush()?;
                files.extend(segment.files_to_sync());
            }
        } else if take_point {
            let active = self.active_mut();
            active.flush()?;
            files.extend(active.files_to_sync());
        } else {
            let active = self.active_mut();
            active.flush_log()?;
            files.push(active.log_file_to_sync());
        }
        files.append(&mut self.unsynced);
        let epoch = self
            .shared
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .epoch;
        let sync_directory = std::mem::take(&mut self.directory_dirty) || scope == SyncScope::Everything;
        let checkpoint = if take_point {
            self.bytes_since_checkpoint = 0;
            self.last_checkpoint_ms = now;
            Some(self.current_checkpoint())
        } else {
            None
        };
        Ok(SyncJob {
            shared: self.shared.clone(),
            files,
            sync_directory,
            checkpoint,
            epoch,
            target_index: self.last_index(),
        })
    }

    /// Syncs on the calling thread.
    pub fn sync(&mut self) -> Result<u64> {
        self.prepare_sync()?.run()
    }

    /// Syncs and takes a recovery point on the calling thread.
    pub fn checkpoint(&mut self) -> Result<u64> {
        self.prepare_checkpoint()?.run()
    }

    /// Seals the active segment's time index, syncs and takes a recovery point; the log should
    /// not be used afterwards.
    pub fn close(mut self) -> Result<()> {
        self.active_mut().seal_time_index()?;
        self.checkpoint()?;
        Ok(())
    }
}

/// Whether the index entries a recovery point counts for its segment are all there and
/// consistent with it (before its position, below its entry count). After a crash the files
/// may hold anything past them, but not less.
fn trusted_prefix_present(
    index: &OffsetIndex,
    time: &TimeIndex,
    counts: IndexCounts,
    position: u64,
    entries: u64,
) -> bool {
    let (offset_count, time_count) = (counts.offset_index as usize, counts.time_index as usize);
    if index.len() < offset_count || time.len() < time_count {
        return false;
    }
    let offsets_fit = offset_count == 0 || {
        let last = index.entries()[offset_count - 1];
        (last.position as u64) < position && (last.relative_index as u64) < entries
    };
    let times_fit = time_count == 0
        || time
            .entry(time_count - 1)
            .is_some_and(|last| (last.relative_index as u64) < entries);
    offsets_fit && times_fit
}

/// Reads whole batches of one segment from `position`: the first whole whatever its size
/// (unless `already` bytes were gathered, in which case it must fit `max_bytes` too), then more
/// while the total stays within `max_bytes`, at most `max_entries`, stopping before a batch
/// whose base offset is >= `up_to`.
fn read_run(
    segment: &Segment,
    position: u64,
    max_bytes: u64,
    already: u64,
    max_entries: u64,
    up_to: u64,
) -> Result<(Vec<u8>, u64)> {
    if position >= segment.size || max_entries == 0 {
        return Ok((Vec::new(), 0));
    }
    let available = segment.size - position;
    let budget = max_bytes.saturating_sub(already);
    // One read of the whole budget for bulk reads; a few entries start small and grow.
    let guess = if max_entries < 64 {
        budget.min(SMALL_READ_BYTES)
    } else {
        budget
    };
    let mut data = segment.read(
        position,
        guess.max(LOG_OVERHEAD_BYTES as u64).min(available) as usize,
    )?;
    let mut used = 0usize;
    let mut count = 0u64;
    while count < max_entries && (used as u64) < available {
        if data.len() - used < LOG_OVERHEAD_BYTES {
            grow(segment, position, &mut data, used + LOG_OVERHEAD_BYTES, available)?;
        }
        let (offset, bytes) = read_prefix(&data[used..]).ok_or_else(|| {
            StorageError::CorruptMessage(format!("bad batch prefix at byte {}", position + used as u64))
        })?;
        let first_of_call = count == 0 && already == 0;
        if offset as u64 >= up_to || ((used + bytes) as u64 > budget && !first_of_call) {
            break;
        }
        if used + bytes > data.len() {
            let wanted = (used + bytes).max((data.len() * 2).min(budget as usize));
            grow(segment, position, &mut data, wanted, available)?;
        }
        used += bytes;
        count += 1;
    }
    data.truncate(used);
    Ok((data, count))
}

/// First read of a call that wants only a few entries.
const SMALL_READ_BYTES: u64 = 64 * 1024;

/// Extends `data` (bytes from `position`) to `wanted` bytes, at most `available`.
fn grow(segment: &Segment, position: u64, data: &mut Vec<u8>, wanted: usize, available: u64) -> Result<()> {
    let old = data.len();
    let new = (wanted as u64).min(available) as usize;
    if new <= old {
        return Err(StorageError::CorruptMessage(format!(
            "batch at byte {} runs past the end of segment {}",
            position + old as u64,
            segment.base_offset
        )));
    }
    data.resize(new, 0);
    segment.read_into(&mut data[old..], position + old as u64)
}

/// Where the recovery scan stands: the next entry's index and offset and the term map so far.
struct ScanState {
    next_index: u64,
    next_offset: u64,
    terms: Vec<TermStart>,
}

/// Scans a segment and, when it stops early, cuts the file there and counts the cut bytes.
fn scan_and_cut(
    segment: &mut Segment,
    start: u64,
    length: u64,
    state: &mut ScanState,
    limits: &Limits,
    report: &mut RecoveryReport,
    last_segment: bool,
) -> Result<Option<String>> {
    let reason = scan_segment(segment, start, length, state, limits, report)?;
    if reason.is_some() {
        let cut_bytes = length - segment.size;
        if !last_segment || cut_bytes >= TORN_TAIL_MAX_BYTES {
            quarantine_tail(segment, length, report)?;
        }
        report.truncated_bytes += cut_bytes;
        segment
            .log
            .set_len(segment.size)
            .map_err(io_context("cutting a torn tail"))?;
    }
    Ok(reason)
}

/// Validates the batches of `segment` from `start` to `length`, replaying them into its
/// indexes. Returns why it stopped early (the segment is then cut at `segment.size`).
fn scan_segment(
    segment: &mut Segment,
    start: u64,
    length: u64,
    state: &mut ScanState,
    limits: &Limits,
    report: &mut RecoveryReport,
) -> Result<Option<String>> {
    let mut position = start;
    let name = segment.base_offset;
    while position < length {
        let chunk_length = (length - position).min(SCAN_CHUNK_BYTES as u64) as usize;
        let chunk = segment.read_file(position, chunk_length)?;
        let mut at = 0usize;
        while at < chunk.len() {
            let here = position + at as u64;
            let remaining_in_file = length - here;
            let Some((_, total)) =
                read_prefix(&chunk[at..]).filter(|_| remaining_in_file >= LOG_OVERHEAD_BYTES as u64)
            else {
                if chunk.len() - at < LOG_OVERHEAD_BYTES && remaining_in_file > (chunk.len() - at) as u64 {
                    break; // the prefix straddles the chunk: read the next chunk from here
                }
                return Ok(Some(format!(
                    "segment {name} byte {here}: torn or negative batch prefix"
                )));
            };
            if total as u64 > remaining_in_file {
                return Ok(Some(format!(
                    "segment {name} byte {here}: batch of {total} bytes but only {remaining_in_file} remain (torn write)"
                )));
            }
            if total > chunk.len() - at {
                if at == 0 {
                    // A batch larger than the chunk: read it alone.
                    let whole = segment.read_file(here, total)?;
                    match check_recovered_batch(&whole, state.next_offset, &state.terms, name, here) {
                        Ok(header) => {
                            accept(segment, here, &header, state, limits)?;
                            report.scanned_bytes += total as u64;
                            at = total;
                        }
                        Err(reason) => return Ok(Some(reason)),
                    }
                }
                break;
            }
            match check_recovered_batch(
                &chunk[at..at + total],
                state.next_offset,
                &state.terms,
                name,
                here,
            ) {
                Ok(header) => {
                    accept(segment, here, &header, state, limits)?;
                    report.scanned_bytes += total as u64;
                    at += total;
                }
                Err(reason) => return Ok(Some(reason)),
            }
        }
        position += at as u64;
    }
    Ok(None)
}

fn check_recovered_batch(
    bytes: &[u8],
    next_offset: u64,
    terms: &[TermStart],
    segment: u64,
    position: u64,
) -> std::result::Result<BatchHeader, String> {
    let header = validate_batch(bytes, MAX_BATCH_BYTES_CEILING)
        .map_err(|e| format!("segment {segment} byte {position}: {e}"))?;
    if header.base_offset as u64 != next_offset {
        return Err(format!(
            "segment {segment} byte {position}: baseOffset {} where {next_offset} was expected",
            header.base_offset
        ));
    }
    let term = header.partition_leader_epoch as i64;
    if terms.last().is_some_and(|t| term < t.term) {
        return Err(format!(
            "segment {segment} byte {position}: term {term} goes backwards"
        ));
    }
    Ok(header)
}

fn accept(
    segment: &mut Segment,
    position: u64,
    header: &BatchHeader,
    state: &mut ScanState,
    limits: &Limits,
) -> Result<()> {
    segment.note_batch(position, header, limits.index_interval_bytes)?;
    segment.flushed = segment.size;
    let term = header.partition_leader_epoch as i64;
    if state.terms.last().map(|t| t.term) != Some(term) {
        state.terms.push(TermStart {
            term,
            first_index: state.next_index,
            first_offset: header.base_offset as u64,
        });
    }
    state.next_index += 1;
    state.next_offset = header.next_offset() as u64;
    Ok(())
}

/// Keeps the term map covering `[first_index, ..)`: the term in force at `first_index` now
/// starts there.
fn prune_terms(terms: &mut Vec<TermStart>, first_index: u64, first_offset: u64) {
    let in_force = terms.partition_point(|t| t.first_index <= first_index);
    if in_force > 1 {
        terms.drain(..in_force - 1);
    }
    if let Some(first) = terms.first_mut() {
        if first.first_index < first_index {
            first.first_index = first_index;
            first.first_offset = first_offset;
        }
    }
}

/// The base index recorded in a segment's `.index` header, if readable.
fn segment_index_base(dir: &Path, base_offset: u64) -> Option<u64> {
    let bytes = std::fs::read(index_path(dir, base_offset)).ok()?;
    crate::offset_index::parse_header(&bytes, crate::offset_index::OFFSET_INDEX_MAGIC, 12)
}

/// A free name in the quarantine folder for `name` (a suffix `.1`, `.2`, ... when taken).
fn quarantine_path(dir: &Path, name: &str) -> Result<PathBuf> {
    let folder = dir.join(QUARANTINE_DIR);
    std::fs::create_dir_all(&folder).map_err(io_context(format!("creating {}", folder.display())))?;
    let mut path = folder.join(name);
    let mut n = 1;
    while path.exists() {
        path = folder.join(format!("{name}.{n}"));
        n += 1;
    }
    Ok(path)
}

/// Moves a segment's files into the quarantine folder (recorded in `report`).
fn quarantine_segment_files(dir: &Path, base_offset: u64, report: &mut RecoveryReport) -> Result<()> {
    for path in [
        log_path(dir, base_offset),
        index_path(dir, base_offset),
        time_index_path(dir, base_offset),
    ] {
        if !path.exists() {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("segment");
        let target = quarantine_path(dir, name)?;
        std::fs::rename(&path, &target).map_err(io_context(format!(
            "moving {} to {}",
            path.display(),
            target.display()
        )))?;
        report.quarantined.push(target.display().to_string());
    }
    Ok(())
}

/// Copies the bytes recovery is about to cut from `segment` (from its valid end to `length`)
/// into `quarantine/<segment>.log.cut-at-<position>`, fsynced.
fn quarantine_tail(segment: &Segment, length: u64, report: &mut RecoveryReport) -> Result<()> {
    let name = format!(
        "{}.cut-at-{}",
        log_path(&segment.dir, segment.base_offset)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("segment.log"),
        segment.size
    );
    let target = quarantine_path(&segment.dir, &name)?;
    let mut out = File::create(&target).map_err(io_context(format!("creating {}", target.display())))?;
    let mut position = segment.size;
    while position < length {
        let chunk = (length - position).min(SCAN_CHUNK_BYTES as u64) as usize;
        let bytes = segment.read_file(position, chunk)?;
        std::io::Write::write_all(&mut out, &bytes)
            .map_err(io_context(format!("writing {}", target.display())))?;
        position += chunk as u64;
    }
    out.sync_all()
        .map_err(io_context(format!("syncing {}", target.display())))?;
    report.quarantined.push(target.display().to_string());
    Ok(())
}

/// Index files without a `.log` (a crash in the middle of deleting a segment) and stray
/// temporary files are removed.
fn remove_orphan_indexes(dir: &Path, bases: &[u64]) -> Result<()> {
    let listing = std::fs::read_dir(dir).map_err(io_context(format!("listing {}", dir.display())))?;
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stem = name
            .strip_suffix(".index")
            .or_else(|| name.strip_suffix(".timeindex"));
        let orphan = match stem {
            Some(stem) => stem
                .parse::<u64>()
                .is_ok_and(|base| bases.binary_search(&base).is_err()),
            None => name.ends_with(".tmp"),
        };
        if orphan {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}
