/**
 * Building and reading Kafka RecordBatch v2 with its records (the message-format page of the
 * Kafka protocol guide). Compression goes through injected `Codecs`: this pure code never loads
 * the native module (the broker and SDK pass `nativeCodecs` from src/storage).
 *
 *   Record => length(VARINT) attributes(INT8) timestampDelta(VARLONG) offsetDelta(VARINT)
 *             keyLength(VARINT) key valueLength(VARINT) value headersCount(VARINT) [Header]
 *   Header => keyLength(VARINT) key(UTF-8) valueLength(VARINT) value      (length -1 = null)
 */
import { crc32c } from './crc32c.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { Reader } from './reader.js';
import {
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TIMESTAMP_TYPE,
  ATTRIBUTE_TRANSACTIONAL,
  BATCH_CRC_START,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  type BatchHeader,
  Codec,
  readBatchHeader,
} from './record-batch-header.js';
import { Writer } from './writer.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Compression by Kafka codec id (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export interface Codecs {
  compress(codec: number, data: Buffer): Buffer;
  decompress(codec: number, data: Buffer): Buffer;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: ReadonlyArray<{ key: string; value: Buffer | string | null }>;
  /** Absolute timestamp (ms); defaults to the batch's baseTimestamp. */
  timestamp?: number;
}

export interface EncodeBatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  /** Codec in bits 0-2; timestamp type, transactional and control bits are kept as given. */
  attributes?: number;
  baseTimestamp: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  records: ReadonlyArray<RecordInput>;
}

export interface DecodedRecord extends Record {
  offset: number;
  timestamp: number;
  /** The record's own attributes byte (unused by Kafka today). */
  attributes: number;
}

export interface DecodedBatch {
  header: BatchHeader;
  /** A control batch (transaction marker, or goqueue's Raft no-op/membership entry): clients skip it. */
  isControl: boolean;
  isTransactional: boolean;
  records: DecodedRecord[];
}

const MAGIC_V2 = 2;

function varintBytes(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    bytes++;
  }
  return bytes;
}

function varlongBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 0x80);
    bytes++;
  }
  return bytes;
}

