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

/// `max_decompressed_bytes` by default: the largest records section `decompress` produces. It
/// bounds the memory one hostile batch can claim (a few KiB of gzip or zstd can expand to
/// gigabytes). 64 times the default `maxBatchBytes` (1 MiB) leaves room for highly repetitive
/// real data; see `max_decompressed_bytes` for larger batch limits.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;
/// `max_decompressed_bytes` never goes above this, whatever `maxBatchBytes` says.
pub const MAX_DECOMPRESSED_BYTES_CEILING: usize = 1 << 30;
/// How many times `maxBatchBytes` a batch may expand to when that is more than the default.
pub const DECOMPRESSED_BYTES_PER_BATCH_BYTE: usize = 16;
/// Bytes read from a decoder at a time while decompressing.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// The decompressed-size cap for batches limited to `max_batch_bytes`: 16 times it, at least
/// `MAX_DECOMPRESSED_BYTES` (64 MiB) and at most `MAX_DECOMPRESSED_BYTES_CEILING` (1 GiB).
pub fn max_decompressed_bytes(max_batch_bytes: usize) -> usize {
    max_batch_bytes
        .saturating_mul(DECOMPRESSED_BYTES_PER_BATCH_BYTE)
        .clamp(MAX_DECOMPRESSED_BYTES, MAX_DECOMPRESSED_BYTES_CEILING)
}

fn too_large(codec: &str, what: impl std::fmt::Display, max_bytes: usize) -> StorageError {
    StorageError::MessageTooLarge(format!(
        "{codec} records {what}, above max_decompressed_bytes ({max_bytes} bytes)"
    ))
}

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

/// Room for `extra` more bytes in `out` without ever reserving past `max_bytes` in total (the
/// usual doubling could otherwise claim twice the cap).
fn reserve_within(out: &mut Vec<u8>, extra: usize, max_bytes: usize) {
    let needed = out.len() + extra;
    if needed > out.capacity() {
        let target = needed.max(out.capacity().saturating_mul(2)).min(max_bytes);
        out.reserve_exact(target - out.len());
    }
}

/// Reads `reader` to its end in chunks, failing as soon as the output would pass `max_bytes`:
/// neither the output nor the reads ever go past the cap.
fn read_bounded(mut reader: impl Read, codec: &str, max_bytes: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(codec, e)),
        };
        if out.len() + read > max_bytes {
            return Err(too_large(codec, "expand past the limit", max_bytes));
        }
        reserve_within(&mut out, read, max_bytes);
        out.extend_from_slice(&chunk[..read]);
    }
}

/// Decompresses `data` compressed with `codec`, at most `MAX_DECOMPRESSED_BYTES` (64 MiB) of
/// output. Snappy accepts the Xerial framing, the snappy framing format and a raw snappy block.
pub fn decompress(codec: Codec, data: &[u8]) -> Result<Vec<u8>> {
    decompress_within(codec, data, MAX_DECOMPRESSED_BYTES)
}

/// Decompresses `data` compressed with `codec` into at most `max_bytes`. The cap is enforced
/// while streaming (snappy blocks by their declared length before anything is allocated), so
/// a hostile input costs at most `max_bytes` of memory; more output is `MessageTooLarge`.
pub fn decompress_within(codec: Codec, data: &[u8], max_bytes: usize) -> Result<Vec<u8>> {
    match codec {
        Codec::None => {
            if data.len() > max_bytes {
                return Err(too_large(
                    "uncompressed",
                    format!("take {} bytes", data.len()),
                    max_bytes,
                ));
            }
            Ok(data.to_vec())
        }
        Codec::Gzip => read_bounded(flate2::read::GzDecoder::new(data), "gzip", max_bytes),
        Codec::Snappy => {
            if data.starts_with(&XERIAL_MAGIC) {
                decompress_xerial(data, max_bytes)
            } else if data.starts_with(&SNAPPY_FRAMED_MAGIC) {
                read_bounded(snap::read::FrameDecoder::new(data), "snappy", max_bytes)
            } else {
                decompress_snappy_block(data, max_bytes)
            }
        }
        Codec::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(data), "lz4", max_bytes),
        Codec::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(data).map_err(|e| corrupt("zstd", e))?;
            // A frame may ask for a window as large as 2 GiB; no frame whose output fits the cap
            // needs a window larger than the cap, so refuse those before the decoder allocates.
            decoder
                .window_log_max(window_log_for(max_bytes))
                .map_err(|e| corrupt("zstd", e))?;
            read_bounded(decoder, "zstd", max_bytes)
        }
    }
}

/// The smallest zstd window log (10 ..= 31) whose window holds `max_bytes`.
pub(crate) fn window_log_for(max_bytes: usize) -> u32 {
    let log = usize::BITS - max_bytes.saturating_sub(1).leading_zeros();
    log.clamp(10, 31)
}

