import test from 'ava';
import {
  decodeLogStartFile,
  encodeLogStartBatch,
  encodeLogStartFile,
  LogStartFile,
  logStartOfBatch,
} from '../../src/broker/log-start.js';
import { kafkaOffset, logIndex, term } from '../../src/lib/ids.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import { entryToBatch } from '../../src/raft/entry.js';
import { EntryType } from '../../src/raft/types.js';
import { temporaryDirectory } from './helpers.js';

test('a log-start entry is a control batch of one record carrying the offset, and only it is read as one', (t) => {
  const batch = encodeLogStartBatch(kafkaOffset(123_456_789_012));
  t.is(logStartOfBatch(batch), kafkaOffset(123_456_789_012));
  const [decoded] = decodeRecordBatches(batch);
  t.true(decoded?.isControl); // clients skip it
  t.is(decoded?.records.length, 1);
  // Raft's own control batches and a producer's batch are not log-start entries.
  const noop = entryToBatch(
    { index: logIndex(2), term: term(3), type: EntryType.Noop, data: new Uint8Array(0) },
    -1,
  );
  t.is(logStartOfBatch(noop), undefined);
  const data = encodeRecordBatch({
    baseTimestamp: 1,
    attributes: Codec.None,
    records: [{ key: null, value: Buffer.alloc(8) }],
  });
  t.is(logStartOfBatch(data), undefined);
  t.is(logStartOfBatch(Buffer.alloc(10)), undefined);
});

test('the log-start file round-trips and refuses damaged bytes', async (t) => {
  const state = { offset: kafkaOffset(77), index: logIndex(12) };
  t.deepEqual(decodeLogStartFile(encodeLogStartFile(state)), state);
  const damaged = encodeLogStartFile(state);
  damaged[8] = (damaged[8] as number) ^ 1;
  t.throws(() => decodeLogStartFile(damaged), { message: /CRC/ });
  t.throws(() => decodeLogStartFile(damaged.subarray(0, 10)), { message: /bytes/ });

  const file = new LogStartFile(temporaryDirectory(t));
  t.is(await file.read(), undefined);
  file.save(state);
  file.save({ offset: kafkaOffset(90), index: logIndex(20) });
  t.deepEqual(await file.read(), { offset: kafkaOffset(90), index: logIndex(20) });
});
