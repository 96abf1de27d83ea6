import {
  ATTRIBUTE_CODEC_MASK,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  readBatchHeader,
} from '../protocol/record-batch-header.js';
import { type DecodedBatch, decodeRecordBatches } from '../protocol/records.js';
import { nativeCodecs, nativeSupport } from './codecs.js';
import { KafkaProtocolError } from './errors.js';

/** What a producer hands over: strings are sent as UTF-8. */
export interface MessageInput {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer> | Array<{ key: string; value: string | Buffer | null }>;
  /** Record timestamp, ms since the Unix epoch (default: now). */
  timestamp?: number;
}

/** A message as a consumer receives it. */
export interface Message {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
}

export function toBuffer(value: string | Buffer | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

export function toHeaders(headers: MessageInput['headers']): Array<{ key: string; value: Buffer | null }> {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers.map((h) => ({ key: h.key, value: toBuffer(h.value) }));
  return Object.entries(headers).map(([key, value]) => ({ key, value: toBuffer(value) }));
}

/**
 * Scans batch headers only: the byte length of the complete batches at the start of `records`
 * (a fetch response may end in a partial batch) and whether any of them is compressed.
 */
function scanBatches(records: Buffer): { completeBytes: number; compressed: boolean } {
  let at = 0;
  let compressed = false;
  while (at + BATCH_HEADER_BYTES <= records.length) {
    const header = readBatchHeader(records, at);
    const total = header.batchLength + BATCH_LOG_OVERHEAD_BYTES;
    if (header.batchLength < 0 || at + total > records.length) break;
    if ((header.attributes & ATTRIBUTE_CODEC_MASK) !== 0) compressed = true;
    at += total;
  }
  return { completeBytes: at, compressed };
}

/**
 * Checks and decodes batches. With the native core, CRC32C and the batch structure are checked
 * natively (several times faster than the JS CRC on large values) and the JS decoder skips
 * its own CRC pass; without it, the JS decoder checks everything.
 */
async function decodeVerified(records: Buffer): Promise<DecodedBatch[]> {
  const { completeBytes, compressed } = scanBatches(records);
  if (completeBytes === 0) return [];
  const native = await nativeSupport();
  if (!native) {
    if (compressed) await nativeCodecs(readBatchHeader(records, 0).attributes & ATTRIBUTE_CODEC_MASK);
    return decodeRecordBatches(records);
  }
  const complete = records.subarray(0, completeBytes);
  try {
    native.validateBatches(complete, 0x7fffffff);
  } catch (error) {
    throw new KafkaProtocolError(2, { detail: (error as Error).message });
  }
  return decodeRecordBatches(complete, compressed ? native.codecs : undefined, { verifyCrc: false });
}

/**
 * Decodes the RecordBatches of a fetch response into messages at or after `fromOffset`,
 * skipping control batches (Raft's own entries and transaction markers).
 */
export async function decodeMessages(
  topic: string,
  partition: number,
  records: Buffer | null,
  fromOffset: number,
): Promise<{ messages: Message[]; nextOffset: number }> {
  if (!records || records.length === 0) return { messages: [], nextOffset: fromOffset };
  const batches = await decodeVerified(records);
  const messages: Message[] = [];
  let nextOffset = fromOffset;
  for (const batch of batches) {
    const lastOffset = batch.header.baseOffset + batch.header.lastOffsetDelta;
    if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1;
    if (batch.isControl) continue;
    for (const record of batch.records) {
      if (record.offset < fromOffset) continue;
      messages.push({
        topic,
        partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key,
        value: record.value,
        headers: record.headers,
      });
    }
  }
  return { messages, nextOffset };
}
