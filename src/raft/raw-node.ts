import { assert } from '../lib/assert.js';
import type { LogIndex, NodeId, Term } from '../lib/ids.js';
import { logIndex } from '../lib/ids.js';
import { type ConfChange, encodeConfChange } from './conf-change.js';
import { ProposalDroppedError } from './errors.js';
import type { DamagedEntryPolicy } from './log.js';
import { ProgressState } from './progress.js';
import { Raft, type RaftOptions } from './raft.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  entryBytes,
  type HardState,
  hardStateEqual,
  isLocalMessage,
  isResponseMessage,
  type Message,
  MessageType,
  message,
  NO_NODE,
  type ReadState,
  type Snapshot,
  type SoftState,
  StateRole,
} from './types.js';

/**
 * Everything the host must do after the core changed state. Process one Ready fully, in this
 * order, then call `advance()`:
 *
 * 1. Persist, durably (fsync) and atomically enough that a crash leaves a prefix:
 *    `snapshot` (if any) first, then `entries` (replacing any stored entries at or after
 *    `entries[0].index`), then `hardState`. Skipping this is what loses acknowledged data.
 * 2. Send `messages`, only after step 1 is durable: a vote or an append acknowledgement
 *    promises that the term, vote and entries are on disk (DESIGN decision 5).
 * 3. Apply `snapshot` (if any) then `committedEntries` to the state machine, in order.
 *    They may include entries persisted in step 1 of this same Ready.
 * 4. Call `advance()`. Until then `ready()` must not be called again; `step`, `tick` and
 *    `propose` may be.
 */
export interface Ready {
  /** Present when role or leader changed since the last Ready. Never persisted. */
  softState?: SoftState;
  /** Present when term, vote or commit changed. Persist before sending `messages`. */
  hardState?: HardState;
  /** Linearizable-read answers: serve each once `index` is applied. */
  readStates: ReadState[];
  /** Entries to persist (step 1). */
  entries: Entry[];
  /** A snapshot to persist then apply (a follower that fell behind the leader's log). */
  snapshot?: Snapshot;
  /** Committed entries to apply (step 3). */
  committedEntries: Entry[];
  /** Messages to send after persisting (step 2). */
  messages: Message[];
  /** False when nothing in step 1 needs an fsync (only commit moved). */
  mustSync: boolean;
}

/**
 * Options of a RawNode: every `RaftOptions` field, among them `testOnlyDefects` (the
 * simulator's self-check plants fixed defects back with it; never set in production).
 */
export interface RawNodeOptions extends RaftOptions {
  /** Bytes of committed entries handed out per Ready. Default 64 MiB. */
  maxCommittedBytesPerReady?: number;
}

/** What a node reports about itself (for `status`, metrics, the simulator's checkers). */
export interface Status {
  id: NodeId;
  role: StateRole;
  leader: NodeId;
  term: Term;
  vote: NodeId;
  commit: LogIndex;
  applied: LogIndex;
  lastIndex: LogIndex;
  confState: ConfState;
  /** Leader only: each peer's replication progress. */
  progress?: Array<{
    id: NodeId;
    match: LogIndex;
    next: LogIndex;
    state: ProgressState;
    learner: boolean;
    /** Removed, still sent the log until it knows (docs/raft.md, Membership); never counted. */
    departing: boolean;
  }>;
  leadTransferee: NodeId;
}

/**
 * The thread-unsafe, I/O-free Raft node the host drives: `tick()` on a timer, `step()` for each
 * received message, `propose*()` for client writes, and the Ready loop for I/O.
 */
export class RawNode {
  readonly raft: Raft;
  private readonly maxCommittedBytesPerReady: number;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  /** The Ready handed out and not yet advanced. */
  private pending: Ready | undefined;

