import type { LogIndex, NodeId } from '../lib/ids.js';
import type { Message } from './types.js';

interface PendingRead {
  index: LogIndex;
  request: Message;
  acks: Set<NodeId>;
}

/** Key for a request context (contexts are bytes; Map keys must be strings). */
export function contextKey(context: Uint8Array): string {
  let key = '';
  for (const byte of context) key += String.fromCharCode(byte);
  return key;
}

/** The bytes of a key made by `contextKey` (or of ASCII text). */
function keyBytes(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return bytes;
}

/**
 * ReadIndex rounds on the leader (thesis §6.4): a read issued when the commit index was
 * `index` may be served once a quorum acknowledged a heartbeat sent after the read arrived,
 * proving no newer leader existed at that moment. Rounds complete in arrival order.
 *
 * Each read gets its own round, named by the leader (the client's context, then the term and a
 * sequence number), and heartbeats carry that name, not the client's context: an answer to an
 * earlier round that arrives again late (a duplicated or reordered message) then matches no
 * round. With the client's context as the name, a request delivered twice reopened a finished
 * round under the same name, and the first round's stale answer confirmed it (simulator seed
 * 1212069128: a removed leader answered a read below a write its successor had acknowledged).
 */
export class ReadOnlyQueue {
  /** Pending reads by round name. */
  private readonly pending = new Map<string, PendingRead>();
  /** The round of each client context with a read pending (a repeated request joins it). */
  private readonly roundOfContext = new Map<string, string>();
  private queue: string[] = [];
  private rounds = 0;

  /** Bound on queued reads (TigerStyle: everything has a limit). */
  constructor(readonly maxPending: number) {}

  size(): number {
    return this.queue.length;
  }

  /** Queues `request` (leader of `term`); the name of its heartbeat round, or undefined when full. */
  add(index: LogIndex, request: Message, term: number): Uint8Array | undefined {
    const context = contextKey(request.context ?? new Uint8Array(0));
    const joined = this.roundOfContext.get(context);
    if (joined !== undefined) return keyBytes(joined);
    if (this.queue.length >= this.maxPending) return undefined;
    const round = `${context}@${term}.${++this.rounds}`;
    this.pending.set(round, { index, request, acks: new Set() });
    this.roundOfContext.set(context, round);
    this.queue.push(round);
    return keyBytes(round);
  }

  /** Records that `from` acknowledged the round `round`; returns who has, or undefined. */
  recordAck(from: NodeId, round: Uint8Array): Set<NodeId> | undefined {
    const read = this.pending.get(contextKey(round));
    if (!read) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns every read up to and including round `round`. */
  advance(round: Uint8Array): Array<{ index: LogIndex; request: Message }> {
    const key = contextKey(round);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1).map((k) => {
      const read = this.pending.get(k)!;
      this.pending.delete(k);
      this.roundOfContext.delete(contextKey(read.request.context ?? new Uint8Array(0)));
      return { index: read.index, request: read.request };
    });
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  /** Name of the newest pending round, carried by heartbeats. */
  lastContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : keyBytes(key);
  }

  clear(): void {
    this.pending.clear();
    this.roundOfContext.clear();
    this.queue = [];
  }
}
