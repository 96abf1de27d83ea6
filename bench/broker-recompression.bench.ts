/**
 * Broker-side recompression: produce throughput into a topic with `compression.type=lz4` and
 * `compression.type=zstd` against `compression.type=producer` (stored as sent), all fed the same
 * uncompressed 100-record batches, and the bytes each stores. The broker runs in a child process
 * (fsync off, so the rewrite's CPU is what differs); the producer pipelines pre-encoded Produce
 * requests (acks=1, 32 in flight) over one connection. Rounds alternate between the modes so
 * load swings on the shared machine hit all of them; medians are printed.
 * Run: `npm run bench -- broker-recompression`.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBroker } from '../__test__/broker/helpers.js';
import { ApiKey, encodeRequest } from '../src/protocol/index.js';
import { encodeRecordBatch } from '../src/protocol/records.js';
import { Pipeline } from './pipeline.js';
import { cpuSeconds } from './process-cluster.js';

const MODES = ['producer', 'lz4', 'zstd'] as const;
const ROUNDS = 3;
const BATCHES_PER_ROUND = 1500;
const RECORDS_PER_BATCH = 100;
const IN_FLIGHT = 32;

async function startBrokerProcess(
  dataDir: string,
): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const { child, port, exited } = await spawnBroker({ dataDir, port: 0, fsyncEnabled: false });
  return {
    pid: child.pid!,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Log-like JSON lines: compressible the way real payloads are, not a repeated byte. */
function batches(count: number): Buffer[] {
  const levels = ['info', 'warn', 'debug', 'error'];
  return Array.from({ length: count }, (_, b) =>
    encodeRecordBatch({
      baseTimestamp: 1_700_000_000_000 + b,
      records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
        const n = b * RECORDS_PER_BATCH + i;
        return {
          key: Buffer.from(`user-${n % 997}`),
          value: Buffer.from(
            JSON.stringify({
              ts: 1_700_000_000_000 + n * 13,
              level: levels[n % 4],
              service: `svc-${n % 17}`,
              message: `request ${n} handled in ${(n * 7919) % 1000} ms`,
              path: `/api/v1/items/${(n * 104729) % 100000}`,
              status: [200, 200, 200, 404, 500][n % 5],
            }),
          ),
        };
      }),
    }),
  );
}

function produceFrames(topic: string, source: Buffer[]): Buffer[] {
  return Array.from({ length: BATCHES_PER_ROUND }, (_, i) =>
    encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 7, correlationId: i, clientId: 'bench' },
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: source[i % source.length]! }] }],
      },
    ),
  );
}

function logBytes(dataDir: string, topic: string): number {
  const directory = join(dataDir, 'topics', `${topic}-0`);
  return readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .reduce((sum, name) => sum + statSync(join(directory, name)).size, 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function createTopic(client: Pipeline, topic: string, mode: string): Promise<void> {
  await client.run(ApiKey.CreateTopics, 4, [
    encodeRequest(
      { apiKey: ApiKey.CreateTopics, apiVersion: 4, correlationId: 0, clientId: 'bench' },
      {
        topics: [
          {
            name: topic,
            numPartitions: 1,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'compression.type', value: mode }],
          },
        ],
        timeoutMs: 5000,
        validateOnly: false,
      },
    ),
  ]);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-bench-recompression-'));
  const broker = await startBrokerProcess(dataDir);
  const client = await Pipeline.open(broker.port, IN_FLIGHT);
  const source = batches(50);
  const frameBytes = (i: number): number => source[i % source.length]!.length;
  const sentBytes = Array.from({ length: BATCHES_PER_ROUND }, (_, i) => frameBytes(i)).reduce(
    (a, b) => a + b,
    0,
  );
  const messages = BATCHES_PER_ROUND * RECORDS_PER_BATCH;
  const results = new Map<string, { rate: number[]; cpuPerMessageUs: number[]; topics: string[] }>();
  for (const mode of MODES) results.set(mode, { rate: [], cpuPerMessageUs: [], topics: [] });
  try {
    console.log(
      `${BATCHES_PER_ROUND} uncompressed batches of ${RECORDS_PER_BATCH} records (${Math.round(sentBytes / BATCHES_PER_ROUND)} B each) per round, 1 warm-up + ${ROUNDS} rounds`,
    );
    for (let round = -1; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
        const topic = `${mode}-${round}`;
        await createTopic(client, topic, mode);
        const frames = produceFrames(topic, source);
        const cpuBefore = cpuSeconds(broker.pid);
        const started = process.hrtime.bigint();
        await client.run(ApiKey.Produce, 7, frames);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = cpuSeconds(broker.pid) - cpuBefore;
        if (round < 0) continue;
        const entry = results.get(mode)!;
        entry.rate.push(messages / seconds);
        entry.cpuPerMessageUs.push((cpu / messages) * 1e6);
        entry.topics.push(topic);
        console.log(
          `round ${round} ${mode.padEnd(8)} ${Math.round(messages / seconds).toLocaleString('en')} msg/s, broker CPU ${((cpu / messages) * 1e6).toFixed(2)} µs/msg`,
        );
      }
    }
  } finally {
    client.close();
    await broker.stop();
  }
  // Stored sizes after the broker's clean stop, once every write buffer is on disk.
  const baseline = median(results.get('producer')!.rate);
  console.log(`\nmedians (sent ${(sentBytes / 2 ** 20).toFixed(1)} MiB per round):`);
  for (const mode of MODES) {
    const entry = results.get(mode)!;
    const rate = median(entry.rate);
    const stored = median(entry.topics.map((topic) => logBytes(dataDir, topic)));
    console.log(
      `${mode.padEnd(8)} ${Math.round(rate).toLocaleString('en')} msg/s (${(rate / baseline).toFixed(2)}× producer), broker CPU ${median(entry.cpuPerMessageUs).toFixed(2)} µs/msg, stored ${(stored / 2 ** 20).toFixed(1)} MiB = ${(stored / sentBytes).toFixed(3)} of sent`,
    );
  }
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
