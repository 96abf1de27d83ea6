/**
 * Every Raft group of one broker over one TCP transport (DESIGN decision 6): the I/O shell of
 * `MultiRaftHost` (src/raft/multi/host.ts). One tick timer for all groups, one Ready loop:
 *
 *   1. `host.ready()` collects every group's Ready and one `PeerBatch` per peer broker.
 *   2. Persist, in the Ready contract's order: installed snapshots; every group's entries
 *      appended (page cache), then ONE group-commit round — `await Promise.all` of the log syncs
 *      of every group with new entries; only then the HardStates that changed term or vote
 *      (their commit index may cover the entries just synced). A commit-only HardState change
 *      is written behind, every `commitSaveTicks`, and only once the entries it covers are
 *      durable (the commit index may lag on disk; it never runs ahead of the log).
 *   3. Send: each PeerBatch as one frame on the transport's reserved `PEER_BATCH_CHANNEL`, then
 *      one flush (one write per peer). Heartbeats of all groups ride inside it as 17-byte
 *      items; idle groups go quiet and send nothing; a peer hears from us at least once per
 *      heartbeat interval (node liveness), so idle cost per broker pair is flat.
 *   4. Apply committed entries per group (`onApply`), resolve proposals, `advance()`, and loop.
 *
 * While a group-commit round runs the native logs refuse every call, so messages, ticks and
 * proposals arriving meanwhile are held and run in arrival order right after it.
 *
 * A proposal resolves once its entry is committed and applied with the term it was proposed in;
 * it rejects with `ProposalDroppedError` when this node does not lead the group, when leadership
 * is lost before the commit (the entry may still commit: outcome unknown to the caller), or when
 * another leader's entry took its slot, or when the group is removed from this node.
 *
 * Events: `'role'` (group, role, leader) on each role or leader change; `'commit'` (group, high
 * watermark) when a group's high watermark moves; `'removed'` (group) when `removeGroup` ran;
 * `'error'` (error) when a disk error stopped the node.
 */
import { EventEmitter } from 'node:events';
import {
  type KafkaOffset,
  kafkaOffset,
  type LogIndex,
  logIndex,
  type NodeId,
  type Term,
} from '../lib/ids.js';
import type { ConfChange } from '../raft/conf-change.js';
import { checkBatchFraming } from '../raft/entry.js';
import { ProposalDroppedError } from '../raft/errors.js';
import { type GroupId, MultiRaftHost, type MultiRaftHostOptions } from '../raft/multi/host.js';
import type { RawNodeOptions, Ready, Status } from '../raft/raw-node.js';
import { type Entry, type HardState, NO_NODE, type Snapshot, StateRole } from '../raft/types.js';
import type { DurableRaftStorage } from './durable-raft-storage.js';
import { DamagedAppendFilter } from './entry-integrity.js';
import {
  decodePeerBatch,
  encodePeerBatch,
  PEER_BATCH_CHANNEL,
  PeerBatchCodecError,
} from './peer-batch-codec.js';
import { type RaftScheduler, realTimers } from './raft-scheduler.js';
import type { RaftTransport } from './raft-transport.js';
import type { ProposeResult, ReplicatedLog } from './replicated-log.js';
import type { TransportLogger } from './transport.js';

/** How often (ticks) groups holding back a damaged committed entry read it again. */
const DAMAGED_RETRY_TICKS = 10;
export interface MultiRaftNodeOptions {
  nodeId: NodeId;
  /** The broker's raft transport (started and stopped by the caller). */
  transport: RaftTransport;
  /** Seeds every group's election timer (reproducible per node). */
  seed: number;
  /** Milliseconds per Raft tick. Default 100. */
  tickMs?: number;
  /** How often (in ticks) commit-only HardState changes are written. Default 10. */
  commitSaveTicks?: number;
  /** Options every group's RawNode gets (electionTicks, heartbeatTicks, preVote, ...). */
  raft?: Omit<RawNodeOptions, 'id' | 'storage' | 'prng'>;
  /** Host options: quiescence, liveness, per-peer message bound. */
  host?: Pick<MultiRaftHostOptions, 'quiesce' | 'livenessTicks' | 'maxMessagesPerPeer' | 'heartbeatTicks'>;
  logger?: TransportLogger;
  /** The tick timer and the flush scheduling (default: the process's timers; the simulator's are virtual). */
  scheduler?: RaftScheduler;
  /**
   * Checks the data of each normal entry a leader sends (one RecordBatch) and throws when it is
   * damaged: such an Append is dropped before Raft takes it (src/cluster/entry-integrity.ts).
   * The broker passes the storage core's validation; without it nothing is checked here.
   */
  verifyEntry?: (data: Buffer) => void;
  /**
   * Tests only: plants a known defect back, so the simulator can show it would catch it.
   * 'hard-state-with-entries': HardState written beside the log fsync, and commit-only saves
   * on the timer even while the log fsync runs. 'quiet-leader-never-wakes': see
   * `MultiRaftHostOptions.testOnlyDefects`.
   */
  testOnlyDefects?: ReadonlySet<MultiRaftDefect>;
}

