import type * as binding from '#native';
import type { KafkaOffset, LogIndex, Term } from '../lib/ids.js';
import { fromNative, native, StorageError } from './errors.js';
import { nativeBinding } from './native-binding.js';
import { type RetentionPolicy, resolveOptions, type StorageOptions } from './options.js';
import type { AppendResult, PartitionLog } from './partition-log.js';

export type RecoveryReport = binding.RecoveryReport;
export type ScrubCursor = binding.ScrubCursor;
export type ScrubStep = binding.ScrubStep;
export type SegmentFileCacheStats = binding.SegmentFileCacheStats;

/**
 * Counters of the process's cache of open segment files: every log's `.log`, `.index` and
 * `.timeindex` are opened on demand and the least recently used closed once `capacity` are open
 * (docs/storage.md, *Open files*).
 */
export function segmentFileCacheStats(): SegmentFileCacheStats {
  return nativeBinding().segmentFileCacheStats();
}

/** Sets how many segment files stay open at once (the broker sizes it from its fd budget). */
export function setSegmentFileCapacity(capacity: number): void {
  native(() => nativeBinding().setSegmentFileCapacity(capacity));
}

const OPEN_LOGS = new Set<NativeLog>();

/** Kafka's ceiling on one batch: stored batches are checked against it, not the topic's limit. */
const STORED_BATCH_BYTES_MAX = 2 ** 31 - 1;

/**
 * Throws a StorageError (CORRUPT_MESSAGE, ...) unless `batch` is exactly one whole, valid
 * RecordBatch (framing, magic, CRC32C, record count): a stored batch re-checked before it is
 * handed on.
 */
export function verifyStoredBatch(batch: Buffer): void {
  const { validateBatches } = nativeBinding();
  const batches = native(() => validateBatches(batch, STORED_BATCH_BYTES_MAX));
  if (batches.length !== 1)
    throw new StorageError('CORRUPT_MESSAGE', `${batches.length} batches where one was expected`);
}

/** Found damaged while read: the batch's first offset and its LogIndex. */
export interface DamagedRead {
  offset: number;
  index: number;
}

/** Told about every batch a read found damaged (the scrubber's repair listens). */
const DAMAGE_LISTENERS = new Set<(log: NativeLog, damaged: DamagedRead) => void>();

/** Batches `readEntries` returned although they failed their checks (a read's damaged first entry). */
const DAMAGED_BATCHES = new WeakSet<Buffer>();

/** Whether `batch`, returned by a `readEntries`, failed its checks (it is returned as read, to be sent). */
export function isDamagedRead(batch: Buffer): boolean {
  return DAMAGED_BATCHES.has(batch);
}

/** The offset after `batch`: its baseOffset plus lastOffsetDelta plus one. */
function nextOffsetAfter(batch: Buffer): number {
  return Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) + 1;
}

/** Splits concatenated whole batches into one buffer per batch (views, no copy). */
export function splitBatches(bytes: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    const end = at + 12 + bytes.readInt32BE(at + 8);
    batches.push(bytes.subarray(at, end));
    at = end;
  }
  return batches;
}

/**
 * PartitionLog on the native segmented log (crates/goqueue-storage): segment files in `dir`,
 * sparse indexes by LogIndex and KafkaOffset, a recovery point, fsync off the JS thread.
 * Every failure is a StorageError with a stable `code`.
 */
export class NativeLog implements PartitionLog {
  /** First offset of a batch the scrubber found damaged: reads from there on are refused. */
  private corruptFrom: number | null = null;

  private constructor(
    private readonly log: binding.Log,
    readonly directory: string,
  ) {
    OPEN_LOGS.add(this);
  }

  /** Opens (creating when missing) the log in `dir`; recovers a torn tail. */
  static open(dir: string, options?: StorageOptions): NativeLog {
    const { Log } = nativeBinding();
    return new NativeLog(
      native(() => Log.open(dir, resolveOptions(options))),
      dir,
    );
  }

  /** Every native log of this process that is open (what the scrubber walks). */
  static openLogs(): readonly NativeLog[] {
    return [...OPEN_LOGS];
  }

  /** One scrubber step from `cursor` (see the binding's `Log.scrub`). */
  scrub(cursor: ScrubCursor, maxBytes: number): ScrubStep {
    return native(() => this.log.scrub(cursor, maxBytes));
  }

  /**
   * Marks the batch at `offset` as damaged: reads stop before it and a read starting at or
   * after it fails with CORRUPT_MESSAGE, instead of serving bad bytes (or bytes a consumer
   * cannot parse and stalls on). Stays until the log is reopened (recovery then cuts it).
   */
  markCorrupt(offset: number): void {
    this.corruptFrom = Math.min(offset, this.corruptFrom ?? offset);
  }

  /**
   * Writes `batch`, another replica's copy of entry `index`, over the stored entry when it is
   * the same entry (offset, term and length agree: see the binding's `Log.repairBatch`),
   * fdatasynced and read back; false when the stored bytes were already equal. The corrupt mark
   * stays: the caller clears it once the range verifies again.
   */
  repairBatch(index: LogIndex, batch: Buffer): boolean {
    return native(() => this.log.repairBatch(index, batch));
  }

