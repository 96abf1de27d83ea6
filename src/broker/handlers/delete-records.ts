import { kafkaOffset } from '../../lib/ids.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { GROUPS_TOPIC } from '../group-log.js';
import { NotLeaderError } from '../partition-replica.js';
import { leaderReplica } from './leadership.js';
import { withTimeout } from './produce.js';

/** `offset` -1: delete everything below the high watermark. */
const HIGH_WATERMARK = -1;

interface DeleteRecordsRequest {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; offset: number }> }>;
  timeoutMs: number;
}

interface PartitionAnswer {
  partitionIndex: number;
  lowWatermark: number;
  errorCode: number;
}

/**
 * One partition: on its leader, once the leader has applied everything its predecessors
 * committed (its high watermark is final), propose the new log start through the partition's
 * Raft log and answer once it is committed and applied (acks=all-like). The start never moves
 * back: a smaller offset is answered with the current low watermark and changes nothing.
 */
async function deletePartition(
  broker: BrokerContext,
  topic: string,
  partitionIndex: number,
  offset: number,
  deadlineMs: number,
): Promise<PartitionAnswer> {
  const answer = (errorCode: number, lowWatermark = -1): PartitionAnswer => ({
    partitionIndex,
    lowWatermark,
    errorCode,
  });
  if (broker.topics.partition(topic, partitionIndex) === undefined)
    return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // Kafka refuses internal topics too: the consumer groups' state is bounded by its snapshots.
  if (topic === GROUPS_TOPIC) return answer(ErrorCode.INVALID_TOPIC_EXCEPTION);
  const { log, errorCode } = leaderReplica(broker, topic, partitionIndex);
  if (log === undefined || errorCode !== ErrorCode.NONE) return answer(errorCode);
  if (!(await log.ownTermCommitted(Math.max(0, deadlineMs - performance.now()))))
    return answer(log.isLeader ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const highWatermark = log.highWatermark;
  const target = offset === HIGH_WATERMARK ? highWatermark : offset;
  if (target < 0 || target > highWatermark) return answer(ErrorCode.OFFSET_OUT_OF_RANGE);
  if (target <= log.logStartOffset) return answer(ErrorCode.NONE, log.logStartOffset);
  try {
    // The entry may still commit after the timeout, as a produce may.
    await withTimeout(
      log.deleteRecordsBelow(kafkaOffset(target)),
      Math.max(1, deadlineMs - performance.now()),
    );
  } catch (error) {
    if (error instanceof NotLeaderError) return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const code = (error as { code?: string }).code;
    if (code === 'REQUEST_TIMED_OUT') return answer(ErrorCode.REQUEST_TIMED_OUT);
    if (code === 'UNKNOWN_TOPIC_OR_PARTITION') return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    broker.logger.error({ err: error, topic, partition: partitionIndex }, 'DeleteRecords failed');
    return answer(ErrorCode.KAFKA_STORAGE_ERROR);
  }
  return answer(ErrorCode.NONE, log.logStartOffset);
}

/**
 * DeleteRecords (kafkajs admin.deleteTopicRecords, the Java AdminClient's deleteRecords): moves
 * each partition's log start forward (docs/storage.md, "DeleteRecords"). Sent to each
 * partition's leader; partitions are handled in parallel under one `timeoutMs`.
 */
export const deleteRecordsHandler: Handler = {
  apiKey: ApiKey.DeleteRecords,
  async handle(request: DeleteRecordsRequest, { broker }) {
    const deadlineMs = performance.now() + Math.max(0, request.timeoutMs);
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map(({ partitionIndex, offset }) =>
            deletePartition(broker, topic.name, partitionIndex, offset, deadlineMs),
          ),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
  errorResponse: (request: DeleteRecordsRequest, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        lowWatermark: -1,
        errorCode,
      })),
    })),
  }),
};
