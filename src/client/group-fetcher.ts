import { ApiKey, ErrorCode } from '../protocol/index.js';
import { backoffMs } from './backoff.js';
import type { Client } from './client.js';
import { listOffset, type MessageBatch, READ_REPLICA_RETRY_AFTER_MS, type ReadReplica } from './consumer.js';
import { GoqueueError, isRetriable, KafkaProtocolError, needsMetadataRefresh } from './errors.js';
import { nextFetchOffset } from './fast-records.js';
import { partitionKey } from './group-protocol.js';
import { decodeMessages, type Message } from './records.js';

export interface GroupFetcherOptions {
  /** Bytes asked for per Fetch request (all partitions of one broker). */
  maxBytes: number;
  maxBytesPerPartition: number;
  maxWaitMs: number;
  minBytes: number;
  /** Where a partition without a committed offset (or out of range) starts. */
  autoOffsetReset: 'earliest' | 'latest';
  /** The client's rack (Fetch `rackId`; '' = none): leaders may name a read replica in it. */
  rack: string;
  /** How long a named read replica is used before the leader is asked again. */
  readReplicaLeaseMs: number;
}

/**
 * Fetched batches a partition may hold ready (not yet handed to the caller). Two keeps one
 * response in the caller's hands and one fetched ahead, like the plain Consumer's stream.
 */
const READY_BATCHES_MAX = 2;

/** One assigned partition's read state. Offsets are "next offset" positions. */
export interface PartitionState {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  /** Next offset to fetch; null until resolved (committed offset or the reset policy). */
  position: number | null;
  /** Next offset after the last message handed to the caller. */
  consumed: number | null;
  /** Next offset after the last message the caller finished: what a commit stores. */
  processed: number | null;
  /** What this member last committed (or found committed). */
  committed: number | null;
  paused: boolean;
  /** Bumped whenever the position is set from outside (seek, pause, revoke): older data is dropped. */
  epoch: number;
  /**
   * Bumped by seek and remove only: a message handed out before still counts as processed when
   * the caller finishes it after a pause or a fence, but not after a seek moved the partition.
   */
  seekEpoch: number;
  inFlight: boolean;
  resetting: boolean;
  ready: number;
  /** Not before this time (the clock's ms) after a partition error. */
  retryAtMs: number;
  failures: number;
  /** A replica the leader named in the client's rack (KIP-392): fetched from until it answers
   * an error or the lease ends. */
  readReplica: ReadReplica | null;
  /** After its read replica failed: fetched from the leader without naming the rack until then. */
  readReplicaFailedUntilMs: number;
}

/** Fetched records of one partition, not yet decoded, tied to the epoch they were fetched in. */
interface FetchedRecords {
  state: PartitionState;
  epoch: number;
  offset: number;
  records: Buffer;
  highWatermark: number;
}

/** A decoded batch handed to the caller, tied to the partition epoch it was fetched in. */
export interface ReadyBatch {
  state: PartitionState;
  epoch: number;
  batch: MessageBatch;
}

/**
 * Reads a group member's assigned partitions: one fetch loop per leader broker, each asking for
 * all of that broker's fetchable partitions in one Fetch request (sent again as soon as the
 * previous answer is in, so the broker prepares the next answer while the caller works), and a
 * FIFO of ready batches the caller takes from. A partition with READY_BATCHES_MAX batches ready
 * is not fetched until the caller takes one (backpressure). Loops stop when they have nothing to
 * fetch and are started again by `kick()`.
 */
export class GroupFetcher {
  readonly partitions = new Map<string, PartitionState>();
  /** Fetched, undecoded: decoding waits until the caller takes it (fewer live objects, less GC). */
  private readonly queue: FetchedRecords[] = [];
  private readonly loops = new Set<number>();
  private waiters: Array<() => void> = [];
  private refreshingMetadata = false;
  private metadataFailures = 0;
  private stopped = false;
  private failure: Error | null = null;

  constructor(
    private readonly client: Client,
    private readonly options: GroupFetcherOptions,
  ) {}

