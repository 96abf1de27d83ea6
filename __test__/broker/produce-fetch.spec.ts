import test from 'ava';
import { pino } from 'pino';
import { GroupCommit } from '../../src/broker/group-commit.js';
import { ApiKey, ErrorCode, encodeRequest } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { latestOffset, RawClient, startBroker, userBatches } from './helpers.js';

function batch(
  values: string[],
  options: { producerId?: number; baseSequence?: number; baseTimestamp?: number } = {},
) {
  return encodeRecordBatch({
    baseTimestamp: options.baseTimestamp ?? 1_700_000_000_000,
    attributes: Codec.None,
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerId === undefined ? -1 : 0,
    baseSequence: options.baseSequence ?? -1,
    records: values.map((value, i) => ({
      key: null,
      value: Buffer.from(value),
      timestamp: (options.baseTimestamp ?? 1_700_000_000_000) + i * 1000,
    })),
  });
}

async function setup(t: import('ava').ExecutionContext, partitions = 1) {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  return { broker, client };
}

/**
 * Produces one record and returns the high watermark after it. A new partition's leader has
 * appended its no-op (a control batch) but may not have committed it yet when CreateTopics
 * answers; once a produce is acknowledged, everything before it is committed, so the high
 * watermark stays put until the next produce.
 */
async function produceFirst(client: RawClient): Promise<number> {
  const reply = await client.request(ApiKey.Produce, 7, produceRequest(batch(['first'])));
  const partition = reply.body.responses[0].partitionResponses[0];
  if (partition.errorCode !== ErrorCode.NONE) throw new Error(`first produce failed: ${partition.errorCode}`);
  return partition.baseOffset + 1;
}

function produceRequest(records: Buffer, partition = 0) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: 't', partitionData: [{ index: partition, records }] }],
  };
}

