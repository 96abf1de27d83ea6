//! Thin napi binding over `goqueue-storage`: converts types and errors, nothing else.
//!
//! Every error reaching JavaScript carries `code` (a stable string from
//! `StorageError::code`) and a message naming the field and the reason. Errors of the
//! off-thread `sync` cannot set `code` through napi's task API, so their message starts with
//! `"<CODE>: "`; `src/storage/errors.ts` reads either form.

use goqueue_storage::{Codec, Limits, StorageError};
use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice};
use napi::{Env, Task};
use napi_derive::napi;

/// The error code napi passes to JavaScript as `error.code`.
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

type Result<T> = napi::Result<T, Code>;

fn to_js(error: StorageError) -> napi::Error<Code> {
    napi::Error::new(Code(error.code()), error.to_string())
}

fn invalid(message: String) -> napi::Error<Code> {
    napi::Error::new(Code("INVALID_ARGUMENT"), message)
}

/// A JavaScript number that must be a non-negative integer below 2^53.
fn whole(value: f64, name: &str) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0 {
        Ok(value as u64)
    } else {
        Err(invalid(format!(
            "{name} must be a non-negative integer below 2^53, got {value}"
        )))
    }
}

/// Like `whole`, but `Infinity` means "no bound".
fn bound(value: f64, name: &str) -> Result<u64> {
    if value == f64::INFINITY {
        Ok(u64::MAX)
    } else {
        whole(value, name)
    }
}

/// CRC32C (Castagnoli) of a buffer.
#[napi(js_name = "crc32c")]
pub fn crc32c(bytes: BufferSlice) -> u32 {
    goqueue_storage::crc32c(&bytes)
}

fn codec(id: u32) -> Result<Codec> {
    Codec::from_id(id).map_err(to_js)
}

/// Compresses with a Kafka codec id (0 none, 1 gzip, 2 snappy (Xerial framing), 3 lz4 frame, 4 zstd).
#[napi(js_name = "compress")]
pub fn compress(codec_id: u32, data: BufferSlice) -> Result<Buffer> {
    Ok(goqueue_storage::compress(codec(codec_id)?, &data)
        .map_err(to_js)?
        .into())
}

/// Decompresses with a Kafka codec id; snappy accepts raw, Xerial-framed and snappy-framed input.
#[napi(js_name = "decompress")]
pub fn decompress(codec_id: u32, data: BufferSlice) -> Result<Buffer> {
    Ok(goqueue_storage::decompress(codec(codec_id)?, &data)
        .map_err(to_js)?
        .into())
}

/// Header facts of one validated batch.
#[napi(object)]
pub struct BatchInfo {
    pub base_offset: f64,
    pub partition_leader_epoch: i32,
    pub last_offset_delta: i32,
    pub records_count: i32,
    pub base_timestamp: f64,
    pub max_timestamp: f64,
    pub attributes: i32,
    pub producer_id: f64,
    pub producer_epoch: i32,
    pub base_sequence: i32,
    pub byte_length: u32,
}

/// Validates one or more concatenated batches (magic, lengths, size, CRC32C, record count);
/// throws with `code` on the first bad one.
#[napi(js_name = "validateBatches")]
pub fn validate_batches(bytes: BufferSlice, max_batch_bytes: f64) -> Result<Vec<BatchInfo>> {
    let max = whole(max_batch_bytes, "maxBatchBytes")? as usize;
    let headers = goqueue_storage::validate_batches(&bytes, max).map_err(to_js)?;
    Ok(batch_infos(headers))
}

/// Whether `bytes` are whole, valid batches (`validateBatches`' checks), without building a
/// report per batch: the check a Raft read runs on every batch it returns, where only the
/// failure matters (it then finds the bad batch with `validateBatches` one batch at a time).
#[napi(js_name = "batchesAreValid")]
pub fn batches_are_valid(bytes: BufferSlice, max_batch_bytes: f64) -> Result<bool> {
    let max = whole(max_batch_bytes, "maxBatchBytes")? as usize;
    Ok(goqueue_storage::validate_batches(&bytes, max).is_ok())
}