/** Defects `MultiRaftNodeOptions.testOnlyDefects` can plant. */
export type MultiRaftDefect = 'hard-state-with-entries' | 'quiet-leader-never-wakes';

export interface GroupOptions {
  /** Called with each run of committed entries, in log order, before proposals resolve. */
  onApply?: (entries: readonly Entry[]) => void;
  /**
   * Entries up to this index are already reflected in the state machine (at most the saved
   * commit index): a restart applies only what follows. Default: the snapshot's index.
   */
  appliedIndex?: LogIndex;
  /** Called when a snapshot from the leader was installed, before later entries apply: the
   * state machine replaces its state with the snapshot's. */
  onSnapshot?: (snapshot: Snapshot) => void;
}

/** Where a committed proposal landed. */
export interface CommittedEntry {
  index: LogIndex;
  term: Term;
  baseOffset: KafkaOffset;
  /** Offset after the entry's last record. */
  nextOffset: KafkaOffset;
}

/** Counters of the Ready loop (for tests, benchmarks and metrics). */
export interface MultiRaftNodeStats {
  /** Ready rounds (host.ready() calls). */
  flushes: number;
  /** Group-commit rounds that synced at least one log. */
  syncRounds: number;
  /** Log syncs issued, summed over rounds (groups with pending entries per round). */
  logSyncs: number;
  /** PeerBatch frames sent, and the coalesced heartbeats and messages they carried. */
  batchesSent: number;
  heartbeatsSent: number;
  messagesSent: number;
  batchesReceived: number;
  /** Received frames that failed to decode or were misaddressed. */
  badBatches: number;
}

interface PendingProposal {
  index: LogIndex;
  term: Term;
  resolve(entry: CommittedEntry): void;
  reject(error: unknown): void;
}

/** First offset of each term among applied entries (answers OffsetForLeaderEpoch). */
interface TermRun {
  term: number;
  firstOffset: KafkaOffset;
}

interface GroupState {
  id: GroupId;
  termRuns: TermRun[];
  view: GroupLog | undefined;
  storage: DurableRaftStorage;
  onApply: ((entries: readonly Entry[]) => void) | undefined;
  onSnapshot: ((snapshot: Snapshot) => void) | undefined;
  pending: PendingProposal[];
  role: StateRole;
  leader: NodeId;
  committedOffset: KafkaOffset;
  /** A commit-only HardState not yet written; its commit covers only durable entries. */
  lazyHardState: HardState | null;
}

