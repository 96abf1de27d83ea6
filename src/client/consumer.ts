import { ApiKey, ErrorCode } from '../protocol/index.js';
import { backoffMs } from './backoff.js';
import type { CallOptions, Client } from './client.js';
import type { Connection } from './connection.js';
import { AbortError, GoqueueError, isRetriable, KafkaProtocolError } from './errors.js';
import { nextFetchOffset } from './fast-records.js';
import { decodeMessages, type Message } from './records.js';
import {
  requireCallOptions,
  requireObject,
  requireOffset,
  requirePartition,
  requireTopic,
} from './validate.js';

export interface ConsumerOptions {
  /** Bytes asked for per partition per fetch (default 1 MiB). */
  maxBytes?: number;
  /** How long the broker may hold a fetch open waiting for data (default 500 ms). */
  maxWaitMs?: number;
  /** Bytes the broker waits for before answering early (default 1). */
  minBytes?: number;
  /**
   * The client's rack (Kafka's `client.rack`, sent as Fetch's `rackId`). A partition leader in
   * another rack with follower reads on names a replica in this rack (`preferredReadReplica`,
   * KIP-392), and the consumer fetches that partition from it until it answers an error or
   * `readReplicaLeaseMs` passes, then asks the leader again.
   */
  rack?: string;
  /** How long a preferred read replica is used before the leader is asked again (default
   * 300 000 ms, the Java client's `metadata.max.age.ms`). */
  readReplicaLeaseMs?: number;
}

/** A replica a leader named for a partition, and until when it is used. */
export interface ReadReplica {
  brokerId: number;
  untilMs: number;
}

const READ_REPLICA_LEASE_MS = 300_000;
/**
 * After a read replica fails, the partition is read from the leader without naming the rack for
 * this long: a leader that keeps naming a replica that keeps refusing would otherwise bounce the
 * client between the two with no data and no pause (a redirect is answered at once).
 */
export const READ_REPLICA_RETRY_AFTER_MS = 10_000;

export interface FetchRequest extends CallOptions {
  topic: string;
  partition: number;
  offset: number;
  maxBytes?: number;
  /** Long-poll limit; 0 answers at once even when there is nothing new. */
  maxWaitMs?: number;
}

export interface FetchResult {
  topic: string;
  partition: number;
  messages: Message[];
  /** Offset to fetch next. */
  nextOffset: number;
  /** First offset not yet committed (consumers see offsets below it). */
  highWatermark: number;
  logStartOffset: number;
}

/** Where a stream starts: a named end, an offset, or the first message at/after a time. */
export type StartPosition = 'earliest' | 'latest' | number | { timestamp: number };

export interface StreamOptions extends CallOptions {
  topic: string;
  partition: number;
  from?: StartPosition;
  maxBytes?: number;
  maxWaitMs?: number;
  /**
   * Default true: retriable errors (broker down, leader moving) never end the stream; it keeps
   * trying with backoff. False: they end it once the client's retries are spent.
   */
  keepRetrying?: boolean;
}

/** One fetched batch of messages, for callers that handle messages in bulk. */
export interface MessageBatch {
  topic: string;
  partition: number;
  messages: Message[];
  highWatermark: number;
  /** Messages between the batch's end and the high watermark. */
  lag: number;
}

/**
 * Reads messages. `fetchFrom` (the seed's verb) reads once from an offset; `stream` and
 * `batches` read forever as async iterators, fetching at most one response ahead of the
 * caller (backpressure), following leader changes and reconnecting after broker restarts.
 */
export class Consumer {
  private readonly client: Client;
  private readonly maxBytes: number;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly rack: string;
  private readonly readReplicaLeaseMs: number;
  /** Partitions read from a replica their leader named (by `topic/partition`). */
  private readonly readReplicas = new Map<string, ReadReplica>();
  /** Partitions whose read replica failed: read from the leader, rack unnamed, until then. */
  private readonly readReplicaFailedUntilMs = new Map<string, number>();

