/**
 * Failover time of a 3-broker cluster of real `goqueue broker` processes on loopback, against the
 * configured Raft election timeout (printed as the ratio median / election timeout):
 *
 * - **Partition leader.** Each round creates a one-partition RF=3 topic whose preferred leader
 *   (first replica, which campaigns at once) is a broker that is not the controller leader, waits
 *   until every broker names it as the partition's leader, warms the producer up with a few
 *   acknowledged produces, then `kill -9`s it. The clock starts at the kill; once the process is
 *   gone the SDK producer (acks=all, retrying with backoff) sends one message; the clock stops
 *   when it is acknowledged — necessarily by a new leader, the old one is dead.
 * - **Controller leader.** Each round `kill -9`s the controller leader (Metadata's controllerId);
 *   the clock stops at the first successful CreateTopics (SDK Admin, retrying), which only the
 *   new controller leader can apply.
 *
 * The killed broker is restarted between rounds, and the next round starts only once every
 * broker answers Metadata with three brokers and a controller. Prints every time, the median and
 * p90 of each kind, and the ratio median / election timeout.
 *
 * Run: `npm run bench -- cluster-failover`. Knobs: BENCH_KILLS (10 of each kind),
 * BENCH_RETRY_INITIAL_MS (25) and BENCH_RETRY_MAX_MS (100): the client's backoff between
 * attempts (full jitter), which adds up to its maximum to every figure.
 */
import { Admin } from '../src/client/admin.js';
import type { Client } from '../src/client/client.js';
import { KafkaProtocolError } from '../src/client/errors.js';
import { Producer } from '../src/client/producer.js';
import { defaultConfig } from '../src/config/load.js';
import { ApiKey } from '../src/protocol/index.js';
import { median, ProcessCluster, quantile, waitUntil } from './process-cluster.js';
import { waitForBrokers } from './produce-workload.js';

const kills = Number(process.env.BENCH_KILLS ?? 10);
const retryInitialMs = Number(process.env.BENCH_RETRY_INITIAL_MS ?? 25);
const retryMaxMs = Number(process.env.BENCH_RETRY_MAX_MS ?? 100);
const TOPIC_ALREADY_EXISTS = 36;
const config = defaultConfig({});

interface DirectMetadata {
  brokers: number;
  controllerId: number;
  leader: number | undefined;
}

