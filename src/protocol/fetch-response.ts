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

/** Fetch v12+: compact encodings and tagged fields, same chunking as the v0-11 path. */
function writeFlexibleFetchResponse(
  apiVersion: number,
  correlationId: number,
  body: FetchResponse,
): { chunks: Buffer[]; byteLength: number } {
  const byTopicId = apiVersion >= 13;
  const responses = body.responses;
  if (!Array.isArray(responses))
    throw new ProtocolError(ErrorCode.INVALID_REQUEST, 'fetch response without responses');
  const writer = new Writer(64 + 64 * responses.length);
  const sizeAt = writer.reserveInt32();
  writer.int32(correlationId);
  writer.unsignedVarint(0); // response header v1: no tagged fields
  writer.int32(body.throttleTimeMs ?? 0);
  writer.int16(body.errorCode ?? 0);
  writer.int32(body.sessionId ?? 0);
  writer.unsignedVarint(responses.length + 1);
  // Where each partition's records go: the writer's buffer may move while growing, so the cuts
  // are kept as offsets and turned into views at the end.
  const cutAt: number[] = [];
  const cutRecords: Buffer[] = [];
  let recordBytes = 0;
  for (const topic of responses) {
    if (byTopicId) writer.uuid(topic.topicId);
    else writer.compactString(topic.topic ?? '');
    writer.unsignedVarint(topic.partitions.length + 1);
    for (const partition of topic.partitions) {
      writer.int32(partition.partitionIndex);
      writer.int16(partition.errorCode);
      writer.int64(partition.highWatermark);
      writer.int64(partition.lastStableOffset ?? -1);
      writer.int64(partition.logStartOffset ?? -1);
      const aborted = partition.abortedTransactions;
      if (aborted) {
        writer.unsignedVarint(aborted.length + 1);
        for (const transaction of aborted) {
          writer.int64(transaction.producerId);
          writer.int64(transaction.firstOffset);
          writer.unsignedVarint(0);
        }
      } else {
        writer.unsignedVarint(0);
      }
      writer.int32(partition.preferredReadReplica ?? -1);
      const records = partition.records;
      if (records) {
        writer.unsignedVarint(records.length + 1);
        if (records.length > 0) {
          cutAt.push(writer.offset);
          cutRecords.push(records);
          recordBytes += records.length;
        }
      } else {
        writer.unsignedVarint(0);
      }
      writePartitionTags(writer, partition);
    }
    writer.unsignedVarint(0);
  }
  const endpoints = apiVersion >= 16 ? body.nodeEndpoints : undefined;
  if (endpoints && endpoints.length > 0) {
    const inner = new Writer(32 * endpoints.length);
    inner.unsignedVarint(endpoints.length + 1);
    for (const endpoint of endpoints) {
      inner.int32(endpoint.nodeId);
      inner.compactString(endpoint.host);
      inner.int32(endpoint.port);
      inner.compactString(endpoint.rack);
      inner.unsignedVarint(0);
    }
    writer.unsignedVarint(1);
    writer.unsignedVarint(0);
    writer.unsignedVarint(inner.offset);
    writer.raw(inner.finish());
  } else {
    writer.unsignedVarint(0);
  }
  const byteLength = writer.offset + recordBytes;
  writer.patchInt32(sizeAt, byteLength - 4);
  const bytes = writer.finish();
  const chunks: Buffer[] = [];
  let chunkStart = 0;
  for (let i = 0; i < cutAt.length; i++) {
    chunks.push(bytes.subarray(chunkStart, cutAt[i]));
    chunks.push(cutRecords[i]!);
    chunkStart = cutAt[i]!;
  }
  if (bytes.length > chunkStart) chunks.push(bytes.subarray(chunkStart));
  return { chunks, byteLength };
}

/** A partition's tagged fields, by ascending tag; each value is a struct ending in its own
 * (empty) tagged-field section. */
function writePartitionTags(writer: Writer, partition: FetchPartitionResponse): void {
  const diverging = partition.divergingEpoch;
  const leader = partition.currentLeader;
  const snapshot = partition.snapshotId;
  const hasDiverging = diverging !== undefined && isSet(diverging.epoch, diverging.endOffset);
  const hasLeader = leader !== undefined && isSet(leader.leaderId, leader.leaderEpoch);
  const hasSnapshot = snapshot !== undefined && isSet(snapshot.endOffset, snapshot.epoch);
  writer.unsignedVarint((hasDiverging ? 1 : 0) + (hasLeader ? 1 : 0) + (hasSnapshot ? 1 : 0));
  if (hasDiverging) {
    writer.unsignedVarint(0).unsignedVarint(13);
    writer
      .int32(diverging.epoch ?? -1)
      .int64(diverging.endOffset ?? -1)
      .unsignedVarint(0);
  }
  if (hasLeader) {
    writer.unsignedVarint(1).unsignedVarint(9);
    writer
      .int32(leader.leaderId ?? -1)
      .int32(leader.leaderEpoch ?? -1)
      .unsignedVarint(0);
  }
  if (hasSnapshot) {
    writer.unsignedVarint(2).unsignedVarint(13);
    writer
      .int64(snapshot.endOffset ?? -1)
      .int32(snapshot.epoch ?? -1)
      .unsignedVarint(0);
  }
}
