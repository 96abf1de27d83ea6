/**
 * Follower reads on 3 real `goqueue broker` processes in racks r1-r3 with
 * `enable_follower_read`: one partition at RF 3 filled with BENCH_MIB (64) MiB, then read whole
 * from the start by the SDK Consumer, alternately from the leader (no rack) and from a follower
 * (`rack` set to a follower's rack, so the leader names it as the preferred read replica).
 * BENCH_ROUNDS (3) rounds of each; prints the median MiB/s of each, the follower/leader ratio,
 * and the brokers' follower-read counters (GET /v1/broker) proving who served the reads.
 *
 * Run: `npm run bench -- follower-read`. Knobs: BENCH_MIB, BENCH_ROUNDS, BENCH_FETCH_KIB (1024,
 * bytes asked per fetch).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';
import { freePort, median, ProcessCluster } from './process-cluster.js';
import { createReadyTopic, waitForBrokers } from './produce-workload.js';

const totalMib = Number(process.env.BENCH_MIB ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const fetchBytes = Number(process.env.BENCH_FETCH_KIB ?? 1024) * 1024;
const TOPIC = 'reads';

interface Counters {
  servedAsFollower: number;
  redirected: number;
}

const httpPorts = new Map<number, number>();
for (const id of [1, 2, 3]) httpPorts.set(id, await freePort());
const cluster = await ProcessCluster.create({
  size: 3,
  label: 'follower-read',
  env: { GOQUEUE_ENABLE_FOLLOWER_READ: 'true', GOQUEUE_LEADER_BALANCE_INTERVAL: '0' },
  memberArgs: (id) => {
    const file = join(cluster.root, `broker-${id}.json`);
    writeFileSync(file, JSON.stringify({ 'server.http_port': httpPorts.get(id) }));
    return ['--rack', `r${id}`, '--config', file];
  },
});

async function counters(id: number): Promise<Counters> {
  const response = await fetch(`http://127.0.0.1:${httpPorts.get(id)}/v1/broker`);
  return ((await response.json()) as { followerReads: Counters }).followerReads;
}

/** Reads the partition from offset 0 to `end`; MiB/s of record bytes. */
async function readAll(consumer: Consumer, end: number): Promise<{ mibPerSecond: number; bytes: number }> {
  let offset = 0;
  let bytes = 0;
  const startedAt = performance.now();
  while (offset < end) {
    const result = await consumer.fetchFrom({ topic: TOPIC, partition: 0, offset, maxBytes: fetchBytes });
    for (const message of result.messages) bytes += message.value?.length ?? 0;
    offset = result.nextOffset;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return { mibPerSecond: bytes / 2 ** 20 / seconds, bytes };
}

try {
  await cluster.startAll();
  const client = cluster.client({ retry: { retries: 50, initialMs: 50, maxMs: 500 } });
  await waitForBrokers(client, 3);
  await createReadyTopic(client, TOPIC, 1, 3);
  // 64 KiB values, 8 per batch (under max_message_size).
  const producer = new Producer(client, { acks: -1 });
  const value = Buffer.alloc(64 * 1024, 'r');
  for (let sent = 0; sent < totalMib * 2; sent++)
    await producer.produceMessage({
      topic: TOPIC,
      partition: 0,
      messages: Array.from({ length: 8 }, () => ({ value })),
    });
  const metadata = await client.refreshMetadata([TOPIC]);
  const leader = metadata.topics.get(TOPIC)!.partitions[0]!.leader;
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const end = (await new Consumer(client).fetchFrom({ topic: TOPIC, partition: 0, offset: 0, maxBytes: 1 }))
    .highWatermark;

  const fromLeader: number[] = [];
  const fromFollower: number[] = [];
  // A fresh Consumer per round: the follower one learns its read replica from the leader's answer.
  for (let round = 0; round < rounds; round++) {
    fromLeader.push((await readAll(new Consumer(client), end)).mibPerSecond);
    fromFollower.push((await readAll(new Consumer(client, { rack: `r${follower}` }), end)).mibPerSecond);
  }
  const served = await counters(follower);
  const redirected = (await counters(leader)).redirected;
  await client.close();

  const leaderRate = median(fromLeader);
  const followerRate = median(fromFollower);
  console.log(
    `follower reads: 1 partition, ${totalMib} MiB, RF 3, 3 brokers (racks r1-r3), ${fetchBytes / 1024} KiB per fetch, ${rounds} rounds each`,
  );
  console.log(
    `  leader (broker ${leader})      ${leaderRate.toFixed(1)} MiB/s  rounds ${fromLeader.map((v) => v.toFixed(1)).join(' ')}`,
  );
  console.log(
    `  follower (broker ${follower}, r${follower}) ${followerRate.toFixed(1)} MiB/s  rounds ${fromFollower.map((v) => v.toFixed(1)).join(' ')}`,
  );
  console.log(`  ratio follower/leader ${(followerRate / leaderRate).toFixed(2)}`);
  console.log(
    `  counters: broker ${follower} served ${served.servedAsFollower} fetches as a follower; broker ${leader} redirected ${redirected}`,
  );
} finally {
  await cluster.close();
}
