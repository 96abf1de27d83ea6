import { ApiKey, ErrorCode } from '../../protocol/index.js';
import { ATTRIBUTE_CONTROL } from '../../protocol/record-batch-header.js';
import type { Handler, RequestContext } from '../context.js';
import { GROUPS_TOPIC } from '../group-log.js';
import type { PartitionReplica } from '../partition-replica.js';
import { recompressBatches, recompressionPolicy } from '../recompression.js';
import type { ProposeResult, ReplicatedLog } from '../replicated-log.js';
import { errorCodeOf } from '../request-router.js';
import type { ValidatedBatch } from '../storage.js';
import { leaderReplica } from './leadership.js';

interface ProduceRequest {
  transactionalId?: string | null;
  acks: number;
  timeoutMs: number;
  topicData: Array<{ name: string; partitionData: Array<{ index: number; records: Buffer | null }> }>;
}

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: Array<{ batchIndex: number; batchIndexErrorMessage: string | null }>;
  errorMessage: string | null;
}

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return {
    index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage,
  };
}

type BatchInfo = ValidatedBatch;

/** Splits validated bytes into one buffer per batch (one batch = one log entry). */
function splitBatches(records: Buffer, infos: readonly BatchInfo[]): Buffer[] | null {
  const batches: Buffer[] = [];
  let at = 0;
  for (const info of infos) {
    batches.push(records.subarray(at, at + info.byteLength));
    at += info.byteLength;
  }
  return at === records.length ? batches : null;
}

/**
 * One partition's produce: validate every batch natively (size, magic, CRC32C, record count), so
 * nothing is stored when any batch is bad; drop retried duplicates of idempotent producers;
 * rewrite the batches the topic's compression policy changes (see recompression.ts); propose
 * the rest and wait for the commit unless acks=0.
 */
