import { assert } from '../../lib/assert.js';
import { kafkaOffset } from '../../lib/ids.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import {
  ATTRIBUTE_CONTROL,
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchTotalBytes,
  readBatchHeader,
} from '../../protocol/record-batch-header.js';
import { type Codecs, decodeRecordBatches } from '../../protocol/records.js';
import type { Handler } from '../context.js';
import type { PartitionReplica } from '../partition-replica.js';
import type { ReplicatedLog } from '../replicated-log.js';
import { leaderEpochError, leaderReplica } from './leadership.js';

/** ListOffsets lookups: a timestamp, or one of these. */
const LATEST = -1;
const EARLIEST = -2;
/** The record with the largest timestamp (v7+, KIP-734). */
const MAX_TIMESTAMP = -3;
/** The first offset kept locally (v8+, KIP-405): the log start, as goqueue tiers nothing. */
const EARLIEST_LOCAL = -4;
/** The last offset in tiered storage (v9+, KIP-1005): none here. */
const LATEST_TIERED = -5;
/** The first offset not yet in tiered storage (v11+, KIP-1023): none here (Kafka answers a topic
 * without tiered storage the same way). */
const EARLIEST_PENDING_UPLOAD = -6;

/** The first version that may ask for each lookup. An older request naming one is refused for
 * that partition with UNSUPPORTED_VERSION, as Kafka does: it would otherwise read as a timestamp
 * before every record and be answered with the first one. */
const FIRST_VERSION_OF_LOOKUP: ReadonlyMap<number, number> = new Map([
  [MAX_TIMESTAMP, 7],
  [EARLIEST_LOCAL, 8],
  [LATEST_TIERED, 9],
  [EARLIEST_PENDING_UPLOAD, 11],
]);

interface ListOffsetsRequest {
  topics: Array<{
    name: string;
    partitions: Array<{ partitionIndex: number; timestamp: number; currentLeaderEpoch?: number }>;
  }>;
}

interface Found {
  offset: number;
  timestamp: number;
  /** The epoch of the batch holding the record; undefined: the current leader epoch. */
  leaderEpoch?: number;
}

const NOT_FOUND: Found = { offset: -1, timestamp: -1 };

/** Bytes read per step while looking past control batches for a timestamp. */
const TIMESTAMP_SCAN_BYTES = 64 * 1024;

/** What the timestamp lookups need of a partition's log (committed batches only). */
export type TimestampLookupLog = Pick<ReplicatedLog, 'offsetForTimestamp' | 'read'>;

/** Visits the committed batches from `fromOffset` (a batch's first offset) on, in log order and
 * before `untilOffset`, until `visit` returns true. */
async function visitBatches(
  log: TimestampLookupLog,
  fromOffset: number,
  untilOffset: number,
  visit: (batch: Buffer, header: BatchHeader) => boolean,
): Promise<void> {
  let from = fromOffset;
  while (from < untilOffset) {
    const bytes = await log.read(kafkaOffset(from), TIMESTAMP_SCAN_BYTES);
    if (bytes.length < BATCH_HEADER_BYTES) return;
    // A read returns at least one whole batch, so every step moves `from` forward.
    const before = from;
    for (let at = 0; bytes.length - at >= BATCH_HEADER_BYTES; ) {
      const total = batchTotalBytes(bytes, at);
      if (bytes.length - at < total) break; // a partial batch: the next read starts with it
      const header = readBatchHeader(bytes, at);
      if (header.baseOffset >= untilOffset) return;
      from = header.baseOffset + header.lastOffsetDelta + 1;
      if (visit(bytes.subarray(at, at + total), header)) return;
      at += total;
    }
    assert(from > before, `a log read at offset ${before} returned no whole batch`);
  }
}

/**
 * Control batches are skipped by every timestamp lookup, as consumers skip them: a Raft leader's
 * no-op carries the time of its election, so without the skip an older timestamp would be
 * answered with the no-op's offset and time, and a consumer seeking there would read records
 * older than it asked for.
 */
function isData(header: BatchHeader): boolean {
  return (header.attributes & ATTRIBUTE_CONTROL) === 0;
}

/** The first record at or after `timestampMs`: the time index finds the first batch whose max
 * timestamp reaches it, the scan goes on past control batches (headers only) to the first data
 * batch that does, and decoding that batch finds the record. */
async function offsetForTimestamp(
  log: TimestampLookupLog,
  timestampMs: number,
  codecs: Codecs,
): Promise<Found | undefined> {
  const first = await log.offsetForTimestamp(timestampMs);
  if (first === undefined) return undefined;
  let found: Found | undefined;
  await visitBatches(log, first, Number.POSITIVE_INFINITY, (batch, header) => {
    if (!isData(header) || header.maxTimestamp < timestampMs) return false;
    for (const decoded of decodeRecordBatches(batch, codecs)) {
      for (const record of decoded.records) {
        // `first` may lie inside the batch (a log start DeleteRecords moved there): the
        // records before it are deleted.
        if (record.offset >= first && record.timestamp >= timestampMs) {
          found = { offset: record.offset, timestamp: record.timestamp };
          return true;
        }
      }
    }
    return false;
  });
  return found;
}

/**
 * MAX_TIMESTAMP: the first record carrying the largest timestamp of the committed data records,
 * with its batch's leader epoch (as Kafka answers it). "Some data batch reaches T" holds exactly
 * for T up to that largest timestamp, so a binary search over T finds it. The time index alone
 * first finds the largest timestamp of any batch, which is the answer unless a control batch (a
 * later leader's no-op) holds it. Only then do the probes read batch headers: each from the first
 * batch reaching its T, stopping at the first data batch that does; a probe that finds none has
 * read the whole rest of the log, which no later probe reads again (`readFrom`), so the search
 * reads the log at most once over, whatever the timestamps.
 */
