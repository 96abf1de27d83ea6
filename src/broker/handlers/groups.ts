import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { topicNameOfId, wireTopicId, ZERO_TOPIC_ID } from './topic-ids.js';
import {
  KEY_TYPE_TRANSACTION,
  TRANSACTIONS_UNSUPPORTED_ERROR,
  TRANSACTIONS_UNSUPPORTED_MESSAGE,
} from './transactions.js';

const KEY_TYPE_GROUP = 0;
/** Share-group state (FindCoordinator v6, KIP-932): brokers ask it of each other; goqueue has no
 * share groups, so it is answered as Kafka with share groups disabled answers it. */
const KEY_TYPE_SHARE = 2;

interface FindCoordinatorRequest {
  /** v0-3: the one key. */
  key?: string;
  keyType?: number;
  /** v4+: several keys, answered one by one (KIP-699). */
  coordinatorKeys?: string[];
}

interface CoordinatorAnswer {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

const NO_COORDINATOR = { nodeId: -1, host: '', port: -1 };

/** The coordinator of one key: a group's is the leader of its `__consumer_offsets` partition
 * (created on the first lookup; COORDINATOR_NOT_AVAILABLE, which clients retry, until it leads). */
async function coordinatorAnswer(
  broker: BrokerContext,
  keyType: number,
  key: string,
): Promise<CoordinatorAnswer> {
  if (keyType === KEY_TYPE_TRANSACTION) {
    return {
      ...NO_COORDINATOR,
      errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
      errorMessage: TRANSACTIONS_UNSUPPORTED_MESSAGE,
    };
  }
  if (keyType === KEY_TYPE_SHARE)
    return { ...NO_COORDINATOR, errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: null };
  if (keyType !== KEY_TYPE_GROUP)
    return { ...NO_COORDINATOR, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: null };
  const coordinator = await groupCoordinatorOf(broker, key);
  if ('errorCode' in coordinator)
    return { ...NO_COORDINATOR, errorCode: coordinator.errorCode, errorMessage: null };
  return { ...coordinator, errorCode: ErrorCode.NONE, errorMessage: null };
}

/**
 * FindCoordinator: v0-3 ask for one key and get its answer at the top level; v4+ ask for several
 * and get one answer per key, each with its own error (a transactional id among group ids gets
 * the transactions answer alone). v5 and v6 add no field; they allow TRANSACTION_ABORTABLE (never
 * sent: transactions are not served) and the share key type.
 */
export const findCoordinatorHandler: Handler = {
  apiKey: ApiKey.FindCoordinator,
  handle: async (request: FindCoordinatorRequest, { broker }) => {
    const keyType = request.keyType ?? KEY_TYPE_GROUP;
    if (request.coordinatorKeys !== undefined) {
      const answers = await Promise.all(
        request.coordinatorKeys.map((key) => coordinatorAnswer(broker, keyType, key)),
      );
      return {
        throttleTimeMs: 0,
        coordinators: request.coordinatorKeys.map((key, at) => ({ key, ...answers[at]! })),
      };
    }
    return { throttleTimeMs: 0, ...(await coordinatorAnswer(broker, keyType, request.key ?? '')) };
  },
  errorResponse: (request: FindCoordinatorRequest, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    ...NO_COORDINATOR,
    coordinators: (request.coordinatorKeys ?? []).map((key) => ({
      key,
      errorCode,
      errorMessage: null,
      ...NO_COORDINATOR,
    })),
  }),
};

/** A client waits this long at most for the first lookup (topic creation and election). */
const FIRST_LOOKUP_WAIT_MS = 10_000;

async function groupCoordinatorOf(
  broker: BrokerContext,
  groupId: string,
): Promise<{ nodeId: number; host: string; port: number } | { errorCode: number }> {
  const found = await broker.groupHomes.awaitCoordinatorOf(groupId, FIRST_LOOKUP_WAIT_MS);
  if ('errorCode' in found) return found;
  if (found.brokerId === broker.brokerId)
    return { nodeId: broker.brokerId, host: broker.advertised.host, port: broker.advertised.port };
  const known = broker.controller.state.broker(found.brokerId);
  if (known === undefined || known.fenced) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  return { nodeId: found.brokerId, host: known.client.host, port: known.client.port };
}

/** JoinGroup: waits until the generation forms (see GroupCoordinator). v4+ gets KIP-394's
 * MEMBER_ID_REQUIRED on a first join. */
