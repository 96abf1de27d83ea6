/**
 * Repair of a damaged batch from a healthy replica, on real broker processes (3 brokers, RF 3,
 * segments of 2 KiB so most of the log lies in closed segments):
 *
 * 1. The preferred replica is stopped, a byte inside a record of one of its closed segments is
 *    flipped, and it is started again (a follower now). Its scrubber finds the batch, asks a peer
 *    for that entry and writes the peer's copy over it: the log says so, GET /v1/broker counts
 *    it, and the segment file equals the healthy replicas' again. Leadership then returns to it
 *    (leader balancing) and every record reads back exactly from it as leader.
 * 2. While it leads, the baseOffset of a batch in another closed segment of its log is flipped
 *    under the running broker (bit rot under a leader). The same repair takes a follower's copy,
 *    and every record still reads back exactly from the leader.
 *
 * Before: the damaged batch stayed marked for good, and reads from its offset answered
 * CORRUPT_MESSAGE until someone deleted the recovery point and restarted the broker.
 */
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { readValues } from '../broker/helpers.js';
import { eventually, freePort, type LogLine, ProcessCluster } from './harness.js';
import {
  agreedController,
  answered,
  ErrorCode,
  metadataOf,
  produceTo,
  servingLeader,
  withClient,
} from './requests.js';

const TOPIC = 'repaired';
const RECORDS = 60;

/** The topic's one partition directory in `dataDir`. */
function partitionDirectory(dataDir: string): string {
  const root = join(dataDir, 'partitions');
  const name = readdirSync(root).find((entry) => entry.endsWith('-0') && !entry.startsWith('__'));
  if (name === undefined) throw new Error(`no partition directory in ${root}`);
  return join(root, name);
}

/** Segment files of a partition directory, oldest first. */
function segmentFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

/** Byte position of the second batch of a segment file's bytes. */
function secondBatch(bytes: Buffer): number {
  return 12 + bytes.readInt32BE(8);
}

function repairedAt(lines: readonly LogLine[], offset: number): LogLine | undefined {
  return lines.find((line) => line.msg.startsWith('repaired a corrupt batch') && line.offset === offset);
}

