//! Counting the records of a compressed batch without holding its decompressed records.
//!
//! Validation checks the records section of an uncompressed batch byte by byte, but a compressed
//! section is opaque until it is decompressed, so a batch could claim any `recordsCount` (up to
//! 2^31 - 1) and move the partition's next offset by that much. `check_compressed_records` reads
//! the decoder's output through a 64 KiB window and walks the records as a stream: every record's
//! varints and byte strings must fit its length, offset deltas count 0, 1, 2, ..., and there must
//! be exactly `recordsCount` of them. Memory stays at the window (plus the decoder's own state)
//! whatever the batch expands to, and the total output is capped by `max_decompressed_bytes`.

use std::io::Read;

use crate::compression::{decoder, max_decompressed_bytes, window_log_for, Codec};
use crate::error::{Result, StorageError};
use crate::limits::{BATCH_HEADER_BYTES, MAX_BATCH_BYTES_CEILING};
use crate::record_batch::{with_batch_position, BatchHeader};

/// Bytes of decompressed output held at a time.
const WINDOW_BYTES: usize = 16 * 1024;

/// A forward-only cursor over a decoder's output, counting what it consumed.
struct Stream<R: Read> {
    reader: R,
    window: Vec<u8>,
    at: usize,
    filled: usize,
    /// Bytes consumed from the start of the decompressed output.
    consumed: u64,
    max_bytes: u64,
    codec: &'static str,
}

/// Why a record did not parse: the stream ended, or a field is impossible.
enum Bad {
    End,
    Field(&'static str),
    Storage(StorageError),
}

impl From<StorageError> for Bad {
    fn from(error: StorageError) -> Self {
        Bad::Storage(error)
    }
}

impl<R: Read> Stream<R> {
    fn new(reader: R, codec: &'static str, max_bytes: usize) -> Self {
        Stream {
            reader,
            window: vec![0; WINDOW_BYTES],
            at: 0,
            filled: 0,
            consumed: 0,
            max_bytes: max_bytes as u64,
            codec,
        }
    }

    /// Refills the window; false at the end of the output.
    fn fill(&mut self) -> Result<bool> {
        loop {
            match self.reader.read(&mut self.window) {
                Ok(0) => return Ok(false),
                Ok(read) => {
                    self.at = 0;
                    self.filled = read;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(StorageError::CorruptMessage(format!(
                        "{} data does not decompress: {e}",
                        self.codec
                    )))
                }
            }
        }
    }

    /// Accounts for `count` consumed bytes against the cap.
    fn take(&mut self, count: u64) -> std::result::Result<(), Bad> {
        self.consumed += count;
        if self.consumed > self.max_bytes {
            return Err(Bad::Storage(StorageError::MessageTooLarge(format!(
                "{} records expand past the limit, above max_decompressed_bytes ({} bytes)",
                self.codec, self.max_bytes
            ))));
        }
        Ok(())
    }

    /// The next byte, or None at the end of the output.
    fn byte(&mut self) -> std::result::Result<Option<u8>, Bad> {
        if self.at == self.filled && !self.fill()? {
            return Ok(None);
        }
        let byte = self.window[self.at];
        self.at += 1;
        self.take(1)?;
        Ok(Some(byte))
    }

    /// A zig-zag varint; the end of the output inside it is `Bad::End`.
    fn varint(&mut self) -> std::result::Result<i64, Bad> {
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte()?.ok_or(Bad::End)?;
            value |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
            shift += 7;
            if shift > 63 {
                return Err(Bad::Field("varint longer than 10 bytes"));
            }
        }
    }

    /// Skips `count` bytes without keeping them.
    fn skip(&mut self, mut count: u64) -> std::result::Result<(), Bad> {
        while count > 0 {
            if self.at == self.filled && !self.fill()? {
                return Err(Bad::End);
            }
            let step = count.min((self.filled - self.at) as u64);
            self.at += step as usize;
            self.take(step)?;
            count -= step;
        }
        Ok(())
    }

