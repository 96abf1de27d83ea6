import { EventEmitter } from 'node:events';
import { assert } from '../lib/assert.js';
import { type KafkaOffset, kafkaOffset, type LogIndex } from '../lib/ids.js';
import { BatchField, stampBatch } from '../protocol/record-batch-header.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { GroupCommit } from './group-commit.js';

/**
 * The replication seam. Handlers write a partition only through `propose` and read only below
 * `highWatermark`; whether "committed" means "on this node's disk" (LocalReplicatedLog) or "on a
 * quorum's disks" (the partition's Raft group) is hidden behind this interface.
 *
 * Events: `'commit'` (highWatermark: KafkaOffset) each time the high watermark moves forward;
 * `'truncate'` when the log start offset moves (retention).
 */
export interface ReplicatedLog extends EventEmitter {
  /** First offset not yet committed: consumers read below it. */
  readonly highWatermark: KafkaOffset;
  /** Base offset of the first stored batch. */
  readonly logStartOffset: KafkaOffset;
  /** Epoch stamped into `partitionLeaderEpoch` of proposed batches (the Raft term under Raft). */
  readonly leaderEpoch: number;
  /** Bytes stored. */
  readonly sizeBytes: number;

  /**
   * Assigns offsets to whole RecordBatch v2 buffers (already validated), stamps `baseOffset` and
   * `partitionLeaderEpoch` in place, appends them, and resolves once they are committed.
   * Rejects (nothing committed) when the append or the flush fails.
   */
  propose(batches: readonly Buffer[]): Promise<ProposeResult>;

  /** Whole batches from `fromOffset`, stopping below the high watermark and near `maxBytes`. */
  read(fromOffset: KafkaOffset, maxBytes: number): Buffer;

  /** First offset whose batch max timestamp >= `timestampMs`, or undefined. */
  offsetForTimestamp(timestampMs: number): KafkaOffset | undefined;

  /** End offset of `epoch` (OffsetForLeaderEpoch): the start offset of the next larger epoch. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset };

  /** Drops whole segments holding only committed batches older than `cutoffMs`; returns how
   * many entries went. */
  applyRetention(cutoffMs: number): number;

  close(): Promise<void>;
}

export interface ProposeResult {
  baseOffset: KafkaOffset;
  /** Offset after the last record proposed. */
  nextOffset: KafkaOffset;
}

interface PendingProposal {
  lastIndex: LogIndex;
  result: ProposeResult;
  resolve(result: ProposeResult): void;
  reject(error: unknown): void;
}

/**
 * Single-node ReplicatedLog: a proposal is committed once the local append is durable. Durability
 * comes from the broker's GroupCommit (one fsync cycle for every partition with pending writes).
 * With `fsyncEnabled: false` (unsafe, opt-in) a proposal commits right after the page-cache append.
 */
export class LocalReplicatedLog extends EventEmitter implements ReplicatedLog {
  private pending: PendingProposal[] = [];
  private committedOffset: KafkaOffset;
  private closed = false;

  constructor(
    private readonly log: PartitionLog,
    private readonly groupCommit: GroupCommit,
    private readonly options: { fsyncEnabled: boolean; leaderEpoch: number },
  ) {
    super();
    // Whatever survived recovery of the local log is on disk: it is all committed.
    this.committedOffset = log.nextOffset;
  }

  get highWatermark(): KafkaOffset {
    return this.committedOffset;
  }

  get logStartOffset(): KafkaOffset {
    return this.log.logStartOffset;
  }

  get leaderEpoch(): number {
    return this.options.leaderEpoch;
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  propose(batches: readonly Buffer[]): Promise<ProposeResult> {
    if (this.closed) return Promise.reject(new Error('partition log is closed'));
    assert(batches.length > 0, 'propose needs at least one batch');
    const baseOffset = this.log.nextOffset;
    let next = baseOffset as number;
    for (const batch of batches) {
      stampBatch(batch, 0, next, this.options.leaderEpoch);
      next += batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
    }
    let appended: ReturnType<PartitionLog['append']>;
    try {
      appended = this.log.append(batches);
    } catch (error) {
      return Promise.reject(error);
    }
    assert(appended.nextOffset === next, 'log assigned different offsets than stamped');
    const result: ProposeResult = { baseOffset: appended.baseOffset, nextOffset: appended.nextOffset };
    if (!this.options.fsyncEnabled) {
      this.advance(appended.nextOffset);
      return Promise.resolve(result);
    }
    return new Promise<ProposeResult>((resolve, reject) => {
      this.pending.push({ lastIndex: appended.lastIndex, result, resolve, reject });
      this.groupCommit.markDirty(this);
    });
  }

  /** Called by GroupCommit: fsync, then commit every proposal that became durable. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    let durableIndex: LogIndex;
    try {
      durableIndex = await this.log.sync();
    } catch (error) {
      const failed = this.pending;
      this.pending = [];
      for (const proposal of failed) proposal.reject(error);
      throw error;
    }
    let highest: KafkaOffset | null = null;
    while (this.pending.length > 0 && this.pending[0]!.lastIndex <= durableIndex) {
      const proposal = this.pending.shift()!;
      highest = proposal.result.nextOffset;
      proposal.resolve(proposal.result);
    }
    if (highest !== null) this.advance(highest);
    // Proposals appended after sync() started are flushed by the next cycle.
    if (this.pending.length > 0) this.groupCommit.markDirty(this);
  }

  read(fromOffset: KafkaOffset, maxBytes: number): Buffer {
    if (fromOffset >= this.committedOffset) return Buffer.alloc(0);
    return this.log.readFrom(fromOffset, maxBytes, this.committedOffset);
  }

  offsetForTimestamp(timestampMs: number): KafkaOffset | undefined {
    const offset = this.log.offsetForTimestamp(timestampMs);
    if (offset === undefined || offset >= this.committedOffset) return undefined;
    return offset;
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset } {
    // One epoch per local log: every batch carries `leaderEpoch` (older epochs would come from
    // the Raft log's terms once partitions run as Raft groups).
    if (epoch < this.options.leaderEpoch) return { epoch: -1, endOffset: kafkaOffset(-1) };
    return { epoch: this.options.leaderEpoch, endOffset: this.committedOffset };
  }

  applyRetention(cutoffMs: number): number {
    const before = this.log.firstIndex;
    // No batch young enough: everything may go (the storage keeps the active segment).
    const keepFromOffset = this.log.offsetForTimestamp(cutoffMs) ?? this.log.nextOffset;
    if (keepFromOffset > this.log.logStartOffset) {
      const index = this.log.indexOfOffset(kafkaOffset(keepFromOffset));
      const target = index ?? ((this.log.lastIndex + 1) as LogIndex);
      // Never drop uncommitted entries.
      const committedIndex = this.log.indexOfOffset(this.committedOffset);
      const limit = committedIndex ?? ((this.log.lastIndex + 1) as LogIndex);
      this.log.truncateBefore(Math.min(target, limit) as LogIndex);
    }
    const removed = this.log.firstIndex - before;
    if (removed > 0) this.emit('truncate', this.log.logStartOffset);
    return removed;
  }

  private advance(offset: KafkaOffset): void {
    if (offset <= this.committedOffset) return;
    this.committedOffset = offset;
    this.emit('commit', offset);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush().catch(() => undefined);
    for (const proposal of this.pending) proposal.reject(new Error('partition log closed'));
    this.pending = [];
    await this.log.close();
  }
}
