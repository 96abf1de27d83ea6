/**
 * The idempotent producer's machinery (Kafka's `enable.idempotence`): a producer id from
 * InitProducerId, and per partition a lane that numbers batches with consecutive sequences,
 * keeps at most five on the wire, resends the very same bytes after a retriable failure (so the
 * broker answers a batch it already stored with its original offset instead of storing it
 * twice) and resends them in order, and takes a new producer id when the broker refuses the
 * sequence so that later sends go on.
 */
import { assert } from '../lib/assert.js';
import { ApiKey } from '../protocol/index.js';
import { backoffMs } from './backoff.js';
import type { BatchProducer } from './batch-encoder.js';
import type { Client } from './client.js';
import type { Connection } from './connection.js';
import { GoqueueError, isRetriable, KafkaProtocolError, needsMetadataRefresh } from './errors.js';

/** Batches per partition on the wire at once: what the broker remembers per producer
 * (src/broker/producer-table.ts PRODUCER_BATCHES_KEPT), so any of them can be retried. */
export const MAX_IN_FLIGHT_PER_PARTITION = 5;

/** Sequences are int32 and wrap from 2^31-1 to 0, as the broker counts them. */
const SEQUENCE_LIMIT = 2 ** 31;

const ErrorCodes = {
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  UNKNOWN_PRODUCER_ID: 59,
} as const;

/** How long InitProducerId's transaction timeout is declared (unused without transactions). */
const TRANSACTION_TIMEOUT_MS = 60_000;

export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

/**
 * A batch an idempotent producer could not deliver: its sequence was refused (OUT_OF_ORDER_SEQUENCE_NUMBER,
 * INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID) or it went unacknowledged for `deliveryTimeoutMs`.
 * The producer has taken a new producer id, so later sends go on. `maybeStored` says whether the
 * batch may be in the partition anyway (it was sent and no answer said otherwise).
 */
export class IdempotenceError extends GoqueueError {
  override name = 'IdempotenceError';
  readonly topic: string;
  readonly partition: number;
  readonly maybeStored: boolean;

  constructor(
    message: string,
    context: { topic: string; partition: number; maybeStored: boolean; cause?: unknown },
  ) {
    super(message, { retriable: false, cause: context.cause });
    this.topic = context.topic;
    this.partition = context.partition;
    this.maybeStored = context.maybeStored;
  }
}

/** The producer id and epoch of one idempotent producer, asked for once and renewed on demand. */
export class ProducerIdSource {
  private current: ProducerIdentity | null = null;
  private loading: Promise<ProducerIdentity> | null = null;

  constructor(private readonly client: Client) {}

  /** The identity in use, if one has been handed out. */
  peek(): ProducerIdentity | null {
    return this.current;
  }

