import type { KafkaOffset, LogIndex, Term } from '../lib/ids.js';
import type { RetentionPolicy } from './options.js';

/**
 * A partition's data log as the rest of goqueue sees it (DESIGN decision 3): one entry is one
 * Kafka RecordBatch v2, addressed by `LogIndex` (Raft ordinal, contiguous, first entry 1) and
 * by `KafkaOffset` (records). The entry's Raft term is the batch's `partitionLeaderEpoch`.
 *
 * Durability stages, in order: `durableIndex <= lastIndex`. Appends land in the OS page cache;
 * `sync()` makes everything appended so far durable and returns the new `durableIndex`.
 * Nothing may be acknowledged to a client or a Raft peer before it is durable (decision 5).
 *
 * Appends, reads and truncations are synchronous (page-cache work); `sync` is asynchronous
 * because fsync runs off the JS thread.
 */
export interface PartitionLog {
  /** First entry still stored (`lastIndex + 1` when empty). */
  readonly firstIndex: LogIndex;
  /** Last entry stored (`firstIndex - 1` when empty; 0 for a new log). */
  readonly lastIndex: LogIndex;
  /** Highest entry known to be on disk. */
  readonly durableIndex: LogIndex;
  /** Kafka log start offset: base offset of the first stored batch. */
  readonly logStartOffset: KafkaOffset;
  /** Kafka log end offset: the offset the next appended batch must start at. */
  readonly nextOffset: KafkaOffset;
  /** Bytes stored over all segments. */
  readonly sizeBytes: number;

  /**
   * Appends whole batches as entries `lastIndex + 1 ...`. Each batch must already carry its
   * `baseOffset` (equal to `nextOffset` for the first, contiguous after) and its term in
   * `partitionLeaderEpoch`; the log validates header, CRC and contiguity and rejects the whole
   * call (log unchanged) with a `StorageError` if any batch is invalid.
   */
  append(batches: readonly Buffer[]): AppendResult;

  /** Term of entry `index`, or undefined when it is outside [firstIndex, lastIndex]. */
  termAt(index: LogIndex): Term | undefined;
  /** Base offset of entry `index`, or undefined when it is not stored. */
  offsetAt(index: LogIndex): KafkaOffset | undefined;
  /** Entry holding Kafka offset `offset`, or undefined when not stored. */
  indexOfOffset(offset: KafkaOffset): LogIndex | undefined;

  /** Entries [from, to] (inclusive) as separate buffers, stopping once `maxBytes` is passed
   * (at least one entry is returned when any exists). */
  readEntries(from: LogIndex, to: LogIndex, maxBytes: number): Buffer[];

  /**
   * Whole batches holding offsets >= `from`, concatenated, for a Kafka Fetch. Stops before a
   * batch whose base offset is >= `upTo` (e.g. the high watermark) and once `maxBytes` is
   * reached; the first batch is returned whole even when larger than `maxBytes` (KIP-74).
   */
  readFrom(from: KafkaOffset, maxBytes: number, upTo: KafkaOffset): Buffer;

  /** First offset whose batch max timestamp is >= `timestampMs`, or undefined. */
  offsetForTimestamp(timestampMs: number): KafkaOffset | undefined;

  /** Removes every entry after `index` (Raft conflict resolution). */
  truncateAfter(index: LogIndex): void;
  /** Removes whole segments entirely before `index`; returns the new `firstIndex`. */
  truncateBefore(index: LogIndex): LogIndex;

  /**
   * Empties the log and restarts it so the next entry is `firstIndex` at offset `nextOffset`
   * (installing a Raft snapshot that the log does not reach). Optional: NativeLog and MemoryLog
   * implement it; test doubles may not.
   */
  reset?(firstIndex: LogIndex, nextOffset: KafkaOffset): void;
  /**
   * Deletes the oldest whole segments by age and total size (never the active segment, never
   * entries at or after `policy.keepFrom`); returns the new `firstIndex`. Optional like `reset`.
   */
  applyRetention?(policy: RetentionPolicy): LogIndex;
  /** The first index `applyRetention` would keep, removing nothing (a replicated log snapshots
   * at the cut first). Optional like `applyRetention`. */
  retentionCut?(policy: RetentionPolicy): LogIndex;

  /** Makes every appended entry durable; resolves to the new `durableIndex`. */
  sync(): Promise<LogIndex>;
  /** Hands buffered appends to the OS without an fsync (fsync_enabled=false): they then survive
   * the process dying. Optional: a log without a buffer of its own has nothing to do. */
  writeBuffered?(): void;
  /** Syncs and closes files; the object is unusable afterwards. */
  close(): Promise<void>;
}

export interface AppendResult {
  firstIndex: LogIndex;
  lastIndex: LogIndex;
  /** Base offset of the first appended batch. */
  baseOffset: KafkaOffset;
  /** `nextOffset` after the append. */
  nextOffset: KafkaOffset;
}