const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class MultiRaftNode extends EventEmitter {
  readonly nodeId: NodeId;
  readonly host: MultiRaftHost;
  private readonly transport: RaftTransport;
  private readonly scheduler: RaftScheduler;
  private readonly logger: TransportLogger;
  private readonly tickMs: number;
  private readonly commitSaveTicks: number;
  /** Planted defect: the HardState written beside the log fsync (tests only). */
  private readonly hardStateWithEntries: boolean;
  private readonly groups = new Map<GroupId, GroupState>();
  /** Groups added and not removed, as callers see them (`groups` follows once the loop is idle). */
  private readonly declared = new Set<GroupId>();
  /** Groups holding a `lazyHardState` (the commit-save timer visits only these). */
  private readonly lazyGroups = new Set<GroupState>();
  /** Cancels the tick timer while it runs. */
  private ticker: (() => void) | null = null;
  private ticks = 0;
  private flushScheduled = false;
  private processing: Promise<void> | null = null;
  private syncing = false;
  /** A snapshot being written by `compact` (the next persist phase waits for it). */
  private compacting: Promise<void> | null = null;
  private deferred: Array<() => void> = [];
  /** Read-index requests waiting for their ReadState, by request context. */
  private readonly pendingReads = new Map<
    string,
    { resolve(index: LogIndex): void; timer: NodeJS.Timeout }
  >();
  private nextReadId = 1;
  private stopped = false;
  private failure: unknown = null;
  private readonly damagedAppends: DamagedAppendFilter | null;
  private readonly counters: MultiRaftNodeStats = {
    flushes: 0,
    syncRounds: 0,
    logSyncs: 0,
    batchesSent: 0,
    heartbeatsSent: 0,
    messagesSent: 0,
    batchesReceived: 0,
    badBatches: 0,
  };

  constructor(options: MultiRaftNodeOptions) {
    super();
    this.nodeId = options.nodeId;
    this.transport = options.transport;
    this.scheduler = options.scheduler ?? realTimers;
    this.logger = options.logger ?? silentLogger;
    this.damagedAppends =
      options.verifyEntry === undefined ? null : new DamagedAppendFilter(options.verifyEntry, this.logger);
    this.tickMs = options.tickMs ?? 100;
    this.commitSaveTicks = options.commitSaveTicks ?? 10;
    this.hardStateWithEntries = options.testOnlyDefects?.has('hard-state-with-entries') ?? false;
    this.host = new MultiRaftHost({
      ...options.host,
      ...(options.testOnlyDefects?.has('quiet-leader-never-wakes')
        ? { testOnlyDefects: new Set(['quiet-leader-never-wakes'] as const) }
        : {}),
      nodeId: options.nodeId,
      seed: options.seed,
      ...(options.raft ? { groupOptions: options.raft } : {}),
    });
    this.transport.onMessage((from, channel, payload) => {
      if (channel === PEER_BATCH_CHANNEL) this.receive(from, payload);
    });
    this.transport.onPeerDisconnected((peer) => {
      if (this.stopped) return;
      this.whenIdle(() => {
        this.host.reportUnreachable(peer);
        this.scheduleFlush();
      });
    });
  }

  /**
   * Adds a group replicated on this broker (its storage is owned by the node from now on),
   * between group-commit rounds. Resolves once it runs here; rejects when the core refuses its
   * stored state, and then the group is not on this node (the caller still owns the storage).
   */
  addGroup(groupId: GroupId, storage: DurableRaftStorage, options: GroupOptions = {}): Promise<void> {
    if (this.declared.has(groupId)) throw new RangeError(`group ${groupId} exists on node ${this.nodeId}`);
    this.declared.add(groupId);
    let settle!: { resolve(): void; reject(error: unknown): void };
    const added = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Callers that do not wait for it must not turn a refused group into an unhandled rejection.
    added.catch(() => undefined);
    this.whenIdle(() => {
      let node: ReturnType<MultiRaftHost['addGroup']>;
      try {
        node = this.host.addGroup(
          groupId,
          storage,
          options.appliedIndex !== undefined ? { applied: options.appliedIndex } : {},
        );
      } catch (error) {
        // A group whose stored state the core refuses (a commit beyond its log, say) stays out
        // of this node, which keeps serving every other group; the caller may try it again.
        this.declared.delete(groupId);
        settle.reject(error);
        return;
      }
      const applied = node.status().applied;
      const state: GroupState = {
        id: groupId,
        termRuns: [],
        view: undefined,
        storage,
        onApply: options.onApply,
        onSnapshot: options.onSnapshot,
        pending: [],
        role: StateRole.Follower,
        leader: NO_NODE,
        // The saved commit index covers durable, committed entries: the high watermark starts
        // there after a restart, not at the snapshot (the entries re-apply right after).
        committedOffset: offsetAfter(
          storage,
          logIndex(Math.max(applied, Math.min(storage.hardState.commit, storage.lastIndex()))),
        ),
        lazyHardState: null,
      };
      this.groups.set(groupId, state);
      this.scheduleFlush();
      settle.resolve();
    });
    return added;
  }

  /**
   * Removes a group from this broker (the reconciler calls it once the replica's removal is
   * applied): the group stops at once — it is no longer ticked, answers nothing and never
   * campaigns again — its pending proposals reject with `ProposalDroppedError`, and its storage
   * is closed (a commit-only HardState still owed is written first). Emits `'removed'`
   * (groupId). Resolves once the storage is closed; the caller may then delete its files.
   * Rejects with RangeError when the group is not on this node.
   */
  removeGroup(groupId: GroupId): Promise<void> {
    if (!this.declared.has(groupId))
      return Promise.reject(new RangeError(`no group ${groupId} on node ${this.nodeId}`));
    this.declared.delete(groupId);
    return new Promise<void>((resolve, reject) => {
      // Between flushes: the host holds no Ready of the group and its log is not syncing.
      this.whenIdle(() => {
        const group = this.groups.get(groupId) as GroupState;
        this.groups.delete(groupId);
        this.host.removeGroup(groupId);
        this.lazyGroups.delete(group);
        const owed = group.lazyHardState;
        group.lazyHardState = null;
        rejectPending(
          group,
          new ProposalDroppedError(`group ${groupId} was removed from node ${this.nodeId}`, NO_NODE),
        );
        this.emit('removed', groupId);
        (owed === null ? Promise.resolve() : group.storage.saveHardState(owed))
          .then(() => group.storage.close())
          .then(resolve, reject);
      });
    });
  }

  /** Starts the tick timer. */
  start(): void {
    if (this.ticker !== null || this.stopped) return;
    this.ticker = this.scheduler.repeat(this.tickMs, () => {
      const saveCommits = ++this.ticks % this.commitSaveTicks === 0;
      if (saveCommits && this.hardStateWithEntries) this.saveLazyHardStates();
      const retryDamaged = this.ticks % DAMAGED_RETRY_TICKS === 0;
      this.whenIdle(() => {
        this.host.tick();
        // A group holding back a damaged committed entry reads it again: repaired by now, or held again.
        if (retryDamaged) this.host.retryDamaged();
        // Held like any other work during a group-commit round: the save stays in the loop's order.
        if (saveCommits && !this.hardStateWithEntries) this.saveLazyHardStates();
      });
      this.scheduleFlush();
    });
    this.scheduleFlush();
  }

  /** Proposes one entry (for a partition: a RecordBatch); resolves once committed and applied. */
  propose(groupId: GroupId, data: Uint8Array): Promise<CommittedEntry> {
    return this.placeProposal(groupId, () => this.host.propose(groupId, data));
  }

  /** Proposes a membership change of one group (one server at a time). */
  proposeConfChange(groupId: GroupId, change: ConfChange): Promise<CommittedEntry> {
    return this.placeProposal(groupId, () => this.host.proposeConfChange(groupId, change));
  }

  private placeProposal(
    groupId: GroupId,
    place: () => { index: LogIndex; term: Term },
  ): Promise<CommittedEntry> {
    if (this.stopped || this.failure !== null)
      return Promise.reject(this.failure ?? new ProposalDroppedError('raft node is stopped', NO_NODE));
    return new Promise((resolve, reject) => {
      this.whenIdle(() => {
        const group = this.groups.get(groupId);
        if (group === undefined) {
          reject(new RangeError(`no group ${groupId} on node ${this.nodeId}`));
          return;
        }
        let placed: { index: LogIndex; term: Term };
        try {
          placed = place();
        } catch (error) {
          reject(error);
          return;
        }
        group.pending.push({ ...placed, resolve, reject });
        this.scheduleFlush();
      });
    });
  }

  /**
   * Takes a snapshot of `groupId` at applied entry `index` (its membership from the core) with
   * `extra` state-machine bytes, and releases the log before it — between group-commit rounds:
   * the next round waits until the snapshot is written.
   */
  async compact(groupId: GroupId, index: LogIndex, extra?: Uint8Array): Promise<void> {
    for (;;) {
      while (this.compacting !== null) await this.compacting.catch(() => undefined);
      await this.logsIdle();
      if (!this.syncing && this.compacting === null) break;
    }
    const group = this.groups.get(groupId);
    const rawNode = this.host.group(groupId);
    if (group === undefined || rawNode === undefined) return;
    const applied = rawNode.status().applied;
    if (index > applied)
      throw new RangeError(`cannot snapshot ${groupId} at ${index}: applied is ${applied}`);
    const run = group.storage.compact(index, rawNode.confStateAt(index), extra).then(() => undefined);
    this.compacting = run;
    try {
      await run;
    } finally {
      this.compacting = null;
    }
  }

  /** Starts an election for `groupId` now (ignored when the group is not, or no longer, here). */
  campaign(groupId: GroupId): void {
    this.whenIdle(() => {
      if (!this.groups.has(groupId)) return;
      this.host.campaign(groupId);
      this.scheduleFlush();
    });
  }

  /**
   * Asks this node, when it leads `groupId`, to hand leadership to voter `transferee` once that
   * voter holds the whole log (leader balancing); a follower passes the request to its leader
   * (a follower asking for itself: taking a fenced leader's partition). Ignored when the group
   * is not here; a transfer that does not finish within an election timeout is abandoned.
   */
  transferLeadership(groupId: GroupId, transferee: NodeId): void {
    this.whenIdle(() => {
      if (!this.groups.has(groupId)) return;
      this.host.transferLeadership(groupId, transferee);
      this.scheduleFlush();
    });
  }

  /**
   * A read index of `groupId` (Raft ReadIndex, thesis §6.4): the leader's commit index once a
   * quorum confirmed it still leads (a follower asks its leader). Everything acknowledged before
   * the call is at or below it; the caller serves a read once it has applied that far. Rejects
   * with ProposalDroppedError after `timeoutMs` (no leader, or cut off).
   */
  readIndex(groupId: GroupId, timeoutMs: number): Promise<LogIndex> {
    const key = `read-${this.nextReadId++}`;
    return new Promise<LogIndex>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingReads.delete(key);
        reject(new ProposalDroppedError(`no read index for group ${groupId} in ${timeoutMs} ms`, NO_NODE));
      }, timeoutMs);
      this.pendingReads.set(key, { resolve, timer });
      this.whenIdle(() => {
        if (!this.groups.has(groupId) || this.stopped) return; // the timer answers
        this.host.readIndex(groupId, Buffer.from(key, 'latin1'));
        this.scheduleFlush();
      });
    });
  }

  status(groupId: GroupId): (Status & { highWatermark: KafkaOffset }) | undefined {
    const node = this.host.group(groupId);
    const group = this.groups.get(groupId);
    if (node === undefined || group === undefined) return undefined;
    return { ...node.status(), highWatermark: group.committedOffset };
  }

  stats(): MultiRaftNodeStats {
    return { ...this.counters };
  }

  /** Stops ticking, finishes the Ready in progress and rejects pending proposals. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker?.();
    this.ticker = null;
    await this.processing;
    this.runDeferred();
    this.saveLazyHardStates();
    for (const group of this.groups.values())
      rejectPending(group, new ProposalDroppedError('raft node stopped', group.leader));
  }

  /** `stop()`, then closes every group's storage. */
  async close(): Promise<void> {
    await this.stop();
    for (const group of this.groups.values()) await group.storage.close();
  }

  // ---- receiving ----

  private receive(from: NodeId, payload: Buffer): void {
    if (this.stopped) return;
    let batch: ReturnType<typeof decodePeerBatch>;
    try {
      batch = decodePeerBatch(payload);
    } catch (error) {
      if (!(error instanceof PeerBatchCodecError)) throw error;
      this.counters.badBatches++;
      this.logger.warn({ err: error, from }, 'undecodable peer batch dropped');
      return;
    }
    // The connection's handshake names the sender; a batch claiming another origin or meant
    // for another node is misrouted or forged.
    if (batch.from !== from || batch.to !== this.nodeId) {
      this.counters.badBatches++;
      this.logger.warn({ sender: from, from: batch.from, to: batch.to }, 'misaddressed peer batch dropped');
      return;
    }
    this.counters.batchesReceived++;
    if (this.damagedAppends !== null) batch = this.damagedAppends.filter(batch);
    this.whenIdle(() => {
      try {
        this.host.receive(batch);
      } catch (error) {
        this.logger.warn({ err: error, from }, 'peer batch refused');
      }
      this.scheduleFlush();
    });
  }

  // ---- the Ready loop ----

  private scheduleFlush(): void {
    if (this.flushScheduled || this.processing !== null || this.stopped || this.failure !== null) return;
    this.flushScheduled = true;
    this.scheduler.soon(() => {
      this.flushScheduled = false;
      if (this.processing !== null || this.stopped) return;
      this.processing = this.drain().finally(() => {
        this.processing = null;
        if (!this.stopped && this.failure === null && this.host.hasReady()) this.scheduleFlush();
      });
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && this.host.hasReady()) await this.flushOnce();
    } catch (error) {
      // A disk error leaves the node unable to promise anything: stop it loudly.
      this.failure = error;
      this.logger.error({ err: error, nodeId: this.nodeId }, 'raft node failed; stopping it');
      this.ticker?.();
      this.ticker = null;
      for (const group of this.groups.values()) rejectPending(group, error);
      this.emit('error', error);
    }
  }

  private async flushOnce(): Promise<void> {
    const hostReady = this.host.ready();
    this.counters.flushes++;
    const readies: Array<{ group: GroupState; ready: Ready }> = [];
    for (const { group: id, ready } of hostReady.groups) {
      const group = this.groups.get(id);
      if (group === undefined) continue;
      readies.push({ group, ready });
      if (ready.softState !== undefined)
        this.onSoftState(group, ready.softState.role, ready.softState.leader);
    }
    // 1. Persist: snapshots, then entries (one group-commit round), then term/vote changes.
    // A compaction writing its snapshot finishes first (it must not race a log sync).
    while (this.compacting !== null) await this.compacting;
    this.syncing = true;
    try {
      for (const { group, ready } of readies)
        if (ready.snapshot !== undefined) await group.storage.applySnapshot(ready.snapshot);
      if (this.hardStateWithEntries) await this.persistBesideLog(readies);
      else await this.persistInOrder(readies);
    } finally {
      this.syncing = false;
    }
    // 2. Send: one frame per peer broker, one write per peer.
    for (const batch of hostReady.batches) {
      this.transport.send(batch.to, PEER_BATCH_CHANNEL, encodePeerBatch(batch));
      this.counters.batchesSent++;
      this.counters.heartbeatsSent += batch.heartbeats.length;
      this.counters.messagesSent += batch.messages.length;
    }
    this.transport.flush();
    // 3. Apply (an installed snapshot moves the high watermark to where its log restarts).
    for (const { group, ready } of readies) {
      if (ready.snapshot !== undefined) {
        group.onSnapshot?.(ready.snapshot);
        this.advanceHighWatermark(group, ready.snapshot.metadata.index);
      }
      if (ready.committedEntries.length > 0) this.apply(group, ready.committedEntries);
      for (const state of ready.readStates) {
        const key = Buffer.from(state.requestContext).toString('latin1');
        const pending = this.pendingReads.get(key);
        if (pending === undefined) continue;
        this.pendingReads.delete(key);
        clearTimeout(pending.timer);
        pending.resolve(state.index);
      }
    }
    // 4. Advance, then the work held during the sync.
    this.host.advance();
    this.runDeferred();
  }

  /**
   * The Ready contract's order: every group's entries appended and synced (one round, the
   * fsyncs in parallel), and only then the HardStates whose term or vote changed, since their
   * commit index may cover those entries. Commit-only changes become `lazyHardState` once their
   * entries are durable, so a lazy save never names an entry the log could still lose.
   */
  private async persistInOrder(readies: ReadonlyArray<{ group: GroupState; ready: Ready }>): Promise<void> {
    const logSyncs: Array<Promise<unknown>> = [];
    for (const { group, ready } of readies) {
      if (ready.entries.length === 0) continue;
      group.storage.append(ready.entries);
      logSyncs.push(group.storage.sync());
    }
    if (logSyncs.length > 0) {
      this.counters.syncRounds++;
      this.counters.logSyncs += logSyncs.length;
      await Promise.all(logSyncs);
    }
    const stateWrites: Array<Promise<void>> = [];
    for (const { group, ready } of readies) {
      const hardState = ready.hardState;
      if (hardState === undefined) continue;
      const previous = group.storage.hardState;
      if (hardState.term !== previous.term || hardState.vote !== previous.vote) {
        group.lazyHardState = null;
        stateWrites.push(group.storage.saveHardState(hardState));
      } else {
        group.lazyHardState = hardState;
        this.lazyGroups.add(group);
      }
    }
    await Promise.all(stateWrites);
  }

  /** The planted defect: HardState writes run beside the log fsyncs (tests only). */
  private async persistBesideLog(readies: ReadonlyArray<{ group: GroupState; ready: Ready }>): Promise<void> {
    const durable: Array<Promise<unknown>> = [];
    let logSyncs = 0;
    for (const { group, ready } of readies) {
      if (ready.entries.length > 0) group.storage.append(ready.entries);
      if (ready.hardState === undefined) continue;
      const previous = group.storage.hardState;
      if (ready.hardState.term !== previous.term || ready.hardState.vote !== previous.vote) {
        group.lazyHardState = null;
        durable.push(group.storage.saveHardState(ready.hardState));
      } else {
        group.lazyHardState = ready.hardState;
        this.lazyGroups.add(group);
      }
    }
    for (const { group, ready } of readies) {
      if (ready.entries.length === 0) continue;
      logSyncs++;
      durable.push(group.storage.sync());
    }
    if (logSyncs > 0) {
      this.counters.syncRounds++;
      this.counters.logSyncs += logSyncs;
    }
    await Promise.all(durable);
  }

  private onSoftState(group: GroupState, role: StateRole, leader: NodeId): void {
    const wasLeader = group.role === StateRole.Leader;
    group.role = role;
    group.leader = leader;
    if (wasLeader && role !== StateRole.Leader)
      rejectPending(group, new ProposalDroppedError('leadership lost before the entry committed', leader));
    this.emit('role', group.id, role, leader);
  }

  private apply(group: GroupState, entries: readonly Entry[]): void {
    group.onApply?.(entries);
    const log = group.storage.log;
    for (const entry of entries) {
      const lastRun = group.termRuns[group.termRuns.length - 1];
      if (lastRun === undefined || lastRun.term !== entry.term)
        group.termRuns.push({
          term: entry.term,
          firstOffset: log.offsetAt(entry.index) ?? group.committedOffset,
        });
      while (group.pending.length > 0 && (group.pending[0] as PendingProposal).index <= entry.index) {
        const proposal = group.pending.shift() as PendingProposal;
        if (proposal.index === entry.index && entry.damaged === true)
          // A group of one applies an entry that rotted between its append and its apply, marked:
          // its bytes are unreadable, so it was not written as asked.
          proposal.reject(
            new ProposalDroppedError('the entry was damaged on disk before it was applied', group.leader),
          );
        else if (proposal.index === entry.index && proposal.term === entry.term)
          proposal.resolve({
            index: entry.index,
            term: entry.term,
            baseOffset: log.offsetAt(entry.index) ?? group.committedOffset,
            nextOffset: offsetAfter(group.storage, entry.index),
          });
        else proposal.reject(new ProposalDroppedError('entry was replaced by another leader', group.leader));
      }
    }
    this.advanceHighWatermark(group, (entries[entries.length - 1] as Entry).index);
  }

  /** Moves the group's high watermark to just after applied entry `index`. */
  private advanceHighWatermark(group: GroupState, index: LogIndex): void {
    const offset = offsetAfter(group.storage, index);
    if (offset > group.committedOffset) {
      group.committedOffset = offset;
      this.emit('commit', group.id, offset);
      group.view?.emit('commit', offset);
    }
  }

  /**
   * The broker's `ReplicatedLog` seam (src/broker/replicated-log.ts) for one group: proposals
   * go through Raft, reads stop below the group's high watermark (committed and applied here).
   */
  replicatedLog(groupId: GroupId): ReplicatedLog {
    const group = this.groups.get(groupId);
    if (group === undefined) throw new RangeError(`no group ${groupId} on node ${this.nodeId}`);
    group.view ??= new GroupLog(this, group);
    return group.view;
  }

  /** Resolves once no group-commit round is in flight (the logs accept calls again). */
  logsIdle(): Promise<void> {
    if (!this.syncing) return Promise.resolve();
    return new Promise<void>((resolve) => this.deferred.push(resolve)).then(() => this.logsIdle());
  }

  /** Writes commit-only HardState changes (behind: a restarted node relearns the commit index). */
  private saveLazyHardStates(): void {
    for (const group of this.lazyGroups) {
      const state = group.lazyHardState;
      if (state === null) continue;
      group.lazyHardState = null;
      group.storage
        .saveHardState(state)
        .catch((error) => this.logger.error({ err: error, groupId: group.id }, 'hard state write failed'));
    }
    this.lazyGroups.clear();
  }

  /** Runs `work` now, or right after the group-commit round in flight (see the file comment). */
  private whenIdle(work: () => void): void {
    if (this.syncing) this.deferred.push(work);
    else work();
  }

  private runDeferred(): void {
    while (this.deferred.length > 0 && !this.syncing) {
      const work = this.deferred;
      this.deferred = [];
      for (const item of work) item();
    }
  }
}

