/**
 * Request size limits: a Produce request may carry many batches, each within max_message_size,
 * so the frame cap is max_request_size (Kafka's socket.request.max.bytes), not the batch cap.
 */
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { latestOffset, RawClient, readValues, startBroker } from './helpers.js';

function bigBatch(bytes: number, fill: number): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: [{ key: null, value: Buffer.alloc(bytes, fill) }],
  });
}

async function createTopic(client: RawClient, name: string, partitions: number): Promise<void> {
  const response = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  if (response.body.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`create ${name} failed`);
}

function produceAll(client: RawClient, topic: string, batches: Buffer[]) {
  return client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: batches.map((records, index) => ({ index, records })) }],
  });
}

test('one Produce request with 4 batches of 400 KiB (1.6 MiB in all, each under max_message_size) is accepted', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await createTopic(client, 'wide', 4);
  const batches = [1, 2, 3, 4].map((fill) => bigBatch(400 * 1024, fill));
  const response = await produceAll(client, 'wide', batches);
  const partitions: Array<{ index: number; errorCode: number; baseOffset: number }> =
    response.body.responses[0].partitionResponses;
  t.deepEqual(
    partitions.map((p) => [p.index, p.errorCode]),
    [0, 1, 2, 3].map((index) => [index, ErrorCode.NONE]),
  );
  t.false(client.closed);
  // Each partition holds its batch's one record, the last one of its log.
  for (const { index, baseOffset } of partitions) {
    t.deepEqual(await readValues(client, 'wide', index), [Buffer.alloc(400 * 1024, index + 1).toString()]);
    t.is((await latestOffset(client, 'wide', index)).offset, baseOffset + 1);
  }
});

test('a frame above max_request_size closes only that connection', async (t) => {
  const broker = await startBroker(t, { maxRequestBytes: 2 * 1024 * 1024 });
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await createTopic(client, 'narrow', 3);
  const tooBig = await RawClient.open(broker.address.port);
  t.teardown(() => tooBig.close());
  const frame = Buffer.alloc(4 + 16);
  frame.writeInt32BE(3 * 1024 * 1024, 0); // announces 3 MiB; the broker refuses before buffering it
  tooBig.write(frame);
  await tooBig.whenClosed();
  // Within the cap, several batches in one request still go through on another connection.
  const response = await produceAll(client, 'narrow', [bigBatch(500 * 1024, 7), bigBatch(500 * 1024, 8)]);
  t.true(
    response.body.responses[0].partitionResponses.every(
      (p: { errorCode: number }) => p.errorCode === ErrorCode.NONE,
    ),
  );
});
