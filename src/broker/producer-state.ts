import type { ReplicatedLog } from './replicated-log.js';

interface ProducerEntry {
  epoch: number;
  lastBaseSequence: number;
  lastSequence: number;
  /** Settles when the batch commits (rejects when its proposal fails). */
  lastBaseOffset: Promise<number>;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: Promise<number> }
  | {
      kind: 'error';
      errorName: 'INVALID_PRODUCER_EPOCH' | 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'DUPLICATE_SEQUENCE_NUMBER';
    };

/** The committed state a replica derived from its log, when the log is a partition replica. */
function applied(log: ReplicatedLog, producerId: number): ProducerEntry | undefined {
  const replica = log as ReplicatedLog & {
    appliedProducer?: (
      id: number,
    ) =>
      | { epoch: number; lastBaseSequence: number; lastSequence: number; lastBaseOffset: number }
      | undefined;
  };
  const found = replica.appliedProducer?.(producerId);
  if (found === undefined) return undefined;
  return {
    epoch: found.epoch,
    lastBaseSequence: found.lastBaseSequence,
    lastSequence: found.lastSequence,
    lastBaseOffset: Promise.resolve(found.lastBaseOffset),
  };
}

/** Asks the controller for a block of producer ids no other broker will hand out. */
export type ProducerIdAllocator = () => Promise<{ firstProducerId: number; size: number }>;

/**
 * Idempotent producers: hands out producer ids (from blocks the controller allocates, so neither
 * a restart nor another broker ever reuses one) and, when `deduplication_enabled`, drops a retried batch whose sequence
 * matches the last batch the producer wrote to the partition (answering with its original
 * offset). Sequence state lives in memory: after a restart the first batch of each producer is
 * accepted as is.
 */
export class ProducerState {
  /** Batches proposed by this broker while leading, per log and leader epoch: a new epoch
   * starts from the committed state the replica derived from its log (`appliedProducer`). */
  private readonly byLog = new WeakMap<
    ReplicatedLog,
    { epoch: number; producers: Map<number, ProducerEntry> }
  >();

  private block: { next: number; end: number } = { next: 0, end: 0 };
  private refill: Promise<void> | null = null;

  constructor(
    private readonly allocate: ProducerIdAllocator,
    readonly deduplicationEnabled: boolean,
  ) {}

  async allocateProducerId(): Promise<number> {
    while (this.block.next >= this.block.end) {
      this.refill ??= this.allocate()
        .then(({ firstProducerId, size }) => {
          this.block = { next: firstProducerId, end: firstProducerId + size };
        })
        .finally(() => {
          this.refill = null;
        });
      await this.refill;
    }
    return this.block.next++;
  }

  /** Decides what to do with a batch before it is proposed. */
  check(
    log: ReplicatedLog,
    batch: { producerId: number; producerEpoch: number; baseSequence: number },
  ): SequenceCheck {
    if (!this.deduplicationEnabled || batch.producerId < 0 || batch.baseSequence < 0)
      return { kind: 'append' };
    const entry = this.proposed(log)?.get(batch.producerId) ?? applied(log, batch.producerId);
    if (entry === undefined || batch.producerEpoch > entry.epoch) return { kind: 'append' };
    if (batch.producerEpoch < entry.epoch) return { kind: 'error', errorName: 'INVALID_PRODUCER_EPOCH' };
    if (batch.baseSequence === entry.lastBaseSequence)
      return { kind: 'duplicate', baseOffset: entry.lastBaseOffset };
    if (batch.baseSequence <= entry.lastSequence)
      return { kind: 'error', errorName: 'DUPLICATE_SEQUENCE_NUMBER' };
    if (batch.baseSequence !== entry.lastSequence + 1) {
      return { kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
    }
    return { kind: 'append' };
  }

  /**
   * Records a batch as soon as it is proposed (not when it commits), so the producer's next
   * pipelined batch, or a retry of this one, arriving before the commit is checked against it.
   * `baseOffset` settles with the commit.
   */
  record(
    log: ReplicatedLog,
    batch: { producerId: number; producerEpoch: number; baseSequence: number; lastOffsetDelta: number },
    baseOffset: Promise<number>,
  ): void {
    // A failed proposal is reported by its own produce; a duplicate waiting on it handles it too.
    baseOffset.catch(() => undefined);
    if (!this.deduplicationEnabled || batch.producerId < 0 || batch.baseSequence < 0) return;
    let producers = this.proposed(log);
    if (producers === undefined) {
      producers = new Map();
      this.byLog.set(log, { epoch: log.leaderEpoch, producers });
    }
    producers.set(batch.producerId, {
      epoch: batch.producerEpoch,
      lastBaseSequence: batch.baseSequence,
      lastSequence: batch.baseSequence + batch.lastOffsetDelta,
      lastBaseOffset: baseOffset,
    });
  }

  /** Forgets a producer's state on a partition (its proposal failed; a retry must be accepted). */
  forget(log: ReplicatedLog, producerId: number): void {
    this.proposed(log)?.delete(producerId);
  }

  /** What this broker proposed on `log` in its current leader epoch (older epochs are stale). */
  private proposed(log: ReplicatedLog): Map<number, ProducerEntry> | undefined {
    const held = this.byLog.get(log);
    if (held === undefined) return undefined;
    if (held.epoch !== log.leaderEpoch) {
      this.byLog.delete(log);
      return undefined;
    }
    return held.producers;
  }
}
