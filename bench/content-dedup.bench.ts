/**
 * Content-hash de-duplication's cost on produce: throughput and broker CPU per message with
 * `deduplication_enabled` on against off, fed the same distinct 100-record batches (so nothing
 * is dropped: every batch is hashed at produce and again when applied, and every record enters
 * the window). Two broker processes (fsync off, so the hashing is what differs); the producer
 * pipelines pre-encoded Produce requests (acks=1, 32 in flight) over one connection. Rounds
 * alternate between the two; medians are printed.
 * Run: `npm run bench -- content-dedup`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBroker } from '../__test__/broker/helpers.js';
import { ApiKey, encodeRequest } from '../src/protocol/index.js';
import { encodeRecordBatch } from '../src/protocol/records.js';
import { Pipeline } from './pipeline.js';
import { cpuSeconds } from './process-cluster.js';

const ROUNDS = 3;
const BATCHES_PER_ROUND = 1500;
const RECORDS_PER_BATCH = 100;
const IN_FLIGHT = 32;

function frames(round: number): Buffer[] {
  return Array.from({ length: BATCHES_PER_ROUND }, (_, b) => {
    const batch = encodeRecordBatch({
      baseTimestamp: 1_700_000_000_000 + b,
      records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
        key: Buffer.from(`device-${(b * RECORDS_PER_BATCH + i) % 1009}`),
        value: Buffer.from(JSON.stringify({ round, batch: b, record: i, reading: (b * 7919 + i) % 1000 })),
      })),
    });
    return encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 7, correlationId: b, clientId: 'bench' },
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: 'readings', partitionData: [{ index: 0, records: batch }] }],
      },
    );
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const modes = [
    { name: 'off', deduplicationEnabled: false },
    { name: 'on', deduplicationEnabled: true },
  ];
  const roots: string[] = [];
  const brokers = [];
  for (const mode of modes) {
    const dataDir = mkdtempSync(join(tmpdir(), `goqueue-bench-dedup-${mode.name}-`));
    roots.push(dataDir);
    const broker = await spawnBroker({
      dataDir,
      port: 0,
      fsyncEnabled: false,
      deduplicationEnabled: mode.deduplicationEnabled,
    });
    const client = await Pipeline.open(broker.port, IN_FLIGHT);
    await client.run(ApiKey.CreateTopics, 4, [
      encodeRequest(
        { apiKey: ApiKey.CreateTopics, apiVersion: 4, correlationId: 0, clientId: 'bench' },
        {
          topics: [
            { name: 'readings', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
          ],
          timeoutMs: 5000,
          validateOnly: false,
        },
      ),
    ]);
    brokers.push({ mode, broker, client, rate: [] as number[], cpuUs: [] as number[] });
  }
  const messages = BATCHES_PER_ROUND * RECORDS_PER_BATCH;
  try {
    console.log(
      `${BATCHES_PER_ROUND} distinct batches of ${RECORDS_PER_BATCH} records per round, 1 warm-up + ${ROUNDS} rounds`,
    );
    for (let round = 0; round <= ROUNDS; round++) {
      const sent = frames(round);
      for (const entry of brokers) {
        const cpuBefore = cpuSeconds(entry.broker.child.pid!);
        const started = performance.now();
        await entry.client.run(ApiKey.Produce, 7, sent);
        const seconds = (performance.now() - started) / 1000;
        if (round === 0) continue;
        entry.rate.push(messages / seconds);
        entry.cpuUs.push(((cpuSeconds(entry.broker.child.pid!) - cpuBefore) / messages) * 1e6);
      }
    }
    for (const entry of brokers)
      console.log(
        `dedup ${entry.mode.name.padEnd(3)}: ${Math.round(median(entry.rate)).toLocaleString('en')} msg/s, broker CPU ${median(entry.cpuUs).toFixed(2)} µs/msg`,
      );
    const [off, on] = brokers;
    console.log(
      `ratio on/off: throughput ${(median(on!.rate) / median(off!.rate)).toFixed(2)}x, CPU per message ${(median(on!.cpuUs) / median(off!.cpuUs)).toFixed(2)}x`,
    );
  } finally {
    for (const entry of brokers) {
      entry.client.close();
      entry.broker.child.kill('SIGTERM');
      await entry.broker.exited;
    }
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  }
}

await main();