export const joinGroupHandler: Handler = {
  apiKey: ApiKey.JoinGroup,
  async handle(request, { broker, header, connection }) {
    const result = await broker.groups.join(
      {
        groupId: request.groupId,
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs ?? -1,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId ?? null,
        protocolType: request.protocolType,
        protocols: request.protocols,
      },
      {
        clientId: header.clientId ?? '',
        clientHost: connection.remoteAddress,
        requireKnownMemberId: header.apiVersion >= 4,
      },
    );
    return { throttleTimeMs: 0, ...result };
  },
  errorResponse: (request, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolName: '',
    leader: '',
    memberId: request.memberId,
    members: [],
  }),
};

export const syncGroupHandler: Handler = {
  apiKey: ApiKey.SyncGroup,
  async handle(request, { broker }) {
    const result = await broker.groups.sync(request);
    return { throttleTimeMs: 0, ...result };
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, assignment: Buffer.alloc(0) }),
};

export const heartbeatHandler: Handler = {
  apiKey: ApiKey.Heartbeat,
  handle: (request, { broker }) => ({ throttleTimeMs: 0, errorCode: broker.groups.heartbeat(request) }),
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode }),
};

interface LeaveGroupRequest {
  groupId: string;
  memberId?: string;
  members?: Array<{ memberId: string; groupInstanceId: string | null }>;
}

export const leaveGroupHandler: Handler = {
  apiKey: ApiKey.LeaveGroup,
  handle: (request: LeaveGroupRequest, { broker }) => {
    const leaving = request.members ?? [{ memberId: request.memberId ?? '', groupInstanceId: null }];
    const result = broker.groups.leave(request.groupId, leaving);
    // v0-2 carry one member and answer with its error at the top level.
    const errorCode =
      request.members === undefined ? (result.members[0]?.errorCode ?? ErrorCode.NONE) : result.errorCode;
    return {
      throttleTimeMs: 0,
      errorCode,
      members: result.members.map((member) => ({ ...member, groupInstanceId: null })),
    };
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, members: [] }),
};

interface OffsetCommitRequest {
  groupId: string;
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
  topics: Array<{
    /** v0-9. */
    name?: string;
    /** v10+ (KIP-848): topics by id. */
    topicId?: string;
    partitions: Array<{
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch?: number;
      committedMetadata: string | null;
    }>;
  }>;
}

/** A request's topic by name, whichever way it was named: undefined for an unknown topic id
 * (answered UNKNOWN_TOPIC_ID). Ids are echoed back as sent. */
function topicNameOf(broker: BrokerContext, topic: { name?: string; topicId?: string }): string | undefined {
  return topic.topicId === undefined ? (topic.name ?? '') : topicNameOfId(broker, topic.topicId);
}

function commitResponse(
  request: OffsetCommitRequest,
  codeFor: (topic: string | undefined, partition: number) => number,
  names: ReadonlyArray<string | undefined> = [],
) {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic, at) => ({
      name: topic.name ?? '',
      topicId: topic.topicId ?? ZERO_TOPIC_ID,
      partitions: topic.partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        errorCode: codeFor(names[at], partitionIndex),
      })),
    })),
  };
}

/** Kafka's `offset.metadata.max.bytes`: larger commit metadata is refused per partition. */
const OFFSET_METADATA_MAX_BYTES = 4096;

/** First OffsetCommit version that answers a membership commit to a group that does not exist
 * with GROUP_ID_NOT_FOUND (KIP-848); older versions keep their answer. */
const OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION = 9;

/** OffsetCommit: answered once the offsets are committed through Raft on the group's partition.
 * A partition named twice counts once (the last one); metadata above 4096 bytes gets
 * OFFSET_METADATA_TOO_LARGE for that partition alone, as in Kafka. v9 is the classic protocol's
 * v8 plus GROUP_ID_NOT_FOUND; v10 names topics by id (UNKNOWN_TOPIC_ID for an unknown one). */
