//! Kafka RecordBatch v2: header parsing, validation and record iteration.
//!
//! ```text
//! baseOffset: int64            @0
//! batchLength: int32           @8   bytes after this field (total = batchLength + 12)
//! partitionLeaderEpoch: int32  @12  goqueue: the Raft term of the entry
//! magic: int8                  @16  must be 2
//! crc: uint32                  @17  CRC32C over attributes .. end
//! attributes: int16            @21  bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
//! lastOffsetDelta: int32       @23
//! baseTimestamp: int64         @27
//! maxTimestamp: int64          @35
//! producerId: int64            @43
//! producerEpoch: int16         @51
//! baseSequence: int32          @53
//! recordsCount: int32          @57
//! records                      @61
//! ```

use crate::error::{Result, StorageError};
use crate::limits::{check_batch_size, BATCH_HEADER_BYTES, MAX_RECORDS_PER_BATCH};

/// Bytes of baseOffset + batchLength, which batchLength does not count.
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// First byte covered by the CRC (attributes).
pub const CRC_START: usize = 21;
/// Smallest possible record: length, attributes, timestampDelta, offsetDelta, key, value,
/// header count — one byte each.
pub const MIN_RECORD_BYTES: usize = 7;
/// Mask of the codec bits in `attributes`.
pub const CODEC_MASK: i16 = 0x07;
/// Attribute bit of control batches.
pub const CONTROL_FLAG: i16 = 0x20;

/// Fixed-position fields of a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Total bytes of the batch (header included).
    pub fn total_bytes(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD_BYTES
    }
    /// Offset of the batch's last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    /// Offset after the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    /// Codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn codec(&self) -> u8 {
        (self.attributes & CODEC_MASK) as u8
    }
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

/// Reads the 12-byte prefix: `(baseOffset, total bytes)`; `None` when fewer than 12 bytes remain
/// or batchLength is negative.
pub fn read_prefix(bytes: &[u8]) -> Option<(i64, usize)> {
    if bytes.len() < LOG_OVERHEAD_BYTES {
        return None;
    }
    let length = be_i32(bytes, 8);
    if length < 0 {
        return None;
    }
    Some((be_i64(bytes, 0), length as usize + LOG_OVERHEAD_BYTES))
}

/// Parses the header of the batch at the start of `bytes` without validating it.
/// Needs at least `BATCH_HEADER_BYTES` bytes.
pub fn parse_header(bytes: &[u8]) -> Result<BatchHeader> {
    if bytes.len() < BATCH_HEADER_BYTES {
        return Err(StorageError::CorruptMessage(format!(
            "buffer holds {} bytes, a batch header needs {BATCH_HEADER_BYTES}",
            bytes.len()
        )));
    }
    Ok(BatchHeader {
        base_offset: be_i64(bytes, 0),
        batch_length: be_i32(bytes, 8),
        partition_leader_epoch: be_i32(bytes, 12),
        magic: bytes[16] as i8,
        crc: u32::from_be_bytes(bytes[17..21].try_into().unwrap()),
        attributes: be_i16(bytes, 21),
        last_offset_delta: be_i32(bytes, 23),
        base_timestamp: be_i64(bytes, 27),
        max_timestamp: be_i64(bytes, 35),
        producer_id: be_i64(bytes, 43),
        producer_epoch: be_i16(bytes, 51),
        base_sequence: be_i32(bytes, 53),
        records_count: be_i32(bytes, 57),
    })
}

