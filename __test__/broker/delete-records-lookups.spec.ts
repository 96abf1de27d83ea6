/**
 * Lookups by time after DeleteRecords moved the log start into the middle of a batch: the
 * records of that batch below the start are deleted, so no lookup may answer one of them.
 */
import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { deleteRecordsOf, listOffsetOf } from './delete-records-requests.js';
import { RawClient, temporaryDirectory } from './helpers.js';

const BASE_TIMESTAMP_MS = 1_700_000_000_000;

test('a lookup by time never answers a record DeleteRecords deleted from the batch holding the new log start', async (t) => {
  const broker = await Broker.start({ dataDir: temporaryDirectory(t), host: '127.0.0.1', port: 0 });
  t.teardown(() => broker.stop());
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'straddle', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  // One batch of ten records, one millisecond apart.
  const produced = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [
      {
        name: 'straddle',
        partitionData: [
          {
            index: 0,
            records: encodeRecordBatch({
              baseTimestamp: BASE_TIMESTAMP_MS,
              attributes: Codec.None,
              records: Array.from({ length: 10 }, (_, i) => ({
                key: null,
                value: Buffer.from(`r${i}`),
                timestamp: BASE_TIMESTAMP_MS + i,
              })),
            }),
          },
        ],
      },
    ],
  });
  const answer = produced.body.responses[0].partitionResponses[0];
  t.is(answer.errorCode, ErrorCode.NONE);
  const base = Number(answer.baseOffset);
  const start = base + 5;
  t.deepEqual(await deleteRecordsOf(client, 'straddle', start), {
    lowWatermark: start,
    errorCode: ErrorCode.NONE,
  });
  t.deepEqual(await listOffsetOf(client, 'straddle', -2), { errorCode: ErrorCode.NONE, offset: start });

  // Record base+2 (deleted) is the first at its timestamp: the answer is the first record kept.
  t.deepEqual(await listOffsetOf(client, 'straddle', BASE_TIMESTAMP_MS + 2), {
    errorCode: ErrorCode.NONE,
    offset: start,
  });
  t.deepEqual(await listOffsetOf(client, 'straddle', BASE_TIMESTAMP_MS + 7), {
    errorCode: ErrorCode.NONE,
    offset: base + 7,
  });
});