async function producePartition(
  context: RequestContext,
  topic: string,
  index: number,
  records: Buffer | null,
  timeoutMs: number,
  acks: number,
): Promise<PartitionResult> {
  const { broker } = context;
  const topicState = broker.topics.get(topic);
  const leader = leaderReplica(broker, topic, index);
  if (topicState === undefined || leader.log === undefined || leader.errorCode !== ErrorCode.NONE) {
    return failed(index, leader.errorCode);
  }
  // Only the group coordinator writes the consumer groups' records (Kafka refuses them too).
  if (topic === GROUPS_TOPIC)
    return failed(
      index,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `${GROUPS_TOPIC} is internal: clients cannot produce to it`,
    );
  if (records === null || records.length === 0) {
    return failed(index, ErrorCode.CORRUPT_MESSAGE, 'produce request holds no record batch');
  }
  // A full data disk (or one below min_free_bytes) refuses writes up front: they could not be
  // made durable, and they would hold the Raft loop until space is back.
  const diskFull = broker.diskSpace?.refusal() ?? null;
  if (diskFull !== null) return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, diskFull);
  const maxBatchBytes = Math.min(
    topicState.config.maxMessageBytes,
    broker.config.maxMessageBytes,
    topicState.config.segmentBytes,
  );
  // compression.type: batches the policy rewrites have their records checked by the rewrite, so
  // the validator decodes only the others (each compressed batch is decoded once).
  const policy = recompressionPolicy(topicState.record.configs, broker.config);
  let infos: BatchInfo[];
  try {
    infos = broker.storage.validateBatches(records, maxBatchBytes, policy);
  } catch (error) {
    context.logger.debug(
      { topic, partition: index, reason: (error as Error).message },
      'produce rejected a batch',
    );
    return failed(index, errorCodeOf(error), (error as Error).message);
  }
  // Control batches are written by the log itself (Raft entries, transaction markers); a client
  // may not produce them, or consumers would silently skip its records (Kafka: INVALID_RECORD).
  if (infos.some((info) => (info.attributes & ATTRIBUTE_CONTROL) !== 0)) {
    return failed(index, ErrorCode.INVALID_RECORD, 'clients may not produce control batches');
  }
  const batches = infos.length === 0 ? null : splitBatches(records, infos);
  if (batches === null) {
    return failed(index, ErrorCode.CORRUPT_MESSAGE, 'record batches do not fill the records field');
  }
  const log = leader.log;
  // A new leader first commits an entry of its own term: only then has it applied (and so
  // knows the producer sequences of) everything its predecessors committed.
  if (!log.committedInOwnTerm && !(await log.ownTermCommitted(Math.max(1, timeoutMs))))
    return failed(index, log.isLeader ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER);
  // min.insync.replicas (acks=all only, as in Kafka): refused up front while fewer voters are in
  // sync; held, after the commit, until that many hold the write when it is more than a majority.
  const minInsync = acks === -1 ? topicState.config.minInsyncReplicas : 1;
  let heldByMajority = true;
  if (minInsync > 1) {
    const { voters, inSync } = log.inSyncVoters(
      (id) => id === broker.brokerId || broker.controller.state.broker(id)?.fenced === false,
    );
    if (voters === 0) return failed(index, ErrorCode.NOT_LEADER_OR_FOLLOWER); // leadership lost meanwhile
    if (inSync < minInsync)
      return failed(
        index,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `${inSync} of ${voters} replicas are in sync, below min.insync.replicas (${minInsync})`,
      );
    heldByMajority = minInsync <= Math.floor(voters / 2) + 1;
  }
  const toPropose: Buffer[] = [];
  const proposedInfos: BatchInfo[] = [];
  let duplicateOffset: Promise<number> | null = null;
  for (let i = 0; i < batches.length; i++) {
    const info = infos[i]!;
    const check = broker.producers.check(log, info);
    if (check.kind === 'error') return failed(index, ErrorCode[check.errorName]);
    if (check.kind === 'duplicate') {
      duplicateOffset ??= check.baseOffset;
      continue;
    }
    // Content-hash de-duplication, for producers that are not idempotent (deduplication_enabled).
    const sameContent = log.contentDuplicateOf(batches[i]!, info.producerId, maxBatchBytes);
    if (sameContent !== undefined) {
      duplicateOffset ??= Promise.resolve(sameContent);
      continue;
    }
    toPropose.push(batches[i]!);
    proposedInfos.push(info);
  }
  const startedMs = heldByMajority ? 0 : performance.now(); // only a held write needs it
  if (toPropose.length === 0) {
    // A retry of a batch still being committed is answered when that batch commits (and, as
    // any write, once min.insync.replicas voters hold it).
    let baseOffset: number;
    try {
      baseOffset = await withTimeout(duplicateOffset!, timeoutMs);
    } catch (error) {
      // The original is still pending (REQUEST_TIMED_OUT: retry) or was not committed here
      // (leadership moved: the client finds the new leader and retries there).
      const code = errorCodeOf(error);
      return failed(
        index,
        code === ErrorCode.REQUEST_TIMED_OUT ? code : ErrorCode.NOT_LEADER_OR_FOLLOWER,
        'the original of this retried batch did not commit here',
      );
    }
    const notHeld = heldByMajority ? null : await heldError(log, index, minInsync, timeoutMs, startedMs);
    if (notHeld !== null) return notHeld;
    return {
      ...failed(index, ErrorCode.NONE),
      baseOffset,
      logStartOffset: log.logStartOffset,
    };
  }
  // compression.type: batches the policy changes are rewritten natively; the others stay the
  // very buffers that arrived. A failure here stores nothing of this partition's request.
  let stored: readonly Buffer[] = toPropose;
  if (policy !== null) {
    try {
      stored = recompressBatches(policy, toPropose, proposedInfos, maxBatchBytes);
    } catch (error) {
      context.logger.debug(
        { topic, partition: index, reason: (error as Error).message },
        'produce could not recompress a batch',
      );
      return failed(index, errorCodeOf(error), (error as Error).message);
    }
  }
  let proposal: Promise<ProposeResult>;
  try {
    proposal = log.propose(stored);
  } catch (error) {
    proposal = Promise.reject(error);
  }
  // Sequences are taken at proposal, before the commit: a pipelined next batch of the same
  // producer is checked against these ones (see ProducerState.record).
  recordProducers(
    context,
    log,
    proposedInfos,
    proposal.then((result) => result.baseOffset),
  );
  try {
    const result = await withTimeout(proposal, timeoutMs);
    const notHeld = heldByMajority ? null : await heldError(log, index, minInsync, timeoutMs, startedMs);
    if (notHeld !== null) return notHeld;
    return {
      ...failed(index, ErrorCode.NONE),
      baseOffset: duplicateOffset === null ? result.baseOffset : await duplicateOffset.catch(() => -1),
      logStartOffset: log.logStartOffset,
    };
  } catch (error) {
    const code = errorCodeOf(error);
    // A timed-out proposal may still commit: keep its sequences so a retry waits on it instead
    // of being appended again. A proposal that certainly failed is forgotten.
    if (code !== ErrorCode.REQUEST_TIMED_OUT)
      for (const info of proposedInfos) broker.producers.forget(log, info.producerId);
    if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.REQUEST_TIMED_OUT)
      return failed(index, code, (error as Error).message);
    context.logger.error({ err: error, topic, partition: index }, 'produce failed');
    return failed(index, code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : code);
  }
}

