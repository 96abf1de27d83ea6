/**
 * The broker process exited: OffsetCommit metadata had no size limit
 * (Kafka: offset.metadata.max.bytes, 4096, answered OFFSET_METADATA_TOO_LARGE) and a commit may
 * name the same partition many times. The whole commit becomes one `__consumer_offsets` record,
 * proposed as one Raft entry without the size check Produce makes; the native log refuses an
 * entry above max_message_size inside the Raft loop ("record batch too large ... above
 * maxBatchBytes 1048576"), which is fatal: the broker stops. One request from any client does it;
 * so does a legitimate commit of ~20 000 partitions, or a generation record of a large group.
 * Now metadata above 4096 bytes is refused per partition (OFFSET_METADATA_TOO_LARGE), a repeated
 * partition counts once, a large commit is split into several records, and any record above the
 * batch limit is refused before it is proposed (group-homes.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { RawClient, spawnBroker } from './helpers.js';

test('an offset commit larger than max_message_size is refused and the broker keeps committing offsets', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-review-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const broker = await spawnBroker({ dataDir, port: 0 });
  t.teardown(() => broker.child.kill('SIGKILL'));
  const client = await RawClient.open(broker.port);
  t.teardown(() => client.close());
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  await client.findCoordinator('g');
  // 80 copies of partition 0, each with 30 000 characters of metadata: about 2.4 MB in one record.
  const metadata = 'm'.repeat(30_000);
  const huge = await Promise.race([
    client
      .request(ApiKey.OffsetCommit, 5, {
        groupId: 'g',
        generationId: -1,
        memberId: '',
        topics: [
          {
            name: 't',
            partitions: Array.from({ length: 80 }, () => ({
              partitionIndex: 0,
              committedOffset: 1,
              committedMetadata: metadata,
            })),
          },
        ],
      })
      .then((answer) => answer.body.topics[0].partitions[0].errorCode as number),
    broker.exited.then((code) => `the broker exited (code ${code})`),
  ]);
  t.is(huge, ErrorCode.OFFSET_METADATA_TOO_LARGE, String(huge));
  // The broker still works: an ordinary commit of the same group succeeds and reads back.
  const commit = await client.request(ApiKey.OffsetCommit, 5, {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    topics: [
      { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedMetadata: null }] },
    ],
  });
  t.is(commit.body.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const fetched = await client.request(ApiKey.OffsetFetch, 4, {
    groupId: 'g',
    topics: [{ name: 't', partitionIndexes: [0] }],
  });
  t.is(fetched.body.topics[0].partitions[0].committedOffset, 42);
});