export const offsetCommitHandler: Handler = {
  apiKey: ApiKey.OffsetCommit,
  async handle(request: OffsetCommitRequest, { broker, header }) {
    const names = request.topics.map((topic) => topicNameOf(broker, topic));
    const byPartition = new Map<
      string,
      Parameters<typeof broker.groups.commitOffsets>[0]['offsets'][number]
    >();
    const refused = new Map<string, number>();
    request.topics.forEach((topic, at) => {
      const name = names[at];
      if (name === undefined) return;
      for (const partition of topic.partitions) {
        const key = `${partition.partitionIndex}:${name}`;
        if (broker.topics.partition(name, partition.partitionIndex) === undefined) continue;
        const metadata = partition.committedMetadata;
        if (metadata !== null && Buffer.byteLength(metadata, 'utf8') > OFFSET_METADATA_MAX_BYTES) {
          refused.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
          byPartition.delete(key);
          continue;
        }
        refused.delete(key);
        byPartition.set(key, {
          topic: name,
          partition: partition.partitionIndex,
          offset: partition.committedOffset,
          leaderEpoch: partition.committedLeaderEpoch ?? -1,
          metadata,
        });
      }
    });
    const errorCode = await broker.groups.commitOffsets({
      groupId: request.groupId,
      generationId: request.generationId ?? -1,
      memberId: request.memberId ?? '',
      groupInstanceId: request.groupInstanceId ?? null,
      offsets: [...byPartition.values()],
      unknownGroupIsNotFound: header.apiVersion >= OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION,
    });
    return commitResponse(
      request,
      (topic, partition) => {
        if (topic === undefined) return ErrorCode.UNKNOWN_TOPIC_ID;
        const own = refused.get(`${partition}:${topic}`);
        if (own !== undefined) return own;
        if (errorCode !== ErrorCode.NONE) return errorCode;
        return broker.topics.partition(topic, partition) === undefined
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : ErrorCode.NONE;
      },
      names,
    );
  },
  errorResponse: (request: OffsetCommitRequest, errorCode) => commitResponse(request, () => errorCode),
};

interface OffsetFetchTopic {
  /** v0-9. */
  name?: string;
  /** v10+: topics by id. */
  topicId?: string;
  partitionIndexes: number[];
}

interface OffsetFetchRequest {
  /** v0-7: one group. */
  groupId?: string;
  topics?: OffsetFetchTopic[] | null;
  /** v8+: several groups, answered one by one. `memberId`/`memberEpoch` (v9) are KIP-848's; a
   * classic group ignores them, as Kafka's does. */
  groups?: Array<{
    groupId: string;
    memberId?: string | null;
    memberEpoch?: number;
    topics: OffsetFetchTopic[] | null;
  }>;
  /** v7+: wait for pending transactional offsets. goqueue has no transactions, so no offset is
   * ever pending and the flag changes nothing. */
  requireStable?: boolean;
}

interface OffsetFetchPartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

/** One group's committed offsets, topics named as the request named them (v10: by id; for every
 * topic, the topics that still exist, by id). */
function offsetsOfGroup(
  broker: BrokerContext,
  groupId: string,
  topics: OffsetFetchTopic[] | null,
  byTopicId: boolean,
): {
  errorCode: number;
  topics: Array<{ name: string; topicId: string; partitions: OffsetFetchPartition[] }>;
} {
  const names = topics?.map((topic) => topicNameOf(broker, topic));
  const known =
    topics === null
      ? null
      : topics.flatMap((topic, at) => {
          const name = names![at];
          return name === undefined ? [] : [{ name, partitionIndexes: topic.partitionIndexes }];
        });
  const found = broker.groups.fetchOffsets(groupId, known);
  if (!('topics' in found)) return { errorCode: found.errorCode, topics: [] };
  const answered = new Map(found.topics.map((topic) => [topic.name, topic.partitions]));
  const partitionsOf = (name: string | undefined, indexes: number[]): OffsetFetchPartition[] => {
    const committed = name === undefined ? undefined : answered.get(name);
    return indexes.map((partitionIndex, at) => {
      const offset = committed?.[at]?.[1];
      return {
        partitionIndex,
        committedOffset: offset?.offset ?? -1,
        committedLeaderEpoch: offset?.leaderEpoch ?? -1,
        metadata: offset?.metadata ?? '',
        errorCode: name === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.NONE,
      };
    });
  };
  if (topics !== null) {
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((topic, at) => ({
        name: topic.name ?? '',
        topicId: topic.topicId ?? ZERO_TOPIC_ID,
        partitions: partitionsOf(names![at], topic.partitionIndexes),
      })),
    };
  }
  const every = found.topics
    .map((topic) => ({ topic, topicId: wireTopicId(broker, topic.name) }))
    .filter(({ topicId }) => !byTopicId || topicId !== ZERO_TOPIC_ID);
  return {
    errorCode: ErrorCode.NONE,
    topics: every.map(({ topic, topicId }) => ({
      name: topic.name,
      topicId,
      partitions: partitionsOf(
        topic.name,
        topic.partitions.map(([partition]) => partition),
      ),
    })),
  };
}

