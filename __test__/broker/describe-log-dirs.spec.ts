import { resolve } from 'node:path';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, startBroker } from './helpers.js';

interface Described {
  errorCode?: number;
  results: Array<{
    errorCode: number;
    logDir: string;
    topics: Array<{
      name: string;
      partitions: Array<{ partitionIndex: number; partitionSize: number; offsetLag: number }>;
    }>;
    totalBytes?: number;
    usableBytes?: number;
  }>;
}

test('DescribeLogDirs v0-v4 answer the data directory and the hosted partitions asked for, with their bytes on disk', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'sized', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  const describe = async (version: number, topics: unknown): Promise<Described> =>
    (await client.request(ApiKey.DescribeLogDirs, version, { topics })).body as Described;
  const sizeOf = (answer: Described, partition: number): number =>
    answer.results[0]?.topics
      .find((topic) => topic.name === 'sized')
      ?.partitions.find((entry) => entry.partitionIndex === partition)?.partitionSize ?? -1;

  const before = await describe(4, null);
  const response = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [
      {
        name: 'sized',
        partitionData: [
          {
            index: 1,
            records: encodeRecordBatch({
              baseTimestamp: 1_700_000_000_000,
              attributes: Codec.None,
              records: [{ key: null, value: Buffer.alloc(2000, 1) }],
            }),
          },
        ],
      },
    ],
  });
  t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);

  for (const version of [0, 1, 2, 3, 4]) {
    const answer = await describe(version, null);
    t.is(answer.results.length, 1);
    const [result] = answer.results;
    t.is(result?.errorCode, ErrorCode.NONE);
    t.is(result?.logDir, resolve(broker.config.dataDir));
    t.true(sizeOf(answer, 1) >= sizeOf(before, 1) + 2000, `v${version}: partition 1 grew by the batch`);
    t.true(sizeOf(answer, 0) >= 0);
    t.is(result?.topics.find((topic) => topic.name === 'sized')?.partitions[0]?.offsetLag, 0);
    if (version >= 3) t.is(answer.errorCode, ErrorCode.NONE);
    if (version >= 4)
      t.true((result?.totalBytes ?? 0) >= (result?.usableBytes ?? -1) && (result?.usableBytes ?? -1) >= 0);
  }
  // Only what is asked for; partitions and topics this broker does not host are left out.
  const filtered = await describe(2, [
    { topic: 'sized', partitions: [1, 7] },
    { topic: 'absent', partitions: [0] },
  ]);
  t.deepEqual(
    filtered.results[0]?.topics.map((topic) => [
      topic.name,
      topic.partitions.map((entry) => entry.partitionIndex),
    ]),
    [['sized', [1]]],
  );
});
