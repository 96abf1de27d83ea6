/**
 * Admin verbs that move replicas and leaders: AlterPartitionReassignments (API 45) and
 * ListPartitionReassignments (API 46) of KIP-455, and ElectLeaders (API 43, KIP-183/460).
 *
 * Any broker takes them (a goqueue broker forwards a reassignment to the controller and answers
 * elections from its applied metadata), so they go to any reachable broker. The two KIP-455 APIs
 * exist only in flexible versions: they are sent at v0 (the only version) whatever the
 * connection negotiated, as the SDK otherwise speaks the non-flexible versions only.
 * ElectLeaders goes at its newest non-flexible version (v1, preferred election).
 */
import { ApiKey } from '../protocol/index.js';
import {
  partitionRows,
  requireBrokerId,
  requireDistinct,
  requireList,
  requirePartitionList,
} from './admin-checks.js';
import type { CallOptions, Client } from './client.js';
import { GoqueueError, KafkaProtocolError } from './errors.js';
import { requireCallOptions, requireObject, requirePartition, requireTopic } from './validate.js';

/** The version of both KIP-455 APIs (flexible; there is no other). */
const KIP455_VERSION = 0;
/** ElectLeaders' election type: the preferred replica (the first of the replica list). */
const ELECTION_PREFERRED = 0;
/** Room for the broker's own answer after the `timeoutMs` it was given. */
const ANSWER_MARGIN_MS = 5_000;

export interface Reassignment {
  topic: string;
  partition: number;
  /** The target replica list (its first broker is the preferred leader), or null to cancel the move in progress. */
  replicas: number[] | null;
}

export interface AlterPartitionReassignmentsRequest extends CallOptions {
  reassignments: Reassignment[];
}

export interface PartitionReassignment {
  topic: string;
  partition: number;
  /** The target replicas, then those still to leave. */
  replicas: number[];
  /** Target brokers that do not hold a full replica yet. */
  addingReplicas: number[];
  /** Current replicas that are not in the target. */
  removingReplicas: number[];
}

/** Which partitions a list or election is about: every one, a topic's, or some of a topic's. */
export interface PartitionSelection extends CallOptions {
  /** Left out: every partition in the cluster. */
  topic?: string;
  /** Left out: every partition of `topic`. */
  partitions?: number[];
}

export interface ElectionResult {
  topic: string;
  partition: number;
  /**
   * null when the preferred replica now leads; otherwise why not, e.g. ELECTION_NOT_NEEDED (it
   * already led) or PREFERRED_LEADER_NOT_AVAILABLE (not live or behind: ask again later).
   */
  error: KafkaProtocolError | null;
}

function checkAlter(request: unknown): void {
  const field = 'admin.alterPartitionReassignments(request)';
  const fields = requireObject(field, request);
  const keys = requireList(`${field}.reassignments`, fields.reassignments, (itemField, item) => {
    const entry = requireObject(itemField, item);
    requireTopic(`${itemField}.topic`, entry.topic);
    requirePartition(`${itemField}.partition`, entry.partition);
    if (entry.replicas !== null) {
      const replicas = requireList(`${itemField}.replicas`, entry.replicas, requireBrokerId);
      requireDistinct(`${itemField}.replicas`, replicas.map(String), 'broker');
    }
    return `${entry.topic as string}/${entry.partition as number}`;
  });
  requireDistinct(`${field}.reassignments`, keys, 'partition');
  requireCallOptions(field, fields);
}

function checkSelection(field: string, request: unknown): void {
  const fields = requireObject(field, request);
  if (fields.topic !== undefined) requireTopic(`${field}.topic`, fields.topic);
  if (fields.partitions !== undefined) {
    if (fields.topic === undefined) throw new TypeError(`${field}.partitions needs ${field}.topic`);
    requirePartitionList(`${field}.partitions`, fields.partitions);
  }
  requireCallOptions(field, fields);
}

/** `[{ topic, partitions }]` for a selection; null (every partition) when it names no topic. */
async function selected(
  client: Client,
  selection: PartitionSelection,
): Promise<Array<{ topic: string; partitions: number[] }> | null> {
  if (selection.topic === undefined) return null;
  const topic = selection.topic;
  const partitions =
    selection.partitions ??
    (await client.retrying(() => client.topic(topic, selection), selection)).partitions.map(
      (partition) => partition.partition,
    );
  return [{ topic, partitions }];
}

/** Sends a KIP-455 request to any broker; a top-level error is thrown (and retried if it may be). */
function kip455<T extends { errorCode: number; errorMessage: string | null }>(
  client: Client,
  apiKey: ApiKey.AlterPartitionReassignments | ApiKey.ListPartitionReassignments,
  body: { timeoutMs: number; topics: unknown },
  options: CallOptions,
): Promise<T> {
  return client.retrying(async () => {
    const connection = await client.anyConnection(options);
    const response = await connection.request<T>(apiKey, body, {
      timeoutMs: body.timeoutMs + ANSWER_MARGIN_MS,
      signal: options.signal,
      apiVersion: KIP455_VERSION,
    });
    if (response.errorCode)
      throw new KafkaProtocolError(response.errorCode, { detail: response.errorMessage });
    return response;
  }, options);
}

