/**
 * Produce throughput of a 3-broker cluster (topic RF=3, acks=all) against one broker (RF=1), in
 * one run: four real `goqueue broker` processes on loopback (one cluster of three formed with
 * --initial-cluster, one plain single broker), both driven by goqueue's SDK producer from this
 * process with the same workload (bench/produce-workload.ts). Rounds alternate the two sides
 * (the order flips each round) and the median round of each side is compared; 100 B and 1 KiB
 * messages. Prints messages/s, MB/s, the brokers' CPU per message (all broker processes of the
 * side) and the ratio 3 brokers / 1 broker.
 *
 * Run: `npm run bench -- cluster-throughput`. Knobs: BENCH_ROUNDS (5), BENCH_PHASE_MS (3000 per
 * side per round), BENCH_PARTITIONS (1), BENCH_BATCH (100 messages per produce request),
 * BENCH_IN_FLIGHT (8 requests outstanding).
 */
import { ProcessCluster } from './process-cluster.js';
import {
  alternatingRounds,
  brokerCpuMicrosPerMessage,
  createReadyTopic,
  formatRate,
  megabytesPerSecond,
  messagesPerSecond,
  type WorkloadShape,
  type WorkloadSide,
  waitForBrokers,
} from './produce-workload.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const partitions = Number(process.env.BENCH_PARTITIONS ?? 1);
const batchMessages = Number(process.env.BENCH_BATCH ?? 100);
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const phaseMs = Number(process.env.BENCH_PHASE_MS ?? 3000);
const sizes = [100, 1024];

function side(name: string, cluster: ProcessCluster): WorkloadSide {
  return {
    name,
    client: cluster.client(),
    brokerPids: () => [...cluster.members.keys()].map((id) => cluster.pid(id)),
  };
}

const single = await ProcessCluster.create({ size: 1, label: 'single' });
const triple = await ProcessCluster.create({ size: 3, label: 'triple' });
try {
  await Promise.all([single.startAll(), triple.startAll()]);
  const one = side('1 broker, RF=1', single);
  const three = side('3 brokers, RF=3', triple);
  await waitForBrokers(one.client, 1);
  await waitForBrokers(three.client, 3);
  console.log(
    `SDK producer, acks=all, ${partitions} partition(s), ${batchMessages} messages per request, ` +
      `${inFlight} requests in flight, ${rounds} alternating rounds of ${phaseMs} ms per side (median shown)`,
  );
  const summary: string[] = [];
  for (const size of sizes) {
    const shape: WorkloadShape = { size, durationMs: phaseMs, batchMessages, inFlight, partitions };
    const topic = `throughput-${size}`;
    await createReadyTopic(one.client, topic, partitions, 1);
    await createReadyTopic(three.client, topic, partitions, 3);
    const medians = await alternatingRounds([one, three], topic, shape, rounds);
    const [a, b] = [medians.get(one)!, medians.get(three)!];
    console.log(`${size} B  ${one.name.padEnd(16)} ${formatRate(a)}`);
    console.log(`${size} B  ${three.name.padEnd(16)} ${formatRate(b)}`);
    const line =
      `ratio 3 brokers RF=3 / 1 broker, ${size} B: ${(messagesPerSecond(b) / messagesPerSecond(a)).toFixed(2)} ` +
      `(${Math.round(messagesPerSecond(b))} vs ${Math.round(messagesPerSecond(a))} msgs/s, ` +
      `${megabytesPerSecond(b).toFixed(1)} vs ${megabytesPerSecond(a).toFixed(1)} MB/s; ` +
      `broker CPU per message ${(brokerCpuMicrosPerMessage(b) / brokerCpuMicrosPerMessage(a)).toFixed(2)}×)`;
    console.log(line);
    summary.push(line);
  }
  console.log('');
  for (const line of summary) console.log(line);
  await Promise.all([one.client.close(), three.client.close()]);
} finally {
  await Promise.all([single.close(), triple.close()]);
}