/// Validates the batch at the start of `bytes` and returns its header. Checks, in order:
/// header present, batchLength within bounds and within the buffer, size against
/// `max_batch_bytes`, magic 2, CRC32C, record count against lastOffsetDelta, and for
/// uncompressed batches the records section itself.
pub fn validate_batch(bytes: &[u8], max_batch_bytes: usize) -> Result<BatchHeader> {
    let header = parse_header(bytes)?;
    if header.batch_length < (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32 {
        return Err(StorageError::CorruptMessage(format!(
            "batchLength {} is below the minimum {}",
            header.batch_length,
            BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES
        )));
    }
    let total = header.total_bytes();
    check_batch_size(total, max_batch_bytes)?;
    if total > bytes.len() {
        return Err(StorageError::CorruptMessage(format!(
            "batchLength says {total} bytes but only {} remain (truncated batch)",
            bytes.len()
        )));
    }
    if header.magic != 2 {
        return Err(StorageError::CorruptMessage(format!(
            "magic is {}, expected 2",
            header.magic
        )));
    }
    let computed = crate::crc32c(&bytes[CRC_START..total]);
    if computed != header.crc {
        return Err(StorageError::CorruptMessage(format!(
            "crc is {:#010x} but attributes..end hash to {computed:#010x}",
            header.crc
        )));
    }
    if header.base_offset < 0 {
        return Err(StorageError::InvalidRecord(format!(
            "baseOffset {} is negative",
            header.base_offset
        )));
    }
    if header.records_count < 1 || header.records_count as i64 > MAX_RECORDS_PER_BATCH {
        return Err(StorageError::InvalidRecord(format!(
            "recordsCount {} must be at least 1",
            header.records_count
        )));
    }
    if header.last_offset_delta != header.records_count - 1 {
        return Err(StorageError::InvalidRecord(format!(
            "lastOffsetDelta {} does not match recordsCount {} (expected recordsCount - 1)",
            header.last_offset_delta, header.records_count
        )));
    }
    if header.codec() > 4 {
        return Err(StorageError::UnsupportedCompression(format!(
            "attributes name codec {}, known codecs are 0..4",
            header.codec()
        )));
    }
    if header.codec() == 0 {
        let records = &bytes[BATCH_HEADER_BYTES..total];
        if records.len() < header.records_count as usize * MIN_RECORD_BYTES {
            return Err(StorageError::InvalidRecord(format!(
                "recordsCount {} cannot fit in {} bytes of records",
                header.records_count,
                records.len()
            )));
        }
        check_records(records, header.records_count)?;
    }
    Ok(header)
}

/// Walks an uncompressed records section without building records: every record's length,
/// varints and byte strings must fit, offset deltas must count 0, 1, 2, ... and the section must
/// hold exactly `expected` records. Failures name the record and the field.
fn check_records(records: &[u8], expected: i32) -> Result<()> {
    let mut at = 0usize;
    let mut count = 0i32;
    while at < records.len() {
        let checked = skip_record(records, &mut at, count as i64);
        if let Err(reason) = checked {
            return Err(StorageError::InvalidRecord(format!("record {count}: {reason}")));
        }
        count += 1;
    }
    if count != expected {
        return Err(StorageError::InvalidRecord(format!(
            "recordsCount is {expected} but the records section holds {count}"
        )));
    }
    Ok(())
}

/// Zig-zag varint without allocation on failure.
#[inline]
fn varint(bytes: &[u8], at: &mut usize) -> std::result::Result<i64, &'static str> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at).ok_or("varint runs past the end")?;
        *at += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
        shift += 7;
        if shift > 63 {
            return Err("varint longer than 10 bytes");
        }
    }
}

#[inline]
fn skip_bytes(bytes: &[u8], at: &mut usize, nullable: bool) -> std::result::Result<(), &'static str> {
    let length = varint(bytes, at)?;
    if length < 0 {
        return if nullable {
            Ok(())
        } else {
            Err("header key is null")
        };
    }
    let end = at.checked_add(length as usize).filter(|end| *end <= bytes.len());
    *at = end.ok_or("a key, value or header runs past the record")?;
    Ok(())
}

fn skip_record(records: &[u8], at: &mut usize, offset_delta: i64) -> std::result::Result<(), &'static str> {
    let length = varint(records, at)?;
    let end = at
        .checked_add(length as usize)
        .filter(|end| length > 0 && *end <= records.len())
        .ok_or("record length runs past the records section")?;
    let body = &records[..end];
    let mut cursor = *at + 1; // attributes
    varint(body, &mut cursor)?; // timestampDelta
    if varint(body, &mut cursor)? != offset_delta {
        return Err("offsetDelta does not count up from 0");
    }
    skip_bytes(body, &mut cursor, true)?; // key
    skip_bytes(body, &mut cursor, true)?; // value
    let headers = varint(body, &mut cursor)?;
    if headers < 0 || headers as usize > end - cursor {
        return Err("headers count is impossible");
    }
    for _ in 0..headers {
        skip_bytes(body, &mut cursor, false)?;
        skip_bytes(body, &mut cursor, true)?;
    }
    if cursor != end {
        return Err("record length does not match its fields");
    }
    *at = end;
    Ok(())
}

