//! Kafka's batch codecs through well-kept crates: gzip (flate2), snappy (snap; Xerial framing as
//! the Java client writes it), lz4 (lz4_flex frame format) and zstd.

use std::io::{Read, Write};

use crate::error::{Result, StorageError};

/// Kafka codec ids (the low three bits of a batch's attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    /// The codec with Kafka id `id`.
    pub fn from_id(id: u32) -> Result<Codec> {
        Ok(match id {
            0 => Codec::None,
            1 => Codec::Gzip,
            2 => Codec::Snappy,
            3 => Codec::Lz4,
            4 => Codec::Zstd,
            other => {
                return Err(StorageError::UnsupportedCompression(format!(
                    "codec {other} is not one of 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd"
                )))
            }
        })
    }
}

/// Largest output `decompress` produces: bounds the memory a hostile batch can claim.
pub const MAX_DECOMPRESSED_BYTES: usize = 1 << 30;

/// Magic of the Xerial snappy-java stream format.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Header: magic, version 1, minimum compatible version 1.
const XERIAL_HEADER_BYTES: usize = 16;
/// Uncompressed bytes per Xerial block, as snappy-java's default.
const XERIAL_BLOCK_BYTES: usize = 32 * 1024;
/// Magic chunk of the snappy framing format ("stream identifier").
const SNAPPY_FRAMED_MAGIC: [u8; 10] = [0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y'];

fn corrupt(codec: &str, error: impl std::fmt::Display) -> StorageError {
    StorageError::CorruptMessage(format!("{codec} data does not decompress: {error}"))
}

/// Compresses `data` with `codec`.
pub fn compress(codec: Codec, data: &[u8]) -> Result<Vec<u8>> {
    match codec {
        Codec::None => Ok(data.to_vec()),
        Codec::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(data).map_err(|e| corrupt("gzip", e))?;
            encoder.finish().map_err(|e| corrupt("gzip", e))
        }
        Codec::Snappy => {
            let mut out = Vec::with_capacity(XERIAL_HEADER_BYTES + data.len() / 2 + 64);
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut encoder = snap::raw::Encoder::new();
            for block in data.chunks(XERIAL_BLOCK_BYTES) {
                let compressed = encoder.compress_vec(block).map_err(|e| corrupt("snappy", e))?;
                out.extend_from_slice(&(compressed.len() as i32).to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            Ok(out)
        }
        Codec::Lz4 => {
            let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
            encoder.write_all(data).map_err(|e| corrupt("lz4", e))?;
            encoder.finish().map_err(|e| corrupt("lz4", e))
        }
        Codec::Zstd => zstd::bulk::compress(data, 3).map_err(|e| corrupt("zstd", e)),
    }
}

fn read_bounded(reader: impl Read, codec: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(MAX_DECOMPRESSED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > MAX_DECOMPRESSED_BYTES {
        return Err(StorageError::CorruptMessage(format!(
            "{codec} data expands past {MAX_DECOMPRESSED_BYTES} bytes"
        )));
    }
    Ok(out)
}

/// Decompresses `data` compressed with `codec`. Snappy accepts the Xerial framing, the snappy
/// framing format and a raw snappy block.
pub fn decompress(codec: Codec, data: &[u8]) -> Result<Vec<u8>> {
    match codec {
        Codec::None => Ok(data.to_vec()),
        Codec::Gzip => read_bounded(flate2::read::GzDecoder::new(data), "gzip"),
        Codec::Snappy => {
            if data.starts_with(&XERIAL_MAGIC) {
                decompress_xerial(data)
            } else if data.starts_with(&SNAPPY_FRAMED_MAGIC) {
                read_bounded(snap::read::FrameDecoder::new(data), "snappy")
            } else {
                decompress_snappy_block(data)
            }
        }
        Codec::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(data), "lz4"),
        Codec::Zstd => read_bounded(
            zstd::stream::read::Decoder::new(data).map_err(|e| corrupt("zstd", e))?,
            "zstd",
        ),
    }
}

fn decompress_snappy_block(block: &[u8]) -> Result<Vec<u8>> {
    let length = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
    if length > MAX_DECOMPRESSED_BYTES {
        return Err(StorageError::CorruptMessage(format!(
            "snappy block claims {length} bytes, above {MAX_DECOMPRESSED_BYTES}"
        )));
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|e| corrupt("snappy", e))
}

fn decompress_xerial(data: &[u8]) -> Result<Vec<u8>> {
    if data.len() < XERIAL_HEADER_BYTES {
        return Err(corrupt("snappy", "xerial header is truncated"));
    }
    let mut out = Vec::new();
    let mut at = XERIAL_HEADER_BYTES;
    while at < data.len() {
        if data.len() - at < 4 {
            return Err(corrupt("snappy", "xerial block length is truncated"));
        }
        let length = i32::from_be_bytes(data[at..at + 4].try_into().unwrap());
        at += 4;
        if length < 0 || at + length as usize > data.len() {
            return Err(corrupt(
                "snappy",
                format!("xerial block of {length} bytes runs past the end"),
            ));
        }
        let block = decompress_snappy_block(&data[at..at + length as usize])?;
        at += length as usize;
        if out.len() + block.len() > MAX_DECOMPRESSED_BYTES {
            return Err(StorageError::CorruptMessage(format!(
                "snappy data expands past {MAX_DECOMPRESSED_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&block);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        for id in 0..=4 {
            let codec = Codec::from_id(id).unwrap();
            let packed = compress(codec, &data).unwrap();
            assert_eq!(decompress(codec, &packed).unwrap(), data, "codec {id}");
        }
        assert!(Codec::from_id(5).is_err());
    }

    #[test]
    fn snappy_output_is_xerial_framed_and_raw_and_framed_input_decompresses() {
        let data = b"hello hello hello hello snappy".repeat(100);
        assert!(compress(Codec::Snappy, &data).unwrap().starts_with(&XERIAL_MAGIC));
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress(Codec::Snappy, &raw).unwrap(), data);
        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        framed.write_all(&data).unwrap();
        assert_eq!(
            decompress(Codec::Snappy, &framed.into_inner().unwrap()).unwrap(),
            data
        );
    }

    #[test]
    fn garbage_is_a_corrupt_message() {
        for id in 1..=4 {
            let error = decompress(Codec::from_id(id).unwrap(), b"\x01\x02garbage!").unwrap_err();
            assert_eq!(error.code(), "CORRUPT_MESSAGE", "codec {id}");
        }
    }
}
