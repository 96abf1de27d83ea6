import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { type ClusterNode, startLocalGroup } from './fixtures/cluster-node.js';

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const leaderOf = (nodes: ClusterNode[]): ClusterNode | undefined => nodes.find((n) => n.runner.isLeader);

const failover = test.macro(async (t, log: 'native' | 'file') => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-runner-'));
  const nodes = await startLocalGroup(root, 3, { log });
  try {
    await waitFor(() => leaderOf(nodes) !== undefined, 'a leader');
    const leader = leaderOf(nodes) as ClusterNode;
    const first = Array.from({ length: 20 }, (_, i) => `first-${i}`);
    const baseOffset = await leader.propose(first);
    // Offset 0 is the leader's no-op (a control batch), so data starts at 1.
    t.is(baseOffset, 1);
    await waitFor(() => nodes.every((n) => n.applied.length === 20), 'every replica applied the batch');
    for (const node of nodes) t.deepEqual(node.applied, first);
    t.is(
      new Set(nodes.map((n) => n.runner.highWatermark)).size,
      1,
      'all replicas agree on the high watermark',
    );

    const follower = nodes.find((n) => n !== leader) as ClusterNode;
    await t.throwsAsync(follower.propose(['from-a-follower']), { instanceOf: ProposalDroppedError });

    await leader.stop();
    const survivors = nodes.filter((n) => n !== leader);
    await waitFor(() => leaderOf(survivors) !== undefined, 'a new leader among the survivors');
    const second = ['second-0', 'second-1'];
    await (leaderOf(survivors) as ClusterNode).propose(second);
    await waitFor(
      () => survivors.every((n) => n.applied.length === 22),
      'survivors applied the second batch',
    );
    for (const node of survivors) t.deepEqual(node.applied, [...first, ...second]);
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    rmSync(root, { recursive: true, force: true });
  }
});

test(
  'three in-process replicas on the native log over loopback TCP elect, commit in order everywhere, and fail over',
  failover,
  'native',
);
test(
  'three in-process replicas on FileLog over loopback TCP elect, commit in order everywhere, and fail over',
  failover,
  'file',
);
