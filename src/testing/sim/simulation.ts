/**
 * Deterministic simulation of one Raft group running the production core (RawNode) with
 * virtual time, a faulty network, crashing disks and clients. Everything random comes from one
 * seeded Prng, so `runSeed(seed)` replays a failure exactly.
 *
 * Persistence model: a node's `MemoryRaftStorage` is its disk. A state change is persisted when
 * the node's Ready is handled, `maxPersistDelayMs` after it happened; a crash before that loses
 * it, and a crash can tear the Ready being written (some entries kept, HardState not).
 */
import { AssertionError } from '../../lib/assert.js';
import type { LogIndex, NodeId, Term } from '../../lib/ids.js';
import { logIndex, nodeId } from '../../lib/ids.js';
import { Prng } from '../../lib/prng.js';
import { ConfChangeType, decodeConfChange } from '../../raft/conf-change.js';
import { batchToEntry, encodeSingleRecordBatch, entryToBatch, readSingleRecord } from '../../raft/entry.js';
import { ProposalDroppedError } from '../../raft/errors.js';
import { RawNode } from '../../raft/raw-node.js';
import { MemoryRaftStorage } from '../../raft/storage.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  StateRole,
} from '../../raft/types.js';
import { checkLogMatching, InvariantViolation, SafetyChecker } from './checkers.js';
import { EventQueue } from './event-queue.js';
import { type SimOptions, swarmOptions } from './options.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The replicated state machine: per-client sessions deduplicate retried proposals. */
interface StateMachine {
  lastSequence: Record<number, number>;
  /** Proposal ids in apply order, duplicates removed: `client:sequence`. */
  log: string[];
}

/** The state machine image stored in snapshots (empty bytes: the bootstrap snapshot). */
function decodeState(data: Uint8Array): StateMachine {
  return data.length > 0 ? (JSON.parse(decoder.decode(data)) as StateMachine) : { lastSequence: {}, log: [] };
}

export interface SimNode {
  id: NodeId;
  storage: MemoryRaftStorage;
  rawNode: RawNode | undefined;
  prngSeed: number;
  state: StateMachine;
  readyScheduled: boolean;
  /** Removed from the group and shut down for good (DESIGN decision 8: the host drops the replica). */
  retired: boolean;
  /** Removal committed while this node led: retire once it has handed leadership over. */
  retireWhenFollower: boolean;
  /** Its removal committed: never a candidate for re-adding (its replica is being dropped). */
  removed: boolean;
  group: number;
}

interface Outstanding {
  node: NodeId;
  index: LogIndex;
  term: Term;
  sequence: number;
  deadlineMs: number;
}

interface Client {
  id: number;
  sequence: number;
  acked: number;
  outstanding: Outstanding | undefined;
  leaderHint: NodeId | undefined;
  busy: boolean;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  failure?: string;
  acked: number;
  committedIndex: number;
  elections: number;
  crashes: number;
  snapshotsSent: number;
  reads: number;
  events: number;
}

export class Simulation {
  readonly options: SimOptions;
  private readonly prng: Prng;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: Client[] = [];
  private readonly checker = new SafetyChecker();
  private faultsOn = true;
  private clientsOn = true;
  /** Highest log index of an acknowledged proposal (reads issued later must not go below). */
  private ackedIndex = 0;
  private readonly pendingReads = new Map<string, { issuedAtAckedIndex: number }>();
  private readCounter = 0;
  /** Per link, when its last message arrives (FIFO links). */
  private readonly linkClock = new Map<string, number>();
  private readonly stats = { elections: 0, crashes: 0, snapshotsSent: 0, reads: 0, acked: 0 };

  constructor(
    readonly seed: number,
    overrides: Partial<SimOptions> = {},
  ) {
    this.prng = new Prng(seed);
    this.options = { ...swarmOptions(this.prng), ...overrides };
    const { nodeCount, initialVoters } = this.options;
    const voters = Array.from({ length: initialVoters }, (_, i) => nodeId(i + 1));
    for (let i = 1; i <= nodeCount; i++) {
      const id = nodeId(i);
      const conf: ConfState = i <= initialVoters ? { voters, learners: [] } : { voters: [], learners: [] };
      const node: SimNode = {
        id,
        storage: new MemoryRaftStorage(conf),
        rawNode: undefined,
        prngSeed: this.prng.nextU32(),
        state: { lastSequence: {}, log: [] },
        readyScheduled: false,
        retired: false,
        retireWhenFollower: false,
        removed: false,
        group: 0,
      };
      this.nodes.set(id, node);
      this.start(node);
      this.scheduleTicks(node, this.prng.int(0, this.options.tickMs - 1));
    }
    for (let c = 1; c <= this.options.clients; c++) {
      const client: Client = {
        id: c,
        sequence: 0,
        acked: 0,
        outstanding: undefined,
        leaderHint: undefined,
        busy: false,
      };
      this.clients.push(client);
      this.queue.schedule(this.prng.int(0, 50), () => this.clientStep(client));
    }
    this.scheduleFaults();
  }