/// Validates every batch in `bytes` (one or more concatenated, nothing else). All-or-nothing.
pub fn validate_batches(bytes: &[u8], max_batch_bytes: usize) -> Result<Vec<BatchHeader>> {
    let mut headers = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = validate_batch(&bytes[at..], max_batch_bytes)
            .map_err(|e| with_batch_position(e, headers.len(), at))?;
        at += header.total_bytes();
        headers.push(header);
    }
    if headers.is_empty() {
        return Err(StorageError::CorruptMessage("buffer holds no batch".into()));
    }
    Ok(headers)
}

/// Adds "batch N at byte B" to an error message so a caller knows which batch failed.
pub(crate) fn with_batch_position(error: StorageError, batch: usize, position: usize) -> StorageError {
    let prefix = format!("batch {batch} at byte {position}: ");
    match error {
        StorageError::CorruptMessage(m) => StorageError::CorruptMessage(prefix + &m),
        StorageError::InvalidRecord(m) => StorageError::InvalidRecord(prefix + &m),
        StorageError::MessageTooLarge(m) => StorageError::MessageTooLarge(prefix + &m),
        StorageError::InvalidOffset(m) => StorageError::InvalidOffset(prefix + &m),
        StorageError::UnsupportedCompression(m) => StorageError::UnsupportedCompression(prefix + &m),
        other => other,
    }
}

/// Writes `baseOffset` and `partitionLeaderEpoch` in place. Both precede the CRC's range, so the
/// CRC stays valid.
pub fn stamp(bytes: &mut [u8], base_offset: i64, partition_leader_epoch: i32) {
    bytes[0..8].copy_from_slice(&base_offset.to_be_bytes());
    bytes[12..16].copy_from_slice(&partition_leader_epoch.to_be_bytes());
}

/// One record's header and payload slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

/// Iterates the records of an (uncompressed or decompressed) records section.
pub struct RecordIter<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> RecordIter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        RecordIter {
            bytes,
            at: 0,
            failed: false,
        }
    }
}

/// Reads a zig-zag varint (Kafka `varint`/`varlong`).
fn read_varlong(bytes: &[u8], at: &mut usize, field: &str) -> Result<i64> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let Some(&byte) = bytes.get(*at) else {
            return Err(StorageError::InvalidRecord(format!(
                "{field}: varint runs past the end"
            )));
        };
        *at += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err(StorageError::InvalidRecord(format!(
                "{field}: varint longer than 10 bytes"
            )));
        }
    }
    Ok(((value >> 1) as i64) ^ -((value & 1) as i64))
}

fn read_bytes<'a>(bytes: &'a [u8], at: &mut usize, field: &str) -> Result<Option<&'a [u8]>> {
    let length = read_varlong(bytes, at, field)?;
    if length < 0 {
        return Ok(None);
    }
    let end = at
        .checked_add(length as usize)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| {
            StorageError::InvalidRecord(format!("{field}: length {length} runs past the record"))
        })?;
    let slice = &bytes[*at..end];
    *at = end;
    Ok(Some(slice))
}