  /** The identity in use, asking the cluster (InitProducerId) when there is none. */
  get(): Promise<ProducerIdentity> {
    if (this.current) return Promise.resolve(this.current);
    this.loading ??= this.initProducerId().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /**
   * Drops `stale` so that the next `get` asks for another identity. Kafka bumps the epoch of the
   * same id (InitProducerId v3+); the v1 request the SDK sends, without a transactional id, gets
   * a fresh id at epoch 0, which restarts every partition at sequence 0 just the same.
   */
  renew(stale: ProducerIdentity): void {
    if (this.current && sameIdentity(this.current, stale)) this.current = null;
  }

  private async initProducerId(): Promise<ProducerIdentity> {
    const identity = await this.client.retrying(async () => {
      const connection = await this.client.anyConnection();
      const response = await this.client.send(connection, ApiKey.InitProducerId, {
        transactionalId: null,
        transactionTimeoutMs: TRANSACTION_TIMEOUT_MS,
      });
      if (response.errorCode !== 0) throw new KafkaProtocolError(response.errorCode);
      return { producerId: Number(response.producerId), producerEpoch: Number(response.producerEpoch) };
    });
    assert(identity.producerId >= 0 && identity.producerEpoch >= 0, 'InitProducerId handed out no id');
    this.current = identity;
    return identity;
  }
}

export function sameIdentity(a: ProducerIdentity, b: ProducerIdentity): boolean {
  return a.producerId === b.producerId && a.producerEpoch === b.producerEpoch;
}

/** One partition's answer to a Produce. */
export interface PartitionAnswer {
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs?: number;
  errorMessage?: string | null;
}

/** How a lane reaches the partition's leader; the producer supplies it. */
export interface LaneTransport {
  /** The current leader's connection (metadata is refreshed by the lane when it is stale). */
  connect(): Promise<Connection>;
  /** Sends one Produce of `bytes`, starting the write before returning (requests stay in order). */
  send(connection: Connection, bytes: Buffer): Promise<PartitionAnswer>;
}

export interface LaneBatch {
  recordCount: number;
  /** Encodes the batch with its producer id, epoch and first sequence (under the CRC). */
  encode(producer: BatchProducer): Promise<Buffer>;
  /** The batch fails once unacknowledged this long after it was queued. */
  deadlineMs: number;
}

export interface LaneResult {
  baseOffset: number;
  logAppendTimeMs: number;
}

interface Entry {
  batch: LaneBatch;
  resolve: (result: LaneResult) => void;
  reject: (error: Error) => void;
  /** The bytes every attempt sends: null until the batch has its sequence. */
  bytes: Buffer | null;
  baseSequence: number;
  /** On the wire now (sent, answer pending). */
  dispatched: boolean;
  /** Sent at least once: the broker may have stored it. */
  sentOnce: boolean;
  /** What the last attempt of the current round failed with. */
  error: unknown;
}

/**
 * One partition of one idempotent producer (see the file comment). A single driver loop sends
 * batches in order and handles a failed round once every answer of it is in: the first
 * unacknowledged batch decides (a retriable error resends it and every later one, same bytes, in
 * order; a refused sequence fails it and renumbers the rest under a new producer id).
 */
export class PartitionLane {
  private readonly queue: Entry[] = [];
  private inFlight = 0;
  /** An attempt of this round failed: send nothing new until every answer is in. */
  private failedRound = false;
  /** Failed rounds in a row (the backoff grows with it). */
  private failures = 0;
  private identity: ProducerIdentity | null = null;
  private nextSequence = 0;
  private driving = false;
  private signalled = false;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly client: Client,
    private readonly ids: ProducerIdSource,
    readonly topic: string,
    readonly partition: number,
    private readonly transport: LaneTransport,
  ) {}

  /** Queues a batch; resolves with its offset once acknowledged (or a duplicate of a stored one). */
  add(batch: LaneBatch): Promise<LaneResult> {
    return new Promise<LaneResult>((resolve, reject) => {
      this.queue.push({
        batch,
        resolve,
        reject,
        bytes: null,
        baseSequence: -1,
        dispatched: false,
        sentOnce: false,
        error: null,
      });
      this.notify();
      if (!this.driving) {
        this.driving = true;
        void this.drive();
      }
    });
  }

