/**
 * The reassignment APIs on one in-process broker, through an independent encoder: kafkajs 2.2's
 * own alterPartitionReassignments / listPartitionReassignments (v0, flexible), and ElectLeaders
 * v0–v2 through the codec. One broker cannot move a replica anywhere; what is checked here is the
 * wire (both directions, both encoders) and the answers that need no second broker. The moves
 * themselves run in __test__/cluster-processes/reassignment-api.spec.ts.
 */
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { kafkaFor, RawClient, startBroker, waitForLeadership } from './helpers.js';

test('kafkajs reassigns a partition onto its own broker (a no-op move), lists no move, and gets INVALID_REPLICA_ASSIGNMENT for an unknown broker; a partition named twice is INVALID_REQUEST', async (t) => {
  const broker = await startBroker(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'solo', numPartitions: 2 }], waitForLeaders: true });

  await admin.alterPartitionReassignments({
    topics: [{ topic: 'solo', partitionAssignment: [{ partition: 0, replicas: [1] }] }],
  });
  t.deepEqual(await admin.listPartitionReassignments({}), { topics: [] });
  t.deepEqual(await admin.listPartitionReassignments({ topics: [{ topic: 'solo', partitions: [0, 1] }] }), {
    topics: [],
  });
  const refused = await t.throwsAsync(
    admin.alterPartitionReassignments({
      topics: [{ topic: 'solo', partitionAssignment: [{ partition: 1, replicas: [7] }] }],
    }),
  );
  // kafkajs gathers the partitions' errors into one aggregate error.
  const errors = (refused as unknown as { errors: Array<{ type: string; topic: string }> }).errors;
  t.deepEqual(
    errors.map((error) => [error.type, error.topic]),
    [['INVALID_REPLICA_ASSIGNMENT', 'solo']],
  );

  // A partition named twice in one request: both entries refused, nothing recorded.
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const twice = (
    await client.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 5_000,
      topics: [
        { name: 'solo', partitions: [{ partitionIndex: 1, replicas: [1] }] },
        { name: 'solo', partitions: [{ partitionIndex: 1, replicas: null }] },
      ],
    })
  ).body;
  t.is(twice.errorCode, ErrorCode.NONE);
  t.deepEqual(
    twice.responses.map(
      (topic: { partitions: Array<{ errorCode: number }> }) => topic.partitions[0]!.errorCode,
    ),
    [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
  );
});

test('ElectLeaders v0-v2: ELECTION_NOT_NEEDED for a partition its preferred replica leads, INVALID_REQUEST for unclean, UNKNOWN_TOPIC_OR_PARTITION, nothing listed for "all"', async (t) => {
  const broker = await startBroker(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'led', numPartitions: 1 }], waitForLeaders: true });
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await waitForLeadership(client, 'led');
  const only = { topicPartitions: [{ topic: 'led', partitions: [0] }], timeoutMs: 5_000 };
  for (const version of [0, 1, 2]) {
    const answer = (await client.request(ApiKey.ElectLeaders, version, { electionType: 0, ...only })).body;
    t.like(answer.replicaElectionResults[0], {
      topic: 'led',
      partitionResult: [{ partitionId: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED }],
    });
  }
  const unclean = (await client.request(ApiKey.ElectLeaders, 2, { electionType: 1, ...only })).body;
  t.is(unclean.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.INVALID_REQUEST);
  const unknown = (
    await client.request(ApiKey.ElectLeaders, 1, {
      electionType: 0,
      topicPartitions: [{ topic: 'nope', partitions: [3] }],
      timeoutMs: 5_000,
    })
  ).body;
  t.is(unknown.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const all = (
    await client.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 5_000 })
  ).body;
  t.deepEqual(all, { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: [] });
});
