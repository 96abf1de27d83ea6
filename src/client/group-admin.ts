import { ApiKey, schemaFor } from '../protocol/index.js';
import type { CallOptions, Client } from './client.js';
import { listOffset } from './consumer.js';
import { GoqueueError, KafkaProtocolError } from './errors.js';
import { CoordinatorLink, withCoordinator } from './group-coordinator.js';
import {
  ADMIN_COMMIT,
  commitOffsets,
  fetchCommittedOffsets,
  type TopicPartitionOffset,
} from './group-offsets.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, type TopicPartitions } from './group-protocol.js';

/** DeleteGroups' API key; served only by brokers that implement it. */
const DELETE_GROUPS_API_KEY = 42;

export interface GroupSummary {
  groupId: string;
  protocolType: string;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded for consumer groups; empty while the group rebalances. */
  assignment: TopicPartitions[];
}

export interface GroupPartitionOffsets {
  topic: string;
  partition: number;
  committedOffset: number;
  endOffset: number;
  lag: number;
  /** Member id owning the partition now, if any. */
  owner: string | null;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  /** The assignor the group chose (for consumer groups). */
  protocol: string;
  coordinator: { nodeId: number; host: string; port: number };
  members: GroupMemberDescription[];
  offsets: GroupPartitionOffsets[];
}

/** Where reset-offsets moves a group's committed offsets. */
export type OffsetResetTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'offset'; offset: number }
  | { to: 'timestamp'; timestamp: number }
  | { to: 'shift'; by: number };

/**
 * Group administration (the `goqueue group` commands): list, describe with lag, reset the
 * committed offsets of a group that has no running members, delete.
 */
export class GroupAdmin {
  constructor(private readonly client: Client) {}

  /** Every group of every broker (each broker lists the groups it coordinates). */
  async listGroups(options: CallOptions = {}): Promise<GroupSummary[]> {
    const metadata = await this.client.refreshMetadata(undefined, options);
    const groups = new Map<string, GroupSummary>();
    await Promise.all(
      [...metadata.brokers.values()].map(async (broker) => {
        const connection = await this.client.brokerConnection(broker.nodeId, options);
        const response = await this.client.send(connection, ApiKey.ListGroups, {}, options);
        if (response.errorCode !== 0)
          throw new KafkaProtocolError(response.errorCode, {
            detail: `listing the groups of broker ${broker.nodeId}`,
          });
        for (const group of response.groups ?? []) groups.set(group.groupId, group);
      }),
    );
    return [...groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** Members, assignments, and per partition the committed offset, the end offset and the lag. */
  async describeGroup(groupId: string, options: CallOptions = {}): Promise<GroupDescription> {
    const link = new CoordinatorLink(this.client, groupId);
    try {
      const coordinator = await link.address(options);
      const described = await withCoordinator(link, this.client, async () => {
        const response = await link.request(
          ApiKey.DescribeGroups,
          { groups: [groupId], includeAuthorizedOperations: false },
          options,
        );
        const group = response.groups?.[0];
        if (!group) throw new GoqueueError(`DescribeGroups named no group for "${groupId}"`);
        if (group.errorCode !== 0)
          throw new KafkaProtocolError(group.errorCode, { detail: `describing group "${groupId}"` });
        return group;
      });
      const consumer = described.protocolType === CONSUMER_PROTOCOL_TYPE;
      const members: GroupMemberDescription[] = (described.members ?? []).map((member: any) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId ?? null,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment:
          consumer && member.memberAssignment?.length > 0
            ? decodeAssignment(member.memberAssignment).partitions
            : [],
      }));
      const owners = new Map<string, string>();
      for (const member of members)
        for (const { topic, partitions } of member.assignment)
          for (const partition of partitions) owners.set(`${topic}/${partition}`, member.memberId);
      const committed = await withCoordinator(link, this.client, () =>
        fetchCommittedOffsets(link, null, options),
      );
      const offsets = await Promise.all(
        committed.map(async (entry) => {
          const endOffset = await this.client.retrying(
            () => listOffset(this.client, entry.topic, entry.partition, -1, options),
            options,
          );
          return {
            topic: entry.topic,
            partition: entry.partition,
            committedOffset: entry.offset,
            endOffset,
            lag: Math.max(0, endOffset - entry.offset),
            owner: owners.get(`${entry.topic}/${entry.partition}`) ?? null,
          };
        }),
      );
      offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      // A group the coordinator does not know and that has no offsets does not exist.
      if (described.groupState === 'Dead' && offsets.length === 0)
        throw new KafkaProtocolError(69, { detail: `group "${groupId}"` });
      return {
        groupId,
        state: described.groupState,
        protocolType: described.protocolType,
        protocol: described.protocolData,
        coordinator,
        members,
        offsets,
      };
    } finally {
      link.close();
    }
  }

