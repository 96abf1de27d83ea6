/**
 * Native codecs and batch validation as the broker and clients call them.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import test from 'ava';
import { crc32c } from '../../src/protocol/crc32c.js';
import { nativeCodecs, StorageError, validateBatches } from '../../src/storage/index.js';
import { encodeBatch, values } from './helpers.js';

const sample = Buffer.from(
  Array.from({ length: 2000 }, (_, n) => `record ${n % 37} payload ${n}`).join('\n'),
);

for (const [codec, name] of [
  [0, 'none'],
  [1, 'gzip'],
  [2, 'snappy'],
  [3, 'lz4'],
  [4, 'zstd'],
] as const) {
  test(`codec ${codec} (${name}) round-trips and shrinks repetitive data`, (t) => {
    const packed = nativeCodecs.compress(codec, sample);
    if (codec !== 0) t.true(packed.length < sample.length / 2, `${packed.length} bytes`);
    t.deepEqual(nativeCodecs.decompress(codec, packed), sample);
  });
}

test('gzip output is real gzip and gzip from zlib decompresses', (t) => {
  t.deepEqual(gunzipSync(nativeCodecs.compress(1, sample)), sample);
  t.deepEqual(nativeCodecs.decompress(1, gzipSync(sample)), sample);
});

test('snappy output is Xerial-framed like the Java client, and raw snappy blocks decompress', (t) => {
  const framed = nativeCodecs.compress(2, sample);
  t.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  t.is(framed.readInt32BE(8), 1);
  // A raw block built by hand: length 12, literal "abc", copy offset 3 length 9.
  const raw = Buffer.from([0x0c, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03]);
  t.is(nativeCodecs.decompress(2, raw).toString(), 'abcabcabcabc');
});

test('unknown codecs and garbage input fail with their codes', (t) => {
  const unknown = t.throws(() => nativeCodecs.compress(5, sample));
  t.is((unknown as StorageError).code, 'UNSUPPORTED_COMPRESSION_TYPE');
  for (const codec of [1, 2, 3, 4]) {
    const error = t.throws(() =>
      nativeCodecs.decompress(codec, Buffer.from('\x01\x02 definitely not compressed')),
    );
    t.true(error instanceof StorageError);
    t.is((error as StorageError).code, 'CORRUPT_MESSAGE', `codec ${codec}`);
  }
});

test('validateBatches reports every batch of a produce payload, compressed ones included', (t) => {
  const plain = encodeBatch({ baseOffset: 0, term: 0, records: values(3) });
  const zstd = encodeBatch({ baseOffset: 3, term: 0, codec: 4, records: values(10) }, nativeCodecs.compress);
  const infos = validateBatches(Buffer.concat([plain, zstd]), 1 << 20);
  t.deepEqual(
    infos.map((b) => [b.baseOffset, b.recordsCount, b.lastOffsetDelta, b.attributes & 7, b.byteLength]),
    [
      [0, 3, 2, 0, plain.length],
      [3, 10, 9, 4, zstd.length],
    ],
  );
  t.is(infos[0]?.producerId, -1);
});

test('validateBatches names the batch and field of the first problem', (t) => {
  const good = encodeBatch({ baseOffset: 0, records: values(2) });
  const lying = Buffer.from(encodeBatch({ baseOffset: 2, records: values(2) }));
  lying.writeInt32BE(5, 57); // recordsCount 5 with lastOffsetDelta 1
  lying.writeUInt32BE(crc32c(lying, 21), 17);
  const error = t.throws(() => validateBatches(Buffer.concat([good, lying]), 1 << 20));
  t.is((error as StorageError).code, 'INVALID_RECORD');
  t.regex(error?.message ?? '', /batch 1 at byte \d+: .*lastOffsetDelta 1 does not match recordsCount 5/);
  const tooBig = t.throws(() => validateBatches(good, 64));
  t.is((tooBig as StorageError).code, 'MESSAGE_TOO_LARGE');
  const empty = t.throws(() => validateBatches(Buffer.alloc(0), 1 << 20));
  t.is((empty as StorageError).code, 'CORRUPT_MESSAGE');
});
