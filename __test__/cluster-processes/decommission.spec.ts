/**
 * Decommission on real broker processes, through the CLI and the admin HTTP listener: `goqueue
 * cluster decommission 4` empties broker 4 while a producer writes (nothing acknowledged lost),
 * `goqueue cluster --admin` shows it, and decommissioning a second broker is refused when the
 * rest could not hold the replication factor.
 */
import test from 'ava';
import { finished, spawnCli } from '../cli/helpers.js';
import { eventually, ProcessCluster } from './harness.js';
import {
  createTopicsOnAll,
  partitionReplicas,
  produceThroughout,
  readValues,
  startWithAdmin,
} from './self-healing-helpers.js';

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await finished(spawnCli(args));
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

test.serial(
  'goqueue cluster decommission empties a live broker with writes going on; a second one is refused; goqueue cluster --admin shows the brokers and moves',
  async (t) => {
    t.timeout(300_000);
    const cluster = await ProcessCluster.create(t, 4, []);
    // One consumer-groups partition (the reader below creates that topic), so the test waits
    // for few moves.
    const httpPorts = await startWithAdmin(t, cluster, {
      leader_balance_interval: 0,
      offsets_topic_num_partitions: 1,
      max_replica_moves: 16,
    });
    const admin = `127.0.0.1:${httpPorts.get(1)}`;
    const kafka = cluster.kafka();
    await createTopicsOnAll(kafka, 4, [{ topic: 'leaving', numPartitions: 4, replicationFactor: 3 }]);
    t.true(
      [...(await partitionReplicas(kafka, 'leaving')).values()].some((replicas) => replicas.includes(4)),
    );

    const writer = produceThroughout(kafka, 'leaving', 4);
    await eventually(() => (writer.acknowledged.size >= 50 ? true : undefined), 60_000, 'first writes');
    const started = await cli(['cluster', 'decommission', '4', '--admin', admin]);
    t.is(started.code, 0, started.stderr);
    t.regex(started.stdout, /broker 4 is decommissioning/);

    const shown = await cli(['cluster', '--admin', admin]);
    t.is(shown.code, 0, shown.stderr);
    t.regex(shown.stdout, /^4\s+127\.0\.0\.1\s+\d+\s+-\s+decommissioning\s+\d+\s+\d+$/m);
    t.regex(shown.stdout, /moves in progress: \d+/);

    await eventually(
      async () => {
        const replicas = await partitionReplicas(cluster.kafka('probe'), 'leaving');
        return [...replicas.values()].every((list) => list.length === 3 && !list.includes(4))
          ? true
          : undefined;
      },
      180_000,
      'broker 4 holding no replica',
    );
    await eventually(
      () => (writer.acknowledged.size >= 200 ? true : undefined),
      60_000,
      'writes after the move',
    );
    const acknowledged = await writer.stop();
    const read = await readValues(cluster.kafka('reader'), 'leaving', acknowledged);
    t.deepEqual(
      [...acknowledged].filter((value) => !read.has(value)),
      [],
      'every acknowledged write is there',
    );
    // Every topic (the consumer groups' internal one too) ends with nothing on broker 4.
    const after = await eventually(
      async () => {
        const status = JSON.parse((await cli(['cluster', '--admin', admin, '--json'])).stdout);
        const four = status.brokers.find((broker: { brokerId: number }) => broker.brokerId === 4);
        return four.replicas === 0 && status.moves.length === 0 ? status : undefined;
      },
      180_000,
      'broker 4 empty',
    );
    t.like(
      after.brokers.find((broker: { brokerId: number }) => broker.brokerId === 4),
      { state: 'decommissioning', replicas: 0, leaders: 0 },
    );
    t.is(after.underReplicated.length, 0);
    t.is(after.offline.length, 0);

    // Brokers 1-3 are all that is left for RF 3: broker 3 cannot go too.
    const refused = await cli(['cluster', 'decommission', '3', '--admin', admin]);
    t.is(refused.code, 1);
    t.regex(refused.stderr, /INVALID_REPLICATION_FACTOR/);
  },
);
