import { crc32c } from './crc32c.js';

/**
 * Fixed-position fields of a Kafka RecordBatch v2 header (the message-format page of the Kafka
 * protocol guide). All integers are big-endian.
 *
 *   baseOffset: int64            @0
 *   batchLength: int32           @8   bytes after this field (so total = batchLength + 12)
 *   partitionLeaderEpoch: int32  @12  goqueue: the Raft term of the entry
 *   magic: int8                  @16  must be 2
 *   crc: uint32                  @17  CRC32C over attributes .. end
 *   attributes: int16            @21  bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
 *   lastOffsetDelta: int32       @23
 *   baseTimestamp: int64         @27
 *   maxTimestamp: int64          @35
 *   producerId: int64            @43
 *   producerEpoch: int16         @51
 *   baseSequence: int32          @53
 *   recordsCount: int32          @57
 *   records                      @61
 */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const BATCH_HEADER_BYTES = 61;
/** Bytes of baseOffset + batchLength, which batchLength does not count. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
export const BATCH_CRC_START = BatchField.attributes;

export enum Codec {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

export const ATTRIBUTE_CODEC_MASK = 0x07;
export const ATTRIBUTE_TIMESTAMP_TYPE = 0x08;
export const ATTRIBUTE_TRANSACTIONAL = 0x10;
export const ATTRIBUTE_CONTROL = 0x20;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** Reads the header of the batch starting at `at`. The caller checks bounds first. */
export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: Number(buf.readBigInt64BE(at + BatchField.baseOffset)),
    batchLength: buf.readInt32BE(at + BatchField.batchLength),
    partitionLeaderEpoch: buf.readInt32BE(at + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(at + BatchField.magic),
    crc: buf.readUInt32BE(at + BatchField.crc),
    attributes: buf.readInt16BE(at + BatchField.attributes),
    lastOffsetDelta: buf.readInt32BE(at + BatchField.lastOffsetDelta),
    baseTimestamp: Number(buf.readBigInt64BE(at + BatchField.baseTimestamp)),
    maxTimestamp: Number(buf.readBigInt64BE(at + BatchField.maxTimestamp)),
    producerId: Number(buf.readBigInt64BE(at + BatchField.producerId)),
    producerEpoch: buf.readInt16BE(at + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(at + BatchField.baseSequence),
    recordsCount: buf.readInt32BE(at + BatchField.recordsCount),
  };
}

/** Total bytes of the batch starting at `at` (header fields included). */
export function batchTotalBytes(buf: Buffer, at = 0): number {
  return buf.readInt32BE(at + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
}

/**
 * Writes `baseOffset` and `partitionLeaderEpoch` in place. Both lie before the CRC's range, so
 * the CRC stays valid (DESIGN decision 2).
 */
export function stampBatch(buf: Buffer, at: number, baseOffset: number, partitionLeaderEpoch: number): void {
  buf.writeBigInt64BE(BigInt(baseOffset), at + BatchField.baseOffset);
  buf.writeInt32BE(partitionLeaderEpoch, at + BatchField.partitionLeaderEpoch);
}

/** CRC32C the batch at `at` should carry (attributes .. end). */
export function computeBatchCrc(buf: Buffer, at = 0): number {
  return crc32c(buf, at + BATCH_CRC_START, at + batchTotalBytes(buf, at));
}
