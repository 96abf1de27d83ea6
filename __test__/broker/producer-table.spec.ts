import test from 'ava';
import {
  AppliedProducers,
  checkSequence,
  lastSequenceOf,
  PRODUCER_BATCHES_KEPT,
  type ProducerEntry,
  rememberBatch,
} from '../../src/broker/producer-table.js';

function entryWith(epoch: number, sequences: Array<[number, number, number]>): ProducerEntry<number> {
  let entry: ProducerEntry<number> | undefined;
  for (const [firstSequence, lastSequence, baseOffset] of sequences)
    entry = rememberBatch(entry, epoch, { firstSequence, lastSequence, baseOffset });
  return entry as ProducerEntry<number>;
}

test('a retry of any of the last five batches is a duplicate answered with that batch offset', (t) => {
  const entry = entryWith(0, [
    [0, 1, 100],
    [2, 2, 102],
    [3, 5, 103],
    [6, 6, 106],
    [7, 9, 107],
  ]);
  t.deepEqual(checkSequence(entry, { producerEpoch: 0, baseSequence: 2, lastOffsetDelta: 0 }), {
    kind: 'duplicate',
    baseOffset: 102,
  });
  t.deepEqual(checkSequence(entry, { producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 1 }), {
    kind: 'duplicate',
    baseOffset: 100,
  });
  t.deepEqual(checkSequence(entry, { producerEpoch: 0, baseSequence: 10, lastOffsetDelta: 3 }), {
    kind: 'append',
  });
});

test('only the last five batches are kept; an older retry or a gap is OUT_OF_ORDER_SEQUENCE_NUMBER', (t) => {
  const entry = entryWith(
    0,
    Array.from({ length: 7 }, (_, i) => [i, i, 100 + i] as [number, number, number]),
  );
  t.is(entry.batches.length, PRODUCER_BATCHES_KEPT);
  t.is(entry.batches[0]!.firstSequence, 2);
  t.deepEqual(checkSequence(entry, { producerEpoch: 0, baseSequence: 1, lastOffsetDelta: 0 }), {
    kind: 'error',
    errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  });
  t.deepEqual(checkSequence(entry, { producerEpoch: 0, baseSequence: 9, lastOffsetDelta: 0 }), {
    kind: 'error',
    errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  });
});

test('epochs: an older one is fenced, a newer one must start at sequence 0, an unknown producer is accepted', (t) => {
  const entry = entryWith(3, [[0, 4, 10]]);
  t.deepEqual(checkSequence(entry, { producerEpoch: 2, baseSequence: 5, lastOffsetDelta: 0 }), {
    kind: 'error',
    errorName: 'INVALID_PRODUCER_EPOCH',
  });
  t.deepEqual(checkSequence(entry, { producerEpoch: 4, baseSequence: 0, lastOffsetDelta: 0 }), {
    kind: 'append',
  });
  t.deepEqual(checkSequence(entry, { producerEpoch: 4, baseSequence: 5, lastOffsetDelta: 0 }), {
    kind: 'error',
    errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  });
  t.deepEqual(checkSequence(undefined, { producerEpoch: 0, baseSequence: 42, lastOffsetDelta: 0 }), {
    kind: 'append',
  });
  const bumped = rememberBatch(entry, 4, { firstSequence: 0, lastSequence: 0, baseOffset: 20 });
  t.is(bumped.epoch, 4);
  t.is(bumped.batches.length, 1, 'a new epoch starts its batch list over');
});

test('sequences wrap from 2^31-1 to 0 as in Kafka', (t) => {
  t.is(lastSequenceOf(2_147_483_646, 3), 1);
  const entry = entryWith(0, [[2_147_483_640, 2_147_483_647, 5]]);
  t.deepEqual(checkSequence(entry, { producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0 }), {
    kind: 'append',
  });
});

test('applied state: entries at or below its index are not applied twice; it survives encode/decode; idle producers expire', (t) => {
  const state = new AppliedProducers();
  const batch = (producerId: number, baseSequence: number, baseOffset: number, maxTimestampMs: number) => ({
    producerId,
    producerEpoch: 0,
    baseSequence,
    lastOffsetDelta: 0,
    baseOffset,
    maxTimestampMs,
  });
  state.record(1, batch(7, 0, 1, 1_000));
  state.record(2, batch(7, 1, 2, 2_000));
  state.record(2, batch(7, 1, 2, 2_000)); // the same entry again (replay over a checkpoint)
  state.skip(3);
  state.record(4, batch(8, 0, 4, 10_000));
  t.is(state.get(7)?.batches.length, 2);
  t.is(state.appliedIndex, 4);
  const copy = AppliedProducers.decode(state.encode());
  t.is(copy.appliedIndex, 4);
  t.deepEqual(copy.get(7), state.get(7));
  t.deepEqual(copy.get(8), state.get(8));
  t.is(copy.expire(6_000, 3_000), 1, 'producer 7 (newest batch at 2 s) expires at 6 s with a 3 s expiration');
  t.is(copy.get(7), undefined);
  t.truthy(copy.get(8));
  t.throws(() => AppliedProducers.decode(state.encode().subarray(0, 20)));
});
