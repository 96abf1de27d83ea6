import { javascriptCodecs, nativeSupport } from './codecs.js';
import { type DecodedMessages, decodeFetchedRecords, type RecordSupport } from './fast-records.js';

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

/** The native CRC32C and codecs when the core loads; pure-JS CRC and gzip otherwise. */
let support: Promise<RecordSupport> | null = null;

export function recordSupport(): Promise<RecordSupport> {
  support ??= nativeSupport().then((native) =>
    native ? { crc32c: native.crc32c, codecs: native.codecs } : { codecs: javascriptCodecs },
  );
  return support;
}

/**
 * Checks (CRC32C per batch, structure per record) and decodes the RecordBatches of a fetch
 * response into messages at or after `fromOffset`, skipping control batches (Raft's own entries
 * and transaction markers). See fast-records.ts.
 */
export async function decodeMessages(
  topic: string,
  partition: number,
  records: Buffer | null,
  fromOffset: number,
): Promise<DecodedMessages> {
  if (!records || records.length === 0) return { messages: [], nextOffset: fromOffset };
  return decodeFetchedRecords(topic, partition, records, fromOffset, await recordSupport());
}
