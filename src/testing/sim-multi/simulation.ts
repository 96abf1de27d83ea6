/**
 * The multi-group simulator: several Raft groups on several nodes, each node the production
 * `MultiRaftNode` (with its `MultiRaftHost`) over `DurableRaftStorage`, run on virtual time, a
 * simulated network (network.ts) and simulated disks (disk.ts). One seed draws the world
 * (options.ts) and every fault, so `runMultiSeed(seed)` replays a run exactly.
 *
 * Faults, during the fault phase: partitions (two-way splits, asymmetric splits, one-way cuts,
 * a leader cut off), crashes (mostly power losses that drop unsynced writes of the log and the
 * state file independently; leaders are favoured) and restarts, membership changes (add voter or
 * learner, promote, demote, remove — the leader included) through `proposeConfChange`,
 * leadership transfers, per-node clock drift and skew, message drops and delays. A replica's
 * removal is carried out by a reconciler (`removeGroup` on its node) a while after the removal
 * commits — or never, for a share of them: removed replicas that keep running.
 *
 * Workload: clients propose unique values per group (some groups have none and stay quiet); a
 * value is acknowledged when `propose` resolves. Then the network heals, crashed nodes restart,
 * traffic goes on, and in the quiet phase every group must elect a leader, commit a final write
 * and bring every member up to date (liveness). Checkers: checkers.ts, and the final log check.
 */

import { DurableRaftStorage } from '../../cluster/durable-raft-storage.js';
import { MultiRaftNode } from '../../cluster/multi-raft-node.js';
import type { TransportLogger } from '../../cluster/transport.js';
import { logIndex, type NodeId, nodeId, term } from '../../lib/ids.js';
import { Prng } from '../../lib/prng.js';
import { type ConfChange, ConfChangeType, decodeConfChange } from '../../raft/conf-change.js';
import { encodeSingleRecordBatch, readSingleRecord } from '../../raft/entry.js';
import { ProposalDroppedError } from '../../raft/errors.js';
import type { GroupId } from '../../raft/multi/host.js';
import { type ConfState, type Entry, EntryType, StateRole } from '../../raft/types.js';
import { MultiInvariantViolation, MultiSafetyChecker, StaleLeaderChecker } from './checkers.js';
import { GroupDisk } from './disk.js';
import { SimNetwork, type SimTransport } from './network.js';
import { type SimMultiOptions, swarmMultiOptions } from './options.js';
import { NodeScheduler, VirtualTime } from './virtual-time.js';

export interface SimMultiResult {
  seed: number;
  ok: boolean;
  failure?: string;
  /** Values whose proposal resolved. */
  acked: number;
  elections: number;
  crashes: number;
  /** Crashes after which some unsynced write was really lost. */
  lossyCrashes: number;
  partitions: number;
  membershipChanges: number;
  removals: number;
  transfers: number;
  events: number;
  virtualMs: number;
}

interface AppliedRecord {
  index: number;
  key: string;
}

/** One running incarnation of a node. */
interface LiveNode {
  node: MultiRaftNode;
  transport: SimTransport;
  state: { alive: boolean };
  /** Entries applied per group since this incarnation started (it replays from the snapshot). */
  applied: Map<GroupId, AppliedRecord[]>;
  leading: Set<GroupId>;
}

interface NodeSlot {
  id: NodeId;
  /** Clock rate (drift) and wall-clock skew of this node. */
  rate: number;
  skewMs: number;
  disks: Map<GroupId, GroupDisk>;
  live: LiveNode | undefined;
  incarnations: number;
}

interface Client {
  group: GroupId;
  id: number;
  sequence: number;
  target: NodeId;
  /** Acknowledged values, in the order this client saw them acknowledged. */
  acked: string[];
}

const EPOCH_MS = 1_700_000_000_000;
const SAMPLE_MS = 10;

/** Lets the promise continuations of the last event (the node awaiting its disk) run. */
function settlePromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function entryKey(entry: Entry): string {
  if (entry.type === EntryType.Noop) return 'noop';
  if (entry.type === EntryType.ConfChange) {
    const change = decodeConfChange(entry.data);
    return `conf:${ConfChangeType[change.type]}:${change.node}`;
  }
  const batch = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
  return Buffer.from(readSingleRecord(batch).value ?? []).toString();
}

