import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../lib/clock.js';
import { ApiKey } from '../protocol/index.js';
import { backoffMs, DEFAULT_RETRY, type RetryOptions } from './backoff.js';
import { Connection } from './connection.js';
import {
  AbortError,
  ConnectionError,
  GoqueueError,
  isRetriable,
  KafkaProtocolError,
  needsMetadataRefresh,
} from './errors.js';
import { requireObject } from './validate.js';

/** Time for the SDK: `nowMs` for measuring, `sleep` for backoff. Injected by tests. */
export interface ClientClock extends Clock {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface ClientOptions {
  /** Bootstrap brokers, "host:port" (a comma-separated string is accepted too). */
  brokers?: string[] | string;
  /** The seed's name for `brokers`. */
  brokerAddrs?: string[];
  clientId?: string;
  /** Limit on each request (default 30 000 ms). */
  timeoutMs?: number;
  /** The seed's name for `timeoutMs`: milliseconds, or a duration string such as "5s". */
  timeout?: number | string;
  retry?: Partial<RetryOptions>;
  clock?: ClientClock;
  /** Float in [0, 1): backoff jitter and the sticky partitioner. */
  random?: () => number;
  /** Requests on the wire per broker connection (default 64). */
  maxInFlight?: number;
  /** Cached metadata older than this is refreshed on next use (default 300 000 ms). */
  metadataMaxAgeMs?: number;
}

/** Per-call options every SDK method takes. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: Map<number, BrokerInfo>;
  topics: Map<string, TopicMetadata>;
}

export const systemClock: ClientClock = {
  nowMs: () => performance.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch (error) {
      if (signal?.aborted) throw new AbortError('waiting before a retry', signal.reason);
      throw error;
    }
  },
};

/** `promise`, or an AbortError as soon as `signal` fires (the work itself goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new AbortError(what, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError(what, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Parses "host:port" (IPv6 as "[::1]:9092"); the port defaults to 9092. */
export function parseBrokerAddress(address: string): { host: string; port: number } {
  const trimmed = address.trim();
  const bracket = /^\[(.+)\](?::(\d+))?$/.exec(trimmed);
  if (bracket) return { host: bracket[1] as string, port: bracket[2] ? Number(bracket[2]) : 9092 };
  const colon = trimmed.lastIndexOf(':');
  if (colon < 0) return { host: trimmed, port: 9092 };
  const port = Number(trimmed.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new GoqueueError(`broker address "${address}" has an invalid port; write it as host:port`);
  }
  return { host: trimmed.slice(0, colon), port };
}

/** Reads the seed's `timeout`: a number of ms or "500ms" / "5s" / "1m". */
export function parseDurationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(value);
  if (!match) throw new GoqueueError(`timeout "${value}" is not a duration; use milliseconds or e.g. "5s"`);
  const amount = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return Math.round(unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000);
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A connection to a goqueue (or any Kafka) cluster: one pipelined TCP connection per broker,
 * a metadata cache, controller discovery, and retries with backoff. `Producer`, `Consumer` and
 * `Admin` all work through one `Client`; close it when done.
 */
export class Client {
  readonly clientId: string;
  readonly timeoutMs: number;
  readonly retryOptions: RetryOptions;
  readonly clock: ClientClock;
  readonly random: () => number;
  private readonly bootstrap: Array<{ host: string; port: number }>;
  private readonly maxInFlight: number;
  private readonly metadataMaxAgeMs: number;
  private cacheFetchedMs = 0;
  private readonly connections = new Map<string, Promise<Connection>>();
  private cache: ClusterMetadata | null = null;
  /** Topics some caller asked about; a refresh asks for all of them. */
  private readonly knownTopics = new Set<string>();
  /** Topics some metadata answer listed: one later answered unknown is retried, not given up
   * (a broker restarting answers from metadata it has not replayed yet). */
  private readonly seenTopics = new Set<string>();
  private refreshing: Promise<ClusterMetadata> | null = null;
  private closed = false;
  private bootstrapCursor = 0;

