/**
 * Idle cost of many Raft groups between two brokers: two MultiRaftNodes in this process, each
 * with its own raft Transport on loopback TCP, sharing 1, 100 and 1,000 groups (node 1 leads them
 * all). Once every group has committed an entry and gone quiet, it counts over a window the
 * frames both transports sent per second, the coalesced group heartbeats inside them, and the
 * process CPU. Frames/s must stay flat as groups grow (one PeerBatch per broker pair per heartbeat
 * interval); the ratio 1,000 groups / 1 group is printed. A last row runs 100 groups with
 * quiescence off: frames stay flat (heartbeats are coalesced) but each carries every group.
 *
 * Groups use MemoryLog and unsynced state files: idle traffic never touches the log, and
 * starting 2,000 native logs would only measure start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MultiNode, startLocalNodes } from '../__test__/cluster/fixtures/multi-node.js';
import { StateRole } from '../src/raft/types.js';

const windowMs = Number(process.env.BENCH_MS ?? 3000);
const tickMs = 50;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Sample {
  framesPerSecond: number;
  heartbeatsPerSecond: number;
  bytesPerSecond: number;
  cpuPercent: number;
}

async function measure(groupCount: number, quiesce: boolean): Promise<Sample> {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-bench-cluster-idle-'));
  const groups = Array.from({ length: groupCount }, (_, i) => i + 1);
  const nodes = await startLocalNodes(root, 2, { groups, log: 'memory', fsync: false, tickMs, quiesce });
  try {
    const [leader, follower] = nodes as [MultiNode, MultiNode];
    for (const group of groups) leader.node.campaign(group);
    await waitFor(
      () => groups.every((g) => leader.node.status(g)?.role === StateRole.Leader),
      'node 1 leads every group',
    );
    await Promise.all(groups.map((g) => leader.propose(g, ['x'])));
    if (quiesce)
      await waitFor(
        () =>
          leader.node.host.stats().quiet === groupCount && follower.node.host.stats().quiet === groupCount,
        'every group quiet',
      );
    // Let the last quiesce heartbeats and the behind-written commit indexes go out first.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sent = () => nodes.reduce((sum, n) => sum + n.transport.stats().sentFrames, 0);
    const sentBytes = () =>
      nodes.reduce((sum, n) => sum + n.transport.stats().peers.reduce((s, p) => s + p.sentBytes, 0), 0);
    const heartbeats = () => nodes.reduce((sum, n) => sum + n.node.stats().heartbeatsSent, 0);
    const [frames0, bytes0, heartbeats0, cpu0, t0] = [
      sent(),
      sentBytes(),
      heartbeats(),
      process.cpuUsage(),
      performance.now(),
    ];
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      framesPerSecond: (sent() - frames0) / seconds,
      heartbeatsPerSecond: (heartbeats() - heartbeats0) / seconds,
      bytesPerSecond: (sentBytes() - bytes0) / seconds,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  }
}

const row = (label: string, s: Sample) =>
  `${label.padEnd(28)} ${s.framesPerSecond.toFixed(1).padStart(7)} frames/s ${s.heartbeatsPerSecond
    .toFixed(0)
    .padStart(7)} group heartbeats/s ${(s.bytesPerSecond / 1024).toFixed(1).padStart(8)} KiB/s ${s.cpuPercent
    .toFixed(1)
    .padStart(5)}% CPU`;

console.log(`two brokers, tick ${tickMs} ms, heartbeat every 2 ticks, window ${windowMs} ms`);
const results = new Map<number, Sample>();
for (const groupCount of [1, 100, 1000]) {
  const sample = await measure(groupCount, true);
  results.set(groupCount, sample);
  console.log(row(`${groupCount} idle groups (quiet)`, sample));
}
const awake = await measure(100, false);
console.log(row('100 groups, quiescence off', awake));
const one = results.get(1) as Sample;
const thousand = results.get(1000) as Sample;
console.log(
  `ratio frames/s 1000 quiet groups / 1 group: ${(thousand.framesPerSecond / one.framesPerSecond).toFixed(2)}; ` +
    `100 awake groups / 1 group: ${(awake.framesPerSecond / one.framesPerSecond).toFixed(2)}`,
);
