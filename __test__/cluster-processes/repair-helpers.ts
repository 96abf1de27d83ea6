/**
 * What the repair specs share: three brokers with their own config files (admin HTTP port,
 * scrubber rate), a one-partition RF 3 topic of 2 KiB segments, records produced through its
 * leader, and the partition's files on disk.
 */
import { closeSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { readValues } from '../broker/helpers.js';
import { type ClusterMember, eventually, freePort, type LogLine, ProcessCluster } from './harness.js';
import { agreedController, answered, ErrorCode, produceTo, servingLeader, withClient } from './requests.js';

export const TOPIC = 'repaired';

export interface RepairCluster {
  cluster: ProcessCluster;
  /** Each broker's command line (with its config file), for restarts. */
  args: Map<number, string[]>;
  httpPorts: Map<number, number>;
}

/** Three brokers, each with its own config file (`settings` plus its admin HTTP port), and the topic. */
export async function repairCluster(
  t: ExecutionContext,
  settings: Record<string, unknown>,
): Promise<RepairCluster> {
  const cluster = await ProcessCluster.create(t, 3);
  const httpPorts = new Map<number, number>();
  const args = new Map<number, string[]>();
  // Ports the members were given are free until they start: never hand one out again.
  const taken = new Set(
    [1, 2, 3].flatMap((id) => [cluster.member(id).clientPort, cluster.member(id).raftPort]),
  );
  for (const id of [1, 2, 3]) {
    let httpPort = await freePort();
    while (taken.has(httpPort)) httpPort = await freePort();
    taken.add(httpPort);
    httpPorts.set(id, httpPort);
    const file = join(cluster.member(id).dataDir, '..', `broker-${id}.json`);
    writeFileSync(file, JSON.stringify({ ...settings, server: { http_port: httpPort } }));
    args.set(id, [...cluster.args(id), '--config', file]);
  }
  await Promise.all([1, 2, 3].map((id) => cluster.start(id, args.get(id))));
  await agreedController(cluster, 3);
  const created = await withClient(cluster.member(1).clientPort, (client) =>
    answered(
      client.request(ApiKey.CreateTopics, 4, {
        topics: [
          {
            name: TOPIC,
            numPartitions: 1,
            replicationFactor: 3,
            assignments: [],
            configs: [{ name: 'segment.bytes', value: '2048' }],
          },
        ],
        timeoutMs: 15_000,
        validateOnly: false,
      }),
      'CreateTopics',
    ),
  );
  if (created.body.topics[0].errorCode !== ErrorCode.NONE)
    throw new Error(`creating ${TOPIC} answered ${created.body.topics[0].errorCode}`);
  return { cluster, args, httpPorts };
}

/** Records of about 200 bytes, one batch each, named from `first`. */
export function recordValues(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${String(first + i).padStart(3, '0')}-${'x'.repeat(200)}`);
}

/** Produces each value (acks=all) through whichever broker leads, asking again on a leader change. */
export async function produceAll(cluster: ProcessCluster, values: readonly string[]): Promise<void> {
  for (const value of values)
    await eventually(
      async () => {
        const { leaderId } = await servingLeader(cluster, TOPIC, 0);
        const answer = await withClient(cluster.member(leaderId).clientPort, (client) =>
          produceTo(client, TOPIC, 0, [value]),
        );
        return answer.errorCode === ErrorCode.NONE ? answer : undefined;
      },
      60_000,
      `producing record ${value.slice(0, 3)}`,
    );
}

/** Every value of the topic read from `member` (which must lead it), once it answers. */
export function readFrom(member: ClusterMember): Promise<string[]> {
  return eventually(
    () =>
      withClient(member.clientPort, (client) => answered(readValues(client, TOPIC, 0), 'reading')).catch(
        () => undefined,
      ),
    60_000,
    `reading ${TOPIC} from broker ${member.id}`,
  );
}

/** The topic's one partition directory in `dataDir`. */
export function partitionDirectory(dataDir: string): string {
  const root = join(dataDir, 'partitions');
  const name = readdirSync(root).find((entry) => entry.endsWith('-0') && !entry.startsWith('__'));
  if (name === undefined) throw new Error(`no partition directory in ${root}`);
  return join(root, name);
}

/** Segment files of a partition directory, oldest first. */
export function segmentFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

/** Byte position of the second batch of a segment file's bytes. */
export function secondBatch(bytes: Buffer): number {
  return 12 + bytes.readInt32BE(8);
}

/** Flips `mask` in byte `position` of the file in place (a broker may have it open). */
export function flipByte(path: string, position: number, current: number, mask: number): void {
  const descriptor = openSync(path, 'r+');
  try {
    writeSync(descriptor, Buffer.of(current ^ mask), 0, 1, position);
  } finally {
    closeSync(descriptor);
  }
}

export function repairedAt(lines: readonly LogLine[], offset: number): LogLine | undefined {
  return lines.find((line) => line.msg.startsWith('repaired a corrupt batch') && line.offset === offset);
}

export async function scrubberStats(
  httpPort: number,
): Promise<{ corruptBatches: number; repairedBatches: number; failedRepairs: number }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/v1/broker`);
  const body = (await response.json()) as {
    scrubber: { corruptBatches: number; repairedBatches: number; failedRepairs: number };
  };
  return body.scrubber;
}
