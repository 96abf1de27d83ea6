/**
 * The consumer's record decoder: fetched RecordBatch v2 bytes straight to `Message`s, in one
 * pass per batch. It yields the same offsets, timestamps, keys, values and headers as the
 * protocol codec's `decodeRecordBatches` (proven by __test__/client/fast-records.spec.ts) but is
 * built for the fetch hot path:
 * - one object per message (no intermediate record, no per-record reader object);
 * - keys, values and header values are views into the fetched buffer (or into the decompressed
 *   records of a compressed batch), never copies;
 * - varints are read with integer arithmetic, int64 header fields without BigInt;
 * - a message without headers shares one frozen empty array;
 * - each batch's CRC32C is checked with one call (the native one when the core is loaded).
 * Malformed input throws KafkaProtocolError CORRUPT_MESSAGE (2) naming the batch and field; a
 * trailing partial batch (a fetch response cut at its size limit) is skipped.
 */
import { crc32c as jsCrc32c } from '../protocol/crc32c.js';
import {
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TIMESTAMP_TYPE,
  BATCH_CRC_START,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
} from '../protocol/record-batch-header.js';
import type { Codecs } from '../protocol/records.js';
import { KafkaProtocolError } from './errors.js';
import type { Message } from './records.js';

const TWO_POW_32 = 0x1_0000_0000;
const MAGIC_V2 = 2;
/** Smallest encoded record: length, attributes, timestampDelta, offsetDelta, key, value, headers. */
const MIN_RECORD_BYTES = 7;
const CODEC_ZSTD = 4;
const UNSUPPORTED_COMPRESSION_TYPE = 76;
const CORRUPT_MESSAGE = 2;

/** The headers of every message that has none (frozen: it is shared). */
export const NO_HEADERS: Message['headers'] = Object.freeze([]) as unknown as Message['headers'];

/** How the decoder checks CRCs and decompresses; absent members fall back to pure JS / an error. */
export interface RecordSupport {
  /** CRC32C of a whole byte range (the native one is several times faster on large batches). */
  crc32c?: (bytes: Buffer) => number;
  codecs?: Codecs;
}

export interface DecodedMessages {
  messages: Message[];
  /** One past the last offset of the last complete batch (or `fromOffset` when there is none). */
  nextOffset: number;
}

class CorruptRecords extends Error {}

/** Read position shared by the varint readers (module state: no per-call allocation). */
let cursor = 0;

function corrupt(what: string): never {
  throw new CorruptRecords(what);
}

/** Zigzag varint of at most 32 bits at `cursor`, not past `end`. */
function readVarint(buf: Buffer, end: number): number {
  let at = cursor;
  if (at >= end) corrupt('truncated varint');
  let byte = buf[at++] as number;
  let raw = byte & 0x7f;
  if (byte >= 0x80) {
    let shift = 7;
    for (;;) {
      if (at >= end) corrupt('truncated varint');
      byte = buf[at++] as number;
      if (shift === 28) {
        if (byte > 0x0f) corrupt(byte >= 0x80 ? 'varint longer than 5 bytes' : 'varint larger than 32 bits');
        raw = (raw | (byte << 28)) >>> 0;
        break;
      }
      raw |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7;
    }
  }
  cursor = at;
  return (raw >>> 1) ^ -(raw & 1);
}

/** Zigzag varlong at `cursor` as a JS number (exact below 2^53). */
function readVarlong(buf: Buffer, end: number): number {
  let at = cursor;
  if (at >= end) corrupt('truncated varlong');
  let byte = buf[at++] as number;
  if (byte < 0x80) {
    cursor = at;
    return (byte >>> 1) ^ -(byte & 1);
  }
  let raw = byte & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 10; i++) {
    if (at >= end) corrupt('truncated varlong');
    byte = buf[at++] as number;
    raw += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      cursor = at;
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 0x80;
  }
  return corrupt('varlong longer than 10 bytes');
}

/** A length-prefixed byte string at `cursor` as a view (null for length -1). */
function readBytes(buf: Buffer, end: number): Buffer | null {
  const length = readVarint(buf, end);
  if (length < 0) {
    if (length === -1) return null;
    corrupt(`bad record field length ${length}`);
  }
  const start = cursor;
  if (length > end - start) corrupt(`truncated record field: need ${length} bytes`);
  cursor = start + length;
  return buf.subarray(start, start + length);
}

function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
}

/**
 * Decodes the records section `buf[start, end)` of one batch, appending the messages at or
 * after `fromOffset` to `out`.
 */