fn batch_infos(headers: Vec<goqueue_storage::BatchHeader>) -> Vec<BatchInfo> {
    headers
        .into_iter()
        .map(|h| BatchInfo {
            base_offset: h.base_offset as f64,
            partition_leader_epoch: h.partition_leader_epoch,
            last_offset_delta: h.last_offset_delta,
            records_count: h.records_count,
            base_timestamp: h.base_timestamp as f64,
            max_timestamp: h.max_timestamp as f64,
            attributes: h.attributes as i32,
            producer_id: h.producer_id as f64,
            producer_epoch: h.producer_epoch as i32,
            base_sequence: h.base_sequence,
            byte_length: h.total_bytes() as u32,
        })
        .collect()
}

/// The broker's compression policy for a topic (`compression.type`), as `validateProduceBatches`
/// needs it.
#[napi(object)]
pub struct RecompressionPlan {
    pub codec: u32,
    pub threshold_bytes: f64,
}

/// `validateBatches` for a produce: also decompresses every compressed batch as a stream (within
/// `max_decompressed_bytes(maxBatchBytes)`) and requires exactly `recordsCount` well-formed
/// records, except batches `plan` recompresses (the recompression checks those).
#[napi(js_name = "validateProduceBatches")]
pub fn validate_produce_batches(
    bytes: BufferSlice,
    max_batch_bytes: f64,
    plan: Option<RecompressionPlan>,
) -> Result<Vec<BatchInfo>> {
    let max = whole(max_batch_bytes, "maxBatchBytes")? as usize;
    let plan = match plan {
        None => None,
        Some(plan) => Some(goqueue_storage::RecompressionPlan {
            codec: u8::try_from(plan.codec)
                .map_err(|_| invalid(format!("codec {} is not a codec id", plan.codec)))?,
            threshold_bytes: bound(plan.threshold_bytes, "thresholdBytes")? as usize,
        }),
    };
    let headers = goqueue_storage::validate_produce_batches(&bytes, max, plan).map_err(to_js)?;
    Ok(batch_infos(headers))
}

/// One batch (exactly one RecordBatch v2) rewritten with Kafka codec id `codec`: same header fields,
/// new codec bits, batchLength and CRC32C. A batch already in that codec, a control batch and a
/// transactional batch come back unchanged. `maxBatchBytes` (default: no bound but int32) turns
/// a result that grew too large into a `MESSAGE_TOO_LARGE` error.
#[napi(js_name = "recompressBatch")]
pub fn recompress_batch(batch: BufferSlice, codec: u32, max_batch_bytes: Option<f64>) -> Result<Buffer> {
    let target = Codec::from_id(codec).map_err(to_js)?;
    let out = match max_batch_bytes {
        None => goqueue_storage::recompress_batch(&batch, target),
        Some(max) => {
            goqueue_storage::recompress_batch_within(&batch, target, bound(max, "maxBatchBytes")? as usize)
        }
    };
    Ok(out.map_err(to_js)?.into())
}

/// Content hashes of the records of one RecordBatch v2 (key, value and headers; see
/// goqueue-storage's record_hash), 8 bytes big-endian per record in order, for the broker's
/// content-hash de-duplication. A compressed batch is decompressed within the usual cap.
#[napi(js_name = "recordHashes")]
pub fn record_hashes(batch: BufferSlice, max_batch_bytes: f64) -> Result<Buffer> {
    let hashes = goqueue_storage::record_hash::record_hashes(
        &batch,
        bound(max_batch_bytes, "maxBatchBytes")? as usize,
    )
    .map_err(to_js)?;
    let mut out = Vec::with_capacity(hashes.len() * 8);
    for hash in hashes {
        out.extend_from_slice(&hash.to_be_bytes());
    }
    Ok(out.into())
}

/// Options of `Log.open`; every field has a default (see `Limits::default`).
#[napi(object)]
pub struct LogOptions {
    pub segment_bytes: Option<f64>,
    pub segment_ms: Option<f64>,
    pub max_batch_bytes: Option<f64>,
    pub index_interval_bytes: Option<f64>,
    /// A sync also takes a recovery point once this many log bytes were appended since the
    /// last one (default 16 MiB; 0 = at every sync; `Infinity` = only on roll and close).
    pub checkpoint_interval_bytes: Option<f64>,
    /// ... or once this many milliseconds passed since the last one and something was appended
    /// (default 10000; 0 = at every sync; `Infinity` = never by time).
    pub checkpoint_interval_ms: Option<f64>,
}

