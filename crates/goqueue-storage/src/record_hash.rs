//! Content hashes of a batch's records, for the broker's content-hash de-duplication
//! (`deduplication_enabled`): a record is the same as an earlier one when its key, value and
//! headers are byte-for-byte equal. The hash is an FNV-style multiply-xor over a length-prefixed
//! encoding of those fields (a null differs from an empty byte string), taken 8 bytes at a time
//! with a final avalanche, so two different records collide only by chance. Timestamps and offsets
//! are not part of it: a producer's retry carries new ones.

use crate::compression::{decompress_within, max_decompressed_bytes, Codec};
use crate::error::{Result, StorageError};
use crate::limits::BATCH_HEADER_BYTES;
use crate::record_batch::{parse_header, Record, RecordIter};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

struct Fnv(u64);

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.0 ^= u64::from_le_bytes(word.try_into().unwrap());
            self.0 = self.0.wrapping_mul(FNV_PRIME).rotate_left(29);
        }
        for &byte in words.remainder() {
            self.0 ^= byte as u64;
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
    /// Spreads every input bit over the whole result (the low bits the broker keys on too).
    fn finish(mut self) -> u64 {
        self.0 ^= self.0 >> 33;
        self.0 = self.0.wrapping_mul(0xff51_afd7_ed55_8ccd);
        self.0 ^= self.0 >> 33;
        self.0 = self.0.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        self.0 ^ (self.0 >> 33)
    }
    /// A field as its length (or -1 for null) then its bytes.
    fn field(&mut self, field: Option<&[u8]>) {
        match field {
            None => self.bytes(&(-1i64).to_be_bytes()),
            Some(bytes) => {
                self.bytes(&(bytes.len() as i64).to_be_bytes());
                self.bytes(bytes);
            }
        }
    }
}

/// The content hash of one record (key, value, headers in order).
pub fn record_hash(record: &Record<'_>) -> u64 {
    let mut hash = Fnv(FNV_OFFSET);
    hash.field(record.key);
    hash.field(record.value);
    hash.bytes(&(record.headers.len() as i64).to_be_bytes());
    for (name, value) in &record.headers {
        hash.field(Some(name));
        hash.field(*value);
    }
    hash.finish()
}

/// The content hash of every record of one RecordBatch v2, in order; a compressed batch is
/// decompressed within `max_decompressed_bytes(max_batch_bytes)`.
pub fn record_hashes(batch: &[u8], max_batch_bytes: usize) -> Result<Vec<u64>> {
    let header = parse_header(batch)?;
    let end = header.total_bytes();
    if end > batch.len() || end < BATCH_HEADER_BYTES {
        return Err(StorageError::InvalidRecord(format!(
            "batch of {end} bytes in a buffer of {}",
            batch.len()
        )));
    }
    let section = &batch[BATCH_HEADER_BYTES..end];
    let decompressed;
    let records: &[u8] = match Codec::from_id(header.codec() as u32)? {
        Codec::None => section,
        codec => {
            decompressed = decompress_within(codec, section, max_decompressed_bytes(max_batch_bytes))?;
            &decompressed
        }
    };
    RecordIter::new(records)
        .map(|record| record.map(|record| record_hash(&record)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::compress;
    use crate::record_batch::test_batch::encode;

    #[test]
    fn equal_records_hash_equal_and_the_offset_and_time_do_not_matter() {
        let first = encode(0, 1, 1_000, &[b"a", b"b", b"a"]);
        let later = encode(500, 7, 9_000, &[b"a"]);
        let hashes = record_hashes(&first, 1 << 20).unwrap();
        assert_eq!(hashes.len(), 3);
        assert_eq!(hashes[0], hashes[2]);
        assert_ne!(hashes[0], hashes[1]);
        assert_eq!(record_hashes(&later, 1 << 20).unwrap(), vec![hashes[0]]);
    }

    #[test]
    fn null_and_empty_differ_and_headers_count() {
        let plain = Record {
            attributes: 0,
            timestamp_delta: 0,
            offset_delta: 0,
            key: None,
            value: Some(b""),
            headers: vec![],
        };
        let empty_key = Record {
            key: Some(b""),
            ..plain.clone()
        };
        let with_header = Record {
            headers: vec![(b"h", None)],
            ..plain.clone()
        };
        assert_ne!(record_hash(&plain), record_hash(&empty_key));
        assert_ne!(record_hash(&plain), record_hash(&with_header));
    }

    #[test]
    fn a_compressed_batch_hashes_like_its_records_uncompressed() {
        let plain = encode(0, 1, 1_000, &[b"x", b"y"]);
        let mut gzip = plain[..BATCH_HEADER_BYTES].to_vec();
        gzip.extend(compress(Codec::Gzip, &plain[BATCH_HEADER_BYTES..]).unwrap());
        let length = (gzip.len() - 12) as i32;
        gzip[8..12].copy_from_slice(&length.to_be_bytes());
        gzip[21..23].copy_from_slice(&(Codec::Gzip as i16).to_be_bytes());
        assert_eq!(
            record_hashes(&gzip, 1 << 20).unwrap(),
            record_hashes(&plain, 1 << 20).unwrap()
        );
    }

    #[test]
    fn a_truncated_batch_is_an_error_not_a_panic() {
        let batch = encode(0, 1, 1_000, &[b"abc"]);
        assert!(record_hashes(&batch[..batch.len() - 2], 1 << 20).is_err());
        assert!(record_hashes(&batch[..10], 1 << 20).is_err());
    }
}
