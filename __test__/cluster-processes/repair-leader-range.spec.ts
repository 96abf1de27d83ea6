/**
 * A follower catching up over a range whose copy on the leader rotted (in a closed segment the
 * leader's scrubber has not reached: here it is off) must neither store the bad bytes nor fail:
 * the leader finds the damage when it reads the range to send it, repairs it from the other
 * follower's copy, and the follower catches up with the healthy bytes.
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
  secondBatch,
  segmentFiles,
  TOPIC,
} from './repair-helpers.js';
import { servingLeader } from './requests.js';

test.serial(
  'a follower catching up over a range the leader holds damaged gets it repaired first and stays up',
  async (t) => {
    t.timeout(300_000);
    const { cluster, args } = await repairCluster(t, { scrub_rate: 0, leader_balance_interval: '0s' });
    const first = recordValues(0, 10);
    await produceAll(cluster, first);
    const { leaderId } = await servingLeader(cluster, TOPIC, 0);
    const [lagging, healthy] = [1, 2, 3].filter((id) => id !== leaderId) as [number, number];
    await cluster.stop(lagging);
    const later = recordValues(10, 50);
    await produceAll(cluster, later);
    const leaderDirectory = partitionDirectory(cluster.member(leaderId).dataDir);
    const laggingDirectory = partitionDirectory(cluster.member(lagging).dataDir);
    // A closed segment of the leader that the stopped follower does not have yet.
    const missing = segmentFiles(leaderDirectory)
      .slice(0, -1)
      .find((name) => !segmentFiles(laggingDirectory).includes(name) && Number(name.slice(0, 20)) > 12);
    t.truthy(missing, 'a closed segment the follower lacks');
    const path = join(leaderDirectory, missing!);
    const original = readFileSync(path);
    const at = secondBatch(original) + 61 + 20;
    const damagedOffset = Number(original.readBigInt64BE(secondBatch(original)));
    flipByte(path, at, original[at]!, 0x01);

    const member = await cluster.start(lagging, args.get(lagging));
    const leader = cluster.member(leaderId);
    const failed = (): boolean => member.lines.some((line) => line.msg.startsWith('raft node failed'));
    // The follower catches up (or, before: stored nothing more and stopped its raft node).
    const caughtUp = await eventually(
      () => {
        if (failed()) return 'failed';
        try {
          return readFileSync(join(laggingDirectory, missing!)).equals(original) ? 'caught up' : undefined;
        } catch {
          return undefined;
        }
      },
      90_000,
      `broker ${lagging} catching up or failing`,
    );
    t.is(
      caughtUp,
      'caught up',
      member.lines
        .filter((line) => line.level >= 40)
        .map((line) => `${line.msg} ${JSON.stringify(line.err ?? '')}`)
        .join('\n'),
    );
    const repaired = await eventually(
      () => repairedAt(leader.lines, damagedOffset),
      90_000,
      `the leader (broker ${leaderId}) repairing offset ${damagedOffset}`,
    );
    t.is(Number(repaired.peer), healthy);
    t.true(readFileSync(path).equals(original), "the leader's segment holds its original bytes again");
    t.is(member.child?.exitCode, null);
    t.false(
      member.lines.some((line) => line.msg.startsWith('raft node failed')),
      'the follower never stored the damaged batch',
    );
    t.deepEqual(await readFrom(leader), [...first, ...later]);
  },
);