#[napi(object)]
pub struct AppendResult {
    pub first_index: f64,
    pub last_index: f64,
    pub base_offset: f64,
    pub next_offset: f64,
}

#[napi(object)]
pub struct RecoveryReport {
    pub used_recovery_point: bool,
    pub scanned_bytes: f64,
    pub truncated_bytes: f64,
    pub truncation_reason: Option<String>,
    pub rebuilt_indexes: Vec<f64>,
    /// Files recovery moved into `quarantine/` instead of deleting them.
    pub quarantined: Vec<String>,
}

/// Where the scrubber is in a log (see `Log.scrub`).
#[napi(object, js_name = "ScrubCursor")]
pub struct JsScrubCursor {
    pub segment_base_offset: f64,
    pub position: f64,
    pub next_offset: f64,
}

/// A batch the scrubber found damaged: its segment, byte position, expected offset and why.
#[napi(object, js_name = "CorruptBatch")]
pub struct JsCorruptBatch {
    pub segment_base_offset: f64,
    pub position: f64,
    pub offset: f64,
    pub reason: String,
}

/// One scrub step: the next cursor, bytes verified, whether the log's end was reached.
#[napi(object, js_name = "ScrubStep")]
pub struct JsScrubStep {
    pub cursor: JsScrubCursor,
    pub bytes: f64,
    pub wrapped: bool,
    pub corrupt: Option<JsCorruptBatch>,
}

fn js_cursor(c: goqueue_storage::ScrubCursor) -> JsScrubCursor {
    JsScrubCursor {
        segment_base_offset: c.segment_base_offset as f64,
        position: c.position as f64,
        next_offset: c.next_offset as f64,
    }
}

/// The process's open-file limit (RLIMIT_NOFILE) after `raiseOpenFileLimit`.
#[napi(object)]
pub struct OpenFileLimit {
    /// The limit in force (soft).
    pub soft: f64,
    /// The ceiling the soft limit may be raised to.
    pub hard: f64,
    /// The soft limit before the call.
    pub before: f64,
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (as far as the OS allows) and reports both:
/// the broker keeps files of many partitions open. Unix only; elsewhere reports zeros.
#[napi(js_name = "raiseOpenFileLimit")]
pub fn raise_open_file_limit() -> Result<OpenFileLimit> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(napi::Error::new(
                Code("IO_ERROR"),
                format!("getrlimit(RLIMIT_NOFILE): {}", std::io::Error::last_os_error()),
            ));
        }
        let before = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            let mut wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // macOS refuses more than OPEN_MAX for the soft limit even when the hard one is
            // unlimited; fall back to it there.
            #[cfg(target_os = "macos")]
            {
                wanted.rlim_cur = wanted.rlim_cur.min(libc::OPEN_MAX as libc::rlim_t);
            }
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
                limit.rlim_cur = wanted.rlim_cur;
            }
            let _ = &mut wanted;
        }
        let as_number = |v: libc::rlim_t| {
            if v == libc::RLIM_INFINITY {
                f64::INFINITY
            } else {
                v as f64
            }
        };
        Ok(OpenFileLimit {
            soft: as_number(limit.rlim_cur),
            hard: as_number(limit.rlim_max),
            before: as_number(before),
        })
    }
    #[cfg(not(unix))]
    {
        Ok(OpenFileLimit {
            soft: 0.0,
            hard: 0.0,
            before: 0.0,
        })
    }
}

/// The process's cache of open segment files (see goqueue-storage's `handle_cache`).
#[napi(object)]
pub struct SegmentFileCacheStats {
    /// Handles kept open at most.
    pub capacity: f64,
    /// Handles open now.
    pub open: f64,
    /// Operations that found their file open.
    pub hits: f64,
    /// Files opened (again) on demand.
    pub opens: f64,
    /// Handles closed to make room.
    pub evictions: f64,
    /// Of those, handles fdatasynced first because they had unsynced writes.
    pub dirty_evictions: f64,
}

