import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';
import { leaderEpochError, leaderReplica } from './leadership.js';

interface OffsetForLeaderEpochRequest {
  topics: Array<{
    topic: string;
    partitions: Array<{ partition: number; currentLeaderEpoch?: number; leaderEpoch: number }>;
  }>;
}

/** OffsetForLeaderEpoch: the end offset of the requested epoch (clients use it to detect log
 * truncation after a leader change). */
export const offsetForLeaderEpochHandler: Handler = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  handle: (request: OffsetForLeaderEpochRequest, { broker }) => ({
    throttleTimeMs: 0,
    topics: request.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, currentLeaderEpoch, leaderEpoch }) => {
        const { log, errorCode } = leaderReplica(broker, topic, partition);
        if (log === undefined || errorCode !== ErrorCode.NONE)
          return { errorCode, partition, leaderEpoch: -1, endOffset: -1 };
        // A new leader answers once it has committed in its own term: before that its term
        // history ends at the old term's applied entries and would report a false truncation.
        if (!log.committedInOwnTerm)
          return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, partition, leaderEpoch: -1, endOffset: -1 };
        const epochError = leaderEpochError(currentLeaderEpoch, log);
        if (epochError !== ErrorCode.NONE)
          return { errorCode: epochError, partition, leaderEpoch: -1, endOffset: -1 };
        const found = log.endOffsetForEpoch(leaderEpoch);
        return { errorCode: ErrorCode.NONE, partition, leaderEpoch: found.epoch, endOffset: found.endOffset };
      }),
    })),
  }),
  errorResponse: (request: OffsetForLeaderEpochRequest, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition }) => ({
        errorCode,
        partition,
        leaderEpoch: -1,
        endOffset: -1,
      })),
    })),
  }),
};
