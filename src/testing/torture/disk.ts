/**
 * What the harness does to and reads from a stopped broker's data directory: the partition logs
 * of the torture topic (`<dataDir>/partitions/<topicId>-<partition>`), through the storage core.
 *
 * - `loseUnsyncedTail`: a power loss. The storage core does not persist how far each log was
 *   fsynced (its `durableIndex` lives in the process), so the harness drops a random number of
 *   the last entries of each log (at most `entriesMax`), never at or below the entry the
 *   replica's raft-state file says was committed. That is at least what a power loss may lose,
 *   and possibly more (entries this replica had fsynced and acknowledged), which is why the
 *   nemesis does it only to partitions the broker follows, one broker at a time.
 * - `corruptTail`: a torn tail (the last bytes of the active segment cut) or a flipped bit in
 *   its last bytes, after the stored commit (`corrupt`) or anywhere there (`bitrot`). Recovery
 *   must cut the log at the last whole, valid batch.
 * - `readPartitions`: every record of every partition log, to compare replicas after a run.
 */
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRaftState, RAFT_STATE_FILE } from '../../cluster/durable-raft-storage.js';
import { type KafkaOffset, kafkaOffset, logIndex } from '../../lib/ids.js';
import type { Prng } from '../../lib/prng.js';
import { decodeRecordBatches } from '../../protocol/records.js';
import { NativeLog } from '../../storage/native-log.js';

/** Partition directory names under `<dataDir>/partitions`. */
export function partitionDirectories(dataDir: string): string[] {
  const root = join(dataDir, 'partitions');
  return existsSync(root) ? readdirSync(root) : [];
}

/** `<topicId>-<partition>` → the topic id and partition. */
export function parsePartitionDirectory(name: string): { topicId: string; partition: number } | null {
  const dash = name.lastIndexOf('-');
  const partition = Number(name.slice(dash + 1));
  return dash > 0 && Number.isInteger(partition) ? { topicId: name.slice(0, dash), partition } : null;
}

/** Bytes of a batch before what `batchLength` counts: baseOffset (8) + batchLength (4). */
const BATCH_LOG_OVERHEAD_BYTES = 12;

function logDirectory(dataDir: string, topicId: string, partition: number): string {
  return join(dataDir, 'partitions', `${topicId}-${partition}`);
}

export interface DiskFaultResult {
  partition: number;
  what: string;
}

export async function loseUnsyncedTail(options: {
  dataDir: string;
  topicId: string;
  partitions: readonly number[];
  prng: Prng;
  entriesMax: number;
}): Promise<DiskFaultResult[]> {
  const results: DiskFaultResult[] = [];
  for (const partition of options.partitions) {
    const dir = logDirectory(options.dataDir, options.topicId, partition);
    const dropped = options.prng.int(1, options.entriesMax);
    if (!existsSync(dir)) continue;
    const statePath = join(dir, RAFT_STATE_FILE);
    const committed = existsSync(statePath) ? decodeRaftState(readFileSync(statePath)).hardState.commit : 0;
    const log = NativeLog.open(dir);
    try {
      const keepThrough = Math.max(log.lastIndex - dropped, committed, log.firstIndex - 1);
      if (keepThrough < log.lastIndex) {
        results.push({
          partition,
          what: `dropped entries ${keepThrough + 1}..${log.lastIndex} (commit ${committed})`,
        });
        log.truncateAfter(logIndex(keepThrough));
      }
    } finally {
      await log.close();
    }
  }
  return results;
}

/**
 * Byte position in the single segment of a log where entry `index` + 1 starts (entries are
 * batches back to back from LogIndex 1), or null when the log has several segments or does not
 * start at offset 0 (the harness then leaves it alone).
 */
function positionAfterEntry(
  bytes: Buffer,
  segmentCount: number,
  segmentName: string,
  index: number,
): number | null {
  if (segmentCount !== 1 || Number(segmentName.slice(0, -'.log'.length)) !== 0) return null;
  let at = 0;
  for (let entry = 1; entry <= index && at + BATCH_LOG_OVERHEAD_BYTES <= bytes.length; entry++)
    at += BATCH_LOG_OVERHEAD_BYTES + bytes.readInt32BE(at + 8);
  return Math.min(at, bytes.length);
}

/**
 * Where the log's recovery point says `segment` is known whole and durable (`position`, a u64
 * big-endian at byte 32 of `recovery-point`, docs/storage.md), when the point is in that segment.
 * Recovery trusts those bytes without scanning them, as it may: they were fsynced.
 */
function recoveryPointPosition(dir: string, segment: string): number | null {
  const path = join(dir, 'recovery-point');
  if (!existsSync(path)) return null;
  const point = readFileSync(path);
  if (point.length < 40 || point.toString('latin1', 0, 4) !== 'GQRP') return null;
  const segmentBaseOffset = Number(point.readBigUInt64BE(24));
  return segmentBaseOffset === Number(segment.slice(0, -'.log'.length))
    ? Number(point.readBigUInt64BE(32))
    : null;
}

/**
 * Tears the tail of the active segment or flips one bit in it. With `committedToo` false (the
 * `corrupt` nemesis) only bytes after the entry the replica's raft-state file says was
 * committed and after the recovery point's position are touched: what a power loss mid-write can
 * damage, since entries are fsynced before the HardState covering them and before a point. With `committedToo` true (`bitrot`) the last 512 bytes may be hit
 * wherever they are: disk corruption of data already fsynced and committed, which Raft does not
 * promise to survive on its own.
 */