/// Sets how many segment files (`.log`, `.index`, `.timeindex`, over every log of the process)
/// stay open at once; the least recently used close first (a file with unsynced writes is
/// fdatasynced before it closes). Lowering it closes the excess at once. At least 1.
#[napi(js_name = "setSegmentFileCapacity")]
pub fn set_segment_file_capacity(capacity: f64) -> Result<()> {
    let capacity = whole(capacity, "capacity")?;
    if capacity == 0 {
        return Err(invalid("capacity must be at least 1".to_string()));
    }
    goqueue_storage::HandleCache::global()
        .set_capacity(usize::try_from(capacity).unwrap_or(usize::MAX))
        .map_err(|e| napi::Error::new(Code("IO_ERROR"), format!("closing segment files: {e}")))
}

/// Counters of the process's cache of open segment files.
#[napi(js_name = "segmentFileCacheStats")]
pub fn segment_file_cache_stats() -> SegmentFileCacheStats {
    let stats = goqueue_storage::HandleCache::global().stats();
    SegmentFileCacheStats {
        capacity: stats.capacity as f64,
        open: stats.open as f64,
        hits: stats.hits as f64,
        opens: stats.opens as f64,
        evictions: stats.evictions as f64,
        dirty_evictions: stats.dirty_evictions as f64,
    }
}

#[napi(object)]
pub struct TermStart {
    pub term: f64,
    pub first_index: f64,
    pub first_offset: f64,
}

/// Fsync of a log, run on the libuv pool; resolves to the new durable index.
pub struct SyncTask {
    job: Option<goqueue_storage::SyncJob>,
}

impl Task for SyncTask {
    type Output = u64;
    type JsValue = f64;

    fn compute(&mut self) -> napi::Result<u64> {
        let job = self
            .job
            .take()
            .ok_or_else(|| napi::Error::from_reason("LOG_CLOSED: sync task ran twice"))?;
        job.run()
            .map_err(|e| napi::Error::from_reason(format!("{}: {e}", e.code())))
    }

    fn resolve(&mut self, _env: Env, output: u64) -> napi::Result<f64> {
        Ok(output as f64)
    }
}

/// A prepared fsync of one log (see `Log.prepareSync`); `run` may be called once.
#[napi]
pub struct SyncJob {
    job: Option<goqueue_storage::SyncJob>,
}

#[napi]
impl SyncJob {
    /// Fsyncs on the libuv pool; resolves to the new durable index.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn run(&mut self) -> Result<AsyncTask<SyncTask>> {
        let job = self
            .job
            .take()
            .ok_or_else(|| napi::Error::new(Code("INVALID_ARGUMENT"), "sync job already ran".to_string()))?;
        Ok(AsyncTask::new(SyncTask { job: Some(job) }))
    }
}

/// One partition's segmented log (see `goqueue_storage::Log`).
#[napi]
pub struct Log {
    inner: Option<goqueue_storage::Log>,
}

#[napi]
impl Log {
    /// Opens or creates the log in `dir`, recovering a torn tail.
    #[napi(factory)]
    pub fn open(dir: String, options: Option<LogOptions>) -> Result<Log> {
        let mut limits = Limits::default();
        if let Some(o) = options {
            if let Some(v) = o.segment_bytes {
                limits.segment_bytes = whole(v, "segmentBytes")?;
            }
            if let Some(v) = o.segment_ms {
                limits.segment_ms = whole(v, "segmentMs")?;
            }
            match o.max_batch_bytes {
                Some(v) => limits.max_batch_bytes = whole(v, "maxBatchBytes")? as usize,
                // The default must still fit a segment when only segmentBytes was lowered.
                None => limits.max_batch_bytes = limits.max_batch_bytes.min(limits.segment_bytes as usize),
            }
            if let Some(v) = o.index_interval_bytes {
                limits.index_interval_bytes = whole(v, "indexIntervalBytes")?;
            }
            if let Some(v) = o.checkpoint_interval_bytes {
                limits.checkpoint_interval_bytes = bound(v, "checkpointIntervalBytes")?;
            }
            if let Some(v) = o.checkpoint_interval_ms {
                limits.checkpoint_interval_ms = bound(v, "checkpointIntervalMs")?;
            }
        }
        let log = goqueue_storage::Log::open(std::path::Path::new(&dir), limits).map_err(to_js)?;
        Ok(Log { inner: Some(log) })
    }

