/**
 * Repair of a damaged batch from a healthy replica, on real broker processes (3 brokers, RF 3,
 * segments of 2 KiB so most of the log lies in closed segments):
 *
 * 1. The preferred replica is stopped, a byte inside a record of one of its closed segments is
 *    flipped, and it is started again (a follower now). Its scrubber (or its replay of the last
 *    entries at start) finds the batch; it asks a peer for that entry and writes the peer's copy
 *    over it: the log says so, GET /v1/broker counts
 *    it, and the segment file equals the healthy replicas' again. Leadership then returns to it
 *    (leader balancing) and every record reads back exactly from it as leader.
 * 2. While it leads, the baseOffset of a batch in another closed segment of its log is flipped
 *    under the running broker (bit rot under a leader). The same repair takes a follower's copy,
 *    and every record still reads back exactly from the leader.
 *
 * Before: the damaged batch stayed marked for good, and reads from its offset answered
 * CORRUPT_MESSAGE until someone deleted the recovery point and restarted the broker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { eventually } from './harness.js';
import {
  flipByte,
  partitionDirectory,
  produceAll,
  readFrom,
  recordValues,
  repairCluster,
  repairedAt,
  scrubberStats,
  secondBatch,
  segmentFiles,
  TOPIC,
} from './repair-helpers.js';
import { metadataOf, servingLeader } from './requests.js';

test.serial(
  'a corrupt batch is repaired from a healthy replica, on a follower and under a running leader; every record reads back exactly',
  async (t) => {
    t.timeout(300_000);
    // Each broker: a fast scrubber and leader balancing every second (so leadership returns to
    // the restarted preferred replica).
    const { cluster, args, httpPorts } = await repairCluster(t, {
      scrub_rate: 8 * 1024 * 1024,
      leader_balance_interval: '1s',
    });
    const values = recordValues(0, 60);
    // The preferred replica (first in the assignment) leads once leader balancing has run.
    const preferred = (await metadataOf(cluster.member(1).clientPort, [TOPIC])).topics[0]!.partitions[0]!
      .replicaNodes[0]!;
    await produceAll(cluster, values);
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
    const second = secondBatch(original);
    flipByte(damagedPath, second + 61 + 20, original[second + 61 + 20]!, 0x01);
    const firstOffset = Number(original.readBigInt64BE(second));
    const member = await cluster.start(preferred, args.get(preferred));
    const repaired = await eventually(
      () => repairedAt(member.lines, firstOffset),
      90_000,
      `broker ${preferred} repairing offset ${firstOffset}`,
    );
    t.true(others.includes(Number(repaired.peer)), `repaired from a peer (${repaired.peer})`);
    // Found by the scrubber or by a read of the range (the restart applies the last entries
    // again), and logged either way before the repair.
    t.truthy(
      member.lines.find(
        (line) =>
          (line.msg.startsWith('scrubber found a corrupt batch') ||
            line.msg.startsWith('a read found a corrupt batch')) &&
          line.offset === firstOffset,
      ),
      'the damage was found and logged',
    );
    t.true(readFileSync(damagedPath).equals(original), 'the segment holds its original bytes again');
    t.true(
      readFileSync(damagedPath).equals(readFileSync(join(directoryOf(others[0]!), healthyFile))),
      "the segment equals a healthy replica's",
    );
    // Leadership comes back to the preferred replica; every record reads back from it.
    await eventually(leading, 90_000, `broker ${preferred} leading again`);
    t.deepEqual(await readFrom(member), values);

    // 2. Bit rot under the running leader: the baseOffset (outside the CRC) of a batch of a
    // later closed segment.
    const leaderFile = segmentFiles(directoryOf(preferred))[2]!;
    const leaderPath = join(directoryOf(preferred), leaderFile);
    const before = readFileSync(leaderPath);
    const rottedAt = secondBatch(before);
    const secondOffset = Number(before.readBigInt64BE(rottedAt));
    // One byte written in place (the broker has the file open): its offset's seventh byte.
    flipByte(leaderPath, rottedAt + 6, before[rottedAt + 6]!, 0x04);
    const repairedLive = await eventually(
      () => repairedAt(member.lines, secondOffset),
      90_000,
      `broker ${preferred} repairing offset ${secondOffset} under its running leader`,
    );
    t.true(others.includes(Number(repairedLive.peer)));
    t.true(readFileSync(leaderPath).equals(before), "the leader's segment holds its original bytes again");
    t.deepEqual(await readFrom(member), values);

    const stats = await scrubberStats(httpPorts.get(preferred)!);
    t.true(stats.corruptBatches >= 2, `corrupt batches counted: ${stats.corruptBatches}`);
    t.is(stats.repairedBatches, 2, 'each repair counted');
  },
);
