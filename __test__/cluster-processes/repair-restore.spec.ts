/**
 * A replica whose log lost committed entries it had acknowledged (recovery cut them: bit rot in
 * the tail it scans) gets them back from a peer before it opens, instead of refusing to open for
 * good (docs/reliability.md, defect 1). Before: `stored commit N is beyond the stored log`, the
 * replica stayed closed and its copy of the partition fell behind for good.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { decodeRaftState, RAFT_STATE_FILE } from '../../src/cluster/durable-raft-storage.js';
import { logIndex } from '../../src/lib/ids.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { eventually } from './harness.js';
import {
  partitionDirectory,
  produceAll,
  recordValues,
  repairCluster,
  segmentFiles,
  TOPIC,
} from './repair-helpers.js';
import { readPartition, servingLeader } from './requests.js';

/** True when every segment file of `a` is byte for byte the same file in `b`. */
function sameSegments(a: string, b: string): boolean {
  const names = segmentFiles(a);
  if (names.join() !== segmentFiles(b).join()) return false;
  return names.every((name) => readFileSync(join(a, name)).equals(readFileSync(join(b, name))));
}

test.serial(
  'a replica whose recovery cut committed entries restores them from a peer and opens',
  async (t) => {
    t.timeout(300_000);
    const { cluster, args } = await repairCluster(t, { leader_balance_interval: '0s' });
    const values = recordValues(0, 40);
    await produceAll(cluster, values);
    const { leaderId } = await servingLeader(cluster, TOPIC, 0);
    const follower = [1, 2, 3].find((id) => id !== leaderId)!;
    const leaderDirectory = partitionDirectory(cluster.member(leaderId).dataDir);
    const directory = partitionDirectory(cluster.member(follower).dataDir);
    await eventually(
      () => (sameSegments(directory, leaderDirectory) ? true : undefined),
      60_000,
      `broker ${follower} holding what the leader holds`,
    );
    await cluster.stop(follower);

    // Cut the follower's log below the commit its raft-state holds, as recovery does when it
    // finds the tail rotted.
    const commit = decodeRaftState(readFileSync(join(directory, RAFT_STATE_FILE))).hardState.commit;
    const log = NativeLog.open(directory, { segmentBytes: 2048 });
    t.true(log.lastIndex >= commit, `log ${log.lastIndex}, commit ${commit}`);
    log.truncateAfter(logIndex(commit - 6));
    await log.close();

    const member = await cluster.start(follower, args.get(follower));
    const restored = await eventually(
      () => member.lines.find((line) => line.msg.startsWith('restored committed entries')),
      60_000,
      `broker ${follower} restoring what recovery cut`,
    );
    t.is(restored.from, commit - 5);
    t.true(Number(restored.to) >= commit);
    await eventually(
      () => (sameSegments(directory, leaderDirectory) ? true : undefined),
      60_000,
      `broker ${follower} caught up again`,
    );
    t.false(member.lines.some((line) => line.msg === 'opening a partition replica failed'));
    t.deepEqual(await readPartition(cluster, TOPIC, 0), values);
  },
);