    fn log(&self) -> Result<&goqueue_storage::Log> {
        self.inner.as_ref().ok_or_else(|| to_js(StorageError::LogClosed))
    }

    fn log_mut(&mut self) -> Result<&mut goqueue_storage::Log> {
        self.inner.as_mut().ok_or_else(|| to_js(StorageError::LogClosed))
    }

    #[napi(getter)]
    pub fn first_index(&self) -> Result<f64> {
        Ok(self.log()?.first_index() as f64)
    }
    #[napi(getter)]
    pub fn last_index(&self) -> Result<f64> {
        Ok(self.log()?.last_index() as f64)
    }
    #[napi(getter)]
    pub fn durable_index(&self) -> Result<f64> {
        Ok(self.log()?.durable_index() as f64)
    }
    #[napi(getter)]
    pub fn log_start_offset(&self) -> Result<f64> {
        Ok(self.log()?.log_start_offset() as f64)
    }
    #[napi(getter)]
    pub fn next_offset(&self) -> Result<f64> {
        Ok(self.log()?.next_offset() as f64)
    }
    #[napi(getter)]
    pub fn size_bytes(&self) -> Result<f64> {
        Ok(self.log()?.size_bytes() as f64)
    }
    #[napi(getter)]
    pub fn segment_count(&self) -> Result<u32> {
        Ok(self.log()?.segment_count() as u32)
    }
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// What recovery found when the log was opened.
    #[napi(getter)]
    pub fn recovery(&self) -> Result<RecoveryReport> {
        let r = self.log()?.recovery();
        Ok(RecoveryReport {
            used_recovery_point: r.used_recovery_point,
            scanned_bytes: r.scanned_bytes as f64,
            truncated_bytes: r.truncated_bytes as f64,
            truncation_reason: r.truncation_reason.clone(),
            rebuilt_indexes: r.rebuilt_indexes.iter().map(|&b| b as f64).collect(),
            quarantined: r.quarantined.clone(),
        })
    }

    /// The term map: where each term's entries start.
    #[napi]
    pub fn term_starts(&self) -> Result<Vec<TermStart>> {
        Ok(self
            .log()?
            .term_starts()
            .iter()
            .map(|t| TermStart {
                term: t.term as f64,
                first_index: t.first_index as f64,
                first_offset: t.first_offset as f64,
            })
            .collect())
    }

    /// Appends whole batches (one per buffer), all or nothing.
    #[napi]
    pub fn append(&mut self, batches: Vec<BufferSlice>) -> Result<AppendResult> {
        let slices: Vec<&[u8]> = batches.iter().map(|b| &b[..]).collect();
        let r = self.log_mut()?.append(&slices).map_err(to_js)?;
        Ok(AppendResult {
            first_index: r.first_index as f64,
            last_index: r.last_index as f64,
            base_offset: r.base_offset as f64,
            next_offset: r.next_offset as f64,
        })
    }

    #[napi]
    pub fn term_at(&self, index: f64) -> Result<Option<f64>> {
        Ok(self.log()?.term_at(whole(index, "index")?).map(|t| t as f64))
    }

    #[napi]
    pub fn offset_at(&self, index: f64) -> Result<Option<f64>> {
        Ok(self
            .log()?
            .offset_at(whole(index, "index")?)
            .map_err(to_js)?
            .map(|o| o as f64))
    }

    #[napi]
    pub fn index_of_offset(&self, offset: f64) -> Result<Option<f64>> {
        Ok(self
            .log()?
            .index_of_offset(whole(offset, "offset")?)
            .map_err(to_js)?
            .map(|i| i as f64))
    }

    /// Entries `[from, to]` concatenated (split them by batchLength), within `maxBytes`
    /// except that the first entry always comes whole.
    #[napi]
    pub fn read_entries(&self, from: f64, to: f64, max_bytes: f64) -> Result<Buffer> {
        let (bytes, _) = self
            .log()?
            .read_entries(
                whole(from, "from")?,
                bound(to, "to")?,
                bound(max_bytes, "maxBytes")?,
            )
            .map_err(to_js)?;
        Ok(bytes.into())
    }

