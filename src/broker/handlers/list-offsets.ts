import { assert } from '../../lib/assert.js';
import { kafkaOffset } from '../../lib/ids.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import {
  ATTRIBUTE_CONTROL,
  BATCH_HEADER_BYTES,
  batchTotalBytes,
  readBatchHeader,
} from '../../protocol/record-batch-header.js';
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

/** Bytes read per step while looking past control batches for a timestamp. */
const TIMESTAMP_SCAN_BYTES = 64 * 1024;

/**
 * The first record at or after `timestampMs`: the index finds the first batch whose max
 * timestamp reaches it, decoding that batch finds the record inside it. Control batches are
 * skipped as consumers skip them: a Raft leader's no-op carries the time of its election, so
 * without the skip an older timestamp would be answered with the no-op's offset and time, and a
 * consumer seeking there would read records older than it asked for. Past a control batch the
 * scan reads batch headers only (decoding none) until a data batch reaches the timestamp.
 */
async function offsetForTimestamp(
  log: ReplicatedLog,
  timestampMs: number,
  codecs: Codecs,
): Promise<{ offset: number; timestamp: number } | null> {
  const batchOffset = await log.offsetForTimestamp(timestampMs);
  if (batchOffset === undefined) return null;
  let from: number = batchOffset;
  for (;;) {
    const bytes = await log.read(kafkaOffset(from), TIMESTAMP_SCAN_BYTES);
    if (bytes.length < BATCH_HEADER_BYTES) return null;
    // A read returns at least one whole batch, so every step moves `from` forward.
    const before = from;
    for (let at = 0; bytes.length - at >= BATCH_HEADER_BYTES; ) {
      const total = batchTotalBytes(bytes, at);
      if (bytes.length - at < total) break; // a partial batch: the next read starts with it
      const header = readBatchHeader(bytes, at);
      from = header.baseOffset + header.lastOffsetDelta + 1;
      const candidate = (header.attributes & ATTRIBUTE_CONTROL) === 0 && header.maxTimestamp >= timestampMs;
      if (candidate) {
        for (const batch of decodeRecordBatches(bytes.subarray(at, at + total), codecs)) {
          for (const record of batch.records) {
            if (record.offset >= batchOffset && record.timestamp >= timestampMs) {
              return { offset: record.offset, timestamp: record.timestamp };
            }
          }
        }
      }
      at += total;
    }
    assert(from > before, `a log read at offset ${before} returned no whole batch`);
  }
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
      // The log start never moves back; "latest" and time lookups wait for the new leader's
      // high watermark (Kafka does the same).
      if (timestamp !== EARLIEST && !log.committedInOwnTerm)
        return {
          partitionIndex,
          errorCode: ErrorCode.OFFSET_NOT_AVAILABLE,
          timestamp: -1,
          offset: -1,
          leaderEpoch: -1,
        };
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