function fetchRequest(fetchOffset: number, maxWaitMs: number, minBytes = 1) {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 't',
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

test('a long-polling fetch is answered by the produce that moves the high watermark, not by its timeout', async (t) => {
  const { broker, client } = await setup(t);
  // The fetch starts at the high watermark after a first produce (so past the leader's no-op,
  // which a fetch would return at once): nothing answers it yet.
  const end = await produceFirst(client);
  const consumer = await RawClient.open(broker.address.port);
  t.teardown(() => consumer.close());
  // Ten minutes of maxWaitMs: only a high-watermark wake-up can finish this test in time.
  const pending = consumer.request(ApiKey.Fetch, 11, fetchRequest(end, 600_000));
  const producer = await RawClient.open(broker.address.port);
  t.teardown(() => producer.close());
  const produced = await producer.request(ApiKey.Produce, 7, produceRequest(batch(['hello', 'world'])));
  t.is(produced.body.responses[0].partitionResponses[0].baseOffset, end);
  const response = await pending;
  const partition = response.body.responses[0].partitions[0];
  t.is(partition.highWatermark, end + 2);
  t.deepEqual(
    userBatches(partition.records)[0]!.records.map((r) => r.value!.toString()),
    ['hello', 'world'],
  );
});

test('responses leave in request order even when an earlier request (a parked fetch) finishes last', async (t) => {
  const { broker, client } = await setup(t);
  const end = await produceFirst(client);
  const order: number[] = [];
  // Fetch (parked at the high watermark, correlation 100) then ApiVersions (instant, 101)
  // pipelined on one connection.
  client.write(
    encodeRequest(
      { apiKey: ApiKey.Fetch, apiVersion: 11, correlationId: 100, clientId: 'o' },
      fetchRequest(end, 600_000),
    ),
  );
  client.write(
    encodeRequest({ apiKey: ApiKey.ApiVersions, apiVersion: 2, correlationId: 101, clientId: 'o' }, {}),
  );
  const first = client.nextFrame().then((frame) => order.push(frame.readInt32BE(0)));
  const second = client.nextFrame().then((frame) => order.push(frame.readInt32BE(0)));
  const producer = await RawClient.open(broker.address.port);
  t.teardown(() => producer.close());
  await producer.request(ApiKey.Produce, 7, produceRequest(batch(['wake'])));
  await Promise.all([first, second]);
  t.deepEqual(order, [100, 101]);
});

test('fetch below the log start or beyond the high watermark gets OFFSET_OUT_OF_RANGE', async (t) => {
  const { client } = await setup(t);
  const produced = await client.request(ApiKey.Produce, 7, produceRequest(batch(['a'])));
  const base: number = produced.body.responses[0].partitionResponses[0].baseOffset;
  const beyond = await client.request(ApiKey.Fetch, 11, fetchRequest(base + 5, 0));
  t.is(beyond.body.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const atEnd = await client.request(ApiKey.Fetch, 11, fetchRequest(base + 1, 0));
  t.is(atEnd.body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
  t.is(atEnd.body.responses[0].partitions[0].records.length, 0);
});

test('a duplicate of the last batch of an idempotent producer is acknowledged with its first offset and stored once', async (t) => {
  const { client } = await setup(t);
  const init = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 1000,
  });
  t.is(init.body.errorCode, ErrorCode.NONE);
  const producerId = init.body.producerId;
  t.true(producerId >= 0);
  const first = await client.request(
    ApiKey.Produce,
    7,
    produceRequest(batch(['a', 'b'], { producerId, baseSequence: 0 })),
  );
  const retry = await client.request(
    ApiKey.Produce,
    7,
    produceRequest(batch(['a', 'b'], { producerId, baseSequence: 0 })),
  );
  const base: number = first.body.responses[0].partitionResponses[0].baseOffset;
  t.is(first.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  t.is(retry.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  t.is(retry.body.responses[0].partitionResponses[0].baseOffset, base);
  const gap = await client.request(
    ApiKey.Produce,
    7,
    produceRequest(batch(['z'], { producerId, baseSequence: 7 })),
  );
  t.is(gap.body.responses[0].partitionResponses[0].errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const next = await client.request(
    ApiKey.Produce,
    7,
    produceRequest(batch(['c'], { producerId, baseSequence: 2 })),
  );
  // Stored once: the next batch follows the first one's two records directly.
  t.is(next.body.responses[0].partitionResponses[0].baseOffset, base + 2);
  const again = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 1000,
  });
  t.not(again.body.producerId, producerId);
});

test("a retry of any of an idempotent producer's last five batches is answered with that batch's offset, not stored again (Kafka keeps five)", async (t) => {
  const { client } = await setup(t);
  const init = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 1000,
  });
  const producerId = init.body.producerId;
  const offsets: number[] = [];
  for (let sequence = 0; sequence < 5; sequence++) {
    const reply = await client.request(
      ApiKey.Produce,
      7,
      produceRequest(batch([`v${sequence}`], { producerId, baseSequence: sequence })),
    );
    t.is(reply.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    offsets.push(reply.body.responses[0].partitionResponses[0].baseOffset);
  }
  // The answers of the first batches were lost: the client resends them.
  for (const sequence of [1, 0, 3]) {
    const retry = await client.request(
      ApiKey.Produce,
      7,
      produceRequest(batch([`v${sequence}`], { producerId, baseSequence: sequence })),
    );
    t.like(retry.body.responses[0].partitionResponses[0], {
      errorCode: ErrorCode.NONE,
      baseOffset: offsets[sequence],
    });
  }
  const next = await client.request(
    ApiKey.Produce,
    7,
    produceRequest(batch(['v5'], { producerId, baseSequence: 5 })),
  );
  t.is(next.body.responses[0].partitionResponses[0].baseOffset, offsets[4]! + 1, 'nothing was stored twice');
});

test('ListOffsets finds earliest, latest and the first record at or after a timestamp', async (t) => {
  const { client } = await setup(t);
  // Records at t0, t0+1s, t0+2s in one batch, then t1 .. t1+1s in another.
  const first = await client.request(
    ApiKey.Produce,
    7,
    produceRequest(batch(['a', 'b', 'c'], { baseTimestamp: 1_000_000 })),
  );
  const base: number = first.body.responses[0].partitionResponses[0].baseOffset;
  await client.request(ApiKey.Produce, 7, produceRequest(batch(['d', 'e'], { baseTimestamp: 2_000_000 })));
  const ask = async (timestamp: number) =>
    (
      await client.request(ApiKey.ListOffsets, 5, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      })
    ).body.topics[0].partitions[0];
  // A new partition's log starts at 0 (its first entry is the leader's no-op control batch).
  t.is((await ask(-2)).offset, 0);
  t.is((await ask(-1)).offset, base + 5);
  // The leader's no-op at offset 0 carries the time of its election (later than every record
  // here): a timestamp lookup skips it as consumers do, and finds the records.
  t.like(await ask(999_000), { offset: base, timestamp: 1_000_000 });
  t.like(await ask(1_001_000), { offset: base + 1, timestamp: 1_001_000 });
  t.like(await ask(1_500_000), { offset: base + 3, timestamp: 2_000_000 });
  t.is((await ask(9_000_000)).offset, -1);
});

