/**
 * The produce workload the cluster benchmarks share: goqueue's SDK producer (`produceMessage`)
 * sends batches of `batchMessages` messages of `size` bytes, round-robin over the topic's
 * partitions, with `inFlight` requests outstanding, acks=all, for `durationMs` (a phase is timed,
 * not counted, so it lasts long enough on a fast machine and not too long on a loaded one; the
 * requests in flight at the deadline are waited for and counted). Reports messages/s, MB/s and
 * the CPU the broker processes and this client spent per message.
 *
 * Not a `.bench.ts` file, so `bench/run.ts` does not run it.
 */
import { Admin } from '../src/client/admin.js';
import type { Client } from '../src/client/client.js';
import { Producer } from '../src/client/producer.js';
import { cpuSeconds, waitUntil } from './process-cluster.js';

export interface WorkloadShape {
  size: number;
  durationMs: number;
  batchMessages: number;
  inFlight: number;
  partitions: number;
}

export interface PhaseResult {
  messages: number;
  bytes: number;
  seconds: number;
  /** CPU seconds of every broker process (user + system) during the phase. */
  brokerCpuSeconds: number;
  /** CPU seconds of this (client) process during the phase. */
  clientCpuSeconds: number;
}

export const messagesPerSecond = (r: PhaseResult): number => r.messages / r.seconds;
export const megabytesPerSecond = (r: PhaseResult): number => r.bytes / r.seconds / 1e6;
export const brokerCpuMicrosPerMessage = (r: PhaseResult): number => (r.brokerCpuSeconds * 1e6) / r.messages;

/** Produces to `topic` for `shape.durationMs` and measures the phase. */
export async function producePhase(
  client: Client,
  topic: string,
  shape: WorkloadShape,
  brokerPids: number[],
): Promise<PhaseResult> {
  const producer = new Producer(client, { acks: -1 });
  const value = Buffer.alloc(shape.size, 'b');
  const messages = Array.from({ length: shape.batchMessages }, () => ({ value }));
  const brokerCpu = () => brokerPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  let next = 0;
  let sent = 0;
  const brokerBefore = brokerCpu();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + shape.durationMs;
  await Promise.all(
    Array.from({ length: shape.inFlight }, async () => {
      while (performance.now() < deadline) {
        const index = next++;
        await producer.produceMessage({ topic, partition: index % shape.partitions, messages });
        sent += messages.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const clientUsage = process.cpuUsage(clientBefore);
  return {
    messages: sent,
    bytes: sent * shape.size,
    seconds,
    brokerCpuSeconds: brokerCpu() - brokerBefore,
    clientCpuSeconds: (clientUsage.user + clientUsage.system) / 1e6,
  };
}

/** Waits until Metadata names `count` live brokers and a controller. */
export async function waitForBrokers(client: Client, count: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async () => {
      const metadata = await client.refreshMetadata(undefined);
      return metadata.brokers.size === count && metadata.controllerId > 0 ? true : undefined;
    },
    `${count} live brokers and a controller`,
    timeoutMs,
  );
}

/** Creates a topic and waits until every partition has a leader that accepts a produce. */
export async function createReadyTopic(
  client: Client,
  topic: string,
  partitions: number,
  replicationFactor: number,
): Promise<void> {
  await new Admin(client).createTopic({ name: topic, partitions, replicationFactor });
  await waitUntil(async () => {
    const metadata = await client.refreshMetadata([topic]);
    const found = metadata.topics.get(topic);
    return found !== undefined &&
      found.partitions.length === partitions &&
      found.partitions.every((p) => p.leader >= 0)
      ? true
      : undefined;
  }, `leaders for ${topic}`);
  const producer = new Producer(client, { acks: -1 });
  for (let partition = 0; partition < partitions; partition++)
    await producer.produceMessage({ topic, partition, messages: [{ value: 'ready' }] });
}

export function formatRate(r: PhaseResult): string {
  return `${Math.round(messagesPerSecond(r)).toString().padStart(8)} msgs/s ${megabytesPerSecond(r)
    .toFixed(1)
    .padStart(
      6,
    )} MB/s  broker CPU ${brokerCpuMicrosPerMessage(r).toFixed(1).padStart(5)} µs/msg  client CPU ${(
    (r.clientCpuSeconds * 1e6) /
    r.messages
  )
    .toFixed(1)
    .padStart(4)} µs/msg`;
}

/** One side of a comparison: a client and the broker processes it drives. */
export interface WorkloadSide {
  name: string;
  client: Client;
  brokerPids(): number[];
}

/** The round with the median messages/s. */
export function medianRound(results: PhaseResult[]): PhaseResult {
  const sorted = [...results].sort((a, b) => messagesPerSecond(a) - messagesPerSecond(b));
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * A warm-up phase (a fifth of the duration) per side, then `rounds` rounds in which every side
 * runs the same phase once; the order flips every round so neither side always goes first.
 * Returns each side's median round.
 */
export async function alternatingRounds(
  sides: WorkloadSide[],
  topic: string,
  shape: WorkloadShape,
  rounds: number,
): Promise<Map<WorkloadSide, PhaseResult>> {
  for (const side of sides)
    await producePhase(
      side.client,
      topic,
      { ...shape, durationMs: Math.ceil(shape.durationMs / 5) },
      side.brokerPids(),
    );
  const results = new Map<WorkloadSide, PhaseResult[]>(sides.map((side) => [side, []]));
  const width = Math.max(...sides.map((side) => side.name.length));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const result = await producePhase(side.client, topic, shape, side.brokerPids());
      results.get(side)!.push(result);
      console.log(`  round ${round + 1} ${shape.size} B ${side.name.padEnd(width)} ${formatRate(result)}`);
    }
  }
  return new Map(sides.map((side) => [side, medianRound(results.get(side)!)]));
}
