import { ErrorCode } from '../../protocol/index.js';
import type { BrokerContext } from '../context.js';
import type { PartitionReplica } from '../partition-replica.js';

/**
 * The replica a request about `topic`/`partition` must reach: this broker's, and only while it
 * leads the partition. Otherwise the Kafka error a client acts on: UNKNOWN_TOPIC_OR_PARTITION
 * (no such partition in the applied metadata) or NOT_LEADER_OR_FOLLOWER (another broker leads
 * it, or none does right now: refresh metadata and retry).
 */
export function leaderReplica(
  broker: BrokerContext,
  topic: string,
  partition: number,
): { log: PartitionReplica; errorCode: 0 } | { log: PartitionReplica | undefined; errorCode: number } {
  const state = broker.topics.partition(topic, partition);
  if (state === undefined) return { log: undefined, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const log = state.log;
  if (log === undefined || !log.isLeader) return { log, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  return { log, errorCode: ErrorCode.NONE };
}

/** KIP-320: a client's `currentLeaderEpoch` older than ours is fenced, a newer one unknown here. */
export function leaderEpochError(currentLeaderEpoch: number | undefined, log: PartitionReplica): number {
  const current = currentLeaderEpoch ?? -1;
  if (current === -1) return ErrorCode.NONE;
  if (current < log.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (current > log.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}
