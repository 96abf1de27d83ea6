/**
 * goqueue SDK against KafkaJS 2.2, same broker, same run: produce and consume msgs/s for 100 B
 * and 1 KiB values, and the ratio. The broker runs in its own process (so the two clients'
 * CPU is what differs); each client produces its own topic, then reads it back from offset 0.
 * Produce: batches of BATCH messages to partition 0, CONCURRENCY requests in flight, acks=all.
 * Consume: KafkaJS has no partition consumer outside consumer groups, so its side uses the
 * broker-level fetch its group consumer runs (cluster → leader → broker.fetch, records decoded
 * by KafkaJS) — the group protocol's own overhead is left out, which favours KafkaJS.
 * Both clients ask for the same maxBytes (1 MiB per fetch and per partition), maxWaitMs 100 and
 * minBytes 1. Besides msgs/s (bounded by the broker when the client is fast), it prints the
 * client process's CPU time per message: what each client itself costs. A third consume
 * figure, the fetch-only ceiling, runs the SDK's fetch loop (one fetch ahead) without decoding
 * or checking any record: the most any client could consume from this broker this way, so
 * ceiling / KafkaJS bounds the consume ratio the SDK can reach.
 * Run: `npm run bench -- client-vs-kafkajs` (`BENCH_STORAGE=memory` for the in-memory log).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { Admin } from '../src/client/admin.js';
import { Client } from '../src/client/client.js';
import { Consumer } from '../src/client/consumer.js';
import { nextFetchOffset } from '../src/client/fast-records.js';
import { Producer } from '../src/client/producer.js';
import { ApiKey } from '../src/protocol/index.js';
import { ATTRIBUTE_CONTROL, BatchField } from '../src/protocol/record-batch-header.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// BENCH_STORAGE=memory runs the broker on the in-memory stand-in (isolates the clients from disk).
const native = process.env.BENCH_STORAGE !== 'memory' && existsSync(join(root, 'src', 'storage', 'index.ts'));
const require = createRequire(import.meta.url);
const BATCH = 100;
const CONCURRENCY = 4;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const sizes = [
  { size: 100, messages: Number(process.env.BENCH_MESSAGES_SMALL ?? 200_000) },
  { size: 1024, messages: Number(process.env.BENCH_MESSAGES_LARGE ?? 60_000) },
];

async function startBrokerProcess(dataDir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const options = { dataDir, port: 0, memoryStorage: !native };
  const child = spawn(
    process.execPath,
    ['--import=tsx', join(root, '__test__/broker/fixtures/broker-process.ts'), JSON.stringify(options)],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string).port);
    });
    child.once('exit', (code) => reject(new Error(`broker exited ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Sends `total` messages as `batches` in parallel lanes; returns msgs/s. */
