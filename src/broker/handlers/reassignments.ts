import type { PartitionInfo, ReassignmentRequest } from '../../controller/index.js';
import { reassignmentView } from '../../controller/index.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';
import { MAX_REASSIGNMENTS_PER_REQUEST, type ReassignmentResult } from '../controller-reassignments.js';

interface AlterPartitionReassignmentsRequest {
  timeoutMs: number;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; replicas: number[] | null }> }>;
}

interface PartitionAnswer {
  partitionIndex: number;
  errorCode: number;
  errorMessage: string | null;
}

/** Longest a request waits for the controller, whatever timeout it names. */
const MAX_TIMEOUT_MS = 300_000;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * AlterPartitionReassignments (KIP-455; kafka-reassign-partitions, the Java AdminClient's
 * alterPartitionReassignments, kadm's AlterPartitionAssignments). Any broker takes it and
 * forwards it to the controller leader, which records each partition's target (or cancels its
 * move) and answers once the records are applied here — not once the moves finish: those run
 * in the background and ListPartitionReassignments shows them. A partition named twice in one
 * request is refused (INVALID_REQUEST); a failure to reach the controller is the top-level
 * error (and every partition's).
 */
export const alterPartitionReassignmentsHandler: Handler = {
  apiKey: ApiKey.AlterPartitionReassignments,
  async handle(request: AlterPartitionReassignmentsRequest, { broker }) {
    const answers = new Map<string, PartitionAnswer>();
    const requests = new Map<string, ReassignmentRequest>();
    for (const topic of request.topics)
      for (const partition of topic.partitions) {
        const entry = {
          topic: topic.name,
          partition: partition.partitionIndex,
          replicas: partition.replicas,
        };
        const key = keyOf(entry);
        if (requests.has(key))
          answers.set(key, {
            partitionIndex: partition.partitionIndex,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: `${topic.name}-${partition.partitionIndex} is named more than once in the request`,
          });
        else requests.set(key, entry);
      }
    const forward = [...requests.values()].filter((entry) => !answers.has(keyOf(entry)));
    if (forward.length > MAX_REASSIGNMENTS_PER_REQUEST)
      return failure(
        request,
        ErrorCode.INVALID_REQUEST,
        `a request may name at most ${MAX_REASSIGNMENTS_PER_REQUEST} partitions; got ${forward.length}`,
      );
    if (forward.length > 0) {
      const timeoutMs =
        request.timeoutMs > 0 ? Math.min(request.timeoutMs, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
      let results: ReassignmentResult[];
      try {
        results = await broker.controller.execute<ReassignmentResult[]>(
          { op: 'alter-reassignments', partitions: forward },
          timeoutMs,
        );
      } catch (error) {
        return failure(request, errorCodeOf((error as { code?: unknown }).code), (error as Error).message);
      }
      for (const result of results)
        answers.set(keyOf(result), {
          partitionIndex: result.partition,
          errorCode: result.errorName === null ? ErrorCode.NONE : errorCodeOf(result.errorName),
          errorMessage: result.message,
        });
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(
          (partition) =>
            answers.get(keyOf({ topic: topic.name, partition: partition.partitionIndex })) ?? {
              partitionIndex: partition.partitionIndex,
              errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
              errorMessage: 'the controller did not answer for this partition',
            },
        ),
      })),
    };
  },
  errorResponse: (request: AlterPartitionReassignmentsRequest, errorCode) =>
    failure(request, errorCode, null),
};

function keyOf(entry: { topic: string; partition: number }): string {
  return `${entry.topic}\u0000${entry.partition}`;
}

function errorCodeOf(name: unknown): number {
  return typeof name === 'string'
    ? ((ErrorCode as Record<string, number>)[name] ?? ErrorCode.UNKNOWN_SERVER_ERROR)
    : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The whole request refused with one error, top level and per partition. */
function failure(
  request: AlterPartitionReassignmentsRequest,
  errorCode: number,
  errorMessage: string | null,
) {
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    responses: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        partitionIndex: partition.partitionIndex,
        errorCode,
        errorMessage,
      })),
    })),
  };
}

interface ListPartitionReassignmentsRequest {
  timeoutMs: number;
  topics: Array<{ name: string; partitionIndexes: number[] }> | null;
}

/**
 * ListPartitionReassignments (KIP-455): the moves in progress, from this broker's applied
 * metadata — every one (topics null) or those among the named partitions; partitions that are
 * not moving, and unknown ones, are left out. Per partition: `replicas` (the target, then the
 * members leaving), `addingReplicas` (target brokers not voters yet) and `removingReplicas`.
 * Evacuations and decommissions are moves too and are listed the same way.
 */
export const listPartitionReassignmentsHandler: Handler = {
  apiKey: ApiKey.ListPartitionReassignments,
  handle(request: ListPartitionReassignmentsRequest, { broker }) {
    const state = broker.controller.state;
    const byTopic = new Map<string, PartitionInfo[]>();
    const add = (partition: PartitionInfo | undefined): void => {
      if (partition === undefined || partition.targetReplicas.length === 0) return;
      const list = byTopic.get(partition.topic) ?? [];
      if (!list.includes(partition)) list.push(partition);
      byTopic.set(partition.topic, list);
    };
    if (request.topics === null) {
      for (const topic of state.topics()) for (const partition of topic.partitions) add(partition);
    } else {
      for (const topic of request.topics) {
        const known = state.topicByName(topic.name);
        for (const index of topic.partitionIndexes) add(known?.partitions[index]);
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [...byTopic].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((partition) => ({
          partitionIndex: partition.partition,
          ...reassignmentView(partition),
        })),
      })),
    };
  },
  errorResponse: (_request: ListPartitionReassignmentsRequest, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    topics: [],
  }),
};
