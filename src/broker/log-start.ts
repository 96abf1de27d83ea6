/**
 * DeleteRecords under Raft: "the log starts at offset X" is an entry of the partition's own Raft
 * log, so every replica applies the same log start at the same point, a restart replays it and a
 * new leader has it (leader completeness). The entry is a Kafka control batch (clients skip it,
 * like the leader's no-op) of one record whose key is `version: int16 = 0, type: int16 = 102`
 * (goqueue's control types start at 100, src/raft/entry.ts) and whose value is `logStartOffset:
 * int64`. To Raft it is an ordinary entry (type 102 is not one of its own).
 *
 * Each replica keeps the highest applied log start in `log-start-offset` in the partition
 * directory (magic "GQLS", version u8, logStartOffset u64, index u64 of the entry that set it,
 * crc32c u32; replaced atomically), because a restart applies again only the entries after the
 * replica's producer checkpoint or snapshot. Records below the log start are hidden at once; the
 * whole segments below it are released through a Raft snapshot (as retention does).
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type KafkaOffset, kafkaOffset, type LogIndex, logIndex, term } from '../lib/ids.js';
import { ATTRIBUTE_CONTROL, BATCH_HEADER_BYTES, BatchField } from '../lib/record-batch-header.js';
import { crc32c } from '../protocol/crc32c.js';
import { encodeSingleRecordBatch, readSingleRecord } from '../raft/entry.js';

/** Control record type of a log-start entry (Kafka's own types are 0-6, Raft's 100-101). */
export const CONTROL_TYPE_LOG_START = 102;
const CONTROL_RECORD_VERSION = 0;
const OFFSET_BYTES = 8;

/** The control batch proposing "records below `offset` are deleted" (offsets stamped on append). */
export function encodeLogStartBatch(offset: KafkaOffset): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(CONTROL_TYPE_LOG_START, 2);
  const value = Buffer.alloc(OFFSET_BYTES);
  value.writeBigInt64BE(BigInt(offset));
  // No timestamp (Kafka's -1), like Raft's own control batches: retention by time ignores it.
  return encodeSingleRecordBatch({ term: term(0), timestampMs: -1, control: true, key, value });
}

/** The log start a stored batch sets, or undefined when it is not a log-start entry. */
export function logStartOfBatch(batch: Uint8Array): KafkaOffset | undefined {
  if (batch.length < BATCH_HEADER_BYTES) return undefined;
  const view = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  if ((view.readInt16BE(BatchField.attributes) & ATTRIBUTE_CONTROL) === 0) return undefined;
  if (view.readInt32BE(BatchField.recordsCount) !== 1) return undefined;
  try {
    const { key, value } = readSingleRecord(view);
    if (key === null || key.length < 4 || value === null || value.length !== OFFSET_BYTES) return undefined;
    const keyView = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    if (keyView.readInt16BE(2) !== CONTROL_TYPE_LOG_START) return undefined;
    const offset = Number(Buffer.from(value.buffer, value.byteOffset, value.byteLength).readBigInt64BE(0));
    return offset >= 0 && Number.isSafeInteger(offset) ? kafkaOffset(offset) : undefined;
  } catch {
    return undefined; // not a well-formed single record: a Kafka control batch of another kind
  }
}

export const LOG_START_FILE = 'log-start-offset';
const FILE_MAGIC = Buffer.from('GQLS', 'latin1');
const FILE_VERSION = 1;
const FILE_BYTES = 4 + 1 + 8 + 8 + 4;

/** The applied log start of one replica and the entry that set it. */
export interface AppliedLogStart {
  offset: KafkaOffset;
  index: LogIndex;
}

export function encodeLogStartFile(state: AppliedLogStart): Buffer {
  const out = Buffer.alloc(FILE_BYTES);
  FILE_MAGIC.copy(out, 0);
  out.writeUInt8(FILE_VERSION, 4);
  out.writeBigUInt64BE(BigInt(state.offset), 5);
  out.writeBigUInt64BE(BigInt(state.index), 13);
  out.writeUInt32BE(crc32c(out, 0, FILE_BYTES - 4), FILE_BYTES - 4);
  return out;
}

/** Decodes `encodeLogStartFile`'s bytes; throws a message naming what is wrong. */
export function decodeLogStartFile(bytes: Buffer): AppliedLogStart {
  if (bytes.length !== FILE_BYTES) throw new Error(`${LOG_START_FILE} has ${bytes.length} bytes`);
  if (!bytes.subarray(0, 4).equals(FILE_MAGIC)) throw new Error(`${LOG_START_FILE} has a wrong magic`);
  if (bytes.readUInt8(4) !== FILE_VERSION) throw new Error(`${LOG_START_FILE} version is unknown`);
  if (crc32c(bytes, 0, FILE_BYTES - 4) !== bytes.readUInt32BE(FILE_BYTES - 4))
    throw new Error(`${LOG_START_FILE} fails its CRC`);
  return {
    offset: kafkaOffset(Number(bytes.readBigUInt64BE(5))),
    index: logIndex(Number(bytes.readBigUInt64BE(13))),
  };
}

/**
 * The `log-start-offset` file of one partition directory. It is written synchronously when an
 * entry is applied (a rare admin entry: one small fsync'd file on the event loop), so nothing
 * that lets a restart skip the entry (a producer checkpoint, a snapshot taken here or installed
 * from the leader) can be durable before it.
 */
export class LogStartFile {
  constructor(readonly directory: string) {}

  /** The saved log start; undefined when there is none. A damaged file throws (the caller
   * refuses to open the replica rather than serve records that were deleted). */
  async read(): Promise<AppliedLogStart | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.directory, LOG_START_FILE));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return decodeLogStartFile(bytes);
  }

  /** Replaces the file with `state` and makes it durable (temporary file, fsync, rename,
   * directory fsync); throws when the disk refuses. */
  save(state: AppliedLogStart): void {
    const path = join(this.directory, LOG_START_FILE);
    const temporary = `${path}.tmp`;
    const file = openSync(temporary, 'w');
    try {
      writeSync(file, encodeLogStartFile(state));
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
    renameSync(temporary, path);
    const directory = openSync(this.directory, 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }
}
