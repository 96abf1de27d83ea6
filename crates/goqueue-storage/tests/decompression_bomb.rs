//! Decompression bombs: a small compressed input that expands to 200 MiB is refused by every
//! codec once the output passes the cap, and the refusal never allocates more than the cap
//! (measured with a counting allocator); input just under the cap still decompresses.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use goqueue_storage::{compress, decompress, decompress_within, Codec, MAX_DECOMPRESSED_BYTES};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::SeqCst) + new_size - layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests run on several threads; the peak is only meaningful for one measurement at a time.
static MEASURE: Mutex<()> = Mutex::new(());

/// Bytes allocated above what was live before `run`, at the worst moment while it ran.
fn peak_extra<T>(run: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let out = run();
    (out, PEAK.load(Ordering::SeqCst) - before)
}

const MIB: usize = 1 << 20;
const BOMB_BYTES: usize = 200 * MIB;

/// 200 MiB of zeros compressed with `codec`, streamed a MiB at a time so building it is cheap.
fn bomb(codec: Codec) -> Vec<u8> {
    let zeros = vec![0u8; MIB];
    let chunks = BOMB_BYTES / MIB;
    match codec {
        Codec::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            (0..chunks).for_each(|_| encoder.write_all(&zeros).unwrap());
            encoder.finish().unwrap()
        }
        Codec::Snappy => {
            // Xerial framing: the same compressed 32 KiB block of zeros, 6,400 times.
            let packed = compress(Codec::Snappy, &zeros[..32 * 1024]).unwrap();
            let (header, block) = packed.split_at(16);
            let mut out = header.to_vec();
            (0..BOMB_BYTES / (32 * 1024)).for_each(|_| out.extend_from_slice(block));
            out
        }
        Codec::Lz4 => {
            let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
            (0..chunks).for_each(|_| encoder.write_all(&zeros).unwrap());
            encoder.finish().unwrap()
        }
        Codec::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
            (0..chunks).for_each(|_| encoder.write_all(&zeros).unwrap());
            encoder.finish().unwrap()
        }
        Codec::None => unreachable!(),
    }
}

const CODECS: [Codec; 4] = [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];

#[test]
fn a_200_mib_bomb_is_refused_by_every_codec_without_allocating_past_the_cap() {
    let _one = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    for codec in CODECS {
        let packed = bomb(codec);
        assert!(
            packed.len() < 12 * MIB,
            "{codec:?} bomb is {} bytes",
            packed.len()
        );
        let (result, extra) = peak_extra(|| decompress(codec, &packed));
        eprintln!(
            "{codec:?}: {} byte bomb refused, {extra} bytes allocated at peak",
            packed.len()
        );
        let error = result.unwrap_err();
        assert_eq!(error.code(), "MESSAGE_TOO_LARGE", "{codec:?}: {error}");
        assert!(
            error.to_string().contains(&format!(
                "max_decompressed_bytes ({MAX_DECOMPRESSED_BYTES} bytes)"
            )),
            "{codec:?}: {error}"
        );
        // The output never passes the cap; decoder state (windows, blocks) adds a few MiB.
        assert!(
            extra <= MAX_DECOMPRESSED_BYTES + 16 * MIB,
            "{codec:?} allocated {extra} bytes refusing a bomb"
        );
    }
}

#[test]
fn with_a_small_cap_a_bomb_costs_about_the_cap_not_its_expansion() {
    let _one = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    for codec in CODECS {
        let packed = bomb(codec);
        let (result, extra) = peak_extra(|| decompress_within(codec, &packed, MIB));
        eprintln!("{codec:?}: 1 MiB cap, {extra} bytes allocated at peak");
        assert_eq!(result.unwrap_err().code(), "MESSAGE_TOO_LARGE", "{codec:?}");
        assert!(
            extra <= 12 * MIB,
            "{codec:?} allocated {extra} bytes under a 1 MiB cap"
        );
    }
}

#[test]
fn a_raw_snappy_block_claiming_more_than_the_cap_is_refused_before_allocating() {
    let _one = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    // A raw block is its uncompressed length (varint) then the elements: claim 200 MiB.
    let mut block = Vec::new();
    let mut length = BOMB_BYTES as u64;
    while length >= 0x80 {
        block.push((length as u8) | 0x80);
        length >>= 7;
    }
    block.push(length as u8);
    block.extend_from_slice(&[0x00, 0x00]);
    let (result, extra) = peak_extra(|| decompress(Codec::Snappy, &block));
    let error = result.unwrap_err();
    assert_eq!(error.code(), "MESSAGE_TOO_LARGE", "{error}");
    assert!(error.to_string().contains(&BOMB_BYTES.to_string()), "{error}");
    assert!(extra < MIB, "allocated {extra} bytes");
}

#[test]
fn data_just_under_the_cap_decompresses_with_every_codec_and_one_byte_more_does_not() {
    let _one = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    // Repetitive but not constant, so every codec does real work.
    let data: Vec<u8> = (0..MAX_DECOMPRESSED_BYTES - 1024)
        .map(|i| (i % 253) as u8)
        .collect();
    for codec in CODECS {
        let packed = compress(codec, &data).unwrap();
        assert_eq!(decompress(codec, &packed).unwrap(), data, "{codec:?}");
        let error = decompress_within(codec, &packed, data.len() - 1).unwrap_err();
        assert_eq!(error.code(), "MESSAGE_TOO_LARGE", "{codec:?}");
    }
}
