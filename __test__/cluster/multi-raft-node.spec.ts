import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { MultiRaftNode } from '../../src/cluster/multi-raft-node.js';
import { PEER_BATCH_CHANNEL } from '../../src/cluster/peer-batch-codec.js';
import { kafkaOffset, nodeId } from '../../src/lib/ids.js';
import { ConfChangeType } from '../../src/raft/conf-change.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { StateRole } from '../../src/raft/types.js';
import { openNativeLog, splitBatches } from '../../src/storage/index.js';
import { producerBatch, producerBatchValue } from './fixtures/batches.js';
import { MultiNode, startLocalNodes } from './fixtures/multi-node.js';

async function eventually(probe: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function withNodes(
  replicas: number,
  groups: number[],
  run: (nodes: MultiNode[], root: string) => Promise<void>,
  log: 'native' | 'file' = 'native',
): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-multi-raft-'));
  const nodes = await startLocalNodes(root, replicas, { groups, log });
  try {
    await run(nodes, root);
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    rmSync(root, { recursive: true, force: true });
  }
}

const leads = (node: MultiNode, group: number) => node.node.status(group)?.role === StateRole.Leader;

test.serial(
  'three brokers with three groups over loopback TCP: one connection per pair, every group commits in order everywhere, and one group-commit round syncs several groups',
  async (t) => {
    const groups = [1, 2, 3];
    await withNodes(3, groups, async (nodes) => {
      const [first] = nodes as [MultiNode];
      for (const group of groups) first.node.campaign(group);
      await eventually(() => groups.every((g) => leads(first, g)), 'node 1 leads every group');

      const before = first.node.stats();
      // Proposed in one macrotask: the next flush persists all three groups in one round.
      const committed = await Promise.all(
        groups.map((g) =>
          first.propose(
            g,
            Array.from({ length: 5 }, (_, i) => `g${g}-${i}`),
          ),
        ),
      );
      t.deepEqual(
        committed,
        [1, 1, 1],
        'each group is its own partition: offset 0 is its leader no-op, then the values',
      );
      const after = first.node.stats();
      t.true(
        after.logSyncs - before.logSyncs > after.syncRounds - before.syncRounds,
        `several groups' logs were synced in one round (${after.logSyncs - before.logSyncs} syncs in ${after.syncRounds - before.syncRounds} rounds)`,
      );
      for (const group of groups) {
        const expected = Array.from({ length: 5 }, (_, i) => `g${group}-${i}`);
        await eventually(
          () => nodes.every((n) => n.values(group).length >= 5),
          `group ${group} applied everywhere`,
        );
        for (const node of nodes)
          t.deepEqual(node.values(group), expected, `group ${group} on node ${node.node.nodeId}`);
      }
      // One TCP connection per broker pair carried every group.
      for (const node of nodes) {
        const stats = node.transport.stats();
        t.is(stats.peers.length, 2);
        for (const peer of stats.peers)
          t.is(peer.connections, 1, `node ${node.node.nodeId} ↔ ${peer.nodeId}`);
        t.is(stats.badConnections, 0);
      }
    });
  },
);

test.serial(
  'idle groups go quiet: batches keep flowing for node liveness but carry no per-group heartbeats',
  async (t) => {
    const groups = Array.from({ length: 20 }, (_, i) => i + 1);
    await withNodes(2, groups, async (nodes) => {
      const [first, second] = nodes as [MultiNode, MultiNode];
      for (const group of groups) first.node.campaign(group);
      await eventually(() => groups.every((g) => leads(first, g)), 'node 1 leads every group');
      await Promise.all(groups.map((g) => first.propose(g, [`v${g}`])));
      await eventually(
        () =>
          first.node.host.stats().quiet === groups.length && second.node.host.stats().quiet === groups.length,
        'every group quiet on both nodes',
      );
      const quietFrom = first.node.stats();
      const peerBefore = second.node.stats().batchesReceived;
      await eventually(
        () => second.node.stats().batchesReceived >= peerBefore + 5,
        'five more liveness batches',
      );
      const quietTo = first.node.stats();
      t.true(quietTo.batchesSent > quietFrom.batchesSent, 'the peer still hears from us');
      // Liveness both ways: a peer that has not answered lately is probed with one group's
      // quiesce heartbeat, which it answers; per peer, never per group.
      t.true(
        quietTo.heartbeatsSent - quietFrom.heartbeatsSent <= quietTo.batchesSent - quietFrom.batchesSent,
        'but no per-group heartbeats while every group is quiet (at most one probe per batch)',
      );
      t.is(quietTo.messagesSent, quietFrom.messagesSent, 'and no group messages');
      // A proposal wakes its group and commits.
      await first.propose(7, ['after-quiet']);
      await eventually(() => second.values(7).includes('after-quiet'), 'the follower applied it');
      t.deepEqual(second.values(7), ['v7', 'after-quiet']);
    });
  },
);

