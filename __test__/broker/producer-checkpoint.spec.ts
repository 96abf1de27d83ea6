import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, startBroker, temporaryDirectory } from './helpers.js';

function batch(value: string, producerId = -1, baseSequence = -1): Buffer {
  return encodeRecordBatch({
    baseTimestamp: Date.now(),
    attributes: Codec.None,
    producerId,
    producerEpoch: producerId < 0 ? -1 : 0,
    baseSequence,
    records: [{ key: null, value: Buffer.from(value), timestamp: Date.now() }],
  });
}

async function produce(
  client: RawClient,
  records: Buffer,
): Promise<{ errorCode: number; baseOffset: number }> {
  const reply = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
  });
  return reply.body.responses[0].partitionResponses[0];
}

// Before the producer checkpoint, a restart rebuilt producer state from the last 10,000 entries
// only: a producer whose last batch was older was unknown, and its retry was stored twice.
test('a restart keeps idempotent-producer state from the checkpoint: a retry of a batch 10,000+ entries back is answered with its original offset', async (t) => {
  t.timeout(120_000);
  const dataDir = temporaryDirectory(t);
  const broker = await startBroker(t, { dataDir });
  let client = await RawClient.open(broker.address.port);
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const init = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 1000,
  });
  const producerId: number = init.body.producerId;
  const original = await produce(client, batch('once', producerId, 0));
  t.is(original.errorCode, ErrorCode.NONE);
  // 10,050 more entries from a producer that is not idempotent: one batch per entry.
  for (let sent = 0; sent < 10_050; sent += 1_005) {
    const reply = await produce(
      client,
      Buffer.concat(Array.from({ length: 1_005 }, (_, i) => batch(`filler-${sent + i}`))),
    );
    t.is(reply.errorCode, ErrorCode.NONE);
  }
  client.close();
  await broker.stop();

  const restarted = await startBroker(t, { dataDir });
  client = await RawClient.open(restarted.address.port);
  t.teardown(() => client.close());
  const retry = await produce(client, batch('once', producerId, 0));
  t.deepEqual(retry, { ...retry, errorCode: ErrorCode.NONE, baseOffset: original.baseOffset });
  const next = await produce(client, batch('next', producerId, 1));
  t.is(next.errorCode, ErrorCode.NONE);
  // After the original: 10,050 fillers, then the restarted leader's no-op (a control batch).
  t.is(next.baseOffset, original.baseOffset + 1 + 10_050 + 1, 'the retry was not stored again');
});
