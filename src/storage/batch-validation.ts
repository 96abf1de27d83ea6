import {
  ATTRIBUTE_CODEC_MASK,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  type BatchHeader,
  computeBatchCrc,
  readBatchHeader,
} from '../protocol/record-batch-header.js';
import { StorageError } from './errors.js';

/** Smallest record: length, attributes, timestampDelta, offsetDelta, key, value, header count. */
const MIN_RECORD_BYTES = 7;

/**
 * The native core's batch validation in TypeScript (MemoryLog uses it so pure tests see the
 * same errors): size against `maxBatchBytes`, lengths, magic 2, CRC32C, record count, and the
 * records section of uncompressed batches.
 */
export function validateBatchAt(buf: Buffer, at: number, maxBatchBytes: number): BatchHeader {
  const remaining = buf.length - at;
  if (remaining < BATCH_HEADER_BYTES)
    throw new StorageError(
      'CORRUPT_MESSAGE',
      `buffer holds ${remaining} bytes, a batch header needs ${BATCH_HEADER_BYTES}`,
    );
  const header = readBatchHeader(buf, at);
  const minimum = BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES;
  if (header.batchLength < minimum)
    throw new StorageError(
      'CORRUPT_MESSAGE',
      `batchLength ${header.batchLength} is below the minimum ${minimum}`,
    );
  const total = header.batchLength + BATCH_LOG_OVERHEAD_BYTES;
  if (total > maxBatchBytes)
    throw new StorageError(
      'MESSAGE_TOO_LARGE',
      `batchLength gives ${total} bytes, above maxBatchBytes ${maxBatchBytes}`,
    );
  if (total > remaining)
    throw new StorageError(
      'CORRUPT_MESSAGE',
      `batchLength says ${total} bytes but only ${remaining} remain (truncated batch)`,
    );
  if (header.magic !== 2) throw new StorageError('CORRUPT_MESSAGE', `magic is ${header.magic}, expected 2`);
  const crc = computeBatchCrc(buf, at);
  if (crc !== header.crc)
    throw new StorageError(
      'CORRUPT_MESSAGE',
      `crc is 0x${header.crc.toString(16).padStart(8, '0')} but attributes..end hash to 0x${crc.toString(16).padStart(8, '0')}`,
    );
  if (header.baseOffset < 0)
    throw new StorageError('INVALID_RECORD', `baseOffset ${header.baseOffset} is negative`);
  if (header.recordsCount < 1)
    throw new StorageError('INVALID_RECORD', `recordsCount ${header.recordsCount} must be at least 1`);
  if (header.lastOffsetDelta !== header.recordsCount - 1)
    throw new StorageError(
      'INVALID_RECORD',
      `lastOffsetDelta ${header.lastOffsetDelta} does not match recordsCount ${header.recordsCount} (expected recordsCount - 1)`,
    );
  const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
  if (codec > 4)
    throw new StorageError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `attributes name codec ${codec}, known codecs are 0..4`,
    );
  if (codec === 0) checkRecords(buf, at + BATCH_HEADER_BYTES, at + total, header.recordsCount);
  return header;
}

/** Validates concatenated batches; returns their headers. */
export function validateBatchesJs(buf: Buffer, maxBatchBytes: number): BatchHeader[] {
  const headers: BatchHeader[] = [];
  let at = 0;
  while (at < buf.length) {
    let header: BatchHeader;
    try {
      header = validateBatchAt(buf, at, maxBatchBytes);
    } catch (error) {
      if (error instanceof StorageError)
        throw new StorageError(error.code, `batch ${headers.length} at byte ${at}: ${error.message}`);
      throw error;
    }
    headers.push(header);
    at += header.batchLength + BATCH_LOG_OVERHEAD_BYTES;
  }
  if (headers.length === 0) throw new StorageError('CORRUPT_MESSAGE', 'buffer holds no batch');
  return headers;
}

function checkRecords(buf: Buffer, start: number, end: number, recordsCount: number): void {
  if (end - start < recordsCount * MIN_RECORD_BYTES)
    throw new StorageError(
      'INVALID_RECORD',
      `recordsCount ${recordsCount} cannot fit in ${end - start} bytes of records`,
    );
  const cursor = { at: start };
  let count = 0;
  while (cursor.at < end) {
    const length = readVarint(buf, cursor, end, 'record length');
    const recordEnd = cursor.at + length;
    if (length < 1 || recordEnd > end)
      throw new StorageError('INVALID_RECORD', `record length ${length} runs past the records section`);
    cursor.at += 1; // attributes
    readVarint(buf, cursor, recordEnd, 'timestampDelta');
    const offsetDelta = readVarint(buf, cursor, recordEnd, 'offsetDelta');
    if (offsetDelta !== count)
      throw new StorageError(
        'INVALID_RECORD',
        `record ${count} has offsetDelta ${offsetDelta}, expected ${count}`,
      );
    skipBytes(buf, cursor, recordEnd, 'key');
    skipBytes(buf, cursor, recordEnd, 'value');
    const headers = readVarint(buf, cursor, recordEnd, 'headers count');
    if (headers < 0 || headers > recordEnd - cursor.at)
      throw new StorageError('INVALID_RECORD', `headers count ${headers} is impossible`);
    for (let h = 0; h < headers; h++) {
      if (skipBytes(buf, cursor, recordEnd, 'header key') < 0)
        throw new StorageError('INVALID_RECORD', 'header key is null');
      skipBytes(buf, cursor, recordEnd, 'header value');
    }
    if (cursor.at !== recordEnd)
      throw new StorageError(
        'INVALID_RECORD',
        `record length ${length} leaves ${recordEnd - cursor.at} unread bytes`,
      );
    count++;
  }
  if (count !== recordsCount)
    throw new StorageError(
      'INVALID_RECORD',
      `recordsCount is ${recordsCount} but the records section holds ${count}`,
    );
}

/** Zig-zag varint; values stay within 2^53 here (lengths and deltas). */
function readVarint(buf: Buffer, cursor: { at: number }, end: number, field: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.at >= end) throw new StorageError('INVALID_RECORD', `${field}: varint runs past the end`);
    const byte = buf[cursor.at++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    scale *= 128;
  }
  throw new StorageError('INVALID_RECORD', `${field}: varint longer than 10 bytes`);
}

/** Skips a varint-length byte string; returns its length (-1 for null). */
function skipBytes(buf: Buffer, cursor: { at: number }, end: number, field: string): number {
  const length = readVarint(buf, cursor, end, field);
  if (length < 0) return -1;
  if (cursor.at + length > end)
    throw new StorageError('INVALID_RECORD', `${field}: length ${length} runs past the record`);
  cursor.at += length;
  return length;
}
