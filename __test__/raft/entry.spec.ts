/**
 * Raft entries as RecordBatch v2 bytes (DESIGN decision 3), cross-checked with the protocol
 * layer's independent RecordBatch decoder.
 */
import test from 'ava';
import { logIndex, nodeId, term } from '../../src/lib/ids.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import { ConfChangeType, decodeConfChange, encodeConfChange } from '../../src/raft/conf-change.js';
import {
  batchToEntry,
  CONTROL_TYPE_RAFT_CONF_CHANGE,
  CONTROL_TYPE_RAFT_NOOP,
  checkBatch,
  EntryFormatError,
  entryToBatch,
} from '../../src/raft/entry.js';
import { EntryType } from '../../src/raft/types.js';

test('a producer batch is stored as-is with the entry term stamped into partitionLeaderEpoch, CRC still valid', (t) => {
  const batch = encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    records: [
      { key: Buffer.from('k'), value: Buffer.from('v1') },
      { key: null, value: Buffer.from('v2') },
    ],
  });
  const stored = entryToBatch({ index: logIndex(7), term: term(42), type: EntryType.Normal, data: batch }, 0);
  t.notThrows(() => checkBatch(stored));
  const [decoded] = decodeRecordBatches(stored);
  t.is(decoded!.header.partitionLeaderEpoch, 42);
  t.deepEqual(
    decoded!.records.map((r) => r.value?.toString()),
    ['v1', 'v2'],
  );
  const entry = batchToEntry(stored, logIndex(7));
  t.is(entry.term, term(42));
  t.is(entry.index, logIndex(7));
  t.is(entry.type, EntryType.Normal);
  t.deepEqual(Buffer.from(entry.data), stored);
});

test('a leader no-op is a control batch with one control record of goqueue type 100', (t) => {
  const stored = entryToBatch(
    { index: logIndex(3), term: term(5), type: EntryType.Noop, data: new Uint8Array(0) },
    1234,
  );
  const [decoded] = decodeRecordBatches(stored);
  t.is(decoded!.header.attributes & 0x20, 0x20, 'control bit set');
  t.is(decoded!.header.partitionLeaderEpoch, 5);
  t.is(decoded!.records.length, 1);
  const key = decoded!.records[0]!.key!;
  t.is(key.readInt16BE(0), 0, 'control record version');
  t.is(key.readInt16BE(2), CONTROL_TYPE_RAFT_NOOP);
  t.deepEqual(batchToEntry(stored, logIndex(3)), {
    index: 3,
    term: 5,
    type: EntryType.Noop,
    data: new Uint8Array(0),
  });
});

test('a membership change round-trips through a control batch of goqueue type 101', (t) => {
  const change = { type: ConfChangeType.AddLearner, node: nodeId(9) };
  const stored = entryToBatch(
    { index: logIndex(11), term: term(2), type: EntryType.ConfChange, data: encodeConfChange(change) },
    99,
  );
  const [decoded] = decodeRecordBatches(stored);
  t.is(decoded!.records[0]!.key!.readInt16BE(2), CONTROL_TYPE_RAFT_CONF_CHANGE);
  const entry = batchToEntry(stored, logIndex(11));
  t.is(entry.type, EntryType.ConfChange);
  t.deepEqual(decodeConfChange(entry.data), change);
});

test('a Kafka transaction marker (control type 0/1) is application data to Raft, not a Raft entry', (t) => {
  const marker = encodeRecordBatch({
    attributes: 0x20 | 0x10,
    baseTimestamp: 0,
    records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }],
  });
  t.is(batchToEntry(marker, logIndex(1)).type, EntryType.Normal);
});

test('a flipped bit or a torn batch is rejected with EntryFormatError', (t) => {
  const stored = entryToBatch(
    { index: logIndex(1), term: term(1), type: EntryType.Noop, data: new Uint8Array(0) },
    0,
  );
  const flipped = Buffer.from(stored);
  flipped[flipped.length - 2]! ^= 0x01;
  t.throws(() => batchToEntry(flipped, logIndex(1)), { instanceOf: EntryFormatError, message: /CRC/ });
  t.throws(() => batchToEntry(stored.subarray(0, stored.length - 1), logIndex(1)), {
    instanceOf: EntryFormatError,
  });
  t.throws(() => batchToEntry(stored.subarray(0, 20), logIndex(1)), { instanceOf: EntryFormatError });
});

test('conf change decoding rejects unknown types and wrong lengths', (t) => {
  t.throws(() => decodeConfChange(new Uint8Array([9, 0, 0, 0, 1])), { instanceOf: RangeError });
  t.throws(() => decodeConfChange(new Uint8Array([1, 0, 0])), { instanceOf: RangeError });
});