export class MultiSimulation {
  readonly options: SimMultiOptions;
  private readonly prng: Prng;
  private readonly diskPrng: Prng;
  private readonly time = new VirtualTime();
  private readonly network: SimNetwork;
  private readonly checker = new MultiSafetyChecker();
  private readonly staleLeaders: StaleLeaderChecker | undefined;
  private readonly slots = new Map<NodeId, NodeSlot>();
  private readonly groups: GroupId[];
  /** Groups no client writes to (the last `idleGroups`). */
  private readonly idleGroups: GroupId[];
  private readonly clients: Client[] = [];
  private readonly pendingRemovals = new Set<string>();
  private phase: 'fault' | 'heal' | 'quiet' | 'done' = 'fault';
  private failure: Error | null = null;
  private readonly result: SimMultiResult;

  constructor(
    readonly seed: number,
    overrides: Partial<SimMultiOptions> = {},
  ) {
    this.options = { ...swarmMultiOptions(new Prng(seed)), ...overrides };
    this.prng = new Prng((seed ^ 0x6d2b79f5) >>> 0);
    this.diskPrng = new Prng((seed ^ 0x1b873593) >>> 0);
    const o = this.options;
    this.network = new SimNetwork(this.time, new Prng((seed ^ 0x27d4eb2f) >>> 0), {
      minDelayMs: o.minDelayMs,
      maxDelayMs: o.maxDelayMs,
      dropRate: o.dropRate,
    });
    if (o.checkQuorum) {
      // How long a cut-off leader may go on leading, on the slowest clock. Deaf (it hears no
      // quorum): CheckQuorum runs once per election timeout over the answers since the last run
      // (two timeouts; a proposal waking a quiet group restarts that once), and a quiet leader
      // wakes one timeout after the silence began. Mute (it hears its followers but cannot
      // reach them): its followers stop answering, so one timeout later it proves contact for
      // one more and CheckQuorum steps it down; meanwhile its quiet followers wake after the
      // liveness period (two timeouts) and campaign within one more, and a campaign that
      // reaches it makes it prove contact too.
      const electionMs = (o.electionTicks * o.tickMs) / (1 - o.maxDrift);
      const slackMs = 2 * o.maxDelayMs + 2 * (o.logSyncMaxMs + o.stateWriteMaxMs) + 5 * o.tickMs;
      this.staleLeaders = new StaleLeaderChecker(3 * electionMs + slackMs, 5 * electionMs + slackMs);
    }
    this.groups = o.groupVoters.map((_, i) => i + 1);
    this.idleGroups = this.groups.slice(this.groups.length - Math.min(o.idleGroups, this.groups.length - 1));
    this.result = {
      seed,
      ok: false,
      acked: 0,
      elections: 0,
      crashes: 0,
      lossyCrashes: 0,
      partitions: 0,
      membershipChanges: 0,
      removals: 0,
      transfers: 0,
      events: 0,
      virtualMs: 0,
    };
  }

  async run(): Promise<SimMultiResult> {
    try {
      this.setUp();
      await this.runUntil(this.options.faultPhaseMs);
      this.heal();
      await this.runUntil(this.options.faultPhaseMs + this.options.healPhaseMs);
      this.phase = 'quiet';
      await this.converge();
      if (this.failure === null) this.checkFinalLogs();
    } catch (error) {
      this.fail(error);
    }
    this.phase = 'done';
    for (const slot of this.slots.values()) this.kill(slot, false);
    this.result.virtualMs = this.time.nowMs;
    this.result.ok = this.failure === null;
    if (this.failure !== null) this.result.failure = `${this.failure.name}: ${this.failure.message}`;
    return this.result;
  }

