/**
 * Raft entries as stored RecordBatches (DESIGN decision 3): one entry = one RecordBatch v2 whose
 * `partitionLeaderEpoch` is the entry's term and whose `baseOffset` is its Kafka offset.
 *
 * - `Normal` entries already are a producer's RecordBatch; they are stored as they are after
 *   the offset and term are stamped in place (both lie outside the CRC).
 * - `Noop` and `ConfChange` entries become a control batch (attributes bit 5) holding one
 *   record: key = version:int16 (0) + type:int16 (GOQUEUE_NOOP / GOQUEUE_CONF_CHANGE), value =
 *   the entry's data. Kafka clients skip control batches; Kafka's own control types are 0
 *   (abort) and 1 (commit), so ours use numbers far from them.
 */

import type { LogIndex, Term } from '../lib/ids.js';
import {
  ATTRIBUTE_CONTROL,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  batchTotalBytes,
  computeBatchCrc,
  stampBatch,
} from '../protocol/record-batch-header.js';
import { type Entry, EntryType } from '../raft/types.js';

export const CONTROL_TYPE_NOOP = 0x4701;
export const CONTROL_TYPE_CONF_CHANGE = 0x4702;

/** A stored batch does not decode as a Raft entry. */
export class EntryBatchError extends Error {
  override name = 'EntryBatchError';
}

function zigzagVarintBytes(value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

function writeZigzagVarint(out: Buffer, at: number, value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

function readZigzagVarint(buf: Buffer, at: number, end: number): [value: number, next: number] {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (at >= end) throw new EntryBatchError('varint runs past the batch');
    const byte = buf[at++] as number;
    v += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [v % 2 === 0 ? v / 2 : -(v + 1) / 2, at];
    scale *= 128;
  }
  throw new EntryBatchError('varint longer than 5 bytes');
}

/** A control batch carrying one goqueue control record (`controlType`, `value`). */
export function encodeControlBatch(controlType: number, value: Uint8Array): Buffer {
  const keyBytes = 4;
  const body =
    1 + // attributes
    1 + // timestampDelta 0
    1 + // offsetDelta 0
    zigzagVarintBytes(keyBytes) +
    keyBytes +
    zigzagVarintBytes(value.length) +
    value.length +
    1; // header count 0
  const recordBytes = zigzagVarintBytes(body) + body;
  const total = BATCH_HEADER_BYTES + recordBytes;
  const out = Buffer.alloc(total);
  out.writeBigInt64BE(0n, BatchField.baseOffset);
  out.writeInt32BE(total - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  out.writeInt32BE(0, BatchField.partitionLeaderEpoch);
  out.writeInt8(2, BatchField.magic);
  out.writeInt16BE(ATTRIBUTE_CONTROL, BatchField.attributes);
  out.writeInt32BE(0, BatchField.lastOffsetDelta);
  out.writeBigInt64BE(0n, BatchField.baseTimestamp);
  out.writeBigInt64BE(0n, BatchField.maxTimestamp);
  out.writeBigInt64BE(-1n, BatchField.producerId);
  out.writeInt16BE(-1, BatchField.producerEpoch);
  out.writeInt32BE(-1, BatchField.baseSequence);
  out.writeInt32BE(1, BatchField.recordsCount);
  let at = writeZigzagVarint(out, BATCH_HEADER_BYTES, body);
  out[at++] = 0; // attributes
  at = writeZigzagVarint(out, at, 0);
  at = writeZigzagVarint(out, at, 0);
  at = writeZigzagVarint(out, at, keyBytes);
  out.writeInt16BE(0, at);
  out.writeInt16BE(controlType, at + 2);
  at += keyBytes;
  at = writeZigzagVarint(out, at, value.length);
  out.set(value, at);
  at += value.length;
  at = writeZigzagVarint(out, at, 0);
  if (at !== total) throw new EntryBatchError(`control batch sized ${total} but wrote ${at}`);
  out.writeUInt32BE(computeBatchCrc(out), BatchField.crc);
  return out;
}

/**
 * The batch that stores `entry`, with `baseOffset` and the term stamped. A Normal entry's data
 * must be exactly one RecordBatch v2; it is stamped in place (the same bytes are what peers
 * receive, and every replica stamps the same offset because offsets follow the log prefix).
 */
export function entryToBatch(entry: Entry, baseOffset: number): Buffer {
  let batch: Buffer;
  switch (entry.type) {
    case EntryType.Normal: {
      const data = entry.data;
      batch = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
      if (batch.length < BATCH_HEADER_BYTES || batchTotalBytes(batch) !== batch.length)
        throw new EntryBatchError(`entry ${entry.index} is not exactly one RecordBatch`);
      break;
    }
    case EntryType.Noop:
      batch = encodeControlBatch(CONTROL_TYPE_NOOP, entry.data);
      break;
    case EntryType.ConfChange:
      batch = encodeControlBatch(CONTROL_TYPE_CONF_CHANGE, entry.data);
      break;
    default:
      throw new EntryBatchError(`entry type ${String(entry.type)} has no batch form`);
  }
  stampBatch(batch, 0, baseOffset, entry.term);
  return batch;
}

/** Records a batch stored as entry `index` advances the Kafka offset by. */
export function batchOffsetSpan(batch: Buffer): number {
  return batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
}

/** The entry stored as `batch` at `index`. */
export function batchToEntry(batch: Buffer, index: LogIndex): Entry {
  if (batch.length < BATCH_HEADER_BYTES)
    throw new EntryBatchError(`entry ${index} is shorter than a batch header`);
  const term = batch.readInt32BE(BatchField.partitionLeaderEpoch) as Term;
  const attributes = batch.readInt16BE(BatchField.attributes);
  if ((attributes & ATTRIBUTE_CONTROL) === 0) return { index, term, type: EntryType.Normal, data: batch };
  // A control record: length, attributes, timestampDelta, offsetDelta, key, value.
  const end = batch.length;
  let at = BATCH_HEADER_BYTES;
  const varint = (): number => {
    const [value, next] = readZigzagVarint(batch, at, end);
    at = next;
    return value;
  };
  varint(); // record length
  at += 1; // attributes
  varint(); // timestampDelta
  varint(); // offsetDelta
  const keyBytes = varint();
  if (keyBytes !== 4 || at + 4 > end)
    throw new EntryBatchError(`control batch at entry ${index} has a bad key`);
  const controlType = batch.readInt16BE(at + 2);
  at += 4;
  const valueBytes = varint();
  if (valueBytes < 0 || at + valueBytes > end)
    throw new EntryBatchError(`control value at entry ${index} overruns`);
  const data = batch.subarray(at, at + valueBytes);
  switch (controlType) {
    case CONTROL_TYPE_NOOP:
      return { index, term, type: EntryType.Noop, data };
    case CONTROL_TYPE_CONF_CHANGE:
      return { index, term, type: EntryType.ConfChange, data };
    default:
      // A Kafka transaction marker or another control batch: no Raft meaning beyond its slot.
      return { index, term, type: EntryType.Normal, data: batch };
  }
}
