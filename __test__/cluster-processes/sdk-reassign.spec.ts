/**
 * Partition moves and leader elections through the SDK's Admin and the `goqueue` CLI (spawned as
 * a process) on three real broker processes: Admin.alterPartitionReassignments moves two
 * partitions (one at a time: the second is listed by listPartitionReassignments while it waits),
 * `goqueue cluster reassign` moves one back and `goqueue cluster reassignments` lists until the
 * moves are done; Admin.electLeaders and `goqueue cluster elect-leaders` hand leadership to the
 * replica a reordering made preferred.
 */
import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { runCli } from '../cli/helpers.js';
import { eventually } from './harness.js';
import { clusterWithTopic } from './requests.js';
import { healingConfig } from './self-healing-helpers.js';

const TOPIC = 'moving';

test.serial(
  'the SDK and the CLI move partitions, list the moves until they are done, and elect the preferred leader',
  async (t) => {
    t.timeout(240_000);
    // One move at a time (so one of two moves asked together is still listed when asked right
    // after); no leader balancing (only the elections here move leaders).
    const config = healingConfig(t, { leader_balance_interval: 0, max_replica_moves: 1 });
    const cluster = await clusterWithTopic(
      t,
      { name: TOPIC, partitions: 2, replicationFactor: 2 },
      { brokers: 3, extraArgs: ['--config', config] },
    );
    const bootstrap = cluster.brokers().join(',');
    const client = new Client({
      brokers: bootstrap,
      clientId: 'sdk-reassign',
      timeoutMs: 30_000,
      retry: { retries: 20, initialMs: 100, maxMs: 1_000 },
    });
    t.teardown(() => client.close());
    const admin = new Admin(client);
    const cli = async (args: string[]) => {
      const result = await runCli([...args, '--bootstrap', bootstrap]);
      return { ...result, args: args.join(' ') };
    };
    const replicasOf = async (): Promise<number[][]> => {
      await client.refreshMetadata([TOPIC]);
      return (await admin.describeTopic(TOPIC)).partitions.map((partition) => partition.replicas);
    };
    // The broker a listing came from may have applied the last metadata record a moment before
    // the broker the SDK's Metadata comes from: wait for the latter to catch up.
    const replicasBecome = (expected: number[][], what: string) =>
      eventually(
        async () => (JSON.stringify(await replicasOf()) === JSON.stringify(expected) ? true : undefined),
        30_000,
        what,
      );

    const before = await replicasOf();
    // [a, b] → [c, a]: the broker not holding it joins as the preferred leader, b leaves.
    const targets = before.map((replicas) => [[1, 2, 3].find((id) => !replicas.includes(id))!, replicas[0]!]);
    await admin.alterPartitionReassignments({
      reassignments: targets.map((replicas, partition) => ({ topic: TOPIC, partition, replicas })),
    });
    const listed = await admin.listPartitionReassignments({ topic: TOPIC });
    t.true(listed.length > 0, 'the move waiting for its turn is listed');
    for (const move of listed) {
      t.deepEqual(move.replicas.slice(0, 2), targets[move.partition]);
      t.is(move.topic, TOPIC);
    }
    await eventually(
      async () => ((await admin.listPartitionReassignments()).length === 0 ? true : undefined),
      90_000,
      'both moves done',
    );
    await replicasBecome(targets, `replicas ${JSON.stringify(targets)} in Metadata`);

    // The CLI moves partition 1 back and lists until the move is done.
    const back = await cli(['cluster', 'reassign', TOPIC, '1', before[1]!.join(',')]);
    t.is(back.code, 0, back.stderr);
    t.regex(back.stdout, new RegExp(`^moving ${TOPIC}-1 to brokers ${before[1]!.join(',')}`));
    await eventually(
      async () => {
        const listing = await cli(['cluster', 'reassignments']);
        if (listing.code !== 0) throw new Error(listing.stderr);
        if (listing.stdout !== 'no reassignments in progress\n') {
          t.regex(listing.stdout, /^TOPIC\s+PARTITION\s+REPLICAS\s+ADDING\s+REMOVING\n/);
          return undefined;
        }
        return true;
      },
      90_000,
      'the CLI listing no move',
    );
    const moved = [targets[0]!, before[1]!];
    await replicasBecome(moved, `replicas ${JSON.stringify(moved)} in Metadata`);

    // Elections: a reordering makes the follower of partition 0 preferred (recorded at once, no
    // move); the SDK hands it leadership. A replica momentarily behind is not handed leadership
    // (PREFERRED_LEADER_NOT_AVAILABLE): ask again, as a tool would.
    const leaderOf = async (partition: number): Promise<number> => {
      await client.refreshMetadata([TOPIC]);
      return (await client.topic(TOPIC)).partitions[partition]!.leader;
    };
    const leader = await leaderOf(0);
    const follower = targets[0]!.find((id) => id !== leader)!;
    await admin.alterPartitionReassignments({
      reassignments: [{ topic: TOPIC, partition: 0, replicas: [follower, leader] }],
    });
    const outcome = await eventually(
      async () => {
        const [result] = await admin.electLeaders({ topic: TOPIC, partitions: [0] });
        const name = result?.error?.errorName ?? 'elected';
        // An answer that timed out may still have handed over: the next one says not needed.
        return name === 'elected' || name === 'ELECTION_NOT_NEEDED' ? name : undefined;
      },
      60_000,
      'the SDK electing the preferred leader',
    );
    t.is(outcome, 'elected');
    t.is(await leaderOf(0), follower);
    const notNeeded = await admin.electLeaders({ topic: TOPIC, partitions: [0] });
    t.is(notNeeded[0]?.error?.errorName, 'ELECTION_NOT_NEEDED');

    // And back through the CLI: reassign reorders, elect-leaders exits 0 once elected.
    const reorder = await cli(['cluster', 'reassign', TOPIC, '0', `${leader},${follower}`]);
    t.is(reorder.code, 0, reorder.stderr);
    const elected = await eventually(
      async () => {
        const run = await cli(['cluster', 'elect-leaders', TOPIC, '--partition', '0', '--json']);
        if (run.code !== 0) return undefined; // not handed over yet (the error line says why)
        return JSON.parse(run.stdout) as Array<{
          topic: string;
          partition: number;
          error: { name: string } | null;
        }>;
      },
      60_000,
      'the CLI electing the preferred leader',
    );
    t.deepEqual(
      elected.map((result) => [result.topic, result.partition]),
      [[TOPIC, 0]],
    );
    t.true(
      elected[0]!.error === null || elected[0]!.error.name === 'ELECTION_NOT_NEEDED',
      JSON.stringify(elected),
    );
    t.is(await leaderOf(0), leader);
  },
);