test.serial(
  'a follower refuses proposals and a leader that is killed is replaced in every group, which commits again',
  async (t) => {
    const groups = [1, 2];
    await withNodes(3, groups, async (nodes) => {
      const [first, ...rest] = nodes as [MultiNode, MultiNode, MultiNode];
      for (const group of groups) first.node.campaign(group);
      await eventually(() => groups.every((g) => leads(first, g)), 'node 1 leads every group');
      await Promise.all(groups.map((g) => first.propose(g, ['a'])));
      const error = await t.throwsAsync(rest[0].propose(1, ['nope']), { instanceOf: ProposalDroppedError });
      t.is(error?.leader, nodeId(1), 'the refusal names the leader');

      await first.stop();
      for (const group of groups)
        await eventually(() => rest.some((n) => leads(n, group)), `a new leader for group ${group}`);
      for (const group of groups) {
        const leader = rest.find((n) => leads(n, group)) as MultiNode;
        await leader.propose(group, ['b']);
        await eventually(() => rest.every((n) => n.values(group).length === 2), `group ${group} applied b`);
        for (const node of rest) t.deepEqual(node.values(group), ['a', 'b']);
      }
    });
  },
);

test.serial(
  'a membership change through the multi-Raft node: a fourth broker joins one group and learns the whole membership',
  async (t) => {
    await withNodes(3, [1], async (nodes, root) => {
      const [first] = nodes as [MultiNode];
      first.node.campaign(1);
      await eventually(() => leads(first, 1), 'node 1 leads');
      await first.propose(1, ['a', 'b']);
      const joiner = await MultiNode.start({
        id: 4,
        dataDir: join(root, 'node-4'),
        listenPort: 0,
        peers: new Map(nodes.map((n, i) => [nodeId(i + 1), n.transport.address])),
        voters: [],
        groups: [1],
        seed: 4,
      });
      try {
        for (const node of nodes) node.transport.setPeer(nodeId(4), joiner.transport.address);
        await first.node.proposeConfChange(1, { type: ConfChangeType.AddVoter, node: nodeId(4) });
        await first.propose(1, ['c']);
        await eventually(() => joiner.values(1).length === 3, 'node 4 applied a, b, c');
        t.deepEqual(joiner.values(1), ['a', 'b', 'c']);
        t.deepEqual(
          [...(joiner.node.status(1)?.confState.voters ?? [])].sort(),
          [1, 2, 3, 4],
          'it knows every voter, not only itself',
        );
        t.is(joiner.node.status(1)?.role, StateRole.Follower);
      } finally {
        await joiner.stop();
      }
    });
  },
);

test.serial(
  'a batch whose sender differs from the connection handshake is dropped and counted',
  async (t) => {
    await withNodes(2, [1], async (nodes) => {
      const [first, second] = nodes as [MultiNode, MultiNode];
      first.node.campaign(1);
      await eventually(() => leads(first, 1), 'node 1 leads');
      const { encodePeerBatch } = await import('../../src/cluster/peer-batch-codec.js');
      const forged = encodePeerBatch({
        from: nodeId(9),
        to: nodeId(2),
        messages: [],
        heartbeats: [{ group: 1, term: 99 as never, commit: 0 as never }],
        heartbeatResponses: [],
      });
      first.transport.send(nodeId(2), PEER_BATCH_CHANNEL, forged);
      first.transport.flush();
      await eventually(() => second.node.stats().badBatches === 1, 'the forged batch was counted');
      t.true((second.node.status(1)?.term ?? 0) < 99, 'its term was not adopted');
    });
  },
);

