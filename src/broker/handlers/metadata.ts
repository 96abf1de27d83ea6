import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { GROUPS_TOPIC } from '../group-log.js';
import { checkTopicName } from '../topic-config.js';
import { type PartitionState, TopicError, type TopicState } from '../topics.js';
import { topicNameOfId, wireTopicId, ZERO_TOPIC_ID } from './topic-ids.js';

/** Kafka's "authorized operations not requested" marker. */
const OPERATIONS_OMITTED = -2147483648;

interface MetadataRequest {
  /** v10+ may name a topic by id (name null). */
  topics: Array<{ name: string | null; topicId?: string }> | null;
  allowAutoTopicCreation?: boolean;
}

/**
 * A partition's leader as this broker knows it: its own replica's view when it hosts one (the
 * freshest), else what the controller recorded from the leader's report. A leader on a fenced
 * broker is not named (the client waits and asks again).
 */
function partitionBody(broker: BrokerContext, partition: PartitionState): object {
  const { info, log } = partition;
  const state = broker.controller.state;
  let leaderId = info.leader;
  let leaderEpoch = info.leaderEpoch;
  if (
    log !== undefined &&
    log.leaderEpoch >= leaderEpoch &&
    (log.leaderId > 0 || log.leaderEpoch > leaderEpoch)
  ) {
    leaderId = log.leaderId;
    leaderEpoch = log.leaderEpoch;
  }
  const live = (id: number): boolean => {
    const known = state.broker(id);
    return id === broker.brokerId || (known !== undefined && !known.fenced);
  };
  if (leaderId > 0 && !live(leaderId)) leaderId = -1;
  const members = [...info.replicas, ...info.learners];
  return {
    errorCode: leaderId > 0 ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
    partitionIndex: partition.index,
    leaderId,
    leaderEpoch,
    replicaNodes: members,
    isrNodes: info.replicas.filter(live),
    offlineReplicas: members.filter((id) => !live(id)),
  };
}

function topicBody(broker: BrokerContext, state: TopicState): object {
  return {
    errorCode: ErrorCode.NONE,
    name: state.record.name,
    topicId: wireTopicId(broker, state.record.name),
    isInternal: state.record.name === GROUPS_TOPIC,
    partitions: state.partitions.map((partition) => partitionBody(broker, partition)),
    topicAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

function errorTopic(name: string | null, errorCode: number, topicId = ZERO_TOPIC_ID): object {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

/** Live (registered, unfenced) brokers; this one always, so a client can bootstrap from it. */
function brokersBody(broker: BrokerContext): object[] {
  const brokers = broker.controller.state
    .brokers()
    .filter((known) => !known.fenced && known.brokerId !== broker.brokerId)
    .map((known) => ({
      nodeId: known.brokerId,
      host: known.client.host,
      port: known.client.port,
      rack: known.rack,
    }));
  brokers.push({
    nodeId: broker.brokerId,
    host: broker.advertised.host,
    port: broker.advertised.port,
    rack: broker.config.rack,
  });
  return brokers.sort((a, b) => a.nodeId - b.nodeId);
}

function clusterBody(broker: BrokerContext, topics: object[]): object {
  return {
    throttleTimeMs: 0,
    brokers: brokersBody(broker),
    clusterId: broker.clusterId,
    controllerId: broker.controller.leaderId,
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
  if (existing !== undefined) return topicBody(broker, existing);
  if (checkTopicName(name) !== null) return errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!allowAutoCreate || !broker.config.autoCreateTopics) {
    return errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  try {
    const live = broker.controller.state.liveBrokers().length;
    const created = await broker.topics.create({
      name,
      partitionCount: broker.config.defaultPartitions,
      replicationFactor: Math.max(1, Math.min(broker.config.defaultReplicationFactor, live)),
      configs: {},
    });
    if (created !== undefined) return topicBody(broker, created);
    return errorTopic(name, ErrorCode.LEADER_NOT_AVAILABLE);
  } catch (error) {
    // Another request created it meanwhile.
    if (error instanceof TopicError && error.errorName === 'TOPIC_ALREADY_EXISTS') {
      const raced = broker.topics.get(name);
      if (raced !== undefined) return topicBody(broker, raced);
    }
    throw error;
  }
}

/** Metadata from this broker's applied controller state plus its own replicas' leaders; topics may be auto-created when the broker allows
 * it (`autoCreateTopics`, Kafka's auto.create.topics.enable) and the request does (v4+). */
export const metadataHandler: Handler = {
  apiKey: ApiKey.Metadata,
  async handle(request: MetadataRequest, { broker, header }) {
    const wantsAll = request.topics === null || (header.apiVersion === 0 && request.topics.length === 0);
    if (wantsAll) {
      const topics = broker.topics.list().map((state) => topicBody(broker, state));
      return clusterBody(broker, topics);
    }
    const allowAutoCreate = request.allowAutoTopicCreation ?? true;
    const topics: object[] = [];
    for (const { name, topicId } of request.topics ?? []) {
      if (name !== null) {
        topics.push(await topicOrAutoCreate(broker, name, allowAutoCreate));
        continue;
      }
      // v12+: by id (never auto-created). Kafka answers ids only from v12 on (a null name in
      // an answer needs v12), so an earlier null name is an invalid topic, as before.
      if (header.apiVersion < 12) {
        topics.push(errorTopic('', ErrorCode.INVALID_TOPIC_EXCEPTION));
        continue;
      }
      const byId = topicNameOfId(broker, topicId);
      const state = byId === undefined ? undefined : broker.topics.get(byId);
      topics.push(
        state === undefined
          ? errorTopic(null, ErrorCode.UNKNOWN_TOPIC_ID, topicId ?? ZERO_TOPIC_ID)
          : topicBody(broker, state),
      );
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
