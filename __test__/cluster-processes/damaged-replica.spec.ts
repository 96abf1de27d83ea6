/**
 * A partition replica whose files the Raft core refuses at start (its stored commit lies beyond
 * what is left of its log) stays closed while the broker serves everything else: it is retried
 * ever less often, and the node that runs every other group is not harmed. Before, the failed
 * open left the group registered, so every retry (each second, forever) failed with "group N
 * exists on node", or — when the open ran between sync rounds — the whole raft node failed and
 * the process lingered serving nothing.
 */
import { readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ProcessCluster } from './harness.js';
import {
  createTopicThrough,
  ErrorCode,
  produceTo,
  readPartition,
  servingLeader,
  withClient,
} from './requests.js';

test.serial(
  'a replica the Raft core refuses at start stays closed and is retried with backoff while the broker serves other topics',
  async (t) => {
    t.timeout(120_000);
    const cluster = await ProcessCluster.create(t, 1);
    await cluster.startAll();
    const port = cluster.member(1).clientPort;
    t.like(await createTopicThrough(port, { name: 'damaged', partitions: 1, replicationFactor: 1 }), {
      errorCode: ErrorCode.NONE,
    });
    await servingLeader(cluster, 'damaged', 0);
    for (let i = 0; i < 5; i++)
      t.is(
        (await withClient(port, (client) => produceTo(client, 'damaged', 0, [`v${i}`]))).errorCode,
        ErrorCode.NONE,
      );
    await cluster.stop(1);

    // Every segment of the replica is emptied: its raft-state still says entries were committed.
    const partitions = join(cluster.member(1).dataDir, 'partitions');
    const [replica] = readdirSync(partitions);
    for (const file of readdirSync(join(partitions, replica!)))
      if (file.endsWith('.log')) truncateSync(join(partitions, replica!, file), 0);

    const member = await cluster.start(1);
    t.like(await createTopicThrough(port, { name: 'healthy', partitions: 1, replicationFactor: 1 }), {
      errorCode: ErrorCode.NONE,
    });
    await servingLeader(cluster, 'healthy', 0);
    t.is(
      (await withClient(port, (client) => produceTo(client, 'healthy', 0, ['fine']))).errorCode,
      ErrorCode.NONE,
    );
    t.deepEqual(await readPartition(cluster, 'healthy', 0), ['fine']);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    t.is(member.child?.exitCode, null, 'the broker still runs');
    const failures = member.lines.filter((line) => line.msg === 'opening a partition replica failed');
    t.true(failures.length >= 1, 'the damaged replica was refused');
    t.true(
      failures.length <= 4,
      `retried with backoff, not every second (${failures.length} attempts in ~6 s)`,
    );
    const messages = failures.map((line) => String((line.err as { message?: string } | undefined)?.message));
    t.false(
      messages.some((message) => message.includes('exists on node')),
      'a retry opens the replica again instead of finding it half-registered',
    );
    t.true(
      messages.some((message) => message.includes('beyond the stored log')),
      messages.join(' | '),
    );
  },
);