/** Metadata as broker `id` itself answers it (not whichever broker the client picks). */
async function metadataFrom(
  client: Client,
  cluster: ProcessCluster,
  id: number,
  topic?: string,
): Promise<DirectMetadata> {
  const connection = await client.connection('127.0.0.1', cluster.member(id).clientPort, { timeoutMs: 2000 });
  const body = await client.send(
    connection,
    ApiKey.Metadata,
    {
      topics: topic === undefined ? [] : [{ name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    },
    { timeoutMs: 2000 },
  );
  const partition = body.topics?.[0]?.partitions?.find(
    (p: { partitionIndex: number }) => p.partitionIndex === 0,
  );
  return {
    brokers: (body.brokers ?? []).length,
    controllerId: body.controllerId ?? -1,
    leader: partition?.leaderId,
  };
}

/** Every broker is running, lists three brokers and knows the controller leader. */
async function waitUntilSettled(client: Client, cluster: ProcessCluster): Promise<number> {
  return waitUntil(
    async () => {
      const answers = await Promise.all(
        [...cluster.members.keys()].map((id) => metadataFrom(client, cluster, id)),
      );
      const controller = answers[0]!.controllerId;
      return controller > 0 && answers.every((a) => a.brokers === 3 && a.controllerId === controller)
        ? controller
        : undefined;
    },
    'every broker to list 3 brokers and agree on the controller',
    120_000,
  );
}

async function createAssignedTopic(client: Client, topic: string, replicas: number[]): Promise<void> {
  await client.retrying(async () => {
    const connection = await client.controllerConnection();
    const response = await client.send(connection, ApiKey.CreateTopics, {
      topics: [
        {
          name: topic,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: replicas }],
          configs: [],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    const result = response.topics?.[0];
    if (result?.errorCode)
      throw new KafkaProtocolError(result.errorCode, { topic, detail: result.errorMessage });
  });
}

async function partitionRound(
  cluster: ProcessCluster,
  client: Client,
  round: number,
): Promise<{ ms: number; victim: number; newLeader: number }> {
  const controller = await waitUntilSettled(client, cluster);
  const candidates = [...cluster.members.keys()].filter((id) => id !== controller);
  const victim = candidates[round % candidates.length]!;
  const topic = `failover-partition-${round}`;
  const replicas = [victim, ...[...cluster.members.keys()].filter((id) => id !== victim)];
  await createAssignedTopic(client, topic, replicas);
  await waitUntil(async () => {
    const answers = await Promise.all(replicas.map((id) => metadataFrom(client, cluster, id, topic)));
    return answers.every((a) => a.leader === victim) ? true : undefined;
  }, `every broker to name ${victim} leader of ${topic}`);
  const producer = new Producer(client, { acks: -1 });
  await client.refreshMetadata([topic]);
  for (let i = 0; i < 10; i++)
    await producer.produceMessage({ topic, partition: 0, messages: [{ value: `warm-${i}` }] });
  const killedAt = performance.now();
  await cluster.kill(victim);
  await producer.produceMessage({ topic, partition: 0, messages: [{ value: 'after the kill' }] });
  const ms = performance.now() - killedAt;
  const newLeader = client.cachedLeader(topic, 0) ?? -1;
  if (newLeader === victim) throw new Error(`round ${round}: the acknowledgement names the killed broker`);
  await cluster.start(victim);
  return { ms, victim, newLeader };
}

async function controllerRound(
  cluster: ProcessCluster,
  client: Client,
  round: number,
): Promise<{ ms: number; victim: number; newController: number }> {
  const victim = await waitUntilSettled(client, cluster);
  const admin = new Admin(client);
  // Warm: the client knows the controller and has its connection open.
  await admin.createTopic({ name: `before-controller-kill-${round}`, replicationFactor: 1 });
  const killedAt = performance.now();
  await cluster.kill(victim);
  const topic = `after-controller-kill-${round}`;
  try {
    await admin.createTopic({ name: topic, replicationFactor: 1 });
  } catch (error) {
    // An attempt that was applied but whose answer was lost is retried and finds the topic.
    if (!(error instanceof KafkaProtocolError && error.code === TOPIC_ALREADY_EXISTS)) throw error;
  }
  const ms = performance.now() - killedAt;
  const newController = (await client.refreshMetadata(undefined)).controllerId;
  if (newController === victim) throw new Error(`round ${round}: the killed broker is still the controller`);
  await cluster.start(victim);
  return { ms, victim, newController };
}

function summarize(name: string, times: number[]): string {
  const middle = median(times);
  return (
    `${name}: median ${middle.toFixed(0)} ms, p90 ${quantile(times, 0.9).toFixed(0)} ms ` +
    `(min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}, n=${times.length}); ` +
    `ratio median / election timeout ${(middle / config.electionTimeoutMs).toFixed(2)}`
  );
}

const cluster = await ProcessCluster.create({ size: 3, label: 'failover' });
try {
  await cluster.startAll();
  const client = cluster.client({
    timeoutMs: 10_000,
    retry: { retries: 10_000, initialMs: retryInitialMs, maxMs: retryMaxMs },
  });
  await waitForBrokers(client, 3);
  console.log(
    `3 brokers, default settings: raft tick ${config.raftTickMs} ms, election timeout ` +
      `${config.electionTimeoutMs} ms (a follower campaigns after a random ${config.electionTimeoutMs}–` +
      `${2 * config.electionTimeoutMs} ms without a leader), broker heartbeat ${config.brokerHeartbeatIntervalMs} ms, ` +
      `session ${config.brokerSessionTimeoutMs} ms; client retry backoff full jitter, ${retryInitialMs}–${retryMaxMs} ms`,
  );
  const partitionTimes: number[] = [];
  for (let round = 0; round < kills; round++) {
    const result = await partitionRound(cluster, client, round);
    partitionTimes.push(result.ms);
    console.log(
      `  partition leader kill ${round + 1}: broker ${result.victim} killed, broker ${result.newLeader} ` +
        `acknowledged after ${result.ms.toFixed(0)} ms`,
    );
  }
  const controllerTimes: number[] = [];
  for (let round = 0; round < kills; round++) {
    const result = await controllerRound(cluster, client, round);
    controllerTimes.push(result.ms);
    console.log(
      `  controller leader kill ${round + 1}: broker ${result.victim} killed, CreateTopics applied by ` +
        `controller ${result.newController} after ${result.ms.toFixed(0)} ms`,
    );
  }
  console.log('');
  console.log(summarize('partition leader kill -9 → first acknowledged produce', partitionTimes));
  console.log(summarize('controller leader kill -9 → first successful CreateTopics', controllerTimes));
  await client.close();
} finally {
  await cluster.close();
}
