/**
 * Self-healing on real broker processes: a broker killed for good has its replicas moved to the
 * live brokers after `replica_replace_after` (learner, catch-up, promotion, removal), with a
 * producer writing throughout and nothing acknowledged lost; when it comes back it deletes the
 * replicas that moved away and takes new work.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { eventually, ProcessCluster } from './harness.js';
import {
  createTopicsOnAll,
  healingConfig,
  partitionReplicas,
  produceThroughout,
  readValues,
} from './self-healing-helpers.js';

test.serial(
  'a broker killed for good: its replicas move to the live brokers, every partition has RF 3 again, nothing acknowledged is lost; back, it deletes them and takes new work',
  async (t) => {
    t.timeout(300_000);
    const config = healingConfig(t, {
      replica_replace_after: '1s',
      leader_balance_interval: 0,
    });
    const cluster = await ProcessCluster.create(t, 4, ['--broker-session-timeout', '3s', '--config', config]);
    await cluster.startAll();
    const kafka = cluster.kafka();
    await createTopicsOnAll(kafka, 4, [{ topic: 'heal', numPartitions: 4, replicationFactor: 3 }]);
    const before = await partitionReplicas(kafka, 'heal');
    // Broker 4 follows the controller as a learner, so the controller keeps its three voters.
    const victim = 4;
    t.true([...before.values()].some((replicas) => replicas.includes(victim)));

    const writer = produceThroughout(kafka, 'heal', 4);
    await eventually(() => (writer.acknowledged.size >= 50 ? true : undefined), 60_000, 'first writes');
    await cluster.kill(victim);
    const healed = await eventually<Map<number, number[]>>(
      async () => {
        const replicas = await partitionReplicas(cluster.kafka('probe'), 'heal');
        const done = [...replicas.values()].every((list) => list.length === 3 && !list.includes(victim));
        return done && replicas.size === 4 ? replicas : undefined;
      },
      180_000,
      'every partition back to 3 replicas on live brokers',
    ).catch((error) => {
      for (const member of cluster.members.values())
        for (const line of member.lines)
          if (line.component === 'controller-tasks' || /move|fenc/.test(line.msg))
            t.log(member.id, line.msg, JSON.stringify({ ...line, msg: undefined }).slice(0, 400));
      throw error;
    });
    for (const replicas of healed.values()) t.deepEqual(replicas, [1, 2, 3]);
    await eventually(
      () => (writer.acknowledged.size >= 200 ? true : undefined),
      60_000,
      'writes after healing',
    );
    const acknowledged = await writer.stop();
    t.log(`${acknowledged.size} writes acknowledged during the move`);

    // The moves are visible in the controller leader's log.
    const moveLines = [...cluster.members.values()].flatMap((member) =>
      member.lines.filter((line) => line.msg === 'partition move complete'),
    );
    t.true(moveLines.length >= 1, 'the controller logged completed moves');

    const read = await readValues(cluster.kafka('reader'), 'heal', acknowledged);
    const missing = [...acknowledged].filter((value) => !read.has(value));
    t.deepEqual(missing, [], 'every acknowledged write is there');

    // Back: the replicas it held moved away, so it deletes them once its new registration is
    // applied; it then takes new work. Replica balancing (on by default) may give it replicas
    // again at once, even of the same partitions, so the directory need not stay empty: what
    // holds is that each old replica was deleted, as its log says.
    const victimPartitions = join(cluster.member(victim).dataDir, 'partitions');
    const oldReplicas = readdirSync(victimPartitions).map((name) => join(victimPartitions, name));
    t.true(oldReplicas.length > 0, 'the dead broker still holds its old replicas');
    await cluster.start(victim);
    const removed = (): Set<unknown> =>
      new Set(
        cluster
          .member(victim)
          .lines.filter((line) => /^removed a (partition )?replica/.test(line.msg))
          .map((line) => line.directory),
      );
    await eventually(
      () => (oldReplicas.every((directory) => removed().has(directory)) ? true : undefined),
      60_000,
      'the returning broker deleting replicas that moved away',
    ).catch((error) => {
      t.log('old replicas', oldReplicas, 'removed', [...removed()]);
      throw error;
    });
    const admin2 = cluster.kafka('after').admin();
    await admin2.connect();
    await eventually(
      async () => ((await admin2.describeCluster()).brokers.length === 4 ? true : undefined),
      30_000,
      'the returning broker unfenced',
    );
    await admin2.createTopics({
      topics: [{ topic: 'fresh', numPartitions: 4, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin2.disconnect();
    const fresh = await partitionReplicas(cluster.kafka('after'), 'fresh');
    t.true(
      [...fresh.values()].some((replicas) => replicas.includes(victim)),
      'new replicas go to it again',
    );
    t.true(existsSync(victimPartitions));
  },
);