  // ---- the run ----

  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
  }

  private async runUntil(untilMs: number, done?: () => boolean): Promise<void> {
    while (this.failure === null && !(done?.() ?? false)) {
      let ran: boolean;
      try {
        ran = this.time.runNext(untilMs);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (!ran) return;
      this.result.events++;
      await settlePromises();
    }
  }

  private setUp(): void {
    const o = this.options;
    for (let i = 1; i <= o.nodeCount; i++) {
      const id = nodeId(i);
      this.slots.set(id, {
        id,
        rate: 1 + (this.prng.nextFloat() * 2 - 1) * o.maxDrift,
        skewMs: this.prng.int(-o.maxSkewMs, o.maxSkewMs),
        disks: new Map(),
        live: undefined,
        incarnations: 0,
      });
    }
    const nodeIds = [...this.slots.keys()];
    for (const group of this.groups) {
      const count = o.groupVoters[group - 1] as number;
      const voters = this.shuffled(nodeIds)
        .slice(0, count)
        .sort((a, b) => a - b);
      for (const id of voters) this.slot(id).disks.set(group, new GroupDisk({ voters, learners: [] }));
    }
    for (const slot of this.slots.values()) this.boot(slot);
    // Clients on every group but the idle ones (the last `idleGroups` groups).
    const busy = this.groups.filter((group) => !this.idleGroups.includes(group));
    for (const group of busy) {
      for (let c = 1; c <= o.clientsPerGroup; c++) {
        const client: Client = { group, id: c, sequence: 0, target: this.prng.pick(nodeIds), acked: [] };
        this.clients.push(client);
        this.time.after(this.prng.int(0, 50), () => this.clientStep(client));
      }
    }
    this.every(o.partitionEveryMs, () => this.partition());
    this.every(o.crashEveryMs, () => this.crashSomeNode());
    this.every(o.membershipChangeEveryMs, () => this.changeMembership());
    this.every(o.transferEveryMs, () => this.transferSomeLeadership());
    this.sample();
  }

  private shuffled<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.prng.int(0, i);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }

  private slot(id: NodeId): NodeSlot {
    return this.slots.get(id) as NodeSlot;
  }

  /** Runs `fault` about every `meanMs` during the fault phase (0 = never). */
  private every(meanMs: number, fault: () => void): void {
    if (meanMs <= 0) return;
    const next = () =>
      this.time.after(this.prng.int(Math.ceil(meanMs / 2), Math.ceil((meanMs * 3) / 2)), () => {
        if (this.phase !== 'fault') return;
        fault();
        next();
      });
    next();
  }

  // ---- nodes ----

  private boot(slot: NodeSlot): void {
    const o = this.options;
    slot.incarnations++;
    const state = { alive: true };
    const scheduler = new NodeScheduler(this.time, slot.rate, () => state.alive);
    const transport = this.network.attach(slot.id);
    const node = new MultiRaftNode({
      nodeId: slot.id,
      transport,
      seed: (this.seed * 31 + slot.id * 7919 + slot.incarnations * 104_729) >>> 0,
      tickMs: o.tickMs,
      commitSaveTicks: o.commitSaveTicks,
      raft: {
        electionTicks: o.electionTicks,
        heartbeatTicks: o.heartbeatTicks,
        preVote: o.preVote,
        checkQuorum: o.checkQuorum,
      },
      host: { quiesce: o.quiesce },
      scheduler,
      logger: this.loggerFor(slot.id),
      testOnlyDefects: new Set(o.defects),
    });
    const live: LiveNode = { node, transport, state, applied: new Map(), leading: new Set() };
    slot.live = live;
    node.on('role', (group: GroupId, role: StateRole) => this.onRole(slot, live, group, role));
    node.on('error', (error: unknown) => this.fail(error));
    for (const [group, disk] of slot.disks) this.openGroup(slot, live, group, disk);
    node.start();
  }

  /** Node errors and refused batches are bugs here: nothing in the simulation corrupts a batch. */
  private loggerFor(id: NodeId): TransportLogger {
    const report = (fields: object, message?: string) => {
      const error = (fields as { err?: unknown }).err;
      if (error !== undefined)
        this.fail(new MultiInvariantViolation(`node ${id}: ${message ?? 'error'}: ${String(error)}`));
    };
    return { debug() {}, info() {}, warn: report, error: report };
  }

  private wallMs(slot: NodeSlot): number {
    return EPOCH_MS + Math.round(this.time.nowMs * slot.rate) + slot.skewMs;
  }

  private openGroup(slot: NodeSlot, live: LiveNode, group: GroupId, disk: GroupDisk): void {
    const schedule = (delayMs: number, run: () => void) => this.time.after(delayMs, run);
    let storage: DurableRaftStorage;
    try {
      storage = new DurableRaftStorage({
        log: disk.openLog(schedule, this.diskPrng, { maxMs: this.options.logSyncMaxMs }),
        stateFile: disk.openStateFile(schedule, this.diskPrng, { maxMs: this.options.stateWriteMaxMs }),
        initialConfState: disk.initialConfState,
        wallMs: () => this.wallMs(slot),
      });
    } catch (error) {
      throw new MultiInvariantViolation(
        `crash loop: node ${slot.id} cannot open group ${group}: ${(error as Error).message}`,
      );
    }
    const { commit } = storage.initialState().hardState;
    this.checker.checkDisk(group, slot.id, {
      commit,
      firstIndex: storage.firstIndex(),
      lastIndex: storage.lastIndex(),
      termAt: (index) => storage.term(logIndex(index)),
    });
    live.applied.set(group, []);
    try {
      live.node.addGroup(group, storage, { onApply: (entries) => this.onApply(slot, live, group, entries) });
    } catch (error) {
      throw new MultiInvariantViolation(
        `crash loop: node ${slot.id} cannot start group ${group}: ${(error as Error).message}`,
      );
    }
  }

  private onRole(slot: NodeSlot, live: LiveNode, group: GroupId, role: StateRole): void {
    if (role === StateRole.Leader) {
      const status = live.node.status(group);
      if (status === undefined) return;
      this.result.elections++;
      live.leading.add(group);
      this.checker.leaderElected(group, status.term, slot.id);
    } else {
      live.leading.delete(group);
      this.staleLeaders?.forget(slot.id, group);
    }
  }

  private onApply(slot: NodeSlot, live: LiveNode, group: GroupId, entries: readonly Entry[]): void {
    const applied = live.applied.get(group);
    if (applied === undefined) return;
    for (const entry of entries) {
      const previous = applied[applied.length - 1];
      if (previous !== undefined && entry.index !== previous.index + 1)
        throw new MultiInvariantViolation(
          `node ${slot.id} group ${group} applied ${entry.index} after ${previous.index}`,
        );
      const key = entryKey(entry);
      const first = this.checker.entryApplied(group, slot.id, entry.index, { term: entry.term, key });
      applied.push({ index: entry.index, key });
      if (first && entry.type === EntryType.ConfChange)
        this.membershipCommitted(group, decodeConfChange(entry.data));
    }
  }

  /** Kills a node: a power loss drops unsynced writes, a kill keeps what reached the page cache. */
  private kill(slot: NodeSlot, powerLoss: boolean): void {
    const live = slot.live;
    if (live === undefined) return;
    live.state.alive = false;
    this.network.detach(slot.id);
    slot.live = undefined;
    for (const group of live.leading) this.staleLeaders?.forget(slot.id, group);
    if (this.phase === 'done') return;
    let lost = false;
    for (const disk of slot.disks.values()) {
      const { lostLogOperations, lostStateWrites } = disk.crash(this.diskPrng, powerLoss);
      if (lostLogOperations + lostStateWrites > 0) lost = true;
    }
    this.result.crashes++;
    if (lost) this.result.lossyCrashes++;
  }

  private crashSomeNode(): void {
    const o = this.options;
    const running = [...this.slots.values()].filter((slot) => slot.live !== undefined);
    if (running.length === 0) return;
    const leaders = running.filter((slot) => (slot.live as LiveNode).leading.size > 0);
    const victim =
      leaders.length > 0 && this.prng.chance(o.leaderCrashRate)
        ? this.prng.pick(leaders)
        : this.prng.pick(running);
    const powerLoss = this.prng.chance(o.powerLossRate);
    const down = (slot: NodeSlot) => {
      this.kill(slot, powerLoss);
      this.time.after(this.prng.int(o.downMinMs, o.downMaxMs), () => {
        if (slot.live === undefined && this.phase !== 'done') this.boot(slot);
      });
    };
    if (!powerLoss) {
      down(victim);
      return;
    }
    // A power loss looks (for a while) for the worst moment: a node whose state file took a
    // write after a log write that is still unsynced, so the newer can survive and the older
    // be lost. Crashes should usually lose something, or the disk model is never exercised.
    const strike = (attempt: number) => {
      if (this.phase !== 'fault') return;
      const exposed = (slot: NodeSlot, test: (disk: GroupDisk) => boolean) =>
        slot.live !== undefined && [...slot.disks.values()].some(test);
      const reordered = [...this.slots.values()].filter((slot) =>
        exposed(slot, (disk) => disk.hasReorderedWrites),
      );
      if (reordered.length > 0) {
        down(this.prng.pick(reordered));
        return;
      }
      if (attempt >= 300 || (attempt >= 100 && exposed(victim, (disk) => disk.hasUnsyncedWrites))) {
        if (victim.live !== undefined) down(victim);
        return;
      }
      this.time.after(1, () => strike(attempt + 1));
    };
    strike(0);
  }

  private heal(): void {
    this.phase = 'heal';
    this.network.healAll();
    for (const slot of this.slots.values()) if (slot.live === undefined) this.boot(slot);
  }

  // ---- network faults ----

  private partition(): void {
    const o = this.options;
    const ids = [...this.slots.keys()];
    const cut: Array<[NodeId, NodeId]> = [];
    const kind = this.prng.pick([
      'split',
      'asymmetric',
      'one-way',
      'isolate-leader',
      'isolate-leader',
    ] as const);
    if (kind === 'one-way') {
      const [from, to] = this.shuffled(ids) as [NodeId, NodeId];
      cut.push([from, to]);
    } else {
      let side: NodeId[];
      if (kind === 'isolate-leader') {
        // Often the leader of an idle group: most groups of a real cluster are idle (quiet).
        const idle = new Set(this.idleGroups);
        const leaders = ids.filter((id) => (this.slot(id).live?.leading.size ?? 0) > 0);
        const idleLeaders = leaders.filter((id) =>
          [...(this.slot(id).live?.leading ?? [])].some((g) => idle.has(g)),
        );
        const pool = idleLeaders.length > 0 && this.prng.chance(0.7) ? idleLeaders : leaders;
        side = [pool.length > 0 ? this.prng.pick(pool) : this.prng.pick(ids)];
      } else {
        side = this.shuffled(ids).slice(0, this.prng.int(1, ids.length - 1));
      }
      const other = ids.filter((id) => !side.includes(id));
      const oneWay = kind === 'asymmetric' || (kind === 'isolate-leader' && this.prng.chance(0.3));
      for (const a of side)
        for (const b of other) {
          cut.push([a, b]);
          if (!oneWay) cut.push([b, a]);
        }
    }
    const fresh = cut.filter(([from, to]) => !this.network.isCut(from, to));
    for (const [from, to] of fresh) this.network.cut(from, to);
    this.result.partitions++;
    const electionMs = o.electionTicks * o.tickMs;
    this.time.after(this.prng.int(Math.ceil(electionMs / 2), o.partitionMaxTimeouts * electionMs), () => {
      for (const [from, to] of fresh) this.network.heal(from, to);
    });
  }

  // ---- membership and leadership ----

  /** The live node leading `group` in the highest term, with its status. */
  private leaderOf(
    group: GroupId,
  ):
    | { slot: NodeSlot; live: LiveNode; term: number; conf: ConfState; commit: number; lastIndex: number }
    | undefined {
    let best: ReturnType<MultiSimulation['leaderOf']>;
    for (const slot of this.slots.values()) {
      const live = slot.live;
      if (live === undefined || !live.leading.has(group)) continue;
      const status = live.node.status(group);
      if (status === undefined || status.role !== StateRole.Leader) continue;
      if (best === undefined || status.term > best.term)
        best = {
          slot,
          live,
          term: status.term,
          conf: status.confState,
          commit: status.commit,
          lastIndex: status.lastIndex,
        };
    }
    return best;
  }

  private changeMembership(): void {
    const group = this.prng.pick(this.groups);
    const leader = this.leaderOf(group);
    if (leader === undefined) return;
    const { voters, learners } = leader.conf;
    const members = new Set([...voters, ...learners]);
    const candidates = [...this.slots.values()].filter(
      (slot) =>
        !members.has(slot.id) &&
        slot.live !== undefined &&
        !slot.disks.has(group) &&
        !this.pendingRemovals.has(`${slot.id}/${group}`),
    );
    const choices: Array<() => ConfChange | undefined> = [];
    if (candidates.length > 0 && voters.length < 5)
      choices.push(() => {
        const slot = this.prng.pick(candidates);
        // The reconciler opens the replica before the change commits (DESIGN decision 8 has it
        // follow the metadata; here the replica is created first so it can receive the snapshot).
        const disk = new GroupDisk({ voters: [], learners: [] });
        slot.disks.set(group, disk);
        this.openGroup(slot, slot.live as LiveNode, group, disk);
        return {
          type: this.prng.chance(0.7) ? ConfChangeType.AddVoter : ConfChangeType.AddLearner,
          node: slot.id,
        };
      });
    if (learners.length > 0)
      choices.push(() => ({ type: ConfChangeType.AddVoter, node: this.prng.pick(learners) }));
    if (learners.length > 0)
      choices.push(() => ({ type: ConfChangeType.Remove, node: this.prng.pick(learners) }));
    if (voters.length > 1) {
      choices.push(() => ({ type: ConfChangeType.Remove, node: this.prng.pick(voters) }));
      choices.push(() => ({ type: ConfChangeType.AddLearner, node: this.prng.pick(voters) }));
    }
    if (choices.length === 0) return;
    const change = this.prng.pick(choices)();
    if (change === undefined) return;
    this.result.membershipChanges++;
    leader.live.node.proposeConfChange(group, change).catch(() => undefined);
  }

  /** A removal committed: the removed node's reconciler removes the replica, later or never. */
  private membershipCommitted(group: GroupId, change: ConfChange): void {
    if (change.type !== ConfChangeType.Remove) return;
    const key = `${change.node}/${group}`;
    this.pendingRemovals.add(key);
    if (this.prng.chance(this.options.removedKeepRunningRate)) return; // keeps running it
    this.time.after(this.prng.int(0, this.options.reconcileMaxMs), () => {
      if (this.phase === 'done') return;
      const slot = this.slots.get(change.node);
      if (slot === undefined || !slot.disks.has(group)) return;
      this.pendingRemovals.delete(key);
      slot.disks.delete(group);
      this.result.removals++;
      const live = slot.live;
      if (live === undefined) return; // down: its restart will not open the group
      live.applied.delete(group);
      live.leading.delete(group);
      this.staleLeaders?.forget(slot.id, group);
      live.node.removeGroup(group).catch((error: unknown) => this.fail(error));
    });
  }

  private transferSomeLeadership(): void {
    const group = this.prng.pick(this.groups);
    const leader = this.leaderOf(group);
    if (leader === undefined) return;
    const targets = leader.conf.voters.filter((id) => id !== leader.slot.id);
    if (targets.length === 0) return;
    this.result.transfers++;
    leader.live.node.transferLeadership(group, this.prng.pick(targets));
  }

  // ---- clients ----

  private valueBatch(value: string): Buffer {
    return encodeSingleRecordBatch({
      term: term(0),
      timestampMs: EPOCH_MS + Math.round(this.time.nowMs),
      key: null,
      value: Buffer.from(value),
    });
  }

  /** Some live node hosting `group`, preferring `preferred`. */
  private nodeFor(group: GroupId, preferred: NodeId): LiveNode | undefined {
    const chosen = this.slots.get(preferred);
    if (chosen?.live !== undefined && chosen.disks.has(group)) return chosen.live;
    const hosting = [...this.slots.values()].filter(
      (slot) => slot.live !== undefined && slot.disks.has(group),
    );
    return hosting.length === 0 ? undefined : this.prng.pick(hosting).live;
  }

  private clientStep(client: Client): void {
    if (this.phase === 'quiet' || this.phase === 'done') return;
    const o = this.options;
    const live = this.nodeFor(client.group, client.target);
    const again = (delayMs: number) => this.time.after(delayMs, () => this.clientStep(client));
    if (live === undefined) {
      again(o.clientThinkMs + 10);
      return;
    }
    const value = `g${client.group}-c${client.id}-${client.sequence++}`;
    let settled = false;
    live.node.propose(client.group, this.valueBatch(value)).then(
      () => {
        if (settled) return;
        settled = true;
        client.acked.push(value);
        this.result.acked++;
        again(this.prng.int(0, o.clientThinkMs));
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        const leader = error instanceof ProposalDroppedError ? error.leader : 0;
        client.target = leader > 0 ? nodeId(leader) : this.prng.pick([...this.slots.keys()]);
        again(this.prng.int(1, o.clientThinkMs + 5));
      },
    );
    // No answer (the node died, or leadership is in flux): the outcome is unknown; move on.
    this.time.after(o.clientTimeoutMs, () => {
      if (settled) return;
      settled = true;
      client.target = this.prng.pick([...this.slots.keys()]);
      this.clientStep(client);
    });
  }

  // ---- sampling: stale leaders ----

  private sample(): void {
    this.time.after(SAMPLE_MS, () => {
      if (this.phase === 'done') return;
      this.checkLeadersInContact();
      this.sample();
    });
  }

  private checkLeadersInContact(): void {
    const checker = this.staleLeaders;
    if (checker === undefined) return;
    for (const slot of this.slots.values()) {
      const live = slot.live;
      if (live === undefined) continue;
      for (const group of live.leading) {
        const status = live.node.status(group);
        if (status === undefined || status.role !== StateRole.Leader) continue;
        const voters = status.confState.voters;
        const quorum = Math.floor(voters.length / 2) + 1;
        let heard = 0;
        let reachable = 0;
        for (const voter of voters) {
          const hears = voter === slot.id || this.network.canReach(voter, slot.id);
          if (hears) heard++;
          if (hears && (voter === slot.id || this.network.canReach(slot.id, voter))) reachable++;
        }
        checker.observe({
          nowMs: this.time.nowMs,
          node: slot.id,
          group,
          term: status.term,
          hears: heard >= quorum,
          connected: reachable >= quorum,
        });
      }
    }
  }

  // ---- liveness and the final check ----

  /**
   * After healing: every group elects a leader, commits a final write proposed through it, and
   * every member applies everything the leader committed — within `livenessTimeoutMs`.
   */
  private async converge(): Promise<void> {
    const deadline = this.time.nowMs + this.options.livenessTimeoutMs;
    const finalWrites = new Map<GroupId, 'pending' | 'acked'>();
    let finalAttempts = 0;
    const propose = (group: GroupId) => {
      const leader = this.leaderOf(group);
      if (leader === undefined || finalWrites.get(group) !== undefined) return;
      finalWrites.set(group, 'pending');
      // A new value per attempt: a retried proposal whose first attempt also committed is
      // legitimately there twice, and only the acknowledged one must be there once.
      const value = `g${group}-final-${finalAttempts++}`;
      leader.live.node.propose(group, this.valueBatch(value)).then(
        () => finalWrites.set(group, 'acked'),
        () => finalWrites.delete(group),
      );
      // An answer that never comes (leader lost): try again.
      this.time.after(200, () => {
        if (finalWrites.get(group) === 'pending') finalWrites.delete(group);
      });
    };
    const converged = () =>
      this.groups.every((group) => {
        if (finalWrites.get(group) !== 'acked') {
          propose(group);
          return false;
        }
        return this.groupUpToDate(group);
      });
    // Checked every 20 ms of virtual time, not after every event (it asks every node).
    let done = false;
    const poll = () => {
      if (this.phase !== 'quiet' || done) return;
      done = converged();
      this.time.after(20, poll);
    };
    poll();
    await this.runUntil(deadline, () => done);
    if (this.failure !== null || done) return;
    const lagging = this.groups.filter(
      (group) => finalWrites.get(group) !== 'acked' || !this.groupUpToDate(group),
    );
    throw new MultiInvariantViolation(
      `liveness: ${this.options.livenessTimeoutMs} ms after healing, groups ${lagging.join(', ')} have not elected, committed a write and caught up every member (${lagging
        .map((group) => this.describeGroup(group))
        .join('; ')})`,
    );
  }

  /**
   * The group's leader has committed its whole log (a new leader's commit index may lag what
   * was committed before it), and every member has applied all of it.
   */
  private groupUpToDate(group: GroupId): boolean {
    const leader = this.leaderOf(group);
    if (leader === undefined || leader.commit !== leader.lastIndex) return false;
    for (const member of [...leader.conf.voters, ...leader.conf.learners]) {
      const live = this.slots.get(member)?.live;
      const applied = live?.applied.get(group);
      if (applied === undefined) return false;
      if ((applied[applied.length - 1]?.index ?? 0) < leader.commit) return false;
    }
    return true;
  }

  private describeGroup(group: GroupId): string {
    const parts: string[] = [];
    for (const slot of this.slots.values()) {
      const status = slot.live?.node.status(group);
      if (status === undefined) continue;
      parts.push(
        `n${slot.id}:${status.role} t${status.term} c${status.commit} a${status.applied} v[${status.confState.voters}] l[${status.confState.learners}]`,
      );
    }
    return `group ${group}: ${parts.join(' ')}`;
  }

  /**
   * The committed log of each group, on every member: the same entries, with every acknowledged
   * value exactly once and in the order its client saw the acknowledgements.
   */
  private checkFinalLogs(): void {
    for (const group of this.groups) {
      const leader = this.leaderOf(group);
      if (leader === undefined) throw new MultiInvariantViolation(`group ${group} has no leader at the end`);
      const committed = this.checker.committed.get(group) ?? new Map();
      const log: string[] = [];
      for (let index = 2; index <= leader.commit; index++) {
        const entry = committed.get(index);
        if (entry === undefined)
          throw new MultiInvariantViolation(`group ${group}: committed entry ${index} was never applied`);
        log.push(entry.key);
      }
      for (const member of [...leader.conf.voters, ...leader.conf.learners]) {
        const applied = this.slot(member).live?.applied.get(group) ?? [];
        applied.forEach((record, i) => {
          if (record.index !== 2 + i || record.key !== log[i])
            throw new MultiInvariantViolation(
              `group ${group}: node ${member} applied ${record.key} at ${record.index}, the committed log has ${log[record.index - 2]}`,
            );
        });
      }
      const position = new Map<string, number>();
      log.forEach((key, i) => {
        if (key === 'noop' || key.startsWith('conf:')) return;
        if (position.has(key))
          throw new MultiInvariantViolation(`group ${group}: value ${key} is in the committed log twice`);
        position.set(key, i);
      });
      for (const client of this.clients) {
        if (client.group !== group) continue;
        let last = -1;
        for (const value of client.acked) {
          const at = position.get(value);
          if (at === undefined)
            throw new MultiInvariantViolation(
              `group ${group}: acknowledged value ${value} is not in the committed log`,
            );
          if (at < last)
            throw new MultiInvariantViolation(
              `group ${group}: client ${client.id}'s acknowledged value ${value} precedes an earlier acknowledged one`,
            );
          last = at;
        }
      }
    }
  }
}

/** Runs one seed (options drawn from it, `overrides` applied on top) and reports the outcome. */
export function runMultiSeed(
  seed: number,
  overrides: Partial<SimMultiOptions> = {},
): Promise<SimMultiResult> {
  return new MultiSimulation(seed, overrides).run();
}
