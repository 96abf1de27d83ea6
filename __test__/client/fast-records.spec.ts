import test from 'ava';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { decodeFetchedRecords, nextFetchOffset, type RecordSupport } from '../../src/client/fast-records.js';
import type { Message } from '../../src/client/records.js';
import { Prng } from '../../src/lib/prng.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import {
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TIMESTAMP_TYPE,
  BatchField,
} from '../../src/protocol/record-batch-header.js';
import { decodeRecordBatches, encodeRecordBatch, type RecordInput } from '../../src/protocol/records.js';
import { nativeCodecs, nativeCrc32c } from '../../src/storage/index.js';

const native: RecordSupport = { crc32c: nativeCrc32c, codecs: nativeCodecs };

function randomRecords(prng: Prng, count: number): RecordInput[] {
  const bytes = (length: number): Buffer => {
    const out = Buffer.alloc(length, prng.int(0, 255));
    for (let i = 0; i < Math.min(length, 16); i++) out[prng.int(0, length - 1)] = prng.int(0, 255);
    return out;
  };
  return Array.from({ length: count }, () => ({
    key: prng.chance(0.3) ? null : bytes(prng.int(0, 40)),
    value: prng.chance(0.1) ? null : bytes(prng.pick([0, 1, 63, 64, 100, 1024, 20_000])),
    headers: prng.chance(0.5)
      ? []
      : Array.from({ length: prng.int(1, 4) }, (_, h) => ({
          key: `h${h}-${prng.pick(['', 'trace', 'é-ü', 'x'.repeat(200)])}`,
          value: prng.chance(0.2) ? null : bytes(prng.int(0, 300)),
        })),
    // Deltas from the batch's base: 0, small, negative, and beyond 2^32 ms.
    timestamp: 1_700_000_000_000 + prng.pick([0, 1, 5_000, -70, 2 ** 33 + 17, -(2 ** 35)]),
  }));
}

/** Concatenated random batches (every codec, control and log-append-time ones mixed in). */
function randomBatches(seed: number): { buf: Buffer; controlBatches: number } {
  const prng = new Prng(seed);
  const batches: Buffer[] = [];
  let baseOffset = prng.int(0, 1_000_000);
  let controlBatches = 0;
  for (let b = prng.int(1, 8); b > 0; b--) {
    const records = randomRecords(prng, prng.int(1, 60));
    let attributes = prng.int(0, 4);
    if (prng.chance(0.15)) {
      attributes |= ATTRIBUTE_CONTROL;
      controlBatches++;
    }
    if (prng.chance(0.2)) attributes |= ATTRIBUTE_TIMESTAMP_TYPE;
    batches.push(
      encodeRecordBatch(
        { baseOffset, attributes, baseTimestamp: 1_700_000_000_000 - 9 + prng.int(0, 20), records },
        nativeCodecs,
      ),
    );
    // Gaps between batches, as after compaction or Raft's own entries.
    baseOffset += records.length + prng.int(0, 3);
  }
  return { buf: Buffer.concat(batches), controlBatches };
}

/** What the protocol codec yields, as the consumer's messages. */
function expectedMessages(buf: Buffer, fromOffset: number): { messages: Message[]; nextOffset: number } {
  const messages: Message[] = [];
  let nextOffset = fromOffset;
  for (const batch of decodeRecordBatches(buf, nativeCodecs)) {
    nextOffset = Math.max(nextOffset, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
    if (batch.isControl) continue;
    for (const record of batch.records) {
      if (record.offset < fromOffset) continue;
      const { offset, timestamp, key, value, headers } = record;
      messages.push({ topic: 't', partition: 3, offset, timestamp, key, value, headers });
    }
  }
  return { messages, nextOffset };
}

/** Plain data for deepEqual: Buffers as hex, so byte-for-byte equality is what is compared. */
function plain(messages: Message[]): unknown[] {
  const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));
  return messages.map((m) => ({
    ...m,
    key: hex(m.key),
    value: hex(m.value),
    headers: m.headers.map((h) => ({ key: h.key, value: hex(h.value) })),
  }));
}

test('on random batches of every codec the consumer decoder yields exactly what decodeRecordBatches reads', (t) => {
  let messages = 0;
  let controlBatches = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const random = randomBatches(seed);
    controlBatches += random.controlBatches;
    const { buf } = random;
    const firstOffset = decodeRecordBatches(buf, nativeCodecs)[0]?.header.baseOffset ?? 0;
    for (const fromOffset of [0, firstOffset + 7]) {
      const expected = expectedMessages(buf, fromOffset);
      for (const support of [native, { codecs: nativeCodecs }]) {
        const got = decodeFetchedRecords('t', 3, buf, fromOffset, support);
        t.is(got.nextOffset, expected.nextOffset);
        t.deepEqual(plain(got.messages), plain(expected.messages), `seed ${seed} from ${fromOffset}`);
      }
      t.is(nextFetchOffset(buf, fromOffset), expected.nextOffset);
      messages += expected.messages.length;
    }
  }
  // The random input really covered the cases named above.
  t.true(messages > 1_000);
  t.true(controlBatches > 0);
});

