/**
 * Idempotent producers' state on one partition, as Kafka keeps it: per producer id its epoch and
 * the metadata of its last five batches (first and last sequence, base offset, max timestamp),
 * so a retry of any of the up to five batches a producer has in flight is answered with its
 * original offset instead of being stored twice.
 *
 * `AppliedProducers` is the committed state every replica derives from the entries it applies
 * (leader or not) and carries in snapshots; `checkSequence` is the one rule that decides what
 * to do with a new batch, used against it and against what a leader has proposed in its term.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

/** Batches per producer a partition remembers (Kafka's NUM_BATCHES_TO_RETAIN; also the most a
 * Java or librdkafka idempotent producer has in flight). */
export const PRODUCER_BATCHES_KEPT = 5;

const SEQUENCE_MAX = 2_147_483_647;
const FORMAT_VERSION = 0;

export interface BatchMetadata<Offset> {
  firstSequence: number;
  lastSequence: number;
  baseOffset: Offset;
}

export interface ProducerEntry<Offset> {
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_KEPT. */
  batches: Array<BatchMetadata<Offset>>;
}

export interface IncomingBatch {
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
}

export type SequenceDecision<Offset> =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: Offset }
  | { kind: 'error'; errorName: 'INVALID_PRODUCER_EPOCH' | 'OUT_OF_ORDER_SEQUENCE_NUMBER' };

/** The last sequence of a batch (sequences wrap from 2^31-1 to 0, as in Kafka). */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  const last = baseSequence + lastOffsetDelta;
  return last > SEQUENCE_MAX ? last - SEQUENCE_MAX - 1 : last;
}

function nextSequence(sequence: number): number {
  return sequence === SEQUENCE_MAX ? 0 : sequence + 1;
}

/**
 * What to do with `batch` given the producer's known `entry` (Kafka's rules): an unknown producer
 * (new, or its state expired) is accepted; an older epoch is fenced; a new epoch must start at
 * sequence 0; a batch equal to one of the kept batches is a duplicate (answered with that
 * batch's offset); otherwise its first sequence must follow the last one.
 */
export function checkSequence<Offset>(
  entry: ProducerEntry<Offset> | undefined,
  batch: IncomingBatch,
): SequenceDecision<Offset> {
  if (entry === undefined || entry.batches.length === 0) return { kind: 'append' };
  if (batch.producerEpoch < entry.epoch) return { kind: 'error', errorName: 'INVALID_PRODUCER_EPOCH' };
  if (batch.producerEpoch > entry.epoch) {
    return batch.baseSequence === 0
      ? { kind: 'append' }
      : { kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
  }
  const lastSequence = lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta);
  for (const kept of entry.batches)
    if (kept.firstSequence === batch.baseSequence && kept.lastSequence === lastSequence)
      return { kind: 'duplicate', baseOffset: kept.baseOffset };
  const last = entry.batches[entry.batches.length - 1] as BatchMetadata<Offset>;
  if (batch.baseSequence !== nextSequence(last.lastSequence))
    return { kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
  return { kind: 'append' };
}

/** Adds a batch to `entry` (a new epoch starts over), keeping the last PRODUCER_BATCHES_KEPT. */
export function rememberBatch<Offset>(
  entry: ProducerEntry<Offset> | undefined,
  epoch: number,
  batch: BatchMetadata<Offset>,
): ProducerEntry<Offset> {
  const next: ProducerEntry<Offset> =
    entry === undefined || entry.epoch !== epoch ? { epoch, batches: [] } : entry;
  next.batches.push(batch);
  if (next.batches.length > PRODUCER_BATCHES_KEPT) next.batches.shift();
  return next;
}

interface AppliedEntry extends ProducerEntry<number> {
  /** The newest batch's max timestamp: the producer expires this long after it. */
  lastTimestampMs: number;
}

/** The committed producer state of a partition replica (see the file comment). */
export class AppliedProducers {
  private readonly producers = new Map<number, AppliedEntry>();
  /** The last log index reflected here: entries at or below it are skipped when applied again. */
  appliedIndex = 0;

  get size(): number {
    return this.producers.size;
  }

  get(producerId: number): ProducerEntry<number> | undefined {
    return this.producers.get(producerId);
  }

  /** Records a committed batch at log index `index` (ignored when already reflected). */
  record(
    index: number,
    batch: {
      producerId: number;
      producerEpoch: number;
      baseSequence: number;
      lastOffsetDelta: number;
      baseOffset: number;
      maxTimestampMs: number;
    },
  ): void {
    if (index <= this.appliedIndex) return;
    this.appliedIndex = index;
    if (batch.producerId < 0 || batch.baseSequence < 0) return;
    const entry = rememberBatch(this.producers.get(batch.producerId), batch.producerEpoch, {
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
      baseOffset: batch.baseOffset,
    }) as AppliedEntry;
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs ?? batch.maxTimestampMs, batch.maxTimestampMs);
    this.producers.set(batch.producerId, entry);
  }

  /** Marks `index` as reflected without a producer batch (Raft's own entries). */
  skip(index: number): void {
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /** Forgets producers whose newest batch is older than `expirationMs` (Kafka's
   * `producer.id.expiration.ms`); returns how many went. */
  expire(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers)
      if (entry.lastTimestampMs + expirationMs <= nowMs) {
        this.producers.delete(producerId);
        removed++;
      }
    return removed;
  }

  encode(): Buffer {
    const out = new Writer(64 + this.producers.size * 96)
      .int8(FORMAT_VERSION)
      .int64(this.appliedIndex)
      .int32(this.producers.size);
    for (const [producerId, entry] of this.producers) {
      out.int64(producerId).int16(entry.epoch).int64(entry.lastTimestampMs).int8(entry.batches.length);
      for (const batch of entry.batches)
        out.int32(batch.firstSequence).int32(batch.lastSequence).int64(batch.baseOffset);
    }
    return out.finish();
  }

  /** Decodes `encode`'s bytes; throws (naming the field) on malformed input. */
  static decode(bytes: Uint8Array): AppliedProducers {
    const input = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const version = input.int8();
    if (version !== FORMAT_VERSION) input.fail(`producer state format version ${version} is unknown`);
    const state = new AppliedProducers();
    state.appliedIndex = input.int64();
    const count = input.int32();
    if (count < 0 || count > input.remaining) input.fail(`producer count ${count} is out of range`);
    for (let i = 0; i < count; i++) {
      const producerId = input.int64();
      const epoch = input.int16();
      const lastTimestampMs = input.int64();
      const batchCount = input.int8();
      if (batchCount < 0 || batchCount > PRODUCER_BATCHES_KEPT)
        input.fail(`producer ${producerId} has ${batchCount} batches`);
      const batches = Array.from({ length: batchCount }, () => ({
        firstSequence: input.int32(),
        lastSequence: input.int32(),
        baseOffset: input.int64(),
      }));
      state.producers.set(producerId, { epoch, batches, lastTimestampMs });
    }
    return state;
  }
}