function decodeRecords(
  out: Message[],
  topic: string,
  partition: number,
  buf: Buffer,
  start: number,
  end: number,
  count: number,
  baseOffset: number,
  baseTimestamp: number,
  appendTime: number,
  fromOffset: number,
): void {
  if (count < 0 || count * MIN_RECORD_BYTES > end - start) corrupt(`bad records count ${count}`);
  cursor = start;
  for (let i = 0; i < count; i++) {
    const length = readVarint(buf, end);
    if (length < 0) corrupt(`bad record length ${length}`);
    const recordEnd = cursor + length;
    if (recordEnd > end) corrupt(`truncated record: need ${length} bytes`);
    if (cursor >= recordEnd) corrupt('truncated int8');
    cursor++; // attributes: unused by Kafka today
    const timestampDelta = readVarlong(buf, recordEnd);
    const offsetDelta = readVarint(buf, recordEnd);
    const key = readBytes(buf, recordEnd);
    const value = readBytes(buf, recordEnd);
    const headerCount = readVarint(buf, recordEnd);
    let headers = NO_HEADERS;
    if (headerCount !== 0) {
      if (headerCount < 0 || headerCount * 2 > recordEnd - cursor) corrupt(`bad header count ${headerCount}`);
      headers = new Array(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const headerKey = readBytes(buf, recordEnd);
        if (headerKey === null) corrupt('null record header key');
        headers[h] = { key: headerKey.toString('utf8'), value: readBytes(buf, recordEnd) };
      }
    }
    if (cursor !== recordEnd) corrupt(`record ${i} has ${recordEnd - cursor} stray bytes`);
    const offset = baseOffset + offsetDelta;
    if (offset < fromOffset) continue;
    out.push({
      topic,
      partition,
      offset,
      timestamp: appendTime >= 0 ? appendTime : baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
}

/**
 * One past the last offset of the complete batches in `records` (`fromOffset` when there are
 * none). Reads batch headers only, so the next fetch can be sent before this one is decoded.
 */
export function nextFetchOffset(records: Buffer | null, fromOffset: number): number {
  let next = fromOffset;
  if (records === null) return next;
  let at = 0;
  while (records.length - at >= BATCH_HEADER_BYTES) {
    const total = records.readInt32BE(at + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
    if (total < BATCH_HEADER_BYTES || total > records.length - at) break;
    const last =
      readInt64(records, at + BatchField.baseOffset) + records.readInt32BE(at + BatchField.lastOffsetDelta);
    if (last + 1 > next) next = last + 1;
    at += total;
  }
  return next;
}

/**
 * Decodes the RecordBatches of a fetch response into messages at or after `fromOffset`,
 * skipping control batches (Raft's own entries and transaction markers).
 */
export function decodeFetchedRecords(
  topic: string,
  partition: number,
  records: Buffer | null,
  fromOffset: number,
  support: RecordSupport = {},
): DecodedMessages {
  const messages: Message[] = [];
  let nextOffset = fromOffset;
  if (records === null) return { messages, nextOffset };
  let at = 0;
  try {
    while (records.length - at >= BATCH_LOG_OVERHEAD_BYTES) {
      const batchLength = records.readInt32BE(at + BatchField.batchLength);
      const total = batchLength + BATCH_LOG_OVERHEAD_BYTES;
      if (total < BATCH_HEADER_BYTES) corrupt(`bad batch length ${batchLength}`);
      if (total > records.length - at) break; // trailing partial batch
      const magic = records.readInt8(at + BatchField.magic);
      if (magic !== MAGIC_V2) corrupt(`magic ${magic}; only v2 is read`);
      const expectedCrc = records.readUInt32BE(at + BatchField.crc);
      const crc = support.crc32c
        ? support.crc32c(records.subarray(at + BATCH_CRC_START, at + total))
        : jsCrc32c(records, at + BATCH_CRC_START, at + total);
      if (crc !== expectedCrc) corrupt('the batch fails its CRC32C check');
      const attributes = records.readInt16BE(at + BatchField.attributes);
      const baseOffset = readInt64(records, at + BatchField.baseOffset);
      const lastOffset = baseOffset + records.readInt32BE(at + BatchField.lastOffsetDelta);
      if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1;
      // Control batches carry no user messages; batches wholly before fromOffset give none.
      if ((attributes & ATTRIBUTE_CONTROL) === 0 && lastOffset >= fromOffset) {
        const baseTimestamp = readInt64(records, at + BatchField.baseTimestamp);
        const appendTime =
          (attributes & ATTRIBUTE_TIMESTAMP_TYPE) !== 0
            ? readInt64(records, at + BatchField.maxTimestamp)
            : -1;
        const count = records.readInt32BE(at + BatchField.recordsCount);
        const codec = attributes & ATTRIBUTE_CODEC_MASK;
        if (codec === 0) {
          decodeRecords(
            messages,
            topic,
            partition,
            records,
            at + BATCH_HEADER_BYTES,
            at + total,
            count,
            baseOffset,
            baseTimestamp,
            appendTime,
            fromOffset,
          );
        } else {
          if (codec > CODEC_ZSTD || support.codecs === undefined)
            throw new KafkaProtocolError(UNSUPPORTED_COMPRESSION_TYPE, {
              topic,
              partition,
              detail: `cannot decompress codec ${codec} (compressed batches need goqueue's native module)`,
            });
          let plain: Buffer;
          try {
            plain = support.codecs.decompress(codec, records.subarray(at + BATCH_HEADER_BYTES, at + total));
          } catch (error) {
            corrupt(`codec ${codec} failed: ${(error as Error).message}`);
          }
          decodeRecords(
            messages,
            topic,
            partition,
            plain,
            0,
            plain.length,
            count,
            baseOffset,
            baseTimestamp,
            appendTime,
            fromOffset,
          );
        }
      }
      at += total;
    }
  } catch (error) {
    if (!(error instanceof CorruptRecords)) throw error;
    throw new KafkaProtocolError(CORRUPT_MESSAGE, {
      topic,
      partition,
      detail: `record batch at byte ${at} of the fetched records: ${error.message}`,
    });
  }
  return { messages, nextOffset };
}