export async function maxTimestampRecord(
  log: TimestampLookupLog,
  codecs: Codecs,
): Promise<Found | undefined> {
  /** Every batch from this offset on has been read. */
  let readFrom = Number.POSITIVE_INFINITY;
  /** The first data batch with the largest max timestamp among those read. */
  let best: { batch: Buffer; header: BatchHeader } | undefined;
  const reaches = async (timestampMs: number): Promise<boolean> => {
    const first = await log.offsetForTimestamp(timestampMs);
    if (first === undefined) return false;
    // No batch before `first` reaches the timestamp: the answer lies in [first, end).
    if (first < readFrom) {
      let hit = false;
      await visitBatches(log, first, readFrom, (batch, header) => {
        if (!isData(header)) return false;
        const larger = best === undefined || header.maxTimestamp > best.header.maxTimestamp;
        const earlierEqual =
          best !== undefined &&
          header.maxTimestamp === best.header.maxTimestamp &&
          header.baseOffset < best.header.baseOffset;
        if (larger || earlierEqual) best = { batch, header };
        hit = header.maxTimestamp >= timestampMs;
        return hit;
      });
      if (!hit) readFrom = first;
    }
    return best !== undefined && best.header.maxTimestamp >= timestampMs;
  };
  if (!(await reaches(Number.MIN_SAFE_INTEGER))) return undefined;
  const lowest = best!.header.maxTimestamp;
  const indexed = await largestReached(
    lowest,
    async (timestampMs) => (await log.offsetForTimestamp(timestampMs)) !== undefined,
  );
  if (!(await reaches(indexed))) {
    const largest = await largestReached(lowest, reaches);
    assert(best!.header.maxTimestamp === largest, 'the largest data timestamp has no batch');
  }
  const { batch, header } = best!;
  for (const decoded of decodeRecordBatches(batch, codecs)) {
    for (const record of decoded.records) {
      if (record.timestamp === header.maxTimestamp)
        return {
          offset: record.offset,
          timestamp: record.timestamp,
          leaderEpoch: header.partitionLeaderEpoch,
        };
    }
  }
  // A batch whose header claims a larger timestamp than any of its records: its last record.
  return {
    offset: header.baseOffset + header.lastOffsetDelta,
    timestamp: header.maxTimestamp,
    leaderEpoch: header.partitionLeaderEpoch,
  };
}

/** The largest T >= `reached` with `reaches(T)`, given `reaches(reached)` and that `reaches` is
 * true up to some T and false above it. */
async function largestReached(
  reached: number,
  reaches: (timestampMs: number) => Promise<boolean>,
): Promise<number> {
  let low = reached;
  let high = Number.MAX_SAFE_INTEGER;
  if (await reaches(high)) return high;
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2);
    if (await reaches(middle)) low = middle;
    else high = middle;
  }
  return low;
}

/** The answer to one lookup on the partition this broker leads. */
async function lookupOn(
  log: PartitionReplica,
  timestamp: number,
  codecs: Codecs,
): Promise<Found | undefined> {
  switch (timestamp) {
    case LATEST:
      return { offset: log.highWatermark, timestamp: -1 };
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: log.logStartOffset, timestamp: -1 };
    case LATEST_TIERED:
    case EARLIEST_PENDING_UPLOAD:
      return { ...NOT_FOUND, leaderEpoch: -1 };
    case MAX_TIMESTAMP:
      return maxTimestampRecord(log, codecs);
    default:
      return offsetForTimestamp(log, timestamp, codecs);
  }
}

/**
 * ListOffsets: latest (-1: the high watermark), earliest (-2), by timestamp, and from v7 on the
 * record with the largest timestamp (-3); the tiered-storage lookups (-4 to -6) are answered as
 * Kafka answers them for a topic without tiered storage. v10's `timeoutMs` bounds reads of
 * tiered storage, which goqueue never makes, so every lookup is answered at once.
 */
export const listOffsetsHandler: Handler = {
  apiKey: ApiKey.ListOffsets,
  async handle(request: ListOffsetsRequest, { broker, header }) {
    const lookup = async (
      name: string,
      partitionIndex: number,
      timestamp: number,
      currentLeaderEpoch?: number,
    ) => {
      const refused = (errorCode: number) => ({
        partitionIndex,
        errorCode,
        timestamp: -1,
        offset: -1,
        leaderEpoch: -1,
      });
      if (header.apiVersion < (FIRST_VERSION_OF_LOOKUP.get(timestamp) ?? 0))
        return refused(ErrorCode.UNSUPPORTED_VERSION);
      const { log, errorCode } = leaderReplica(broker, name, partitionIndex);
      const epochError =
        log === undefined || errorCode !== ErrorCode.NONE
          ? errorCode
          : leaderEpochError(currentLeaderEpoch, log);
      if (log === undefined || epochError !== ErrorCode.NONE) return refused(epochError);
      // "Latest" and record lookups wait for the new leader's high watermark (Kafka does the
      // same); so does the log start, which a DeleteRecords entry its predecessor committed may
      // have moved before this leader applied it.
      const fixed = timestamp === LATEST_TIERED || timestamp === EARLIEST_PENDING_UPLOAD;
      if (!fixed && !log.committedInOwnTerm) return refused(ErrorCode.OFFSET_NOT_AVAILABLE);
      const found = (await lookupOn(log, timestamp, broker.storage.codecs)) ?? NOT_FOUND;
      return {
        partitionIndex,
        errorCode: ErrorCode.NONE,
        offset: found.offset,
        timestamp: found.timestamp,
        leaderEpoch: found.leaderEpoch ?? log.leaderEpoch,
      };
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
