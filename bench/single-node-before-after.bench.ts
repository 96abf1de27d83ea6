/**
 * Single-broker produce throughput now against before the broker ran on Raft, in one run: one
 * `goqueue broker` process from this tree (a cluster of one: controller group, partition Raft
 * group, the same code path as a cluster) and one from a checkout of the last commit before that
 * change (0ddf0b8: a local log per partition, group commit, a JSON metadata file), each started
 * from its own sources with its own native module. The same SDK producer workload
 * (bench/produce-workload.ts) drives both; rounds alternate; 100 B and 1 KiB messages; once
 * with fsync on (the default: the disk sets the pace) and once with `fsync_enabled=false`
 * (GOQUEUE_FSYNC_ENABLED=false: the broker's CPU path sets it). Prints the ratio now / before.
 *
 * The older tree must be built first (its native build takes a few minutes):
 *   git worktree add /tmp/gq-before 0ddf0b8 && (cd /tmp/gq-before && npm ci && npm run build)
 * Run: `npm run bench -- single-node-before-after` (BENCH_BEFORE_TREE=/other/path to use another
 * checkout). Knobs: BENCH_ROUNDS (5), BENCH_PHASE_MS (3000 per side per round), BENCH_BATCH
 * (100), BENCH_IN_FLIGHT (8), BENCH_MODES (`fsync,no-fsync`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessCluster } from './process-cluster.js';
import {
  alternatingRounds,
  brokerCpuMicrosPerMessage,
  createReadyTopic,
  formatRate,
  messagesPerSecond,
  type WorkloadShape,
  type WorkloadSide,
  waitForBrokers,
} from './produce-workload.js';

const beforeTree = process.env.BENCH_BEFORE_TREE ?? '/tmp/gq-before';
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const batchMessages = Number(process.env.BENCH_BATCH ?? 100);
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const modes = (process.env.BENCH_MODES ?? 'fsync,no-fsync').split(',');
const phaseMs = Number(process.env.BENCH_PHASE_MS ?? 3000);
const sizes = [100, 1024];

if (!existsSync(join(beforeTree, 'index.js')) || !existsSync(join(beforeTree, 'node_modules'))) {
  console.error(
    `no built checkout of the pre-Raft broker at ${beforeTree}; build it with\n` +
      `  git worktree add ${beforeTree} 0ddf0b8 && (cd ${beforeTree} && npm ci && npm run build)`,
  );
  process.exit(1);
}

function side(name: string, cluster: ProcessCluster): WorkloadSide {
  return { name, client: cluster.client(), brokerPids: () => [cluster.pid(1)] };
}

const summary: string[] = [];
for (const mode of modes) {
  const env: Record<string, string> = mode === 'no-fsync' ? { GOQUEUE_FSYNC_ENABLED: 'false' } : {};
  const now = await ProcessCluster.create({ size: 1, label: 'now', env });
  const before = await ProcessCluster.create({ size: 1, label: 'before', env, repositoryRoot: beforeTree });
  try {
    await Promise.all([now.startAll(), before.startAll()]);
    const sides = [side('now (Raft)', now), side('before (0ddf0b8)', before)] as const;
    for (const s of sides) await waitForBrokers(s.client, 1);
    console.log(
      `\n${mode}: SDK producer, acks=all, 1 partition, ${batchMessages} messages per request, ` +
        `${inFlight} requests in flight, ${rounds} alternating rounds of ${phaseMs} ms per side (median shown)`,
    );
    for (const size of sizes) {
      const shape: WorkloadShape = { size, durationMs: phaseMs, batchMessages, inFlight, partitions: 1 };
      const topic = `single-${size}`;
      for (const s of sides) await createReadyTopic(s.client, topic, 1, 1);
      const medians = await alternatingRounds([...sides], topic, shape, rounds);
      const [a, b] = [medians.get(sides[0])!, medians.get(sides[1])!];
      console.log(`${mode} ${size} B  ${sides[0].name.padEnd(16)} ${formatRate(a)}`);
      console.log(`${mode} ${size} B  ${sides[1].name.padEnd(16)} ${formatRate(b)}`);
      const line =
        `ratio now / before, ${mode}, ${size} B: ${(messagesPerSecond(a) / messagesPerSecond(b)).toFixed(2)} ` +
        `(${Math.round(messagesPerSecond(a))} vs ${Math.round(messagesPerSecond(b))} msgs/s; ` +
        `broker CPU per message ${brokerCpuMicrosPerMessage(a).toFixed(1)} vs ` +
        `${brokerCpuMicrosPerMessage(b).toFixed(1)} µs, ` +
        `${(brokerCpuMicrosPerMessage(a) / brokerCpuMicrosPerMessage(b)).toFixed(2)}×)`;
      console.log(line);
      summary.push(line);
    }
    await Promise.all(sides.map((s) => s.client.close()));
  } finally {
    await Promise.all([now.close(), before.close()]);
  }
}
console.log('');
for (const line of summary) console.log(line);