  constructor(client: Client, options: ConsumerOptions = {}) {
    this.client = client;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.maxWaitMs = options.maxWaitMs ?? 500;
    this.minBytes = options.minBytes ?? 1;
    if (options.rack !== undefined && (typeof options.rack !== 'string' || options.rack.length > 255))
      throw new TypeError('consumer options.rack must be a string of at most 255 characters');
    this.rack = options.rack ?? '';
    this.readReplicaLeaseMs = options.readReplicaLeaseMs ?? READ_REPLICA_LEASE_MS;
  }

  /** Reads the messages at and after `offset` (up to `maxBytes`). */
  fetchFrom(request: FetchRequest): Promise<FetchResult> {
    const field = 'consumer.fetchFrom(request)';
    const fields = requireObject(field, request);
    requireTopic(`${field}.topic`, fields.topic);
    requirePartition(`${field}.partition`, fields.partition);
    requireOffset(`${field}.offset`, fields.offset);
    requireCallOptions(field, fields);
    return this.client.retrying(
      async () => decodeFetch(request.topic, request.partition, await this.fetchOnce(request)),
      request,
    );
  }

  /** The offset a start position names (ListOffsets for earliest/latest/timestamp). */
  async resolveOffset(
    topic: string,
    partition: number,
    from: StartPosition,
    options: CallOptions = {},
  ): Promise<number> {
    if (typeof from === 'number') return from;
    const timestamp = from === 'earliest' ? -2 : from === 'latest' ? -1 : from.timestamp;
    const found = await this.client.retrying(
      () => listOffset(this.client, topic, partition, timestamp, options),
      options,
    );
    // No message at or after that time: start at the end.
    if (found < 0) return this.resolveOffset(topic, partition, 'latest', options);
    return found;
  }

  /** Every message from `from` onwards, one at a time, until the loop breaks or the signal fires. */
  async *stream(options: StreamOptions): AsyncGenerator<Message, void, undefined> {
    for await (const batch of this.batches(options)) {
      // A fetched batch can hold hundreds of messages: an abort stops between two of them.
      for (const message of batch.messages) {
        if (options.signal?.aborted) return;
        yield message;
      }
    }
  }

  /** Like `stream`, but one fetched batch at a time. Empty polls are not yielded. */
  async *batches(options: StreamOptions): AsyncGenerator<MessageBatch, void, undefined> {
    checkStreamOptions(options);
    const { topic, partition, signal } = options;
    let offset: number;
    try {
      offset = await this.resolveOffset(topic, partition, options.from ?? 'latest', options);
    } catch (error) {
      if (error instanceof AbortError && signal?.aborted) return;
      throw error;
    }
    const fetch = (at: number): Promise<RawFetch> => {
      const request: FetchRequest = {
        topic,
        partition,
        offset: at,
        maxBytes: options.maxBytes ?? this.maxBytes,
        maxWaitMs: options.maxWaitMs ?? this.maxWaitMs,
        ...(signal ? { signal } : {}),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      };
      const pending = this.client.retrying(() => this.fetchOnce(request), request);
      // The loop awaits it (and sees any error); a caller that abandons the iterator without
      // return() must not leave the fetched-ahead request as an unhandled rejection.
      pending.catch(() => undefined);
      return pending;
    };
    let next: Promise<RawFetch> = fetch(offset);
    let failures = 0;
    for (;;) {
      if (signal?.aborted) return;
      let result: FetchResult;
      try {
        const raw = await next;
        // Fetch ahead by one response, sent before this one is decoded: the broker prepares
        // the next response while the client decodes this one and the caller handles it.
        next = fetch(nextFetchOffset(raw.records, raw.offset));
        result = await decodeFetch(topic, partition, raw);
      } catch (error) {
        // The caller's signal ends the stream quietly.
        if (error instanceof AbortError && signal?.aborted) return;
        // A stream outlives outages: after fetchFrom's own retries, keep waiting and trying
        // (broker restarts, leader moves, a response that fails its checks) unless the caller
        // asked to stop on errors.
        if (options.keepRetrying === false || !isRetriable(error)) throw error;
        try {
          await this.client.clock.sleep(
            backoffMs(failures++, this.client.retryOptions, this.client.random),
            signal,
          );
        } catch (sleepError) {
          if (sleepError instanceof AbortError) return;
          throw sleepError;
        }
        next = fetch(offset);
        continue;
      }
      failures = 0;
      offset = result.nextOffset;
      if (result.messages.length > 0) {
        const last = result.messages[result.messages.length - 1] as Message;
        yield {
          topic,
          partition,
          messages: result.messages,
          highWatermark: result.highWatermark,
          lag: Math.max(0, result.highWatermark - last.offset - 1),
        };
      }
    }
  }

