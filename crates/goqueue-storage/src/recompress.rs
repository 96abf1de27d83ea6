//! Broker-side recompression: one RecordBatch v2 rewritten with another codec, as Kafka's
//! `compression.type` asks for. The header keeps every field (baseOffset, partitionLeaderEpoch,
//! lastOffsetDelta, timestamps, producer fields, recordsCount); only batchLength, the codec bits
//! of `attributes` and the CRC32C change. Control and transactional batches are returned as they
//! are: Kafka never recompresses control batches, and a transaction's batches keep their bytes.

use crate::compression::{
    compress, decompress_within, max_decompressed_bytes, Codec, MAX_DECOMPRESSED_BYTES,
};
use crate::error::{Result, StorageError};
use crate::limits::{check_batch_size, BATCH_HEADER_BYTES, MAX_BATCH_BYTES_CEILING};
use crate::record_batch::{
    validate_batch, RecordIter, CODEC_MASK, CONTROL_FLAG, CRC_START, LOG_OVERHEAD_BYTES,
};

/// Attribute bit of transactional batches.
pub const TRANSACTIONAL_FLAG: i16 = 0x10;

/// Whether `recompress_batch` leaves a batch with these attributes as it is, whatever the target.
pub fn keeps_codec(attributes: i16) -> bool {
    attributes & (CONTROL_FLAG | TRANSACTIONAL_FLAG) != 0
}

/// `batch` (exactly one valid RecordBatch v2) with its records section stored with `codec`.
/// See `recompress_batch_within`; the only size bound on the result is Kafka's int32
/// batchLength, and the records decompress to at most `MAX_DECOMPRESSED_BYTES` (64 MiB).
pub fn recompress_batch(batch: &[u8], codec: Codec) -> Result<Vec<u8>> {
    recompress(batch, codec, MAX_BATCH_BYTES_CEILING, MAX_DECOMPRESSED_BYTES)
}

/// `batch` (exactly one valid RecordBatch v2) with its records section stored with `codec`:
/// the records are decompressed when needed, checked (every record parses, offset deltas count
/// 0, 1, 2, ..., their number is recordsCount), compressed with `codec` and given a new header
/// and CRC32C; the result is validated again before it is returned. A batch already in `codec`,
/// a control batch and a transactional batch come back unchanged (copied). A result larger than
/// `max_batch_bytes` is a `MessageTooLarge` error, and so are records that decompress past
/// `max_decompressed_bytes(max_batch_bytes)`; the input is never modified.
pub fn recompress_batch_within(batch: &[u8], codec: Codec, max_batch_bytes: usize) -> Result<Vec<u8>> {
    let max_decompressed = max_decompressed_bytes(max_batch_bytes.min(MAX_BATCH_BYTES_CEILING));
    recompress(batch, codec, max_batch_bytes, max_decompressed)
}

