/**
 * ConsumerGroup on a 3-broker cluster of real processes: the group coordinator's broker is
 * killed with kill -9 while three members read and a producer writes. The members find the new
 * coordinator, rejoin, and every acknowledged message is processed at least once.
 */
import test from 'ava';
import { CoordinatorLink, findCoordinator } from '../../src/client/group-coordinator.js';
import { fetchCommittedOffsets } from '../../src/client/group-offsets.js';
import { Producer } from '../../src/client/producer.js';
import { ProcessCluster } from '../cluster-processes/harness.js';
import {
  agreedController,
  createTopicThrough,
  ErrorCode,
  servingLeader,
} from '../cluster-processes/requests.js';
import { clientFor, eventually, Member, sharedState } from './consumer-group-helpers.js';

const TOPIC = 'failover-orders';
const PARTITIONS = 12;
const GROUP = 'failover-workers';

test.serial(
  'members find the new coordinator after its broker is killed (kill -9), rejoin, and process every acknowledged message',
  async (t) => {
    t.timeout(240_000);
    const cluster = await ProcessCluster.create(t, 3);
    await cluster.startAll();
    await agreedController(cluster, 3);
    t.like(
      await createTopicThrough(cluster.member(1).clientPort, {
        name: TOPIC,
        partitions: PARTITIONS,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    for (let partition = 0; partition < PARTITIONS; partition++)
      await servingLeader(cluster, TOPIC, partition);
    const brokers = cluster.brokers().join(',');
    const client = clientFor(t, brokers);

    // A producer that keeps writing; only acknowledged values must be read.
    const acknowledged: string[] = [];
    let producing = true;
    const producer = new Producer(client);
    const production = (async () => {
      for (let round = 0; producing; round++) {
        const values = Array.from({ length: PARTITIONS }, (_, partition) => `r${round}-p${partition}`);
        await Promise.all(
          values.map(async (value, partition) => {
            try {
              await producer.produceMessage({ topic: TOPIC, partition, messages: [{ value }] });
              acknowledged.push(value);
            } catch {
              // Not acknowledged (a leader moving): it need not be read.
            }
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const shared = sharedState();
    const members = ['a', 'b', 'c'].map(
      (name) =>
        new Member(
          name,
          clientFor(t, brokers),
          { groupId: GROUP, assignors: ['cooperative-sticky'] },
          [TOPIC],
          shared,
        ),
    );
    t.teardown(() => Promise.all(members.map((member) => member.close())));
    await Promise.all(members.map((member) => member.group.start()));
    await eventually(() => shared.seen.size >= 200);

    // Committed offsets before the kill, as the coordinator reports them.
    const coordinator = await findCoordinator(client, GROUP);
    const link = new CoordinatorLink(client, GROUP);
    t.teardown(() => link.close());
    await eventually(async () => (await fetchCommittedOffsets(link, null)).length === PARTITIONS);
    const before = new Map(
      (await fetchCommittedOffsets(link, null)).map((entry) => [entry.partition, entry.offset]),
    );
    link.reset();

    await cluster.kill(coordinator.nodeId);
    // Keep producing through the failover, then stop and wait for everything to be read.
    await eventually(async () => {
      const now = await findCoordinator(client, GROUP).catch(() => undefined);
      return now !== undefined && now.nodeId !== coordinator.nodeId;
    });
    const countAfterKill = shared.seen.size;
    await eventually(() => shared.seen.size >= countAfterKill + 200);
    producing = false;
    await production;
    await shared.waitForAll(acknowledged);
    t.true(
      acknowledged.every((value) => shared.seen.has(value)),
      'every acknowledged message processed',
    );
    t.deepEqual(shared.overlaps, [], 'no partition owned twice at once');

    // The new coordinator kept the commits made before the kill (no offset went backwards).
    const after = new Map(
      (await fetchCommittedOffsets(link, null)).map((entry) => [entry.partition, entry.offset]),
    );
    const backwards = [...before].filter(([partition, offset]) => (after.get(partition) ?? -1) < offset);
    t.deepEqual(backwards, [], 'committed offsets after the failover are at or past those before');
  },
);