  /** Drops the corrupt mark (after a repair; the scrubber marks again what still fails). */
  clearCorrupt(): void {
    this.corruptFrom = null;
  }

  /** The first offset reads refuse, or null when the log is whole as far as is known. */
  get corruptOffset(): number | null {
    return this.corruptFrom;
  }

  get firstIndex(): LogIndex {
    return native(() => this.log.firstIndex) as LogIndex;
  }
  get lastIndex(): LogIndex {
    return native(() => this.log.lastIndex) as LogIndex;
  }
  get durableIndex(): LogIndex {
    return native(() => this.log.durableIndex) as LogIndex;
  }
  get logStartOffset(): KafkaOffset {
    return native(() => this.log.logStartOffset) as KafkaOffset;
  }
  get nextOffset(): KafkaOffset {
    return native(() => this.log.nextOffset) as KafkaOffset;
  }
  get sizeBytes(): number {
    return native(() => this.log.sizeBytes);
  }
  /** Segment files in use. */
  get segmentCount(): number {
    return native(() => this.log.segmentCount);
  }
  /** What recovery found at open: scanned and cut bytes, why, rebuilt indexes. */
  get recovery(): RecoveryReport {
    return native(() => this.log.recovery);
  }

  append(batches: readonly Buffer[]): AppendResult {
    const result = native(() => this.log.append(batches as Buffer[]));
    return {
      firstIndex: result.firstIndex as LogIndex,
      lastIndex: result.lastIndex as LogIndex,
      baseOffset: result.baseOffset as KafkaOffset,
      nextOffset: result.nextOffset as KafkaOffset,
    };
  }

  termAt(index: LogIndex): Term | undefined {
    return (native(() => this.log.termAt(index)) ?? undefined) as Term | undefined;
  }
  offsetAt(index: LogIndex): KafkaOffset | undefined {
    return (native(() => this.log.offsetAt(index)) ?? undefined) as KafkaOffset | undefined;
  }
  indexOfOffset(offset: KafkaOffset): LogIndex | undefined {
    return (native(() => this.log.indexOfOffset(offset)) ?? undefined) as LogIndex | undefined;
  }

  /**
   * Entries `[from, to]` (Raft reads them to send to followers and to apply). Each batch is
   * checked again (CRC32C, its term against the term map, and its baseOffset against the
   * previous batch's end) since it may have rotted on disk after it was written: the entries
   * before a damaged one are returned, the batch is marked
   * (`markCorrupt`) and the damage listeners are told, so it gets repaired from a peer. When the
   * first entry itself is damaged it is returned as read (Raft needs at least one entry, to
   * send): `isDamagedRead` says so, a follower refuses it (src/cluster/entry-integrity.ts) and
   * Raft does not apply it (src/raft/log.ts `nextCommittedEntries`) until the repair.
   */
  readEntries(from: LogIndex, to: LogIndex, maxBytes: number): Buffer[] {
    // Through `isDamagedRead`, Raft's storage tells a damaged first entry from a whole one.
    const bytes = native(() => this.log.readEntries(from, to, maxBytes));
    const batches = splitBatches(bytes);
    // One native pass over the whole read, building nothing; batch by batch only to find a
    // damaged one. (A report per batch cost ~2.5 µs each: bench raft-read-validation.)
    const whole = native(() => nativeBinding().batchesAreValid(bytes, STORED_BATCH_BYTES_MAX));
    // Terms never go down along a log: when the read's first and last entries have the same
    // term, so has every entry between, and the term map need not be asked per batch.
    const lastAt = batches.length - 1;
    const firstTerm = batches.length > 0 ? this.termAt(from) : undefined;
    const oneTerm =
      batches.length > 0 && firstTerm === this.termAt((from + lastAt) as LogIndex) ? firstTerm : undefined;
    for (let at = 0; at < batches.length; at++) {
      const batch = batches[at]!;
      const index = from + at;
      const entryTerm = oneTerm ?? this.termAt(index as LogIndex);
      let damaged = batch.length < 61 || batch.readInt32BE(12) !== entryTerm;
      if (!damaged && !whole)
        try {
          verifyStoredBatch(batch);
        } catch {
          damaged = true;
        }
      if (damaged) {
        const offset = at > 0 ? nextOffsetAfter(batches[at - 1]!) : this.offsetBefore(index as LogIndex);
        return this.damagedRead(batches, at, { offset, index });
      }
      if (at > 0 && Number(batch.readBigInt64BE(0)) !== nextOffsetAfter(batches[at - 1]!)) {
        // The batches do not continue each other: one of the two baseOffsets (outside the CRC)
        // rotted. The storage core tells which, from what precedes them.
        const expected = this.expectedOffsetAt(index as LogIndex);
        if (expected === undefined) continue;
        if (Number(batch.readBigInt64BE(0)) !== expected)
          return this.damagedRead(batches, at, { offset: expected, index });
        const previous = this.expectedOffsetAt((index - 1) as LogIndex);
        if (previous !== undefined)
          return this.damagedRead(batches, at - 1, { offset: previous, index: index - 1 });
      }
    }
    return batches;
  }

