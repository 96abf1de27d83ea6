import test from 'ava';
import { encodeProducerBatch, type OutgoingRecord } from '../../src/client/batch-encoder.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import { nativeCodecs, nativeCrc32c } from '../../src/storage/index.js';

const jsCrc = (bytes: Buffer) => crc32c(bytes);

function sample(): OutgoingRecord[] {
  return Array.from({ length: 300 }, (_, i) => ({
    key: i % 4 === 0 ? null : Buffer.from(`key-${i}-${'é'.repeat(i % 5)}`),
    value: i % 7 === 0 ? null : Buffer.alloc((i * 37) % 2_000, i),
    headers:
      i % 3 === 0
        ? []
        : [
            { key: 'trace-ü', value: Buffer.from(`t${i}`) },
            { key: 'empty', value: null },
          ],
    // Out of order, spread over more than 2^32 ms from the smallest.
    timestamp: 1_700_000_000_000 + ((i * 7919) % 300) * 30_000_000 - 4_000_000_000,
  }));
}

test('the producer batch encoder writes exactly the bytes of the protocol encoder', (t) => {
  const records = sample();
  const baseTimestamp = Math.min(...records.map((r) => r.timestamp));
  const expected = encodeRecordBatch({ baseTimestamp, records });
  t.true(encodeProducerBatch(records, 0, jsCrc).equals(expected));
  t.true(encodeProducerBatch(records, 0, nativeCrc32c).equals(expected));
});

test('single records, empty values and one-byte values match the protocol encoder too', (t) => {
  for (const record of [
    { key: null, value: null, headers: [], timestamp: 0 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [], timestamp: 5 },
    {
      key: Buffer.from('k'),
      value: Buffer.from([1]),
      headers: [{ key: '', value: Buffer.alloc(0) }],
      timestamp: 2 ** 45,
    },
  ]) {
    const expected = encodeRecordBatch({ baseTimestamp: record.timestamp, records: [record] });
    t.true(encodeProducerBatch([record], 0, nativeCrc32c).equals(expected));
  }
});

test('compressed batches decode back to the same records with every codec', (t) => {
  const records = sample();
  for (const codec of [1, 2, 3, 4]) {
    const batch = encodeProducerBatch(records, codec, nativeCrc32c, nativeCodecs);
    t.is(batch.readInt16BE(21) & 0x07, codec);
    const [decoded] = decodeRecordBatches(batch, nativeCodecs);
    t.is(decoded?.records.length, records.length);
    decoded?.records.forEach((record, i) => {
      const original = records[i] as OutgoingRecord;
      t.is(record.offset, i);
      t.is(record.timestamp, original.timestamp);
      t.deepEqual(record.key, original.key);
      t.deepEqual(record.value, original.value);
      t.deepEqual(
        record.headers.map((h) => h.key),
        original.headers.map((h) => h.key),
      );
    });
  }
});
