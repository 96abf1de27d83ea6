import type { ExecutionContext } from 'ava';
import type { Client } from '../../src/client/client.js';
import { ApiKey } from '../../src/protocol/index.js';
import {
  ATTRIBUTE_CONTROL,
  BATCH_HEADER_BYTES,
  batchTotalBytes,
  readBatchHeader,
} from '../../src/protocol/record-batch-header.js';

/** One stored batch as a raw Fetch returns it: where it starts and ends and whether it is control. */
export interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  isControl: boolean;
  attributes: number;
}

/** The batch headers of one partition from `offset` on, read with a raw Fetch (nothing skipped). */
export async function storedBatches(
  client: Client,
  topic: string,
  partition: number,
  offset = 0,
): Promise<StoredBatch[]> {
  const connection = await client.leaderConnection(topic, partition);
  const response = await client.send(connection, ApiKey.Fetch, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
  });
  const answer = response.responses[0].partitions[0];
  if (answer.errorCode !== 0)
    throw new Error(`raw fetch of ${topic}-${partition} failed: ${answer.errorCode}`);
  const records: Buffer = answer.records ?? Buffer.alloc(0);
  const batches: StoredBatch[] = [];
  for (let at = 0; at + BATCH_HEADER_BYTES <= records.length; at += batchTotalBytes(records, at)) {
    const header = readBatchHeader(records, at);
    batches.push({
      baseOffset: header.baseOffset,
      lastOffset: header.baseOffset + header.lastOffsetDelta,
      isControl: (header.attributes & ATTRIBUTE_CONTROL) !== 0,
      attributes: header.attributes,
    });
  }
  return batches;
}

/**
 * Checks that the first record produced to a new partition landed right after the partition
 * leader's no-op entries (Kafka control batches, one offset each, which consumers skip): the
 * log from offset 0 up to `firstRecordOffset` holds control batches only, with no gap, and at
 * least one of them (a Raft leader appends its no-op before it accepts a record).
 */
export async function assertFirstRecordFollowsControlBatches(
  t: ExecutionContext,
  client: Client,
  topic: string,
  partition: number,
  firstRecordOffset: number,
): Promise<void> {
  const batches = await storedBatches(client, topic, partition, 0);
  const before = batches.filter((batch) => batch.baseOffset < firstRecordOffset);
  t.true(before.length > 0, `${topic}-${partition}: no leader no-op before the first record`);
  let expected = 0;
  for (const batch of before) {
    t.true(batch.isControl, `${topic}-${partition}: batch at ${batch.baseOffset} is not a control batch`);
    t.is(batch.baseOffset, expected, `${topic}-${partition}: gap before offset ${batch.baseOffset}`);
    expected = batch.lastOffset + 1;
  }
  t.is(expected, firstRecordOffset, `${topic}-${partition}: control batches end where the records start`);
  const first = batches.find((batch) => batch.baseOffset === firstRecordOffset);
  t.false(first?.isControl ?? true, `${topic}-${partition}: no record batch at ${firstRecordOffset}`);
}
