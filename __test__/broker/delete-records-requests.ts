/**
 * The raw requests the DeleteRecords specs (in-process and on broker processes) send about
 * partition 0 of a topic: DeleteRecords, ListOffsets and Fetch at an offset.
 */
import { ApiKey } from '../../src/protocol/index.js';
import type { RawClient } from './helpers.js';

/** DeleteRecords of partition 0 of `topic` at `version`; the partition's answer. */
export async function deleteRecordsOf(
  client: RawClient,
  topic: string,
  offset: number,
  options: { version?: number; timeoutMs?: number } = {},
): Promise<{ lowWatermark: number; errorCode: number }> {
  const response = await client.request(ApiKey.DeleteRecords, options.version ?? 2, {
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }],
    timeoutMs: options.timeoutMs ?? 15_000,
  });
  const answer = response.body.topics[0].partitions[0];
  return { lowWatermark: Number(answer.lowWatermark), errorCode: answer.errorCode };
}

/** ListOffsets v5 of partition 0 at `timestamp` (-2 earliest, -1 latest); the partition's answer. */
export async function listOffsetOf(
  client: RawClient,
  topic: string,
  timestamp: number,
): Promise<{ errorCode: number; offset: number }> {
  const response = await client.request(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
  });
  const answer = response.body.topics[0].partitions[0];
  return { errorCode: answer.errorCode, offset: Number(answer.offset) };
}

/** Fetch v11 of partition 0 from `offset`; the partition's error, records and log start. */
export async function fetchOf(
  client: RawClient,
  topic: string,
  offset: number,
): Promise<{ errorCode: number; records: Buffer; logStartOffset: number }> {
  const response = await client.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: offset,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const answer = response.body.responses[0].partitions[0];
  return {
    errorCode: answer.errorCode,
    records: answer.records,
    logStartOffset: Number(answer.logStartOffset),
  };
}
