/**
 * Raft entries as Kafka RecordBatch v2 bytes (DESIGN decision 3): a partition's Raft log is its
 * data log, one entry = one batch.
 *
 * - A Normal entry's data is a producer's batch. The leader's term is stamped into the batch's
 *   `partitionLeaderEpoch` (in place: the field lies before the CRC's range, so the CRC holds).
 * - Raft's own entries are control batches (attributes bit 5) holding one control record whose
 *   key is `version: int16, type: int16` — the layout Kafka uses for its transaction markers.
 *   Kafka's own control types are 0-6 (abort, commit, leader change, snapshot header/footer,
 *   KRaft version, voters); goqueue takes numbers from 100 up so it never collides:
 *     100 = RAFT_NOOP          value: empty
 *     101 = RAFT_CONF_CHANGE   value: the 5-byte ConfChange (conf-change.ts)
 *   and the broker takes 102 for DeleteRecords' log start (src/broker/log-start.ts), which Raft
 *   treats as a Normal entry like Kafka's own control batches.
 *   Kafka clients skip control batches, so these entries are invisible to consumers while
 *   still taking one Kafka offset each.
 *
 * `LogIndex` is never written into a batch: a stored entry's index is its position in the log.
 */
import type { LogIndex, Term } from '../lib/ids.js';
import { term as toTerm } from '../lib/ids.js';
import {
  ATTRIBUTE_CONTROL,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  batchTotalBytes,
  computeBatchCrc,
  readBatchHeader,
} from '../lib/record-batch-header.js';
import { type Entry, EntryType } from './types.js';

export const CONTROL_RECORD_VERSION = 0;
export const CONTROL_TYPE_RAFT_NOOP = 100;
export const CONTROL_TYPE_RAFT_CONF_CHANGE = 101;

/** A stored batch that is not a valid goqueue entry (torn write, bit flip, foreign data). */
export class EntryFormatError extends Error {
  override name = 'EntryFormatError';
}

