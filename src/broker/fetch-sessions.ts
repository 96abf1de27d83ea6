import { randomInt } from 'node:crypto';
import { assert } from '../lib/assert.js';

/**
 * KIP-227 incremental fetch sessions. A consumer opens a session with a full fetch (session id
 * 0, epoch 0); the broker remembers its partitions and answers with a session id. Each later
 * fetch (same id, next epoch) names only the partitions whose fetch state changed (and the
 * forgotten ones), and is answered only with partitions that have something new: records, an
 * error, a moved high watermark or log start. The cache is bounded: past `maxSessions` the least
 * recently used session is dropped (its consumer gets FETCH_SESSION_ID_NOT_FOUND and starts over
 * with a full fetch, as Kafka's clients do).
 */

export interface SessionPartition {
  /** Topic name, or undefined for a topic id this broker does not know. */
  name: string | undefined;
  /** v13+: the topic id the client uses (32 hex digits); undefined before. */
  topicId: string | undefined;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  /** What the last answer told the client, to see what changed (-2: never answered). */
  answeredHighWatermark: number;
  answeredLogStartOffset: number;
}

export interface FetchSession {
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  nextEpoch: number;
  /** By `partitionKey`, in the order the client added them. */
  readonly partitions: Map<string, SessionPartition>;
}

/** Key of a partition within a session: the topic as the client names it, and the index. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class FetchSessionCache {
  /** Insertion order is recency: a used session is moved to the end. */
  private readonly sessions = new Map<number, FetchSession>();

  constructor(readonly maxSessions: number) {
    assert(maxSessions >= 1, 'a fetch session cache holds at least one session');
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session (evicting the least recently used one when full). */
  create(): FetchSession {
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as number;
      this.sessions.delete(oldest);
    }
    let id = randomInt(1, 0x7fffffff);
    while (this.sessions.has(id)) id = randomInt(1, 0x7fffffff);
    const session: FetchSession = { id, nextEpoch: 1, partitions: new Map() };
    this.sessions.set(id, session);
    return session;
  }

  /** The session with `id`, marked as just used; undefined if unknown or evicted. */
  use(id: number): FetchSession | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }
}