  /** Marks `damaged` (batch `at` of `batches`), tells the listeners, returns what may be served. */
  private damagedRead(batches: Buffer[], at: number, damaged: DamagedRead): Buffer[] {
    this.markCorrupt(damaged.offset);
    for (const listener of DAMAGE_LISTENERS) listener(this, damaged);
    if (at > 0) return batches.slice(0, at);
    DAMAGED_BATCHES.add(batches[0]!);
    return batches.slice(0, 1);
  }

  /** The base offset entry `index` must have (the binding's `expectedOffsetAt`), if it can tell. */
  private expectedOffsetAt(index: LogIndex): number | undefined {
    try {
      return this.log.expectedOffsetAt(index);
    } catch {
      return undefined;
    }
  }

  /** Listens for batches reads find damaged (in any open log); returns the unsubscribe. */
  static onDamage(listener: (log: NativeLog, damaged: DamagedRead) => void): () => void {
    DAMAGE_LISTENERS.add(listener);
    return () => DAMAGE_LISTENERS.delete(listener);
  }

  /** The offset entry `index` starts at, from the entry before it (or the log's start). */
  private offsetBefore(index: LogIndex): number {
    if (index <= this.firstIndex) return this.logStartOffset;
    const previous = splitBatches(native(() => this.log.readEntries(index - 1, index - 1, 0)))[0];
    return previous === undefined ? this.logStartOffset : nextOffsetAfter(previous);
  }

  readFrom(from: KafkaOffset, maxBytes: number, upTo: KafkaOffset): Buffer {
    const corrupt = this.corruptFrom;
    if (corrupt !== null) {
      if (from >= corrupt)
        throw new StorageError(
          'CORRUPT_MESSAGE',
          `the batch at offset ${corrupt} of ${this.directory} failed its CRC32C check; reads from there are refused until it is repaired`,
        );
      return native(() => this.log.readFrom(from, maxBytes, Math.min(upTo, corrupt)));
    }
    return native(() => this.log.readFrom(from, maxBytes, upTo));
  }

  offsetForTimestamp(timestampMs: number): KafkaOffset | undefined {
    return (native(() => this.log.offsetForTimestamp(timestampMs)) ?? undefined) as KafkaOffset | undefined;
  }

  truncateAfter(index: LogIndex): void {
    native(() => this.log.truncateAfter(index));
    this.forgetRemovedDamage();
  }
  truncateBefore(index: LogIndex): LogIndex {
    const first = native(() => this.log.truncateBefore(index)) as LogIndex;
    this.forgetRemovedDamage();
    return first;
  }

  reset(firstIndex: LogIndex, nextOffset: KafkaOffset): void {
    native(() => this.log.reset(firstIndex, nextOffset));
    this.forgetRemovedDamage();
  }

  /** Drops the corrupt mark once its batch is no longer stored (cut, released or replaced):
   * reads from the offsets after it would otherwise be refused until the next restart. */
  private forgetRemovedDamage(): void {
    const corrupt = this.corruptFrom;
    if (corrupt !== null && (corrupt < this.logStartOffset || corrupt >= this.nextOffset))
      this.corruptFrom = null;
  }

  applyRetention(policy: RetentionPolicy): LogIndex {
    const keepFrom = policy.keepFrom ?? Number.POSITIVE_INFINITY;
    const first = native(() =>
      this.log.applyRetention(policy.nowMs, policy.retentionMs, policy.retentionBytes, keepFrom),
    ) as LogIndex;
    this.forgetRemovedDamage();
    return first;
  }

  retentionCut(policy: RetentionPolicy): LogIndex {
    const keepFrom = policy.keepFrom ?? Number.POSITIVE_INFINITY;
    return native(() =>
      this.log.retentionCut(policy.nowMs, policy.retentionMs, policy.retentionBytes, keepFrom),
    ) as LogIndex;
  }

  /** Starts a new segment (no-op when the active one is empty). */
  roll(): void {
    native(() => this.log.roll());
  }

  /** Term starts: each term's first LogIndex and KafkaOffset. */
  termStarts(): Array<{ term: Term; firstIndex: LogIndex; firstOffset: KafkaOffset }> {
    return native(() => this.log.termStarts()) as Array<{
      term: Term;
      firstIndex: LogIndex;
      firstOffset: KafkaOffset;
    }>;
  }

  /** Writes buffered appends to the file without an fsync (survives kill -9, not power loss). */
  writeBuffered(): void {
    try {
      this.log.writeBuffered();
    } catch (error) {
      throw fromNative(error);
    }
  }

  async sync(): Promise<LogIndex> {
    let pending: Promise<number>;
    try {
      pending = this.log.prepareSync().run();
    } catch (error) {
      throw fromNative(error);
    }
    try {
      return (await pending) as LogIndex;
    } catch (error) {
      throw fromNative(error);
    }
  }

  async close(): Promise<void> {
    OPEN_LOGS.delete(this);
    native(() => this.log.close());
  }
}
