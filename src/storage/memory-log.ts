import type { KafkaOffset, LogIndex, Term } from '../lib/ids.js';
import { BATCH_LOG_OVERHEAD_BYTES } from '../protocol/record-batch-header.js';
import { validateBatchAt } from './batch-validation.js';
import { StorageError } from './errors.js';
import { DEFAULT_MAX_BATCH_BYTES, type RetentionPolicy } from './options.js';
import type { AppendResult, PartitionLog } from './partition-log.js';

interface Entry {
  bytes: Buffer;
  baseOffset: number;
  nextOffset: number;
  term: number;
  maxTimestamp: number;
}

/**
 * PartitionLog in memory with the native log's validation and errors, for pure tests and the
 * simulator. Every entry behaves as its own segment, so `truncateBefore(i)` drops exactly the
 * entries before `i`. `sync` makes everything durable at once.
 */
export class MemoryLog implements PartitionLog {
  private entries: Entry[] = [];
  private first = 1;
  private startOffset = 0;
  private durable = 0;
  private closed = false;
  private readonly maxBatchBytes: number;

  constructor(options: { maxBatchBytes?: number } = {}) {
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  }

  private open(): void {
    if (this.closed) throw new StorageError('LOG_CLOSED', 'log is closed');
  }

  get firstIndex(): LogIndex {
    return this.first as LogIndex;
  }
  get lastIndex(): LogIndex {
    return (this.first + this.entries.length - 1) as LogIndex;
  }
  get durableIndex(): LogIndex {
    return Math.min(this.durable, this.lastIndex) as LogIndex;
  }
  get logStartOffset(): KafkaOffset {
    return (this.entries[0]?.baseOffset ?? this.startOffset) as KafkaOffset;
  }
  get nextOffset(): KafkaOffset {
    return (this.entries.at(-1)?.nextOffset ?? this.startOffset) as KafkaOffset;
  }
  get sizeBytes(): number {
    return this.entries.reduce((sum, e) => sum + e.bytes.length, 0);
  }

  append(batches: readonly Buffer[]): AppendResult {
    this.open();
    if (batches.length === 0) throw new StorageError('INVALID_ARGUMENT', 'append needs at least one batch');
    const added: Entry[] = [];
    let expected: number = this.nextOffset;
    let lastTerm = this.entries.at(-1)?.term;
    batches.forEach((bytes, i) => {
      let header: ReturnType<typeof validateBatchAt>;
      try {
        header = validateBatchAt(bytes, 0, this.maxBatchBytes);
      } catch (error) {
        if (error instanceof StorageError)
          throw new StorageError(error.code, `batch ${i} at byte 0: ${error.message}`);
        throw error;
      }
      const total = header.batchLength + BATCH_LOG_OVERHEAD_BYTES;
      if (total !== bytes.length)
        throw new StorageError(
          'CORRUPT_MESSAGE',
          `batch ${i}: buffer holds ${bytes.length} bytes but batchLength gives ${total}; pass one batch per buffer`,
        );
      if (header.baseOffset !== expected)
        throw new StorageError(
          'INVALID_OFFSET',
          `batch ${i}: baseOffset ${header.baseOffset} but the log expects ${expected}`,
        );
      const term = header.partitionLeaderEpoch;
      if (term < 0 || (lastTerm !== undefined && term < lastTerm))
        throw new StorageError(
          'INVALID_RECORD',
          `batch ${i}: partitionLeaderEpoch ${term} is below the term ${lastTerm ?? 0} of the previous entry`,
        );
      lastTerm = term;
      expected = header.baseOffset + header.lastOffsetDelta + 1;
      added.push({
        bytes: Buffer.from(bytes),
        baseOffset: header.baseOffset,
        nextOffset: expected,
        term,
        maxTimestamp: header.maxTimestamp,
      });
    });
    const firstIndex = (this.lastIndex + 1) as LogIndex;
    const baseOffset = this.nextOffset;
    this.entries.push(...added);
    return { firstIndex, lastIndex: this.lastIndex, baseOffset, nextOffset: this.nextOffset };
  }

  private entry(index: number): Entry | undefined {
    return index >= this.first ? this.entries[index - this.first] : undefined;
  }

