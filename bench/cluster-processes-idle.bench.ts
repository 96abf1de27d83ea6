/**
 * Idle cost of 1,000 partitions on 3 brokers against 10 partitions, in one run: two 3-broker
 * clusters of real `goqueue broker` processes on loopback, one holding 10 topics × 100
 * partitions (RF=3: every broker hosts 1,000 replicas, 1,000 Raft groups), the other one topic
 * of 10 partitions (RF=3). Every partition gets one acknowledged message, then both clusters
 * sit idle for a settling time and are measured over the same window:
 *
 * - CPU: user + system time of the three broker processes (/proc/<pid>/stat), as a share of
 *   one core;
 * - raft traffic: bytes and TCP data segments sent on the brokers' raft connections (both ends
 *   of every connection are on this machine; `ss` reports per-socket counters). Transport frame
 *   counts are not exposed over the wire; one flush is one write, so on an idle connection a
 *   data segment stands for one coalesced batch (PeerBatch frame);
 * - resident memory and open files per broker, at the end of the window.
 *
 * Prints both clusters and the ratios 1,000 / 10 partitions. Also prints how long creating the
 * 1,000 partitions took (until every one had a leader).
 *
 * Run: `npm run bench -- cluster-processes-idle`. Knobs: BENCH_SETTLE_MS (10000),
 * BENCH_IDLE_MS (20000), BENCH_TOPICS (10) × BENCH_PARTITIONS_PER_TOPIC (100) for the large side.
 */
import { Admin } from '../src/client/admin.js';
import type { Client } from '../src/client/client.js';
import { Producer } from '../src/client/producer.js';
import {
  cpuSeconds,
  openFiles,
  ProcessCluster,
  raftSocketTotals,
  residentBytes,
  type SocketTotals,
  sleep,
  socketDelta,
  waitUntil,
} from './process-cluster.js';
import { waitForBrokers } from './produce-workload.js';

const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 10_000);
const idleMs = Number(process.env.BENCH_IDLE_MS ?? 20_000);
const largeTopics = Number(process.env.BENCH_TOPICS ?? 10);
const partitionsPerTopic = Number(process.env.BENCH_PARTITIONS_PER_TOPIC ?? 100);

interface Side {
  name: string;
  partitions: number;
  cluster: ProcessCluster;
  client: Client;
  topics: Array<{ name: string; partitions: number }>;
}

interface Reading {
  cpu: number[];
  sockets: Map<string, SocketTotals>;
  atMs: number;
}

function pids(side: Side): number[] {
  return [...side.cluster.members.keys()].map((id) => side.cluster.pid(id));
}

function read(side: Side): Reading {
  return {
    cpu: pids(side).map(cpuSeconds),
    sockets: raftSocketTotals(side.cluster.raftPorts()),
    atMs: performance.now(),
  };
}

/** Creates the side's topics and resolves with the time until every partition had a leader. */
async function populate(side: Side): Promise<number> {
  const started = performance.now();
  const admin = new Admin(side.client);
  for (const topic of side.topics)
    await admin.createTopic({ name: topic.name, partitions: topic.partitions, replicationFactor: 3 });
  await waitUntil(
    async () => {
      const metadata = await side.client.refreshMetadata(side.topics.map((t) => t.name));
      return side.topics.every((t) => {
        const found = metadata.topics.get(t.name);
        return (
          found !== undefined &&
          found.partitions.length === t.partitions &&
          found.partitions.every((p) => p.leader >= 0)
        );
      })
        ? true
        : undefined;
    },
    `leaders for ${side.partitions} partitions`,
    240_000,
  );
  const elapsed = performance.now() - started;
  // One acknowledged message per partition, 50 produces in flight.
  const producer = new Producer(side.client, { acks: -1 });
  const work = side.topics.flatMap((t) =>
    Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })),
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < work.length) {
        const item = work[next++]!;
        await producer.produceMessage({ ...item, messages: [{ value: 'one' }] });
      }
    }),
  );
  return elapsed;
}

interface Figures {
  cpuPercent: number;
  cpuPercentPerBroker: number[];
  bytesPerSecond: number;
  segmentsPerSecond: number;
  sockets: number;
  residentMiB: number[];
  openFiles: number[];
}