fn recompress(
    batch: &[u8],
    codec: Codec,
    max_batch_bytes: usize,
    max_decompressed: usize,
) -> Result<Vec<u8>> {
    let header = validate_batch(batch, MAX_BATCH_BYTES_CEILING)?;
    if header.total_bytes() != batch.len() {
        return Err(StorageError::InvalidArgument(format!(
            "recompression takes one batch: batchLength gives {} bytes but the buffer holds {}",
            header.total_bytes(),
            batch.len()
        )));
    }
    if header.codec() == codec as u8 || keeps_codec(header.attributes) {
        check_batch_size(batch.len(), max_batch_bytes)?;
        return Ok(batch.to_vec());
    }
    let source = Codec::from_id(header.codec() as u32)?;
    let packed = &batch[BATCH_HEADER_BYTES..];
    let decompressed;
    let records: &[u8] = if source == Codec::None {
        packed
    } else {
        decompressed = decompress_within(source, packed, max_decompressed)?;
        &decompressed
    };
    check_records(records, header.records_count)?;
    let section = match codec {
        Codec::None => None,
        _ => Some(compress(codec, records)?),
    };
    let section: &[u8] = section.as_deref().unwrap_or(records);
    let total = BATCH_HEADER_BYTES + section.len();
    check_batch_size(total, max_batch_bytes.min(MAX_BATCH_BYTES_CEILING)).map_err(|_| {
        StorageError::MessageTooLarge(format!(
            "batch recompressed from codec {} to codec {} takes {total} bytes, above maxBatchBytes {}",
            source as u8,
            codec as u8,
            max_batch_bytes.min(MAX_BATCH_BYTES_CEILING)
        ))
    })?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&batch[..BATCH_HEADER_BYTES]);
    out.extend_from_slice(section);
    let batch_length = (total - LOG_OVERHEAD_BYTES) as i32;
    out[8..12].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = (header.attributes & !CODEC_MASK) | codec as i16;
    out[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crate::crc32c(&out[CRC_START..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    let written = validate_batch(&out, max_batch_bytes)?;
    debug_assert_eq!(written.records_count, header.records_count);
    Ok(out)
}

/// Every record of a (decompressed) records section parses, offset deltas count up from 0 and
/// there are exactly `expected` of them.
fn check_records(records: &[u8], expected: i32) -> Result<()> {
    let mut count: i64 = 0;
    for record in RecordIter::new(records) {
        let record = record.map_err(|e| StorageError::InvalidRecord(format!("record {count}: {e}")))?;
        if record.offset_delta != count {
            return Err(StorageError::InvalidRecord(format!(
                "record {count}: offsetDelta {} does not count up from 0",
                record.offset_delta
            )));
        }
        count += 1;
    }
    if count != expected as i64 {
        return Err(StorageError::InvalidRecord(format!(
            "recordsCount is {expected} but the records section holds {count}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::decompress;
    use crate::record_batch::{parse_header, test_batch::encode, validate_batch, RecordIter};

    const CODECS: [Codec; 5] = [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];

    fn values() -> Vec<Vec<u8>> {
        (0..50u32)
            .map(|i| format!("message {i} {}", "payload ".repeat(i as usize % 7)).into_bytes())
            .collect()
    }

    /// A batch of `values` with producer fields set, at offset 40, epoch 6.
    fn producer_batch(values: &[Vec<u8>]) -> Vec<u8> {
        let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
        let mut batch = encode(40, 6, 1_700_000_000_000, &refs);
        batch[43..51].copy_from_slice(&77i64.to_be_bytes());
        batch[51..53].copy_from_slice(&3i16.to_be_bytes());
        batch[53..57].copy_from_slice(&12i32.to_be_bytes());
        let crc = crate::crc32c(&batch[CRC_START..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        batch
    }

    fn record_values(batch: &[u8]) -> Vec<(i64, i64, Option<Vec<u8>>)> {
        let header = parse_header(batch).unwrap();
        let codec = Codec::from_id(header.codec() as u32).unwrap();
        let records = decompress(codec, &batch[BATCH_HEADER_BYTES..]).unwrap();
        RecordIter::new(&records)
            .map(|r| {
                let r = r.unwrap();
                (r.offset_delta, r.timestamp_delta, r.value.map(|v| v.to_vec()))
            })
            .collect()
    }

    #[test]
    fn every_codec_pair_round_trips_with_a_valid_crc_and_identical_records() {
        let values = values();
        let plain = producer_batch(&values);
        let expected = record_values(&plain);
        assert_eq!(expected.len(), values.len());
        for from in CODECS {
            let source = recompress_batch(&plain, from).unwrap();
            assert_eq!(parse_header(&source).unwrap().codec(), from as u8);
            for to in CODECS {
                let out = recompress_batch(&source, to).unwrap();
                let before = validate_batch(&source, 1 << 20).unwrap();
                let after = validate_batch(&out, 1 << 20).unwrap();
                assert_eq!(after.codec(), to as u8, "{from:?} -> {to:?}");
                assert_eq!(after.crc, crate::crc32c(&out[CRC_START..]));
                assert_eq!(after.total_bytes(), out.len());
                assert_eq!(
                    (
                        after.base_offset,
                        after.partition_leader_epoch,
                        after.last_offset_delta,
                        after.base_timestamp,
                        after.max_timestamp,
                        after.producer_id,
                        after.producer_epoch,
                        after.base_sequence,
                        after.records_count,
                        after.attributes & !CODEC_MASK,
                    ),
                    (
                        before.base_offset,
                        before.partition_leader_epoch,
                        before.last_offset_delta,
                        before.base_timestamp,
                        before.max_timestamp,
                        before.producer_id,
                        before.producer_epoch,
                        before.base_sequence,
                        before.records_count,
                        before.attributes & !CODEC_MASK,
                    ),
                    "{from:?} -> {to:?}"
                );
                assert_eq!((after.base_offset, after.producer_id), (40, 77));
                assert_eq!(record_values(&out), expected, "{from:?} -> {to:?}");
                if from == to {
                    assert_eq!(out, source, "same codec leaves the bytes alone");
                }
            }
        }
    }

    #[test]
    fn compressing_repetitive_records_makes_the_batch_smaller() {
        let values: Vec<Vec<u8>> = (0..200).map(|_| b"the same line again ".repeat(5)).collect();
        let plain = producer_batch(&values);
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let packed = recompress_batch(&plain, codec).unwrap();
            assert!(
                packed.len() * 4 < plain.len(),
                "{codec:?}: {} of {}",
                packed.len(),
                plain.len()
            );
        }
    }

    #[test]
    fn control_and_transactional_batches_are_left_untouched() {
        for flag in [CONTROL_FLAG, TRANSACTIONAL_FLAG] {
            let mut batch = producer_batch(&values());
            let attributes = i16::from_be_bytes([batch[21], batch[22]]) | flag;
            batch[21..23].copy_from_slice(&attributes.to_be_bytes());
            let crc = crate::crc32c(&batch[CRC_START..]);
            batch[17..21].copy_from_slice(&crc.to_be_bytes());
            for to in CODECS {
                assert_eq!(
                    recompress_batch(&batch, to).unwrap(),
                    batch,
                    "flag {flag:#x} to {to:?}"
                );
            }
            assert!(keeps_codec(attributes));
        }
    }

    #[test]
    fn a_result_above_the_size_limit_is_rejected_cleanly() {
        let values: Vec<Vec<u8>> = (0..100).map(|_| vec![b'z'; 200]).collect();
        let plain = producer_batch(&values);
        let packed = recompress_batch(&plain, Codec::Zstd).unwrap();
        assert!(packed.len() < 1024 && plain.len() > 20_000);
        let error = recompress_batch_within(&packed, Codec::None, 4096).unwrap_err();
        assert_eq!(error.code(), "MESSAGE_TOO_LARGE");
        assert!(error.to_string().contains("codec 4 to codec 0"), "{error}");
        assert!(recompress_batch_within(&packed, Codec::None, plain.len()).is_ok());
    }

    /// A zstd batch of `count` records of 1 MiB of zeros each: a few KiB on the wire.
    fn zeros_batch(count: usize) -> Vec<u8> {
        let zeros = vec![0u8; 1 << 20];
        let refs: Vec<&[u8]> = (0..count).map(|_| zeros.as_slice()).collect();
        recompress_batch(&encode(0, 0, 1_700_000_000_000, &refs), Codec::Zstd).unwrap()
    }

    #[test]
    fn a_small_batch_expanding_past_max_decompressed_bytes_is_refused_and_one_just_under_is_recompressed() {
        let max_batch_bytes = 1 << 20;
        assert_eq!(max_decompressed_bytes(max_batch_bytes), MAX_DECOMPRESSED_BYTES);
        let bomb = zeros_batch(70);
        assert!(
            validate_batch(&bomb, max_batch_bytes).is_ok(),
            "the bomb fits maxBatchBytes"
        );
        let error = recompress_batch_within(&bomb, Codec::Lz4, max_batch_bytes).unwrap_err();
        assert_eq!(error.code(), "MESSAGE_TOO_LARGE");
        assert!(error.to_string().contains("max_decompressed_bytes"), "{error}");
        let fine = zeros_batch(60);
        let out = recompress_batch_within(&fine, Codec::Lz4, max_batch_bytes).unwrap();
        assert_eq!(parse_header(&out).unwrap().records_count, 60);
        // A larger batch limit allows proportionally more (16x), never more than 1 GiB.
        assert_eq!(max_decompressed_bytes(8 << 20), 128 << 20);
        assert_eq!(max_decompressed_bytes(usize::MAX), 1 << 30);
    }

    #[test]
    fn bad_input_is_refused_with_the_storage_error_codes() {
        let plain = producer_batch(&values());
        let mut bad_crc = plain.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert_eq!(
            recompress_batch(&bad_crc, Codec::Zstd).unwrap_err().code(),
            "CORRUPT_MESSAGE"
        );
        let two = [plain.clone(), plain.clone()].concat();
        assert_eq!(
            recompress_batch(&two, Codec::Zstd).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        // A gzip batch whose decompressed records hold one record fewer than recordsCount says.
        let mut short = recompress_batch(&plain, Codec::None).unwrap();
        let count = i32::from_be_bytes(short[57..61].try_into().unwrap());
        short[57..61].copy_from_slice(&(count + 1).to_be_bytes());
        short[23..27].copy_from_slice(&count.to_be_bytes());
        let gz = compress(Codec::Gzip, &short[BATCH_HEADER_BYTES..]).unwrap();
        let mut lying = short[..BATCH_HEADER_BYTES].to_vec();
        lying.extend_from_slice(&gz);
        let length = (lying.len() - LOG_OVERHEAD_BYTES) as i32;
        lying[8..12].copy_from_slice(&length.to_be_bytes());
        lying[21..23].copy_from_slice(&1i16.to_be_bytes());
        let crc = crate::crc32c(&lying[CRC_START..]);
        lying[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(
            validate_batch(&lying, 1 << 20).is_ok(),
            "compressed sections pass validation"
        );
        let error = recompress_batch(&lying, Codec::Zstd).unwrap_err();
        assert_eq!(error.code(), "INVALID_RECORD");
        assert!(error.to_string().contains("recordsCount"), "{error}");
    }
}
