import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';

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
        const log = broker.topics.partition(topic, partition)?.log;
        if (log === undefined) {
          return {
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            partition,
            leaderEpoch: -1,
            endOffset: -1,
          };
        }
        const current = currentLeaderEpoch ?? -1;
        if (current > log.leaderEpoch) {
          return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, partition, leaderEpoch: -1, endOffset: -1 };
        }
        if (current !== -1 && current < log.leaderEpoch) {
          return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, partition, leaderEpoch: -1, endOffset: -1 };
        }
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
