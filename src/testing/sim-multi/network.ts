/**
 * The simulated network between brokers. Each direction of each node pair is a link that can be
 * cut on its own (one-way cuts, asymmetric partitions). Frames on a link keep their order like
 * TCP, take a seeded delay, and may be dropped (a lost connection or a full queue); a frame in
 * flight when its link is cut, or when its receiver dies, is lost. Half the cuts tell both ends
 * their connection broke (`onPeerDisconnected`), as a closed socket would; the others leave the
 * ends unaware, as a silent partition does.
 */
import type { RaftTransport } from '../../cluster/raft-transport.js';
import type { NodeId } from '../../lib/ids.js';
import type { Prng } from '../../lib/prng.js';
import type { VirtualTime } from './virtual-time.js';

export interface NetworkOptions {
  minDelayMs: number;
  maxDelayMs: number;
  dropRate: number;
}

type MessageHandler = (from: NodeId, channel: number, payload: Buffer) => void;
type PeerHandler = (peer: NodeId) => void;

/** One node incarnation's end of the network. */
export class SimTransport implements RaftTransport {
  readonly messageHandlers: MessageHandler[] = [];
  readonly peerHandlers: PeerHandler[] = [];
  alive = true;

  constructor(
    private readonly network: SimNetwork,
    readonly nodeId: NodeId,
  ) {}

  onMessage(handler: MessageHandler): void {
    this.messageHandlers.push(handler);
  }
  onPeerDisconnected(handler: PeerHandler): void {
    this.peerHandlers.push(handler);
  }
  send(to: NodeId, channel: number, payload: Buffer): boolean {
    if (!this.alive) return false;
    this.network.send(this.nodeId, to, channel, payload);
    return true;
  }
  flush(): void {}
}

export class SimNetwork {
  private readonly endpoints = new Map<NodeId, SimTransport>();
  /** Cut links, keyed `from>to`. */
  private readonly cuts = new Set<string>();
  /** Time the last frame on a link is delivered (frames on a link never overtake each other). */
  private readonly lastDeliveryMs = new Map<string, number>();
  counters = { sent: 0, delivered: 0, dropped: 0 };

  constructor(
    private readonly time: VirtualTime,
    private readonly prng: Prng,
    private readonly options: NetworkOptions,
  ) {}

  /** The transport of a starting node incarnation (replacing a dead one's). */
  attach(node: NodeId): SimTransport {
    const transport = new SimTransport(this, node);
    this.endpoints.set(node, transport);
    return transport;
  }

  detach(node: NodeId): void {
    const transport = this.endpoints.get(node);
    if (transport !== undefined) transport.alive = false;
    this.endpoints.delete(node);
  }

  isAlive(node: NodeId): boolean {
    return this.endpoints.has(node);
  }

  /** Frames from `from` can reach `to` (both running, link not cut). */
  canReach(from: NodeId, to: NodeId): boolean {
    return this.endpoints.has(from) && this.endpoints.has(to) && !this.cuts.has(`${from}>${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  cut(from: NodeId, to: NodeId): void {
    const key = `${from}>${to}`;
    if (this.cuts.has(key)) return;
    this.cuts.add(key);
    // Half the time the connection between them breaks and both ends notice (after the current
    // event); otherwise frames just vanish, as when a partition leaves TCP unaware for a while.
    if (!this.prng.chance(0.5)) return;
    this.time.after(0, () => {
      for (const handler of this.endpoints.get(from)?.peerHandlers ?? []) handler(to);
      for (const handler of this.endpoints.get(to)?.peerHandlers ?? []) handler(from);
    });
  }

  heal(from: NodeId, to: NodeId): void {
    this.cuts.delete(`${from}>${to}`);
  }

  healAll(): void {
    this.cuts.clear();
  }

  get cutCount(): number {
    return this.cuts.size;
  }

  send(from: NodeId, to: NodeId, channel: number, payload: Buffer): void {
    this.counters.sent++;
    const key = `${from}>${to}`;
    if (this.cuts.has(key) || this.prng.chance(this.options.dropRate)) {
      this.counters.dropped++;
      return;
    }
    const delay = this.prng.int(this.options.minDelayMs, this.options.maxDelayMs);
    const atMs = Math.max(this.time.nowMs + delay, this.lastDeliveryMs.get(key) ?? 0);
    this.lastDeliveryMs.set(key, atMs);
    const sender = this.endpoints.get(from);
    this.time.after(atMs - this.time.nowMs, () => {
      const receiver = this.endpoints.get(to);
      // Lost with the connection: the link was cut, or either end died, while in flight.
      if (receiver === undefined || this.cuts.has(key) || this.endpoints.get(from) !== sender) {
        this.counters.dropped++;
        return;
      }
      this.counters.delivered++;
      for (const handler of receiver.messageHandlers) handler(from, channel, payload);
    });
  }
}