  /**
   * One Fetch for one partition; the records come back undecoded. From the partition's read
   * replica while it has one (KIP-392); any error there but OFFSET_NOT_AVAILABLE (the replica is
   * a moment behind: retried there after a backoff) drops it and the leader is asked at once,
   * without naming the rack for READ_REPLICA_RETRY_AFTER_MS (so it serves the records itself).
   * A leader naming a read replica sends no records: the replica is asked at once.
   */
  private async fetchOnce(request: FetchRequest): Promise<RawFetch> {
    const { topic, partition, offset } = request;
    if (!Number.isInteger(offset) || offset < 0) {
      throw new GoqueueError(`fetch offset must be a non-negative integer, not ${offset}`);
    }
    const key = `${topic}/${partition}`;
    const replica = this.readReplicas.get(key);
    if (replica !== undefined && replica.untilMs > this.client.clock.nowMs()) {
      const answer = await this.fromReadReplica(key, replica.brokerId, request);
      if (answer !== null) return answer;
    } else this.readReplicas.delete(key);
    const leader = this.client.cachedLeader(topic, partition);
    const failedUntilMs = this.readReplicaFailedUntilMs.get(key) ?? 0;
    const rack = failedUntilMs > this.client.clock.nowMs() ? '' : this.rack;
    if (rack !== '') this.readReplicaFailedUntilMs.delete(key);
    const answer = await this.fetchAt(
      await this.client.leaderConnection(topic, partition, request),
      request,
      rack,
    );
    const preferred: number = answer.preferredReadReplica ?? -1;
    if (rack === '' || preferred < 0 || preferred === leader) return checkedFetch(answer, request);
    this.readReplicas.set(key, {
      brokerId: preferred,
      untilMs: this.client.clock.nowMs() + this.readReplicaLeaseMs,
    });
    const fromReplica = await this.fromReadReplica(key, preferred, request);
    if (fromReplica !== null) return fromReplica;
    // The leader sent no records (it named the replica): ask it again, rack unnamed now.
    return checkedFetch(
      await this.fetchAt(await this.client.leaderConnection(topic, partition, request), request, ''),
      request,
    );
  }

  /** A fetch from the read replica; null (and the replica dropped) when it fails. */
  private async fromReadReplica(
    key: string,
    brokerId: number,
    request: FetchRequest,
  ): Promise<RawFetch | null> {
    let answer: FetchPartitionAnswer;
    try {
      answer = await this.fetchAt(await this.client.brokerConnection(brokerId, request), request, this.rack);
    } catch (error) {
      if (error instanceof AbortError) throw error;
      this.readReplicaFailed(key);
      return null;
    }
    if (answer.errorCode === ErrorCode.OFFSET_NOT_AVAILABLE) return checkedFetch(answer, request);
    if (answer.errorCode !== 0) {
      this.readReplicaFailed(key);
      return null;
    }
    return checkedFetch(answer, request);
  }

  private readReplicaFailed(key: string): void {
    this.readReplicas.delete(key);
    this.readReplicaFailedUntilMs.set(key, this.client.clock.nowMs() + READ_REPLICA_RETRY_AFTER_MS);
  }

