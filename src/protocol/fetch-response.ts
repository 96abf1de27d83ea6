/**
 * Hot path: a hand-written encoder of FetchResponse v0-17 that never copies record bytes. It
 * writes the non-record bytes into one buffer and returns chunks — views of that buffer
 * interleaved with the partitions' `records` Buffers — for a vectored socket write.
 *
 *   FetchResponse => [throttleTimeMs (v1+)] [errorCode sessionId (v7+)] [responses]
 *                    <nodeEndpoints (tag 0, v16+)>
 *     responses => topic (v0-12) | topicId (v13+) [partitions]
 *       partitions => partitionIndex errorCode highWatermark [lastStableOffset (v4+)]
 *                     [logStartOffset (v5+)] [abortedTransactions (v4+, nullable)]
 *                     [preferredReadReplica (v11+)] records(NULLABLE_BYTES)
 *                     <divergingEpoch (tag 0) currentLeader (tag 1) snapshotId (tag 2), v12+>
 *
 * v12+ (flexible): compact lengths, a response header v1, and a tagged-field section after
 * every struct; a tagged field is written only when it differs from its default.
 */
import { assert } from '../lib/assert.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { Writer } from './writer.js';

export interface FetchAbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface FetchPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset?: number;
  logStartOffset?: number;
  abortedTransactions?: FetchAbortedTransaction[] | null;
  preferredReadReplica?: number;
  records: Buffer | null;
  /** v12+: the largest epoch (and its end offset) the fetcher's log shares with ours. */
  divergingEpoch?: { epoch: number; endOffset: number };
  /** v12+ (KIP-951): who leads the partition now, on NOT_LEADER_OR_FOLLOWER. */
  currentLeader?: { leaderId: number; leaderEpoch: number };
  snapshotId?: { endOffset: number; epoch: number };
}

export interface FetchTopicResponse {
  /** v0-12. */
  topic?: string;
  /** v13+: 32 hex digits. */
  topicId?: string;
  partitions: FetchPartitionResponse[];
}

export interface FetchNodeEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface FetchResponse {
  throttleTimeMs?: number;
  errorCode?: number;
  sessionId?: number;
  responses: FetchTopicResponse[];
  /** v16+ (KIP-951): endpoints of the leaders named in `currentLeader`. */
  nodeEndpoints?: FetchNodeEndpoint[];
}

/** First flexible Fetch version. */
const FLEXIBLE_FROM = 12;

const TWO_POW_32 = 0x1_0000_0000;

function writeInt64(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high | 0, at);
  buf.writeUInt32BE((value - high * TWO_POW_32) >>> 0, at + 4);
}

/**
 * Encodes a whole FetchResponse frame (size prefix and v0 response header included) as chunks.
 * `byteLength` is the sum of the chunks' lengths.
 */
