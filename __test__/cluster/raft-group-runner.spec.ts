import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { RaftGroupRunner, routeRaftMessages } from '../../src/cluster/raft-group-runner.js';
import { encodeRaftMessage } from '../../src/cluster/raft-message-codec.js';
import { Transport } from '../../src/cluster/transport.js';
import { kafkaOffset, nodeId, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { EntryType, MessageType, message } from '../../src/raft/types.js';
import { openNativeLog } from '../../src/storage/index.js';
import { producerBatch, producerBatchValue } from './fixtures/batches.js';
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

test('a single-replica group returns stamped offsets, serves reads below the high watermark and answers OffsetForLeaderEpoch', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-runner-'));
  const [node] = await startLocalGroup(root, 1);
  try {
    const runner = (node as ClusterNode).runner;
    await waitFor(() => runner.isLeader, 'self-election');
    const commits: number[] = [];
    runner.on('commit', (offset: number) => commits.push(offset));
    const first = await runner.propose([producerBatch(Buffer.from('a')), producerBatch(Buffer.from('b'))]);
    // Offset 0 is the leader's no-op control batch.
    t.deepEqual(first, { baseOffset: 1, nextOffset: 3 });
    t.is(runner.highWatermark, kafkaOffset(3));
    t.is(commits.at(-1), 3);
    const bytes = await runner.read(kafkaOffset(1), 1 << 20);
    t.deepEqual(
      splitBatches(bytes).map((batch) => producerBatchValue(batch).toString()),
      ['a', 'b'],
    );
    t.deepEqual(
      await runner.read(kafkaOffset(3), 1 << 20),
      Buffer.alloc(0),
      'nothing at or above the high watermark',
    );
    const epoch = runner.leaderEpoch;
    t.deepEqual(runner.endOffsetForEpoch(epoch), { epoch, endOffset: kafkaOffset(3) });
    t.deepEqual(runner.endOffsetForEpoch(epoch - 1), { epoch: -1, endOffset: kafkaOffset(-1) });
    // A message claiming a sender other than the connection's is dropped, not stepped.
    runner.receive(
      encodeRaftMessage(
        message({ type: MessageType.Vote, from: nodeId(9), to: nodeId(1), term: term(epoch + 5) }),
      ),
      nodeId(2),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.is(runner.leaderEpoch, epoch, 'the forged vote request did not move the term');
  } finally {
    await node?.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

/** Splits concatenated batches (test helper over the batch length field). */
function splitBatches(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 12 <= bytes.length; ) {
    const end = at + 12 + bytes.readInt32BE(at + 8);
    out.push(bytes.subarray(at, end));
    at = end;
  }
  return out;
}

test('two groups on the same three nodes share one connection per broker pair and both commit', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-multi-group-'));
  const ids = [1, 2, 3];
  const groupIds = [11, 12];
  const transports = ids.map(
    (id) =>
      new Transport({
        nodeId: nodeId(id),
        listen: { host: '127.0.0.1', port: 0 },
        peers: new Map(),
        prng: new Prng(id),
      }),
  );
  const runners: RaftGroupRunner[] = [];
  const appliedByGroup = new Map<string, string[]>();
  try {
    await Promise.all(transports.map((transport) => transport.start()));
    for (const [i, transport] of transports.entries()) {
      for (const [j, other] of transports.entries()) transport.setPeer(nodeId(j + 1), other.address);
      const groups = new Map<number, RaftGroupRunner>();
      for (const groupId of groupIds) {
        const dir = join(root, `node-${i + 1}`, `group-${groupId}`);
        mkdirSync(dir, { recursive: true });
        const applied: string[] = [];
        appliedByGroup.set(`${i + 1}/${groupId}`, applied);
        const runner = new RaftGroupRunner({
          groupId,
          nodeId: nodeId(i + 1),
          storage: new DurableRaftStorage({
            log: openNativeLog(join(dir, 'log')),
            dir,
            initialConfState: { voters: ids.map(nodeId), learners: [] },
          }),
          sender: transport,
          prng: new Prng(100 * (i + 1) + groupId),
          tickMs: 20,
          onApply: (entries) => {
            for (const e of entries)
              if (e.type === EntryType.Normal) applied.push(producerBatchValue(e.data).toString());
          },
        });
        groups.set(groupId, runner);
        runners.push(runner);
      }
      routeRaftMessages(transport, groups);
    }
    for (const runner of runners) runner.start();
    for (const groupId of groupIds) {
      const members = runners.filter((r) => r.groupId === groupId);
      await waitFor(() => members.some((r) => r.isLeader), `a leader of group ${groupId}`);
      const leader = members.find((r) => r.isLeader) as RaftGroupRunner;
      await leader.propose([
        producerBatch(Buffer.from(`g${groupId}-a`)),
        producerBatch(Buffer.from(`g${groupId}-b`)),
      ]);
    }
    await waitFor(
      () => [...appliedByGroup.values()].every((values) => values.length === 2),
      'every replica of both groups',
    );
    for (const [key, values] of appliedByGroup) {
      const groupId = key.split('/')[1];
      t.deepEqual(
        values,
        [`g${groupId}-a`, `g${groupId}-b`],
        `replica ${key} holds only its group's entries`,
      );
    }
    for (const transport of transports)
      for (const peer of transport.stats().peers) t.is(peer.connections, 1, 'one connection per broker pair');
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await Promise.all(transports.map((transport) => transport.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});

test('a proposal pending when the leader loses its quorum is rejected with ProposalDroppedError', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-runner-'));
  const nodes = await startLocalGroup(root, 3);
  try {
    await waitFor(() => leaderOf(nodes) !== undefined, 'a leader');
    const leader = leaderOf(nodes) as ClusterNode;
    await leader.propose(['committed']);
    // Cut the leader off: both followers stop. CheckQuorum makes it step down within an
    // election timeout, and its uncommitted proposal must not hang.
    await Promise.all(nodes.filter((n) => n !== leader).map((n) => n.stop()));
    const error = await t.throwsAsync(leader.propose(['never-committed']), {
      instanceOf: ProposalDroppedError,
    });
    t.regex(error?.message ?? '', /leadership lost/);
    t.false(leader.runner.isLeader);
    t.deepEqual(leader.applied, ['committed']);
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    rmSync(root, { recursive: true, force: true });
  }
});