/**
 * AlterPartitionReassignments: records each partition's target replica list (or cancels its
 * move) and resolves once the controller has recorded them; the moves themselves run in the
 * background (listPartitionReassignments shows them). When a partition is refused the call
 * rejects with its error (the first in the order given); the others named were recorded.
 */
export async function alterPartitionReassignments(
  client: Client,
  request: AlterPartitionReassignmentsRequest,
): Promise<void> {
  checkAlter(request);
  const byTopic = new Map<string, Array<{ partitionIndex: number; replicas: number[] | null }>>();
  for (const { topic, partition, replicas } of request.reassignments)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partitionIndex: partition, replicas }]);
  const response = await kip455<{
    errorCode: number;
    errorMessage: string | null;
    responses: Array<{
      name: string;
      partitions: Array<{ partitionIndex: number; errorCode: number; errorMessage: string | null }>;
    }>;
  }>(
    client,
    ApiKey.AlterPartitionReassignments,
    {
      timeoutMs: request.timeoutMs ?? client.timeoutMs,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    },
    request,
  );
  const answers = new Map<string, { errorCode: number; errorMessage: string | null }>();
  for (const topic of response.responses)
    for (const partition of topic.partitions)
      answers.set(`${topic.name}/${partition.partitionIndex}`, partition);
  for (const { topic, partition } of request.reassignments) {
    const answer = answers.get(`${topic}/${partition}`);
    if (answer === undefined)
      throw new GoqueueError(
        `the broker's AlterPartitionReassignments answer names no partition ${topic}/${partition}`,
      );
    if (answer.errorCode)
      throw new KafkaProtocolError(answer.errorCode, {
        topic,
        partition,
        detail: answer.errorMessage,
        // A reassignment refused for a partition is not undone by asking again.
        retriable: false,
      });
  }
}

/**
 * ListPartitionReassignments: the moves in progress (every one, or those of a topic or of some
 * of its partitions), sorted by topic then partition. Partitions not moving are left out.
 */
export async function listPartitionReassignments(
  client: Client,
  request: PartitionSelection,
): Promise<PartitionReassignment[]> {
  checkSelection('admin.listPartitionReassignments(request)', request);
  const topics = await selected(client, request);
  const response = await kip455<{
    errorCode: number;
    errorMessage: string | null;
    topics: Array<{
      name: string;
      partitions: Array<{
        partitionIndex: number;
        replicas: number[];
        addingReplicas: number[];
        removingReplicas: number[];
      }>;
    }>;
  }>(
    client,
    ApiKey.ListPartitionReassignments,
    {
      timeoutMs: request.timeoutMs ?? client.timeoutMs,
      topics: topics?.map(({ topic, partitions }) => ({ name: topic, partitionIndexes: partitions })) ?? null,
    },
    request,
  );
  return partitionRows(
    response.topics,
    (topic) => topic.partitions,
    (topic, partition) => ({
      topic: topic.name,
      partition: partition.partitionIndex,
      replicas: partition.replicas,
      addingReplicas: partition.addingReplicas,
      removingReplicas: partition.removingReplicas,
    }),
  );
}

/**
 * ElectLeaders (preferred): asks each selected partition's leader to hand leadership to its
 * preferred replica. Resolves with one result per partition answered; for every partition
 * (no topic) the broker leaves out those already led by their preferred replica.
 */
export async function electLeaders(client: Client, request: PartitionSelection): Promise<ElectionResult[]> {
  checkSelection('admin.electLeaders(request)', request);
  const topicPartitions = await selected(client, request);
  const timeoutMs = request.timeoutMs ?? client.timeoutMs;
  const response = await client.retrying(async () => {
    const connection = await client.anyConnection(request);
    const answer = await client.send(
      connection,
      ApiKey.ElectLeaders,
      { electionType: ELECTION_PREFERRED, topicPartitions, timeoutMs },
      { ...request, timeoutMs: timeoutMs + ANSWER_MARGIN_MS },
    );
    if (answer.errorCode) throw new KafkaProtocolError(answer.errorCode, { detail: 'ElectLeaders' });
    return answer as {
      replicaElectionResults: Array<{
        topic: string;
        partitionResult: Array<{ partitionId: number; errorCode: number; errorMessage: string | null }>;
      }>;
    };
  }, request);
  return partitionRows(
    response.replicaElectionResults,
    (topic) => topic.partitionResult,
    (topic, partition) => ({
      topic: topic.topic,
      partition: partition.partitionId,
      error:
        partition.errorCode === 0
          ? null
          : new KafkaProtocolError(partition.errorCode, {
              topic: topic.topic,
              partition: partition.partitionId,
              detail: partition.errorMessage,
            }),
    }),
  );
}
