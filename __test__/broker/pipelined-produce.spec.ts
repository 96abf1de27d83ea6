import test from 'ava';
import { ApiKey, decodeResponse, ErrorCode, encodeRequest } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, startBroker, userBatches } from './helpers.js';

function idempotentBatch(value: string, producerId: number, baseSequence: number): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    producerId,
    producerEpoch: 0,
    baseSequence,
    records: [{ key: null, value: Buffer.from(value), timestamp: 1_700_000_000_000 }],
  });
}

function produceBody(records: Buffer) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
  };
}

test('an idempotent producer with several produces in flight (and a retry of one still committing) gets every batch stored once, in sequence, without OUT_OF_ORDER_SEQUENCE_NUMBER', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  const init = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 1000,
  });
  const producerId: number = init.body.producerId;
  const first = await client.request(ApiKey.Produce, 7, produceBody(idempotentBatch('a', producerId, 0)));
  t.is(first.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  // The leader's no-op (a control batch) may come first: offsets count from the first produce's.
  const base: number = first.body.responses[0].partitionResponses[0].baseOffset;

  // Three produces in one write, as a pipelining client sends them: sequences 1 and 2, then a
  // retry of sequence 2 before its commit was answered. All reach the broker before any commits.
  const frames = [
    idempotentBatch('b', producerId, 1),
    idempotentBatch('c', producerId, 2),
    idempotentBatch('c', producerId, 2),
  ].map((records, i) =>
    encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 7, correlationId: 100 + i, clientId: 'raw' },
      produceBody(records),
    ),
  );
  const answers = frames.map(() => client.nextFrame());
  client.write(Buffer.concat(frames));
  const partitions = (await Promise.all(answers)).map(
    (frame) => decodeResponse(ApiKey.Produce, 7, frame).body.responses[0].partitionResponses[0],
  );
  t.deepEqual(
    partitions.map((p: { errorCode: number; baseOffset: number }) => [p.errorCode, p.baseOffset]),
    [
      [ErrorCode.NONE, base + 1],
      [ErrorCode.NONE, base + 2],
      [ErrorCode.NONE, base + 2],
    ],
  );

  const fetched = await client.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
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
            fetchOffset: 0,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const data = fetched.body.responses[0].partitions[0];
  t.is(data.highWatermark, base + 3);
  const values = userBatches(data.records).flatMap((b: { records: Array<{ value: Buffer | null }> }) =>
    b.records.map((r) => r.value?.toString()),
  );
  t.deepEqual(values, ['a', 'b', 'c']);
});
