/**
 * The original go-queue's three start commands, as its users typed them (one-dash flags, `brokerN`
 * ids, a config file per node holding `data_dir` and the peers in `initial_cluster`), run in one
 * directory, form ONE cluster that takes acks=all writes and serves them back.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { kcat } from '../broker/helpers.js';
import { ProcessCluster } from './harness.js';
import { agreedController, createTopicThrough, ErrorCode, metadataOf, servingLeader } from './requests.js';

test.serial(
  'the seed one-dash commands (-config=brokerN.json -broker-id=brokerN -raft-addr -client-addr) with peers in the config files form one working cluster',
  async (t) => {
    t.timeout(150_000);
    const cluster = await ProcessCluster.create(t, 3);
    const ids = [1, 2, 3];
    const peers = ids.map((id) => `broker${id}=127.0.0.1:${cluster.member(id).raftPort}`);
    for (const id of ids)
      writeFileSync(
        join(cluster.root, `broker${id}.json`),
        JSON.stringify({ data_dir: `./data${id}`, initial_cluster: peers, log_level: 'info' }, null, 2),
      );
    const commands = ids.map((id) => [
      'broker',
      `-config=broker${id}.json`,
      `-broker-id=broker${id}`,
      `-raft-addr=127.0.0.1:${cluster.member(id).raftPort}`,
      `-client-addr=127.0.0.1:${cluster.member(id).clientPort}`,
    ]);
    await Promise.all(ids.map((id) => cluster.start(id, commands[id - 1], { cwd: cluster.root })));

    // One cluster, not three of one: the same cluster id on every broker and in every data
    // directory (relative to where the commands ran), and every broker lists all three.
    const started = ids.map((id) => cluster.member(id).lines.find((line) => line.msg === 'broker started'));
    const clusterIds = new Set(started.map((line) => line?.clusterId));
    t.is(clusterIds.size, 1, `cluster ids: ${[...clusterIds].join(', ')}`);
    for (const id of ids) {
      const identity = join(cluster.root, `data${id}`, 'cluster.json');
      t.true(existsSync(identity), `broker${id} keeps its data in ./data${id}`);
      t.is(JSON.parse(readFileSync(identity, 'utf8')).clusterId, [...clusterIds][0]);
    }
    await agreedController(cluster, 3);
    for (const id of ids) {
      const view = await metadataOf(cluster.member(id).clientPort);
      t.deepEqual(
        view.brokers.map((broker) => [broker.nodeId, broker.port]).sort(([a], [b]) => a! - b!),
        ids.map((other) => [other, cluster.member(other).clientPort]),
        `broker${id} lists the three brokers at their client addresses`,
      );
    }

    t.like(
      await createTopicThrough(cluster.member(2).clientPort, {
        name: 'seed',
        partitions: 2,
        replicationFactor: 3,
      }),
      { errorCode: ErrorCode.NONE },
    );
    for (const partition of [0, 1]) {
      const { replicas } = await servingLeader(cluster, 'seed', partition);
      t.deepEqual(replicas, ids);
    }
    const producer = cluster.kafka('seed-producer').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const values = Array.from({ length: 40 }, (_, i) => `seed-${i}`);
    await producer.send({
      topic: 'seed',
      acks: -1,
      messages: values.map((value, i) => ({ partition: i % 2, value })),
    });
    await producer.disconnect();
    const output = await kcat([
      '-C',
      '-b',
      cluster.brokers().join(','),
      '-t',
      'seed',
      '-e',
      '-q',
      '-f',
      '%s\n',
    ]);
    t.deepEqual(output.trim().split('\n').sort(), [...values].sort());
  },
);
