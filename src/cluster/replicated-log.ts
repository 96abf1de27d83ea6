import type { EventEmitter } from 'node:events';
import type { KafkaOffset } from '../lib/ids.js';

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
  read(fromOffset: KafkaOffset, maxBytes: number): Promise<Buffer>;

  /** First offset whose batch max timestamp >= `timestampMs`, or undefined. */
  offsetForTimestamp(timestampMs: number): Promise<KafkaOffset | undefined>;

  /** End offset of `epoch` (OffsetForLeaderEpoch): the start offset of the next larger epoch. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset };

  /** Drops whole old segments (by age and by total size; -1 = no limit), never uncommitted
   * entries; returns how many entries went. */
  applyRetention(policy: { nowMs: number; retentionMs: number; retentionBytes: number }): Promise<number>;

  close(): Promise<void>;
}

export interface ProposeResult {
  baseOffset: KafkaOffset;
  /** Offset after the last record proposed. */
  nextOffset: KafkaOffset;
}