/** `ReplicatedLog` view of one group of a `MultiRaftNode` (see `MultiRaftNode.replicatedLog`). */
class GroupLog extends EventEmitter implements ReplicatedLog {
  constructor(
    private readonly node: MultiRaftNode,
    private readonly group: GroupState,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get highWatermark(): KafkaOffset {
    return this.group.committedOffset;
  }

  get logStartOffset(): KafkaOffset {
    return this.group.storage.logStartOffset;
  }

  get leaderEpoch(): number {
    // Read on every produce: the core's term, without building a whole status.
    return this.node.host.group(this.group.id)?.term ?? 0;
  }

  get sizeBytes(): number {
    return this.group.storage.sizeBytes;
  }

  /** One entry per batch; resolves when all are committed, with the offsets the log stamped. */
  async propose(batches: readonly Buffer[]): Promise<ProposeResult> {
    if (batches.length === 0) throw new RangeError('propose needs at least one batch');
    // The broker validated every batch natively (CRC included) before proposing it.
    for (const batch of batches) checkBatchFraming(batch);
    const placed = await Promise.all(batches.map((batch) => this.node.propose(this.group.id, batch)));
    return {
      baseOffset: (placed[0] as CommittedEntry).baseOffset,
      nextOffset: (placed[placed.length - 1] as CommittedEntry).nextOffset,
    };
  }

  async read(fromOffset: KafkaOffset, maxBytes: number): Promise<Buffer> {
    await this.node.logsIdle();
    const highWatermark = this.group.committedOffset;
    if (fromOffset >= highWatermark) return Buffer.alloc(0);
    return this.group.storage.log.readFrom(fromOffset, maxBytes, highWatermark);
  }

  async offsetForTimestamp(timestampMs: number): Promise<KafkaOffset | undefined> {
    await this.node.logsIdle();
    const offset = this.group.storage.log.offsetForTimestamp(timestampMs);
    return offset === undefined || offset >= this.group.committedOffset ? undefined : offset;
  }

  /** The end of `epoch` (a Raft term) among applied entries, from the term runs kept in memory. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset } {
    const runs = this.group.termRuns;
    let found = -1;
    for (let i = 0; i < runs.length && (runs[i] as TermRun).term <= epoch; i++) found = i;
    if (found < 0) return { epoch: -1, endOffset: kafkaOffset(-1) };
    return {
      epoch: (runs[found] as TermRun).term,
      endOffset: runs[found + 1]?.firstOffset ?? this.group.committedOffset,
    };
  }

  /** Retention under Raft needs a snapshot at the cut first (`compact`); not wired: removes nothing. */
  async applyRetention(_policy: {
    nowMs: number;
    retentionMs: number;
    retentionBytes: number;
  }): Promise<number> {
    return 0;
  }

  /** The group's lifetime is the node's: closing the view does nothing. */
  async close(): Promise<void> {}
}

function rejectPending(group: GroupState, error: unknown): void {
  const pending = group.pending;
  group.pending = [];
  for (const proposal of pending) proposal.reject(error);
}

/** Kafka offset just after entry `index` (the log start offset for anything before the log). */
function offsetAfter(storage: DurableRaftStorage, index: LogIndex): KafkaOffset {
  const log = storage.log;
  if (index < log.firstIndex) return log.logStartOffset;
  if (index >= log.lastIndex) return log.nextOffset;
  return log.offsetAt(logIndex(index + 1)) ?? log.nextOffset;
}