/**
 * After the commit, a write of a topic whose min.insync.replicas is above a majority waits for
 * that many voters to hold it (the rest of the request's timeout): null when they do, else the
 * partition's error answer.
 */
async function heldError(
  log: PartitionReplica,
  index: number,
  minInsync: number,
  timeoutMs: number,
  startedMs: number,
): Promise<PartitionResult | null> {
  const waitMs =
    timeoutMs > 0 ? Math.max(1, timeoutMs - (performance.now() - startedMs)) : HELD_BY_VOTERS_DEFAULT_WAIT_MS;
  switch (await log.heldByVoters(minInsync, waitMs)) {
    case 'held':
      return null;
    case 'not-leader':
      return failed(
        index,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        'leadership moved before enough replicas held the write',
      );
    case 'not-held':
      return failed(
        index,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        `the write committed, but fewer than min.insync.replicas (${minInsync}) replicas hold it`,
      );
  }
}

/** How long a produce without a timeout waits for min.insync.replicas voters to hold its write. */
const HELD_BY_VOTERS_DEFAULT_WAIT_MS = 30_000;

/** The request's `timeoutMs` bounds the wait for the commit (the entry may still commit later,
 * as in Kafka: the client retries, and an idempotent producer's retry is de-duplicated). */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  if (!(timeoutMs > 0)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new Error(`not committed within the request's timeoutMs (${timeoutMs} ms)`) as Error & {
        code: string;
      };
      error.code = 'REQUEST_TIMED_OUT';
      reject(error);
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function recordProducers(
  context: RequestContext,
  log: ReplicatedLog,
  infos: BatchInfo[],
  baseOffset: Promise<number>,
): void {
  let delta = 0;
  for (const info of infos) {
    const at = delta;
    context.broker.producers.record(
      log,
      info,
      baseOffset.then((base) => base + at),
    );
    delta += info.lastOffsetDelta + 1;
  }
}

/** Produce: acks 0 (no response), 1 and -1 (both answered once the batches are committed by the
 * partition's Raft group, i.e. on a quorum's disks: see docs/cluster.md for why acks=1 waits too). */
export const produceHandler: Handler = {
  apiKey: ApiKey.Produce,
  async handle(request: ProduceRequest, context) {
    if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
      return produceHandler.errorResponse(request, ErrorCode.INVALID_REQUIRED_ACKS);
    }
    // Every partition is proposed before any is awaited, so one group-commit cycle covers them all.
    const responses = request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((data) =>
        producePartition(context, topic.name, data.index, data.records, request.timeoutMs, request.acks),
      ),
    }));
    const settled = await Promise.all(
      responses.map(async (topic) => ({
        name: topic.name,
        partitionResponses: await Promise.all(topic.partitionResponses),
      })),
    );
    if (request.acks === 0) {
      for (const topic of settled) {
        for (const partition of topic.partitionResponses) {
          if (partition.errorCode !== ErrorCode.NONE) {
            context.logger.warn(
              { topic: topic.name, partition: partition.index, errorCode: partition.errorCode },
              'acks=0 produce failed',
            );
          }
        }
      }
      return null;
    }
    return { responses: settled, throttleTimeMs: 0 };
  },
  errorResponse: (request: ProduceRequest, errorCode) =>
    request.acks === 0
      ? null
      : {
          responses: request.topicData.map((topic) => ({
            name: topic.name,
            partitionResponses: topic.partitionData.map((data) => failed(data.index, errorCode)),
          })),
          throttleTimeMs: 0,
        },
};
