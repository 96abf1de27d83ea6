/**
 * Requests a client sends to the wrong broker of a 3-broker cluster (real processes on
 * loopback): each is answered at once with the Kafka error a client acts on (refresh metadata,
 * or find the coordinator again), never left hanging; the right broker serves the same request.
 */
import test from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { ProcessCluster } from './harness.js';
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
    const controller = await agreedController(cluster, 3);

    t.like(await createTopicThrough(port(1), { name: 'routed', partitions: 1, replicationFactor: 3 }), {
      errorCode: ErrorCode.NONE,
    });
    t.like(await createTopicThrough(port(1), { name: 'single', partitions: 1, replicationFactor: 1 }), {
      errorCode: ErrorCode.NONE,
    });
    const routed = await servingLeader(cluster, 'routed', 0);
    const single = await servingLeader(cluster, 'single', 0);
    t.deepEqual(routed.replicas, ids);
    t.is(single.replicas.length, 1);
    const follower = ids.find((id) => id !== routed.leaderId)!;
    const stranger = ids.find((id) => !single.replicas.includes(id))!;

    // The leaders take the very requests the others refuse, so the refusals are not about the
    // request itself.
    await withClient(port(routed.leaderId), async (client) => {
      t.is((await produceTo(client, 'routed', 0, ['to-leader'])).errorCode, ErrorCode.NONE);
      t.is(await fetchErrorFrom(client, 'routed', 0), ErrorCode.NONE);
    });
    await withClient(port(single.leaderId), async (client) => {
      t.is((await produceTo(client, 'single', 0, ['to-host'])).errorCode, ErrorCode.NONE);
      t.is(await fetchErrorFrom(client, 'single', 0), ErrorCode.NONE);
    });

    // A follower of the partition: produce and fetch are the leader's (follower reads are off).
    await withClient(port(follower), async (client) => {
      t.is(
        (await produceTo(client, 'routed', 0, ['to-follower'])).errorCode,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Produce to follower ${follower}`,
      );
      t.is(
        await fetchErrorFrom(client, 'routed', 0),
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Fetch from follower ${follower}`,
      );
    });
    // A broker without a replica of the partition answers the same, and its own metadata names
    // the leader the client must go to.
    await withClient(port(stranger), async (client) => {
      t.is(
        (await produceTo(client, 'single', 0, ['to-stranger'])).errorCode,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Produce to broker ${stranger}, which hosts no replica`,
      );
      t.is(
        await fetchErrorFrom(client, 'single', 0),
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Fetch from broker ${stranger}, which hosts no replica`,
      );
    });
    const strangerView = await metadataOf(port(stranger), ['single']);
    t.is(strangerView.topics[0]?.partitions[0]?.leaderId, single.leaderId);

    // FindCoordinator: every broker names the same live broker, at its client address.
    const coordinators = await Promise.all(
      ids.map((id) =>
        withClient(port(id), async (client) => {
          const response = await answered(
            client.request(ApiKey.FindCoordinator, 2, { key: 'routed-group', keyType: 0 }),
            `FindCoordinator from broker ${id}`,
          );
          return response.body as { errorCode: number; nodeId: number; host: string; port: number };
        }),
      ),
    );
    for (const answer of coordinators) t.is(answer.errorCode, ErrorCode.NONE);
    const coordinator = coordinators[0]!.nodeId;
    t.deepEqual(
      coordinators.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
      ids.map(() => ({ nodeId: coordinator, host: '127.0.0.1', port: port(coordinator) })),
    );
    t.true(ids.includes(coordinator));
    t.is(coordinator, controller, 'groups are coordinated by the controller leader (docs/cluster.md)');

    // Group requests elsewhere: NOT_COORDINATOR, so the client asks FindCoordinator again.
    for (const id of ids.filter((other) => other !== coordinator)) {
      await withClient(port(id), async (client) => {
        const join = await answered(
          client.request(ApiKey.JoinGroup, 5, joinBody('routed-group', '')),
          `JoinGroup at broker ${id}`,
        );
        t.is(join.body.errorCode, ErrorCode.NOT_COORDINATOR, `JoinGroup at broker ${id}`);
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
        t.is(
          commit.body.topics[0].partitions[0].errorCode,
          ErrorCode.NOT_COORDINATOR,
          `OffsetCommit at broker ${id}`,
        );
      });
    }
    // The coordinator serves the same JoinGroup (a v4+ first join is asked for its member id).
    await withClient(port(coordinator), async (client) => {
      const join = await answered(
        client.request(ApiKey.JoinGroup, 5, joinBody('routed-group', '')),
        'JoinGroup at the coordinator',
      );
      t.is(join.body.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    });
  },
);
