/**
 * Kafka requests the cluster tests send to one chosen broker (not through a client that would
 * follow metadata on its own): Metadata as that broker sees it, Produce and Fetch of one
 * partition, and the partition read back from its current leader.
 */

import type { ExecutionContext } from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, readValues, waitForLeadership } from '../broker/helpers.js';
import { eventually, ProcessCluster } from './harness.js';

/** Longest wait for one answer before a request counts as hung. */
export const ANSWER_LIMIT_MS = 20_000;

/**
 * `promise`, or a rejection naming `what` once `limitMs` has passed: a broker that never
 * answers fails the test with the request's name instead of running into the test's timeout.
 * This bounds a hang; it is not a latency assertion.
 */
export function answered<T>(promise: Promise<T>, what: string, limitMs = ANSWER_LIMIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${limitMs} ms`)), limitMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Opens a raw connection to `port`, runs `use`, closes the connection. */
export async function withClient<T>(port: number, use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.open(port);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

export interface PartitionView {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
}

export interface MetadataView {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  clusterId: string | null;
  controllerId: number;
  topics: Array<{ errorCode: number; name: string; partitions: PartitionView[] }>;
}

/** Metadata v8 as the broker on `port` answers it from its own applied view. */
export function metadataOf(port: number, topics: string[] | null = null): Promise<MetadataView> {
  return withClient(port, async (client) => {
    const response = await answered(
      client.request(ApiKey.Metadata, 8, {
        topics: topics === null ? null : topics.map((name) => ({ name })),
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }),
      `Metadata from port ${port}`,
    );
    return response.body as MetadataView;
  });
}

/**
 * Waits until every running member's Metadata lists `count` brokers and names the same
 * controller leader; returns that controller's id.
 */
export async function agreedController(
  cluster: ProcessCluster,
  count: number,
  timeoutMs = 45_000,
): Promise<number> {
  return eventually(
    async () => {
      const running = [...cluster.members.values()].filter((member) => member.child !== null);
      const views = await Promise.all(running.map((member) => metadataOf(member.clientPort)));
      const controllers = new Set(views.map((view) => view.controllerId));
      const [controller] = controllers;
      const complete = views.every((view) => view.brokers.length === count);
      return complete && controllers.size === 1 && controller !== undefined && controller > 0
        ? controller
        : undefined;
    },
    timeoutMs,
    `every running broker listing ${count} brokers and one controller leader`,
  );
}

/**
 * `brokers` founding members started and agreed on one controller, with `topic` created through
 * broker 1 and every partition served by a leader: the start most cluster specs share.
 */
export async function clusterWithTopic(
  t: ExecutionContext,
  topic: { name: string; partitions: number; replicationFactor?: number },
  options: { brokers?: number; extraArgs?: string[] } = {},
): Promise<ProcessCluster> {
  const brokers = options.brokers ?? 3;
  const cluster = await ProcessCluster.create(t, brokers, options.extraArgs ?? []);
  await cluster.startAll();
  await agreedController(cluster, brokers);
  const created = await createTopicThrough(cluster.member(1).clientPort, {
    name: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor ?? brokers,
  });
  if (created.errorCode !== ErrorCode.NONE)
    throw new Error(`creating ${topic.name} failed: ${created.errorCode} ${created.errorMessage}`);
  for (let partition = 0; partition < topic.partitions; partition++)
    await servingLeader(cluster, topic.name, partition);
  return cluster;
}

/** CreateTopics v4 sent to the broker on `port`; resolves to the topic's error code. */
export async function createTopicThrough(
  port: number,
  topic: { name: string; partitions: number; replicationFactor: number },
): Promise<{ errorCode: number; errorMessage: string | null }> {
  return withClient(port, async (client) => {
    const response = await answered(
      client.request(ApiKey.CreateTopics, 4, {
        topics: [
          {
            name: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: topic.replicationFactor,
            assignments: [],
            configs: [],
          },
        ],
        timeoutMs: 15_000,
        validateOnly: false,
      }),
      `CreateTopics ${topic.name} through port ${port}`,
    );
    return response.body.topics[0];
  });
}

/** A RecordBatch v2 holding `values`, not from an idempotent producer. */
export function batchOf(values: string[]): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: values.map((value) => ({ key: null, value: Buffer.from(value) })),
  });
}

/** Produce v7 (acks=all) of one batch to `topic`/`partition`; resolves to that partition's answer. */
export async function produceTo(
  client: RawClient,
  topic: string,
  partition: number,
  values: string[],
): Promise<{ errorCode: number; baseOffset: number }> {
  const response = await answered(
    client.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 15_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batchOf(values) }] }],
    }),
    `Produce ${topic}-${partition}`,
  );
  return response.body.responses[0].partitionResponses[0];
}

/** Fetch v11 of `topic`/`partition` from offset 0; resolves to that partition's error code. */
export async function fetchErrorFrom(client: RawClient, topic: string, partition: number): Promise<number> {
  const response = await answered(
    client.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    }),
    `Fetch ${topic}-${partition}`,
  );
  return response.body.responses[0].partitions[0].errorCode;
}

/**
 * The leader of `topic`/`partition` that every running member names, once they agree and it
 * serves the partition (ListOffsets answers it without NOT_LEADER_OR_FOLLOWER).
 */
export async function servingLeader(
  cluster: ProcessCluster,
  topic: string,
  partition: number,
  timeoutMs = 45_000,
): Promise<{ leaderId: number; replicas: number[] }> {
  return eventually(
    async () => {
      const running = [...cluster.members.values()].filter((member) => member.child !== null);
      const views = await Promise.all(running.map((member) => metadataOf(member.clientPort, [topic])));
      const answers = views.map((view) =>
        view.topics[0]?.partitions.find((candidate) => candidate.partitionIndex === partition),
      );
      const leaders = new Set(answers.map((answer) => answer?.leaderId ?? -1));
      const [leaderId] = leaders;
      if (leaders.size !== 1 || leaderId === undefined || leaderId <= 0) return undefined;
      const leader = cluster.members.get(leaderId);
      if (leader === undefined || leader.child === null) return undefined;
      await withClient(leader.clientPort, (client) =>
        answered(waitForLeadership(client, topic, [partition]), `leadership of ${topic}-${partition}`),
      );
      return { leaderId, replicas: [...(answers[0]?.replicaNodes ?? [])].sort((a, b) => a - b) };
    },
    timeoutMs,
    `one serving leader of ${topic}-${partition}`,
  );
}

/**
 * Every record value of `topic`/`partition`, read from its current leader up to the high
 * watermark (control batches skipped, as Kafka clients skip them).
 */
export async function readPartition(
  cluster: ProcessCluster,
  topic: string,
  partition: number,
): Promise<string[]> {
  return eventually(
    async () => {
      const { leaderId } = await servingLeader(cluster, topic, partition);
      return withClient(cluster.member(leaderId).clientPort, (client) =>
        answered(readValues(client, topic, partition), `reading ${topic}-${partition}`),
      );
    },
    45_000,
    `reading ${topic}-${partition} from its leader`,
  );
}

export { ErrorCode };
