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

/**
 * ReadIndex rounds on the leader (thesis §6.4): a read issued when the commit index was
 * `index` may be served once a quorum acknowledged a heartbeat sent after the read arrived,
 * proving no newer leader existed at that moment. Rounds complete in arrival order.
 */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  /** Bound on queued reads (TigerStyle: everything has a limit). */
  constructor(readonly maxPending: number) {}

  size(): number {
    return this.queue.length;
  }

  add(index: LogIndex, request: Message): boolean {
    const key = contextKey(request.context ?? new Uint8Array(0));
    if (this.pending.has(key)) return true;
    if (this.queue.length >= this.maxPending) return false;
    this.pending.set(key, { index, request, acks: new Set() });
    this.queue.push(key);
    return true;
  }

  /** Records that `from` acknowledged the round `context`; returns who has, or undefined. */
  recordAck(from: NodeId, context: Uint8Array): Set<NodeId> | undefined {
    const read = this.pending.get(contextKey(context));
    if (!read) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns every read up to and including `context`. */
  advance(context: Uint8Array): Array<{ index: LogIndex; request: Message }> {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1).map((k) => {
      const read = this.pending.get(k)!;
      this.pending.delete(k);
      return { index: read.index, request: read.request };
    });
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  /** Context of the newest pending read, carried by heartbeats. */
  lastContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.request.context;
  }

  clear(): void {
    this.pending.clear();
    this.queue = [];
  }
}
