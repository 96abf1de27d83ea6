import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { checkTopicConfig, checkTopicName } from '../topic-config.js';
import { TopicError } from '../topics.js';
import { wireTopicId } from './topic-ids.js';

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: Array<{ partitionIndex: number; brokerIds: number[] }>;
  configs: Array<{ name: string; value: string | null }>;
}

interface CreateTopicsRequest {
  topics: CreatableTopic[];
  timeoutMs: number;
  validateOnly?: boolean;
}

class Rejection extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Checks one CreateTopics entry; returns what to create. */
function planTopic(broker: BrokerContext, topic: CreatableTopic) {
  const nameProblem = checkTopicName(topic.name);
  if (nameProblem !== null) throw new Rejection(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  if (broker.topics.get(topic.name) !== undefined) {
    throw new Rejection(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${topic.name} already exists`);
  }
  const assignments = topic.assignments ?? [];
  let partitionCount = topic.numPartitions;
  if (assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      throw new Rejection(
        ErrorCode.INVALID_REQUEST,
        'give either assignments or numPartitions/replicationFactor',
      );
    }
    const sorted = [...assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
    sorted.forEach((assignment, position) => {
      if (assignment.partitionIndex !== position)
        throw new Rejection(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          'assignments must cover partitions 0..n-1 once each',
        );
    });
    partitionCount = assignments.length;
  }
  if (partitionCount === -1) partitionCount = broker.config.defaultPartitions;
  if (partitionCount <= 0) {
    throw new Rejection(
      ErrorCode.INVALID_PARTITIONS,
      `numPartitions must be at least 1; got ${partitionCount}`,
    );
  }
  if (partitionCount > broker.config.maxTopicPartitions) {
    throw new Rejection(
      ErrorCode.INVALID_PARTITIONS,
      `numPartitions ${partitionCount} exceeds max_topic_partitions (${broker.config.maxTopicPartitions})`,
    );
  }
  const explicit =
    assignments.length > 0
      ? [...assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds)
      : null;
  const replicationFactor =
    explicit !== null
      ? (explicit[0]?.length ?? 0)
      : topic.replicationFactor === -1
        ? Math.max(
            1,
            Math.min(broker.config.defaultReplicationFactor, broker.controller.state.liveBrokers().length),
          )
        : topic.replicationFactor;
  if (replicationFactor < 1) {
    throw new Rejection(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `replicationFactor must be at least 1; got ${topic.replicationFactor}`,
    );
  }
  const configs: Record<string, string> = {};
  for (const { name, value } of topic.configs ?? []) {
    const problem = checkTopicConfig(name, value);
    if (problem !== null) throw new Rejection(ErrorCode.INVALID_CONFIG, problem);
    configs[name] = value!;
  }
  return { name: topic.name, partitionCount, replicationFactor, configs, assignments: explicit };
}

function rejectionOf(error: unknown): { errorCode: number; errorMessage: string } {
  if (error instanceof Rejection) return { errorCode: error.errorCode, errorMessage: error.message };
  if (error instanceof TopicError)
    return {
      errorCode: (ErrorCode as Record<string, number>)[error.errorName] ?? ErrorCode.UNKNOWN_SERVER_ERROR,
      errorMessage: error.message,
    };
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (error as Error).message };
}

export const createTopicsHandler: Handler = {
  apiKey: ApiKey.CreateTopics,
  async handle(request: CreateTopicsRequest, { broker, logger }) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const results = [];
    for (const topic of request.topics) {
      try {
        if (counts.get(topic.name)! > 1) {
          throw new Rejection(ErrorCode.INVALID_REQUEST, `topic ${topic.name} appears more than once`);
        }
        const plan = planTopic(broker, topic);
        await broker.topics.create({
          ...plan,
          validateOnly: request.validateOnly ?? false,
          timeoutMs: request.timeoutMs > 0 ? request.timeoutMs : 30_000,
        });
        results.push({
          name: topic.name,
          // v7+: the new topic's id (zero for validateOnly, which creates nothing).
          topicId: wireTopicId(broker, topic.name),
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          // v5+: what was created; the configs are the ones set on the topic (source 1, dynamic).
          numPartitions: plan.partitionCount,
          replicationFactor: plan.replicationFactor,
          configs: Object.entries(plan.configs).map(([name, value]) => ({
            name,
            value,
            readOnly: false,
            configSource: 1,
            isSensitive: false,
          })),
        });
      } catch (error) {
        if (!(error instanceof Rejection || error instanceof TopicError)) {
          logger.error({ err: error, topic: topic.name }, 'create topic failed');
        }
        results.push({ name: topic.name, ...rejectionOf(error) });
      }
    }
    return { throttleTimeMs: 0, topics: results };
  },
  errorResponse: (request: CreateTopicsRequest, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({ name: topic.name, errorCode, errorMessage: null })),
  }),
};

interface DeleteTopicsRequest {
  topicNames: string[];
  timeoutMs: number;
}

/** DeleteTopics removes the topic's metadata, then its data directories. */
export const deleteTopicsHandler: Handler = {
  apiKey: ApiKey.DeleteTopics,
  async handle(request: DeleteTopicsRequest, { broker, logger }) {
    const responses = [];
    for (const name of request.topicNames) {
      try {
        await broker.topics.delete(name, request.timeoutMs > 0 ? request.timeoutMs : 30_000);
        responses.push({ name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof TopicError)) logger.error({ err: error, topic: name }, 'delete topic failed');
        responses.push({ name, ...rejectionOf(error) });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
  errorResponse: (request: DeleteTopicsRequest, errorCode) => ({
    throttleTimeMs: 0,
    responses: request.topicNames.map((name) => ({ name, errorCode, errorMessage: null })),
  }),
};

interface CreatePartitionsRequest {
  topics: Array<{ name: string; count: number; assignments: Array<{ brokerIds: number[] }> | null }>;
  timeoutMs: number;
  validateOnly: boolean;
}

export const createPartitionsHandler: Handler = {
  apiKey: ApiKey.CreatePartitions,
  async handle(request: CreatePartitionsRequest, { broker, logger }) {
    const results = [];
    for (const topic of request.topics) {
      try {
        const assignments = topic.assignments?.map((assignment) => assignment.brokerIds) ?? null;
        await broker.topics.addPartitions(
          topic.name,
          topic.count,
          request.validateOnly,
          assignments !== null && assignments.length > 0 ? assignments : null,
          request.timeoutMs > 0 ? request.timeoutMs : 30_000,
        );
        results.push({ name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof Rejection || error instanceof TopicError)) {
          logger.error({ err: error, topic: topic.name }, 'create partitions failed');
        }
        results.push({ name: topic.name, ...rejectionOf(error) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
  errorResponse: (request: CreatePartitionsRequest, errorCode) => ({
    throttleTimeMs: 0,
    results: request.topics.map((topic) => ({ name: topic.name, errorCode, errorMessage: null })),
  }),
};
