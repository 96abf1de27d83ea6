/**
 * Requests a client sends to the wrong broker of a 3-broker cluster (real processes on
 * loopback): each is answered at once with the Kafka error a client acts on (refresh metadata,
 * or find the coordinator again), never left hanging; the right broker serves the same request.
 */
import test from 'ava';
import { groupPartition } from '../../src/broker/group-log.js';
import { ApiKey } from '../../src/protocol/index.js';
import { eventually, ProcessCluster } from './harness.js';
import {
  agreedController,
  answered,
  createTopicThrough,
  ErrorCode,
  fetchErrorFrom,
  metadataOf,
  produceTo,
  servingLeader,
  withClient,
} from './requests.js';

function joinBody(groupId: string, memberId: string) {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
  };
}

test.serial(
  'a request routed to the wrong broker gets NOT_LEADER_OR_FOLLOWER or NOT_COORDINATOR at once, and FindCoordinator agrees everywhere',
  async (t) => {
    t.timeout(120_000);
    const cluster = await ProcessCluster.create(t, 3);
    await cluster.startAll();
    const ids = [1, 2, 3];
    const port = (id: number) => cluster.member(id).clientPort;
    await agreedController(cluster, 3);

    t.like(await createTopicThrough(port(1), { name: 'routed', partitions: 1, replicationFactor: 3 }), {
      errorCode: ErrorCode.NONE,
    });
    t.like(await createTopicThrough(port(1), { name: 'single', partitions: 1, replicationFactor: 1 }), {
      errorCode: ErrorCode.NONE,
    });
    // Leadership is read before and after the probes; the probes count only if no election
    // moved it meanwhile (a loaded machine can delay a heartbeat past the election timeout).
    const probed = await eventually(
      async () => {
        const routed = await servingLeader(cluster, 'routed', 0);
        const single = await servingLeader(cluster, 'single', 0);
        const follower = ids.find((id) => id !== routed.leaderId)!;
        const stranger = ids.find((id) => !single.replicas.includes(id))!;
        const answers = {
          // The leaders take the very requests the others refuse, so the refusals are not
          // about the request itself.
          leaderProduce: await withClient(port(routed.leaderId), async (client) => ({
            produce: (await produceTo(client, 'routed', 0, ['to-leader'])).errorCode,
            fetch: await fetchErrorFrom(client, 'routed', 0),
          })),
          hostProduce: await withClient(port(single.leaderId), async (client) => ({
            produce: (await produceTo(client, 'single', 0, ['to-host'])).errorCode,
            fetch: await fetchErrorFrom(client, 'single', 0),
          })),
          // A follower of the partition: produce and fetch are the leader's (follower reads
          // are off).
          follower: await withClient(port(follower), async (client) => ({
            produce: (await produceTo(client, 'routed', 0, ['to-follower'])).errorCode,
            fetch: await fetchErrorFrom(client, 'routed', 0),
          })),
          // A broker without a replica answers the same, and its own metadata names the leader
          // the client must go to.
          stranger: await withClient(port(stranger), async (client) => ({
            produce: (await produceTo(client, 'single', 0, ['to-stranger'])).errorCode,
            fetch: await fetchErrorFrom(client, 'single', 0),
          })),
          strangerNames: (await metadataOf(port(stranger), ['single'])).topics[0]?.partitions[0]?.leaderId,
        };
        const routedAfter = await servingLeader(cluster, 'routed', 0);
        const singleAfter = await servingLeader(cluster, 'single', 0);
        return routedAfter.leaderId === routed.leaderId && singleAfter.leaderId === single.leaderId
          ? { routed, single, follower, stranger, answers }
          : undefined;
      },
      60_000,
      'probes under one stable leadership',
    );
    const { routed, single, follower, stranger, answers } = probed;
    t.deepEqual(routed.replicas, ids);
    t.is(single.replicas.length, 1);
    t.deepEqual(answers.leaderProduce, { produce: ErrorCode.NONE, fetch: ErrorCode.NONE }, 'at the leader');
    t.deepEqual(answers.hostProduce, { produce: ErrorCode.NONE, fetch: ErrorCode.NONE }, 'at the host');
    t.deepEqual(
      answers.follower,
      { produce: ErrorCode.NOT_LEADER_OR_FOLLOWER, fetch: ErrorCode.NOT_LEADER_OR_FOLLOWER },
      `Produce and Fetch at follower ${follower}`,
    );
    t.deepEqual(
      answers.stranger,
      { produce: ErrorCode.NOT_LEADER_OR_FOLLOWER, fetch: ErrorCode.NOT_LEADER_OR_FOLLOWER },
      `Produce and Fetch at broker ${stranger}, which hosts no replica`,
    );
    t.is(answers.strangerNames, single.leaderId);

    // FindCoordinator from every broker, and group requests at every broker, under one leader of
    // the group's partition of __consumer_offsets (read before and after, as above; the first
    // FindCoordinator creates that topic).
    const groupsPartition = groupPartition('routed-group', 16);
    await withClient(port(1), (client) => client.findCoordinator('routed-group'));
    const grouped = await eventually(
      async () => {
        const leaderBefore = (await servingLeader(cluster, '__consumer_offsets', groupsPartition)).leaderId;
        const coordinators = await Promise.all(
          ids.map((id) =>
            withClient(port(id), async (client) => {
              const response = await answered(
                client.request(ApiKey.FindCoordinator, 2, { key: 'routed-group', keyType: 0 }),
                `FindCoordinator from broker ${id}`,
              );
              const { errorCode, nodeId, host, port } = response.body;
              return { errorCode, nodeId, host, port } as {
                errorCode: number;
                nodeId: number;
                host: string;
                port: number;
              };
            }),
          ),
        );
        const groupAnswers = await Promise.all(
          ids.map((id) =>
            withClient(port(id), async (client) => {
              const join = await answered(
                client.request(ApiKey.JoinGroup, 5, joinBody('routed-group', '')),
                `JoinGroup at broker ${id}`,
              );
              const commit = await answered(
                client.request(ApiKey.OffsetCommit, 5, {
                  groupId: 'routed-group',
                  generationId: 1,
                  memberId: 'someone',
                  topics: [
                    {
                      name: 'routed',
                      partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }],
                    },
                  ],
                }),
                `OffsetCommit at broker ${id}`,
              );
              return {
                id,
                join: join.body.errorCode as number,
                commit: commit.body.topics[0].partitions[0].errorCode as number,
              };
            }),
          ),
        );
        const leaderAfter = (await servingLeader(cluster, '__consumer_offsets', groupsPartition)).leaderId;
        return leaderBefore === leaderAfter ? { leader: leaderAfter, coordinators, groupAnswers } : undefined;
      },
      60_000,
      'group probes under one leader of the group partition',
    );
    // Every broker names the same live broker, at its client address: the leader of the group's
    // partition of __consumer_offsets, which coordinates the group (docs/cluster.md).
    for (const answer of grouped.coordinators) t.is(answer.errorCode, ErrorCode.NONE);
    const coordinator = grouped.coordinators[0]!.nodeId;
    t.true(ids.includes(coordinator));
    t.deepEqual(
      grouped.coordinators.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
      ids.map(() => ({ nodeId: coordinator, host: '127.0.0.1', port: port(coordinator) })),
    );
    t.is(coordinator, grouped.leader);
    // Group requests elsewhere: NOT_COORDINATOR, so the client asks FindCoordinator again. The
    // coordinator serves the same requests: a v4+ first join is asked for its member id, and a
    // commit from a member it does not know is refused as such.
    for (const answer of grouped.groupAnswers) {
      if (answer.id === coordinator) {
        t.is(answer.join, ErrorCode.MEMBER_ID_REQUIRED, 'JoinGroup at the coordinator');
        t.is(answer.commit, ErrorCode.UNKNOWN_MEMBER_ID, 'OffsetCommit at the coordinator');
      } else {
        t.deepEqual(
          { join: answer.join, commit: answer.commit },
          { join: ErrorCode.NOT_COORDINATOR, commit: ErrorCode.NOT_COORDINATOR },
          `JoinGroup and OffsetCommit at broker ${answer.id}`,
        );
      }
    }

    // A client mistake forwarded to the controller leader (deleting a topic that does not exist,
    // through a broker that does not lead the controller) is answered as such and not logged as
    // a broker error.
    const controller = await agreedController(cluster, 3);
    const other = ids.find((id) => id !== controller)!;
    const deleted = await withClient(port(other), (client) =>
      answered(
        client.request(ApiKey.DeleteTopics, 1, { topicNames: ['no-such-topic'], timeoutMs: 5000 }),
        'DeleteTopics',
      ),
    );
    t.is(deleted.body.responses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const errors = cluster.member(other).lines.filter((line) => line.msg === 'delete topic failed');
    t.deepEqual(errors, [], 'no error record for a client mistake');
  },
);
