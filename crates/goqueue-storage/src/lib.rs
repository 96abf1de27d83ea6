//! goqueue storage core: Kafka RecordBatch v2, CRC32C, codecs and the segmented log.

/// CRC32C (Castagnoli) of `bytes`, hardware accelerated where the CPU allows.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_check_value() {
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    }
}