  /** Sends one Fetch of `request`'s partition on `connection`; the partition's answer. */
  private async fetchAt(
    connection: Connection,
    request: FetchRequest,
    rack: string,
  ): Promise<FetchPartitionAnswer> {
    const { topic, partition, offset } = request;
    const maxBytes = request.maxBytes ?? this.maxBytes;
    const maxWaitMs = request.maxWaitMs ?? this.maxWaitMs;
    const body = {
      replicaId: -1,
      maxWaitMs,
      minBytes: maxWaitMs === 0 ? 0 : this.minBytes,
      maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              logStartOffset: -1,
              partitionMaxBytes: maxBytes,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: rack,
    };
    const response = await this.client.send(connection, ApiKey.Fetch, body, {
      ...request,
      // The broker may legally hold the request for maxWaitMs before answering.
      timeoutMs: (request.timeoutMs ?? this.client.timeoutMs) + maxWaitMs,
    });
    if (response.errorCode) throw new KafkaProtocolError(response.errorCode, { topic, partition });
    const answer = response.responses?.[0]?.partitions?.[0];
    if (!answer)
      throw new GoqueueError(`the broker's fetch response names no partition for ${topic}/${partition}`);
    return answer;
  }
}

/** The records of one partition's Fetch answer, or its error thrown. */
function checkedFetch(answer: FetchPartitionAnswer, request: FetchRequest): RawFetch {
  const { topic, partition, offset } = request;
  if (answer.errorCode !== 0)
    throw new KafkaProtocolError(answer.errorCode, { topic, partition, detail: `fetch offset ${offset}` });
  return {
    offset,
    records: answer.records ?? null,
    highWatermark: answer.highWatermark,
    logStartOffset: answer.logStartOffset ?? -1,
  };
}

/** `stream`/`batches` options, checked at run time (plain-JavaScript callers have no types). */
function checkStreamOptions(options: unknown): void {
  const field = 'consumer.stream(options)';
  const fields = requireObject(field, options);
  requireTopic(`${field}.topic`, fields.topic);
  requirePartition(`${field}.partition`, fields.partition);
  const from = fields.from;
  const valid =
    from === undefined ||
    from === 'earliest' ||
    from === 'latest' ||
    (typeof from === 'number' && Number.isSafeInteger(from) && from >= 0) ||
    (typeof from === 'object' &&
      from !== null &&
      typeof (from as { timestamp?: unknown }).timestamp === 'number');
  if (!valid) {
    throw new TypeError(
      `${field}.from must be 'earliest', 'latest', an offset (a non-negative integer) or { timestamp }, not ${JSON.stringify(from)}`,
    );
  }
  requireCallOptions(field, fields);
}

/** One partition of a Fetch response, as the schema decodes it (fields this file reads). */
interface FetchPartitionAnswer {
  errorCode: number;
  highWatermark: number;
  logStartOffset?: number;
  preferredReadReplica?: number;
  records?: Buffer | null;
}

/** A Fetch answer for one partition before its records are decoded. */
interface RawFetch {
  offset: number;
  records: Buffer | null;
  highWatermark: number;
  logStartOffset: number;
}

async function decodeFetch(topic: string, partition: number, raw: RawFetch): Promise<FetchResult> {
  const decoded = await decodeMessages(topic, partition, raw.records, raw.offset);
  return {
    topic,
    partition,
    messages: decoded.messages,
    nextOffset: decoded.nextOffset,
    highWatermark: raw.highWatermark,
    logStartOffset: raw.logStartOffset,
  };
}

/** ListOffsets for one partition: -2 earliest, -1 latest, else the first offset at/after a time. */
export async function listOffset(
  client: Client,
  topic: string,
  partition: number,
  timestamp: number,
  options: CallOptions,
): Promise<number> {
  const connection = await client.leaderConnection(topic, partition, options);
  const response = await client.send(
    connection,
    ApiKey.ListOffsets,
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: topic,
          partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
        },
      ],
    },
    options,
  );
  const answer = response.topics?.[0]?.partitions?.[0];
  if (!answer)
    throw new GoqueueError(`the broker's ListOffsets response names no partition for ${topic}/${partition}`);
  if (answer.errorCode !== 0) throw new KafkaProtocolError(answer.errorCode, { topic, partition });
  // v0 answers with a list (oldStyleOffsets); v1+ with one offset.
  if (answer.offset !== undefined) return answer.offset;
  return answer.oldStyleOffsets?.[0] ?? -1;
}