  /** Starts reading `keys` from the given committed offsets (absent: the reset policy). */
  assign(added: Array<{ topic: string; partition: number }>, committed: Map<string, number>): void {
    for (const { topic, partition } of added) {
      const key = partitionKey(topic, partition);
      const offset = committed.get(key) ?? null;
      this.partitions.set(key, {
        key,
        topic,
        partition,
        position: offset,
        consumed: offset,
        processed: offset,
        committed: offset,
        paused: false,
        epoch: 0,
        seekEpoch: 0,
        inFlight: false,
        resetting: false,
        ready: 0,
        retryAtMs: 0,
        failures: 0,
        readReplica: null,
        readReplicaFailedUntilMs: 0,
      });
    }
    this.kick();
  }

  /** Stops handing out `keys`' data at once (fetched data is dropped); the states stay. */
  fence(keys: Iterable<string>): void {
    for (const key of keys) {
      const state = this.partitions.get(key);
      if (state === undefined) continue;
      state.epoch++;
      state.paused = true;
    }
    this.dropStale();
  }

  /** Forgets `keys` (after a revocation). */
  remove(keys: Iterable<string>): void {
    for (const key of keys) {
      const state = this.partitions.get(key);
      if (state === undefined) continue;
      state.epoch++;
      state.seekEpoch++;
      this.partitions.delete(key);
    }
    this.dropStale();
  }

  /** Next fetch of the partition starts at `offset`; data fetched before is dropped. */
  seek(key: string, offset: number): void {
    const state = this.partitions.get(key);
    if (state === undefined)
      throw new GoqueueError(`cannot seek ${key.replace('\u0000', '/')}: not assigned`);
    state.epoch++;
    state.seekEpoch++;
    state.position = offset;
    state.consumed = offset;
    state.processed = offset;
    this.dropStale();
    this.kick();
  }

  pause(key: string): void {
    const state = this.partitions.get(key);
    if (state === undefined || state.paused) return;
    state.paused = true;
    state.epoch++;
    // Fetched-ahead data is dropped and fetched again on resume, from what the caller got.
    state.position = state.consumed;
    this.dropStale();
  }

  resume(key: string): void {
    const state = this.partitions.get(key);
    if (state === undefined || !state.paused) return;
    state.paused = false;
    this.kick();
  }

  /** Whether a batch taken earlier is still the partition's current data. */
  isCurrent(ready: ReadyBatch): boolean {
    // remove() bumps the epoch too, so a removed partition's batches fail this check.
    return ready.state.epoch === ready.epoch;
  }