function toBuffer(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function writeVarBytes(writer: Writer, value: Buffer | null): void {
  if (value === null) {
    writer.varint(-1);
    return;
  }
  writer.varint(value.length);
  writer.raw(value);
}

/** Writes the records section (uncompressed); returns the batch's max timestamp. */
function writeRecords(writer: Writer, options: EncodeBatchOptions): number {
  let maxTimestamp = options.baseTimestamp;
  options.records.forEach((record, offsetDelta) => {
    const timestamp = record.timestamp ?? options.baseTimestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const timestampDelta = timestamp - options.baseTimestamp;
    const key = toBuffer(record.key);
    const value = toBuffer(record.value);
    const headers = (record.headers ?? []).map((header) => ({
      key: Buffer.from(header.key, 'utf8'),
      value: toBuffer(header.value),
    }));
    let bodyBytes =
      1 +
      varlongBytes(timestampDelta) +
      varintBytes(offsetDelta) +
      (key === null ? 1 : varintBytes(key.length) + key.length) +
      (value === null ? 1 : varintBytes(value.length) + value.length) +
      varintBytes(headers.length);
    for (const header of headers) {
      bodyBytes += varintBytes(header.key.length) + header.key.length;
      bodyBytes += header.value === null ? 1 : varintBytes(header.value.length) + header.value.length;
    }
    writer.varint(bodyBytes);
    writer.int8(0);
    writer.varlong(timestampDelta);
    writer.varint(offsetDelta);
    writeVarBytes(writer, key);
    writeVarBytes(writer, value);
    writer.varint(headers.length);
    for (const header of headers) {
      writeVarBytes(writer, header.key);
      writeVarBytes(writer, header.value);
    }
  });
  return maxTimestamp;
}

/**
 * Builds one RecordBatch v2. Offsets count from `baseOffset` (0 by default; the broker assigns
 * the real one in place). Records are compressed with `codecs` when the codec bits ask for it.
 */
export function encodeRecordBatch(options: EncodeBatchOptions, codecs?: Codecs): Buffer {
  if (options.records.length === 0)
    throw new ProtocolError(ErrorCode.INVALID_RECORD, 'a record batch needs at least one record');
  const attributes = options.attributes ?? 0;
  const codec = attributes & ATTRIBUTE_CODEC_MASK;
  if (codec > Codec.Zstd)
    throw new ProtocolError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown codec ${codec}`);
  if (codec !== Codec.None && codecs === undefined)
    throw new ProtocolError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `codec ${codec} needs a Codecs implementation`,
    );

  const writer = new Writer(BATCH_HEADER_BYTES + 64 * options.records.length);
  writer.offset = BATCH_HEADER_BYTES;
  let maxTimestamp: number;
  if (codec === Codec.None) {
    maxTimestamp = writeRecords(writer, options);
  } else {
    const plain = new Writer(64 * options.records.length);
    maxTimestamp = writeRecords(plain, options);
    writer.raw(codecs!.compress(codec, plain.finish()));
  }
  const end = writer.offset;
  writer.offset = 0;
  writer.int64(options.baseOffset ?? 0);
  writer.int32(end - BATCH_LOG_OVERHEAD_BYTES);
  writer.int32(options.partitionLeaderEpoch ?? -1);
  writer.int8(MAGIC_V2);
  writer.uint32(0);
  writer.int16(attributes);
  writer.int32(options.records.length - 1);
  writer.int64(options.baseTimestamp);
  writer.int64(maxTimestamp);
  writer.int64(options.producerId ?? -1);
  writer.int16(options.producerEpoch ?? -1);
  writer.int32(options.baseSequence ?? -1);
  writer.int32(options.records.length);
  writer.offset = end;
  const batch = Buffer.from(writer.finish());
  batch.writeUInt32BE(crc32c(batch, BATCH_CRC_START, batch.length), BatchField.crc);
  return batch;
}

function readVarBytes(reader: Reader): Buffer | null {
  const length = reader.varint();
  if (length === -1) return null;
  if (length < 0) reader.fail(`bad record field length ${length}`);
  return reader.raw(length, 'record field');
}

/** Smallest encoded record: length, attributes, timestampDelta, offsetDelta, key, value, headers. */
const MIN_RECORD_BYTES = 7;

function decodeRecords(reader: Reader, header: BatchHeader): DecodedRecord[] {
  const count = header.recordsCount;
  if (count < 0 || count * MIN_RECORD_BYTES > reader.remaining) reader.fail(`bad records count ${count}`);
  const logAppendTime = (header.attributes & ATTRIBUTE_TIMESTAMP_TYPE) !== 0;
  const records: DecodedRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    if (length < 0) reader.fail(`bad record length ${length}`);
    reader.need(length, 'record');
    const recordEnd = reader.offset + length;
    const inner: Reader = new Reader(reader.buf, reader.offset, recordEnd, ErrorCode.CORRUPT_MESSAGE);
    const attributes = inner.int8();
    const timestampDelta = inner.varlong();
    const offsetDelta = inner.varint();
    const key = readVarBytes(inner);
    const value = readVarBytes(inner);
    const headerCount = inner.varint();
    if (headerCount < 0 || headerCount * 2 > inner.remaining) inner.fail(`bad header count ${headerCount}`);
    const headers: RecordHeader[] = new Array(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const headerKey = readVarBytes(inner);
      if (headerKey === null) inner.fail('null record header key');
      headers[h] = { key: headerKey.toString('utf8'), value: readVarBytes(inner) };
    }
    if (inner.offset !== recordEnd) inner.fail(`record ${i} has ${recordEnd - inner.offset} stray bytes`);
    reader.offset = recordEnd;
    records[i] = {
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      offsetDelta,
      timestampDelta,
      attributes,
      key,
      value,
      headers,
    };
  }
  return records;
}

export interface DecodeBatchOptions {
  /** Check each batch's CRC32C (default true). */
  verifyCrc?: boolean;
}

/**
 * Reads the concatenated RecordBatches of `buf` (a Fetch response's `records`). A trailing
 * partial batch — Kafka cuts fetch responses at a size limit — is skipped. Malformed input
 * throws ProtocolError(CORRUPT_MESSAGE); key, value and header values are views into `buf` (or
 * into the decompressed bytes).
 */
export function decodeRecordBatches(
  buf: Buffer,
  codecs?: Codecs,
  options: DecodeBatchOptions = {},
): DecodedBatch[] {
  const batches: DecodedBatch[] = [];
  let at = 0;
  while (buf.length - at >= BATCH_LOG_OVERHEAD_BYTES) {
    const batchLength = buf.readInt32BE(at + BatchField.batchLength);
    const total = batchLength + BATCH_LOG_OVERHEAD_BYTES;
    if (total < BATCH_HEADER_BYTES)
      throw new ProtocolError(
        ErrorCode.CORRUPT_MESSAGE,
        `record batch at byte ${at} has bad length ${batchLength}`,
      );
    if (buf.length - at < total) break; // trailing partial batch
    const magic = buf.readInt8(at + BatchField.magic);
    if (magic !== MAGIC_V2)
      throw new ProtocolError(
        ErrorCode.CORRUPT_MESSAGE,
        `record batch at byte ${at} has magic ${magic}; only v2 is read`,
      );
    const header = readBatchHeader(buf, at);
    if (options.verifyCrc !== false && crc32c(buf, at + BATCH_CRC_START, at + total) !== header.crc)
      throw new ProtocolError(ErrorCode.CORRUPT_MESSAGE, `record batch at byte ${at} fails its CRC32C check`);
    const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
    let reader: Reader;
    if (codec === Codec.None) {
      reader = new Reader(buf, at + BATCH_HEADER_BYTES, at + total, ErrorCode.CORRUPT_MESSAGE);
    } else {
      if (codecs === undefined || codec > Codec.Zstd)
        throw new ProtocolError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `cannot decompress codec ${codec}`);
      let plain: Buffer;
      try {
        plain = codecs.decompress(codec, buf.subarray(at + BATCH_HEADER_BYTES, at + total));
      } catch (error) {
        throw new ProtocolError(
          ErrorCode.CORRUPT_MESSAGE,
          `record batch at byte ${at}: codec ${codec} failed: ${(error as Error).message}`,
        );
      }
      reader = new Reader(plain, 0, plain.length, ErrorCode.CORRUPT_MESSAGE);
    }
    batches.push({
      header,
      isControl: (header.attributes & ATTRIBUTE_CONTROL) !== 0,
      isTransactional: (header.attributes & ATTRIBUTE_TRANSACTIONAL) !== 0,
      records: decodeRecords(reader, header),
    });
    at += total;
  }
  return batches;
}