test('a trailing partial batch is skipped and the next offset stops before it', (t) => {
  const { buf } = randomBatches(7);
  const whole = decodeFetchedRecords('t', 3, buf, 0, native);
  // Cut every batch boundary case: inside the header, inside the records, one byte short.
  const firstBatchBytes = buf.readInt32BE(BatchField.batchLength) + 12;
  for (const cut of [5, 30, firstBatchBytes - 1, firstBatchBytes + 40, buf.length - 1]) {
    const partial = buf.subarray(0, cut);
    const got = decodeFetchedRecords('t', 3, partial, 0, native);
    const expected = expectedMessages(partial, 0);
    t.deepEqual(plain(got.messages), plain(expected.messages), `cut at ${cut}`);
    t.is(got.nextOffset, expected.nextOffset);
    t.is(nextFetchOffset(partial, 0), expected.nextOffset);
    t.true(got.nextOffset < whole.nextOffset, `cut at ${cut}`);
  }
  t.deepEqual(decodeFetchedRecords('t', 3, buf.subarray(0, 0), 42, native), { messages: [], nextOffset: 42 });
});

test('messages without headers share one frozen empty array; keys and values are views of the fetched bytes', (t) => {
  const buf = encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    records: [
      { key: 'a', value: 'one' },
      { key: null, value: 'two', headers: [{ key: 'k', value: 'v' }] },
    ],
  });
  const [first, second] = decodeFetchedRecords('t', 0, buf, 0, native).messages as [Message, Message];
  t.true(Object.isFrozen(first.headers));
  t.is(first.headers.length, 0);
  t.deepEqual(
    second.headers.map((h) => [h.key, h.value?.toString()]),
    [['k', 'v']],
  );
  t.is(first.value?.buffer, buf.buffer);
  t.is(first.value?.toString(), 'one');
  t.is(second.key, null);
});

function corruptedCopy(buf: Buffer, at: number): Buffer {
  const copy = Buffer.from(buf);
  copy[at] = (copy[at] as number) ^ 0x40;
  return copy;
}

test('a flipped bit anywhere after the CRC field fails the CRC32C check with CORRUPT_MESSAGE', (t) => {
  const { buf } = randomBatches(3);
  for (const at of [BatchField.attributes, BatchField.recordsCount + 2, 70, buf.length - 1]) {
    for (const support of [native, { codecs: nativeCodecs }]) {
      const error = t.throws(() => decodeFetchedRecords('t', 1, corruptedCopy(buf, at), 0, support), {
        instanceOf: KafkaProtocolError,
      });
      t.is(error?.code, 2);
      t.regex(error?.message ?? '', /CRC32C/);
    }
  }
});

/** A batch whose records section is edited, with the CRC recomputed so only the structure is wrong. */
function withRecords(edit: (records: Buffer) => Buffer): Buffer {
  const batch = encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    records: [
      { key: 'k', value: 'value-1' },
      { key: null, value: 'value-2', headers: [{ key: 'h', value: 'x' }] },
    ],
  });
  const records = edit(Buffer.from(batch.subarray(61)));
  const out = Buffer.concat([batch.subarray(0, 61), records]);
  out.writeInt32BE(out.length - 12, BatchField.batchLength);
  out.writeUInt32BE(crc32c(out, BatchField.attributes, out.length), BatchField.crc);
  return out;
}

test('structurally broken records with a valid CRC are refused with CORRUPT_MESSAGE, as the protocol codec refuses them', (t) => {
  const cases: Array<[string, Buffer]> = [
    // The first record's length byte (zigzag 2n) made to claim more than the section holds.
    [
      'record length past the end',
      withRecords((r) => {
        r[0] = 0x7e;
        return r;
      }),
    ],
    ['records section cut short', withRecords((r) => r.subarray(0, r.length - 3))],
    [
      'stray byte inside a record',
      withRecords((r) => Buffer.concat([r.subarray(0, 1), Buffer.from([0]), r.subarray(1)])),
    ],
    [
      'varint longer than 5 bytes',
      withRecords((r) => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), r])),
    ],
    ['records count impossible for the bytes', withRecords((r) => r.subarray(0, 8))],
  ];
  for (const [name, buf] of cases) {
    t.throws(() => decodeRecordBatches(buf), undefined, `protocol codec: ${name}`);
    const error = t.throws(
      () => decodeFetchedRecords('t', 1, buf, 0, native),
      { instanceOf: KafkaProtocolError },
      name,
    );
    t.is(error?.code, 2, name);
  }
  const wrongMagic = Buffer.from(withRecords((r) => r));
  wrongMagic[BatchField.magic] = 1;
  t.is(
    t.throws(() => decodeFetchedRecords('t', 1, wrongMagic, 0, native), { instanceOf: KafkaProtocolError })
      ?.code,
    2,
  );
});

test('a compressed batch without codecs is refused with UNSUPPORTED_COMPRESSION_TYPE naming the codec', (t) => {
  const buf = encodeRecordBatch(
    { attributes: 1, baseTimestamp: 1_700_000_000_000, records: [{ value: 'zipped' }] },
    nativeCodecs,
  );
  const error = t.throws(() => decodeFetchedRecords('t', 1, buf, 0, {}), { instanceOf: KafkaProtocolError });
  t.is(error?.code, 76);
  t.regex(error?.message ?? '', /codec 1/);
  t.is(decodeFetchedRecords('t', 1, buf, 0, native).messages[0]?.value?.toString(), 'zipped');
});