export function corruptTail(options: {
  dataDir: string;
  topicId: string;
  partitions: readonly number[];
  prng: Prng;
  committedToo: boolean;
}): DiskFaultResult[] {
  const results: DiskFaultResult[] = [];
  for (const partition of options.partitions) {
    const dir = logDirectory(options.dataDir, options.topicId, partition);
    if (!existsSync(dir)) continue;
    const segments = readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .sort();
    const active = segments[segments.length - 1];
    if (active === undefined) continue;
    const path = join(dir, active);
    const bytes = readFileSync(path);
    const size = bytes.length;
    const tornBytes = options.prng.int(1, Math.min(Math.max(size, 1), 300));
    const flipFromEnd = options.prng.int(1, Math.min(Math.max(size, 1), 512));
    const flipBit = options.prng.int(0, 7);
    const torn = options.prng.chance(0.5);
    let floor = 0;
    if (!options.committedToo) {
      const statePath = join(dir, RAFT_STATE_FILE);
      const committed = existsSync(statePath) ? decodeRaftState(readFileSync(statePath)).hardState.commit : 0;
      const after = positionAfterEntry(bytes, segments.length, active, committed);
      if (after === null || after >= size) {
        results.push({
          partition,
          what: `left alone: nothing after the stored commit ${committed} in ${active}`,
        });
        continue;
      }
      floor = Math.max(after, recoveryPointPosition(dir, active) ?? 0);
      if (floor >= size) {
        results.push({
          partition,
          what: `left alone: ${active} is synced whole (recovery point at its end)`,
        });
        continue;
      }
    }
    if (torn) {
      const cutTo = Math.max(floor, size - tornBytes);
      truncateSync(path, cutTo);
      results.push({ partition, what: `torn tail: ${active} cut from ${size} to ${cutTo} bytes` });
    } else {
      const flipAt = Math.max(floor, size - flipFromEnd);
      bytes[flipAt] = (bytes[flipAt] as number) ^ (1 << flipBit);
      writeFileSync(path, bytes);
      results.push({
        partition,
        what: `bit ${flipBit} of byte ${flipAt} of ${active} (${size} bytes) flipped`,
      });
    }
  }
  return results;
}

export interface ReplicaContents {
  /** partition → offset → value. */
  records: Map<number, Map<number, string>>;
  /** Batches whose CRC32C does not hold (corruption recovery kept), as `partition:offset`. */
  corruptBatches: string[];
}

/** Every data record of the torture topic's logs on this broker, and every batch failing its CRC. */
export async function readPartitions(dataDir: string, topicId: string): Promise<ReplicaContents> {
  const contents: ReplicaContents = { records: new Map(), corruptBatches: [] };
  for (const name of partitionDirectories(dataDir)) {
    const parsed = parsePartitionDirectory(name);
    if (parsed === null || parsed.topicId !== topicId) continue;
    const records = new Map<number, string>();
    let log: NativeLog;
    try {
      log = NativeLog.open(join(dataDir, 'partitions', name));
    } catch (error) {
      contents.corruptBatches.push(
        `${parsed.partition}: the log does not open (${(error as Error).message})`,
      );
      continue;
    }
    try {
      let from: KafkaOffset = log.logStartOffset;
      const end = log.nextOffset;
      while (from < end) {
        let bytes: Buffer;
        try {
          bytes = log.readFrom(from, 1024 * 1024, end);
        } catch (error) {
          contents.corruptBatches.push(
            `${parsed.partition}:${from} (the storage core: ${(error as Error).message})`,
          );
          // Skip that one entry and read on.
          const index = log.indexOfOffset(from);
          const after = index === undefined ? undefined : log.offsetAt(logIndex(index + 1));
          if (after === undefined || after <= from) break;
          from = after;
          continue;
        }
        if (bytes.length < BATCH_LOG_OVERHEAD_BYTES) break;
        let next = from;
        // One batch at a time, so a corrupt one is reported and the rest still read.
        for (let at = 0; at + BATCH_LOG_OVERHEAD_BYTES <= bytes.length; ) {
          const total = BATCH_LOG_OVERHEAD_BYTES + bytes.readInt32BE(at + 8);
          if (total <= BATCH_LOG_OVERHEAD_BYTES || at + total > bytes.length) break;
          const baseOffset = Number(bytes.readBigInt64BE(at));
          // lastOffsetDelta (byte 23) is under the CRC; baseOffset is not, so it is checked
          // against where the previous batch ended.
          const expectedNext = kafkaOffset(next + Math.max(0, bytes.readInt32BE(at + 23)) + 1);
          try {
            if (baseOffset !== next) throw new Error(`baseOffset ${baseOffset} where ${next} was expected`);
            for (const batch of decodeRecordBatches(bytes.subarray(at, at + total))) {
              if (batch.isControl) continue;
              for (const record of batch.records) records.set(record.offset, record.value?.toString() ?? '');
            }
          } catch (error) {
            contents.corruptBatches.push(`${parsed.partition}:${next} (${(error as Error).message})`);
          }
          next = expectedNext;
          at += total;
        }
        if (next <= from) break;
        from = next;
      }
    } finally {
      await log.close();
    }
    contents.records.set(parsed.partition, records);
  }
  return contents;
}