fn decompress_snappy_block(block: &[u8], max_bytes: usize) -> Result<Vec<u8>> {
    let length = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
    if length > max_bytes {
        return Err(too_large(
            "snappy",
            format!("block claims {length} bytes"),
            max_bytes,
        ));
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|e| corrupt("snappy", e))
}

fn decompress_xerial(data: &[u8], max_bytes: usize) -> Result<Vec<u8>> {
    if data.len() < XERIAL_HEADER_BYTES {
        return Err(corrupt("snappy", "xerial header is truncated"));
    }
    let mut out = Vec::new();
    let mut decoder = snap::raw::Decoder::new();
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
        let block = &data[at..at + length as usize];
        at += length as usize;
        // The block's declared length is checked against what is left of the cap before any
        // of it is allocated; the decoder then writes straight into the output.
        let declared = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
        if out.len() + declared > max_bytes {
            return Err(too_large("snappy", "expand past the limit", max_bytes));
        }
        let start = out.len();
        reserve_within(&mut out, declared, max_bytes);
        out.resize(start + declared, 0);
        let written = decoder
            .decompress(block, &mut out[start..])
            .map_err(|e| corrupt("snappy", e))?;
        out.truncate(start + written);
    }
    Ok(out)
}

/// A reader of `data`'s decompressed bytes (for streaming consumers such as the record counter)
/// and the codec's name for messages. The decoders' own buffers are bounded (zstd's window by
/// `max_bytes`); a raw snappy block, which has no framing to stream, is decompressed whole within
/// `max_bytes`. The caller bounds the total it reads.
pub(crate) fn decoder(
    codec: Codec,
    data: &[u8],
    max_bytes: usize,
) -> Result<(Box<dyn Read + '_>, &'static str)> {
    Ok(match codec {
        Codec::None => (Box::new(data), "uncompressed"),
        // The bufread decoders read `data` in place (the read ones add a 32-128 KiB copy buffer).
        Codec::Gzip => (Box::new(flate2::bufread::GzDecoder::new(data)), "gzip"),
        Codec::Snappy => {
            if data.starts_with(&XERIAL_MAGIC) {
                if data.len() < XERIAL_HEADER_BYTES {
                    return Err(corrupt("snappy", "xerial header is truncated"));
                }
                let reader = XerialReader {
                    data,
                    at: XERIAL_HEADER_BYTES,
                    block: Vec::new(),
                    position: 0,
                    max_bytes,
                };
                (Box::new(reader), "snappy")
            } else if data.starts_with(&SNAPPY_FRAMED_MAGIC) {
                (Box::new(snap::read::FrameDecoder::new(data)), "snappy")
            } else {
                (
                    Box::new(std::io::Cursor::new(decompress_snappy_block(data, max_bytes)?)),
                    "snappy",
                )
            }
        }
        Codec::Lz4 => (Box::new(lz4_flex::frame::FrameDecoder::new(data)), "lz4"),
        Codec::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::with_buffer(data).map_err(|e| corrupt("zstd", e))?;
            decoder
                .window_log_max(window_log_for(max_bytes))
                .map_err(|e| corrupt("zstd", e))?;
            (Box::new(decoder), "zstd")
        }
    })
}

/// Streams a Xerial snappy stream one block at a time (a block is checked by its declared length
/// against `max_bytes` before it is allocated).
struct XerialReader<'a> {
    data: &'a [u8],
    at: usize,
    block: Vec<u8>,
    position: usize,
    max_bytes: usize,
}

impl Read for XerialReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
        while self.position == self.block.len() {
            if self.at == self.data.len() {
                return Ok(0);
            }
            if self.data.len() - self.at < 4 {
                return Err(invalid("xerial block length is truncated".into()));
            }
            let length = i32::from_be_bytes(self.data[self.at..self.at + 4].try_into().unwrap());
            self.at += 4;
            if length < 0 || self.at + length as usize > self.data.len() {
                return Err(invalid(format!(
                    "xerial block of {length} bytes runs past the end"
                )));
            }
            let block = &self.data[self.at..self.at + length as usize];
            self.at += length as usize;
            let declared = snap::raw::decompress_len(block).map_err(|e| invalid(e.to_string()))?;
            if declared > self.max_bytes {
                return Err(invalid(format!(
                    "xerial block claims {declared} bytes, above max_decompressed_bytes ({} bytes)",
                    self.max_bytes
                )));
            }
            self.block.resize(declared, 0);
            let written = snap::raw::Decoder::new()
                .decompress(block, &mut self.block)
                .map_err(|e| invalid(e.to_string()))?;
            self.block.truncate(written);
            self.position = 0;
        }
        let count = out.len().min(self.block.len() - self.position);
        out[..count].copy_from_slice(&self.block[self.position..self.position + count]);
        self.position += count;
        Ok(count)
    }
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
