import type { Codecs } from '../protocol/records.js';
import type { PartitionLog } from '../storage/partition-log.js';

/** What the native validator (`validateBatches`) reports per batch. */
export interface ValidatedBatch {
  baseOffset: number;
  lastOffsetDelta: number;
  recordsCount: number;
  maxTimestamp: number;
  attributes: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  byteLength: number;
}

/**
 * The storage the broker runs on. Production uses the native core; the simulator and tests may
 * inject another implementation of the same contracts.
 */
export interface BrokerStorage {
  openLog(
    directory: string,
    options: { segmentBytes: number; segmentMs: number; maxBatchBytes: number },
  ): PartitionLog;
  /** Checks size, magic, CRC32C and record counts of every batch (compressed ones counted too,
   * except those `recompression` will rewrite: it checks them); throws an error whose `code`
   * names the Kafka error (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, ...). */
  validateBatches(
    records: Buffer,
    maxBatchBytes: number,
    recompression?: { codec: number; thresholdBytes: number } | null,
  ): ValidatedBatch[];
  codecs: Codecs;
}
