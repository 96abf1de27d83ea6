import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { KEY_TYPE_TRANSACTION, transactionCoordinatorAnswer } from './transactions.js';

const KEY_TYPE_GROUP = 0;

interface FindCoordinatorRequest {
  key: string;
  keyType?: number;
}

/**
 * FindCoordinator: a group's coordinator is the leader of its `__consumer_offsets` partition
 * (created on the first lookup; COORDINATOR_NOT_AVAILABLE, which clients retry, until it leads).
 */
export const findCoordinatorHandler: Handler = {
  apiKey: ApiKey.FindCoordinator,
  handle: async (request: FindCoordinatorRequest, { broker }) => {
    if (request.keyType === KEY_TYPE_TRANSACTION) return transactionCoordinatorAnswer();
    if ((request.keyType ?? KEY_TYPE_GROUP) !== KEY_TYPE_GROUP) {
      return findCoordinatorHandler.errorResponse(request, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const coordinator = await groupCoordinatorOf(broker, request.key);
    if ('errorCode' in coordinator)
      return findCoordinatorHandler.errorResponse(request, coordinator.errorCode);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      ...coordinator,
    };
  },
  errorResponse: (_request, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    nodeId: -1,
    host: '',
    port: -1,
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
    name: string;
    partitions: Array<{
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch?: number;
      committedMetadata: string | null;
    }>;
  }>;
}

function commitResponse(request: OffsetCommitRequest, codeFor: (topic: string, partition: number) => number) {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        errorCode: codeFor(topic.name, partitionIndex),
      })),
    })),
  };
}

/** Kafka's `offset.metadata.max.bytes`: larger commit metadata is refused per partition. */
const OFFSET_METADATA_MAX_BYTES = 4096;

/** OffsetCommit: answered once the offsets are committed through Raft on the group's partition.
 * A partition named twice counts once (the last one); metadata above 4096 bytes gets
 * OFFSET_METADATA_TOO_LARGE for that partition alone, as in Kafka. */
export const offsetCommitHandler: Handler = {
  apiKey: ApiKey.OffsetCommit,
  async handle(request: OffsetCommitRequest, { broker }) {
    const byPartition = new Map<
      string,
      Parameters<typeof broker.groups.commitOffsets>[0]['offsets'][number]
    >();
    const refused = new Map<string, number>();
    for (const topic of request.topics) {
      for (const partition of topic.partitions) {
        const key = `${partition.partitionIndex}:${topic.name}`;
        if (broker.topics.partition(topic.name, partition.partitionIndex) === undefined) continue;
        const metadata = partition.committedMetadata;
        if (metadata !== null && Buffer.byteLength(metadata, 'utf8') > OFFSET_METADATA_MAX_BYTES) {
          refused.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
          byPartition.delete(key);
          continue;
        }
        refused.delete(key);
        byPartition.set(key, {
          topic: topic.name,
          partition: partition.partitionIndex,
          offset: partition.committedOffset,
          leaderEpoch: partition.committedLeaderEpoch ?? -1,
          metadata,
        });
      }
    }
    const errorCode = await broker.groups.commitOffsets({
      groupId: request.groupId,
      generationId: request.generationId ?? -1,
      memberId: request.memberId ?? '',
      groupInstanceId: request.groupInstanceId ?? null,
      offsets: [...byPartition.values()],
    });
    return commitResponse(request, (topic, partition) => {
      const own = refused.get(`${partition}:${topic}`);
      if (own !== undefined) return own;
      if (errorCode !== ErrorCode.NONE) return errorCode;
      return broker.topics.partition(topic, partition) === undefined
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.NONE;
    });
  },
  errorResponse: (request: OffsetCommitRequest, errorCode) => commitResponse(request, () => errorCode),
};

interface OffsetFetchRequest {
  groupId: string;
  topics: Array<{ name: string; partitionIndexes: number[] }> | null;
}

export const offsetFetchHandler: Handler = {
  apiKey: ApiKey.OffsetFetch,
  handle: (request: OffsetFetchRequest, { broker }) => {
    const found = broker.groups.fetchOffsets(request.groupId, request.topics);
    if (!('topics' in found)) return offsetFetchHandler.errorResponse(request, found.errorCode);
    return {
      throttleTimeMs: 0,
      topics: found.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(([partitionIndex, committed]) => ({
          partitionIndex,
          committedOffset: committed?.offset ?? -1,
          committedLeaderEpoch: committed?.leaderEpoch ?? -1,
          metadata: committed?.metadata ?? '',
          errorCode: ErrorCode.NONE,
        })),
      })),
      errorCode: ErrorCode.NONE,
    };
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
