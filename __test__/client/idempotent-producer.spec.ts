/**
 * The SDK's idempotent producer against a fake broker that keeps Kafka's sequence rules
 * (src/broker/producer-table.ts checkSequence) and can be told to misbehave: the bytes on the
 * wire, the in-flight window, retries with the same bytes, and the answers to refused sequences.
 */
import test, { type ExecutionContext } from 'ava';
import { checkSequence, type ProducerEntry, rememberBatch } from '../../src/broker/producer-table.js';
import { Client } from '../../src/client/client.js';
import { GoqueueError } from '../../src/client/errors.js';
import { IdempotenceError, MAX_IN_FLIGHT_PER_PARTITION } from '../../src/client/idempotence.js';
import { Producer } from '../../src/client/producer.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { decodeRecordBatches } from '../../src/protocol/records.js';
import { FakeBroker, type FakeRequest, singleBrokerMetadata } from './fake-broker.js';

const TOPIC = 'events';

type Fault =
  /** Answered NOT_LEADER_OR_FOLLOWER, as is every produce until the client asks for metadata. */
  | { kind: 'not-leader' }
  /** Stored, then the connection closes instead of the answer (the answer is lost). */
  | { kind: 'lose-answer' }
  /** The connection closes before the batch is looked at (nothing stored). */
  | { kind: 'drop' }
  /** Answered with `code`, nothing stored. */
  | { kind: 'answer'; code: number };

interface Received {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  values: string[];
  bytes: Buffer;
}

/** A one-broker cluster (itself) with topic "events" (2 partitions) that stores idempotent
 * batches as a Kafka broker does. */
class SequenceKeepingBroker {
  /** Every batch that arrived, in arrival order (retries included). */
  readonly received: Received[] = [];
  /** What each partition stored. */
  readonly stored = new Map<number, string[]>();
  readonly producers = new Map<string, ProducerEntry<number>>();
  initProducerIdCount = 0;
  /** InitProducerId answers COORDINATOR_NOT_AVAILABLE this many more times (a cluster restarting). */
  initProducerIdRefusals = 0;
  /** Faults that met a batch. */
  faultsMet = 0;
  metadataCount = 0;
  maxOutstanding = 0;
  /** Answers are held until this many produces are outstanding (0: answer at once)... */
  private holdUntil = 0;
  /** ...this many times. */
  private holdRounds = 0;
  private outstanding: Array<() => void> = [];
  private readonly faults = new Map<number, Fault>();
  /** While set, every produce meets this fault. */
  everyProduce: Fault | null = null;
  private notLeader = false;
  private nextProducerId = 4_000;
  fake!: FakeBroker;

  static async start(t: ExecutionContext): Promise<{ broker: SequenceKeepingBroker; client: Client }> {
    const broker = new SequenceKeepingBroker();
    broker.fake = await FakeBroker.start({ onRequest: (request) => broker.handle(request) });
    const client = new Client({
      brokers: [`127.0.0.1:${broker.fake.port}`],
      timeoutMs: 10_000,
      retry: { retries: 5, initialMs: 5, maxMs: 20 },
    });
    t.teardown(async () => {
      await client.close();
      await broker.fake.stop();
    });
    return { broker, client };
  }

  /** Holds produce answers until `count` are outstanding, then answers them all; `rounds` times. */
  hold(count: number, rounds = 1): void {
    this.holdUntil = count;
    this.holdRounds = rounds;
  }

  /** The next batch that arrives with this first sequence meets `fault` (once). */
  faultAt(baseSequence: number, fault: Fault): void {
    this.faults.set(baseSequence, fault);
  }