/** First OffsetFetch version that names topics by id. */
const OFFSET_FETCH_TOPIC_ID_VERSION = 10;

/** OffsetFetch: v0-7 fetch one group's offsets and put a group error at the top level (v2+);
 * v8+ fetch several groups, each answered with its own error (NOT_COORDINATOR for a group another
 * broker coordinates). A group with nothing committed answers -1 for every partition. */
export const offsetFetchHandler: Handler = {
  apiKey: ApiKey.OffsetFetch,
  handle: (request: OffsetFetchRequest, { broker, header }) => {
    const byTopicId = header.apiVersion >= OFFSET_FETCH_TOPIC_ID_VERSION;
    if (request.groups !== undefined) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((group) => ({
          groupId: group.groupId,
          ...offsetsOfGroup(broker, group.groupId, group.topics, byTopicId),
        })),
      };
    }
    const found = offsetsOfGroup(broker, request.groupId ?? '', request.topics ?? null, false);
    if (found.errorCode !== ErrorCode.NONE) return offsetFetchHandler.errorResponse(request, found.errorCode);
    return { throttleTimeMs: 0, topics: found.topics, errorCode: ErrorCode.NONE };
  },
  errorResponse: (request: OffsetFetchRequest, errorCode) => ({
    throttleTimeMs: 0,
    topics: (request.topics ?? []).map((topic) => ({
      name: topic.name,
      partitions: topic.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode,
      })),
    })),
    errorCode,
    groups: (request.groups ?? []).map((group) => ({ groupId: group.groupId, topics: [], errorCode })),
  }),
};

/** ListGroups: the groups this broker coordinates (admin clients ask every broker). */
export const listGroupsHandler: Handler = {
  apiKey: ApiKey.ListGroups,
  handle: (_request, { broker }) => ({
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    groups: broker.groups.list().map(({ groupId, protocolType }) => ({ groupId, protocolType })),
  }),
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, groups: [] }),
};

export const describeGroupsHandler: Handler = {
  apiKey: ApiKey.DescribeGroups,
  handle: (request: { groups: string[] }, { broker }) => ({
    throttleTimeMs: 0,
    groups: request.groups.map((groupId) => ({ groupId, ...broker.groups.describe(groupId) })),
  }),
  errorResponse: (request: { groups: string[] }, errorCode) => ({
    throttleTimeMs: 0,
    groups: request.groups.map((groupId) => ({
      errorCode,
      groupId,
      groupState: '',
      protocolType: '',
      protocolData: '',
      members: [],
    })),
  }),
};

/** DeleteGroups: each group is deleted by its coordinator (NOT_COORDINATOR elsewhere);
 * NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when nothing of it is stored. */
export const deleteGroupsHandler: Handler = {
  apiKey: ApiKey.DeleteGroups,
  async handle(request: { groupsNames: string[] }, { broker }) {
    const results = [];
    for (const groupId of request.groupsNames)
      results.push({ groupId, errorCode: await broker.groups.deleteGroup(groupId) });
    return { throttleTimeMs: 0, results };
  },
  errorResponse: (request: { groupsNames: string[] }, errorCode) => ({
    throttleTimeMs: 0,
    results: request.groupsNames.map((groupId) => ({ groupId, errorCode })),
  }),
};

interface OffsetDeleteRequest {
  groupId: string;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number }> }>;
}

/** OffsetDelete: removes a group's committed offsets for partitions it does not consume
 * (a group with members answers GROUP_SUBSCRIBED_TO_TOPIC per partition). */
export const offsetDeleteHandler: Handler = {
  apiKey: ApiKey.OffsetDelete,
  async handle(request: OffsetDeleteRequest, { broker }) {
    const partitions = request.topics.flatMap((topic) =>
      topic.partitions.map(({ partitionIndex }) => ({ topic: topic.name, partition: partitionIndex })),
    );
    const result = await broker.groups.deleteOffsets(request.groupId, partitions);
    if (result.errorCode !== ErrorCode.NONE)
      return offsetDeleteHandler.errorResponse(request, result.errorCode);
    let at = 0;
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode: result.partitionErrors[at++] ?? ErrorCode.NONE,
        })),
      })),
    };
  },
  errorResponse: (request: OffsetDeleteRequest, errorCode) => ({
    errorCode,
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        errorCode: ErrorCode.NONE,
      })),
    })),
  }),
};
