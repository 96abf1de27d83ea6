import { kafkaOffset } from '../../lib/ids.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import { type Codecs, decodeRecordBatches } from '../../protocol/records.js';
import type { Handler } from '../context.js';
import type { ReplicatedLog } from '../replicated-log.js';
import { leaderEpochError, leaderReplica } from './leadership.js';

const LATEST = -1;
const EARLIEST = -2;

interface ListOffsetsRequest {
  topics: Array<{
    name: string;
    partitions: Array<{ partitionIndex: number; timestamp: number; currentLeaderEpoch?: number }>;
  }>;
}

/** The first record at or after `timestampMs`: the index finds the batch, decoding that one batch
 * finds the record inside it. */
async function offsetForTimestamp(
  log: ReplicatedLog,
  timestampMs: number,
  codecs: Codecs,
): Promise<{ offset: number; timestamp: number } | null> {
  const batchOffset = await log.offsetForTimestamp(timestampMs);
  if (batchOffset === undefined) return null;
  const bytes = await log.read(kafkaOffset(batchOffset), 1);
  for (const batch of decodeRecordBatches(bytes, codecs)) {
    for (const record of batch.records) {
      if (record.offset >= batchOffset && record.timestamp >= timestampMs) {
        return { offset: record.offset, timestamp: record.timestamp };
      }
    }
  }
  return null;
}

/** ListOffsets: earliest (-2), latest (-1: the high watermark) and by timestamp. */
export const listOffsetsHandler: Handler = {
  apiKey: ApiKey.ListOffsets,
  async handle(request: ListOffsetsRequest, { broker }) {
    const lookup = async (
      name: string,
      partitionIndex: number,
      timestamp: number,
      currentLeaderEpoch?: number,
    ) => {
      const { log, errorCode } = leaderReplica(broker, name, partitionIndex);
      const epochError =
        log === undefined || errorCode !== ErrorCode.NONE
          ? errorCode
          : leaderEpochError(currentLeaderEpoch, log);
      if (log === undefined || epochError !== ErrorCode.NONE) {
        return { partitionIndex, errorCode: epochError, timestamp: -1, offset: -1, leaderEpoch: -1 };
      }
      const found =
        timestamp === LATEST
          ? { offset: log.highWatermark, timestamp: -1 }
          : timestamp === EARLIEST
            ? { offset: log.logStartOffset, timestamp: -1 }
            : ((await offsetForTimestamp(log, timestamp, broker.storage.codecs)) ?? {
                offset: -1,
                timestamp: -1,
              });
      return { partitionIndex, errorCode: ErrorCode.NONE, ...found, leaderEpoch: log.leaderEpoch };
    };
    const topics = [];
    for (const topic of request.topics) {
      const partitions = [];
      for (const { partitionIndex, timestamp, currentLeaderEpoch } of topic.partitions) {
        partitions.push(await lookup(topic.name, partitionIndex, timestamp, currentLeaderEpoch));
      }
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
  errorResponse: (request: ListOffsetsRequest, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        errorCode,
        timestamp: -1,
        offset: -1,
        leaderEpoch: -1,
      })),
    })),
  }),
};
