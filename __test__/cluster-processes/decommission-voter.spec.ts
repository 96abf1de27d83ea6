/**
 * Decommissioning a controller voter on real broker processes: 4 brokers (controller voters 1, 2,
 * 3; broker 4 a learner). `goqueue cluster decommission 1` moves broker 1's replicas and its
 * voter role (broker 1 also leads the controller group: leadership moves first) to the others;
 * afterwards the controller group's voters are 2, 3 and 4, and with broker 1 killed the cluster
 * still creates topics, takes writes and serves reads. Decommissioning voter 2 then is refused (no
 * live broker outside the voters is left to take its place), and a voter killed for good is
 * replaced after `replica_replace_after`.
 */
import test from 'ava';
import { finished, spawnCli } from '../cli/helpers.js';
import { eventually, ProcessCluster } from './harness.js';
import { createTopicsOnAll, readValues, startWithAdmin } from './self-healing-helpers.js';

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await finished(spawnCli(args));
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

interface Status {
  controllerId: number;
  controllerGroup: { voters: number[]; learners: number[]; step: string };
  brokers: Array<{ brokerId: number; replicas: number }>;
  moves: unknown[];
}

test.serial(
  'decommissioning controller voter 1 promotes a learner and demotes 1 (a second voter is refused); with 1 killed the cluster creates, writes and reads',
  async (t) => {
    t.timeout(300_000);
    const cluster = await ProcessCluster.create(t, 4, []);
    const httpPorts = await startWithAdmin(t, cluster, {
      offsets_topic_num_partitions: 1,
      leader_balance_interval: 0,
    });
    const admin = `127.0.0.1:${httpPorts.get(2)}`;
    const status = async (): Promise<Status> =>
      JSON.parse((await cli(['cluster', '--admin', admin, '--json'])).stdout) as Status;
    // RF 2, so that the second decommission below meets the voter check, not the partitions'.
    await createTopicsOnAll(cluster.kafka(), 4, [
      { topic: 'before', numPartitions: 3, replicationFactor: 2 },
    ]);
    const initial = await eventually(
      async () => {
        const seen = await status();
        return seen.controllerGroup.voters.length > 0 ? seen : undefined;
      },
      30_000,
      'the controller group',
    );
    t.deepEqual(initial.controllerGroup.voters, [1, 2, 3]);
    t.deepEqual(initial.controllerGroup.learners, [4]);

    const started = await cli(['cluster', 'decommission', '1', '--admin', admin]);
    t.is(started.code, 0, started.stderr);
    const after = await eventually(
      async () => {
        const seen = await status();
        const one = seen.brokers.find((broker) => broker.brokerId === 1);
        return seen.controllerGroup.voters.join(',') === '2,3,4' &&
          one?.replicas === 0 &&
          seen.moves.length === 0
          ? seen
          : undefined;
      },
      180_000,
      'broker 1 without replicas or its controller vote',
    );
    t.deepEqual(after.controllerGroup.learners, [1]);
    t.not(after.controllerId, 1);
    const logged = [2, 3, 4].flatMap((id) => cluster.member(id).lines).concat(cluster.member(1).lines);
    t.true(logged.some((line) => line.msg === 'controller voter role moved off a leaving broker'));
    // Voters 2, 3, 4 and no live broker outside them (1 is leaving): voter 2 cannot go too.
    const refused = await cli(['cluster', 'decommission', '2', '--admin', admin]);
    t.is(refused.code, 1);
    t.regex(refused.stderr, /controller voter and no other live broker can take its place/);

    await cluster.kill(1);
    // Without broker 1: the controller (2, 3, 4) creates a topic at RF 3, takes writes, serves reads.
    const kafka = cluster.kafka('after');
    await createTopicsOnAll(kafka, 3, [{ topic: 'after', numPartitions: 2, replicationFactor: 3 }]);
    const producer = kafka.producer();
    await producer.connect();
    const written = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await producer.send({ topic: 'after', acks: -1, messages: [{ value: `a-${i}`, partition: i % 2 }] });
      written.add(`a-${i}`);
    }
    await producer.disconnect();
    const read = await readValues(cluster.kafka('reader'), 'after', written);
    t.deepEqual(
      [...written].filter((value) => !read.has(value)),
      [],
    );
    const last = await status();
    t.deepEqual(last.controllerGroup.voters, [2, 3, 4]);
  },
);

test.serial(
  'a controller voter killed for good is replaced after replica_replace_after: a learner is promoted, the dead voter demoted',
  async (t) => {
    t.timeout(180_000);
    const cluster = await ProcessCluster.create(t, 4, ['--broker-session-timeout', '3s']);
    const httpPorts = await startWithAdmin(t, cluster, {
      leader_balance_interval: 0,
      replica_replace_after: '1s',
    });
    const admin = `127.0.0.1:${httpPorts.get(1)}`;
    const status = async (): Promise<Status> =>
      JSON.parse((await cli(['cluster', '--admin', admin, '--json'])).stdout) as Status;
    await createTopicsOnAll(cluster.kafka(), 4, []);
    await eventually(
      async () => ((await status()).controllerGroup.voters.join(',') === '1,2,3' ? true : undefined),
      30_000,
      'voters 1, 2, 3',
    );
    await cluster.kill(3);
    const after = await eventually(
      async () => {
        const seen = await status();
        return seen.controllerGroup.voters.join(',') === '1,2,4' ? seen : undefined;
      },
      120_000,
      'broker 4 voting in place of broker 3',
    );
    t.deepEqual(after.controllerGroup.learners, [3]);
    // The new voters commit: a topic is created without broker 3.
    await createTopicsOnAll(cluster.kafka('after'), 3, [
      { topic: 'after', numPartitions: 1, replicationFactor: 3 },
    ]);
  },
);