async function timed(total: number, sendBatch: (count: number) => Promise<void>): Promise<number> {
  const batches = Math.ceil(total / BATCH);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches) {
        const index = next++;
        await sendBatch(Math.min(BATCH, total - index * BATCH));
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function sdkProduce(client: Client, topic: string, size: number, total: number): Promise<number> {
  const producer = new Producer(client, { acks: -1 });
  const value = Buffer.alloc(size, 'g');
  return timed(total, async (count) => {
    const messages = Array.from({ length: count }, () => ({ value }));
    await producer.produceMessage({ topic, partition: 0, messages });
  });
}

async function sdkConsume(client: Client, topic: string, total: number): Promise<number> {
  const consumer = new Consumer(client, { maxBytes: 1024 * 1024 });
  const started = performance.now();
  let seen = 0;
  for await (const batch of consumer.batches({ topic, partition: 0, from: 'earliest', maxWaitMs: 100 })) {
    for (const message of batch.messages) if (message.value) seen++;
    if (seen >= total) break;
  }
  return seen / ((performance.now() - started) / 1000);
}

/** User records in the complete batches of `records`, from their headers alone. */
function countRecords(records: Buffer | null): number {
  let count = 0;
  let at = 0;
  while (records && records.length - at >= 61) {
    const total = records.readInt32BE(at + BatchField.batchLength) + 12;
    if (total > records.length - at) break;
    if ((records.readInt16BE(at + BatchField.attributes) & ATTRIBUTE_CONTROL) === 0)
      count += records.readInt32BE(at + BatchField.recordsCount);
    at += total;
  }
  return count;
}

/** The fetch-only ceiling: the SDK's fetch loop (one ahead) with no record decoded or checked. */
async function fetchOnlyConsume(client: Client, topic: string, total: number): Promise<number> {
  const connection = await client.leaderConnection(topic, 0);
  const fetch = (offset: number) =>
    connection.request(
      ApiKey.Fetch,
      {
        replicaId: -1,
        maxWaitMs: 100,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                logStartOffset: -1,
                partitionMaxBytes: 1024 * 1024,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      { timeoutMs: 30_000 },
    );
  const started = performance.now();
  let offset = 0;
  let seen = 0;
  let next = fetch(offset);
  while (seen < total) {
    const records: Buffer | null = (await next).responses[0].partitions[0].records;
    seen += countRecords(records);
    offset = nextFetchOffset(records, offset);
    if (seen < total) next = fetch(offset);
  }
  return seen / ((performance.now() - started) / 1000);
}

async function kafkajsProduce(kafka: Kafka, topic: string, size: number, total: number): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(size, 'k');
  try {
    return await timed(total, async (count) => {
      const messages = Array.from({ length: count }, () => ({ value, partition: 0 }));
      await producer.send({ topic, acks: -1, messages });
    });
  } finally {
    await producer.disconnect();
  }
}

async function kafkajsConsume(port: number, topic: string, total: number): Promise<number> {
  const Cluster = require('kafkajs/src/cluster/index.js');
  const { createLogger, LEVELS } = require('kafkajs/src/loggers/index.js');
  const socketFactory = require('kafkajs/src/network/socketFactory.js')();
  const cluster = new Cluster({
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => undefined }),
    socketFactory,
    brokers: [`127.0.0.1:${port}`],
    clientId: 'bench-kafkajs',
    retry: { retries: 3 },
    // The Kafka class fills these in; the bare Cluster has no defaults.
    connectionTimeout: 1_000,
    authenticationTimeout: 10_000,
    requestTimeout: 30_000,
  });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [0]);
    const broker = await cluster.findBroker({ nodeId: Object.keys(leaders)[0] });
    const started = performance.now();
    let offset = 0;
    let seen = 0;
    while (seen < total) {
      const response = await broker.fetch({
        maxWaitTime: 100,
        maxBytes: 1024 * 1024,
        topics: [
          { topic, partitions: [{ partition: 0, fetchOffset: String(offset), maxBytes: 1024 * 1024 }] },
        ],
      });
      const messages = response.responses[0].partitions[0].messages as Array<{
        offset: string;
        value: Buffer | null;
      }>;
      for (const message of messages) {
        if (Number(message.offset) < offset) continue;
        if (message.value) seen++;
        offset = Number(message.offset) + 1;
      }
    }
    return seen / ((performance.now() - started) / 1000);
  } finally {
    await cluster.disconnect();
  }
}

// Both clients share this process: a full collection before each phase keeps one client's
// garbage from being collected (and billed) during the other's phase.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

type Measured = { rate: number; cpuPerMessageUs: number };

/** The round with the median rate (its CPU figure comes with it). */
function median(runs: Measured[]): Measured {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)] as Measured;
}

/** Runs one phase; returns msgs/s and this (client) process's CPU µs per message. */
async function measure(
  messages: number,
  work: () => Promise<number>,
): Promise<{ rate: number; cpuPerMessageUs: number }> {
  collectGarbage();
  const before = process.cpuUsage();
  const rate = await work();
  const used = process.cpuUsage(before);
  return { rate, cpuPerMessageUs: (used.user + used.system) / messages };
}

