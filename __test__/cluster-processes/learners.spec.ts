/**
 * Five brokers of real processes on loopback where members 1-3 vote in the controller group and
 * members 4 and 5 follow it as learners (DESIGN decision 7): every broker registers and answers
 * Metadata from its own applied view, an admin request on a learner is forwarded to the
 * controller leader, RF=3 topics take acks=all writes, and losing learners never costs the
 * controller its quorum.
 */
import test from 'ava';
import { ProcessCluster } from './harness.js';
import {
  agreedController,
  createTopicThrough,
  ErrorCode,
  metadataOf,
  readPartition,
  servingLeader,
} from './requests.js';

const IDS = [1, 2, 3, 4, 5];
const LEARNERS = [4, 5];

/**
 * Three founding members (the controller voters) form the cluster; members 4 and 5 join the
 * running cluster with --join and follow the controller group as learners.
 */
async function fiveBrokers(
  t: import('ava').ExecutionContext,
): Promise<{ cluster: ProcessCluster; controller: number }> {
  const cluster = await ProcessCluster.create(t, 5);
  cluster.founding = 3;
  await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
  await agreedController(cluster, 3, 60_000);
  await Promise.all(LEARNERS.map((id) => cluster.start(id)));
  const controller = await agreedController(cluster, 5, 60_000);
  t.false(LEARNERS.includes(controller), `controller leader ${controller} is a voter`);
  return { cluster, controller };
}

test.serial(
  'five brokers (4 and 5 controller learners) all register and list five; an RF=3 topic created through a learner takes acks=all writes that read back; kill -9 of a learner leaves the controller undisturbed',
  async (t) => {
    t.timeout(180_000);
    const { cluster, controller } = await fiveBrokers(t);
    for (const id of IDS) {
      const view = await metadataOf(cluster.member(id).clientPort);
      t.deepEqual(
        view.brokers.map((broker) => [broker.nodeId, broker.port]).sort(([a], [b]) => a! - b!),
        IDS.map((other) => [other, cluster.member(other).clientPort]),
        `broker ${id} lists all five at their client addresses`,
      );
    }

    // CreateTopics on learner 5 is forwarded to the controller leader and answered once the
    // record is applied on 5 itself, so 5's own Metadata shows the topic at once.
    const learner = cluster.member(5).clientPort;
    t.like(await createTopicThrough(learner, { name: 'wide', partitions: 3, replicationFactor: 3 }), {
      errorCode: ErrorCode.NONE,
    });
    const seen = (await metadataOf(learner, ['wide'])).topics[0];
    t.is(seen?.errorCode, ErrorCode.NONE);
    t.deepEqual(
      seen?.partitions.map((partition) => partition.replicaNodes.length),
      [3, 3, 3],
    );
    for (const partition of [0, 1, 2]) await servingLeader(cluster, 'wide', partition);

    const kafka = cluster.kafka('five');
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const expected = new Map<number, string[]>([
      [0, []],
      [1, []],
      [2, []],
    ]);
    const send = async (prefix: string, count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({
        partition: i % 3,
        value: `${prefix}-${i}`,
      }));
      await producer.send({ topic: 'wide', acks: -1, messages });
      for (const message of messages) expected.get(message.partition)!.push(message.value);
    };
    await send('before', 60);
    for (const partition of [0, 1, 2])
      t.deepEqual(await readPartition(cluster, 'wide', partition), expected.get(partition));

    // kill -9 of learner 5: the controller keeps its leader, an admin request through the other
    // learner is served, and the topic still takes acks=all writes.
    await cluster.kill(5);
    t.like(
      await createTopicThrough(cluster.member(4).clientPort, {
        name: 'after-learner',
        partitions: 1,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    for (const id of [1, 2, 3, 4])
      t.is((await metadataOf(cluster.member(id).clientPort)).controllerId, controller, `broker ${id}`);
    await send('after', 30);
    for (const partition of [0, 1, 2])
      t.deepEqual(await readPartition(cluster, 'wide', partition), expected.get(partition));
  },
);

// With members 4 and 5 learners, the controller's quorum is 2 of its 3 voters: losing both
// learners and one voter leaves it serving.
test.serial(
  'members 4 and 5 are controller learners: with both down and a third broker too, the two remaining voters keep the controller serving',
  async (t) => {
    t.timeout(120_000);
    const { cluster, controller } = await fiveBrokers(t);
    const voter = [1, 2, 3].find((id) => id !== controller)!;
    await Promise.all([cluster.kill(4), cluster.kill(5), cluster.kill(voter)]);
    t.like(
      await createTopicThrough(cluster.member(controller).clientPort, {
        name: 'two-voters',
        partitions: 1,
        replicationFactor: 1,
      }),
      { errorCode: ErrorCode.NONE },
    );
  },
);
