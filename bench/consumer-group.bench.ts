/**
 * ConsumerGroup costs, one broker process, same run:
 *  1. Consume throughput: one ConsumerGroup member reading a 12-partition topic from the start
 *     against the plain Consumer reading the same 12 partitions (one stream per partition), as
 *     messages and as batches; the ratio group / plain (the target is > 0.9: a group costs
 *     < 10%), and the client process's CPU time per message (less sensitive to a loaded machine;
 *     the ratio should stay < 1.1). Rounds alternate the two sides; medians are printed.
 *  2. Rebalance time for 3 members, SDK against KafkaJS 2.2 (same heartbeat interval 500 ms,
 *     session 10 s, fetch wait 500 ms; both default to the range assignor here): (a) three
 *     members start at once → all 12 partitions owned, disjointly; (b) one of the three leaves
 *     (close / disconnect) → the other two own all 12. KafkaJS heartbeats from its fetch loop,
 *     the SDK from a timer of its own.
 * Run: `npm run bench -- consumer-group` (BENCH_MESSAGES, BENCH_ROUNDS).
 */
import { Kafka, logLevel } from 'kafkajs';
import { Admin } from '../src/client/admin.js';
import type { Client } from '../src/client/client.js';
import { Consumer } from '../src/client/consumer.js';
import { ConsumerGroup } from '../src/client/consumer-group.js';
import { Producer } from '../src/client/producer.js';
import { median, ProcessCluster } from './process-cluster.js';

const PARTITIONS = 12;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 240_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const VALUE = Buffer.alloc(100, 'x');
const HEARTBEAT_MS = 500;
const SESSION_MS = 10_000;
/** Both clients long-poll this long (KafkaJS only heartbeats between fetches). */
const FETCH_WAIT_MS = 500;

async function fill(client: Client, topic: string): Promise<void> {
  await new Admin(client).createTopic({ name: topic, partitions: PARTITIONS });
  const producer = new Producer(client);
  const perPartition = MESSAGES / PARTITIONS;
  const batch = 1_000;
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      for (let sent = 0; sent < perPartition; sent += batch) {
        const count = Math.min(batch, perPartition - sent);
        await producer.produceMessage({
          topic,
          partition,
          messages: Array.from({ length: count }, () => ({ value: VALUE })),
        });
      }
    }),
  );
}

interface Phase {
  /** Messages per second of wall time. */
  rate: number;
  /** This process's CPU time (user + system) per message, µs: what the client itself costs. */
  cpuMicros: number;
}

function phaseResult(started: number, cpu: NodeJS.CpuUsage): Phase {
  const used = process.cpuUsage(cpu);
  return {
    rate: MESSAGES / ((performance.now() - started) / 1000),
    cpuMicros: (used.user + used.system) / MESSAGES,
  };
}

/** The plain Consumer: one stream per partition until it has its share. */
async function plainConsume(client: Client, topic: string, batches: boolean): Promise<Phase> {
  const consumer = new Consumer(client, { maxWaitMs: 100 });
  const perPartition = MESSAGES / PARTITIONS;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      let read = 0;
      if (batches) {
        for await (const batch of consumer.batches({ topic, partition, from: 'earliest' })) {
          read += batch.messages.length;
          if (read >= perPartition) break;
        }
      } else {
        for await (const _message of consumer.stream({ topic, partition, from: 'earliest' })) {
          if (++read >= perPartition) break;
        }
      }
    }),
  );
  return phaseResult(started, cpu);
}

/** One ConsumerGroup member (a fresh group id), timed from start() as the plain side. */
async function groupConsume(
  client: Client,
  topic: string,
  groupId: string,
  batches: boolean,
): Promise<Phase> {
  const group = new ConsumerGroup(client, { groupId, fromBeginning: true, maxWaitMs: 100 });
  group.subscribe(topic);
  const started = performance.now();
  const cpu = process.cpuUsage();
  let read = 0;
  if (batches) {
    for await (const batch of group.batches()) {
      read += batch.messages.length;
      if (read >= MESSAGES) break;
    }
  } else {
    for await (const _message of group) if (++read >= MESSAGES) break;
  }
  const result = phaseResult(started, cpu);
  await group.close();
  return result;
}

/** ms until `done()` holds, checked every 5 ms. */
async function until(done: () => boolean, started: number): Promise<number> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
  return performance.now() - started;
}

function disjointAndComplete(assignments: Array<number[]>, members: number): boolean {
  const all = assignments.flat();
  return (
    assignments.filter((a) => a.length > 0).length === members &&
    all.length === PARTITIONS &&
    new Set(all).size === PARTITIONS
  );
}

async function sdkRebalance(
  cluster: ProcessCluster,
  topic: string,
  groupId: string,
): Promise<[number, number]> {
  const clients = [0, 1, 2].map(() => cluster.client());
  const groups = clients.map(
    (client) =>
      new ConsumerGroup(client, {
        groupId,
        heartbeatIntervalMs: HEARTBEAT_MS,
        sessionTimeoutMs: SESSION_MS,
        maxWaitMs: FETCH_WAIT_MS,
        assignors: ['range'],
      }),
  );
  const owned = () => groups.map((group) => group.assignment().map((p) => p.partition));
  const started = performance.now();
  for (const group of groups) void group.subscribe(topic).start();
  const formMs = await until(() => disjointAndComplete(owned(), 3), started);
  const leaveStarted = performance.now();
  await (groups[2] as ConsumerGroup).close();
  const leaveMs = await until(() => disjointAndComplete(owned().slice(0, 2), 2), leaveStarted);
  await Promise.all(groups.slice(0, 2).map((group) => group.close()));
  await Promise.all(clients.map((client) => client.close()));
  return [formMs, leaveMs];
}

