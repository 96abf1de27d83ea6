/**
 * DeleteRecords and DescribeLogDirs on a 3-broker cluster of real processes: the new log start
 * is an entry of the partition's Raft log, so the leader elected after a kill -9 of the one that
 * answered DeleteRecords serves the same log start; each broker describes its own replicas.
 */
import { resolve } from 'node:path';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { deleteRecordsOf, fetchOf, listOffsetOf } from '../broker/delete-records-requests.js';
import type { RawClient } from '../broker/helpers.js';
import { eventually } from './harness.js';
import { answered, clusterWithTopic, produceTo, servingLeader, withClient } from './requests.js';

/** ListOffsets earliest of partition 0, or undefined while the leader cannot answer yet. */
async function earliest(client: RawClient, topic: string): Promise<number | undefined> {
  const answer = await answered(listOffsetOf(client, topic, -2), `ListOffsets ${topic}`);
  return answer.errorCode === ErrorCode.NONE ? answer.offset : undefined;
}

async function fetchAt(
  client: RawClient,
  topic: string,
  offset: number,
): Promise<{ errorCode: number; bytes: number; logStartOffset: number }> {
  const answer = await answered(fetchOf(client, topic, offset), `Fetch ${topic} at ${offset}`);
  return { errorCode: answer.errorCode, bytes: answer.records.length, logStartOffset: answer.logStartOffset };
}

function deleteRecords(client: RawClient, topic: string, offset: number, timeoutMs = 15_000) {
  return answered(deleteRecordsOf(client, topic, offset, { timeoutMs }), `DeleteRecords ${topic}`);
}

interface LogDirResult {
  errorCode: number;
  logDir: string;
  topics: Array<{
    name: string;
    partitions: Array<{
      partitionIndex: number;
      partitionSize: number;
      offsetLag: number;
      isFutureKey: boolean;
    }>;
  }>;
  totalBytes?: number;
  usableBytes?: number;
}

test('after DeleteRecords and a kill -9 of the leader, the new leader answers ListOffsets earliest with the new start and a fetch below it with OFFSET_OUT_OF_RANGE; DescribeLogDirs v1 and v4 list each broker its own replicas', async (t) => {
  const topic = 'trimmed';
  const cluster = await clusterWithTopic(t, { name: topic, partitions: 1 });
  t.teardown(() => cluster.stopAll());
  const { leaderId, replicas } = await servingLeader(cluster, topic, 0);
  t.deepEqual(replicas, [1, 2, 3]);
  const leader = cluster.member(leaderId);
  const offsets: number[] = [];
  await withClient(leader.clientPort, async (client) => {
    for (let i = 0; i < 8; i++) {
      const produced = await produceTo(client, topic, 0, [`m${i}`]);
      t.is(produced.errorCode, ErrorCode.NONE);
      offsets.push(Number(produced.baseOffset));
    }
  });
  const start = offsets[5] as number;
  await withClient(leader.clientPort, async (client) => {
    t.deepEqual(await deleteRecords(client, topic, start), {
      lowWatermark: start,
      errorCode: ErrorCode.NONE,
    });
    // Another broker is not the leader.
    const other = cluster.member(replicas.find((id) => id !== leaderId) as number);
    await withClient(other.clientPort, async (follower) => {
      t.is((await deleteRecords(follower, topic, start)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    });
  });

  // Each broker describes its own data directory and its own replica of the topic.
  for (const id of [1, 2, 3]) {
    const member = cluster.member(id);
    for (const version of [1, 4]) {
      const response = await withClient(member.clientPort, (client) =>
        answered(
          client.request(ApiKey.DescribeLogDirs, version, { topics: null }),
          `DescribeLogDirs v${version}`,
        ),
      );
      const results = response.body.results as LogDirResult[];
      t.is(results.length, 1);
      const [result] = results as [LogDirResult];
      t.is(result.errorCode, ErrorCode.NONE);
      t.is(result.logDir, resolve(member.dataDir));
      const partitions = result.topics.find((entry) => entry.name === topic)?.partitions ?? [];
      t.is(partitions.length, 1, `broker ${id} v${version}`);
      t.true((partitions[0]?.partitionSize ?? 0) > 0, `broker ${id} partition size`);
      t.is(partitions[0]?.isFutureKey, false);
      if (version >= 4) t.true((result.totalBytes ?? 0) > 0 && (result.usableBytes ?? -1) >= 0);
    }
  }

  await cluster.kill(leaderId);
  const next = await servingLeader(cluster, topic, 0);
  t.not(next.leaderId, leaderId);
  await withClient(cluster.member(next.leaderId).clientPort, async (client) => {
    // ListOffsets answers earliest once the new leader serves (it may first answer a retriable
    // error while its term's first entry commits).
    const found = await eventually(() => earliest(client, topic), 30_000, 'ListOffsets earliest');
    t.is(found, start);
    const below = await eventually(
      async () => {
        const answer = await fetchAt(client, topic, offsets[1] as number);
        return answer.errorCode === ErrorCode.NONE ? undefined : answer;
      },
      30_000,
      'a fetch below the log start refused',
    );
    t.is(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    t.is(below.logStartOffset, start);
    const at = await fetchAt(client, topic, start);
    t.is(at.errorCode, ErrorCode.NONE);
    t.true(at.bytes > 0);
    // A smaller offset changes nothing on the new leader either.
    t.deepEqual(await deleteRecords(client, topic, offsets[2] as number), {
      lowWatermark: start,
      errorCode: ErrorCode.NONE,
    });
  });

  // With the last follower gone too, the leader cannot commit: the request's timeout answers
  // (or, once the leader noticed it lost its quorum, NOT_LEADER_OR_FOLLOWER).
  const last = [1, 2, 3].find((id) => id !== leaderId && id !== next.leaderId) as number;
  await cluster.kill(last);
  await withClient(cluster.member(next.leaderId).clientPort, async (client) => {
    const answer = await deleteRecords(client, topic, -1, 300);
    t.true(
      answer.errorCode === ErrorCode.REQUEST_TIMED_OUT ||
        answer.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER,
      `error ${answer.errorCode}`,
    );
  });
});