    /// Skips a varint-length byte string that must end by `record_end`.
    fn skip_bytes(&mut self, record_end: u64, nullable: bool) -> std::result::Result<(), Bad> {
        let length = self.varint()?;
        if length < 0 {
            return if nullable {
                Ok(())
            } else {
                Err(Bad::Field("header key is null"))
            };
        }
        if self.consumed + length as u64 > record_end {
            return Err(Bad::Field("a key, value or header runs past the record"));
        }
        self.skip(length as u64)
    }
}

/// One record from the stream; `Ok(false)` when the output ended cleanly before it.
fn skip_record<R: Read>(stream: &mut Stream<R>, offset_delta: i64) -> std::result::Result<bool, Bad> {
    let Some(first) = stream.byte()? else {
        return Ok(false);
    };
    // The record length varint, whose first byte was read to detect the end.
    let mut value: u64 = (first & 0x7f) as u64;
    let mut shift = 7;
    let mut byte = first;
    while byte & 0x80 != 0 {
        byte = stream.byte()?.ok_or(Bad::End)?;
        value |= ((byte & 0x7f) as u64) << shift;
        shift += 7;
        if shift > 63 {
            return Err(Bad::Field("varint longer than 10 bytes"));
        }
    }
    let length = ((value >> 1) as i64) ^ -((value & 1) as i64);
    if length < 1 {
        return Err(Bad::Field("record length is not positive"));
    }
    let record_end = stream.consumed + length as u64;
    stream.byte()?.ok_or(Bad::End)?; // attributes
    stream.varint()?; // timestampDelta
    if stream.varint()? != offset_delta {
        return Err(Bad::Field("offsetDelta does not count up from 0"));
    }
    stream.skip_bytes(record_end, true)?; // key
    stream.skip_bytes(record_end, true)?; // value
    let headers = stream.varint()?;
    if headers < 0 || headers as u64 > record_end.saturating_sub(stream.consumed) {
        return Err(Bad::Field("headers count is impossible"));
    }
    for _ in 0..headers {
        stream.skip_bytes(record_end, false)?;
        stream.skip_bytes(record_end, true)?;
    }
    if stream.consumed != record_end {
        return Err(Bad::Field("record length does not match its fields"));
    }
    Ok(true)
}

/// Checks the compressed records section of `batch` (one batch whose header already passed
/// validation) against its header: it decompresses within `max_decompressed_bytes`, every record
/// parses, offset deltas count 0, 1, 2, ... and there are exactly `recordsCount` records (so
/// `lastOffsetDelta`, which validation tied to `recordsCount`, is right too). Uncompressed
/// batches are checked by `validate_batch` itself and pass here untouched.
pub fn check_compressed_records(
    batch: &[u8],
    header: &BatchHeader,
    max_decompressed_bytes: usize,
) -> Result<()> {
    let codec = Codec::from_id(header.codec() as u32)?;
    if codec == Codec::None {
        return Ok(());
    }
    let packed = &batch[BATCH_HEADER_BYTES..header.total_bytes()];
    let expected = header.records_count as i64;
    if codec == Codec::Zstd {
        // A zstd decoding context costs more to set up than a small batch costs to decode:
        // each thread keeps one and resets it per batch.
        return ZSTD_CONTEXT.with(|cell| {
            let mut slot = cell.borrow_mut();
            let context = slot.get_or_insert_with(zstd::zstd_safe::DCtx::create);
            let failed = |code: usize| {
                StorageError::CorruptMessage(format!(
                    "zstd data does not decompress: {}",
                    zstd::zstd_safe::get_error_name(code)
                ))
            };
            context
                .reset(zstd::zstd_safe::ResetDirective::SessionAndParameters)
                .map_err(failed)?;
            context
                .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(window_log_for(
                    max_decompressed_bytes,
                )))
                .map_err(failed)?;
            let reader = zstd::stream::read::Decoder::with_context(packed, context);
            count_records(Stream::new(reader, "zstd", max_decompressed_bytes), expected)
        });
    }
    let (reader, name) = decoder(codec, packed, max_decompressed_bytes)?;
    count_records(Stream::new(reader, name, max_decompressed_bytes), expected)
}

