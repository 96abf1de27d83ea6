/**
 * Self-healing on 4 real `goqueue broker` processes (replica_replace_after 1 s, session timeout
 * 3 s): a topic of BENCH_PARTITIONS (20) partitions at RF 3, each filled with
 * BENCH_PARTITION_MIB (1) MiB, then broker 4 is killed for good. Prints
 *
 * - the time from the kill until every partition has 3 replicas on the live brokers (Metadata),
 *   and that time minus the session timeout and `replica_replace_after` (the moves themselves),
 *   against the time producing the same data took in the first place (acks=all, RF 3): the
 *   moves copy a quarter of the replicas (broker 4's) while the producer keeps writing;
 * - produce throughput (1 KiB messages, acks=all, 4 in flight) while the moves run vs steady
 *   (the mean of a phase before the kill and one after the moves), and the ratio. The move
 *   window starts once the broker can be fenced and replaced (kill + session timeout +
 *   replace_after).
 *
 * Run: `npm run bench -- self-healing`. Knobs: BENCH_PARTITIONS, BENCH_PARTITION_MIB,
 * BENCH_MOVES (max_replica_moves, 8), BENCH_PHASE_MS (steady phase, 3000).
 */
import { Admin } from '../src/client/admin.js';
import { Producer } from '../src/client/producer.js';
import { ProcessCluster, sleep, waitUntil } from './process-cluster.js';
import { createReadyTopic, producePhase, waitForBrokers } from './produce-workload.js';

const partitions = Number(process.env.BENCH_PARTITIONS ?? 20);
const partitionMib = Number(process.env.BENCH_PARTITION_MIB ?? 1);
const moves = process.env.BENCH_MOVES ?? '8';
const phaseMs = Number(process.env.BENCH_PHASE_MS ?? 3000);
const SESSION_TIMEOUT_MS = 3000;
const REPLACE_AFTER_MS = 1000;
const TOPIC = 'healing';
const VICTIM = 4;

const cluster = await ProcessCluster.create({
  size: 4,
  label: 'healing',
  env: {
    GOQUEUE_REPLICA_REPLACE_AFTER: `${REPLACE_AFTER_MS}ms`,
    GOQUEUE_BROKER_SESSION_TIMEOUT: `${SESSION_TIMEOUT_MS}ms`,
    GOQUEUE_LEADER_BALANCE_INTERVAL: '0',
    GOQUEUE_MAX_REPLICA_MOVES: moves,
  },
});
try {
  await cluster.startAll();
  const client = cluster.client({ retry: { retries: 50, initialMs: 50, maxMs: 500 } });
  await waitForBrokers(client, 4);
  await createReadyTopic(client, TOPIC, partitions, 3);

  // Fill every partition with partitionMib MiB (64 KiB values, 8 per batch: under max_message_size).
  const filler = new Producer(client, { acks: -1 });
  const value = Buffer.alloc(64 * 1024, 'f');
  const batch = Array.from({ length: 8 }, () => ({ value }));
  const fillStartedAt = performance.now();
  await Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      for (let half = 0; half < partitionMib * 2; half++)
        await filler.produceMessage({ topic: TOPIC, partition, messages: batch });
    }),
  );

  const fillSeconds = (performance.now() - fillStartedAt) / 1000;
  const shape = { size: 1024, durationMs: phaseMs, batchMessages: 16, inFlight: 4, partitions };
  const steady = await producePhase(
    client,
    TOPIC,
    shape,
    [1, 2, 3].map((id) => cluster.pid(id)),
  );

  await cluster.kill(VICTIM);
  const killedAt = performance.now();
  const moveStartsAt = killedAt + SESSION_TIMEOUT_MS + REPLACE_AFTER_MS;
  const admin = new Admin(client);
  let restoredAt = 0;
  const waiting = waitUntil(
    async () => {
      const description = await admin.describeTopic(TOPIC);
      const done = description.partitions.every(
        (partition) => partition.replicas.length === 3 && !partition.replicas.includes(VICTIM),
      );
      if (!done) return undefined;
      restoredAt = performance.now();
      return true;
    },
    'every partition back to RF 3',
    600_000,
  );
  await sleep(Math.max(0, moveStartsAt - performance.now()));
  // Produce through the move: one phase after another until the replication factor is back.
  const during = { messages: 0, seconds: 0 };
  let restored = false;
  waiting.then(() => {
    restored = true;
  });
  while (!restored) {
    const phase = await producePhase(
      client,
      TOPIC,
      { ...shape, durationMs: 1000 },
      [1, 2, 3].map((id) => cluster.pid(id)),
    );
    during.messages += phase.messages;
    during.seconds += phase.seconds;
  }
  await waiting;
  // Steady again once the moves are done (3 brokers): the machine's other load changes over a
  // run, so "steady" is the mean of the phases before and after the moves.
  const after = await producePhase(
    client,
    TOPIC,
    shape,
    [1, 2, 3].map((id) => cluster.pid(id)),
  );
  await client.close();

  const restoreSeconds = (restoredAt - killedAt) / 1000;
  const beforeRate = steady.messages / steady.seconds;
  const afterRate = after.messages / after.seconds;
  const steadyRate = (beforeRate + afterRate) / 2;
  const duringRate = during.messages / during.seconds;
  console.log(
    `self-healing: ${partitions} partitions x ${partitionMib} MiB, RF 3, 4 brokers, max_replica_moves ${moves}`,
  );
  console.log(
    `  RF restored ${restoreSeconds.toFixed(1)} s after the kill (moves: ${(restoreSeconds - (SESSION_TIMEOUT_MS + REPLACE_AFTER_MS) / 1000).toFixed(1)} s after the fence + replace_after)`,
  );
  const moveSeconds = restoreSeconds - (SESSION_TIMEOUT_MS + REPLACE_AFTER_MS) / 1000;
  console.log(
    `  filling the topic (acks=all) took ${fillSeconds.toFixed(1)} s (${((partitions * partitionMib) / fillSeconds).toFixed(1)} MiB/s); moves / fill ${(moveSeconds / fillSeconds).toFixed(2)}`,
  );
  console.log(
    `  produce steady      ${Math.round(steadyRate)} msgs/s (before the kill ${Math.round(beforeRate)}, after the moves ${Math.round(afterRate)})`,
  );
  console.log(`  produce during move ${Math.round(duringRate)} msgs/s (${during.seconds.toFixed(1)} s)`);
  console.log(`  ratio during/steady ${(duringRate / steadyRate).toFixed(2)}`);
} finally {
  await cluster.close();
}
