import { kafkaOffset } from '../../lib/ids.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import type { ReplicatedLog } from '../replicated-log.js';
import { leaderEpochError, leaderReplica } from './leadership.js';

interface FetchRequest {
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes?: number;
  topics: Array<{
    topic: string;
    partitions: Array<{
      partition: number;
      fetchOffset: number;
      partitionMaxBytes: number;
      currentLeaderEpoch?: number;
    }>;
  }>;
}

interface PartitionData {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: never[];
  preferredReadReplica: number;
  records: Buffer;
}

interface Attempt {
  responses: Array<{ topic: string; partitions: PartitionData[] }>;
  bytes: number;
  anyError: boolean;
}

/** An empty `records` field. Kafka answers an errored partition with empty records, never null:
 * librdkafka rejects a whole response holding a null one (MessageSetSize -1). */
const EMPTY: Buffer = Buffer.alloc(0);

function partitionError(partitionIndex: number, errorCode: number, log?: ReplicatedLog): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: log?.highWatermark ?? -1,
    lastStableOffset: log?.highWatermark ?? -1,
    logStartOffset: log?.logStartOffset ?? -1,
    abortedTransactions: [],
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

/**
 * Reads every requested partition once: whole batches from `fetchOffset` below the high
 * watermark, each partition up to `partitionMaxBytes`, the response up to `maxBytes` (the first
 * batch always whole, KIP-74). No copies: the stored bytes go to the socket as they are.
 */
async function attemptFetch(broker: BrokerContext, request: FetchRequest): Promise<Attempt> {
  const state = { budget: request.maxBytes ?? Number.MAX_SAFE_INTEGER, bytes: 0, anyError: false };
  const responses: Attempt['responses'] = [];
  // Partitions are read one after another: each one's byte budget depends on the ones before.
  for (const { topic, partitions } of request.topics) {
    const out: PartitionData[] = [];
    responses.push({ topic, partitions: out });
    for (const wanted of partitions) out.push(await fetchPartition(broker, topic, wanted, state));
  }
  return { responses, bytes: state.bytes, anyError: state.anyError };
}

async function fetchPartition(
  broker: BrokerContext,
  topic: string,
  wanted: { partition: number; fetchOffset: number; partitionMaxBytes: number; currentLeaderEpoch?: number },
  state: { budget: number; bytes: number; anyError: boolean },
): Promise<PartitionData> {
  const { partition, fetchOffset, partitionMaxBytes } = wanted;
  const { log, errorCode } = leaderReplica(broker, topic, partition);
  if (log === undefined || errorCode !== ErrorCode.NONE) {
    state.anyError = true;
    return partitionError(partition, errorCode);
  }
  const epochError = leaderEpochError(wanted.currentLeaderEpoch, log);
  if (epochError !== ErrorCode.NONE) {
    state.anyError = true;
    return partitionError(partition, epochError, log);
  }
  // Out of range only outside [log start, log end]: an offset between the high watermark and
  // the log end is in the log, just not committed yet (a new leader's watermark can lag).
  if (
    fetchOffset < log.logStartOffset ||
    (fetchOffset > log.highWatermark && fetchOffset > (await log.logEndOffset()))
  ) {
    state.anyError = true;
    return partitionError(partition, ErrorCode.OFFSET_OUT_OF_RANGE, log);
  }
  let records: Buffer = EMPTY;
  if (state.budget > 0 && partitionMaxBytes > 0 && fetchOffset < log.highWatermark) {
    records = await log.read(kafkaOffset(fetchOffset), Math.min(partitionMaxBytes, state.budget));
    // Only the response's first batch may exceed maxBytes (KIP-74).
    if (state.bytes > 0 && records.length > state.budget) records = EMPTY;
    state.budget -= records.length;
    state.bytes += records.length;
  }
  return {
    partitionIndex: partition,
    errorCode: ErrorCode.NONE,
    highWatermark: log.highWatermark,
    lastStableOffset: log.highWatermark,
    logStartOffset: log.logStartOffset,
    abortedTransactions: [],
    preferredReadReplica: -1,
    records,
  };
}

function body(attempt: Attempt): object {
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: attempt.responses };
}

/**
 * Fetch with long poll: answered at once when `minBytes` are available, an error occurred or
 * `maxWaitMs` is 0; otherwise parked in the purgatory until a high-watermark move of one of its
 * partitions makes `minBytes` available, or `maxWaitMs` passes.
 */
export const fetchHandler: Handler = {
  apiKey: ApiKey.Fetch,
  async handle(request: FetchRequest, { broker }) {
    const first = await attemptFetch(broker, request);
    const minBytes = Math.max(1, request.minBytes);
    if (first.bytes >= minBytes || first.anyError || request.maxWaitMs <= 0) return body(first);
    const logs: ReplicatedLog[] = [];
    for (const { topic, partitions } of request.topics) {
      for (const { partition } of partitions) {
        const log = broker.topics.partition(topic, partition)?.log;
        if (log !== undefined) logs.push(log);
      }
    }
    if (logs.length === 0) return body(first);
    let satisfied: Attempt | null = null;
    await broker.purgatory.wait(logs, request.maxWaitMs, async () => {
      const attempt = await attemptFetch(broker, request);
      if (attempt.bytes < minBytes && !attempt.anyError) return false;
      satisfied = attempt;
      return true;
    });
    // On expiry (or shutdown) read once more: whatever is committed by now goes out.
    return body(satisfied ?? (await attemptFetch(broker, request)));
  },
  errorResponse: (request: FetchRequest, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    sessionId: 0,
    responses: request.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition }) => partitionError(partition, errorCode)),
    })),
  }),
};