  private handle(request: FakeRequest): void {
    if (request.apiKey === 3) {
      this.metadataCount++;
      this.notLeader = false;
      request.reply(singleBrokerMetadata(this.fake.port, TOPIC, 2));
      return;
    }
    if (request.apiKey === 22) {
      this.initProducerIdCount++;
      if (this.initProducerIdRefusals > 0) {
        this.initProducerIdRefusals--;
        request.reply({
          throttleTimeMs: 0,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          producerId: -1,
          producerEpoch: -1,
        });
        return;
      }
      request.reply({ throttleTimeMs: 0, errorCode: 0, producerId: this.nextProducerId++, producerEpoch: 3 });
      return;
    }
    if (request.apiKey !== 0) return;
    const data = request.body.topicData[0].partitionData[0];
    const partition = data.index as number;
    const [batch] = decodeRecordBatches(data.records);
    if (!batch) throw new Error('a produce without a batch');
    const { producerId, producerEpoch, baseSequence, lastOffsetDelta } = batch.header;
    this.received.push({
      producerId,
      producerEpoch,
      baseSequence,
      values: batch.records.map((record) => String(record.value)),
      bytes: Buffer.from(data.records),
    });
    const fault = this.everyProduce ?? this.faults.get(baseSequence);
    if (fault) {
      this.faults.delete(baseSequence);
      this.faultsMet++;
    }
    if (fault?.kind === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'not-leader') this.notLeader = true;
    let errorCode: number = fault?.kind === 'answer' ? fault.code : ErrorCode.NONE;
    let baseOffset = -1;
    if (this.notLeader) errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (errorCode === ErrorCode.NONE) {
      const key = `${partition}/${producerId}`;
      // A producer that is not idempotent (id -1) is not checked, as on a broker.
      const decision =
        producerId < 0
          ? ({ kind: 'append' } as const)
          : checkSequence(this.producers.get(key), {
              producerEpoch,
              baseSequence,
              lastOffsetDelta,
            });
      const log = this.stored.get(partition) ?? [];
      this.stored.set(partition, log);
      if (decision.kind === 'error') errorCode = ErrorCode[decision.errorName];
      else if (decision.kind === 'duplicate') baseOffset = decision.baseOffset;
      else {
        baseOffset = log.length;
        log.push(...batch.records.map((record) => String(record.value)));
        this.producers.set(
          key,
          rememberBatch(this.producers.get(key), producerEpoch, {
            firstSequence: baseSequence,
            lastSequence: baseSequence + lastOffsetDelta,
            baseOffset,
          }),
        );
      }
    }
    if (fault?.kind === 'lose-answer') {
      request.socket.destroy();
      return;
    }
    const answer = () =>
      request.reply({
        responses: [
          {
            name: TOPIC,
            partitionResponses: [
              {
                index: partition,
                errorCode,
                baseOffset,
                logAppendTimeMs: -1,
                logStartOffset: 0,
                recordErrors: [],
                errorMessage: null,
              },
            ],
          },
        ],
        throttleTimeMs: 0,
      });
    if (this.holdUntil === 0) {
      answer();
      return;
    }
    this.outstanding.push(answer);
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding.length);
    if (this.outstanding.length < this.holdUntil) return;
    for (const release of this.outstanding.splice(0)) release();
    if (--this.holdRounds === 0) this.holdUntil = 0;
  }
}

function values(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

test('an idempotent producer writes its producer id, epoch and consecutive sequences into every batch (CRC included)', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true, lingerMs: 1 });
  t.true(producer.idempotent);
  const first = await producer.produceMessage({
    topic: TOPIC,
    partition: 0,
    messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }],
  });
  const second = await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'd' }] });
  const third = await producer.send({ topic: TOPIC, partition: 0, value: 'e' });
  const other = await producer.send({ topic: TOPIC, partition: 1, value: 'x' });
  t.deepEqual(first.offsets, [0, 1, 2]);
  t.is(second.baseOffset, 3);
  t.is(third.offset, 4);
  t.is(other.offset, 0);
  t.is(broker.initProducerIdCount, 1, 'one InitProducerId for the producer');
  // decodeRecordBatches checked each batch's CRC32C, which covers these fields.
  t.deepEqual(
    broker.received.map(({ producerId, producerEpoch, baseSequence }) => ({
      producerId,
      producerEpoch,
      baseSequence,
    })),
    [
      { producerId: 4_000, producerEpoch: 3, baseSequence: 0 },
      { producerId: 4_000, producerEpoch: 3, baseSequence: 3 },
      { producerId: 4_000, producerEpoch: 3, baseSequence: 4 },
      { producerId: 4_000, producerEpoch: 3, baseSequence: 0 },
    ],
  );
});

test('an idempotent producer keeps at most five batches per partition on the wire, in sequence order', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  await client.topic(TOPIC);
  broker.hold(MAX_IN_FLIGHT_PER_PARTITION, 2);
  const sent = values('w', 10);
  const results = await Promise.all(
    sent.map((value) => producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value }] })),
  );
  t.is(broker.maxOutstanding, MAX_IN_FLIGHT_PER_PARTITION);
  t.deepEqual(
    broker.received.map((batch) => batch.baseSequence),
    sent.map((_, i) => i),
  );
  t.deepEqual(broker.stored.get(0), sent);
  t.deepEqual(
    results.map((result) => result.baseOffset),
    sent.map((_, i) => i),
  );
});

