import { spawn } from 'node:child_process';
import test from 'ava';
import { Kafka, logLevel, PartitionAssigners } from 'kafkajs';
import { ConsumerGroup } from '../../src/client/consumer-group.js';
import { CoordinatorLink } from '../../src/client/group-coordinator.js';
import { decodeAssignment, decodeSubscription } from '../../src/client/group-protocol.js';
import { bootstrap, startBroker } from '../broker/helpers.js';
import {
  clientFor,
  createTopic,
  describeGroup,
  eventually,
  Member,
  produceNumbered,
  sharedState,
} from './consumer-group-helpers.js';

const TOPIC = 'mixed-group';
const PARTITIONS = 12;

/** KafkaJS's own round-robin assigner under the name Java and librdkafka give theirs. */
const kafkajsRoundRobin: typeof PartitionAssigners.roundRobin = (config) => ({
  ...PartitionAssigners.roundRobin(config),
  name: 'roundrobin',
});

type Kind = 'sdk' | 'kafkajs' | 'kcat';

for (const first of ['sdk', 'kafkajs', 'kcat'] as const) {
  test(`a group of SDK members, a KafkaJS consumer.run member and a kcat -G member, led by ${first}, agrees on one protocol and one assignment and reads every message`, async (t) => {
    t.timeout(180_000);
    const broker = await startBroker(t);
    const client = clientFor(t, bootstrap(broker));
    await createTopic(client, TOPIC, PARTITIONS);
    const groupId = `mixed-${first}`;
    const shared = sharedState();
    const link = new CoordinatorLink(client, groupId);
    t.teardown(() => link.close());
    const describe = () => describeGroup(link);

    const starters: Record<Kind, () => Promise<void>> = {
      sdk: async () => {
        const sdk = ['sdk-1', 'sdk-2'].map(
          (name) =>
            new Member(
              name,
              clientFor(t, bootstrap(broker)),
              { groupId, assignors: ['roundrobin'] },
              [TOPIC],
              shared,
            ),
        );
        t.teardown(() => Promise.all(sdk.map((member) => member.close())));
        sdkMembers.push(...sdk);
      },
      kafkajs: async () => {
        const kafka = new Kafka({
          clientId: 'kafkajs-member',
          brokers: [bootstrap(broker)],
          logLevel: logLevel.NOTHING,
        });
        const kafkajs = kafka.consumer({
          groupId,
          partitionAssigners: [kafkajsRoundRobin],
          heartbeatInterval: 100,
          sessionTimeout: 10_000,
          rebalanceTimeout: 20_000,
        });
        await kafkajs.connect();
        t.teardown(() => kafkajs.disconnect());
        await kafkajs.subscribe({ topic: TOPIC, fromBeginning: true });
        await kafkajs.run({
          eachMessage: async ({ message }) => {
            shared.seen.add(message.value?.toString() ?? '');
            shared.onSeen();
          },
        });
      },
      kcat: async () => {
        const kcat = spawn(
          'kcat',
          [
            '-b',
            bootstrap(broker),
            '-G',
            groupId,
            '-u',
            '-q',
            '-X',
            'partition.assignment.strategy=roundrobin',
            '-X',
            'auto.offset.reset=earliest',
            '-X',
            'heartbeat.interval.ms=100',
            '-X',
            'session.timeout.ms=10000',
            '-f',
            '%s\n',
            TOPIC,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const kcatExit = new Promise((resolve) => kcat.on('exit', resolve));
        t.teardown(async () => {
          kcat.kill('SIGTERM');
          await kcatExit;
        });
        let pending = '';
        kcat.stdout.on('data', (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) shared.seen.add(line);
          shared.onSeen();
        });
      },
    };
    const sdkMembers: Member[] = [];
    // The coordinator keeps its first member as leader: start `first` alone, then the others.
    await starters[first]();
    await eventually(async () => (await describe()).groupState === 'Stable');
    const leaderClient = (await describe()).members[0].clientId;
    for (const kind of (['sdk', 'kafkajs', 'kcat'] as const).filter((kind) => kind !== first))
      await starters[kind]();

    await eventually(async () => {
      const group = await describe();
      return group.groupState === 'Stable' && group.members.length === 4;
    });
    const group = await describe();
    t.is(group.protocolType, 'consumer');
    t.is(group.protocolData, 'roundrobin');
    t.is(leaderClient, first === 'sdk' ? 'group-spec' : first === 'kafkajs' ? 'kafkajs-member' : 'rdkafka');
    const clients = group.members.map((member: { clientId: string }) => member.clientId).sort();
    t.true(clients.includes('kafkajs-member'), clients.join(','));
    t.true(clients.includes('rdkafka'), clients.join(','));
    const owned: number[] = [];
    for (const member of group.members) {
      t.deepEqual(decodeSubscription(member.memberMetadata).topics, [TOPIC]);
      for (const entry of decodeAssignment(member.memberAssignment).partitions) {
        t.is(entry.topic, TOPIC);
        owned.push(...entry.partitions);
      }
    }
    t.deepEqual(
      owned.sort((a, b) => a - b),
      Array.from({ length: PARTITIONS }, (_, i) => i),
      'the four members own every partition exactly once',
    );
    // Each SDK member owns what the leader's assignment gave it.
    await eventually(() => sdkMembers.every((member) => member.group.assignment().length === 3));
    for (const member of sdkMembers) t.is(member.group.assignment().length, 3);

    const values = await produceNumbered(client, TOPIC, PARTITIONS, 'mixed', 1_200);
    await shared.waitForAll(values);
    t.true(
      values.every((value) => shared.seen.has(value)),
      'every message read by some member',
    );
  });
}

test("a member sharing no assignor with the group (KafkaJS's default RoundRobinAssigner) fails with INCONSISTENT_GROUP_PROTOCOL instead of retrying", async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, TOPIC, 2);
  const kafka = new Kafka({
    clientId: 'kafkajs-default',
    brokers: [bootstrap(broker)],
    logLevel: logLevel.NOTHING,
  });
  const kafkajs = kafka.consumer({ groupId: 'apart', heartbeatInterval: 100, sessionTimeout: 10_000 });
  await kafkajs.connect();
  t.teardown(() => kafkajs.disconnect());
  await kafkajs.subscribe({ topic: TOPIC });
  await kafkajs.run({ eachMessage: async () => undefined });
  const link = new CoordinatorLink(client, 'apart');
  t.teardown(() => link.close());
  await eventually(async () => {
    const described = await describeGroup(link);
    return described.groupState === 'Stable';
  });

  const group = new ConsumerGroup(clientFor(t, bootstrap(broker)), { groupId: 'apart' }); // range, cooperative-sticky
  t.teardown(() => group.close());
  group.subscribe(TOPIC);
  await t.throwsAsync(group.start(), { message: /INCONSISTENT_GROUP_PROTOCOL/ });
  await t.throwsAsync(group.messages().next(), { message: /INCONSISTENT_GROUP_PROTOCOL/ });
});
