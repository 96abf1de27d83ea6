/**
 * A broker that is not in --initial-cluster joins a running cluster with --join (any member's
 * raft address): it registers, follows the controller group as a learner (it answers Metadata
 * from its own applied copy), takes replicas of new topics, and rejoins after a restart.
 */
import { join } from 'node:path';
import test from 'ava';
import { requestJoin } from '../../src/cluster/transport.js';
import { nodeId } from '../../src/lib/ids.js';
import { eventually, freePort, ProcessCluster } from './harness.js';

test('a fourth broker joins a running 3-broker cluster with --join and serves a replica', async (t) => {
  t.timeout(180_000);
  const cluster = await ProcessCluster.create(t, 3);
  await cluster.startAll();
  const member = {
    id: 4,
    clientPort: await freePort(),
    raftPort: await freePort(),
    dataDir: join(cluster.root, 'broker-4'),
    child: null,
    exit: null,
    lines: [],
  };
  cluster.members.set(4, member);
  const args = [
    'broker',
    '--broker-id',
    '4',
    '--client-addr',
    `127.0.0.1:${member.clientPort}`,
    '--raft-addr',
    `127.0.0.1:${member.raftPort}`,
    '--data-dir',
    member.dataDir,
    '--join',
    `127.0.0.1:${cluster.member(2).raftPort}`,
    '--log-level',
    'info',
  ];
  await cluster.start(4, args);
  const admin = cluster.kafka().admin();
  await admin.connect();
  await eventually(
    async () => ((await admin.describeCluster()).brokers.length === 4 ? true : undefined),
    30_000,
    'four live brokers',
  );
  await admin.createTopics({
    topics: [{ topic: 'joined', replicaAssignment: [{ partition: 0, replicas: [4, 1, 2] }] }],
    waitForLeaders: false,
  });
  await admin.disconnect();
  const producer = cluster.kafka('p').producer();
  await producer.connect();
  for (let i = 0; i < 20; i++)
    await producer.send({ topic: 'joined', acks: -1, messages: [{ value: `v${i}` }] });
  await producer.disconnect();
  // The joined broker answers Metadata from its own copy of the controller log.
  const fromJoined = cluster.kafka('joined-only');
  const only = new (await import('kafkajs')).Kafka({
    clientId: 'only-4',
    brokers: [`127.0.0.1:${member.clientPort}`],
    logLevel: 0,
  });
  const soloAdmin = only.admin();
  await soloAdmin.connect();
  const topics = await eventually(
    async () => {
      const listed = await soloAdmin.listTopics();
      return listed.includes('joined') ? listed : undefined;
    },
    30_000,
    'the joined broker listing the topic',
  );
  t.true(topics.includes('joined'));
  await soloAdmin.disconnect();
  // After a restart (same command) it is still a member and still serves.
  await cluster.kill(4);
  await cluster.start(4, args);
  const consumer = fromJoined.consumer({ groupId: 'join-readers', maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'joined', fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen.length} of 20`)), 60_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          if (seen.length >= 20) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  t.deepEqual(
    seen,
    Array.from({ length: 20 }, (_, i) => `v${i}`),
  );
});

test('a join request is checked field by field: a forged command or a wrong token changes nothing', async (t) => {
  t.timeout(120_000);
  const cluster = await ProcessCluster.create(t, 1);
  await cluster.start(1);
  const admin = cluster.kafka().admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }] });
  const raft = { host: '127.0.0.1', port: cluster.member(1).raftPort };
  const forged = [
    {
      op: 'delete-topic',
      name: 'kept',
      raft: { host: 'x', port: 1 },
      client: { host: 'x', port: 1 },
      rack: null,
    },
    { raft: { host: 'x', port: 1 }, client: { host: 'x', port: 1 }, rack: null, token: 'not-the-token' },
    { raft: { host: 7, port: 1 }, client: { host: 'x', port: 1 }, rack: null, token: 'goqueue-cluster' },
  ];
  for (const body of forged)
    await t.throwsAsync(requestJoin(raft, nodeId(99), Buffer.from(JSON.stringify(body)), 10_000));
  t.true((await admin.listTopics()).includes('kept'));
  t.is((await admin.describeCluster()).brokers.length, 1, 'no broker 99 was registered');
});