test('a batch whose answer is lost with its connection is resent with the same bytes and stored once', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'before' }] });
  broker.faultAt(1, { kind: 'lose-answer' });
  const retried = await producer.produceMessage({
    topic: TOPIC,
    partition: 0,
    messages: [{ value: 'lost' }],
  });
  t.is(retried.baseOffset, 1, 'answered with the original offset');
  t.deepEqual(broker.stored.get(0), ['before', 'lost']);
  const attempts = broker.received.filter((batch) => batch.baseSequence === 1);
  t.is(attempts.length, 2);
  t.true(attempts[0]!.bytes.equals(attempts[1]!.bytes), 'the retry is the same bytes');
});

// The control: the same lost answer with a producer that is not idempotent stores the message
// twice, so the test above would see a duplicate if the retry were not de-duplicated.
test('without idempotence, the same lost answer stores the message twice', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client);
  await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'before' }] });
  broker.faultAt(-1, { kind: 'lose-answer' });
  await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'lost' }] });
  t.deepEqual(broker.stored.get(0), ['before', 'lost', 'lost']);
});

test('NOT_LEADER_OR_FOLLOWER in the middle of a window: metadata is refreshed and the failed batch and every later one are resent in order, same bytes', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  await client.topic(TOPIC);
  const metadataBefore = broker.metadataCount;
  broker.hold(MAX_IN_FLIGHT_PER_PARTITION);
  broker.faultAt(2, { kind: 'not-leader' });
  const sent = values('n', 5);
  const sends = sent.map((value) =>
    producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value }] }),
  );
  // The five first attempts are answered together; then the resends of sequences 2-4.
  const results = await Promise.all(sends);
  t.true(broker.metadataCount > metadataBefore, 'metadata refreshed before the resend');
  t.deepEqual(
    broker.received.map((batch) => batch.baseSequence),
    [0, 1, 2, 3, 4, 2, 3, 4],
  );
  for (const sequence of [2, 3, 4]) {
    const [original, resent] = broker.received.filter((batch) => batch.baseSequence === sequence);
    t.true(original!.bytes.equals(resent!.bytes), `sequence ${sequence} resent as the same bytes`);
  }
  t.deepEqual(broker.stored.get(0), sent);
  t.deepEqual(
    results.map((result) => result.baseOffset),
    [0, 1, 2, 3, 4],
  );
});

test('a connection closed before the broker reads the batch: the batch and the ones after it are resent and stored once, in order', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  // batchBytes 1: every send() is a batch of its own.
  const producer = new Producer(client, { idempotent: true, batchBytes: 1 });
  await client.topic(TOPIC);
  broker.faultAt(3, { kind: 'drop' });
  const sent = values('d', 8);
  const results = await Promise.all(
    sent.map((value) => producer.send({ topic: TOPIC, partition: 1, value })),
  );
  t.is(broker.faultsMet, 1, 'the connection was dropped once');
  t.deepEqual(broker.received.map((batch) => batch.baseSequence).slice(0, 4), [0, 1, 2, 3]);
  t.deepEqual(broker.stored.get(1), sent);
  t.deepEqual(
    results.map((result) => result.offset),
    sent.map((_, i) => i),
  );
});

test('OUT_OF_ORDER_SEQUENCE_NUMBER on the first unacknowledged batch fails it with an IdempotenceError; the producer takes a new id and goes on', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'one' }] });
  // The broker's state for this producer says a later sequence came last (as after lost state).
  broker.producers.set('0/4000', {
    epoch: 3,
    batches: [{ firstSequence: 40, lastSequence: 40, baseOffset: 0 }],
  });
  const error = await t.throwsAsync(
    producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'refused' }] }),
    { instanceOf: IdempotenceError },
  );
  t.regex(error.message, /OUT_OF_ORDER_SEQUENCE_NUMBER/);
  t.false(error.maybeStored);
  const after = await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'two' }] });
  t.is(broker.initProducerIdCount, 2, 'a new producer id');
  t.like(broker.received.at(-1), { producerId: 4_001, baseSequence: 0 });
  t.is(after.baseOffset, 1);
  t.deepEqual(broker.stored.get(0), ['one', 'two']);
});

