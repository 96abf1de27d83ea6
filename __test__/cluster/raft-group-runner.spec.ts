import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { PeerAddress } from '../../src/cluster/transport.js';
import { type NodeId, nodeId } from '../../src/lib/ids.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { ClusterNode } from './fixtures/cluster-node.js';

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function startCluster(root: string): Promise<ClusterNode[]> {
  const ids = [1, 2, 3];
  const nodes = await Promise.all(
    ids.map((id) =>
      ClusterNode.start({
        id,
        dataDir: join(root, `node-${id}`),
        listenPort: 0,
        peers: new Map(),
        voters: ids,
        seed: id,
      }),
    ),
  );
  const addresses = new Map<NodeId, PeerAddress>(
    nodes.map((n, i) => [nodeId(ids[i] as number), n.transport.address]),
  );
  for (const node of nodes) for (const [id, address] of addresses) node.transport.setPeer(id, address);
  return nodes;
}

const leaderOf = (nodes: ClusterNode[]): ClusterNode | undefined => nodes.find((n) => n.runner.isLeader);

test('three in-process replicas over loopback TCP elect a leader, commit in order everywhere, and fail over', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-runner-'));
  const nodes = await startCluster(root);
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