function figures(side: Side, before: Reading, after: Reading): Figures {
  const seconds = (after.atMs - before.atMs) / 1000;
  const perBroker = after.cpu.map((c, i) => ((c - before.cpu[i]!) / seconds) * 100);
  const sent = socketDelta(before.sockets, after.sockets);
  return {
    cpuPercent: perBroker.reduce((a, b) => a + b, 0),
    cpuPercentPerBroker: perBroker,
    bytesPerSecond: sent.bytesSent / seconds,
    segmentsPerSecond: sent.dataSegmentsSent / seconds,
    sockets: sent.sockets,
    residentMiB: pids(side).map((pid) => residentBytes(pid) / (1024 * 1024)),
    openFiles: pids(side).map(openFiles),
  };
}

function row(side: Side, f: Figures): string {
  return (
    `${String(side.partitions).padStart(5)} partitions: CPU ${f.cpuPercent.toFixed(2).padStart(6)}% of one core ` +
    `(per broker ${f.cpuPercentPerBroker.map((c) => c.toFixed(2)).join(' / ')}), raft ` +
    `${(f.bytesPerSecond / 1024).toFixed(1).padStart(6)} KiB/s ${f.segmentsPerSecond.toFixed(1).padStart(6)} segments/s ` +
    `on ${f.sockets} sockets, RSS ${f.residentMiB.map((m) => m.toFixed(0)).join(' / ')} MiB, ` +
    `open files ${f.openFiles.join(' / ')}`
  );
}

const smallCluster = await ProcessCluster.create({ size: 3, label: 'idle-small' });
const largeCluster = await ProcessCluster.create({ size: 3, label: 'idle-large' });
try {
  await Promise.all([smallCluster.startAll(), largeCluster.startAll()]);
  const small: Side = {
    name: 'small',
    partitions: 10,
    cluster: smallCluster,
    client: smallCluster.client({ timeoutMs: 60_000 }),
    topics: [{ name: 'idle-0', partitions: 10 }],
  };
  const large: Side = {
    name: 'large',
    partitions: largeTopics * partitionsPerTopic,
    cluster: largeCluster,
    client: largeCluster.client({ timeoutMs: 60_000 }),
    topics: Array.from({ length: largeTopics }, (_, i) => ({
      name: `idle-${i}`,
      partitions: partitionsPerTopic,
    })),
  };
  await waitForBrokers(small.client, 3);
  await waitForBrokers(large.client, 3);
  const smallCreateMs = await populate(small);
  const largeCreateMs = await populate(large);
  console.log(
    `created and produced to every partition: 10 partitions had leaders after ${smallCreateMs.toFixed(0)} ms, ` +
      `${large.partitions} after ${largeCreateMs.toFixed(0)} ms (RF=3, 3 brokers each)`,
  );
  console.log(`settling ${settleMs} ms, then measuring both clusters over the same ${idleMs} ms window`);
  await sleep(settleMs);
  const before = [read(small), read(large)] as const;
  await sleep(idleMs);
  const after = [read(small), read(large)] as const;
  const [a, b] = [figures(small, before[0], after[0]), figures(large, before[1], after[1])];
  console.log(row(small, a));
  console.log(row(large, b));
  const ratio = (x: number, y: number) => (y === 0 ? 'n/a (0 for 10 partitions)' : (x / y).toFixed(2));
  console.log(
    `ratio ${large.partitions} / 10 partitions: CPU ${ratio(b.cpuPercent, a.cpuPercent)}, raft bytes/s ` +
      `${ratio(b.bytesPerSecond, a.bytesPerSecond)}, raft segments/s ${ratio(b.segmentsPerSecond, a.segmentsPerSecond)}, ` +
      `RSS ${ratio(
        b.residentMiB.reduce((x, y) => x + y, 0),
        a.residentMiB.reduce((x, y) => x + y, 0),
      )}`,
  );
  await Promise.all([small.client.close(), large.client.close()]);
} finally {
  await Promise.all([smallCluster.close(), largeCluster.close()]);
}
