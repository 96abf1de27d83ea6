/**
 * Several MultiRaftHosts in one process over an in-memory network (tests and benchmarks):
 * `flush()` is one host flush cycle — persist every group's Ready to its MemoryRaftStorage,
 * deliver the peer batches, apply — for every host, repeated until nothing moves.
 */
import type { NodeId } from '../lib/ids.js';
import { nodeId } from '../lib/ids.js';
import { type GroupId, type HostReady, MultiRaftHost, type PeerBatch } from '../raft/multi/host.js';
import type { RawNodeOptions } from '../raft/raw-node.js';
import { MemoryRaftStorage } from '../raft/storage.js';
import type { Entry } from '../raft/types.js';

export interface MultiClusterOptions {
  nodes: number;
  groupOptions?: Omit<RawNodeOptions, 'id' | 'storage' | 'prng'>;
  /** Let idle groups go quiet (default true). */
  quiesce?: boolean;
  /** Called for every committed entry applied on any node. */
  onApply?: (node: NodeId, group: GroupId, entry: Entry) => void;
}

export class MultiCluster {
  readonly hosts = new Map<NodeId, MultiRaftHost>();
  readonly storages = new Map<string, MemoryRaftStorage>();
  /** Nodes whose batches are dropped both ways. */
  readonly down = new Set<NodeId>();
  /** Nodes that keep running (ticking, flushing) but whose batches are dropped both ways. */
  readonly cut = new Set<NodeId>();
  /** One-way cuts: batches from `from` to `to` are dropped (key `${from}>${to}`). */
  readonly cutLinks = new Set<string>();
  readonly counters = { batches: 0, groupMessages: 0, heartbeats: 0, heartbeatResponses: 0 };
  private readonly onApply: MultiClusterOptions['onApply'];

  constructor(options: MultiClusterOptions) {
    this.onApply = options.onApply;
    for (let i = 1; i <= options.nodes; i++) {
      const id = nodeId(i);
      this.hosts.set(
        id,
        new MultiRaftHost({
          nodeId: id,
          seed: i * 7919,
          quiesce: options.quiesce ?? true,
          ...(options.groupOptions ? { groupOptions: options.groupOptions } : {}),
        }),
      );
    }
  }

  host(id: number): MultiRaftHost {
    return this.hosts.get(nodeId(id))!;
  }

  /** Creates `group` on every node with all nodes as voters. */
  addGroup(group: GroupId): void {
    const voters = [...this.hosts.keys()];
    for (const [id, host] of this.hosts) {
      const storage = new MemoryRaftStorage({ voters, learners: [] });
      this.storages.set(`${id}/${group}`, storage);
      host.addGroup(group, storage);
    }
  }

  tick(): void {
    for (const [id, host] of this.hosts) if (!this.down.has(id)) host.tick();
  }

  /** One flush cycle on every host; returns whether anything happened. `inspect` sees each HostReady. */
  flushOnce(inspect?: (node: NodeId, ready: HostReady) => void): boolean {
    let moved = false;
    const inFlight: PeerBatch[] = [];
    for (const [id, host] of this.hosts) {
      if (this.down.has(id) || !host.hasReady()) continue;
      moved = true;
      const ready = host.ready();
      inspect?.(id, ready);
      for (const { group, ready: r } of ready.groups) {
        const storage = this.storages.get(`${id}/${group}`)!;
        if (r.snapshot) storage.applySnapshot(r.snapshot);
        storage.append(r.entries);
        if (r.hardState) storage.setHardState(r.hardState);
        for (const entry of r.committedEntries) this.onApply?.(id, group, entry);
      }
      inFlight.push(...ready.batches);
      host.advance();
    }
    for (const batch of inFlight) {
      if (this.down.has(batch.to) || this.down.has(batch.from)) continue;
      if (this.cut.has(batch.to) || this.cut.has(batch.from)) continue;
      if (this.cutLinks.has(`${batch.from}>${batch.to}`)) continue;
      this.counters.batches++;
      this.counters.groupMessages += batch.messages.length;
      this.counters.heartbeats += batch.heartbeats.length;
      this.counters.heartbeatResponses += batch.heartbeatResponses.length;
      this.hosts.get(batch.to)!.receive(batch);
    }
    return moved;
  }

  /** Flushes until quiet (bounded). */
  flush(maxRounds = 100): void {
    for (let i = 0; i < maxRounds && this.flushOnce(); i++) {}
  }

  resetCounters(): void {
    this.counters.batches = 0;
    this.counters.groupMessages = 0;
    this.counters.heartbeats = 0;
    this.counters.heartbeatResponses = 0;
  }
}