const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-bench-client-'));
const broker = await startBrokerProcess(dataDir);
const client = new Client({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'bench-goqueue' });
const ceilingClient = new Client({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'bench-ceiling' });
const kafka = new Kafka({
  brokers: [`127.0.0.1:${broker.port}`],
  clientId: 'bench-kafkajs',
  logLevel: logLevel.NOTHING,
});
const rows: string[] = [];
try {
  const admin = new Admin(client);
  // Warm both clients (JIT, connections, metadata) on a throwaway topic.
  await admin.createTopic({ name: 'warm-sdk', partitions: 1 });
  await admin.createTopic({ name: 'warm-kafkajs', partitions: 1 });
  await sdkProduce(client, 'warm-sdk', 100, 5_000);
  await kafkajsProduce(kafka, 'warm-kafkajs', 100, 5_000);
  await sdkConsume(client, 'warm-sdk', 5_000);
  await kafkajsConsume(broker.port, 'warm-kafkajs', 5_000);
  await fetchOnlyConsume(ceilingClient, 'warm-sdk', 5_000);

  for (const { size, messages } of sizes) {
    await admin.createTopic({ name: `sdk-${size}`, partitions: 1 });
    await admin.createTopic({ name: `kafkajs-${size}`, partitions: 1 });
    // Rounds alternate the two clients so load changes on the shared machine hit both alike;
    // the median round is reported.
    const runs: Record<
      'sdkProduced' | 'kafkajsProduced' | 'sdkConsumed' | 'kafkajsConsumed' | 'ceilingConsumed',
      Measured[]
    > = {
      sdkProduced: [],
      kafkajsProduced: [],
      sdkConsumed: [],
      kafkajsConsumed: [],
      ceilingConsumed: [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      runs.sdkProduced.push(await measure(messages, () => sdkProduce(client, `sdk-${size}`, size, messages)));
      runs.kafkajsProduced.push(
        await measure(messages, () => kafkajsProduce(kafka, `kafkajs-${size}`, size, messages)),
      );
    }
    for (let round = 0; round < ROUNDS; round++) {
      runs.sdkConsumed.push(await measure(messages, () => sdkConsume(client, `sdk-${size}`, messages)));
      runs.kafkajsConsumed.push(
        await measure(messages, () => kafkajsConsume(broker.port, `kafkajs-${size}`, messages)),
      );
      runs.ceilingConsumed.push(
        await measure(messages, () => fetchOnlyConsume(ceilingClient, `sdk-${size}`, messages)),
      );
    }
    const sdkProduced = median(runs.sdkProduced);
    const kafkajsProduced = median(runs.kafkajsProduced);
    const sdkConsumed = median(runs.sdkConsumed);
    const kafkajsConsumed = median(runs.kafkajsConsumed);
    const ceilingConsumed = median(runs.ceilingConsumed);
    const row = (what: string, sdk: Measured, other: Measured) =>
      `| ${what} ${size} B | ${messages} | ${Math.round(sdk.rate)} | ${Math.round(other.rate)} | ` +
      `${(sdk.rate / other.rate).toFixed(2)}× | ${sdk.cpuPerMessageUs.toFixed(2)} | ${other.cpuPerMessageUs.toFixed(2)} | ` +
      `${(other.cpuPerMessageUs / sdk.cpuPerMessageUs).toFixed(2)}× |`;
    rows.push(row('produce', sdkProduced, kafkajsProduced));
    rows.push(row('consume', sdkConsumed, kafkajsConsumed));
    rows.push(row('fetch-only ceiling', ceilingConsumed, kafkajsConsumed));
  }
  console.log(
    `storage: ${native ? 'native' : 'in-memory stand-in'}; batch ${BATCH}, ${CONCURRENCY} in flight, acks=all; median of ${ROUNDS} alternating rounds`,
  );
  console.log(
    '| phase | messages | SDK msgs/s | KafkaJS msgs/s | throughput ratio | SDK client CPU µs/msg | KafkaJS client CPU µs/msg | CPU ratio |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
} finally {
  await client.close();
  await ceilingClient.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