  /** The next ready batch, decoded now; null once stopped. Throws a fatal fetch error. */
  async next(): Promise<ReadyBatch | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.stopped) return null;
      const fetched = this.queue.shift();
      if (fetched === undefined) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      const { state, epoch } = fetched;
      state.ready--;
      this.kick();
      if (state.epoch !== epoch || state.paused) continue;
      let messages: Message[];
      try {
        messages = (await decodeMessages(state.topic, state.partition, fetched.records, fetched.offset))
          .messages;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        if (state.epoch !== epoch) continue;
        // A response that failed its checks (CORRUPT_MESSAGE): fetch it again, and drop what
        // was fetched after it.
        state.epoch++;
        state.position = fetched.offset;
        this.dropStale();
        this.backOff(state);
        continue;
      }
      if (state.epoch !== epoch || messages.length === 0) continue;
      state.failures = 0;
      const last = messages[messages.length - 1] as Message;
      return {
        state,
        epoch,
        batch: {
          topic: state.topic,
          partition: state.partition,
          messages,
          highWatermark: fetched.highWatermark,
          lag: Math.max(0, fetched.highWatermark - last.offset - 1),
        },
      };
    }
  }

  /** Ends every `next()` with null and stops fetching. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /** Starts a fetch loop for every broker that leads a fetchable partition. */
  kick(): void {
    if (this.stopped) return;
    const now = this.client.clock.nowMs();
    let leaderUnknown = false;
    for (const state of this.partitions.values()) {
      if (state.position === null) {
        if (!state.resetting && !state.paused) void this.reset(state);
        continue;
      }
      if (!this.fetchable(state, now)) continue;
      const source = this.source(state, now);
      if (source === undefined || source < 0) {
        leaderUnknown = true;
        continue;
      }
      if (!this.loops.has(source)) void this.fetchLoop(source);
    }
    if (leaderUnknown) void this.refreshMetadata();
  }

  /** The broker to fetch the partition from: its read replica while leased, else its leader. */
  private source(state: PartitionState, now: number): number | undefined {
    if (state.readReplica !== null && state.readReplica.untilMs > now) return state.readReplica.brokerId;
    state.readReplica = null;
    return this.client.cachedLeader(state.topic, state.partition);
  }

  private fetchable(state: PartitionState, now: number): boolean {
    return (
      !state.paused &&
      !state.inFlight &&
      !state.resetting &&
      state.position !== null &&
      state.ready < READY_BATCHES_MAX &&
      state.retryAtMs <= now
    );
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  private dropStale(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const fetched = this.queue[i] as FetchedRecords;
      if (fetched.state.epoch !== fetched.epoch) {
        fetched.state.ready--;
        this.queue.splice(i, 1);
      }
    }
  }

  /** Kicks again after `delayMs` (a partition backing off after an error). */
  private kickLater(delayMs: number): void {
    void this.client.clock.sleep(delayMs).then(() => this.kick());
  }

  private async refreshMetadata(): Promise<void> {
    if (this.refreshingMetadata) return;
    this.refreshingMetadata = true;
    try {
      const topics = [...new Set([...this.partitions.values()].map((state) => state.topic))];
      await this.client.refreshMetadata(topics);
      this.metadataFailures = 0;
    } catch {
      await this.client.clock.sleep(
        backoffMs(this.metadataFailures++, this.client.retryOptions, this.client.random),
      );
    } finally {
      this.refreshingMetadata = false;
    }
    // A partition whose leader is being elected shows leader -1: look again after a pause.
    const unknown = [...this.partitions.values()].some((state) => {
      const leader = this.client.cachedLeader(state.topic, state.partition);
      return leader === undefined || leader < 0;
    });
    if (unknown)
      this.kickLater(backoffMs(this.metadataFailures++, this.client.retryOptions, this.client.random));
    else this.kick();
  }

  /** The partition's start from the reset policy (no committed offset, or out of range). */
  private async reset(state: PartitionState): Promise<void> {
    state.resetting = true;
    const epoch = state.epoch;
    try {
      const timestamp = this.options.autoOffsetReset === 'earliest' ? -2 : -1;
      const offset = await this.client.retrying(() =>
        listOffset(this.client, state.topic, state.partition, timestamp, {}),
      );
      if (this.partitions.get(state.key) !== state || state.epoch !== epoch || state.position !== null)
        return;
      state.position = offset;
      state.consumed ??= offset;
      state.processed ??= offset;
    } catch (error) {
      if (!isRetriable(error)) this.fail(error as Error);
      else state.retryAtMs = this.client.clock.nowMs() + 1_000;
    } finally {
      state.resetting = false;
    }
    this.kick();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  /** Fetches every fetchable partition led by `nodeId` until there is none. */
  private async fetchLoop(nodeId: number): Promise<void> {
    this.loops.add(nodeId);
    let failures = 0;
    try {
      while (!this.stopped) {
        const now = this.client.clock.nowMs();
        const batch = [...this.partitions.values()].filter(
          (state) => this.fetchable(state, now) && this.source(state, now) === nodeId,
        );
        if (batch.length === 0) return;
        const epochs = batch.map((state) => state.epoch);
        const offsets = batch.map((state) => state.position as number);
        for (const state of batch) state.inFlight = true;
        let response: any;
        try {
          response = await this.fetch(nodeId, batch, offsets);
          failures = 0;
        } catch (error) {
          for (const state of batch) {
            state.inFlight = false;
            // A read replica that fails sends its partitions back to their leader at once.
            if (state.readReplica?.brokerId === nodeId) this.readReplicaFailed(state);
          }
          if (this.stopped) return;
          if (batch.some((state) => this.client.cachedLeader(state.topic, state.partition) !== nodeId)) {
            // Once this loop has ended (a kick now would see it running and skip this broker).
            queueMicrotask(() => this.kick());
            return;
          }
          if (needsMetadataRefresh(error) || isRetriable(error)) this.client.invalidateMetadata();
          await this.client.clock.sleep(backoffMs(failures++, this.client.retryOptions, this.client.random));
          // The leader may have moved: let kick() pick the loops again.
          void this.refreshMetadata();
          return;
        }
        this.takeResponse(nodeId, batch, epochs, offsets, response);
      }
    } finally {
      this.loops.delete(nodeId);
    }
  }

  private async fetch(nodeId: number, batch: PartitionState[], offsets: number[]): Promise<any> {
    const connection = await this.client.brokerConnection(nodeId);
    const topics = new Map<string, Array<Record<string, number>>>();
    batch.forEach((state, index) => {
      let list = topics.get(state.topic);
      if (list === undefined) {
        list = [];
        topics.set(state.topic, list);
      }
      list.push({
        partition: state.partition,
        currentLeaderEpoch: -1,
        fetchOffset: offsets[index] as number,
        logStartOffset: -1,
        partitionMaxBytes: this.options.maxBytesPerPartition,
      });
    });
    return this.client.send(
      connection,
      ApiKey.Fetch,
      {
        replicaId: -1,
        maxWaitMs: this.options.maxWaitMs,
        minBytes: this.options.minBytes,
        maxBytes: this.options.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
        forgottenTopicsData: [],
        // A partition whose read replica failed lately is read from the leader itself: the
        // request names no rack then (it is one per request), so the leader sends records.
        rackId: batch.some((state) => state.readReplicaFailedUntilMs > this.client.clock.nowMs())
          ? ''
          : this.options.rack,
      },
      { timeoutMs: this.client.timeoutMs + this.options.maxWaitMs },
    );
  }

  /**
   * Takes a Fetch answer: errors and positions (from the batch headers, so the loop sends the
   * next fetch at once); the records wait in the queue undecoded until the caller takes them.
   */
  private takeResponse(
    nodeId: number,
    batch: PartitionState[],
    epochs: number[],
    offsets: number[],
    response: any,
  ): void {
    const answers = new Map<string, any>();
    for (const topic of response.responses ?? [])
      for (const answer of topic.partitions ?? [])
        answers.set(partitionKey(topic.topic, answer.partitionIndex), answer);
    let refresh = false;
    let reset = false;
    let added = false;
    let moved = false;
    for (let index = 0; index < batch.length; index++) {
      const state = batch[index] as PartitionState;
      const offset = offsets[index] as number;
      const epoch = epochs[index] as number;
      const answer = answers.get(state.key);
      state.inFlight = false;
      // Seeked, paused, revoked or reassigned meanwhile: this data is stale.
      if (state.epoch !== epoch) continue;
      const error =
        answer === undefined
          ? new KafkaProtocolError(3, { topic: state.topic, partition: state.partition })
          : answer.errorCode !== 0
            ? new KafkaProtocolError(answer.errorCode, { topic: state.topic, partition: state.partition })
            : null;
      const fromReplica = state.readReplica?.brokerId === nodeId;
      if (error !== null && fromReplica && error.code !== ErrorCode.OFFSET_NOT_AVAILABLE) {
        // The read replica cannot serve it (not a replica any more, gone, ...): back to the leader.
        this.readReplicaFailed(state);
        moved = true;
        continue;
      }
      if (error !== null) {
        if (error.code === 1) {
          // OFFSET_OUT_OF_RANGE: start again from the reset policy.
          state.position = null;
          reset = true;
        } else if (!error.retriable) {
          this.fail(error);
        } else {
          if (needsMetadataRefresh(error)) refresh = true;
          this.backOff(state);
        }
        continue;
      }
      const preferred: number = answer.preferredReadReplica ?? -1;
      if (this.options.rack !== '' && !fromReplica && preferred >= 0 && preferred !== nodeId) {
        // The leader names a replica in our rack and sends no records: read there from now on.
        state.readReplica = {
          brokerId: preferred,
          untilMs: this.client.clock.nowMs() + this.options.readReplicaLeaseMs,
        };
        moved = true;
        continue;
      }
      const records: Buffer | null = answer.records ?? null;
      state.position = nextFetchOffset(records, offset);
      if (records === null || records.length === 0) continue;
      state.ready++;
      this.queue.push({ state, epoch, offset, records, highWatermark: answer.highWatermark });
      added = true;
    }
    if (refresh) {
      this.client.invalidateMetadata();
      void this.refreshMetadata();
    }
    if (reset || moved) this.kick();
    if (added) this.wake();
  }

  private readReplicaFailed(state: PartitionState): void {
    state.readReplica = null;
    state.readReplicaFailedUntilMs = this.client.clock.nowMs() + READ_REPLICA_RETRY_AFTER_MS;
  }

  private backOff(state: PartitionState): void {
    state.retryAtMs =
      this.client.clock.nowMs() + backoffMs(state.failures++, this.client.retryOptions, this.client.random);
    this.kickLater(Math.max(1, state.retryAtMs - this.client.clock.nowMs()));
  }
}
