/**
 * RecordBatch v2 with records: ours → kafkajs' RecordBatch decoder and kafkajs' RecordBatch
 * encoder → ours, for codec none and gzip (kafkajs' only built-in codec).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import test from 'ava';
import {
  ATTRIBUTE_CONTROL,
  Codec,
  computeBatchCrc,
  ProtocolError,
  readBatchHeader,
} from '../../src/protocol/index.js';
import { type Codecs, decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import {
  KafkajsDecoder,
  KafkajsLong,
  KafkajsRecord,
  KafkajsRecordBatch,
  KafkajsRecordBatchDecoder,
} from './helpers.js';

const gzipCodecs: Codecs = {
  compress: (codec, data) => {
    if (codec !== Codec.Gzip) throw new Error(`test codecs only gzip, got ${codec}`);
    return gzipSync(data);
  },
  decompress: (codec, data) => {
    if (codec !== Codec.Gzip) throw new Error(`test codecs only gzip, got ${codec}`);
    return gunzipSync(data);
  },
};

const baseTimestamp = 1700000000000;
const input = [
  {
    key: 'k1',
    value: 'v1',
    headers: [
      { key: 'trace', value: 'abc' },
      { key: 'empty', value: null },
    ],
  },
  { key: null, value: Buffer.alloc(500, 7), timestamp: baseTimestamp + 1234 },
  { key: 'k3', value: null },
  { key: Buffer.from('é'), value: 'ü'.repeat(200), timestamp: baseTimestamp - 5 },
];

for (const codec of [Codec.None, Codec.Gzip]) {
  test(`codec ${codec}: kafkajs decodes a batch we encode, records, offsets, timestamps and headers included`, async (t) => {
    const batch = encodeRecordBatch(
      { baseOffset: 100, partitionLeaderEpoch: 3, attributes: codec, baseTimestamp, records: input },
      gzipCodecs,
    );
    t.is(computeBatchCrc(batch), readBatchHeader(batch).crc);
    const decoded = await KafkajsRecordBatchDecoder(new KafkajsDecoder(batch));
    t.is(decoded.firstOffset, '100');
    t.is(decoded.partitionLeaderEpoch, 3);
    t.is(decoded.maxTimestamp, String(baseTimestamp + 1234));
    t.deepEqual(
      decoded.records.map(
        (r: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null }) => [
          r.offset,
          r.timestamp,
          r.key?.toString() ?? null,
          r.value?.toString() ?? null,
        ],
      ),
      [
        ['100', String(baseTimestamp), 'k1', 'v1'],
        ['101', String(baseTimestamp + 1234), null, Buffer.alloc(500, 7).toString()],
        ['102', String(baseTimestamp), 'k3', null],
        ['103', String(baseTimestamp - 5), 'é', 'ü'.repeat(200)],
      ],
    );
    t.deepEqual(decoded.records[0].headers.trace.toString(), 'abc');
  });

  test(`codec ${codec}: we decode a batch kafkajs encodes`, async (t) => {
    const records = [
      KafkajsRecord({ key: 'a', value: 'one', offsetDelta: 0, timestampDelta: 0, headers: { h: 'x' } }),
      KafkajsRecord({ key: null, value: 'two', offsetDelta: 1, timestampDelta: 20 }),
    ];
    const batchEncoder = await KafkajsRecordBatch({
      compression: codec,
      firstOffset: KafkajsLong.fromInt(7),
      firstTimestamp: baseTimestamp,
      maxTimestamp: baseTimestamp + 20,
      lastOffsetDelta: 1,
      records,
    });
    const bytes: Buffer = batchEncoder.buffer;
    const [batch] = decodeRecordBatches(bytes, gzipCodecs);
    t.is(batch!.header.attributes & 0x07, codec);
    t.false(batch!.isControl);
    t.deepEqual(
      batch!.records.map((r) => [
        r.offset,
        r.timestamp,
        r.key?.toString() ?? null,
        r.value?.toString(),
        r.headers.length,
      ]),
      [
        [7, baseTimestamp, 'a', 'one', 1],
        [8, baseTimestamp + 20, null, 'two', 0],
      ],
    );
    t.is(batch!.records[0]!.headers[0]!.key, 'h');
    t.is(batch!.records[0]!.headers[0]!.value?.toString(), 'x');
  });
}

test('several batches decode in order and a trailing partial batch is skipped', (t) => {
  const first = encodeRecordBatch({
    baseOffset: 0,
    baseTimestamp,
    records: [{ value: 'a' }, { value: 'b' }],
  });
  const second = encodeRecordBatch({ baseOffset: 2, baseTimestamp, records: [{ value: 'c' }] });
  const third = encodeRecordBatch({ baseOffset: 3, baseTimestamp, records: [{ value: 'd' }] });
  const joined = Buffer.concat([first, second, third.subarray(0, third.length - 3)]);
  const batches = decodeRecordBatches(joined);
  t.deepEqual(
    batches.flatMap((b) => b.records.map((r) => [r.offset, r.value?.toString()])),
    [
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ],
  );
});

test('a control batch is flagged as such', (t) => {
  const marker = encodeRecordBatch({
    attributes: ATTRIBUTE_CONTROL,
    baseTimestamp,
    records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }],
  });
  const [batch] = decodeRecordBatches(marker);
  t.true(batch!.isControl);
  t.is(batch!.records.length, 1);
});

test('a flipped bit inside the CRC range is CORRUPT_MESSAGE', (t) => {
  const batch = encodeRecordBatch({ baseTimestamp, records: [{ value: 'payload' }] });
  batch[batch.length - 3]! ^= 0x10;
  const error = t.throws(() => decodeRecordBatches(batch), { instanceOf: ProtocolError });
  t.is(error?.code, 2);
});

test('a compressed batch without codecs to read it is UNSUPPORTED_COMPRESSION_TYPE', (t) => {
  const batch = encodeRecordBatch(
    { attributes: Codec.Gzip, baseTimestamp, records: [{ value: 'x' }] },
    gzipCodecs,
  );
  const error = t.throws(() => decodeRecordBatches(batch), { instanceOf: ProtocolError });
  t.is(error?.code, 76);
});

test('a codec failure while decompressing becomes CORRUPT_MESSAGE', (t) => {
  const batch = encodeRecordBatch(
    { attributes: Codec.Gzip, baseTimestamp, records: [{ value: 'x' }] },
    gzipCodecs,
  );
  const failing: Codecs = {
    compress: gzipCodecs.compress,
    decompress: () => {
      throw new Error('bad gzip header');
    },
  };
  const error = t.throws(() => decodeRecordBatches(batch, failing), { instanceOf: ProtocolError });
  t.is(error?.code, 2);
  t.regex(error!.message, /bad gzip header/);
});

test('an empty record list is rejected instead of producing an invalid batch', (t) => {
  t.throws(() => encodeRecordBatch({ baseTimestamp, records: [] }), { instanceOf: ProtocolError });
});
