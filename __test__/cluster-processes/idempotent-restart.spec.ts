/**
 * Idempotent producers of two clients nobody here wrote — KafkaJS (`idempotent: true`) and kcat
 * (librdkafka, `enable.idempotence=true`) — writing through kill -9 of a partition leader and then
 * through kill -9 of every broker at once and a restart: every message either client was told
 * is delivered is in the topic exactly once.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { eventually } from './harness.js';
import { clusterWithTopic, readPartition, servingLeader } from './requests.js';

const PARTITIONS = 2;

/** kcat as an idempotent producer of `lines` (one message each), round-robin over partitions;
 * resolves with its exit code and what it printed on stderr. */
function kcatProduce(
  brokers: string,
  topic: string,
  lines: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'kcat',
      [
        '-P',
        '-b',
        brokers,
        '-t',
        topic,
        '-X',
        'enable.idempotence=true',
        '-X',
        'message.send.max.retries=1000',
        '-X',
        'retry.backoff.ms=200',
        '-X',
        'message.timeout.ms=120000',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
    // Lines trickle in so that some are in flight when the leader dies.
    let next = 0;
    const timer = setInterval(() => {
      if (next >= lines.length) {
        clearInterval(timer);
        child.stdin.end();
        return;
      }
      child.stdin.write(`${lines.slice(next, next + 20).join('\n')}\n`);
      next += 20;
    }, 25);
  });
}

test.serial(
  'KafkaJS and kcat idempotent producers through a leader kill and a full-cluster kill -9 and restart: every delivered message exactly once',
  async (t) => {
    t.timeout(240_000);
    const topic = 'twice-never';
    const cluster = await clusterWithTopic(t, { name: topic, partitions: PARTITIONS });
    const brokers = cluster.brokers().join(',');
    const kafka = new Kafka({
      clientId: 'idempotent-restart',
      brokers: cluster.brokers(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
      connectionTimeout: 2000,
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    t.teardown(() => producer.disconnect().catch(() => undefined));

    const delivered: string[] = [];
    let stop = false;
    const kafkajsLoop = (async () => {
      for (let i = 0; !stop; i++) {
        const value = `j-${i}`;
        try {
          await producer.send({ topic, acks: -1, messages: [{ value, partition: i % PARTITIONS }] });
          delivered.push(value);
        } catch {
          // Not delivered as far as the client knows (it may still be stored: not counted as lost).
        }
      }
    })();
    const kcatLines = Array.from({ length: 400 }, (_, i) => `c-${i}`);
    const kcatRun = kcatProduce(brokers, topic, kcatLines);

    // A partition leader dies mid-stream and comes back.
    await eventually(() => (delivered.length >= 40 ? true : undefined), 60_000, '40 KafkaJS deliveries');
    const { leaderId } = await servingLeader(cluster, topic, 0);
    await cluster.kill(leaderId);
    await eventually(
      () => (delivered.length >= 80 ? true : undefined),
      90_000,
      'deliveries after the leader kill',
    );
    await cluster.start(leaderId);
    const kcatResult = await kcatRun;
    t.is(kcatResult.code, 0, `kcat delivered every line: ${kcatResult.stderr}`);

    // Every broker dies at once and the cluster restarts; the producer keeps its id and sequences.
    await Promise.all([1, 2, 3].map((id) => cluster.kill(id)));
    const beforeRestart = delivered.length;
    await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
    await eventually(
      () => (delivered.length >= beforeRestart + 30 ? true : undefined),
      120_000,
      'deliveries after the full restart',
    );
    stop = true;
    await kafkajsLoop;

    const stored: string[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++)
      stored.push(...(await readPartition(cluster, topic, partition)));
    const counts = new Map<string, number>();
    for (const value of stored) counts.set(value, (counts.get(value) ?? 0) + 1);
    const duplicated = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
    t.deepEqual(duplicated, [], 'no message stored twice');
    const lost = [...delivered, ...kcatLines].filter((value) => !counts.has(value));
    t.deepEqual(lost, [], 'every delivered message stored');
  },
);
