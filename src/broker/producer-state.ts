import {
  checkSequence,
  lastSequenceOf,
  type ProducerEntry,
  rememberBatch,
  type SequenceDecision,
} from './producer-table.js';
import type { ReplicatedLog } from './replicated-log.js';

/** Offsets of proposed batches settle when they commit (and reject when the proposal fails). */
type ProposedEntry = ProducerEntry<Promise<number>>;

export type SequenceCheck = SequenceDecision<Promise<number>>;

/** The committed state a replica derived from its log, when the log is a partition replica. */
function applied(log: ReplicatedLog, producerId: number): ProposedEntry | undefined {
  const replica = log as ReplicatedLog & {
    appliedProducer?: (id: number) => ProducerEntry<number> | undefined;
  };
  const found = replica.appliedProducer?.(producerId);
  if (found === undefined) return undefined;
  return {
    epoch: found.epoch,
    batches: found.batches.map((batch) => ({ ...batch, baseOffset: Promise.resolve(batch.baseOffset) })),
  };
}

/** How long InitProducerId waits for a block of producer ids before a retriable answer. */
const PRODUCER_ID_WAIT_MS = 10_000;

/** Asks the controller for a block of producer ids no other broker will hand out. */
export type ProducerIdAllocator = () => Promise<{ firstProducerId: number; size: number }>;

/**
 * Idempotent producers: hands out producer ids (from blocks the controller allocates, so neither
 * a restart nor another broker ever reuses one) and drops a retried batch equal to one of the
 * last five the producer wrote to the partition, answering with its original offset (Kafka's
 * rules: producer-table.ts). A leader checks a batch against what it proposed itself in its
 * current leader epoch, else against the committed state its replica derived from the log.
 */
export class ProducerState {
  /** Batches proposed by this broker while leading, per log and leader epoch: a new epoch
   * starts from the committed state the replica derived from its log (`appliedProducer`). */
  private readonly byLog = new WeakMap<
    ReplicatedLog,
    { epoch: number; producers: Map<number, ProposedEntry> }
  >();

  private block: { next: number; end: number } = { next: 0, end: 0 };
  private refill: Promise<void> | null = null;

  constructor(private readonly allocate: ProducerIdAllocator) {}

  /**
   * A new producer id. When this broker has none left, it waits (at most `waitMs`) for a block
   * from the controller; without one by then (no controller leader reachable, say) it throws
   * COORDINATOR_LOAD_IN_PROGRESS, Kafka's retriable answer while a broker waits for a block, so a
   * client retries instead of running into its own request timeout. The block still comes.
   */
  async allocateProducerId(waitMs = PRODUCER_ID_WAIT_MS): Promise<number> {
    const deadline = performance.now() + waitMs;
    while (this.block.next >= this.block.end) {
      this.refill ??= this.allocate()
        .then(({ firstProducerId, size }) => {
          this.block = { next: firstProducerId, end: firstProducerId + size };
        })
        .finally(() => {
          this.refill = null;
        });
      const remainingMs = deadline - performance.now();
      let timer: NodeJS.Timeout | undefined;
      const arrived = await Promise.race([
        this.refill.then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), Math.max(0, remainingMs));
        }),
      ]);
      clearTimeout(timer);
      if (!arrived && this.block.next >= this.block.end)
        throw Object.assign(new Error('waiting for a block of producer ids from the controller'), {
          code: 'COORDINATOR_LOAD_IN_PROGRESS',
        });
    }
    return this.block.next++;
  }

  /** Decides what to do with a batch before it is proposed. */
  check(
    log: ReplicatedLog,
    batch: { producerId: number; producerEpoch: number; baseSequence: number; lastOffsetDelta: number },
  ): SequenceCheck {
    if (batch.producerId < 0 || batch.baseSequence < 0) return { kind: 'append' };
    return checkSequence(this.proposed(log)?.get(batch.producerId) ?? applied(log, batch.producerId), batch);
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
    if (batch.producerId < 0 || batch.baseSequence < 0) return;
    let producers = this.proposed(log);
    if (producers === undefined) {
      producers = new Map();
      this.byLog.set(log, { epoch: log.leaderEpoch, producers });
    }
    const known = producers.get(batch.producerId) ?? applied(log, batch.producerId);
    producers.set(
      batch.producerId,
      rememberBatch(known, batch.producerEpoch, {
        firstSequence: batch.baseSequence,
        lastSequence: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
        baseOffset,
      }),
    );
  }

  /** Forgets a producer's state on a partition (its proposal failed; a retry must be accepted). */
  forget(log: ReplicatedLog, producerId: number): void {
    this.proposed(log)?.delete(producerId);
  }

  /** What this broker proposed on `log` in its current leader epoch (older epochs are stale). */
  private proposed(log: ReplicatedLog): Map<number, ProposedEntry> | undefined {
    const held = this.byLog.get(log);
    if (held === undefined) return undefined;
    if (held.epoch !== log.leaderEpoch) {
      this.byLog.delete(log);
      return undefined;
    }
    return held.producers;
  }
}