test('INVALID_PRODUCER_EPOCH fails the batch, and the batches after it (refused as out of order) are renumbered under a new producer id', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  await producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value: 'first' }] });
  broker.faultAt(1, { kind: 'answer', code: ErrorCode.INVALID_PRODUCER_EPOCH });
  broker.hold(3);
  const sends = ['fenced', 'next-1', 'next-2'].map((value) =>
    producer.produceMessage({ topic: TOPIC, partition: 0, messages: [{ value }] }),
  );
  const [fenced, ...rest] = await Promise.allSettled(sends);
  t.is(fenced.status, 'rejected');
  t.true((fenced as PromiseRejectedResult).reason instanceof IdempotenceError);
  t.regex((fenced as PromiseRejectedResult).reason.message, /INVALID_PRODUCER_EPOCH/);
  t.deepEqual(
    rest.map((result) => result.status),
    ['fulfilled', 'fulfilled'],
  );
  t.deepEqual(broker.stored.get(0), ['first', 'next-1', 'next-2']);
  t.deepEqual(
    broker.received.map(({ producerId, baseSequence }) => ({ producerId, baseSequence })),
    [
      { producerId: 4_000, baseSequence: 0 },
      { producerId: 4_000, baseSequence: 1 },
      { producerId: 4_000, baseSequence: 2 },
      { producerId: 4_000, baseSequence: 3 },
      { producerId: 4_001, baseSequence: 0 },
      { producerId: 4_001, baseSequence: 1 },
    ],
  );
});

test('DUPLICATE_SEQUENCE_NUMBER is an acknowledgement', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  broker.faultAt(0, { kind: 'answer', code: ErrorCode.DUPLICATE_SEQUENCE_NUMBER });
  const result = await producer.send({ topic: TOPIC, partition: 0, value: 'seen' });
  t.is(result.partition, 0);
  t.is(broker.received.length, 1, 'not resent');
  t.is(broker.faultsMet, 1, 'answered DUPLICATE_SEQUENCE_NUMBER');
});

test('an idempotent producer refuses acks other than -1', async (t) => {
  const { client } = await SequenceKeepingBroker.start(t);
  t.throws(() => new Producer(client, { idempotent: true, acks: 1 }), {
    instanceOf: GoqueueError,
    message: /acks/,
  });
  const producer = new Producer(client, { idempotent: true, acks: 'all' });
  await t.throwsAsync(
    producer.produceMessage({ topic: TOPIC, partition: 0, acks: 0, messages: [{ value: 'x' }] }),
    {
      instanceOf: GoqueueError,
      message: /acks -1/,
    },
  );
  t.false(new Producer(client).idempotent, 'not idempotent unless asked');
});

test('a batch that fails before reaching any broker (no such partition) frees its sequence: no new producer id', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    await t.throwsAsync(producer.send({ topic: TOPIC, partition: 7, value: 'nowhere' }), {
      message: /UNKNOWN_TOPIC_OR_PARTITION/,
    });
  }
  await producer.send({ topic: TOPIC, partition: 0, value: 'somewhere' });
  t.is(broker.initProducerIdCount, 1);
  t.like(broker.received, [{ producerId: 4_000, baseSequence: 0, values: ['somewhere'] }]);
});

test('a batch unacknowledged for deliveryTimeoutMs fails as maybe stored; the producer takes a new id for what comes next', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  const producer = new Producer(client, { idempotent: true, deliveryTimeoutMs: 300 });
  await producer.send({ topic: TOPIC, partition: 0, value: 'first' });
  broker.everyProduce = { kind: 'lose-answer' };
  const error = await t.throwsAsync(producer.send({ topic: TOPIC, partition: 0, value: 'unanswered' }), {
    instanceOf: IdempotenceError,
    message: /deliveryTimeoutMs/,
  });
  t.true(error.maybeStored);
  broker.everyProduce = null;
  await producer.send({ topic: TOPIC, partition: 0, value: 'after' });
  t.is(broker.initProducerIdCount, 2);
  t.like(broker.received.at(-1), { producerId: 4_001, baseSequence: 0, values: ['after'] });
  // The unanswered batch was stored by its first attempt, and only once.
  t.deepEqual(broker.stored.get(0), ['first', 'unanswered', 'after']);
});

// Seen on a loaded 3-broker cluster restarting: InitProducerId failed for longer than the
// client's retries, and every waiting send failed although its delivery timeout was far off.
test('a cluster that cannot hand out a producer id yet is asked again until the delivery timeout; the sends then succeed', async (t) => {
  const { broker, client } = await SequenceKeepingBroker.start(t);
  broker.initProducerIdRefusals = 20;
  const producer = new Producer(client, { idempotent: true, lingerMs: 1, deliveryTimeoutMs: 60_000 });
  const sent = await Promise.all(
    values('late', 3).map((value) => producer.send({ topic: TOPIC, partition: 0, value })),
  );
  t.deepEqual(
    sent.map((metadata) => metadata.offset),
    [0, 1, 2],
  );
  t.true(broker.initProducerIdCount > 20, 'asked until the cluster answered');
});