    /// One scrubber step: re-verifies whole batches (CRC32C and framing) from `cursor`, about
    /// `maxBytes` of them, reading only bytes already written to the segment files.
    #[napi]
    pub fn scrub(&self, cursor: JsScrubCursor, max_bytes: f64) -> Result<JsScrubStep> {
        let cursor = goqueue_storage::ScrubCursor {
            segment_base_offset: whole(cursor.segment_base_offset, "segmentBaseOffset")?,
            position: whole(cursor.position, "position")?,
            next_offset: whole(cursor.next_offset, "nextOffset")?,
        };
        let step = self
            .log()?
            .scrub(cursor, bound(max_bytes, "maxBytes")?)
            .map_err(to_js)?;
        Ok(JsScrubStep {
            cursor: js_cursor(step.cursor),
            bytes: step.bytes as f64,
            wrapped: step.wrapped,
            corrupt: step.corrupt.map(|c| JsCorruptBatch {
                segment_base_offset: c.segment_base_offset as f64,
                position: c.position as f64,
                offset: c.offset as f64,
                reason: c.reason,
            }),
        })
    }

    /// The base offset entry `index` must have, without reading its own header (the sparse index
    /// and the CRC-checked record counts of the batches before it).
    #[napi]
    pub fn expected_offset_at(&self, index: f64) -> Result<f64> {
        let index = whole(index, "index")?;
        Ok(self.log()?.expected_offset_at(index).map_err(to_js)? as f64)
    }

    /// Writes `bytes` (one whole batch: another replica's copy of entry `index`) over the stored
    /// entry when it is the same entry (offset, term and length agree), fdatasyncs and reads it
    /// back; false when the stored bytes were already equal.
    #[napi]
    pub fn repair_batch(&mut self, index: f64, bytes: Buffer) -> Result<bool> {
        let index = whole(index, "index")?;
        self.log_mut()?.repair_batch(index, &bytes).map_err(to_js)
    }

    /// Whole batches from offset `from`, before `upTo`, within `maxBytes` (first batch whole).
    #[napi]
    pub fn read_from(&self, from: f64, max_bytes: f64, up_to: f64) -> Result<Buffer> {
        let up_to = bound(up_to, "upTo")?;
        let bytes = self
            .log()?
            .read_from(whole(from, "from")?, bound(max_bytes, "maxBytes")?, up_to)
            .map_err(to_js)?;
        Ok(bytes.into())
    }

    #[napi]
    pub fn offset_for_timestamp(&self, timestamp_ms: f64) -> Result<Option<f64>> {
        if !timestamp_ms.is_finite() {
            return Err(invalid(format!("timestampMs must be finite, got {timestamp_ms}")));
        }
        Ok(self
            .log()?
            .offset_for_timestamp(timestamp_ms as i64)
            .map_err(to_js)?
            .map(|o| o as f64))
    }

    #[napi]
    pub fn truncate_after(&mut self, index: f64) -> Result<()> {
        let index = whole(index, "index")?;
        self.log_mut()?.truncate_after(index).map_err(to_js)
    }

    #[napi]
    pub fn truncate_before(&mut self, index: f64) -> Result<f64> {
        let index = whole(index, "index")?;
        Ok(self.log_mut()?.truncate_before(index).map_err(to_js)? as f64)
    }

    /// Empties the log and restarts it at `firstIndex` / `nextOffset` (snapshot install).
    #[napi]
    pub fn reset(&mut self, first_index: f64, next_offset: f64) -> Result<()> {
        let (first_index, next_offset) = (
            whole(first_index, "firstIndex")?,
            whole(next_offset, "nextOffset")?,
        );
        self.log_mut()?.reset(first_index, next_offset).map_err(to_js)
    }