function writeVarint(out: number[], value: number): void {
  let v = ((value << 1) ^ (value >> 31)) >>> 0; // zigzag
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function readVarint(buf: Uint8Array, at: { pos: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (at.pos >= buf.length) throw new EntryFormatError('varint runs past the end of the batch');
    const byte = buf[at.pos++]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new EntryFormatError('varint longer than 5 bytes');
  }
  return (result >>> 1) ^ -(result & 1);
}

/** A batch of one uncompressed record (control records and the simulator's payloads). */
export function encodeSingleRecordBatch(options: {
  term: Term;
  timestampMs: number;
  control?: boolean;
  key: Uint8Array | null;
  value: Uint8Array | null;
}): Buffer {
  const record: number[] = [];
  record.push(0); // record attributes
  writeVarint(record, 0); // timestampDelta
  writeVarint(record, 0); // offsetDelta
  const body: number[] = [...record];
  if (options.key === null) writeVarint(body, -1);
  else {
    writeVarint(body, options.key.length);
    body.push(...options.key);
  }
  if (options.value === null) writeVarint(body, -1);
  else {
    writeVarint(body, options.value.length);
    for (const byte of options.value) body.push(byte);
  }
  writeVarint(body, 0); // headers
  const lengthPrefix: number[] = [];
  writeVarint(lengthPrefix, body.length);
  const recordBytes = lengthPrefix.length + body.length;
  const buf = Buffer.alloc(BATCH_HEADER_BYTES + recordBytes);
  buf.writeBigInt64BE(0n, BatchField.baseOffset); // assigned by the log on append
  buf.writeInt32BE(buf.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  buf.writeInt32BE(options.term, BatchField.partitionLeaderEpoch);
  buf.writeInt8(2, BatchField.magic);
  buf.writeInt16BE(options.control ? ATTRIBUTE_CONTROL : 0, BatchField.attributes);
  buf.writeInt32BE(0, BatchField.lastOffsetDelta);
  buf.writeBigInt64BE(BigInt(options.timestampMs), BatchField.baseTimestamp);
  buf.writeBigInt64BE(BigInt(options.timestampMs), BatchField.maxTimestamp);
  buf.writeBigInt64BE(-1n, BatchField.producerId);
  buf.writeInt16BE(-1, BatchField.producerEpoch);
  buf.writeInt32BE(-1, BatchField.baseSequence);
  buf.writeInt32BE(1, BatchField.recordsCount);
  Buffer.from(lengthPrefix).copy(buf, BATCH_HEADER_BYTES);
  Buffer.from(body).copy(buf, BATCH_HEADER_BYTES + lengthPrefix.length);
  buf.writeUInt32BE(computeBatchCrc(buf), BatchField.crc);
  return buf;
}

function controlKey(type: number): Uint8Array {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/**
 * The batch to store for `entry`. Normal entries must already be a RecordBatch v2; their
 * `partitionLeaderEpoch` is overwritten with the entry's term (in place, CRC unaffected).
 */
export function entryToBatch(entry: Entry, timestampMs: number): Buffer {
  if (entry.type === EntryType.Normal) {
    const batch = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    // Framing only: the log's append verifies the CRC (natively) before anything is stored, so
    // checksumming every batch here again in JS would only cost CPU on every replica.
    checkBatchFraming(batch);
    batch.writeInt32BE(entry.term, BatchField.partitionLeaderEpoch);
    return batch;
  }
  const type = entry.type === EntryType.Noop ? CONTROL_TYPE_RAFT_NOOP : CONTROL_TYPE_RAFT_CONF_CHANGE;
  return encodeSingleRecordBatch({
    term: entry.term,
    timestampMs,
    control: true,
    key: controlKey(type),
    value: entry.data,
  });
}

/** Validates framing, magic and CRC of the single batch `batch`. */
export function checkBatch(batch: Buffer): void {
  checkBatchFraming(batch);
  const stored = batch.readUInt32BE(BatchField.crc);
  const computed = computeBatchCrc(batch);
  if (stored !== computed)
    throw new EntryFormatError(`batch CRC ${stored} does not match computed ${computed}`);
}

/** Validates framing and magic of the single batch `batch` (not its CRC). */
export function checkBatchFraming(batch: Buffer): void {
  if (batch.length < BATCH_HEADER_BYTES)
    throw new EntryFormatError(`batch of ${batch.length} bytes is too short`);
  if (batchTotalBytes(batch) !== batch.length)
    throw new EntryFormatError(
      `batchLength says ${batchTotalBytes(batch)} bytes, buffer has ${batch.length}`,
    );
  const magic = batch.readInt8(BatchField.magic);
  if (magic !== 2) throw new EntryFormatError(`batch magic ${magic}, expected 2`);
}

/** The entry stored as `batch` at `index` (its term is the batch's partitionLeaderEpoch). */
export function batchToEntry(batch: Buffer, index: LogIndex): Entry {
  checkBatch(batch);
  return verifiedBatchToEntry(batch, index);
}

/**
 * `batchToEntry` for a batch whose framing and CRC were already checked (a log validates every
 * batch on append and on recovery): a producer batch is returned without recomputing its CRC,
 * so a leader streaming entries from its log does not checksum them again.
 */
export function verifiedBatchToEntry(batch: Buffer, index: LogIndex): Entry {
  const header = readBatchHeader(batch);
  const entryTerm = toTerm(header.partitionLeaderEpoch);
  if ((header.attributes & ATTRIBUTE_CONTROL) === 0 || header.recordsCount !== 1) {
    return { index, term: entryTerm, type: EntryType.Normal, data: batch };
  }
  const record = readSingleRecord(batch);
  if (record.key === null || record.key.length < 4)
    return { index, term: entryTerm, type: EntryType.Normal, data: batch };
  const view = Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength);
  const controlType = view.readInt16BE(2);
  if (controlType === CONTROL_TYPE_RAFT_NOOP)
    return { index, term: entryTerm, type: EntryType.Noop, data: new Uint8Array(0) };
  if (controlType === CONTROL_TYPE_RAFT_CONF_CHANGE)
    return { index, term: entryTerm, type: EntryType.ConfChange, data: record.value ?? new Uint8Array(0) };
  // Kafka's own control batches (transaction markers) are application data to Raft.
  return { index, term: entryTerm, type: EntryType.Normal, data: batch };
}

/**
 * Whether a batch that failed its checks may have been a Raft control batch (a no-op or a
 * membership change): its header, unverified, says control. A single rotted bit elsewhere in
 * the batch leaves that flag as written.
 */
export function mayBeControlBatch(batch: Uint8Array): boolean {
  if (batch.length < BATCH_HEADER_BYTES) return true;
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  return (view.getInt16(BatchField.attributes) & ATTRIBUTE_CONTROL) !== 0;
}

/** Key and value of the first record of an uncompressed batch. */
export function readSingleRecord(batch: Buffer): { key: Uint8Array | null; value: Uint8Array | null } {
  const at = { pos: BATCH_HEADER_BYTES };
  const length = readVarint(batch, at);
  const end = at.pos + length;
  if (end > batch.length) throw new EntryFormatError('record runs past the end of the batch');
  at.pos += 1; // attributes
  readVarint(batch, at); // timestampDelta (fits: we only write 0)
  readVarint(batch, at); // offsetDelta
  const take = (): Uint8Array | null => {
    const size = readVarint(batch, at);
    if (size < 0) return null;
    if (at.pos + size > end) throw new EntryFormatError('record field runs past the end of the record');
    const bytes = batch.subarray(at.pos, at.pos + size);
    at.pos += size;
    return bytes;
  };
  const key = take();
  const value = take();
  return { key, value };
}