async function kafkajsRebalance(
  brokers: string[],
  topic: string,
  groupId: string,
): Promise<[number, number]> {
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const latest: Array<number[]> = [[], [], []];
  const consumers = [0, 1, 2].map((index) => {
    const consumer = kafka.consumer({
      groupId,
      heartbeatInterval: HEARTBEAT_MS,
      sessionTimeout: SESSION_MS,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      latest[index] = (event.payload.memberAssignment[topic] ?? []) as number[];
    });
    return consumer;
  });
  await Promise.all(consumers.map((consumer) => consumer.connect()));
  await Promise.all(consumers.map((consumer) => consumer.subscribe({ topic, fromBeginning: false })));
  const started = performance.now();
  await Promise.all(consumers.map((consumer) => consumer.run({ eachMessage: async () => undefined })));
  const formMs = await until(() => disjointAndComplete(latest, 3), started);
  const leaveStarted = performance.now();
  await (consumers[2] as (typeof consumers)[number]).disconnect();
  latest[2] = [];
  const leaveMs = await until(() => disjointAndComplete(latest.slice(0, 2), 2), leaveStarted);
  await Promise.all(consumers.slice(0, 2).map((consumer) => consumer.disconnect()));
  return [formMs, leaveMs];
}

async function main(): Promise<void> {
  const cluster = await ProcessCluster.create({ size: 1, label: 'consumer-group' });
  await cluster.startAll();
  const client = cluster.client();
  try {
    const topic = 'bench-group';
    await fill(client, topic);
    // The first FindCoordinator after a broker start waits for the coordinator: not measured.
    const warmUp = new ConsumerGroup(client, { groupId: 'bench-warm-up' });
    await warmUp.subscribe(topic).start();
    await warmUp.close();
    console.log(
      `consume: ${MESSAGES} messages of ${VALUE.length} B on ${PARTITIONS} partitions, ${ROUNDS} rounds`,
    );
    for (const batches of [false, true]) {
      const plain: Phase[] = [];
      const grouped: Phase[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which side goes first so neither always gets the warmer broker.
        if (round % 2 === 0) {
          plain.push(await plainConsume(cluster.client(), topic, batches));
          grouped.push(await groupConsume(cluster.client(), topic, `bench-${batches}-${round}`, batches));
        } else {
          grouped.push(await groupConsume(cluster.client(), topic, `bench-${batches}-${round}`, batches));
          plain.push(await plainConsume(cluster.client(), topic, batches));
        }
      }
      const label = batches ? 'batches ' : 'messages';
      const rate = (list: Phase[]) => median(list.map((phase) => phase.rate));
      const cpu = (list: Phase[]) => median(list.map((phase) => phase.cpuMicros));
      console.log(
        `  ${label}: plain Consumer ${Math.round(rate(plain))} msgs/s ${cpu(plain).toFixed(2)} µs CPU/msg, ` +
          `ConsumerGroup ${Math.round(rate(grouped))} msgs/s ${cpu(grouped).toFixed(2)} µs CPU/msg; ` +
          `throughput ratio ${(rate(grouped) / rate(plain)).toFixed(2)}, CPU ratio ${(cpu(grouped) / cpu(plain)).toFixed(2)}`,
      );
    }

    const rebalanceTopic = 'bench-rebalance';
    await new Admin(client).createTopic({ name: rebalanceTopic, partitions: PARTITIONS });
    const sdk: Array<[number, number]> = [];
    const kafkajs: Array<[number, number]> = [];
    for (let round = 0; round < ROUNDS; round++) {
      sdk.push(await sdkRebalance(cluster, rebalanceTopic, `sdk-rebalance-${round}`));
      kafkajs.push(await kafkajsRebalance(cluster.brokers(), rebalanceTopic, `kafkajs-rebalance-${round}`));
    }
    const show = (values: number[]) => `${Math.round(median(values))} ms`;
    const form = [median(sdk.map((r) => r[0])), median(kafkajs.map((r) => r[0]))] as const;
    const leave = [median(sdk.map((r) => r[1])), median(kafkajs.map((r) => r[1]))] as const;
    console.log(`rebalance, 3 members, heartbeat ${HEARTBEAT_MS} ms (median of ${ROUNDS}):`);
    console.log(
      `  3 start at once → 12 partitions owned: SDK ${show(sdk.map((r) => r[0]))}, KafkaJS ${show(kafkajs.map((r) => r[0]))}, ratio SDK/KafkaJS ${(form[0] / form[1]).toFixed(2)}`,
    );
    console.log(
      `  1 of 3 leaves → the 2 others own all: SDK ${show(sdk.map((r) => r[1]))}, KafkaJS ${show(kafkajs.map((r) => r[1]))}, ratio SDK/KafkaJS ${(leave[0] / leave[1]).toFixed(2)}`,
    );
  } finally {
    await client.close();
    await cluster.close();
  }
  process.exit(0);
}

await main();
