import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { partitionSnapshotNextOffset } from '../../src/cluster/durable-raft-storage.js';
import { logIndex, nodeId } from '../../src/lib/ids.js';
import { ConfChangeType } from '../../src/raft/conf-change.js';
import { StateRole } from '../../src/raft/types.js';
import { producerBatch, producerBatchValue } from './fixtures/batches.js';
import { LockstepGroup, type LogKind } from './fixtures/lockstep-group.js';

async function withGroup(kind: LogKind, run: (group: LockstepGroup) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-raft-bootstrap-'));
  const group = new LockstepGroup(root, kind);
  try {
    await run(group);
  } finally {
    await group.close();
    rmSync(root, { recursive: true, force: true });
  }
}

async function commitValues(group: LockstepGroup, values: string[]): Promise<void> {
  const leader = group.leader();
  if (leader === undefined) throw new Error('no leader');
  for (const value of values) leader.node.propose(producerBatch(Buffer.from(value)));
  const target = leader.node.status().lastIndex;
  await group.until(() => leader.node.status().commit >= target, `commit of ${values.at(-1)}`);
}

const sorted = (ids: readonly number[]) => [...ids].sort((a, b) => a - b);

for (const kind of ['memory', 'native'] as const) {
  test(`[${kind} log] a node added to a running 3-node group learns the whole membership from the bootstrap snapshot and never campaigns alone`, async (t) => {
    await withGroup(kind, async (group) => {
      for (const id of [1, 2, 3]) await group.add(id, [1, 2, 3]);
      group.get(1).node.campaign();
      await group.until(() => group.leader()?.id === nodeId(1), 'node 1 leads');
      await commitValues(group, ['a', 'b']);

      // Node 4 starts empty (no membership of its own) and is added as a voter.
      const joiner = await group.add(4, []);
      t.deepEqual(joiner.storage.initialState().confState.voters, [], 'a joining node knows no members');
      t.is(joiner.storage.lastIndex(), logIndex(0));
      group.get(1).node.proposeConfChange({ type: ConfChangeType.AddVoter, node: nodeId(4) });
      await commitValues(group, ['c']);
      await group.until(() => joiner.applied.includes('c'), 'node 4 applied c');

      // It received the snapshot at index 1 (the initial membership), then the log after it.
      t.is(joiner.storage.snapshot().metadata.index, logIndex(1));
      t.deepEqual(sorted(joiner.storage.snapshot().metadata.confState.voters), [1, 2, 3]);
      t.is(joiner.storage.firstIndex(), logIndex(2), 'its log continues right after the snapshot');
      t.deepEqual(sorted(joiner.node.status().confState.voters), [1, 2, 3, 4]);
      t.deepEqual(joiner.applied, ['a', 'b', 'c']);
      // Every replica stamped the same Kafka offsets on the same entries.
      const leaderLog = group.get(1).storage.log;
      for (let i = 2; i <= leaderLog.lastIndex; i++)
        t.is(
          joiner.storage.log.offsetAt(logIndex(i)),
          leaderLog.offsetAt(logIndex(i)),
          `offset of entry ${i}`,
        );

      // Cut off, it must not believe it can win alone: 4 voters need 3 votes.
      joiner.isolated = true;
      for (let i = 0; i < 100; i++) {
        joiner.node.tick();
        await group.settle();
      }
      t.false(joiner.roles.includes(StateRole.Leader), 'the isolated new member never became leader');
      t.is(group.leader()?.id, nodeId(1), 'the group kept its leader');

      // Restarted from its own disk, it still knows all four voters (snapshot + log scan).
      if (kind === 'native') {
        const restarted = await group.reopen(joiner);
        t.deepEqual(sorted(restarted.node.status().confState.voters), [1, 2, 3, 4]);
        t.true(restarted.node.status().lastIndex >= 5);
      }
    });
  });

  test(`[${kind} log] a follower whose needed entries were compacted away installs the leader's snapshot by restarting its log there, then catches up`, async (t) => {
    await withGroup(kind, async (group) => {
      for (const id of [1, 2, 3]) await group.add(id, [1, 2, 3]);
      group.get(1).node.campaign();
      await group.until(() => group.leader()?.id === nodeId(1), 'node 1 leads');
      await commitValues(group, ['a', 'b']);
      await group.until(() => group.get(3).applied.length === 2, 'node 3 applied a, b');

      const lagging = group.get(3);
      lagging.isolated = true;
      await commitValues(
        group,
        Array.from({ length: 10 }, (_, i) => `x${i}`),
      );
      // Leader and node 2 snapshot at their applied index; entries up to it are released.
      const leader = group.get(1);
      await group.until(
        () => group.get(2).node.status().applied === leader.node.status().applied,
        'node 2 applied',
      );
      const cut = leader.node.status().applied;
      for (const id of [1, 2]) {
        const replica = group.get(id);
        await replica.storage.compact(cut, replica.node.confStateAt(cut));
      }
      t.is(leader.storage.firstIndex(), logIndex(cut + 1));
      t.true(lagging.storage.lastIndex() < cut, 'the follower lacks entries the leader no longer has');

      lagging.isolated = false;
      await commitValues(group, ['y']);
      await group.until(() => lagging.applied.includes('y'), 'node 3 applied y');

      t.is(lagging.storage.snapshot().metadata.index, cut, 'it installed the snapshot');
      t.is(lagging.storage.firstIndex(), logIndex(cut + 1));
      t.is(lagging.storage.log.firstIndex, logIndex(cut + 1), 'its log restarted right after the snapshot');
      t.is(
        lagging.storage.log.logStartOffset,
        partitionSnapshotNextOffset(leader.storage.snapshot()),
        'at the offset the snapshot names',
      );
      const last = leader.storage.lastIndex();
      t.is(lagging.storage.lastIndex(), last);
      const theirs = leader.storage.entries(logIndex(cut + 1), logIndex(last + 1), 1 << 20);
      const ours = lagging.storage.entries(logIndex(cut + 1), logIndex(last + 1), 1 << 20);
      t.deepEqual(
        ours.map((e) => [e.index, e.term, e.type]),
        theirs.map((e) => [e.index, e.term, e.type]),
      );
      t.deepEqual(
        ours.map((e) => lagging.storage.log.offsetAt(e.index)),
        theirs.map((e) => leader.storage.log.offsetAt(e.index)),
        'same Kafka offsets as the leader',
      );
      t.is(producerBatchValue(ours.at(-1)?.data ?? new Uint8Array()).toString(), 'y');
      t.deepEqual(lagging.applied, ['a', 'b', 'y'], 'entries inside the snapshot are not applied again');

      if (kind === 'native') {
        const reopened = (await group.reopen(lagging)).storage;
        t.is(reopened.snapshot().metadata.index, cut, 'the snapshot survived a reopen');
        t.is(reopened.lastIndex(), last, 'so did the entries after it');
        t.is(reopened.term(cut), leader.storage.term(cut));
      }
    });
  });
}
