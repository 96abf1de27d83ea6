/**
 * Broker throughput with one real client (kcat / librdkafka): produce and consume of 100 B and
 * 1 KiB messages, acks=1 against acks=all, the broker process's CPU share during each phase,
 * and the embedded broker's start-up time. Run: `npm run bench -- broker-throughput`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { spawnBroker } from '../__test__/broker/helpers.js';
import { Broker } from '../src/broker/broker.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = existsSync(join(root, 'src', 'storage', 'index.ts'));
const CLOCK_TICKS_PER_SECOND = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

async function startBrokerProcess(
  dataDir: string,
): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const { child, port, exited } = await spawnBroker({
    dataDir,
    port: 0,
    autoCreateTopics: true,
    memoryStorage: !native,
  });
  return {
    pid: child.pid!,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Phase {
  name: string;
  messages: number;
  bytes: number;
  seconds: number;
  brokerCpuSeconds: number;
}

async function phase(
  name: string,
  pid: number,
  messages: number,
  bytes: number,
  work: () => Promise<void>,
): Promise<Phase> {
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  return { name, messages, bytes, seconds, brokerCpuSeconds: cpuSeconds(pid) - cpuBefore };
}

function report(result: Phase): void {
  const rate = result.messages / result.seconds;
  const megabytes = result.bytes / result.seconds / (1024 * 1024);
  const cpu = (100 * result.brokerCpuSeconds) / result.seconds;
  console.log(
    `${result.name.padEnd(28)} ${Math.round(rate).toString().padStart(9)} msgs/s ${megabytes.toFixed(1).padStart(7)} MB/s  broker CPU ${cpu.toFixed(0)}% of one core`,
  );
}

const work = mkdtempSync(join(tmpdir(), 'goqueue-bench-'));
try {
  console.log(`storage: ${native ? 'native' : 'in-memory stand-in (native core not built)'}`);
  const broker = await startBrokerProcess(join(work, 'data'));
  const address = `127.0.0.1:${broker.port}`;
  const results = new Map<string, Phase>();
  const cases = [
    { size: 100, count: 200_000 },
    { size: 1024, count: 50_000 },
  ];
  for (const { size, count } of cases) {
    const file = join(work, `messages-${size}.txt`);
    const line = 'x'.repeat(size - 1);
    writeFileSync(file, `${Array.from({ length: count }, () => line).join('\n')}\n`);
    for (const acks of ['1', 'all']) {
      const topic = `bench-${size}-${acks}`;
      const produced = await phase(`produce ${size} B acks=${acks}`, broker.pid, count, count * size, () =>
        run('kcat', [
          '-b',
          address,
          '-P',
          '-t',
          topic,
          '-X',
          `acks=${acks}`,
          '-X',
          'linger.ms=5',
          '-l',
          file,
        ]),
      );
      report(produced);
      results.set(produced.name, produced);
    }
    const consumed = await phase(`consume ${size} B`, broker.pid, count, count * size, () =>
      run('kcat', [
        '-b',
        address,
        '-C',
        '-t',
        `bench-${size}-1`,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-c',
        String(count),
      ]),
    );
    report(consumed);
    results.set(consumed.name, consumed);
  }
  await broker.stop();

  const rate = (name: string) => results.get(name)!.messages / results.get(name)!.seconds;
  const throughput = (name: string) => results.get(name)!.bytes / results.get(name)!.seconds;
  console.log(
    `ratio produce acks=1 / acks=all (100 B, msgs/s): ${(rate('produce 100 B acks=1') / rate('produce 100 B acks=all')).toFixed(2)}`,
  );
  console.log(
    `ratio produce 1 KiB / 100 B (MB/s, acks=1):       ${(throughput('produce 1024 B acks=1') / throughput('produce 100 B acks=1')).toFixed(2)}`,
  );
  console.log(
    `ratio consume / produce (100 B, msgs/s):          ${(rate('consume 100 B') / rate('produce 100 B acks=1')).toFixed(2)}`,
  );

  // Embedded start-up: an empty data dir against one holding 20 topics x 3 partitions.
  const storage = native
    ? {}
    : { storage: (await import('../__test__/broker/fixtures/memory-storage.js')).memoryStorage };
  const startOnce = async (dataDir: string): Promise<number> => {
    const started = performance.now();
    const embedded = await Broker.start({ dataDir, port: 0, ...storage });
    const elapsed = performance.now() - started;
    await embedded.stop();
    return elapsed;
  };
  const populated = join(work, 'with-topics');
  {
    const embedded = await Broker.start({ dataDir: populated, port: 0, ...storage });
    const admin = new Kafka({
      brokers: [`127.0.0.1:${embedded.address.port}`],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: Array.from({ length: 20 }, (_, i) => ({ topic: `t${i}`, numPartitions: 3 })),
    });
    await admin.disconnect();
    await embedded.stop();
  }
  const fresh: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < 10; i++) {
    fresh.push(await startOnce(join(work, `fresh-${i}`)));
    warm.push(await startOnce(populated));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`embedded start-up, empty data dir:           median ${median(fresh).toFixed(1)} ms`);
  console.log(`embedded start-up, 20 topics x 3 partitions: median ${median(warm).toFixed(1)} ms`);
  console.log(`ratio start-up with topics / empty: ${(median(warm) / median(fresh)).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
