//! Thin napi binding over `goqueue-storage`: converts types and errors, nothing else.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

/// CRC32C (Castagnoli) of a buffer.
#[napi(js_name = "crc32c")]
pub fn crc32c(bytes: Buffer) -> u32 {
    goqueue_storage::crc32c(&bytes)
}
