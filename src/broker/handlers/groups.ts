import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { KEY_TYPE_TRANSACTION, transactionCoordinatorAnswer } from './transactions.js';

const KEY_TYPE_GROUP = 0;

interface FindCoordinatorRequest {
  key: string;
  keyType?: number;
}

/**
 * FindCoordinator: the controller leader's broker coordinates every consumer group (its
 * membership and committed offsets live there; they move with the controller leadership until
 * group state is replicated). Transactions are not served.
 */
export const findCoordinatorHandler: Handler = {
  apiKey: ApiKey.FindCoordinator,
  handle: (request: FindCoordinatorRequest, { broker }) => {
    if (request.keyType === KEY_TYPE_TRANSACTION) return transactionCoordinatorAnswer();
    if ((request.keyType ?? KEY_TYPE_GROUP) !== KEY_TYPE_GROUP) {
      return findCoordinatorHandler.errorResponse(request, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const coordinator = groupCoordinatorOf(broker);
    if (coordinator === undefined)
      return findCoordinatorHandler.errorResponse(request, ErrorCode.COORDINATOR_NOT_AVAILABLE);
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

/** The broker coordinating consumer groups: the controller leader, when one is known and live. */
function groupCoordinatorOf(
  broker: BrokerContext,
): { nodeId: number; host: string; port: number } | undefined {
  const leader = broker.controller.leaderId;
  if (leader === broker.brokerId)
    return { nodeId: broker.brokerId, host: broker.advertised.host, port: broker.advertised.port };
  const known = leader > 0 ? broker.controller.state.broker(leader) : undefined;
  if (known === undefined || known.fenced) return undefined;
  return { nodeId: leader, host: known.client.host, port: known.client.port };
}

/** Group requests reaching a broker that does not coordinate groups get NOT_COORDINATOR. */
export function notCoordinator(broker: BrokerContext): boolean {
  return broker.controller.leaderId !== broker.brokerId;
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
    const memberIds = request.members?.map((member) => member.memberId) ?? [request.memberId ?? ''];
    const result = broker.groups.leave(request.groupId, memberIds);
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

/** OffsetCommit: durable (the OffsetStore fsyncs) before it is answered. */
export const offsetCommitHandler: Handler = {
  apiKey: ApiKey.OffsetCommit,
  async handle(request: OffsetCommitRequest, { broker }) {
    const membership = broker.groups.checkCommit(
      request.groupId,
      request.generationId ?? -1,
      request.memberId ?? '',
    );
    if (membership !== ErrorCode.NONE) return commitResponse(request, () => membership);
    const accepted: Parameters<typeof broker.offsets.commit>[1] = [];
    for (const topic of request.topics) {
      for (const partition of topic.partitions) {
        if (broker.topics.partition(topic.name, partition.partitionIndex) === undefined) continue;
        accepted.push({
          topic: topic.name,
          partition: partition.partitionIndex,
          value: {
            offset: partition.committedOffset,
            leaderEpoch: partition.committedLeaderEpoch ?? -1,
            metadata: partition.committedMetadata,
          },
        });
      }
    }
    if (accepted.length > 0) await broker.offsets.commit(request.groupId, accepted);
    return commitResponse(request, (topic, partition) =>
      broker.topics.partition(topic, partition) === undefined
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.NONE,
    );
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
    const wanted =
      request.topics ??
      broker.offsets.all(request.groupId).map(({ topic, partitions }) => ({
        name: topic,
        partitionIndexes: partitions.map(([partition]) => partition),
      }));
    return {
      throttleTimeMs: 0,
      topics: wanted.map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => {
          const committed = broker.offsets.get(request.groupId, topic.name, partitionIndex);
          return {
            partitionIndex,
            committedOffset: committed?.offset ?? -1,
            committedLeaderEpoch: committed?.leaderEpoch ?? -1,
            metadata: committed?.metadata ?? '',
            errorCode: ErrorCode.NONE,
          };
        }),
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

export const listGroupsHandler: Handler = {
  apiKey: ApiKey.ListGroups,
  handle: (_request, { broker }) => {
    const groups = new Map(broker.groups.list().map((group) => [group.groupId, group]));
    for (const groupId of broker.offsets.groupIds()) {
      if (!groups.has(groupId)) groups.set(groupId, { groupId, protocolType: 'consumer' });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [...groups.values()] };
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, groups: [] }),
};

export const describeGroupsHandler: Handler = {
  apiKey: ApiKey.DescribeGroups,
  handle: (request: { groups: string[] }, { broker }) => ({
    throttleTimeMs: 0,
    groups: request.groups.map((groupId) => ({
      errorCode: ErrorCode.NONE,
      groupId,
      ...broker.groups.describe(groupId),
    })),
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