impl<'a> RecordIter<'a> {
    fn read_record(&mut self) -> Result<Record<'a>> {
        let length = read_varlong(self.bytes, &mut self.at, "record length")?;
        if length < 0 || self.at + length as usize > self.bytes.len() {
            return Err(StorageError::InvalidRecord(format!(
                "record length {length} runs past the records section"
            )));
        }
        let body = &self.bytes[self.at..self.at + length as usize];
        self.at += length as usize;
        let mut at = 0;
        let Some(&attributes) = body.first() else {
            return Err(StorageError::InvalidRecord("record is empty".into()));
        };
        at += 1;
        let timestamp_delta = read_varlong(body, &mut at, "timestampDelta")?;
        let offset_delta = read_varlong(body, &mut at, "offsetDelta")?;
        let key = read_bytes(body, &mut at, "key")?;
        let value = read_bytes(body, &mut at, "value")?;
        let count = read_varlong(body, &mut at, "headers count")?;
        if count < 0 || count as usize > body.len() {
            return Err(StorageError::InvalidRecord(format!(
                "headers count {count} is impossible"
            )));
        }
        let mut headers = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let key = read_bytes(body, &mut at, "header key")?
                .ok_or_else(|| StorageError::InvalidRecord("header key is null".into()))?;
            let value = read_bytes(body, &mut at, "header value")?;
            headers.push((key, value));
        }
        if at != body.len() {
            return Err(StorageError::InvalidRecord(format!(
                "record length {length} leaves {} unread bytes",
                body.len() - at
            )));
        }
        Ok(Record {
            attributes: attributes as i8,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let result = self.read_record();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

#[cfg(test)]
pub(crate) mod test_batch {
    //! A tiny RecordBatch v2 encoder for tests.

    fn put_varlong(out: &mut Vec<u8>, value: i64) {
        let mut v = ((value << 1) ^ (value >> 63)) as u64;
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// A batch of `values.len()` records with the given offset, term and base timestamp.
    pub fn encode(base_offset: i64, term: i32, timestamp: i64, values: &[&[u8]]) -> Vec<u8> {
        let mut records = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let mut body = vec![0u8];
            put_varlong(&mut body, i as i64);
            put_varlong(&mut body, i as i64);
            put_varlong(&mut body, -1);
            put_varlong(&mut body, value.len() as i64);
            body.extend_from_slice(value);
            put_varlong(&mut body, 0);
            put_varlong(&mut records, body.len() as i64);
            records.extend_from_slice(&body);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&base_offset.to_be_bytes());
        out.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
        out.extend_from_slice(&term.to_be_bytes());
        out.push(2);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes());
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&(timestamp + values.len() as i64 - 1).to_be_bytes());
        out.extend_from_slice(&(-1i64).to_be_bytes());
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out.extend_from_slice(&(-1i32).to_be_bytes());
        out.extend_from_slice(&(values.len() as i32).to_be_bytes());
        out.extend_from_slice(&records);
        let crc = crate::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_batch::encode;
    use super::*;

    #[test]
    fn a_valid_batch_parses_and_its_records_iterate() {
        let batch = encode(5, 3, 1000, &[b"a", b"bc"]);
        let header = validate_batch(&batch, 1 << 20).unwrap();
        assert_eq!(header.base_offset, 5);
        assert_eq!(header.partition_leader_epoch, 3);
        assert_eq!(header.records_count, 2);
        let records: Vec<_> = RecordIter::new(&batch[61..]).map(|r| r.unwrap()).collect();
        assert_eq!(records[1].value, Some(&b"bc"[..]));
        assert_eq!(records[0].key, None);
    }

    #[test]
    fn a_broken_records_section_is_an_invalid_record_naming_the_record() {
        let mut batch = encode(0, 0, 1000, &[b"one", b"two"]);
        let second = 61 + 1 + batch[61] as usize / 2; // first record: length varint + body
        batch[second + 3] = 0x08; // second record's offsetDelta 1 -> 4
        let crc = crate::crc32c(&batch[21..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        let error = validate_batch(&batch, 1 << 20).unwrap_err();
        assert_eq!(error.code(), "INVALID_RECORD");
        assert!(error.to_string().contains("record 1: offsetDelta"), "{error}");
        let mut short = encode(0, 0, 1000, &[b"one"]);
        short[61] = 0x7e; // record length 63 > what remains
        let crc = crate::crc32c(&short[21..]);
        short[17..21].copy_from_slice(&crc.to_be_bytes());
        let error = validate_batch(&short, 1 << 20).unwrap_err();
        assert!(error.to_string().contains("record 0: record length"), "{error}");
    }

    #[test]
    fn stamping_keeps_the_crc_valid() {
        let mut batch = encode(0, 0, 1000, &[b"x"]);
        stamp(&mut batch, 77, 9);
        let header = validate_batch(&batch, 1 << 20).unwrap();
        assert_eq!((header.base_offset, header.partition_leader_epoch), (77, 9));
    }

    #[test]
    fn each_kind_of_damage_gets_its_own_error() {
        let batch = encode(0, 0, 1000, &[b"hello"]);
        let mut bad_crc = batch.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(
            matches!(validate_batch(&bad_crc, 1 << 20), Err(StorageError::CorruptMessage(m)) if m.contains("crc"))
        );
        let mut bad_magic = batch.clone();
        bad_magic[16] = 1;
        assert!(
            matches!(validate_batch(&bad_magic, 1 << 20), Err(StorageError::CorruptMessage(m)) if m.contains("magic"))
        );
        assert!(matches!(
            validate_batch(&batch[..batch.len() - 1], 1 << 20),
            Err(StorageError::CorruptMessage(m)) if m.contains("truncated")
        ));
        assert!(matches!(
            validate_batch(&batch, 64),
            Err(StorageError::MessageTooLarge(_))
        ));
        assert!(validate_batches(&[batch.clone(), batch].concat(), 1 << 20).is_ok());
    }
}
