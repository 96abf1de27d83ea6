import test from 'ava';
import type { BrokerContext } from '../../src/broker/context.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { latestOffset, RawClient, startBroker } from './helpers.js';

async function earliest(client: RawClient): Promise<number> {
  const response = await client.request(ApiKey.ListOffsets, 3, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: 'old', partitions: [{ partitionIndex: 0, timestamp: -2 }] }],
  });
  return response.body.topics[0].partitions[0].offset;
}

test('the scheduled cleanup drops whole segments past retention.ms and moves the log start offset', async (t) => {
  const broker = await startBroker(t, { cleanupIntervalMs: 20 });
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [
      {
        name: 'old',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [
          { name: 'retention.ms', value: '60000' },
          { name: 'segment.bytes', value: '4096' },
        ],
      },
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE, String(created.body.topics[0].errorMessage));
  // Twenty ~1 KiB batches stamped in 2001: several segments, all far past retention.
  for (let i = 0; i < 20; i++) {
    const records = encodeRecordBatch({
      baseTimestamp: 1_000_000_000_000 + i,
      attributes: Codec.None,
      records: [{ key: null, value: Buffer.alloc(1000, i) }],
    });
    const response = await client.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'old', partitionData: [{ index: 0, records }] }],
    });
    t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
  // Wait for a sweep (the broker's own timer) to move the log start.
  let start = await earliest(client);
  while (start === 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    start = await earliest(client);
  }
  // Whole old segments went; the active one (holding the last record) stays.
  const end = (await latestOffset(client, 'old')).offset;
  t.true(start > 0 && start < end, `log start ${start}, end ${end}`);
  const fetch = await client.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'old',
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
  t.is(fetch.body.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
});

/**
 * A partition's first entry is its Raft leader's no-op, a control batch. Stamped with the time
 * of the election, it made the first segment count as written "now" and, segments being dropped
 * oldest first, nothing behind it went either until retention.ms after the election: records
 * with old timestamps (replayed or mirrored data) outlived retention.ms. Raft's control batches
 * now carry no timestamp (-1).
 */
test('one retention sweep drops the segments whose records are all past retention.ms, though the first holds the leader no-op', async (t) => {
  // The broker's timer does not fire within the test: the sweep below is the only one.
  const broker = await startBroker(t, { cleanupIntervalMs: 3_600_000 });
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [
      {
        name: 'old',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [
          { name: 'retention.ms', value: '60000' },
          { name: 'segment.bytes', value: '4096' },
        ],
      },
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  for (let i = 0; i < 20; i++) {
    const records = encodeRecordBatch({
      baseTimestamp: 1_000_000_000_000 + i,
      attributes: Codec.None,
      records: [{ key: null, value: Buffer.alloc(1000, i) }],
    });
    const response = await client.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'old', partitionData: [{ index: 0, records }] }],
    });
    t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
  const { topics } = (broker as unknown as { context: BrokerContext }).context;
  const removed = await topics.runRetention(Date.now());
  t.true(removed > 0, `entries removed by the sweep: ${removed}`);
  t.true((await earliest(client)) > 0);
});