test('OffsetForLeaderEpoch answers the end offset of the current epoch and fences stale epochs', async (t) => {
  const { client } = await setup(t);
  const produced = await client.request(ApiKey.Produce, 7, produceRequest(batch(['a', 'b', 'c'])));
  const base: number = produced.body.responses[0].partitionResponses[0].baseOffset;
  // The leader epoch is the partition group's Raft term; the broker says which it is.
  const { leaderEpoch: epoch } = await latestOffset(client, 't');
  t.true(epoch >= 1);
  const ask = async (currentLeaderEpoch: number, leaderEpoch: number) =>
    (
      await client.request(ApiKey.OffsetForLeaderEpoch, 2, {
        topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
      })
    ).body.topics[0].partitions[0];
  t.like(await ask(epoch, epoch), { errorCode: ErrorCode.NONE, leaderEpoch: epoch, endOffset: base + 3 });
  t.is((await ask(epoch - 1, epoch)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  t.is((await ask(epoch + 4, epoch)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
});

test('twenty partitions made dirty in the same turn share a single group-commit fsync cycle', async (t) => {
  const flushed: number[] = [];
  const commit = new GroupCommit(0, pino({ level: 'silent' }));
  const targets = Array.from({ length: 20 }, (_, i) => ({
    flush: async () => {
      flushed.push(i);
    },
  }));
  for (const target of targets) commit.markDirty(target);
  for (const target of targets) commit.markDirty(target); // marking twice coalesces too
  await commit.drain();
  t.is(commit.cycles, 1);
  t.deepEqual(
    flushed.sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('concurrent produces and fetches from many connections during group commits: offsets unique, contiguous, all read back', async (t) => {
  const { broker, client: first } = await setup(t);
  const start = await produceFirst(first);
  const clients = await Promise.all(Array.from({ length: 4 }, () => RawClient.open(broker.address.port)));
  t.teardown(() => {
    for (const client of clients) client.close();
  });
  const perClient = 40;
  const acknowledged: number[] = [];
  const producing = clients.map(async (client, c) => {
    const replies = [];
    for (let i = 0; i < perClient; i++) {
      // Pipelined: all requests of a client are in flight together.
      replies.push(
        client.request(ApiKey.Produce, 7, produceRequest(batch([`c${c}-${i}-a`, `c${c}-${i}-b`]))),
      );
    }
    for (const reply of await Promise.all(replies)) {
      const partition = reply.body.responses[0].partitionResponses[0];
      t.is(partition.errorCode, ErrorCode.NONE);
      acknowledged.push(partition.baseOffset);
    }
  });
  const reader = await RawClient.open(broker.address.port);
  t.teardown(() => reader.close());
  const fetching = (async () => {
    for (let i = 0; i < 20; i++) {
      const response = await reader.request(ApiKey.Fetch, 11, fetchRequest(0, 0));
      t.is(response.body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    }
  })();
  await Promise.all([...producing, fetching]);
  t.deepEqual(
    acknowledged.sort((a, b) => a - b),
    Array.from({ length: 4 * perClient }, (_, i) => start + i * 2),
  );
  const values: string[] = [];
  let offset = start;
  while (offset < start + 4 * perClient * 2) {
    const response = await reader.request(ApiKey.Fetch, 11, fetchRequest(offset, 0));
    for (const decoded of userBatches(response.body.responses[0].partitions[0].records)) {
      for (const record of decoded.records) {
        values.push(record.value!.toString());
        offset = record.offset + 1;
      }
    }
  }
  t.is(new Set(values).size, 4 * perClient * 2);
});
