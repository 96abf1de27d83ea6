/** Helpers of the self-healing, decommission and follower-read specs on real broker processes. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { ITopicConfig, Kafka } from 'kafkajs';
import { eventually, freePort, type ProcessCluster } from './harness.js';

/** A config file with short self-healing timings (the keys have no flags). */
export function healingConfig(t: ExecutionContext, settings: Record<string, unknown>): string {
  const directory = mkdtempSync(join(tmpdir(), 'goqueue-healing-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, 'goqueue.json');
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

export async function partitionReplicas(kafka: Kafka, topic: string): Promise<Map<number, number[]>> {
  const admin = kafka.admin({ retry: { retries: 1 } });
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map(
      (metadata.topics[0]?.partitions ?? []).map((partition) => [
        partition.partitionId,
        [...partition.replicas].sort(),
      ]),
    );
  } finally {
    await admin.disconnect();
  }
}

/** Reads every partition of `topic` from the start until `expected` values were seen (or 60 s). */
export async function readValues(kafka: Kafka, topic: string, expected: Set<string>): Promise<Set<string>> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 200 });
  const seen = new Set<string>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const value = message.value?.toString() ?? '';
          seen.add(value);
          if ([...expected].every((item) => seen.has(item))) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(() => resolve());
  });
  await consumer.disconnect();
  return seen;
}

/** Writes `topic` (partitions in turn, acks=all) until `stop()`; returns what was acknowledged. */
export function produceThroughout(kafka: Kafka, topic: string, partitions: number) {
  const acknowledged = new Set<string>();
  let running = true;
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const done = (async () => {
    await producer.connect();
    for (let i = 0; running; i++) {
      const value = `v-${i}`;
      try {
        await producer.send({ topic, acks: -1, messages: [{ value, partition: i % partitions }] });
        acknowledged.add(value);
      } catch {
        // Not acknowledged: it may or may not be in the log.
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await producer.disconnect();
  })();
  return {
    acknowledged,
    async stop(): Promise<Set<string>> {
      running = false;
      await done;
      return acknowledged;
    },
  };
}

/**
 * Starts every member with its own admin HTTP port and `settings` (plus `extraArgs(id)`) in a
 * config file; resolves with the admin ports by broker id.
 */
export async function startWithAdmin(
  t: ExecutionContext,
  cluster: ProcessCluster,
  settings: Record<string, unknown>,
  extraArgs: (id: number) => string[] = () => [],
): Promise<Map<number, number>> {
  const httpPorts = new Map<number, number>();
  for (const id of cluster.members.keys()) httpPorts.set(id, await freePort());
  await Promise.all(
    [...cluster.members.keys()].map((id) =>
      cluster.start(id, [
        ...cluster.args(id),
        ...extraArgs(id),
        '--config',
        healingConfig(t, { ...settings, 'server.http_port': httpPorts.get(id) }),
      ]),
    ),
  );
  return httpPorts;
}

/** Waits until Metadata lists `brokers` live brokers, then creates `topics` (waiting for leaders). */
export async function createTopicsOnAll(
  kafka: Kafka,
  brokers: number,
  topics: ITopicConfig[],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await eventually(
      async () => ((await admin.describeCluster()).brokers.length === brokers ? true : undefined),
      30_000,
      `${brokers} live brokers`,
    );
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Adds member `id` (not in --initial-cluster: `cluster.args(id)` gives it --join) with fresh ports. */
export async function addJoiningMember(cluster: ProcessCluster, id: number): Promise<void> {
  cluster.founding = Math.min(cluster.founding, id - 1);
  cluster.members.set(id, {
    id,
    clientPort: await freePort(),
    raftPort: await freePort(),
    dataDir: join(cluster.root, `broker-${id}`),
    child: null,
    exit: null,
    lines: [],
  });
}