  termAt(index: LogIndex): Term | undefined {
    this.open();
    return this.entry(index)?.term as Term | undefined;
  }
  offsetAt(index: LogIndex): KafkaOffset | undefined {
    this.open();
    return this.entry(index)?.baseOffset as KafkaOffset | undefined;
  }
  indexOfOffset(offset: KafkaOffset): LogIndex | undefined {
    this.open();
    const at = this.findOffset(offset);
    return at === undefined ? undefined : ((this.first + at) as LogIndex);
  }

  private findOffset(offset: number): number | undefined {
    let low = 0;
    let high = this.entries.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const entry = this.entries[mid]!;
      if (offset < entry.baseOffset) high = mid - 1;
      else if (offset >= entry.nextOffset) low = mid + 1;
      else return mid;
    }
    return undefined;
  }

  readEntries(from: LogIndex, to: LogIndex, maxBytes: number): Buffer[] {
    this.open();
    if (from < this.first)
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `LogIndex ${from} is before the first stored entry ${this.first}`,
      );
    const out: Buffer[] = [];
    let total = 0;
    for (let index = from; index <= Math.min(to, this.lastIndex); index++) {
      const bytes = this.entries[index - this.first]!.bytes;
      if (out.length > 0 && total + bytes.length > maxBytes) break;
      out.push(bytes);
      total += bytes.length;
    }
    return out;
  }

  readFrom(from: KafkaOffset, maxBytes: number, upTo: KafkaOffset): Buffer {
    this.open();
    if (from < this.logStartOffset || from > this.nextOffset)
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${from} is outside [${this.logStartOffset}, ${this.nextOffset}]`,
      );
    const start = this.findOffset(from);
    if (start === undefined) return Buffer.alloc(0);
    const out: Buffer[] = [];
    let total = 0;
    for (const entry of this.entries.slice(start)) {
      if (entry.baseOffset >= upTo) break;
      if (out.length > 0 && total + entry.bytes.length > maxBytes) break;
      out.push(entry.bytes);
      total += entry.bytes.length;
    }
    return Buffer.concat(out);
  }

  offsetForTimestamp(timestampMs: number): KafkaOffset | undefined {
    this.open();
    return this.entries.find((e) => e.maxTimestamp >= timestampMs)?.baseOffset as KafkaOffset | undefined;
  }

  truncateAfter(index: LogIndex): void {
    this.open();
    if (index >= this.lastIndex) return;
    if (index + 1 < this.first)
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `cannot truncate after LogIndex ${index}: entries before ${this.first} are gone`,
      );
    const removed = this.entries.splice(index + 1 - this.first);
    if (this.entries.length === 0) this.startOffset = removed[0]!.baseOffset;
    this.durable = Math.min(this.durable, index);
  }

  truncateBefore(index: LogIndex): LogIndex {
    this.open();
    const target = Math.min(index, this.lastIndex + 1);
    if (target <= this.first) return this.firstIndex;
    const nextOffset = this.nextOffset;
    this.entries.splice(0, target - this.first);
    this.first = target;
    if (this.entries.length === 0) this.startOffset = nextOffset;
    return this.firstIndex;
  }

  reset(firstIndex: LogIndex, nextOffset: KafkaOffset): void {
    this.open();
    if (!(firstIndex >= 1))
      throw new StorageError('INVALID_ARGUMENT', `reset needs firstIndex >= 1, got ${firstIndex}`);
    this.entries = [];
    this.first = firstIndex;
    this.startOffset = nextOffset;
    this.durable = firstIndex - 1;
  }

  /** Entries are their own segments here: drops those whose max timestamp is older than
   * `retentionMs`, then the oldest while the rest stays at or above `retentionBytes`. */
  applyRetention(policy: RetentionPolicy): LogIndex {
    return this.truncateBefore(this.retentionCut(policy));
  }

  retentionCut(policy: RetentionPolicy): LogIndex {
    this.open();
    const keepFrom = policy.keepFrom ?? Number.POSITIVE_INFINITY;
    let size = this.sizeBytes;
    let cut = this.first;
    for (const entry of this.entries.slice(0, -1)) {
      const expired = policy.retentionMs >= 0 && entry.maxTimestamp < policy.nowMs - policy.retentionMs;
      const oversized = policy.retentionBytes >= 0 && size - entry.bytes.length >= policy.retentionBytes;
      if (!(expired || oversized) || cut + 1 > keepFrom) break;
      size -= entry.bytes.length;
      cut++;
    }
    return cut as LogIndex;
  }

  async sync(): Promise<LogIndex> {
    this.open();
    this.durable = this.lastIndex;
    return this.durableIndex;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