  run(): SimResult {
    const result: SimResult = {
      seed: this.seed,
      ok: true,
      acked: 0,
      committedIndex: 0,
      elections: 0,
      crashes: 0,
      snapshotsSent: 0,
      reads: 0,
      events: 0,
    };
    try {
      const { faultPhaseMs, healPhaseMs } = this.options;
      result.events += this.queue.runUntil(faultPhaseMs);
      this.heal();
      result.events += this.queue.runUntil(faultPhaseMs + healPhaseMs);
      // Quiet period: no new proposals; every member must catch up. Slow worlds (two entries
      // per message, a window of one, 60 ms links) take minutes of virtual time to replay a
      // backlog, so the liveness failure is "no progress for 10 s", not a fixed deadline.
      this.clientsOn = false;
      let lastProgress = { atMs: this.queue.nowMs, applied: this.appliedSum() };
      const giveUpAtMs = this.queue.nowMs + 600_000;
      while (
        this.convergenceProblem() !== undefined &&
        this.queue.nowMs - lastProgress.atMs < 10_000 &&
        this.queue.nowMs < giveUpAtMs
      ) {
        result.events += this.queue.runUntil(this.queue.nowMs + 250);
        const applied = this.appliedSum();
        if (applied !== lastProgress.applied) lastProgress = { atMs: this.queue.nowMs, applied };
      }
      this.checkFinal();
    } catch (error) {
      result.ok = false;
      const e = error as Error;
      result.failure =
        e instanceof InvariantViolation || e instanceof AssertionError
          ? `${e.name}: ${e.message}`
          : (e.stack ?? String(e));
    }
    result.acked = this.stats.acked;
    result.committedIndex = this.checker.maxAppliedIndex;
    result.elections = this.stats.elections;
    result.crashes = this.stats.crashes;
    result.snapshotsSent = this.stats.snapshotsSent;
    result.reads = this.stats.reads;
    return result;
  }

  // ---- nodes -------------------------------------------------------------------------------

  private start(node: SimNode): void {
    const snapshot = node.storage.snapshot();
    node.state = decodeState(snapshot.data);
    node.rawNode = new RawNode({
      id: node.id,
      storage: node.storage,
      prng: new Prng(node.prngSeed++),
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      maxInflightMessages: this.options.maxInflightMessages,
      maxMessageBytes: this.options.maxMessageBytes,
      applied: snapshot.metadata.index,
    });
  }

  private scheduleTicks(node: SimNode, delayMs: number): void {
    this.queue.schedule(delayMs, () => {
      if (node.rawNode) {
        node.rawNode.tick();
        this.scheduleReady(node);
      }
      if (!node.retired) this.scheduleTicks(node, this.options.tickMs);
    });
  }

  private scheduleReady(node: SimNode): void {
    if (node.readyScheduled || !node.rawNode) return;
    node.readyScheduled = true;
    this.queue.schedule(this.prng.int(0, this.options.maxPersistDelayMs), () => {
      node.readyScheduled = false;
      this.handleReady(node);
    });
  }

  /** Stores entries the way the node's disk would (optionally through the RecordBatch codec). */
  protected persistHardState(node: SimNode, hardState: HardState): void {
    node.storage.setHardState(hardState);
  }

  protected persistEntries(node: SimNode, entries: Entry[]): void {
    if (!this.options.storeAsBatches) {
      node.storage.append(entries);
      return;
    }
    node.storage.append(
      entries.map((e) => batchToEntry(Buffer.from(entryToBatch(e, this.queue.nowMs)), e.index)),
    );
  }

