import {
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL,
  BATCH_LOG_OVERHEAD_BYTES,
  readBatchHeader,
} from '../protocol/record-batch-header.js';
import { decodeRecordBatches } from '../protocol/records.js';
import { nativeCodecs } from './codecs.js';

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

/** Scans batch headers only: true when any batch in `records` is compressed. */
function anyCompressed(records: Buffer): boolean {
  let at = 0;
  while (at + 61 <= records.length) {
    const header = readBatchHeader(records, at);
    if ((header.attributes & ATTRIBUTE_CODEC_MASK) !== 0) return true;
    at += header.batchLength + BATCH_LOG_OVERHEAD_BYTES;
  }
  return false;
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
  const codecs = anyCompressed(records) ? await nativeCodecs() : undefined;
  const batches = decodeRecordBatches(records, codecs);
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