  /**
   * The offsets `target` names for the partitions of `topic` (all, or `partitions`). With
   * `execute`, commits them for the group; the coordinator refuses while the group has members
   * (UNKNOWN_MEMBER_ID), as Kafka's does: stop the consumers first.
   */
  async resetOffsets(
    request: {
      groupId: string;
      topic: string;
      partitions?: number[];
      target: OffsetResetTarget;
      execute: boolean;
    },
    options: CallOptions = {},
  ): Promise<TopicPartitionOffset[]> {
    const { groupId, topic, target } = request;
    const metadata = await this.client.topic(topic, options);
    const partitions = request.partitions ?? metadata.partitions.map((p) => p.partition);
    const link = new CoordinatorLink(this.client, groupId);
    try {
      const committed = new Map(
        (
          await withCoordinator(link, this.client, () =>
            fetchCommittedOffsets(
              link,
              partitions.map((partition) => ({ topic, partition })),
              options,
            ),
          )
        ).map((entry) => [entry.partition, entry.offset]),
      );
      const offsets: TopicPartitionOffset[] = await Promise.all(
        partitions.map(async (partition) => {
          const at = (timestamp: number) =>
            this.client.retrying(
              () => listOffset(this.client, topic, partition, timestamp, options),
              options,
            );
          const earliest = await at(-2);
          const latest = await at(-1);
          let offset: number;
          switch (target.to) {
            case 'earliest':
              offset = earliest;
              break;
            case 'latest':
              offset = latest;
              break;
            case 'offset':
              offset = target.offset;
              break;
            case 'timestamp': {
              const found = await at(target.timestamp);
              offset = found < 0 ? latest : found;
              break;
            }
            case 'shift':
              offset = (committed.get(partition) ?? earliest) + target.by;
              break;
          }
          // Kafka's tool clamps into the partition's range the same way.
          return { topic, partition, offset: Math.min(latest, Math.max(earliest, offset)) };
        }),
      );
      if (request.execute) {
        await withCoordinator(link, this.client, async () => {
          try {
            await commitOffsets(link, ADMIN_COMMIT, offsets, options);
          } catch (error) {
            if (error instanceof KafkaProtocolError && (error.code === 25 || error.code === 27))
              throw new GoqueueError(
                `group "${groupId}" has running members; stop them before resetting its offsets (${error.errorName})`,
              );
            throw error;
          }
        });
      }
      return offsets;
    } finally {
      link.close();
    }
  }

  /** DeleteGroups; a clear error when the broker does not serve it. */
  async deleteGroup(groupId: string, options: CallOptions = {}): Promise<void> {
    const link = new CoordinatorLink(this.client, groupId);
    try {
      const served = await link
        .versionFor(DELETE_GROUPS_API_KEY, options)
        .then(() => true)
        .catch(() => false);
      if (!served || schemaFor(DELETE_GROUPS_API_KEY) === undefined) {
        throw new GoqueueError(
          `cannot delete group "${groupId}": the broker does not serve DeleteGroups (API key 42); ` +
            'reset its offsets instead, or let it expire',
        );
      }
      const response = await link.request(DELETE_GROUPS_API_KEY, { groupsNames: [groupId] }, options);
      const result = response.results?.find((entry: { groupId: string }) => entry.groupId === groupId);
      if (result && result.errorCode !== 0)
        throw new KafkaProtocolError(result.errorCode, { detail: `deleting group "${groupId}"` });
    } finally {
      link.close();
    }
  }
}
