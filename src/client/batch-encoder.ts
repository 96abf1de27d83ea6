import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField } from '../protocol/record-batch-header.js';
import type { Codecs } from '../protocol/records.js';

/** A record ready to encode: key, value and header values are bytes already. */
export interface OutgoingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  timestamp: number;
}

/** An idempotent producer's identity and this batch's first sequence (under the CRC). */
export interface BatchProducer {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/**
 * The producer's hot path: one RecordBatch v2 (magic 2; producer id -1 unless `producer` is
 * given, for an idempotent producer) written straight into
 * one buffer whose size is computed first, checksummed with the CRC32C the caller passes (the
 * native one when available: the pure-JS CRC dominated the cost of 1 KiB messages).
 * Byte-for-byte what src/protocol/records.ts `encodeRecordBatch` writes for the same input;
 * a test holds the two together.
 */
export function encodeProducerBatch(
  records: readonly OutgoingRecord[],
  codec: number,
  crc32c: (bytes: Buffer) => number,
  codecs?: Codecs,
  producer?: BatchProducer,
): Buffer {
  let baseTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (const record of records) {
    if (record.timestamp < baseTimestamp) baseTimestamp = record.timestamp;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  // Pass 1: sizes (header keys are converted to bytes once, here).
  const bodySizes = new Array<number>(records.length);
  const headerKeys: Buffer[][] = new Array(records.length);
  let recordsBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as OutgoingRecord;
    let size =
      1 +
      varlongSize(record.timestamp - baseTimestamp) +
      varintSize(i) +
      fieldSize(record.key) +
      fieldSize(record.value) +
      varintSize(record.headers.length);
    const keys: Buffer[] = [];
    for (const header of record.headers) {
      const key = Buffer.from(header.key, 'utf8');
      keys.push(key);
      size += varintSize(key.length) + key.length + fieldSize(header.value);
    }
    headerKeys[i] = keys;
    bodySizes[i] = size;
    recordsBytes += varintSize(size) + size;
  }
  // Pass 2: records, straight into the batch (or into a scratch buffer to compress).
  const plain = codec === 0;
  const out = Buffer.allocUnsafe(plain ? BATCH_HEADER_BYTES + recordsBytes : recordsBytes);
  let at = plain ? BATCH_HEADER_BYTES : 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as OutgoingRecord;
    at = writeVarint(out, at, bodySizes[i] as number);
    out[at++] = 0; // record attributes: unused
    at = writeVarlong(out, at, record.timestamp - baseTimestamp);
    at = writeVarint(out, at, i);
    at = writeField(out, at, record.key);
    at = writeField(out, at, record.value);
    at = writeVarint(out, at, record.headers.length);
    const keys = headerKeys[i] as Buffer[];
    for (let h = 0; h < record.headers.length; h++) {
      at = writeField(out, at, keys[h] as Buffer);
      at = writeField(out, at, (record.headers[h] as { value: Buffer | null }).value);
    }
  }
  let batch = out;
  if (!plain) {
    if (!codecs) throw new Error(`codec ${codec} needs codecs`);
    const compressed = codecs.compress(codec, out);
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
    compressed.copy(batch, BATCH_HEADER_BYTES);
  }
  batch.writeBigInt64BE(0n, BatchField.baseOffset);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt16BE(codec, BatchField.attributes);
  batch.writeInt32BE(records.length - 1, BatchField.lastOffsetDelta);
  batch.writeBigInt64BE(BigInt(baseTimestamp), BatchField.baseTimestamp);
  batch.writeBigInt64BE(BigInt(maxTimestamp), BatchField.maxTimestamp);
  batch.writeBigInt64BE(BigInt(producer?.producerId ?? -1), BatchField.producerId);
  batch.writeInt16BE(producer?.producerEpoch ?? -1, BatchField.producerEpoch);
  batch.writeInt32BE(producer?.baseSequence ?? -1, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordsCount);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)) >>> 0, BatchField.crc);
  return batch;
}

function zigzag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function varintSize(value: number): number {
  let rest = zigzag32(value);
  let size = 1;
  while (rest >= 0x80) {
    rest >>>= 7;
    size++;
  }
  return size;
}

/** Zigzag of a 64-bit value held in a JS number (exact below 2^52). */
function zigzag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function varlongSize(value: number): number {
  let rest = zigzag64(value);
  let size = 1;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

function fieldSize(bytes: Buffer | null): number {
  return bytes === null ? 1 : varintSize(bytes.length) + bytes.length;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let rest = zigzag32(value);
  while (rest >= 0x80) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[at++] = rest;
  return at;
}

function writeVarlong(out: Buffer, at: number, value: number): number {
  let rest = zigzag64(value);
  while (rest >= 0x80) {
    out[at++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  return at;
}

function writeField(out: Buffer, at: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(out, at, -1);
  const next = writeVarint(out, at, bytes.length);
  bytes.copy(out, next);
  return next + bytes.length;
}
