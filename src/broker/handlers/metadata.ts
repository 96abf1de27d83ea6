import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { checkTopicName } from '../topic-config.js';
import { TopicError, type TopicState } from '../topics.js';

/** Kafka's "authorized operations not requested" marker. */
const OPERATIONS_OMITTED = -2147483648;

interface MetadataRequest {
  topics: Array<{ name: string | null }> | null;
  allowAutoTopicCreation?: boolean;
}

function topicBody(state: TopicState, brokerId: number): object {
  return {
    errorCode: ErrorCode.NONE,
    name: state.record.name,
    isInternal: false,
    partitions: state.partitions.map((partition) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: partition.index,
      leaderId: brokerId,
      leaderEpoch: partition.log.leaderEpoch,
      replicaNodes: [brokerId],
      isrNodes: [brokerId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

function errorTopic(name: string | null, errorCode: number): object {
  return {
    errorCode,
    name,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

function clusterBody(broker: BrokerContext, topics: object[]): object {
  return {
    throttleTimeMs: 0,
    brokers: [
      { nodeId: broker.brokerId, host: broker.advertised.host, port: broker.advertised.port, rack: null },
    ],
    clusterId: broker.metadata.current.clusterId,
    controllerId: broker.brokerId,
    topics,
    clusterAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

async function topicOrAutoCreate(
  broker: BrokerContext,
  name: string,
  allowAutoCreate: boolean,
): Promise<object> {
  const existing = broker.topics.get(name);
  if (existing !== undefined) return topicBody(existing, broker.brokerId);
  if (checkTopicName(name) !== null) return errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!allowAutoCreate || !broker.config.autoCreateTopics) {
    return errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  try {
    const created = await broker.topics.create({
      name,
      partitionCount: broker.config.defaultPartitions,
      replicationFactor: 1,
      configs: {},
    });
    return topicBody(created, broker.brokerId);
  } catch (error) {
    // Another request created it meanwhile.
    if (error instanceof TopicError && error.errorName === 'TOPIC_ALREADY_EXISTS') {
      const raced = broker.topics.get(name);
      if (raced !== undefined) return topicBody(raced, broker.brokerId);
    }
    throw error;
  }
}

/** Metadata: this broker leads every partition; topics may be auto-created when the broker allows
 * it (`autoCreateTopics`, Kafka's auto.create.topics.enable) and the request does (v4+). */
export const metadataHandler: Handler = {
  apiKey: ApiKey.Metadata,
  async handle(request: MetadataRequest, { broker, header }) {
    const wantsAll = request.topics === null || (header.apiVersion === 0 && request.topics.length === 0);
    if (wantsAll) {
      const topics = broker.topics.list().map((state) => topicBody(state, broker.brokerId));
      return clusterBody(broker, topics);
    }
    const allowAutoCreate = request.allowAutoTopicCreation ?? true;
    const topics: object[] = [];
    for (const { name } of request.topics ?? []) {
      if (name === null) topics.push(errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION));
      else topics.push(await topicOrAutoCreate(broker, name, allowAutoCreate));
    }
    return clusterBody(broker, topics);
  },
  errorResponse: (request: MetadataRequest, errorCode) => ({
    throttleTimeMs: 0,
    brokers: [],
    clusterId: null,
    controllerId: -1,
    topics: (request.topics ?? []).map(({ name }) => errorTopic(name, errorCode)),
    clusterAuthorizedOperations: OPERATIONS_OMITTED,
  }),
};
