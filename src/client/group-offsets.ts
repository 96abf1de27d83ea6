import { ApiKey } from '../protocol/index.js';
import type { CallOptions } from './client.js';
import { KafkaProtocolError } from './errors.js';
import type { CoordinatorLink } from './group-coordinator.js';

/** The next offset to read of one partition, as committed for a group. */
export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (one past the last processed message), as Kafka commits it. */
  offset: number;
  metadata?: string | null;
}

/** Who commits: a generation's member, or nobody (-1 / "": an admin commit to an empty group). */
export interface CommitIdentity {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export const ADMIN_COMMIT: CommitIdentity = { generationId: -1, memberId: '', groupInstanceId: null };

/**
 * OffsetCommit of `offsets` for the group. The first partition error is thrown as a
 * KafkaProtocolError (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * NOT_COORDINATOR, … — the caller decides what each means for it).
 */
export async function commitOffsets(
  link: CoordinatorLink,
  identity: CommitIdentity,
  offsets: TopicPartitionOffset[],
  options: CallOptions = {},
): Promise<void> {
  if (offsets.length === 0) return;
  const byTopic = new Map<string, TopicPartitionOffset[]>();
  for (const entry of offsets) {
    let list = byTopic.get(entry.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(entry.topic, list);
    }
    list.push(entry);
  }
  const response = await link.request(
    ApiKey.OffsetCommit,
    {
      groupId: link.groupId,
      generationId: identity.generationId,
      memberId: identity.memberId,
      groupInstanceId: identity.groupInstanceId,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((entry) => ({
          partitionIndex: entry.partition,
          committedOffset: entry.offset,
          committedLeaderEpoch: -1,
          commitTimestamp: -1,
          committedMetadata: entry.metadata ?? '',
        })),
      })),
    },
    options,
  );
  throwFirstPartitionError(response, `committing offsets of group "${link.groupId}"`);
}

/**
 * OffsetFetch: the committed next offset per partition (absent when none is committed). With
 * `partitions` null, every partition the group has committed (OffsetFetch v2+).
 */
export async function fetchCommittedOffsets(
  link: CoordinatorLink,
  partitions: Array<{ topic: string; partition: number }> | null,
  options: CallOptions = {},
): Promise<TopicPartitionOffset[]> {
  let topics: Array<{ name: string; partitionIndexes: number[] }> | null = null;
  if (partitions !== null) {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) {
      let list = byTopic.get(topic);
      if (list === undefined) {
        list = [];
        byTopic.set(topic, list);
      }
      list.push(partition);
    }
    topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    if (topics.length === 0) return [];
  }
  const response = await link.request(ApiKey.OffsetFetch, { groupId: link.groupId, topics }, options);
  if (response.errorCode) {
    throw new KafkaProtocolError(response.errorCode, {
      detail: `fetching the committed offsets of group "${link.groupId}"`,
    });
  }
  throwFirstPartitionError(response, `fetching the committed offsets of group "${link.groupId}"`);
  const result: TopicPartitionOffset[] = [];
  for (const topic of response.topics ?? []) {
    for (const partition of topic.partitions ?? []) {
      if (partition.committedOffset < 0) continue;
      result.push({
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        metadata: partition.metadata ?? null,
      });
    }
  }
  return result;
}

/** OffsetCommit and OffsetFetch answer per partition: the first error found, thrown. */
function throwFirstPartitionError(
  response: {
    topics?: Array<{ name: string; partitions?: Array<{ partitionIndex: number; errorCode: number }> }>;
  },
  detail: string,
): void {
  for (const topic of response.topics ?? []) {
    for (const partition of topic.partitions ?? []) {
      if (partition.errorCode !== 0)
        throw new KafkaProtocolError(partition.errorCode, {
          topic: topic.name,
          partition: partition.partitionIndex,
          detail,
        });
    }
  }
}