  private handleReady(node: SimNode): void {
    const rawNode = node.rawNode;
    if (!rawNode) return;
    for (let round = 0; round < 100 && rawNode.hasReady(); round++) {
      const ready = rawNode.ready();
      // 1. persist
      if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
      this.persistEntries(node, ready.entries);
      if (ready.hardState) this.persistHardState(node, ready.hardState);
      // 2. send
      for (const m of ready.messages) this.send(m);
      // 3. apply
      if (ready.softState?.role === StateRole.Leader) {
        this.stats.elections++;
        const raft = rawNode.raft;
        this.checker.leaderElected(raft.term, node.id);
        this.checker.checkLeaderCompleteness(node.id, raft.term, raft.log.firstIndex(), (i) =>
          raft.log.term(i),
        );
      }
      if (ready.snapshot) node.state = decodeState(ready.snapshot.data);
      for (const entry of ready.committedEntries) this.apply(node, entry);
      for (const read of ready.readStates)
        this.readAnswered(node, read.index, decoder.decode(read.requestContext));
      rawNode.advance();
      if (node.rawNode !== rawNode) return; // retired while applying
    }
    if (node.retireWhenFollower && rawNode.raft.role !== StateRole.Leader) {
      node.retireWhenFollower = false;
      this.retire(node.id);
    }
  }

  private apply(node: SimNode, entry: Entry): void {
    let key: string;
    if (entry.type === EntryType.Normal) {
      const { value } = readSingleRecord(
        Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
      );
      key = decoder.decode(value!);
      const [client, sequence] = key.split(':').map(Number) as [number, number];
      if (sequence > (node.state.lastSequence[client] ?? 0)) {
        node.state.lastSequence[client] = sequence;
        node.state.log.push(key);
      }
    } else if (entry.type === EntryType.Noop) {
      key = 'noop';
    } else {
      const change = decodeConfChange(entry.data);
      key = `conf:${change.type}:${change.node}`;
      // The host stops a removed replica once a leader other than it has applied the removal:
      // until then a leader may still need its vote or acknowledgement.
      const appliedByLeader = node.rawNode?.raft.role === StateRole.Leader && node.id !== change.node;
      if (change.type === ConfChangeType.Remove && appliedByLeader) this.retire(change.node);
    }
    this.checker.entryApplied(node.id, entry.index, entry.term, key);
    for (const client of this.clients) {
      const pending = client.outstanding;
      if (!pending || pending.node !== node.id || pending.index !== entry.index) continue;
      client.outstanding = undefined;
      if (pending.term === entry.term && key === `${client.id}:${pending.sequence}`) {
        // Acknowledged: committed and applied on the leader that accepted it.
        client.acked = pending.sequence;
        this.stats.acked++;
        this.ackedIndex = Math.max(this.ackedIndex, entry.index);
      }
      this.queue.schedule(this.options.clientThinkMs, () => this.clientStep(client));
    }
  }