async function scrubberStats(httpPort: number): Promise<{ corruptBatches: number; repairedBatches: number }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/v1/broker`);
  const body = (await response.json()) as { scrubber: { corruptBatches: number; repairedBatches: number } };
  return body.scrubber;
}

test.serial(
  'a corrupt batch is repaired from a healthy replica, on a follower and under a running leader; every record reads back exactly',
  async (t) => {
    t.timeout(300_000);
    const cluster = await ProcessCluster.create(t, 3);
    // Each broker gets its own config file: its admin HTTP port, a fast scrubber and leader
    // balancing every second (so leadership returns to the restarted preferred replica).
    const httpPorts = new Map<number, number>();
    const args = new Map<number, string[]>();
    for (const id of [1, 2, 3]) {
      const member = cluster.member(id);
      const httpPort = await freePort();
      httpPorts.set(id, httpPort);
      const file = join(member.dataDir, '..', `broker-${id}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          scrub_rate: 8 * 1024 * 1024,
          leader_balance_interval: '1s',
          server: { http_port: httpPort },
        }),
      );
      args.set(id, [...cluster.args(id), '--config', file]);
    }
    await Promise.all([1, 2, 3].map((id) => cluster.start(id, args.get(id))));
    await agreedController(cluster, 3);
    const created = await withClient(cluster.member(1).clientPort, (client) =>
      answered(
        client.request(ApiKey.CreateTopics, 4, {
          topics: [
            {
              name: TOPIC,
              numPartitions: 1,
              replicationFactor: 3,
              assignments: [],
              configs: [{ name: 'segment.bytes', value: '2048' }],
            },
          ],
          timeoutMs: 15_000,
          validateOnly: false,
        }),
        'CreateTopics',
      ),
    );
    t.is(created.body.topics[0].errorCode, ErrorCode.NONE);

    const values = Array.from(
      { length: RECORDS },
      (_, i) => `${String(i).padStart(3, '0')}-${'x'.repeat(200)}`,
    );
    // The preferred replica (first in the assignment) leads once leader balancing has run.
    const preferred = (await metadataOf(cluster.member(1).clientPort, [TOPIC])).topics[0]!.partitions[0]!
      .replicaNodes[0]!;
    for (const value of values)
      await eventually(
        async () => {
          const { leaderId } = await servingLeader(cluster, TOPIC, 0);
          const answer = await withClient(cluster.member(leaderId).clientPort, (client) =>
            produceTo(client, TOPIC, 0, [value]),
          );
          return answer.errorCode === ErrorCode.NONE ? answer : undefined;
        },
        60_000,
        `producing record ${value.slice(0, 3)}`,
      );
    const others = [1, 2, 3].filter((id) => id !== preferred);
    const directoryOf = (id: number): string => partitionDirectory(cluster.member(id).dataDir);
    // Every replica holds every record in the same closed segments before the damage.
    const healthyFile = await eventually(
      () => {
        const files = [1, 2, 3].map((id) => segmentFiles(directoryOf(id)));
        const name = files[0]![1];
        if (files.some((list) => list.length < 4 || list[1] !== name) || name === undefined) return undefined;
        const contents = [1, 2, 3].map((id) => readFileSync(join(directoryOf(id), name)));
        return contents.every((bytes) => bytes.equals(contents[0]!)) ? name : undefined;
      },
      60_000,
      'every replica with the same second segment',
    );

    const leading = async (): Promise<true | undefined> =>
      (await servingLeader(cluster, TOPIC, 0)).leaderId === preferred ? true : undefined;
    await eventually(leading, 90_000, `broker ${preferred} leading`);

    // 1. Damage a record of a closed segment of the preferred replica while it is stopped.
    await cluster.stop(preferred);
    const damagedPath = join(directoryOf(preferred), healthyFile);
    const original = readFileSync(damagedPath);
    const damaged = Buffer.from(original);
    const second = secondBatch(damaged);
    damaged[second + 61 + 20] ^= 0x01;
    writeFileSync(damagedPath, damaged);
    const firstOffset = Number(damaged.readBigInt64BE(second));
    const member = await cluster.start(preferred, args.get(preferred));
    const repaired = await eventually(
      () => repairedAt(member.lines, firstOffset),
      90_000,
      `broker ${preferred} repairing offset ${firstOffset}`,
    );
    t.true(others.includes(Number(repaired.peer)), `repaired from a peer (${repaired.peer})`);
    t.truthy(
      member.lines.find(
        (line) => line.msg.startsWith('scrubber found a corrupt batch') && line.offset === firstOffset,
      ),
      'the scrubber found the batch first',
    );
    t.true(readFileSync(damagedPath).equals(original), 'the segment holds its original bytes again');
    t.true(
      readFileSync(damagedPath).equals(readFileSync(join(directoryOf(others[0]!), healthyFile))),
      "the segment equals a healthy replica's",
    );
    // Leadership comes back to the preferred replica; every record reads back from it.
    await eventually(leading, 90_000, `broker ${preferred} leading again`);
    const readFromPreferred = (): Promise<string[]> =>
      eventually(
        () =>
          withClient(member.clientPort, (client) => answered(readValues(client, TOPIC, 0), 'reading')).catch(
            () => undefined,
          ),
        60_000,
        `reading ${TOPIC} from broker ${preferred}`,
      );
    t.deepEqual(await readFromPreferred(), values);

    // 2. Bit rot under the running leader: the baseOffset (outside the CRC) of a batch of a
    // later closed segment.
    const leaderFile = segmentFiles(directoryOf(preferred))[2]!;
    const leaderPath = join(directoryOf(preferred), leaderFile);
    const before = readFileSync(leaderPath);
    const rottedAt = secondBatch(before);
    const secondOffset = Number(before.readBigInt64BE(rottedAt));
    // One byte written in place (the broker has the file open): its offset's seventh byte.
    const descriptor = openSync(leaderPath, 'r+');
    writeSync(descriptor, Buffer.of(before[rottedAt + 6]! ^ 0x04), 0, 1, rottedAt + 6);
    closeSync(descriptor);
    const repairedLive = await eventually(
      () => repairedAt(member.lines, secondOffset),
      90_000,
      `broker ${preferred} repairing offset ${secondOffset} under its running leader`,
    );
    t.true(others.includes(Number(repairedLive.peer)));
    t.true(readFileSync(leaderPath).equals(before), "the leader's segment holds its original bytes again");
    t.deepEqual(await readFromPreferred(), values);

    const stats = await scrubberStats(httpPorts.get(preferred)!);
    t.true(stats.corruptBatches >= 2, `corrupt batches counted: ${stats.corruptBatches}`);
    t.is(stats.repairedBatches, 2, 'each repair counted');
  },
);