  constructor(options: RawNodeOptions) {
    this.raft = new Raft(options);
    this.maxCommittedBytesPerReady = options.maxCommittedBytesPerReady ?? 64 * 1024 * 1024;
    this.previousSoftState = this.softState();
    this.previousHardState = this.raft.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  // ---- what a host may read (a multi-group host keeps idle groups quiet with these) --------

  get role(): StateRole {
    return this.raft.role;
  }

  /** The leader this node knows of in `term`, or NO_NODE. */
  get leader(): NodeId {
    return this.raft.leader;
  }

  get term(): Term {
    return this.raft.term;
  }

  get commitIndex(): LogIndex {
    return this.raft.log.committed;
  }

  get lastIndex(): LogIndex {
    return this.raft.log.lastIndex();
  }

  get appliedIndex(): LogIndex {
    return this.raft.log.applied;
  }

  /** The membership in force: the latest in the log, committed or not (docs/raft.md). */
  confState(): ConfState {
    return this.raft.currentConf();
  }

  /** `id` is a voter of the membership in force. */
  isVoter(id: NodeId): boolean {
    return this.raft.tracker.isVoter(id);
  }

  /**
   * Leader: every node it sends the log to, itself excluded: the members of the membership in
   * force and the departing nodes (removed, not yet aware of it; never counted). Empty on a
   * node that is not leader.
   */
  peers(): NodeId[] {
    if (this.raft.role !== StateRole.Leader) return [];
    const peers: NodeId[] = [];
    this.raft.forEachPeer((id) => peers.push(id));
    return peers;
  }

  /** Leader: `peer` is one of `peers()`. */
  replicatesTo(peer: NodeId): boolean {
    return (
      this.raft.role === StateRole.Leader && peer !== this.raft.id && this.raft.tracker.progress.has(peer)
    );
  }

  /** Leader: `peer` stores the leader's whole log and is streamed new entries (Replicate). */
  isCaughtUp(peer: NodeId): boolean {
    if (!this.replicatesTo(peer)) return false;
    const pr = this.raft.tracker.progress.get(peer)!;
    return pr.match === this.raft.log.lastIndex() && pr.state === ProgressState.Replicate;
  }

  /**
   * Leader with nothing to do but heartbeats: no transfer or read pending, an entry of its term
   * committed, everything committed and applied here, and every peer caught up and aware of
   * that commit. What a host checks (with its own peer liveness) before letting a group go
   * quiet. A peer's commit must be known, not assumed from its match: the commit reaches it
   * after the entries (in the next Append, or the quiesce heartbeat), and a learner that lost
   * both would stay a commit behind in a quiet group, with nothing to wake it (it never
   * campaigns; sim-multi seed 7224).
   */
  isIdleLeader(): boolean {
    return this.idleness() === 'idle';
  }

  /**
   * Leader idle but for peers that hold the whole log and have not reported the commit index
   * yet (their answer to the Append that carried it may be on its way, or lost). The host
   * gives them a while, then calls `resendCommit`.
   */
  awaitsCommitReports(): boolean {
    return this.idleness() === 'commit-unreported';
  }

  /**
   * Leader: sends every caught-up peer that has not reported the commit index an empty Append
   * carrying it; the answer reports it. A heartbeat carries the commit too, but its answer
   * (coalesced by a multi-group host) does not say how far the peer committed.
   */
  resendCommit(): void {
    if (this.idleness() !== 'commit-unreported') return;
    const r = this.raft;
    for (const peer of this.peers())
      if (r.tracker.progress.get(peer)!.reportedCommit < r.log.committed) r.sendAppend(peer);
  }

  private idleness(): 'busy' | 'commit-unreported' | 'idle' {
    const r = this.raft;
    if (r.role !== StateRole.Leader || r.leadTransferee !== NO_NODE || r.hasPendingReads()) return 'busy';
    const last = r.log.lastIndex();
    if (r.log.committed !== last || r.log.applied !== last || r.log.term(last) !== r.term) return 'busy';
    const peers = this.peers();
    if (!peers.every((peer) => this.isCaughtUp(peer))) return 'busy';
    const reported = peers.every((peer) => r.tracker.progress.get(peer)!.reportedCommit >= last);
    return reported ? 'idle' : 'commit-unreported';
  }

  // ---- what a host may do besides ticking and stepping --------------------------------------

  /**
   * Follower: the host knows the leader's node fell silent (node-level liveness) while this
   * group was not ticked: treat the lease as expired, so the election timer fires on the next
   * ticks and vote requests are no longer ignored. No effect on a leader.
   */
  expireLease(): void {
    this.raft.expireLease();
  }

  /**
   * Leader: start a new CheckQuorum window now (a group waking from quiescence: nobody
   * answered while there was nothing to answer). Peers for which `heard` is true count as
   * active in the new window. No effect on a follower.
   */
  restartQuorumCheck(heard: (peer: NodeId) => boolean): void {
    this.raft.restartQuorumCheck(heard);
  }

  /**
   * Leader: run CheckQuorum at once with the host's liveness view (each peer is active exactly
   * when `heard` says so): a quiet leader cut off from a quorum steps down now instead of an
   * election timeout of ticks later. No effect on a follower or with CheckQuorum off.
   */
  checkQuorumNow(heard: (peer: NodeId) => boolean): void {
    this.raft.checkQuorumNow(heard);
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup }));
  }

  /**
   * Proposes one application entry (for a partition: a RecordBatch). Returns where it will
   * live if it commits; throws ProposalDroppedError when this node cannot accept it. The entry
   * is acknowledged once it appears in `committedEntries` with the same index and term.
   */
  propose(data: Uint8Array): { index: LogIndex; term: Term } {
    return this.proposeEntry(EntryType.Normal, data);
  }

  /** Proposes a membership change (one voter at a time; see conf-change.ts). */
  proposeConfChange(change: ConfChange): { index: LogIndex; term: Term } {
    return this.proposeEntry(EntryType.ConfChange, encodeConfChange(change));
  }

  private proposeEntry(type: EntryType, data: Uint8Array): { index: LogIndex; term: Term } {
    const entry = { index: logIndex(0), term: this.raft.term, type, data };
    this.raft.step(message({ type: MessageType.Propose, from: this.raft.id, entries: [entry] }));
    const last = this.raft.log.lastIndex();
    const placed = this.raft.log.term(last);
    assert(placed === this.raft.term, 'an accepted proposal is the last entry of this term');
    return { index: last, term: this.raft.term };
  }

  /** Feeds a message received from a peer. Local message types are refused. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new RangeError(`${m.type} is a local message; use the RawNode method`);
    if (m.type === MessageType.Propose) throw new RangeError('proposals go through propose()');
    if (
      !this.raft.tracker.progress.has(m.from) &&
      isResponseMessage(m.type) &&
      m.type !== MessageType.ReadIndexResponse
    ) {
      // An answer from a node that is not (or no longer) a member is stale.
      if (this.raft.role === StateRole.Leader) return;
    }
    this.raft.step(m);
  }

  /** Asks the leader to hand leadership to `transferee` (thesis §3.10). */
  transferLeadership(transferee: NodeId): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: transferee, to: this.raft.id }));
  }

  /** Requests a read index; the answer arrives as a ReadState carrying `context`. */
  readIndex(context: Uint8Array): void {
    this.raft.step(message({ type: MessageType.ReadIndex, from: this.raft.id, context }));
  }

  /** The transport could not reach `peer`: stop streaming to it and probe instead. */
  reportUnreachable(peer: NodeId): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: peer }));
  }

  /** The transport finished (or failed) sending a snapshot to `peer`. */
  reportSnapshot(peer: NodeId, delivered: boolean): void {
    this.raft.step(message({ type: MessageType.SnapshotStatus, from: peer, reject: !delivered }));
  }

  private softState(): SoftState {
    return { leader: this.raft.leader, role: this.raft.role };
  }

  hasReady(): boolean {
    assert(this.pending === undefined, 'hasReady() before advance()');
    const r = this.raft;
    const soft = this.softState();
    if (soft.leader !== this.previousSoftState.leader || soft.role !== this.previousSoftState.role)
      return true;
    if (!hardStateEqual(r.hardState(), this.previousHardState)) return true;
    if (r.log.unstable.snapshot) return true;
    if (r.messages.length > 0 || r.log.unstable.entries.length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** Collects the pending work; see `Ready` for what to do with it. */
  ready(): Ready {
    assert(this.pending === undefined, 'ready() called twice without advance()');
    const r = this.raft;
    const soft = this.softState();
    const hard = r.hardState();
    const entries = r.log.unstableEntries();
    const snapshot = r.log.unstable.snapshot;
    const ready: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries: r.log.nextCommittedEntries(this.maxCommittedBytesPerReady, this.damagedEntryPolicy()),
      messages: r.messages,
      mustSync: false,
    };
    if (soft.leader !== this.previousSoftState.leader || soft.role !== this.previousSoftState.role) {
      ready.softState = soft;
    }
    if (!hardStateEqual(hard, this.previousHardState)) ready.hardState = hard;
    if (snapshot) ready.snapshot = snapshot;
    ready.mustSync =
      entries.length > 0 ||
      snapshot !== undefined ||
      hard.term !== this.previousHardState.term ||
      hard.vote !== this.previousHardState.vote;
    r.messages = [];
    r.readStates = [];
    this.pending = ready;
    return ready;
  }

  /**
   * What applying does with a damaged committed entry (RaftLog.nextCommittedEntries): hold it
   * for a repair while another voter exists (a committed entry is stored on a quorum of voters,
   * so one has a healthy copy); hold it a while when only learners do (one may have applied it
   * healthy, or may lack it: it is not on a learner for sure); else pass it on, marked.
   */
  private damagedEntryPolicy(): DamagedEntryPolicy {
    const { voters, learners } = this.raft.tracker;
    const self = this.raft.id;
    if (voters.size > (voters.has(self) ? 1 : 0)) return 'hold';
    return learners.size > (learners.has(self) ? 1 : 0) ? 'bounded' : 'pass';
  }

  /** The committed entry held back unapplied because storage found it damaged, if any. */
  heldDamagedIndex(): LogIndex | undefined {
    return this.raft.log.heldDamaged;
  }

  /** Reads the held damaged entry again at the next Ready (after its repair, or to retry). */
  releaseDamaged(): void {
    this.raft.log.releaseDamaged();
  }

  /** The host persisted, sent and applied the last Ready. */
  advance(): void {
    const ready = this.pending;
    assert(ready !== undefined, 'advance() without ready()');
    this.pending = undefined;
    const r = this.raft;
    if (ready.softState) this.previousSoftState = ready.softState;
    if (ready.hardState) this.previousHardState = ready.hardState;
    if (ready.snapshot) {
      r.log.stableSnapshotTo(ready.snapshot.metadata.index);
      r.log.appliedTo(ready.snapshot.metadata.index);
    }
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1]!;
      r.log.stableTo(last.index, last.term);
    }
    let appliedBytes = 0;
    for (const entry of ready.committedEntries) appliedBytes += entryBytes(entry);
    if (ready.committedEntries.length > 0) {
      r.log.appliedTo(ready.committedEntries[ready.committedEntries.length - 1]!.index);
      if (r.role === StateRole.Leader) r.uncommittedBytes = Math.max(0, r.uncommittedBytes - appliedBytes);
    }
  }

  /**
   * The membership as of entry `index`: what a snapshot the application takes at its applied
   * index must record. (Membership changes take effect when appended; see docs/raft.md.)
   */
  confStateAt(index: LogIndex): ConfState {
    return this.raft.confStateAt(index);
  }

  status(): Status {
    const r = this.raft;
    const status: Status = {
      id: r.id,
      role: r.role,
      leader: r.leader,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      confState: r.tracker.confState(),
      leadTransferee: r.leadTransferee,
    };
    if (r.role === StateRole.Leader) {
      status.progress = [...r.tracker.progress].map(([id, pr]) => ({
        id,
        match: pr.match,
        next: pr.next,
        state: pr.state,
        learner: pr.isLearner,
        departing: r.isDeparting(id),
      }));
    }
    return status;
  }
}

export { NO_NODE, ProposalDroppedError };
