/**
 * The controller group grows to its voter target (`controller_voters`, 3 by default) as brokers
 * join, on real broker processes: a cluster started with broker 1 alone (one controller voter) and
 * joined by brokers 2 and 3 ends with voters 1, 2, 3. Then broker 1 is killed with SIGKILL: the
 * other two elect a controller leader among themselves, fence broker 1, create a topic, take
 * writes and serve them back. Before the growth, losing broker 1 lost the metadata quorum.
 *
 * Along the way, replica balancing meets an operator's placement: two partitions created with
 * explicit assignments on broker 1 stay there, while two the controller placed on broker 1 (the
 * only broker then) move to the joined brokers.
 */
import test from 'ava';
import { eventually, freePort, ProcessCluster } from './harness.js';
import {
  createTopicThrough,
  ErrorCode,
  produceTo,
  readPartition,
  servingLeader,
  withClient,
} from './requests.js';
import { addJoiningMember, healingConfig, partitionReplicas } from './self-healing-helpers.js';

interface Status {
  controllerId: number;
  controllerGroup: { voters: number[]; learners: number[]; step: string };
  brokers: Array<{ brokerId: number; state: string }>;
}

/** Starts member `id` with its own admin HTTP port; resolves with that port. */
async function startMember(t: Parameters<typeof healingConfig>[0], cluster: ProcessCluster, id: number) {
  const httpPort = await freePort();
  await cluster.start(id, [
    ...cluster.args(id),
    '--config',
    healingConfig(t, { 'server.http_port': httpPort, leader_balance_interval: 0 }),
  ]);
  return httpPort;
}

async function clusterStatus(httpPort: number): Promise<Status> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/v1/cluster`);
  if (!response.ok) throw new Error(`GET /v1/cluster answered ${response.status}`);
  return (await response.json()) as Status;
}

test('a one-broker cluster joined by two brokers grows to three controller voters and survives kill -9 of the first', async (t) => {
  t.timeout(120_000);
  const cluster = await ProcessCluster.create(t, 1, ['--broker-session-timeout', '3s']);
  await startMember(t, cluster, 1);
  const admin = cluster.kafka().admin();
  await admin.connect();
  // The operator's partitions first: lower group ids, which balancing would otherwise pick first.
  const pinned = [
    { partition: 0, replicas: [1] },
    { partition: 1, replicas: [1] },
  ];
  await admin.createTopics({
    topics: [{ topic: 'pinned', replicaAssignment: pinned }],
    waitForLeaders: true,
  });
  await admin.createTopics({
    topics: [{ topic: 'assigned', numPartitions: 2, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  await addJoiningMember(cluster, 2);
  await addJoiningMember(cluster, 3);
  await startMember(t, cluster, 2);
  const httpPort = await startMember(t, cluster, 3);
  const grown = await eventually(
    async () => {
      const seen = await clusterStatus(httpPort);
      return seen.controllerGroup.voters.join(',') === '1,2,3' ? seen : undefined;
    },
    60_000,
    'controller voters 1, 2, 3',
  );
  t.deepEqual(grown.controllerGroup.learners, []);
  // The controller's placement is evened out (broker 1 held all four replicas); the operator's stays.
  const assigned = await eventually(
    async () => {
      const replicas = [...(await partitionReplicas(cluster.kafka('probe'), 'assigned')).values()];
      return replicas.flat().sort().join(',') === '2,3' ? replicas : undefined;
    },
    60_000,
    'the controller-placed partitions on brokers 2 and 3',
  );
  t.deepEqual(assigned.flat().sort(), [2, 3]);
  t.deepEqual([...(await partitionReplicas(cluster.kafka('probe'), 'pinned')).values()], [[1], [1]]);
  const logged = [1, 2, 3].flatMap((id) => cluster.member(id).lines);
  t.is(logged.filter((line) => line.msg === 'controller group grew by one voter').length, 2);

  await cluster.kill(1);
  // Brokers 2 and 3 are a majority of the three voters: they elect a leader, which fences broker 1.
  const after = await eventually(
    async () => {
      const seen = await clusterStatus(httpPort);
      const one = seen.brokers.find((broker) => broker.brokerId === 1);
      return seen.controllerId !== 1 && one?.state === 'fenced' ? seen : undefined;
    },
    60_000,
    'a controller leader among brokers 2 and 3 with broker 1 fenced',
  );
  t.true([2, 3].includes(after.controllerId));
  const created = await eventually(
    async () => {
      const answer = await createTopicThrough(cluster.member(3).clientPort, {
        name: 'after',
        partitions: 1,
        replicationFactor: 2,
      });
      return answer.errorCode === ErrorCode.NONE ? answer : undefined;
    },
    30_000,
    'topic after created without broker 1',
  );
  t.is(created.errorCode, ErrorCode.NONE);
  const { leaderId, replicas } = await servingLeader(cluster, 'after', 0);
  t.deepEqual(replicas, [2, 3]);
  const values = Array.from({ length: 10 }, (_, index) => `v${index}`);
  const produced = await withClient(cluster.member(leaderId).clientPort, (client) =>
    produceTo(client, 'after', 0, values),
  );
  t.is(produced.errorCode, ErrorCode.NONE);
  t.deepEqual(await readPartition(cluster, 'after', 0), values);
});
