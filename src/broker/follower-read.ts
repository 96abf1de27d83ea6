/**
 * Follower reads (DESIGN decision 9, KIP-392; the original system's FollowerRead), on when
 * `enable_follower_read` is set:
 *
 * - A Fetch (v11+) that names the client's `rackId` and reaches the partition leader is answered,
 *   when the leader is not in that rack, with `preferredReadReplica` = a replica in the client's
 *   rack that is streaming the leader's log within a few entries (never one that is behind), and
 *   no records; Kafka clients then fetch from that replica (librdkafka's `client.rack`).
 * - A follower serves Fetch up to the high watermark it knows (the entries it has applied as
 *   committed). Asked for an offset beyond it — a client that read further from the leader — it
 *   answers OFFSET_NOT_AVAILABLE (retriable) instead of pretending the log ends there.
 * - `follower_read_consistency: strict` confirms each follower read through Raft ReadIndex: the
 *   follower asks its leader for a read index (the leader's commit index, confirmed by a quorum)
 *   and serves once it has applied that far, so a read never returns less than what was
 *   acknowledged before it started. Without an answer in time it sends the client to the leader
 *   (NOT_LEADER_OR_FOLLOWER).
 *
 * Counters per broker (`followerReadStats`) show it working: fetches served as a follower and
 * leader answers that redirected a client to a follower.
 */
import { ErrorCode } from '../protocol/index.js';
import type { BrokerContext } from './context.js';
import type { PartitionReplica } from './partition-replica.js';

/** A follower this close to the leader's log end may be a preferred read replica. */
const READ_REPLICA_LAG_ENTRIES = 64;
/** How long a strict follower read waits for its read index before sending the client away. */
const READ_INDEX_TIMEOUT_MS = 2000;

export interface FollowerReadStats {
  /** Partition fetches this broker served as a follower. */
  servedAsFollower: number;
  /** Partition fetches this leader answered with a preferred read replica. */
  redirected: number;
  /** Strict follower reads confirmed by a Raft read index. */
  confirmedByReadIndex: number;
}

const statsByBroker = new WeakMap<BrokerContext, FollowerReadStats>();

export function followerReadStats(broker: BrokerContext): FollowerReadStats {
  let stats = statsByBroker.get(broker);
  if (stats === undefined) {
    stats = { servedAsFollower: 0, redirected: 0, confirmedByReadIndex: 0 };
    statsByBroker.set(broker, stats);
  }
  return stats;
}

export type FetchTarget =
  | { log: PartitionReplica; errorCode: 0; preferredReadReplica: number }
  | { log: PartitionReplica | undefined; errorCode: number; preferredReadReplica: -1 };

/**
 * Where a Fetch of `topic`/`partition` at `fetchOffset` is served here: by the leader (perhaps
 * naming a preferred read replica in the client's rack), by a follower when follower reads are
 * on, or not at all (the error to answer with).
 */
export async function fetchTarget(
  broker: BrokerContext,
  topic: string,
  partition: number,
  fetchOffset: number,
  rackId: string | undefined,
): Promise<FetchTarget> {
  const state = broker.topics.partition(topic, partition);
  if (state === undefined)
    return { log: undefined, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, preferredReadReplica: -1 };
  const log = state.log;
  const { config } = broker;
  const followerReads = config.enableFollowerRead;
  if (log === undefined)
    return { log, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, preferredReadReplica: -1 };
  if (log.isLeader) {
    const preferred = followerReads ? preferredReadReplica(broker, state.info.replicas, rackId, log) : -1;
    if (preferred >= 0) followerReadStats(broker).redirected++;
    return { log, errorCode: ErrorCode.NONE, preferredReadReplica: preferred };
  }
  // A follower serves only while it knows a leader (its high watermark follows that leader's)
  // and only as a voter (a learner may be far behind, catching up).
  if (!followerReads || log.leaderId < 0 || !state.info.replicas.includes(broker.brokerId))
    return { log, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, preferredReadReplica: -1 };
  if (config.followerReadConsistency === 'strict') {
    if (!(await log.readIndexApplied(READ_INDEX_TIMEOUT_MS)))
      return { log, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, preferredReadReplica: -1 };
    followerReadStats(broker).confirmedByReadIndex++;
  }
  if (fetchOffset > log.highWatermark)
    return { log, errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, preferredReadReplica: -1 };
  followerReadStats(broker).servedAsFollower++;
  return { log, errorCode: ErrorCode.NONE, preferredReadReplica: -1 };
}

/** On the leader: a caught-up replica in the client's rack (lowest id), or -1 (read here). */
function preferredReadReplica(
  broker: BrokerContext,
  replicas: readonly number[],
  rackId: string | undefined,
  log: PartitionReplica,
): number {
  if (rackId === undefined || rackId === '') return -1;
  const metadata = broker.controller.state;
  if (metadata.broker(broker.brokerId)?.rack === rackId) return -1;
  const caughtUp = log.caughtUpFollowers(READ_REPLICA_LAG_ENTRIES);
  const inRack = replicas
    .filter((id) => {
      const info = metadata.broker(id);
      return info !== undefined && !info.fenced && info.rack === rackId && caughtUp.includes(id);
    })
    .sort((a, b) => a - b);
  return inRack[0] ?? -1;
}
