import { EventEmitter } from 'node:events';
import type { ProposeResult, ReplicatedLog } from '../cluster/replicated-log.js';
import { assert } from '../lib/assert.js';
import { type KafkaOffset, kafkaOffset, type LogIndex } from '../lib/ids.js';
import { BatchField, stampBatch } from '../protocol/record-batch-header.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { GroupCommit } from './group-commit.js';

export type { ProposeResult, ReplicatedLog } from '../cluster/replicated-log.js';

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
 *
 * The log stays usable while an fsync runs off the JS thread: appends and reads proceed, and
 * only one fsync per partition is in flight (proposals appended meanwhile go to the next cycle).
 * Values handlers read often (log start, size) are cached.
 */
export class LocalReplicatedLog extends EventEmitter implements ReplicatedLog {
  private pending: PendingProposal[] = [];
  private committedOffset: KafkaOffset;
  private startOffset: KafkaOffset;
  private storedBytes: number;
  /** Set while `log.sync()` runs, so fsyncs of one partition never overlap. */
  private syncing: Promise<void> | null = null;
  private closed = false;
  /** Set by a failed fsync: every later append is refused (see `flush`). */
  private storageFailure: Error | null = null;

  constructor(
    private readonly log: PartitionLog,
    private readonly groupCommit: GroupCommit,
    private readonly options: { fsyncEnabled: boolean; leaderEpoch: number },
  ) {
    super();
    this.setMaxListeners(0);
    // Whatever survived recovery of the local log is on disk: it is all committed.
    this.committedOffset = log.nextOffset;
    this.startOffset = log.logStartOffset;
    this.storedBytes = log.sizeBytes;
  }

  get highWatermark(): KafkaOffset {
    return this.committedOffset;
  }

  get logStartOffset(): KafkaOffset {
    return this.startOffset;
  }

  get leaderEpoch(): number {
    return this.options.leaderEpoch;
  }

  get sizeBytes(): number {
    return this.storedBytes;
  }

  /** Runs `work` now, turning a throw into a rejection. */
  private run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  propose(batches: readonly Buffer[]): Promise<ProposeResult> {
    assert(batches.length > 0, 'propose needs at least one batch');
    return this.run(() => this.appendNow(batches)).then((appended) => {
      const result: ProposeResult = { baseOffset: appended.baseOffset, nextOffset: appended.nextOffset };
      if (!this.options.fsyncEnabled) {
        this.advance(appended.nextOffset);
        return result;
      }
      return new Promise<ProposeResult>((resolve, reject) => {
        this.pending.push({ lastIndex: appended.lastIndex, result, resolve, reject });
        this.groupCommit.markDirty(this);
      });
    });
  }

  private appendNow(batches: readonly Buffer[]): ReturnType<PartitionLog['append']> {
    if (this.closed) throw new Error('partition log is closed');
    if (this.storageFailure !== null) throw this.storageFailure;
    let next = this.log.nextOffset as number;
    for (const batch of batches) {
      stampBatch(batch, 0, next, this.options.leaderEpoch);
      next += batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
    }
    const appended = this.log.append(batches);
    assert(appended.nextOffset === next, 'log assigned different offsets than stamped');
    this.storedBytes = this.log.sizeBytes;
    return appended;
  }

  /** Called by GroupCommit: fsync, then commit every proposal that became durable. */
  async flush(): Promise<void> {
    if (this.pending.length === 0 || this.syncing !== null) return;
    let release!: () => void;
    const idle = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.syncing = idle;
    let durableIndex: LogIndex;
    try {
      durableIndex = await this.log.sync();
    } catch (error) {
      // The entries whose fsync failed are still in the page cache; a later fsync could make
      // them durable and readable after their producers were told they failed (and retried).
      // Like Kafka taking a log directory offline, the partition refuses writes from here on
      // and its high watermark never covers them; a restart recovers the log from disk.
      this.storageFailure = Object.assign(
        new Error(`partition storage failed, writes refused until restart: ${(error as Error).message}`),
        { code: 'KAFKA_STORAGE_ERROR' },
      );
      this.syncing = null;
      release();
      const failed = this.pending;
      this.pending = [];
      for (const proposal of failed) proposal.reject(error);
      throw error;
    }
    this.syncing = null;
    let highest: KafkaOffset | null = null;
    while (this.pending.length > 0 && this.pending[0]!.lastIndex <= durableIndex) {
      const proposal = this.pending.shift()!;
      highest = proposal.result.nextOffset;
      proposal.resolve(proposal.result);
    }
    if (highest !== null) this.advance(highest);
    release();
    // Proposals appended after sync() started are flushed by the next cycle.
    if (this.pending.length > 0) this.groupCommit.markDirty(this);
  }

  read(fromOffset: KafkaOffset, maxBytes: number): Promise<Buffer> {
    return this.run(() => {
      const upTo = this.committedOffset;
      if (fromOffset >= upTo || this.closed) return Buffer.alloc(0);
      return this.log.readFrom(fromOffset, maxBytes, upTo);
    });
  }

  offsetForTimestamp(timestampMs: number): Promise<KafkaOffset | undefined> {
    return this.run(() => {
      const offset = this.log.offsetForTimestamp(timestampMs);
      if (offset === undefined || offset >= this.committedOffset) return undefined;
      return offset;
    });
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset } {
    // One epoch per local log: every batch carries `leaderEpoch` (older epochs would come from
    // the Raft log's terms once partitions run as Raft groups).
    if (epoch < this.options.leaderEpoch) return { epoch: -1, endOffset: kafkaOffset(-1) };
    return { epoch: this.options.leaderEpoch, endOffset: this.committedOffset };
  }

  applyRetention(policy: { nowMs: number; retentionMs: number; retentionBytes: number }): Promise<number> {
    return this.run(() => {
      if (this.closed) return 0;
      const log = this.log;
      const before = log.firstIndex;
      // Entries at or after the first uncommitted one stay, whatever their age.
      const keepFrom = log.indexOfOffset(this.committedOffset) ?? ((log.lastIndex + 1) as LogIndex);
      if (log.applyRetention !== undefined) {
        log.applyRetention({ ...policy, keepFrom });
      } else if (policy.retentionMs >= 0) {
        // Logs without a retention primitive: drop by age through the time index.
        const keepFromOffset = log.offsetForTimestamp(policy.nowMs - policy.retentionMs) ?? log.nextOffset;
        const target = log.indexOfOffset(kafkaOffset(keepFromOffset)) ?? ((log.lastIndex + 1) as LogIndex);
        if (keepFromOffset > log.logStartOffset) log.truncateBefore(Math.min(target, keepFrom) as LogIndex);
      }
      const removed = log.firstIndex - before;
      this.startOffset = log.logStartOffset;
      this.storedBytes = log.sizeBytes;
      if (removed > 0) this.emit('truncate', this.startOffset);
      return removed;
    });
  }

  private advance(offset: KafkaOffset): void {
    if (offset <= this.committedOffset) return;
    this.committedOffset = offset;
    this.emit('commit', offset);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.syncing !== null) await this.syncing;
    await this.flush().catch(() => undefined);
    this.closed = true;
    for (const proposal of this.pending) proposal.reject(new Error('partition log closed'));
    this.pending = [];
    await this.log.close();
  }
}