test.serial(
  'three replicas on FileLog (a PartitionLog with reset) elect, commit in order everywhere and fail over',
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'goqueue-multi-raft-file-'));
    const nodes = await startLocalNodes(root, 3, { groups: [1], log: 'file' });
    try {
      const leaderOf = (among: MultiNode[]) => among.find((n) => leads(n, 1));
      await eventually(() => leaderOf(nodes) !== undefined, 'a leader');
      const leader = leaderOf(nodes) as MultiNode;
      const first = Array.from({ length: 20 }, (_, i) => `first-${i}`);
      t.is(await leader.propose(1, first), 1, 'offset 0 is the no-op; data starts at 1');
      await eventually(() => nodes.every((n) => n.values(1).length === 20), 'every replica applied');
      for (const node of nodes) t.deepEqual(node.values(1), first);
      await leader.stop();
      const survivors = nodes.filter((n) => n !== leader);
      await eventually(() => leaderOf(survivors) !== undefined, 'a new leader');
      await (leaderOf(survivors) as MultiNode).propose(1, ['second']);
      await eventually(() => survivors.every((n) => n.values(1).length === 21), 'survivors applied');
      for (const node of survivors) t.deepEqual(node.values(1), [...first, 'second']);
    } finally {
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test.serial(
  "a group's ReplicatedLog view returns stamped offsets, serves reads below the high watermark and answers OffsetForLeaderEpoch",
  async (t) => {
    await withNodes(1, [5], async ([node]) => {
      const multi = (node as MultiNode).node;
      await eventually(() => leads(node as MultiNode, 5), 'self-election');
      const log = multi.replicatedLog(5);
      const commits: number[] = [];
      log.on('commit', (offset: number) => commits.push(offset));
      const placed = await log.propose([producerBatch(Buffer.from('a')), producerBatch(Buffer.from('b'))]);
      t.deepEqual(placed, { baseOffset: 1, nextOffset: 3 }, 'offset 0 is the leader no-op');
      t.is(log.highWatermark, kafkaOffset(3));
      t.is(commits.at(-1), 3);
      t.deepEqual(
        splitBatches(await log.read(kafkaOffset(1), 1 << 20)).map((b) => producerBatchValue(b).toString()),
        ['a', 'b'],
      );
      t.deepEqual(
        await log.read(kafkaOffset(3), 1 << 20),
        Buffer.alloc(0),
        'nothing at or above the high watermark',
      );
      const epoch = log.leaderEpoch;
      t.deepEqual(log.endOffsetForEpoch(epoch), { epoch, endOffset: kafkaOffset(3) });
      t.deepEqual(log.endOffsetForEpoch(epoch - 1), { epoch: -1, endOffset: kafkaOffset(-1) });
    });
  },
);

test.serial(
  'a proposal pending when the leader loses its quorum is rejected with ProposalDroppedError',
  async (t) => {
    await withNodes(3, [1], async (nodes) => {
      const [first, ...rest] = nodes as [MultiNode, MultiNode, MultiNode];
      first.node.campaign(1);
      await eventually(() => leads(first, 1), 'node 1 leads');
      await first.propose(1, ['committed']);
      // Cut the leader off: CheckQuorum makes it step down, and its proposal must not hang.
      await Promise.all(rest.map((n) => n.stop()));
      const error = await t.throwsAsync(first.propose(1, ['never-committed']), {
        instanceOf: ProposalDroppedError,
      });
      t.regex(error?.message ?? '', /leadership lost/);
      t.false(leads(first, 1));
      t.deepEqual(first.values(1), ['committed']);
    });
  },
);

test.serial(
  'a voter removed by a membership change, then removeGroup on its node: the group commits without it and its other groups keep working',
  async (t) => {
    await withNodes(
      3,
      [1, 2],
      async (nodes) => {
        const [first, second, third] = nodes as [MultiNode, MultiNode, MultiNode];
        for (const group of [1, 2]) first.node.campaign(group);
        await eventually(() => leads(first, 1) && leads(first, 2), 'node 1 leads both groups');
        await Promise.all([first.propose(1, ['a']), first.propose(2, ['a'])]);
        await first.node.proposeConfChange(1, { type: ConfChangeType.Remove, node: nodeId(3) });
        await third.node.removeGroup(1);
        t.is(third.node.status(1), undefined);
        await first.propose(1, ['b']);
        await first.propose(2, ['b']);
        await eventually(() => second.values(1).length === 2, 'node 2 applied b in group 1');
        await eventually(() => third.values(2).length === 2, 'node 3 applied b in group 2');
        t.deepEqual(second.values(1), ['a', 'b']);
        t.deepEqual(third.values(1), ['a'], 'the removed replica received nothing more');
        t.deepEqual(third.values(2), ['a', 'b']);
        t.deepEqual(first.node.status(1)?.confState.voters, [nodeId(1), nodeId(2)]);
      },
      'file',
    );
  },
);

test.serial(
  'after a restart a group starts its high watermark at the saved commit index, not at its snapshot',
  async (t) => {
    await withNodes(1, [1], async (nodes, root) => {
      const [only] = nodes as [MultiNode];
      only.node.campaign(1);
      await eventually(() => leads(only, 1), 'node 1 leads');
      await only.propose(
        1,
        Array.from({ length: 10 }, (_, i) => `v${i}`),
      );
      const before = only.node.status(1)?.highWatermark;
      await only.stop();
      const dir = join(root, 'node-1', 'group-1');
      const storage = new DurableRaftStorage({
        log: openNativeLog(join(dir, 'log')),
        dir,
        initialConfState: { voters: [nodeId(1)], learners: [] },
      });
      const saved = storage.hardState.commit;
      t.true(saved > 1, `the commit index was saved (${saved})`);
      const silent = { onMessage() {}, onPeerDisconnected() {}, send: () => true, flush() {} };
      const restarted = new MultiRaftNode({ nodeId: nodeId(1), transport: silent, seed: 1 });
      restarted.addGroup(1, storage);
      // Before the first Ready replays anything, reads up to the saved commit are allowed.
      const status = restarted.status(1);
      t.is(status?.highWatermark, before, 'the high watermark starts where the saved commit puts it');
      await restarted.close();
    });
  },
);
