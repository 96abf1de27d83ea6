/** Reader and Writer primitives: known encodings, extremes, and bounds errors as ProtocolError. */
import test from 'ava';
import { ProtocolError, Reader, Writer } from '../../src/protocol/index.js';

test('zigzag varints match the protocol guide encodings', (t) => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [value, hex] of cases) {
    const writer = new Writer(16).varint(value);
    t.is(writer.finish().toString('hex'), hex, `varint ${value}`);
    t.is(new Reader(Buffer.from(hex, 'hex')).varint(), value);
  }
});

test('varlongs round-trip across the safe-integer range and keep their zigzag bytes', (t) => {
  const values = [
    0,
    -1,
    1,
    300,
    -300,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 40 + 7,
    -(2 ** 45),
    Math.floor(Number.MAX_SAFE_INTEGER / 2),
    -Math.floor(Number.MAX_SAFE_INTEGER / 2),
  ];
  for (const value of values) {
    const bytes = new Writer(16).varlong(value).finish();
    const reader = new Reader(Buffer.from(bytes));
    t.is(reader.varlong(), value);
    t.is(reader.remaining, 0);
  }
  t.is(new Writer(16).varlong(-1).finish().toString('hex'), '01');
  t.is(
    new Writer(16)
      .varlong(2 ** 31)
      .finish()
      .toString('hex'),
    '8080808010',
  );
});

test('int64 keeps negative and large values exact (offsets -1, -2, 2^53-1)', (t) => {
  for (const value of [
    0,
    -1,
    -2,
    1,
    2 ** 32,
    -(2 ** 32) - 5,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
  ]) {
    const bytes = Buffer.from(new Writer(8).int64(value).finish());
    t.is(bytes.readBigInt64BE(0), BigInt(value));
    t.is(new Reader(bytes).int64(), value);
  }
});

test('strings, nullable strings, bytes and arrays use Kafka lengths (-1 = null)', (t) => {
  const writer = new Writer(4)
    .string('héllo')
    .nullableString(null)
    .nullableBytes(null)
    .bytes(Buffer.from([1, 2]))
    .int32(2)
    .int32(7)
    .int32(8)
    .int32(-1)
    .uuid('00112233445566778899aabbccddeeff');
  const bytes = Buffer.from(writer.finish());
  t.is(bytes.subarray(0, 2).readInt16BE(0), 6);
  const reader = new Reader(bytes);
  t.is(reader.string(), 'héllo');
  t.is(reader.nullableString(), null);
  t.is(reader.nullableBytes(), null);
  t.deepEqual(reader.bytes(), Buffer.from([1, 2]));
  t.deepEqual(
    reader.array((r) => r.int32()),
    [7, 8],
  );
  t.is(
    reader.nullableArray((r) => r.int32()),
    null,
  );
  t.is(reader.uuid(), '00112233445566778899aabbccddeeff');
  t.is(reader.remaining, 0);
});

test('the writer grows by doubling and keeps earlier bytes', (t) => {
  const writer = new Writer(16);
  for (let i = 0; i < 1000; i++) writer.int32(i);
  const bytes = writer.finish();
  t.is(bytes.length, 4000);
  t.is(bytes.readInt32BE(999 * 4), 999);
  t.is(writer.buf.length, 4096);
});

test('every short read is a ProtocolError naming the field, never a RangeError', (t) => {
  const reads: Array<[string, (r: Reader) => unknown, string]> = [
    ['int8', (r) => r.int8(), ''],
    ['int16', (r) => r.int16(), '00'],
    ['int32', (r) => r.int32(), '000000'],
    ['int64', (r) => r.int64(), '00000000000000'],
    ['string', (r) => r.string(), '0005 6869'],
    ['null string', (r) => r.string(), 'ffff'],
    ['bytes', (r) => r.bytes(), '00000009 00'],
    ['varint', (r) => r.varint(), '8080'],
    ['varint too long', (r) => r.unsignedVarint(), '8080808080'],
    ['varlong too long', (r) => r.varlong(), '8080808080808080808080'],
    ['uuid', (r) => r.uuid(), '00'],
    ['huge array', (r) => r.array((x) => x.int32()), '7fffffff 00000000'],
    ['negative array', (r) => r.array((x) => x.int32()), 'fffffff0'],
  ];
  for (const [what, read, hex] of reads) {
    const error = t.throws(() => read(new Reader(Buffer.from(hex.replaceAll(' ', ''), 'hex'))), {
      instanceOf: ProtocolError,
    });
    t.is(error?.code, 42, what);
  }
});
