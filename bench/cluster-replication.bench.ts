/**
 * Committed entries/s of one Raft group: 3 replicas (three MultiRaftNodes in this process, each
 * with its own raft Transport on loopback TCP and its own native log in a temp dir) vs 1 replica
 * (same code, no peers), for 100 B and 64 KiB entries. Proposals are pipelined (a fixed number in
 * flight); an entry counts once the leader has it committed (fsynced on a quorum) and applied.
 *
 * The log is the native segmented PartitionLog (one group-commit round per flush per node).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { producerBatch } from '../__test__/cluster/fixtures/batches.js';
import { type MultiNode, startLocalNodes } from '../__test__/cluster/fixtures/multi-node.js';
import { StateRole } from '../src/raft/types.js';

const GROUP = 1;
const leads = (node: MultiNode) => node.node.status(GROUP)?.role === StateRole.Leader;

const runMs = Number(process.env.BENCH_MS ?? 3000);

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function measure(
  replicas: number,
  entryBytes: number,
  inFlight: number,
): Promise<{ entriesPerSecond: number; mbPerSecond: number }> {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-bench-cluster-'));
  const nodes = await startLocalNodes(root, replicas, { groups: [GROUP] });
  await waitFor(() => nodes.some(leads));
  const leader = nodes.find(leads) as MultiNode;
  // One template batch; each proposal gets its own copy (the log stamps offset and term in place).
  const template = producerBatch(Buffer.alloc(entryBytes, 0x61));
  let committed = 0;
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      await leader.node.propose(GROUP, Buffer.from(template));
      committed++;
    }
  };
  // Warm-up, then the measured window.
  const warm = performance.now();
  const workers = Array.from({ length: inFlight }, () => worker());
  while (performance.now() - warm < 300) await new Promise((resolve) => setTimeout(resolve, 20));
  const startCommitted = committed;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, runMs));
  const elapsedMs = performance.now() - start;
  const count = committed - startCommitted;
  running = false;
  await Promise.allSettled(workers);
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(root, { recursive: true, force: true });
  const entriesPerSecond = (count * 1000) / elapsedMs;
  return { entriesPerSecond, mbPerSecond: (entriesPerSecond * entryBytes) / (1024 * 1024) };
}

for (const [entryBytes, inFlight] of [
  [100, 256],
  [64 * 1024, 32],
] as const) {
  const single = await measure(1, entryBytes, inFlight);
  const triple = await measure(3, entryBytes, inFlight);
  const label = entryBytes === 100 ? '100 B' : '64 KiB';
  const row = (name: string, r: { entriesPerSecond: number; mbPerSecond: number }) =>
    `${label.padEnd(7)} ${name.padEnd(26)} ${r.entriesPerSecond.toFixed(0).padStart(8)} entries/s ${r.mbPerSecond.toFixed(1).padStart(7)} MB/s`;
  console.log(row('1 replica', single));
  console.log(row('3 replicas (loopback TCP)', triple));
  console.log(
    `${label.padEnd(7)} ratio 3 replicas / 1 replica: ${(triple.entriesPerSecond / single.entriesPerSecond).toFixed(2)}`,
  );
}