  private notify(): void {
    this.signalled = true;
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  private async wait(): Promise<void> {
    if (!this.signalled) await new Promise<void>((resolve) => (this.wakeUp = resolve));
    this.signalled = false;
  }

  private async drive(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.inFlight > 0) {
        if (this.failedRound) {
          if (this.inFlight === 0) await this.recover();
          else await this.wait();
          continue;
        }
        if (!(await this.sendNext())) await this.wait();
      }
    } catch (error) {
      // A bug: fail what is queued rather than leave callers waiting forever.
      for (const entry of this.queue.splice(0)) entry.reject(error as Error);
    } finally {
      this.driving = false;
    }
  }

  /** Sends the next batch in order if the window allows; false when there is nothing to do. */
  private async sendNext(): Promise<boolean> {
    if (this.inFlight >= MAX_IN_FLIGHT_PER_PARTITION) return false;
    const entry = this.queue.find((candidate) => !candidate.dispatched && candidate.error === null);
    if (!entry) return false;
    if (entry.bytes === null && !(await this.sequence(entry))) return true;
    let connection: Connection;
    try {
      connection = await this.transport.connect();
    } catch (error) {
      entry.error = error;
      this.failedRound = true;
      return true;
    }
    // Another answer may have failed the round meanwhile: this batch waits for the recovery.
    if (this.failedRound) return true;
    this.dispatch(entry, connection);
    return true;
  }

  /** Gives `entry` the lane's identity and next sequence and encodes it; false if it failed. */
  private async sequence(entry: Entry): Promise<boolean> {
    // A partition with nothing numbered takes up the producer's newest identity, from 0.
    const current = this.ids.peek();
    if (this.identity && current && !sameIdentity(this.identity, current) && !this.hasNumbered()) {
      this.identity = null;
    }
    if (this.identity === null) {
      assert(!this.hasNumbered(), 'a lane without an identity holds numbered batches');
      let identity: ProducerIdentity;
      for (let attempt = 0; ; attempt++) {
        try {
          identity = await this.ids.get();
          break;
        } catch (error) {
          // A cluster that cannot hand out an id yet (restarting, no controller leader) is
          // asked again until the batch's delivery timeout, like any retriable send failure.
          const retriable = (error as { retriable?: unknown }).retriable === true;
          if (retriable && this.client.clock.nowMs() < entry.batch.deadlineMs) {
            await this.client.clock.sleep(Math.min(1_000, 100 * 2 ** Math.min(attempt, 4)));
            continue;
          }
          // No identity, no sequences: every waiting batch fails the same way.
          for (const waiting of this.queue.splice(0)) waiting.reject(error as Error);
          return false;
        }
      }
      this.identity = identity;
      this.nextSequence = 0;
    }
    const identity = this.identity;
    const baseSequence = this.nextSequence;
    let bytes: Buffer;
    try {
      bytes = await entry.batch.encode({ ...identity, baseSequence });
    } catch (error) {
      this.remove(entry);
      entry.reject(error as Error);
      return false;
    }
    entry.bytes = bytes;
    entry.baseSequence = baseSequence;
    this.nextSequence = (baseSequence + entry.batch.recordCount) % SEQUENCE_LIMIT;
    return true;
  }

  private hasNumbered(): boolean {
    return this.queue.some((entry) => entry.bytes !== null);
  }

  private dispatch(entry: Entry, connection: Connection): void {
    assert(entry.bytes !== null, 'a batch goes out only with its sequence');
    entry.dispatched = true;
    entry.sentOnce = true;
    this.inFlight++;
    let answer: Promise<PartitionAnswer>;
    try {
      answer = this.transport.send(connection, entry.bytes);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (reply) => this.onAnswer(entry, reply),
      (error: unknown) => this.onFailure(entry, error),
    );
  }

  private onAnswer(entry: Entry, reply: PartitionAnswer): void {
    if (reply.errorCode === 0 || reply.errorCode === ErrorCodes.DUPLICATE_SEQUENCE_NUMBER) {
      // DUPLICATE_SEQUENCE_NUMBER: the broker has the batch already, which is what was asked.
      this.inFlight--;
      entry.dispatched = false;
      this.remove(entry);
      this.failures = 0;
      entry.resolve({ baseOffset: reply.baseOffset, logAppendTimeMs: reply.logAppendTimeMs ?? -1 });
      this.notify();
      return;
    }
    this.onFailure(
      entry,
      new KafkaProtocolError(reply.errorCode, {
        topic: this.topic,
        partition: this.partition,
        detail: reply.errorMessage ?? null,
      }),
    );
  }

  private onFailure(entry: Entry, error: unknown): void {
    this.inFlight--;
    entry.dispatched = false;
    entry.error = error;
    this.failedRound = true;
    this.notify();
  }

  private remove(entry: Entry): void {
    const at = this.queue.indexOf(entry);
    if (at >= 0) this.queue.splice(at, 1);
  }

  /** Every answer of a failed round is in: the first unacknowledged batch decides what next. */
  private async recover(): Promise<void> {
    assert(this.inFlight === 0, 'a round is recovered only once all its answers are in');
    const first = this.queue[0];
    const error = first?.error ?? null;
    if (first && error !== null && !isRetriable(error)) {
      // Refused by the broker: it is not stored (the broker stores no batch it answers with an
      // error), nor is any later one (they would leave a gap). Fail it, renumber the rest.
      this.remove(first);
      first.reject(this.refusal(first, error));
      if (!first.sentOnce && !this.queue.some((entry) => entry.sentOnce)) {
        // Nothing of this identity past `first` reached a broker (e.g. the topic is unknown):
        // its sequence is free again, no new producer id needed.
        this.renumberFrom(first.baseSequence);
      } else this.restartSequences(false);
    } else if (first && error !== null && this.client.clock.nowMs() >= first.batch.deadlineMs) {
      // Unacknowledged too long: what was sent may or may not be stored. Those batches fail;
      // the ones never sent are renumbered under a new identity.
      const timeout = new IdempotenceError(
        `the batch to ${this.topic}/${this.partition} was not acknowledged within deliveryTimeoutMs; ` +
          'it may or may not be stored (last error: ' +
          `${(error as Error).message ?? String(error)})`,
        { topic: this.topic, partition: this.partition, maybeStored: true, cause: error },
      );
      for (const entry of this.queue.filter((candidate) => candidate.sentOnce)) {
        this.remove(entry);
        entry.reject(timeout);
      }
      this.restartSequences(true);
    } else {
      if (error !== null && needsMetadataRefresh(error)) this.client.invalidateMetadata();
      const waitMs = backoffMs(this.failures, this.client.retryOptions, this.client.random);
      this.failures++;
      await this.client.clock.sleep(waitMs);
    }
    // The next round resends from the first unacknowledged batch, in order, same bytes.
    for (const entry of this.queue) entry.error = null;
    this.failedRound = false;
  }

  /** Clears every batch's sequence so they are encoded again from `sequence`, same identity. */
  private renumberFrom(sequence: number): void {
    assert(
      this.queue.every((entry) => !entry.sentOnce),
      'only batches never sent are renumbered under the same identity',
    );
    if (sequence >= 0) this.nextSequence = sequence;
    for (const entry of this.queue) {
      entry.bytes = null;
      entry.baseSequence = -1;
    }
  }

  /** Drops the lane's identity (asking the producer for a new one) and clears every batch's
   * sequence so it is encoded again from 0. */
  private restartSequences(afterTimeout: boolean): void {
    assert(
      afterTimeout ? this.queue.every((entry) => !entry.sentOnce) : true,
      'only batches never sent are renumbered after a delivery timeout',
    );
    if (this.identity) this.ids.renew(this.identity);
    this.identity = null;
    for (const entry of this.queue) {
      entry.bytes = null;
      entry.baseSequence = -1;
      entry.sentOnce = false;
    }
  }

  private refusal(entry: Entry, error: unknown): Error {
    if (!(error instanceof KafkaProtocolError)) return error as Error;
    const sequenceError =
      error.code === ErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      error.code === ErrorCodes.INVALID_PRODUCER_EPOCH ||
      error.code === ErrorCodes.UNKNOWN_PRODUCER_ID;
    if (!sequenceError) return error;
    return new IdempotenceError(
      `the broker refused the batch to ${this.topic}/${this.partition} (producer ${this.identity?.producerId} ` +
        `epoch ${this.identity?.producerEpoch}, sequence ${entry.baseSequence}): ${error.errorName}; ` +
        'it is not stored, and the producer takes a new producer id so that later sends go on',
      { topic: this.topic, partition: this.partition, maybeStored: false, cause: error },
    );
  }
}
