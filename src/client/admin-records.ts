/**
 * Admin verbs about partitions' data on the brokers: DeleteRecords (API 21, sent to each
 * partition's leader) and DescribeLogDirs (API 35, sent to each broker), in their newest
 * non-flexible versions (v1 both).
 */
import { ApiKey } from '../protocol/index.js';
import { partitionRows, requireBrokerId, requireDistinct, requireList } from './admin-checks.js';
import type { CallOptions, Client } from './client.js';
import { GoqueueError, KafkaProtocolError } from './errors.js';
import { requireCallOptions, requireObject, requirePartition, requireTopic } from './validate.js';

/** DeleteRecords' offset meaning "the high watermark": everything committed so far. */
export const HIGH_WATERMARK = -1;

/** Room for the broker's own answer after the `timeoutMs` it was given (as produce has). */
const ANSWER_MARGIN_MS = 5_000;

export interface DeleteRecordsRequest extends CallOptions {
  topic: string;
  /**
   * Per partition, the new first offset: records below it are deleted. -1 deletes everything
   * below the high watermark. An offset at or below the current log start changes nothing.
   */
  partitions: Array<{ partition: number; offset: number }>;
}

export interface DeletedRecords {
  partition: number;
  /** The partition's first offset after the call (its log start). */
  lowWatermark: number;
}

export interface LogDirReplica {
  topic: string;
  partition: number;
  /** Bytes the replica's log takes on disk. */
  sizeBytes: number;
  /** How far the replica's log end trails the high watermark it knows (0 on a leader). */
  offsetLag: number;
  /** True for a replica being moved into this directory (Kafka's future replica). */
  isFuture: boolean;
}

export interface LogDirDescription {
  brokerId: number;
  /** The directory's path on the broker. */
  logDir: string;
  /** Replicas in the directory, sorted by topic then partition. */
  replicas: LogDirReplica[];
}

function checkDeleteRecords(request: unknown): void {
  const field = 'admin.deleteRecords(request)';
  const fields = requireObject(field, request);
  requireTopic(`${field}.topic`, fields.topic);
  const partitions = requireList(`${field}.partitions`, fields.partitions, (itemField, item) => {
    const entry = requireObject(itemField, item);
    requirePartition(`${itemField}.partition`, entry.partition);
    const offset = entry.offset;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < HIGH_WATERMARK)
      throw new TypeError(
        `${itemField}.offset must be a non-negative integer or -1 (the high watermark), not ${JSON.stringify(offset)}`,
      );
    return String(entry.partition);
  });
  requireDistinct(`${field}.partitions`, partitions, 'partition');
  requireCallOptions(field, fields);
}

/** One partition's DeleteRecords, on its leader; retried (with fresh metadata) on a new leader. */
function deletePartition(
  client: Client,
  topic: string,
  partition: number,
  offset: number,
  options: CallOptions,
): Promise<DeletedRecords> {
  const brokerTimeoutMs = options.timeoutMs ?? client.timeoutMs;
  return client.retrying(async () => {
    const connection = await client.leaderConnection(topic, partition, options);
    const response = await client.send(
      connection,
      ApiKey.DeleteRecords,
      {
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }],
        timeoutMs: brokerTimeoutMs,
      },
      { ...options, timeoutMs: brokerTimeoutMs + ANSWER_MARGIN_MS },
    );
    const answer = response.topics?.[0]?.partitions?.find(
      (candidate: { partitionIndex: number }) => candidate.partitionIndex === partition,
    );
    if (!answer)
      throw new GoqueueError(`the broker's DeleteRecords answer names no partition ${topic}/${partition}`);
    if (answer.errorCode !== 0) throw new KafkaProtocolError(answer.errorCode, { topic, partition });
    return { partition, lowWatermark: answer.lowWatermark };
  }, options);
}

/**
 * DeleteRecords: moves each named partition's log start forward. Partitions are handled at
 * once, each on its leader. When one fails the call rejects with its error (the first in the
 * order given) after every partition was answered: the others' deletions have happened.
 */
export async function deleteRecords(
  client: Client,
  request: DeleteRecordsRequest,
): Promise<DeletedRecords[]> {
  checkDeleteRecords(request);
  const outcomes = await Promise.allSettled(
    request.partitions.map(({ partition, offset }) =>
      deletePartition(client, request.topic, partition, offset, request),
    ),
  );
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<DeletedRecords>).value);
}

interface LogDirsAnswer {
  errorCode?: number;
  results?: Array<{
    errorCode: number;
    logDir: string;
    topics: Array<{
      name: string;
      partitions: Array<{
        partitionIndex: number;
        partitionSize: number;
        offsetLag: number;
        isFutureKey: boolean;
      }>;
    }>;
  }>;
}

/** One broker's log directories with every replica in them. */
function describeBrokerLogDirs(
  client: Client,
  brokerId: number,
  options: CallOptions,
): Promise<LogDirDescription[]> {
  return client.retrying(async () => {
    const connection = await client.brokerConnection(brokerId, options);
    const response: LogDirsAnswer = await client.send(
      connection,
      ApiKey.DescribeLogDirs,
      { topics: null },
      options,
    );
    if (response.errorCode)
      throw new KafkaProtocolError(response.errorCode, { detail: `DescribeLogDirs of broker ${brokerId}` });
    return (response.results ?? []).map((directory) => {
      if (directory.errorCode)
        throw new KafkaProtocolError(directory.errorCode, {
          detail: `log directory ${directory.logDir} on broker ${brokerId}`,
        });
      const replicas = partitionRows(
        directory.topics,
        (topic) => topic.partitions,
        (topic, partition) => ({
          topic: topic.name,
          partition: partition.partitionIndex,
          sizeBytes: partition.partitionSize,
          offsetLag: partition.offsetLag,
          isFuture: partition.isFutureKey,
        }),
      );
      return { brokerId, logDir: directory.logDir, replicas };
    });
  }, options);
}

/**
 * DescribeLogDirs of one broker, or of every broker in the cluster metadata (each answers for
 * its own directories); sorted by broker id.
 */
export async function describeLogDirs(
  client: Client,
  brokerId: number | undefined,
  options: CallOptions,
): Promise<LogDirDescription[]> {
  const field = 'admin.describeLogDirs(brokerId, options)';
  if (brokerId !== undefined) requireBrokerId('admin.describeLogDirs(brokerId)', brokerId);
  requireCallOptions(field, requireObject(`${field}.options`, options));
  let brokers: number[];
  if (brokerId !== undefined) brokers = [brokerId];
  else {
    const metadata = await client.retrying(() => client.refreshMetadata(undefined, options), options);
    brokers = [...metadata.brokers.keys()].sort((a, b) => a - b);
  }
  const described = await Promise.all(brokers.map((id) => describeBrokerLogDirs(client, id, options)));
  return described.flat();
}
