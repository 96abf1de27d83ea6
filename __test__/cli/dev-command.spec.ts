/**
 * `goqueue dev --brokers 3` as a user runs it: three broker processes on free ports, the
 * bootstrap list printed, KafkaJS round-trips an RF=3 topic through them, and one SIGINT (Ctrl-C)
 * stops every broker cleanly and removes the temporary data, leaving no process behind.
 */
import { existsSync } from 'node:fs';
import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { finished, runCli, spawnCli } from './helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('goqueue dev --brokers 3 prints the bootstrap list, serves an RF=3 topic to KafkaJS, and Ctrl-C stops every broker', async (t) => {
  t.timeout(240_000);
  const dev = spawnCli(['dev', '--brokers', '3', '--log-level', 'warn']);
  const exit = finished(dev);
  const pids: number[] = [];
  t.teardown(async () => {
    // Safety net only (the test stops the cluster with SIGINT below): a SIGINT makes goqueue dev
    // stop its brokers even when the test failed before it learned their pids.
    if (alive(dev.pid!)) {
      dev.kill('SIGINT');
      await exit;
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  let output = '';
  const banner = await new Promise<string>((resolve, reject) => {
    dev.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (/^data: .*$/m.test(output)) resolve(output);
    });
    void exit.then((result) => reject(new Error(`goqueue dev exited (${result.code}): ${result.stderr}`)));
  });
  for (const match of banner.matchAll(/pid (\d+)/g)) pids.push(Number(match[1]));
  t.is(pids.length, 3, banner);
  const bootstrap = /^bootstrap: (.+)$/m.exec(banner)?.[1]?.split(',') ?? [];
  t.is(bootstrap.length, 3, banner);
  t.is(new Set(bootstrap).size, 3, 'three distinct addresses');
  const dataDir = /^data: (\S+) \(removed on exit\)$/m.exec(banner)?.[1] ?? '';
  t.true(existsSync(dataDir), banner);

  const kafka = new Kafka({
    clientId: 'dev-test',
    brokers: bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'dev-orders', numPartitions: 1, replicationFactor: 3 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: ['dev-orders'] });
  t.is(metadata.topics[0]?.partitions[0]?.replicas.length, 3);
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  const values = Array.from({ length: 10 }, (_, i) => `order ${i}`);
  await producer.send({ topic: 'dev-orders', acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'dev-readers', maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'dev-orders', fromBeginning: true });
  const read: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          read.push(message.value?.toString() ?? '');
          if (read.length === values.length) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  t.deepEqual(read, values);

  dev.kill('SIGINT');
  const result = await exit;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /all brokers stopped/);
  t.deepEqual(
    pids.filter((pid) => alive(pid)),
    [],
    'no broker process is left',
  );
  t.false(existsSync(dataDir), 'the temporary data is removed');
});

test('goqueue dev refuses a broker count it cannot run, as a usage error', async (t) => {
  const result = await runCli(['dev', '--brokers', '0']);
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /^goqueue: --brokers must be a whole number from 1 to \d+, got "0"\n$/);
});