thread_local! {
    static ZSTD_CONTEXT: std::cell::RefCell<Option<zstd::zstd_safe::DCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Walks the records of `stream`: exactly `expected` well-formed records, offset deltas 0, 1, ...
fn count_records<R: Read>(mut stream: Stream<R>, expected: i64) -> Result<()> {
    let mut count: i64 = 0;
    loop {
        match skip_record(&mut stream, count) {
            Ok(false) => break,
            Ok(true) => {
                count += 1;
                if count > expected {
                    return Err(StorageError::InvalidRecord(format!(
                        "recordsCount is {expected} but the compressed records section holds more"
                    )));
                }
            }
            Err(Bad::End) => {
                return Err(StorageError::InvalidRecord(format!(
                    "record {count}: the decompressed records end inside it"
                )))
            }
            Err(Bad::Field(reason)) => {
                return Err(StorageError::InvalidRecord(format!("record {count}: {reason}")))
            }
            Err(Bad::Storage(error)) => return Err(error),
        }
    }
    if count != expected {
        return Err(StorageError::InvalidRecord(format!(
            "recordsCount is {expected} but the compressed records section holds {count}"
        )));
    }
    Ok(())
}

/// The codec a broker stores some batches with (`compression.type`): batches it rewrites are
/// decompressed and their records checked by the recompression itself, so validation does not
/// count them a second time.
#[derive(Debug, Clone, Copy)]
pub struct RecompressionPlan {
    pub codec: u8,
    /// Batches whose records section (as sent) is smaller keep their codec.
    pub threshold_bytes: usize,
}

impl RecompressionPlan {
    /// Whether the plan rewrites this batch (the broker's `needsRecompression`).
    pub fn rewrites(&self, header: &BatchHeader) -> bool {
        !crate::recompress::keeps_codec(header.attributes)
            && header.codec() != self.codec
            && header.total_bytes() - BATCH_HEADER_BYTES >= self.threshold_bytes
    }
}

/// `validate_batches` for a produce: also counts the records of every compressed batch
/// (`check_compressed_records`, within `max_decompressed_bytes(max_batch_bytes)`), except the
/// batches `plan` will recompress, which the recompression checks. All-or-nothing.
pub fn validate_produce_batches(
    bytes: &[u8],
    max_batch_bytes: usize,
    plan: Option<RecompressionPlan>,
) -> Result<Vec<BatchHeader>> {
    let headers = crate::record_batch::validate_batches(bytes, max_batch_bytes)?;
    let max_decompressed = max_decompressed_bytes(max_batch_bytes.min(MAX_BATCH_BYTES_CEILING));
    let mut at = 0;
    for (number, header) in headers.iter().enumerate() {
        if header.codec() != 0 && !plan.is_some_and(|plan| plan.rewrites(header)) {
            check_compressed_records(&bytes[at..], header, max_decompressed)
                .map_err(|e| with_batch_position(e, number, at))?;
        }
        at += header.total_bytes();
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::compress;
    use crate::record_batch::test_batch::encode;
    use crate::record_batch::validate_batch;

    /// `encode`'s batch with its records compressed by `codec` and `records_count` (and
    /// lastOffsetDelta) overwritten, CRC recomputed.
    fn compressed(codec: Codec, values: &[&[u8]], records_count: i32) -> Vec<u8> {
        let plain = encode(0, 1, 1000, values);
        let section = compress(codec, &plain[61..]).unwrap();
        let mut out = plain[..61].to_vec();
        out.extend_from_slice(&section);
        let length = (out.len() - 12) as i32;
        out[8..12].copy_from_slice(&length.to_be_bytes());
        out[21..23].copy_from_slice(&(codec as i16).to_be_bytes());
        out[23..27].copy_from_slice(&(records_count - 1).to_be_bytes());
        out[57..61].copy_from_slice(&records_count.to_be_bytes());
        let crc = crate::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn check(batch: &[u8], max: usize) -> Result<()> {
        let header = validate_batch(batch, 1 << 30)?;
        check_compressed_records(batch, &header, max)
    }

    #[test]
    fn an_honest_compressed_batch_passes_for_every_codec() {
        let big = vec![7u8; 200_000];
        for id in 1..=4 {
            let codec = Codec::from_id(id).unwrap();
            let batch = compressed(codec, &[b"a", &big, b"ccc"], 3);
            check(&batch, 64 << 20).unwrap_or_else(|e| panic!("codec {id}: {e}"));
        }
    }

    #[test]
    fn a_lying_record_count_is_an_invalid_record_for_every_codec() {
        for id in 1..=4 {
            let codec = Codec::from_id(id).unwrap();
            for claimed in [1, 3, i32::MAX] {
                let error = check(&compressed(codec, &[b"one", b"two"], claimed), 64 << 20).unwrap_err();
                assert_eq!(
                    error.code(),
                    "INVALID_RECORD",
                    "codec {id} claimed {claimed}: {error}"
                );
                assert!(error.to_string().contains("recordsCount"), "{error}");
            }
        }
    }

    #[test]
    fn output_past_the_cap_is_message_too_large_and_garbage_is_corrupt() {
        let big = vec![0u8; 1 << 20];
        let batch = compressed(Codec::Gzip, &[&big], 1);
        assert_eq!(check(&batch, 512 << 10).unwrap_err().code(), "MESSAGE_TOO_LARGE");
        let mut garbage = compressed(Codec::Gzip, &[b"x"], 1);
        let end = garbage.len();
        for byte in &mut garbage[61..end] {
            *byte ^= 0x5a;
        }
        let crc = crate::crc32c(&garbage[21..]);
        garbage[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(check(&garbage, 64 << 20).unwrap_err().code(), "CORRUPT_MESSAGE");
    }

    #[test]
    fn a_broken_record_inside_the_compressed_section_names_the_record() {
        let plain = encode(0, 1, 1000, &[b"one", b"two"]);
        let mut records = plain[61..].to_vec();
        let second = 1 + records[0] as usize / 2;
        records[second + 3] = 0x08; // second record's offsetDelta 1 -> 4
        let section = compress(Codec::Zstd, &records).unwrap();
        let mut out = plain[..61].to_vec();
        out.extend_from_slice(&section);
        let length = (out.len() - 12) as i32;
        out[8..12].copy_from_slice(&length.to_be_bytes());
        out[21..23].copy_from_slice(&(Codec::Zstd as i16).to_be_bytes());
        let crc = crate::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        let error = check(&out, 64 << 20).unwrap_err();
        assert!(error.to_string().contains("record 1: offsetDelta"), "{error}");
    }

    #[test]
    fn produce_validation_counts_except_what_the_plan_recompresses() {
        let honest = compressed(Codec::Lz4, &[b"a", b"b"], 2);
        let liar = compressed(Codec::Gzip, &[b"a", b"b"], i32::MAX);
        let both = [honest.clone(), liar.clone()].concat();
        let error = validate_produce_batches(&both, 1 << 20, None).unwrap_err();
        assert_eq!(error.code(), "INVALID_RECORD");
        assert!(error.to_string().contains("batch 1 at byte"), "{error}");
        // Recompressing gzip batches to zstd: the liar is left to the recompression.
        let plan = RecompressionPlan {
            codec: 4,
            threshold_bytes: 0,
        };
        assert_eq!(
            validate_produce_batches(&both, 1 << 20, Some(plan))
                .unwrap()
                .len(),
            2
        );
        // A plan that keeps the gzip batch (already the target codec) counts it.
        let keep = RecompressionPlan {
            codec: 1,
            threshold_bytes: 0,
        };
        assert!(validate_produce_batches(&both, 1 << 20, Some(keep)).is_err());
        assert_eq!(validate_produce_batches(&honest, 1 << 20, None).unwrap().len(), 1);
    }
}
