/**
 * Opening partition replicas: a broker's reconcile run opening them one at a time against 8 at
 * once (`replicaOpenConcurrency`), on one embedded broker (a cluster of one): the time to create a
 * topic of many partitions (CreateTopics answers once every replica leads), and the time to
 * restart the broker holding them once each holds RECORDS records of 512 B (so a restart opens
 * real segments and re-applies real entries, not empty logs). The sides alternate round by round, each on a fresh data
 * directory, so the machine's load drifts over both alike; medians of the rounds (BENCH_ROUNDS,
 * default 5; BENCH_PARTITIONS, default 256).
 * Run: npm run bench -- replica-open
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../src/broker/broker.js';
import { freePort } from '../src/broker/free-ports.js';
import { Admin } from '../src/client/admin.js';
import { Client } from '../src/client/client.js';
import { Producer } from '../src/client/producer.js';

const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RECORDS = 200;
const SIDES = [1, 8];

async function round(concurrency: number): Promise<{ createMs: number; restartMs: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-bench-open-'));
  try {
    const port = await freePort();
    const options = { dataDir, host: '127.0.0.1', port, replicaOpenConcurrency: concurrency };
    let broker = await Broker.start(options);
    const client = new Client({ brokers: [`127.0.0.1:${port}`], timeoutMs: 120_000 });
    let started = performance.now();
    await new Admin(client).createTopic({ name: 'wide', partitions: PARTITIONS });
    const createMs = performance.now() - started;
    const producer = new Producer(client);
    const value = Buffer.alloc(512, 7);
    const messages = Array.from({ length: RECORDS }, () => ({ value }));
    for (let partition = 0; partition < PARTITIONS; partition++)
      await producer.produceMessage({ topic: 'wide', partition, messages });
    await client.close();
    await broker.stop();
    started = performance.now();
    broker = await Broker.start(options);
    const restartMs = performance.now() - started;
    await broker.stop();
    return { createMs, restartMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const results = new Map<number, Array<{ createMs: number; restartMs: number }>>(
  SIDES.map((side) => [side, []]),
);
for (let i = 0; i < ROUNDS; i++)
  for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) results.get(side)?.push(await round(side));

console.log(`${PARTITIONS} partitions of ${RECORDS} records on one broker, median of ${ROUNDS} rounds`);
const rows = SIDES.map((side) => {
  const runs = results.get(side) ?? [];
  return {
    side,
    createMs: median(runs.map((r) => r.createMs)),
    restartMs: median(runs.map((r) => r.restartMs)),
  };
});
for (const row of rows) {
  const runs = results.get(row.side) ?? [];
  console.log(
    `  ${row.side} at once: create topic ${row.createMs.toFixed(0)} ms, restart ${row.restartMs.toFixed(0)} ms` +
      ` (rounds: create ${runs.map((r) => r.createMs.toFixed(0)).join(', ')}; restart ${runs.map((r) => r.restartMs.toFixed(0)).join(', ')})`,
  );
}
const [serial, parallel] = rows as [(typeof rows)[0], (typeof rows)[0]];
console.log(
  `  ratio 1 / 8 at once (time): create ${(serial.createMs / parallel.createMs).toFixed(2)}x, restart ${(serial.restartMs / parallel.restartMs).toFixed(2)}x`,
);