    /// Deletes old segments by age (`retentionMs`, -1 = no limit) and total size
    /// (`retentionBytes`, -1 = no limit), never entries at or after `keepFrom`.
    #[napi]
    pub fn apply_retention(
        &mut self,
        now_ms: f64,
        retention_ms: f64,
        retention_bytes: f64,
        keep_from: f64,
    ) -> Result<f64> {
        let limit = |v: f64, name: &str| {
            if v < 0.0 {
                Ok(None)
            } else {
                whole(v, name).map(Some)
            }
        };
        let retention_ms = limit(retention_ms, "retentionMs")?;
        let retention_bytes = limit(retention_bytes, "retentionBytes")?;
        let keep_from = bound(keep_from, "keepFrom")?;
        let now = whole(now_ms, "nowMs")? as i64;
        Ok(self
            .log_mut()?
            .apply_retention(now, retention_ms, retention_bytes, keep_from)
            .map_err(to_js)? as f64)
    }

    /// The first index `applyRetention` would keep (nothing is removed). Deletes by age (`retentionMs`, -1 = no limit) and total size
    /// (`retentionBytes`, -1 = no limit), never entries at or after `keepFrom`.
    #[napi]
    pub fn retention_cut(
        &self,
        now_ms: f64,
        retention_ms: f64,
        retention_bytes: f64,
        keep_from: f64,
    ) -> Result<f64> {
        let limit = |v: f64, name: &str| {
            if v < 0.0 {
                Ok(None)
            } else {
                whole(v, name).map(Some)
            }
        };
        let retention_ms = limit(retention_ms, "retentionMs")?;
        let retention_bytes = limit(retention_bytes, "retentionBytes")?;
        let keep_from = bound(keep_from, "keepFrom")?;
        let now = whole(now_ms, "nowMs")? as i64;
        Ok(self
            .log()?
            .retention_cut(now, retention_ms, retention_bytes, keep_from) as f64)
    }

    /// Writes buffered appends to the file without an fsync (they then survive a kill -9 of this
    /// process, not a power loss): what a sync round does when fsync is off.
    #[napi]
    pub fn write_buffered(&mut self) -> Result<()> {
        self.log_mut()?.write_buffered().map_err(to_js)
    }

    /// Starts a new segment now (no-op when the active one is empty).
    #[napi]
    pub fn roll(&mut self) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.log_mut()?.roll(now).map_err(to_js)
    }

    /// Captures what an fsync of everything appended so far must cover: the active segment's
    /// `.log` (one fdatasync), plus its index files and a new recovery point when one is due
    /// (a segment was sealed, or the checkpoint interval passed). The returned job runs
    /// the fsync off the JS thread; the log stays usable meanwhile (appends, reads and
    /// truncations during the fsync are fenced by the storage core's epoch). The job is its own
    /// object because napi keeps a method's `&mut self` borrow alive until an `AsyncTask` it
    /// returns settles, which would lock the log for the whole fsync.
    #[napi]
    pub fn prepare_sync(&mut self) -> Result<SyncJob> {
        let job = self.log_mut()?.prepare_sync().map_err(to_js)?;
        Ok(SyncJob { job: Some(job) })
    }

    /// Seals, syncs and closes the files (on the calling thread). Idempotent.
    #[napi]
    pub fn close(&mut self) -> Result<()> {
        match self.inner.take() {
            Some(log) => log.close().map_err(to_js),
            None => Ok(()),
        }
    }
}

/// An exclusive lock on a data directory (`<dir>/.lock`, flock): one broker per directory.
/// The OS releases it when the process ends, `kill -9` included.
#[napi]
pub struct DirectoryLock {
    held: Option<goqueue_storage::DirectoryLock>,
}

#[napi]
impl DirectoryLock {
    /// Creates `dir` when missing and locks it without waiting. Throws with code
    /// `DATA_DIR_LOCKED` (naming the directory and the holder's pid) when another broker holds
    /// it, in this process or another; `IO_ERROR` when the file cannot be created or locked.
    #[napi(factory)]
    pub fn acquire(dir: String) -> Result<DirectoryLock> {
        let held = goqueue_storage::DirectoryLock::acquire(std::path::Path::new(&dir))
            .map_err(|e| napi::Error::new(Code(e.code()), e.to_string()))?;
        Ok(DirectoryLock { held: Some(held) })
    }

    /// Releases the lock; later calls do nothing.
    #[napi]
    pub fn release(&mut self) {
        if let Some(held) = self.held.take() {
            held.release();
        }
    }

    /// Whether the lock is still held by this object.
    #[napi(getter)]
    pub fn held(&self) -> bool {
        self.held.is_some()
    }
}