  constructor(options: ClientOptions = {}) {
    requireObject('new Client(options)', options);
    const list = options.brokers ?? options.brokerAddrs;
    const addresses = typeof list === 'string' ? list.split(',') : (list ?? []);
    if (!Array.isArray(addresses) || addresses.some((address) => typeof address !== 'string')) {
      throw new TypeError(
        'new Client(options).brokers must be an array of "host:port" strings or one comma-separated string',
      );
    }
    if (addresses.length === 0) {
      throw new GoqueueError(
        'no brokers given: pass { brokers: ["host:9092"] } (or the seed\'s brokerAddrs)',
      );
    }
    this.bootstrap = addresses.map(parseBrokerAddress);
    this.clientId = options.clientId ?? 'goqueue-client';
    this.timeoutMs =
      options.timeoutMs ??
      (options.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(options.timeout));
    this.retryOptions = { ...DEFAULT_RETRY, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.maxInFlight = options.maxInFlight ?? 64;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? 300_000;
  }

  /** The connection to `host:port`, opened on first use and reopened after it breaks. */
  connection(host: string, port: number, options: CallOptions = {}): Promise<Connection> {
    if (this.closed) return Promise.reject(new GoqueueError('the client is closed'));
    const key = `${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing) return abortable(existing, options.signal, `connecting to ${key}`);
    // Shared by every caller that needs this broker meanwhile, so no caller's signal is
    // passed down: one caller giving up must not abort the others' connection.
    const opening = Connection.connect({
      host,
      port,
      clientId: this.clientId,
      connectTimeoutMs: options.timeoutMs ?? this.timeoutMs,
      maxInFlight: this.maxInFlight,
    });
    this.connections.set(key, opening);
    opening.then(
      (connection) => {
        connection.onClose(() => {
          if (this.connections.get(key) === opening) this.connections.delete(key);
        });
        if (this.closed) connection.close();
      },
      () => {
        if (this.connections.get(key) === opening) this.connections.delete(key);
      },
    );
    return abortable(opening, options.signal, `connecting to ${key}`);
  }

  /** The connection to broker `nodeId` (from metadata). */
  async brokerConnection(nodeId: number, options: CallOptions = {}): Promise<Connection> {
    let broker = this.cache?.brokers.get(nodeId);
    if (!broker) broker = (await this.refreshMetadata(undefined, options)).brokers.get(nodeId);
    if (!broker)
      throw new KafkaProtocolError(8, { detail: `broker ${nodeId} is not in the cluster metadata` });
    return this.connection(broker.host, broker.port, options);
  }

  /** A connection to any reachable broker: known brokers first, then the bootstrap list. */
  async anyConnection(options: CallOptions = {}): Promise<Connection> {
    const candidates = [...(this.cache?.brokers.values() ?? []), ...this.bootstrap];
    let lastError: unknown;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[(this.bootstrapCursor + i) % candidates.length] as {
        host: string;
        port: number;
      };
      try {
        return await this.connection(candidate.host, candidate.port, options);
      } catch (error) {
        if (error instanceof AbortError) throw error;
        lastError = error;
      }
    }
    this.bootstrapCursor++;
    throw lastError instanceof GoqueueError
      ? lastError
      : new ConnectionError(candidates.map((c) => `${c.host}:${c.port}`).join(','), String(lastError));
  }

  /** Sends one request to a connection, with the client's default timeout. */
  send<T = any>(
    connection: Connection,
    apiKey: number,
    body: object,
    options: CallOptions & { expectResponse?: boolean } = {},
  ): Promise<T> {
    return connection.request<T>(apiKey, body, {
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      signal: options.signal,
      ...(options.expectResponse === false ? { expectResponse: false } : {}),
    });
  }

  /** Cached metadata, fetched when absent or when `topics` holds one not yet known. */
  async metadata(topics?: string[], options: CallOptions = {}): Promise<ClusterMetadata> {
    const cache = this.cache;
    const fresh = this.clock.nowMs() - this.cacheFetchedMs < this.metadataMaxAgeMs;
    if (cache && fresh && (!topics || topics.every((t) => cache.topics.has(t)))) return cache;
    return this.refreshMetadata(topics, options);
  }

  /**
   * Asks a broker for fresh metadata. With `topics`, asks for those plus every topic asked
   * about before; `allTopics` asks for every topic in the cluster.
   */
  async refreshMetadata(
    topics?: string[],
    options: CallOptions & { allTopics?: boolean } = {},
  ): Promise<ClusterMetadata> {
    for (const topic of topics ?? []) this.knownTopics.add(topic);
    if (this.refreshing && !options.allTopics) {
      const shared = await this.refreshing;
      if (!topics || topics.every((t) => shared.topics.has(t))) return shared;
    }
    const work = this.fetchMetadata(options.allTopics ? null : [...this.knownTopics], options);
    if (!options.allTopics) this.refreshing = work;
    try {
      const fresh = await work;
      for (const name of fresh.topics.keys()) this.seenTopics.add(name);
      // An all-topics answer replaces the cache; a partial one merges into it.
      const merged: ClusterMetadata = options.allTopics
        ? fresh
        : { ...fresh, topics: new Map([...(this.cache?.topics ?? []), ...fresh.topics]) };
      for (const [name] of merged.topics)
        if (!fresh.topics.has(name) && topics?.includes(name)) merged.topics.delete(name);
      this.cache = merged;
      this.cacheFetchedMs = this.clock.nowMs();
      return merged;
    } finally {
      if (this.refreshing === work) this.refreshing = null;
    }
  }

  /** Forgets cached partition leaders so the next call asks the cluster again. */
  invalidateMetadata(): void {
    this.cache = null;
  }

  private async fetchMetadata(topics: string[] | null, options: CallOptions): Promise<ClusterMetadata> {
    const connection = await this.anyConnection(options);
    const version = connection.versionFor(ApiKey.Metadata);
    const requested = topics === null ? (version >= 1 ? null : []) : topics.map((name) => ({ name }));
    const body = await this.send(
      connection,
      ApiKey.Metadata,
      {
        topics: requested,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      },
      options,
    );
    const brokers = new Map<number, BrokerInfo>();
    for (const b of body.brokers ?? [])
      brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    const result: ClusterMetadata = {
      clusterId: body.clusterId ?? null,
      controllerId: body.controllerId ?? -1,
      brokers,
      topics: new Map(),
    };
    for (const t of body.topics ?? []) {
      // Unknown topics come back with an error and no partitions: leave them out of the cache.
      if (t.errorCode !== 0 && (t.partitions ?? []).length === 0) continue;
      result.topics.set(t.name, {
        name: t.name,
        isInternal: t.isInternal ?? false,
        partitions: (t.partitions ?? [])
          .map((p: any) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes ?? [],
            isr: p.isrNodes ?? [],
            offlineReplicas: p.offlineReplicas ?? [],
            errorCode: p.errorCode,
          }))
          .sort((a: PartitionMetadata, b: PartitionMetadata) => a.partition - b.partition),
      });
    }
    return result;
  }

  /** The topic's metadata; an UNKNOWN_TOPIC_OR_PARTITION error when absent: retriable for a
   * topic an earlier answer listed (as Kafka clients wait for it), not for one never seen. */
  async topic(topic: string, options: CallOptions = {}): Promise<TopicMetadata> {
    let found = (await this.metadata([topic], options)).topics.get(topic);
    if (!found) found = (await this.refreshMetadata([topic], options)).topics.get(topic);
    if (!found) throw new KafkaProtocolError(3, { topic, retriable: this.seenTopics.has(topic) });
    return found;
  }

  /** The partition count from the cache, without asking the cluster. */
  cachedPartitionCount(topic: string): number | undefined {
    return this.cache?.topics.get(topic)?.partitions.length;
  }

  /** The partition's leader from the cache, without asking the cluster. */
  cachedLeader(topic: string, partition: number): number | undefined {
    return this.cache?.topics.get(topic)?.partitions.find((p) => p.partition === partition)?.leader;
  }

  /** The leader's connection for one partition. */
  async leaderConnection(topic: string, partition: number, options: CallOptions = {}): Promise<Connection> {
    const meta = await this.topic(topic, options);
    const entry = meta.partitions.find((p) => p.partition === partition);
    if (!entry) {
      throw new KafkaProtocolError(3, {
        topic,
        partition,
        retriable: false,
        detail: `the topic has ${meta.partitions.length} partitions`,
      });
    }
    if (entry.leader < 0) throw new KafkaProtocolError(5, { topic, partition });
    return this.brokerConnection(entry.leader, options);
  }

  /** The controller's connection (admin requests go there). */
  async controllerConnection(options: CallOptions = {}): Promise<Connection> {
    let meta = await this.metadata(undefined, options);
    if (meta.controllerId < 0 || !meta.brokers.has(meta.controllerId))
      meta = await this.refreshMetadata(undefined, options);
    if (meta.controllerId < 0) throw new KafkaProtocolError(41, { detail: 'no controller is elected yet' });
    return this.brokerConnection(meta.controllerId, options);
  }

  /**
   * Runs `operation` and retries it on retriable errors, at most `retry.retries` times, waiting
   * with exponential backoff and full jitter and refreshing metadata first when the error says
   * the cache is stale. A broker that cannot be reached (ConnectionError: not up yet,
   * restarting) is retried past `retry.retries`, for as long as the call's timeout allows:
   * refused connections fail in milliseconds, so a count alone gave up long before the
   * timeout. Never retries after an abort.
   */
  async retrying<T>(operation: (attempt: number) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const budgetMs = options.timeoutMs ?? this.timeoutMs;
    const startedMs = this.clock.nowMs();
    // Waits are summed too, so that a clock that does not move (tests) still ends the retries.
    let waitedMs = 0;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new AbortError('the operation', options.signal.reason);
      try {
        return await operation(attempt);
      } catch (error) {
        if (error instanceof AbortError || !isRetriable(error)) throw error;
        const remainingMs = budgetMs - Math.max(this.clock.nowMs() - startedMs, waitedMs);
        const unreachable = error instanceof ConnectionError;
        if (unreachable ? remainingMs <= 0 : attempt >= this.retryOptions.retries) throw error;
        if (needsMetadataRefresh(error)) this.invalidateMetadata();
        let waitMs = backoffMs(attempt, this.retryOptions, this.random);
        if (unreachable) waitMs = Math.min(Math.max(waitMs, 1), remainingMs);
        waitedMs += waitMs;
        await this.clock.sleep(waitMs, options.signal);
      }
    }
  }

  /** Closes every broker connection. Calls in progress fail with a ConnectionError. */
  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      open.map((p) =>
        p.then(
          (c) => c.close(),
          () => undefined,
        ),
      ),
    );
  }
}