  private retire(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.retired) return;
    node.removed = true;
    if (node.rawNode?.raft.role === StateRole.Leader) {
      node.retireWhenFollower = true;
      return;
    }
    node.retired = true;
    node.rawNode = undefined;
  }

  private crash(node: SimNode): void {
    const rawNode = node.rawNode;
    if (!rawNode) return;
    this.stats.crashes++;
    if (this.prng.chance(this.options.tornWriteRate) && rawNode.hasReady()) {
      // The process dies mid-write: the snapshot and a prefix of the entries reach the disk,
      // the HardState does not, no message leaves.
      const ready = rawNode.ready();
      if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
      this.persistEntries(node, ready.entries.slice(0, this.prng.int(0, ready.entries.length)));
    }
    node.rawNode = undefined;
    node.readyScheduled = false;
  }

  private restart(node: SimNode): void {
    if (node.rawNode || node.retired) return;
    this.start(node);
    this.scheduleReady(node);
  }

  // ---- network -----------------------------------------------------------------------------

  private send(m: Message): void {
    const from = this.nodes.get(m.from);
    if (!from) return;
    if (this.faultsOn && this.prng.chance(this.options.dropRate)) return;
    const copies = this.faultsOn && this.prng.chance(this.options.duplicateRate) ? 2 : 1;
    if (m.snapshot) this.stats.snapshotsSent++;
    for (let i = 0; i < copies; i++) {
      let delay = this.prng.int(this.options.minDelayMs, this.options.maxDelayMs);
      if (!this.options.reorder || !this.faultsOn) {
        // A FIFO link (like one TCP connection): never overtake an earlier message.
        const link = `${m.from}>${m.to}`;
        const at = Math.max(this.queue.nowMs + delay, this.linkClock.get(link) ?? 0);
        this.linkClock.set(link, at);
        delay = at - this.queue.nowMs;
      }
      this.queue.schedule(delay, () => this.deliver(m));
    }
  }

  private deliver(m: Message): void {
    const from = this.nodes.get(m.from);
    const to = this.nodes.get(m.to);
    if (!from || !to?.rawNode) return;
    if (from.group !== to.group) return; // partitioned
    to.rawNode.step(m);
    this.scheduleReady(to);
  }

  // ---- clients -----------------------------------------------------------------------------

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.rawNode !== undefined);
  }

  private clientStep(client: Client): void {
    if (!this.clientsOn) return;
    if (client.outstanding && this.queue.nowMs < client.outstanding.deadlineMs) return;
    if (client.busy) return;
    // Retry the unacknowledged proposal (same sequence) or issue the next one.
    const sequence = client.acked + 1;
    client.sequence = sequence;
    const live = this.liveNodes();
    if (live.length === 0) {
      this.queue.schedule(50, () => this.clientStep(client));
      return;
    }
    const hinted = client.leaderHint ? this.nodes.get(client.leaderHint) : undefined;
    const target = hinted?.rawNode ? hinted : this.prng.pick(live);
    const data = encodeSingleRecordBatch({
      term: 0 as Term,
      timestampMs: this.queue.nowMs,
      key: null,
      value: encoder.encode(`${client.id}:${sequence}`),
    });
    try {
      const placed = target.rawNode!.propose(data);
      client.outstanding = {
        node: target.id,
        index: placed.index,
        term: placed.term,
        sequence,
        deadlineMs: this.queue.nowMs + this.options.clientTimeoutMs,
      };
      client.leaderHint = target.id;
      this.scheduleReady(target);
      this.queue.schedule(this.options.clientTimeoutMs, () => this.clientStep(client));
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      client.outstanding = undefined;
      client.leaderHint = error.leader > 0 ? error.leader : undefined;
      this.queue.schedule(this.prng.int(5, 40), () => this.clientStep(client));
    }
  }

  private readAnswered(node: SimNode, index: LogIndex, context: string): void {
    const read = this.pendingReads.get(context);
    if (!read) return;
    this.pendingReads.delete(context);
    this.stats.reads++;
    // Linearizability: the read index covers every write acknowledged before the read began.
    if (index < read.issuedAtAckedIndex)
      throw new InvariantViolation(
        `read index: node ${node.id} answered read ${context} with ${index}, below acknowledged index ${read.issuedAtAckedIndex}`,
      );
  }

  // ---- faults ------------------------------------------------------------------------------

  private every(meanMs: number, action: () => void): void {
    if (meanMs <= 0) return;
    const loop = () => {
      if (!this.faultsOn) return;
      action();
      this.queue.schedule(this.prng.int(Math.floor(meanMs / 2), Math.floor((meanMs * 3) / 2)), loop);
    };
    this.queue.schedule(this.prng.int(0, meanMs), loop);
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.liveNodes()) {
      const raft = node.rawNode!.raft;
      if (raft.role !== StateRole.Leader) continue;
      if (!best || raft.term > best.rawNode!.raft.term) best = node;
    }
    return best;
  }

  private scheduleFaults(): void {
    const o = this.options;
    this.every(o.partitionEveryMs, () => {
      for (const node of this.nodes.values()) node.group = this.prng.int(0, 1);
      this.queue.schedule(this.prng.int(50, o.partitionEveryMs), () => {
        for (const node of this.nodes.values()) node.group = 0;
      });
    });
    this.every(o.crashEveryMs, () => {
      const live = this.liveNodes();
      if (live.length === 0) return;
      const node = this.prng.pick(live);
      this.crash(node);
      this.queue.schedule(this.prng.int(20, o.crashEveryMs), () => this.restart(node));
    });
    this.every(o.compactEveryMs, () => {
      const live = this.liveNodes();
      if (live.length === 0) return;
      this.compact(this.prng.pick(live));
    });
    this.every(o.membershipChangeEveryMs, () => this.changeMembership());
    this.every(o.transferEveryMs, () => {
      const leader = this.leader();
      if (!leader) return;
      const voters = leader.rawNode!.raft.tracker.confState().voters.filter((id) => id !== leader.id);
      if (voters.length === 0) return;
      leader.rawNode!.transferLeadership(this.prng.pick(voters));
      this.scheduleReady(leader);
    });
    this.every(o.readIndexEveryMs, () => {
      const live = this.liveNodes();
      if (live.length === 0) return;
      const node = this.prng.pick(live);
      const context = `read-${++this.readCounter}`;
      this.pendingReads.set(context, { issuedAtAckedIndex: this.ackedIndex });
      node.rawNode!.readIndex(encoder.encode(context));
      this.scheduleReady(node);
    });
  }

  /** The node snapshots its state machine at its applied index and drops the log before it. */
  private compact(node: SimNode): void {
    const raft = node.rawNode!.raft;
    if (raft.log.unstable.snapshot) return;
    const applied = raft.log.applied;
    if (applied <= node.storage.firstIndex() || applied > node.storage.lastIndex()) return;
    const data = encoder.encode(JSON.stringify(node.state));
    node.storage.createSnapshot(applied, raft.confStateAt(applied), data);
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (!leader) return;
    const conf = leader.rawNode!.raft.tracker.confState();
    const members = new Set([...conf.voters, ...conf.learners]);
    const spare = [...this.nodes.values()].filter((n) => !n.removed && !members.has(n.id)).map((n) => n.id);
    const options: Array<{ type: ConfChangeType; node: NodeId }> = [];
    for (const id of spare) options.push({ type: ConfChangeType.AddLearner, node: id });
    for (const id of conf.learners) options.push({ type: ConfChangeType.AddVoter, node: id });
    if (conf.voters.length > 1) {
      for (const id of conf.voters) {
        options.push({ type: ConfChangeType.AddLearner, node: id });
        if (id !== leader.id || this.prng.chance(0.3))
          options.push({ type: ConfChangeType.Remove, node: id });
      }
    }
    for (const id of conf.learners) options.push({ type: ConfChangeType.Remove, node: id });
    if (options.length === 0) return;
    try {
      leader.rawNode!.proposeConfChange(this.prng.pick(options));
      this.scheduleReady(leader);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
  }

  private heal(): void {
    this.faultsOn = false;
    for (const node of this.nodes.values()) {
      node.group = 0;
      this.restart(node);
    }
  }

  // ---- final checks ------------------------------------------------------------------------

  /** Sum of applied indexes over live nodes: moves while anyone is still catching up. */
  private appliedSum(): number {
    let sum = 0;
    for (const node of this.nodes.values()) sum += node.rawNode?.raft.log.applied ?? 0;
    return sum;
  }

  /** Why the group has not converged yet (no leader, a member behind), or undefined. */
  private convergenceProblem(): string | undefined {
    const leader = this.leader();
    if (!leader) return 'no leader after the network healed';
    const raft = leader.rawNode!.raft;
    const conf = raft.tracker.confState();
    for (const id of [...conf.voters, ...conf.learners]) {
      const applied = this.nodes.get(id)!.rawNode?.raft.log.applied;
      if (applied !== raft.log.committed)
        return `member ${id} applied ${applied}, leader ${leader.id} committed ${raft.log.committed}`;
    }
    return undefined;
  }

  private checkFinal(): void {
    const problem = this.convergenceProblem();
    if (problem) throw new InvariantViolation(`liveness: ${problem}`);
    const leader = this.leader()!;
    // Log matching over every durable log.
    checkLogMatching(
      [...this.nodes.values()].map((n) => {
        const first = n.storage.firstIndex();
        const last = n.storage.lastIndex();
        const terms: Term[] = [];
        for (let i = first; i <= last; i++) terms.push(n.storage.term(logIndex(i))!);
        return { node: n.id, first, terms };
      }),
    );
    // Every acknowledged proposal is in the final state, in order, exactly once.
    const perClient = new Map<number, number[]>();
    for (const key of leader.state.log) {
      const [client, sequence] = key.split(':').map(Number) as [number, number];
      const list = perClient.get(client) ?? [];
      list.push(sequence);
      perClient.set(client, list);
    }
    for (const client of this.clients) {
      const list = perClient.get(client.id) ?? [];
      const misplaced = list.findIndex((sequence, i) => sequence !== i + 1);
      if (misplaced >= 0)
        throw new InvariantViolation(
          `client ${client.id}: final log entry ${misplaced} is sequence ${list[misplaced]} (duplicated, reordered or missing writes)`,
        );
      if (list.length < client.acked)
        throw new InvariantViolation(
          `acknowledged write lost: client ${client.id} had ${client.acked} acknowledged, final log holds ${list.length}`,
        );
    }
  }
}

export function runSeed(seed: number, overrides: Partial<SimOptions> = {}): SimResult {
  return new Simulation(seed, overrides).run();
}