export function encodeFetchResponseChunks(
  apiVersion: number,
  correlationId: number,
  body: FetchResponse,
): { chunks: Buffer[]; byteLength: number } {
  try {
    if (apiVersion >= FLEXIBLE_FROM) return writeFlexibleFetchResponse(apiVersion, correlationId, body);
    return writeFetchResponse(apiVersion, correlationId, body);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(
      ErrorCode.INVALID_REQUEST,
      `cannot encode Fetch v${apiVersion} response: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function writeFetchResponse(
  apiVersion: number,
  correlationId: number,
  body: FetchResponse,
): { chunks: Buffer[]; byteLength: number } {
  const v1 = apiVersion >= 1;
  const v4 = apiVersion >= 4;
  const v5 = apiVersion >= 5;
  const v7 = apiVersion >= 7;
  const v11 = apiVersion >= 11;
  const responses = body.responses;
  if (!Array.isArray(responses))
    throw new ProtocolError(ErrorCode.INVALID_REQUEST, 'fetch response without responses');

  // Pass 1: size of everything except record bytes.
  let fixedBytes = 4 + 4 + (v1 ? 4 : 0) + (v7 ? 6 : 0) + 4;
  let recordBytes = 0;
  const partitionFixed = 4 + 2 + 8 + (v4 ? 8 + 4 : 0) + (v5 ? 8 : 0) + (v11 ? 4 : 0) + 4;
  for (const topic of responses) {
    fixedBytes += 2 + Buffer.byteLength(topic.topic ?? '', 'utf8') + 4;
    for (const partition of topic.partitions) {
      fixedBytes += partitionFixed;
      if (v4 && partition.abortedTransactions) fixedBytes += 16 * partition.abortedTransactions.length;
      if (partition.records) recordBytes += partition.records.length;
    }
  }

  // Pass 2: write the fixed bytes; cut a chunk wherever records go.
  const buf = Buffer.allocUnsafe(fixedBytes);
  const chunks: Buffer[] = [];
  let chunkStart = 0;
  let at = 0;
  buf.writeInt32BE(fixedBytes + recordBytes - 4, at);
  buf.writeInt32BE(correlationId, at + 4);
  at += 8;
  if (v1) {
    buf.writeInt32BE(body.throttleTimeMs ?? 0, at);
    at += 4;
  }
  if (v7) {
    buf.writeInt16BE(body.errorCode ?? 0, at);
    buf.writeInt32BE(body.sessionId ?? 0, at + 2);
    at += 6;
  }
  buf.writeInt32BE(responses.length, at);
  at += 4;
  for (const topic of responses) {
    const nameBytes = buf.write(topic.topic ?? '', at + 2, 'utf8');
    buf.writeInt16BE(nameBytes, at);
    at += 2 + nameBytes;
    buf.writeInt32BE(topic.partitions.length, at);
    at += 4;
    for (const partition of topic.partitions) {
      buf.writeInt32BE(partition.partitionIndex, at);
      buf.writeInt16BE(partition.errorCode, at + 4);
      writeInt64(buf, at + 6, partition.highWatermark);
      at += 14;
      if (v4) {
        writeInt64(buf, at, partition.lastStableOffset ?? -1);
        at += 8;
      }
      if (v5) {
        writeInt64(buf, at, partition.logStartOffset ?? -1);
        at += 8;
      }
      if (v4) {
        const aborted = partition.abortedTransactions;
        if (aborted) {
          buf.writeInt32BE(aborted.length, at);
          at += 4;
          for (const transaction of aborted) {
            writeInt64(buf, at, transaction.producerId);
            writeInt64(buf, at + 8, transaction.firstOffset);
            at += 16;
          }
        } else {
          buf.writeInt32BE(-1, at);
          at += 4;
        }
      }
      if (v11) {
        buf.writeInt32BE(partition.preferredReadReplica ?? -1, at);
        at += 4;
      }
      const records = partition.records;
      if (records) {
        buf.writeInt32BE(records.length, at);
        at += 4;
        chunks.push(buf.subarray(chunkStart, at));
        if (records.length > 0) chunks.push(records);
        chunkStart = at;
      } else {
        buf.writeInt32BE(-1, at);
        at += 4;
      }
    }
  }
  if (at > chunkStart) chunks.push(buf.subarray(chunkStart, at));
  return { chunks, byteLength: fixedBytes + recordBytes };
}

/** A tagged struct of two fields is written only when one of them is not -1 (their default). */
function isSet(first: number | undefined, second: number | undefined): boolean {
  return (first ?? -1) !== -1 || (second ?? -1) !== -1;
}

function uvarintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

function putUvarint(buf: Buffer, at: number, value: number): number {
  let rest = value >>> 0;
  while (rest >= 0x80) {
    buf[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buf[at++] = rest;
  return at;
}

/** Bytes of a partition's tagged-field section (see `writePartitionTags`). */
function partitionTagBytes(partition: FetchPartitionResponse): number {
  let bytes = 1;
  const diverging = partition.divergingEpoch;
  if (diverging !== undefined && isSet(diverging.epoch, diverging.endOffset)) bytes += 2 + 13;
  const leader = partition.currentLeader;
  if (leader !== undefined && isSet(leader.leaderId, leader.leaderEpoch)) bytes += 2 + 9;
  const snapshot = partition.snapshotId;
  if (snapshot !== undefined && isSet(snapshot.endOffset, snapshot.epoch)) bytes += 2 + 13;
  return bytes;
}

/** Topic ids seen, as their 16 bytes: ids live as long as topics, and parsing the text form of
 * each one for every Fetch response cost v13+ about a tenth of the encode. Bounded: cleared
 * when full (a broker with more topics than this parses again, nothing worse). */
const topicIdCache = new Map<string, Uint8Array>();
const TOPIC_ID_CACHE_ENTRIES_MAX = 65_536;
const ZERO_TOPIC_ID_BYTES = new Uint8Array(16);

function topicIdBytes(topicId: string | undefined): Uint8Array {
  if (topicId === undefined) return ZERO_TOPIC_ID_BYTES;
  const cached = topicIdCache.get(topicId);
  if (cached !== undefined) return cached;
  const hex = topicId.replaceAll('-', '');
  const bytes =
    hex.length === 32 && /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : ZERO_TOPIC_ID_BYTES;
  if (topicIdCache.size >= TOPIC_ID_CACHE_ENTRIES_MAX) topicIdCache.clear();
  topicIdCache.set(topicId, bytes);
  return bytes;
}

/** An empty tagged-field section. */
const NO_TAGS: Buffer = Buffer.from([0]);

/** The top-level tagged-field section: `nodeEndpoints` (tag 0, v16+) when there are any. */
function topLevelTags(apiVersion: number, body: FetchResponse): Buffer {
  const endpoints = apiVersion >= 16 ? body.nodeEndpoints : undefined;
  if (endpoints === undefined || endpoints.length === 0) return NO_TAGS;
  const writer = new Writer(16);
  const inner = new Writer(32 * endpoints.length);
  inner.unsignedVarint(endpoints.length + 1);
  for (const endpoint of endpoints) {
    inner.int32(endpoint.nodeId);
    inner.compactString(endpoint.host);
    inner.int32(endpoint.port);
    inner.compactString(endpoint.rack);
    inner.unsignedVarint(0);
  }
  writer.unsignedVarint(1).unsignedVarint(0).unsignedVarint(inner.offset).raw(inner.finish());
  return writer.finish();
}

/**
 * Fetch v12+: compact encodings and tagged fields, written like the v0-11 path (one sizing
 * pass, one buffer, records by reference).
 */
function writeFlexibleFetchResponse(
  apiVersion: number,
  correlationId: number,
  body: FetchResponse,
): { chunks: Buffer[]; byteLength: number } {
  const byTopicId = apiVersion >= 13;
  const responses = body.responses;
  if (!Array.isArray(responses))
    throw new ProtocolError(ErrorCode.INVALID_REQUEST, 'fetch response without responses');
  const tail = topLevelTags(apiVersion, body);

  // Pass 1: size of everything except record bytes.
  // size + correlationId + header tags + throttle + errorCode + sessionId + topic count
  let fixedBytes = 4 + 4 + 1 + 4 + 2 + 4 + uvarintSize(responses.length + 1) + tail.length;
  let recordBytes = 0;
  // index, errorCode, highWatermark, lastStableOffset, logStartOffset, preferredReadReplica
  const partitionFixed = 4 + 2 + 8 + 8 + 8 + 4;
  for (const topic of responses) {
    fixedBytes += byTopicId ? 16 : uvarintSize(Buffer.byteLength(topic.topic ?? '', 'utf8') + 1);
    if (!byTopicId) fixedBytes += Buffer.byteLength(topic.topic ?? '', 'utf8');
    fixedBytes += uvarintSize(topic.partitions.length + 1) + 1;
    for (const partition of topic.partitions) {
      fixedBytes += partitionFixed;
      fixedBytes +=
        partition.divergingEpoch === undefined &&
        partition.currentLeader === undefined &&
        partition.snapshotId === undefined
          ? 1
          : partitionTagBytes(partition);
      const aborted = partition.abortedTransactions;
      fixedBytes += aborted ? uvarintSize(aborted.length + 1) + 17 * aborted.length : 1;
      const records = partition.records;
      if (records) {
        fixedBytes += uvarintSize(records.length + 1);
        recordBytes += records.length;
      } else fixedBytes += 1;
    }
  }

  // Pass 2: write the fixed bytes; cut a chunk wherever records go.
  const buf = Buffer.allocUnsafe(fixedBytes);
  const chunks: Buffer[] = [];
  let chunkStart = 0;
  buf.writeInt32BE(fixedBytes + recordBytes - 4, 0);
  buf.writeInt32BE(correlationId, 4);
  buf[8] = 0; // response header v1: no tagged fields
  buf.writeInt32BE(body.throttleTimeMs ?? 0, 9);
  buf.writeInt16BE(body.errorCode ?? 0, 13);
  buf.writeInt32BE(body.sessionId ?? 0, 15);
  let at = putUvarint(buf, 19, responses.length + 1);
  for (const topic of responses) {
    if (byTopicId) {
      buf.set(topicIdBytes(topic.topicId), at);
      at += 16;
    } else {
      const name = topic.topic ?? '';
      const nameBytes = Buffer.byteLength(name, 'utf8');
      at = putUvarint(buf, at, nameBytes + 1);
      at += buf.write(name, at, 'utf8');
    }
    at = putUvarint(buf, at, topic.partitions.length + 1);
    for (const partition of topic.partitions) {
      buf.writeInt32BE(partition.partitionIndex, at);
      buf.writeInt16BE(partition.errorCode, at + 4);
      writeInt64(buf, at + 6, partition.highWatermark);
      writeInt64(buf, at + 14, partition.lastStableOffset ?? -1);
      writeInt64(buf, at + 22, partition.logStartOffset ?? -1);
      at += 30;
      const aborted = partition.abortedTransactions;
      if (aborted) {
        at = putUvarint(buf, at, aborted.length + 1);
        for (const transaction of aborted) {
          writeInt64(buf, at, transaction.producerId);
          writeInt64(buf, at + 8, transaction.firstOffset);
          buf[at + 16] = 0;
          at += 17;
        }
      } else buf[at++] = 0;
      buf.writeInt32BE(partition.preferredReadReplica ?? -1, at);
      at += 4;
      const records = partition.records;
      if (records) {
        at = putUvarint(buf, at, records.length + 1);
        if (records.length > 0) {
          chunks.push(buf.subarray(chunkStart, at));
          chunks.push(records);
          chunkStart = at;
        }
      } else buf[at++] = 0;
      if (
        partition.divergingEpoch === undefined &&
        partition.currentLeader === undefined &&
        partition.snapshotId === undefined
      )
        buf[at++] = 0;
      else at = writePartitionTags(buf, at, partition);
    }
    buf[at++] = 0; // topic: no tagged fields
  }
  at += tail.copy(buf, at);
  assert(at === fixedBytes, `fetch response sized ${fixedBytes} bytes, wrote ${at}`);
  if (at > chunkStart) chunks.push(buf.subarray(chunkStart, at));
  return { chunks, byteLength: fixedBytes + recordBytes };
}

/** A partition's tagged fields, by ascending tag; each value is a struct ending in its own
 * (empty) tagged-field section. Returns the position after them. */
function writePartitionTags(buf: Buffer, start: number, partition: FetchPartitionResponse): number {
  const diverging = partition.divergingEpoch;
  const leader = partition.currentLeader;
  const snapshot = partition.snapshotId;
  const hasDiverging = diverging !== undefined && isSet(diverging.epoch, diverging.endOffset);
  const hasLeader = leader !== undefined && isSet(leader.leaderId, leader.leaderEpoch);
  const hasSnapshot = snapshot !== undefined && isSet(snapshot.endOffset, snapshot.epoch);
  let at = start;
  buf[at++] = (hasDiverging ? 1 : 0) + (hasLeader ? 1 : 0) + (hasSnapshot ? 1 : 0);
  if (hasDiverging) {
    buf[at] = 0;
    buf[at + 1] = 13;
    buf.writeInt32BE(diverging.epoch ?? -1, at + 2);
    writeInt64(buf, at + 6, diverging.endOffset ?? -1);
    buf[at + 14] = 0;
    at += 15;
  }
  if (hasLeader) {
    buf[at] = 1;
    buf[at + 1] = 9;
    buf.writeInt32BE(leader.leaderId ?? -1, at + 2);
    buf.writeInt32BE(leader.leaderEpoch ?? -1, at + 6);
    buf[at + 10] = 0;
    at += 11;
  }
  if (hasSnapshot) {
    buf[at] = 2;
    buf[at + 1] = 13;
    writeInt64(buf, at + 2, snapshot.endOffset ?? -1);
    buf.writeInt32BE(snapshot.epoch ?? -1, at + 10);
    buf[at + 14] = 0;
    at += 15;
  }
  return at;
}
