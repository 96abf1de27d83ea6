import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { RawClient, startBroker } from './helpers.js';

function joinBody(memberId: string) {
  return {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
  };
}

test('a member of the current generation commits its offsets while a joining member makes the group rebalance (Kafka allows it in PreparingRebalance)', async (t) => {
  const broker = await startBroker(t);
  const first = await RawClient.open(broker.address.port);
  const second = await RawClient.open(broker.address.port);
  t.teardown(() => {
    first.close();
    second.close();
  });
  await first.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  await first.findCoordinator('g');
  const required = await first.request(ApiKey.JoinGroup, 5, joinBody(''));
  const memberId: string = required.body.memberId;
  const joined = await first.request(ApiKey.JoinGroup, 5, joinBody(memberId));
  t.is(joined.body.errorCode, ErrorCode.NONE);
  const generationId: number = joined.body.generationId;
  await first.request(ApiKey.SyncGroup, 3, {
    groupId: 'g',
    generationId,
    memberId,
    groupInstanceId: null,
    assignments: [{ memberId, assignment: Buffer.from('all') }],
  });

  // A second consumer joins: the group goes to PreparingRebalance and its JoinGroup waits.
  const secondRequired = await second.request(ApiKey.JoinGroup, 5, joinBody(''));
  void second.request(ApiKey.JoinGroup, 5, joinBody(secondRequired.body.memberId));
  let heartbeat: number = ErrorCode.NONE;
  while (heartbeat === ErrorCode.NONE) {
    const answer = await first.request(ApiKey.Heartbeat, 3, {
      groupId: 'g',
      generationId,
      memberId,
      groupInstanceId: null,
    });
    heartbeat = answer.body.errorCode;
  }
  t.is(heartbeat, ErrorCode.REBALANCE_IN_PROGRESS);

  // Before rejoining, the first member commits what it processed (as KafkaJS and librdkafka do).
  const commit = await first.request(ApiKey.OffsetCommit, 5, {
    groupId: 'g',
    generationId,
    memberId,
    topics: [
      { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedMetadata: null }] },
    ],
  });
  t.is(commit.body.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const fetched = await first.request(ApiKey.OffsetFetch, 4, {
    groupId: 'g',
    topics: [{ name: 't', partitionIndexes: [0] }],
  });
  t.is(fetched.body.topics[0].partitions[0].committedOffset, 42);

  // A commit naming an older generation is still refused.
  const stale = await first.request(ApiKey.OffsetCommit, 5, {
    groupId: 'g',
    generationId: generationId - 1,
    memberId,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 7, committedMetadata: null }] }],
  });
  t.is(stale.body.topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
});
