import { assert } from '../lib/assert.js';
import type { LogIndex, NodeId, Term } from '../lib/ids.js';
import { logIndex, term as toTerm } from '../lib/ids.js';
import type { Prng } from '../lib/prng.js';
import { applyConfChange, decodeConfChange, validateConfChange } from './conf-change.js';
import { ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { MembershipHistory } from './membership.js';
import { type Progress, ProgressState, ProgressTracker } from './progress.js';
import { ReadOnlyQueue } from './read-only.js';
import type { RaftStorage } from './storage.js';
import {
  type AddedAt,
  type ConfState,
  type Entry,
  EntryType,
  entryBytes,
  type HardState,
  type Message,
  MessageType,
  message,
  NO_NODE,
  NO_TERM,
  type ReadState,
  type Snapshot,
  StateRole,
} from './types.js';

/**
 * A defect fixed in the core that a test can plant back, so the simulator can prove that its
 * checkers catch it (a clean sweep means something only if a planted bug is found). They
 * exist for that self-check alone; production never sets them.
 *
 * - `single-voter-read`: a leader answers a read at once whenever its membership has one
 *   voter, even when that voter is another node (a leader that demoted itself, {1,2} -> {2},
 *   serves stale reads while node 2 elects itself and commits).
 * - `keep-no-progress-for-removed`: the leader forgets a removed node when the removal is
 *   appended, so the node never receives it and, believing itself a voter, campaigns forever.
 * - `rejoin-trusts-old-seat`: a node added back empty trusts the membership of the snapshot it
 *   installs before its log holds the change that added it (rule 6: its seat there was its
 *   deleted predecessor's; cut off, it elects itself the sole voter of the bootstrap membership).
 * - `readded-keeps-progress`: a node added back while departing keeps its old replica's
 *   progress (its stale match counts toward commit, and the leader never probes below it).
 * - `no-restart-after-loss`: a rejection from a follower whose log ends before its match does
 *   not reset the progress (the leader probes at match + 1 forever).
 * - `restart-timer-on-higher-term`: a higher term from a candidate (or any message naming no
 *   leader) restarts the election timer, so a stale candidate that keeps timing out first can
 *   keep the up-to-date node from ever campaigning (sim seed 1118107499).
 * - `silent-to-stale-leader`: with PreVote and CheckQuorum off, a node ignores a leader's
 *   message of an older term instead of answering with its own, so a learner whose term a
 *   stale candidate raised is never brought up to date (sim seed 1211181698).
 */
export type TestOnlyDefect =
  | 'single-voter-read'
  | 'keep-no-progress-for-removed'
  | 'rejoin-trusts-old-seat'
  | 'readded-keeps-progress'
  | 'no-restart-after-loss'
  | 'restart-timer-on-higher-term'
  | 'silent-to-stale-leader';

/** Options of one Raft node. Tick counts are in calls to `tick()`; the host picks the tick length. */
export interface RaftOptions {
  id: NodeId;
  storage: RaftStorage;
  /** Randomises election timeouts; seeded so a simulation replays exactly. */
  prng: Prng;
  /** A follower campaigns after a random timeout in [electionTicks, 2 * electionTicks). Default 10. */
  electionTicks?: number;
  /** A leader sends heartbeats every this many ticks; must be < electionTicks. Default 1. */
  heartbeatTicks?: number;
  /** Last applied index when restarting (entries up to it are not handed out again). */
  applied?: LogIndex;
  /** Bytes of entries per Append message. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Appends in flight per follower in Replicate state (pipelining depth). Default 256. */
  maxInflightMessages?: number;
  /** Bytes of proposed but uncommitted entries a leader accepts before dropping proposals. Default 64 MiB. */
  maxUncommittedBytes?: number;
  /** Bytes of committed entries handed out per Ready. Default 64 MiB. */
  maxCommittedBytesPerReady?: number;
  /** Pending ReadIndex requests a leader holds. Default 4096. */
  maxPendingReads?: number;
  /** Campaign in two phases so a rejoining node cannot depose a healthy leader (thesis §9.6). Default true. */
  preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout. Default true. */
  checkQuorum?: boolean;
  /** Simulator self-check only: plant fixed defects back (see `TestOnlyDefect`). Default none. */
  testOnlyDefects?: ReadonlySet<TestOnlyDefect>;
}

type StepFunction = (raft: Raft, m: Message) => void;
type TickFunction = (raft: Raft) => void;

const CAMPAIGN_TRANSFER = new Uint8Array([0x74]); // 't': a transfer-forced vote ignores leases

/**
 * The Raft state machine of one node. Pure: time is `tick()`, randomness is the injected
 * Prng, I/O is the host's (see RawNode). Role behaviour dispatches through `stepRole` and
 * `tickRole`, set on every role change.
 */
export class Raft {
  readonly id: NodeId;
  term: Term;
  vote: NodeId;
  leader: NodeId = NO_NODE;
  role = StateRole.Follower;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Outbound messages, handed to the host by the next Ready. */
  messages: Message[] = [];
  readStates: ReadState[] = [];

  private stepRole: StepFunction = stepFollower;
  private tickRole: TickFunction = tickElection;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  private randomizedElectionTicks = 0;
  /** Ticks since the last election timeout reset (follower: since hearing from a leader). */
  electionElapsed = 0;
  private heartbeatElapsed = 0;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  private readonly prng: Prng;
  readonly maxMessageBytes: number;
  readonly maxUncommittedBytes: number;
  private readonly testOnlyDefects: ReadonlySet<TestOnlyDefect>;
  /** Transfer target while a leadership transfer runs; proposals are refused meanwhile. */
  leadTransferee: NodeId = NO_NODE;
  /** Index of the latest membership change (or this term's no-op); no new change before it commits. */
  pendingConfIndex: LogIndex = logIndex(0);
  /** Membership history: the configuration in force is the latest in the log (membership.ts). */
  private readonly membership: MembershipHistory;
  uncommittedBytes = 0;
  readonly readOnly: ReadOnlyQueue;
  /** Reads that arrived before this leader committed an entry of its term. */
  private pendingReads: Message[] = [];
  /**
   * Leader only: nodes that a membership change in its log removed and that may not know it
   * yet. A removed node that never learns its removal is committed keeps campaigning (it is a
   * voter of the previous membership, rule 4 in docs/raft.md). So the leader keeps sending it
   * the log and the commit index, never counting it, until it reports a commit index covering
   * its removal, or it has been silent for an election timeout after the removal committed
   * (it is down or cut off; the host stops removed replicas).
   */
  private readonly departing = new Map<NodeId, { removedAt: LogIndex; silentTicks: number }>();

  constructor(options: RaftOptions) {
    this.id = options.id;
    assert(this.id > 0, 'node id must be positive');
    this.electionTicks = options.electionTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? 1;
    assert(
      this.heartbeatTicks > 0 && this.heartbeatTicks < this.electionTicks,
      'need 0 < heartbeatTicks < electionTicks',
    );
    this.prng = options.prng;
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
    this.maxUncommittedBytes = options.maxUncommittedBytes ?? 64 * 1024 * 1024;
    this.testOnlyDefects = options.testOnlyDefects ?? new Set();
    this.readOnly = new ReadOnlyQueue(options.maxPendingReads ?? 4096);
    this.tracker = new ProgressTracker(options.maxInflightMessages ?? 256);
    this.tracker.testOnlyKeepReaddedProgress = this.testOnlyDefects.has('readded-keeps-progress');
    this.log = new RaftLog(options.storage, options.applied);

    const { hardState, confState } = options.storage.initialState();
    this.term = hardState.term;
    this.vote = hardState.vote;
    // The host persists entries before the HardState whose commit covers them (Ready, step 1),
    // so a stored commit beyond the stored log means that order was broken or synced data was
    // lost. Clamping it to the log's end would apply whatever tail survived as committed
    // (possibly a stale one a lost truncation left behind): stop loudly instead.
    assert(
      hardState.commit <= this.log.lastIndex(),
      `stored commit ${hardState.commit} is beyond the stored log (last index ${this.log.lastIndex()}): ` +
        'entries must be durable before the HardState that covers them',
    );
    if (hardState.commit > 0) this.log.commitTo(hardState.commit);
    assert(
      this.log.applied <= this.log.committed,
      `applied ${this.log.applied} > committed ${this.log.committed}`,
    );
    this.membership = MembershipHistory.fromStorage(options.storage, confState, options.id);
    this.tracker.applyConfState(this.currentConf(), this.log.lastIndex());
    this.log.onAppend = (entries) => {
      if (this.membership.track(entries)) this.switchToConfState(this.currentConf());
    };
    this.becomeFollower(this.term, NO_NODE);
  }

  /** The membership in force: the latest in the log. */
  currentConf(): ConfState {
    return this.membership.current();
  }

  /** The membership as of entry `index` (what a snapshot taken at `index` must record). */
  confStateAt(index: LogIndex): ConfState {
    return this.membership.at(index);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /**
   * May campaign: a voter of the latest membership, or of the one before it while the latest
   * change is not known to be committed. Without the second case a group can lose liveness:
   * a leader that demoted itself from two voters to one and crashed before the change reached
   * the other voter holds the longest log but is no voter in its own view, while the other
   * voter (still on the old membership) needs its vote. Votes are always counted against the
   * latest membership, so a node elected this way is a leader that does not count itself, and
   * hands over once the change commits. A joining node never campaigns (see `isJoining`).
   */
  promotable(): boolean {
    if (this.isJoining()) return false;
    if (this.tracker.isVoter(this.id)) return true;
    const latest = this.membership.latestChange();
    if (!latest || latest.index <= this.log.committed) return false;
    return this.membership.previous().voters.includes(this.id);
  }

  // ---- sending -----------------------------------------------------------------------------

  /**
   * Queues `m` for the next Ready: the one way a message leaves the core. `from` is this node
   * unless already set (a forwarded TransferLeader names the transferee, a forwarded ReadIndex
   * the node that asked). Election messages carry the term they campaign for; a ReadIndex
   * forwarded to the leader travels as a local message (term 0); every other one carries ours.
   */
  send(m: Message): void {
    assert(m.to !== NO_NODE && m.to !== this.id, `${m.type} addressed to ${m.to} from node ${this.id}`);
    if (m.from === NO_NODE) m.from = this.id;
    const electionType =
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResponse ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResponse;
    if (electionType) {
      assert(m.term !== 0, `${m.type} must carry a term`);
    } else if (m.type === MessageType.ReadIndex) {
      m.term = NO_TERM;
    } else {
      m.term = this.term;
    }
    this.messages.push(m);
  }

  /** Sends an Append (or a snapshot) to `to` if flow control allows; true when something was sent. */
  sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = logIndex(pr.next - 1);
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr);
    const entries = this.log.entriesFrom(pr.next, this.maxMessageBytes);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send(
      message({
        type: MessageType.Append,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries,
        commit: this.log.committed,
      }),
    );
    pr.sentEntries(entries.length, logIndex(prevIndex + entries.length));
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // A peer we have not heard from may be down; do not ship an image into the void.
    if (!pr.recentActive) return false;
    const stored = this.log.snapshot();
    const { index } = stored.metadata;
    assert(index > 0, 'need a snapshot but none exists');
    // Our own `addedAt` is about us: it never leaves this node.
    const { voters, learners } = stored.metadata.confState;
    const snapshot = { metadata: { ...stored.metadata, confState: { voters, learners } }, data: stored.data };
    // When `to` was added after this snapshot, its seat in the snapshot's membership (if any)
    // was a deleted predecessor's: name the change that added it (rule 6, `AddedAt`).
    const added = this.membership.addedAfter(to, index);
    const addedTerm = added === undefined ? undefined : this.log.term(added);
    assert(added === undefined || addedTerm !== undefined, `no term for the change at ${added}`);
    this.send(
      message({
        type: MessageType.Snapshot,
        to,
        snapshot,
        ...(added !== undefined && addedTerm !== undefined ? { index: added, logTerm: addedTerm } : {}),
      }),
    );
    pr.becomeSnapshot(index);
    return true;
  }

  private sendHeartbeat(to: NodeId, context?: Uint8Array): void {
    // Never tell a follower to commit beyond what it is known to store.
    const commit = logIndex(Math.min(this.tracker.progress.get(to)!.match, this.log.committed));
    this.send(message({ type: MessageType.Heartbeat, to, commit, ...(context ? { context } : {}) }));
  }

  forEachPeer(fn: (id: NodeId, pr: Progress) => void): void {
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) fn(id, pr);
  }

  broadcastAppend(): void {
    this.forEachPeer((id) => this.sendAppend(id));
  }

  broadcastHeartbeat(): void {
    const context = this.readOnly.lastContext();
    this.forEachPeer((id) => this.sendHeartbeat(id, context));
  }

  // ---- role changes ------------------------------------------------------------------------

  private reset(newTerm: Term): void {
    if (this.term !== newTerm) {
      this.term = newTerm;
      this.vote = NO_NODE;
    }
    this.leader = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks = this.electionTicks + this.prng.int(0, this.electionTicks - 1);
    this.leadTransferee = NO_NODE;
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    if (this.departing.size > 0) {
      this.departing.clear();
      this.tracker.applyConfState(this.currentConf(), last); // drops their progress
    }
    for (const [id, pr] of this.tracker.progress) {
      pr.becomeProbe();
      pr.resetIndexes(id === this.id ? last : logIndex(0), logIndex(last + 1));
      pr.recentActive = false;
    }
    this.pendingConfIndex = logIndex(0);
    this.uncommittedBytes = 0;
    this.readOnly.clear();
    this.pendingReads = [];
  }

  becomeFollower(newTerm: Term, leader: NodeId): void {
    this.stepRole = stepFollower;
    this.tickRole = tickElection;
    this.reset(newTerm);
    this.leader = leader;
    this.role = StateRole.Follower;
  }

  private becomePreCandidate(): void {
    assert(this.role !== StateRole.Leader, 'a leader cannot become a pre-candidate');
    // Neither the term nor the vote changes: a pre-vote must not disturb anyone (thesis §9.6).
    this.stepRole = stepCandidate;
    this.tickRole = tickElection;
    this.tracker.resetVotes();
    this.leader = NO_NODE;
    this.role = StateRole.PreCandidate;
  }

  private becomeCandidate(): void {
    assert(this.role !== StateRole.Leader, 'a leader cannot become a candidate');
    this.stepRole = stepCandidate;
    this.tickRole = tickElection;
    this.reset(toTerm(this.term + 1));
    this.vote = this.id;
    this.role = StateRole.Candidate;
  }

  becomeLeader(): void {
    assert(this.role === StateRole.Candidate, 'only a candidate becomes leader');
    this.stepRole = stepLeader;
    this.tickRole = tickHeartbeat;
    this.reset(this.term);
    this.leader = this.id;
    this.role = StateRole.Leader;
    const self = this.tracker.progress.get(this.id);
    self?.becomeReplicate();
    if (self) self.recentActive = true;
    // The nodes the latest change removed may not know it yet (our predecessor may have
    // stopped sending to them): keep sending them the log until they do.
    const latest = this.membership.latestChange();
    if (latest) {
      this.trackDeparting(this.membership.previous(), latest.state, latest.index);
      this.tracker.applyConfState(latest.state, this.log.lastIndex(), this.departingIds());
    }
    // The no-op lets this leader commit (and so learn the commit index of) its predecessors'
    // entries (§5.4.2). No membership change is accepted before it is applied: a leader must
    // commit an entry of its own term before changing membership (thesis §4.1, 2015 erratum).
    this.appendEntries([
      { index: logIndex(0), term: this.term, type: EntryType.Noop, data: new Uint8Array(0) },
    ]);
    this.pendingConfIndex = this.log.lastIndex();
  }

  // ---- elections ---------------------------------------------------------------------------

  hup(transfer: boolean): void {
    if (this.role === StateRole.Leader) return;
    if (!this.promotable()) return;
    if (this.preVote && !transfer) this.campaign('pre-election', false);
    else this.campaign('election', transfer);
  }

  campaign(kind: 'pre-election' | 'election', transfer: boolean): void {
    let voteTerm: Term;
    let voteType: MessageType;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      voteTerm = toTerm(this.term + 1); // the term we would campaign for
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      voteTerm = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes() === 'won') {
      // Single voter: won outright.
      if (kind === 'pre-election') this.campaign('election', transfer);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send(
        message({
          type: voteType,
          to: id,
          term: voteTerm,
          index: lastIndex,
          logTerm: lastTerm,
          ...(transfer ? { context: CAMPAIGN_TRANSFER } : {}),
        }),
      );
    }
  }

  /** Candidate side: count a (pre-)vote response; returns the outcome so far. */
  recordVoteResponse(m: Message): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(m.from, !m.reject);
    return this.tracker.tallyVotes();
  }

  // ---- the step entry point ----------------------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const forced = m.context !== undefined && m.context[0] === CAMPAIGN_TRANSFER[0];
        const inLease =
          this.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.electionTicks;
        // Within a lease from a live leader, ignore disruptive candidates (thesis §4.2.3).
        if (!forced && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // Granted pre-votes carry the future term; the real election will raise it.
      } else if (
        m.type === MessageType.Append ||
        m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snapshot
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        // Only a leader's message or a granted vote restarts the election timer (§5.2, Figure 2).
        // A candidate's higher term does not: the node whose log is most up to date must keep its
        // own schedule, or a stale candidate that times out first would restart it on every
        // attempt (2 voters: the stale one keeps losing, the up-to-date one never campaigns).
        const elapsedTicks = this.electionElapsed;
        const timeoutTicks = this.randomizedElectionTicks;
        const wasLeader = this.role === StateRole.Leader;
        this.becomeFollower(m.term, NO_NODE);
        if (!wasLeader && !this.testOnlyDefects.has('restart-timer-on-higher-term')) {
          this.electionElapsed = elapsedTicks;
          this.randomizedElectionTicks = timeoutTicks;
        }
      }
    } else if (m.term < this.term) {
      const fromLeader =
        m.type === MessageType.Heartbeat || m.type === MessageType.Append || m.type === MessageType.Snapshot;
      const answerStaleLeader =
        !this.testOnlyDefects.has('silent-to-stale-leader') || this.checkQuorum || this.preVote;
      if (fromLeader && answerStaleLeader) {
        // A stale leader (e.g. cut off, then healed) learns the newer term from this answer
        // (§5.1: a stale request is refused with the receiver's term). Without it, a node whose
        // pre-votes are ignored could never rejoin; and a node that cannot campaign (a learner
        // whose term a stale candidate raised) would ignore the leader for ever, with nothing to
        // carry its term to the leader: the leader keeps its term and the node never catches up
        // (sim seed 1211181698). Relying on the node's own campaign, as etcd does when PreVote
        // and CheckQuorum are off, works only for a voter whose campaign reaches the leader.
        this.send(message({ type: MessageType.AppendResponse, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({ type: MessageType.PreVoteResponse, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NO_NODE && this.leader === NO_NODE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        const responseType =
          m.type === MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        if (canVote && this.log.isUpToDate(m.index, m.logTerm) && this.seatIsOursFor(m.index)) {
          // Answer with the candidate's term: for a pre-vote our own term may be lower.
          this.send(message({ type: responseType, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(message({ type: responseType, to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.stepRole(this, m);
    }
  }

  tick(): void {
    this.tickRole(this);
  }

  /** Leader tick: heartbeats, and once per election timeout the quorum check and transfer timeout. */
  tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === StateRole.Leader) this.leadTransferee = NO_NODE;
    }
    if (this.role !== StateRole.Leader) return;
    this.handOverIfNotVoter();
    this.tickDeparting();
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat }));
    }
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id || pr.state !== ProgressState.Snapshot) continue;
      // A snapshot lost on the way (no answer within two election timeouts) is sent again.
      if (++pr.snapshotTicks >= 2 * this.electionTicks) pr.becomeProbe();
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTicks;
  }

  /** Ticks after the last reset at which this node's election timeout fires (tests, diagnostics). */
  get electionTimeoutTicks(): number {
    return this.randomizedElectionTicks;
  }

  // ---- proposals ---------------------------------------------------------------------------

  /** Leader: appends entries (assigning index and term); returns the last index. */
  appendEntries(entries: Array<Pick<Entry, 'type' | 'data'> & Partial<Entry>>): LogIndex {
    let last = this.log.lastIndex();
    const stamped: Entry[] = entries.map((e) => {
      last = logIndex(last + 1);
      return { index: last, term: this.term, type: e.type, data: e.data };
    });
    for (const e of stamped) this.uncommittedBytes += entryBytes(e);
    last = this.log.append(stamped);
    // The leader counts its own (not yet persisted) entries; the host persists them before
    // sending any message or applying anything of this Ready, so no commit escapes early.
    this.tracker.progress.get(this.id)?.maybeUpdate(last);
    this.maybeCommit();
    return last;
  }

  maybeCommit(): boolean {
    return this.log.maybeCommit(this.tracker.committedIndex(), this.term);
  }

  /** Leader-side checks of a proposal; throws ProposalDroppedError when refused. */
  checkProposal(entries: readonly Pick<Entry, 'type' | 'data'>[]): void {
    const refuse = (why: string) => {
      throw new ProposalDroppedError(why, this.leader);
    };
    if (this.role !== StateRole.Leader) refuse(`node ${this.id} is not the leader`);
    if (!this.tracker.isVoter(this.id))
      refuse(`node ${this.id} is no longer a voter and is handing over leadership`);
    if (this.leadTransferee !== NO_NODE) refuse(`leadership is moving to node ${this.leadTransferee}`);
    let bytes = 0;
    for (const e of entries) bytes += entryBytes(e as Entry);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.maxUncommittedBytes)
      refuse(`uncommitted backlog full (${this.uncommittedBytes} bytes)`);
    let state: ConfState = this.tracker.confState();
    for (const e of entries) {
      if (e.type !== EntryType.ConfChange) continue;
      if (this.pendingConfIndex > this.log.committed)
        refuse(
          `membership change at ${this.pendingConfIndex} not yet committed (commit ${this.log.committed})`,
        );
      const change = decodeConfChange(e.data);
      const invalid = validateConfChange(state, change);
      if (invalid) refuse(invalid);
      state = applyConfChange(state, change);
    }
  }

  // ---- membership --------------------------------------------------------------------------

  switchToConfState(state: ConfState): void {
    if (this.role === StateRole.Leader) {
      this.trackDeparting(this.tracker.confState(), state, this.membership.currentIndex());
    }
    this.tracker.applyConfState(state, this.log.lastIndex(), this.departingIds());
    if (this.role !== StateRole.Leader) return;
    // A leader stores its own entries: it matches its whole log (also when it stays a member
    // only as a learner).
    this.tracker.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
    if (this.leadTransferee !== NO_NODE && !this.tracker.isVoter(this.leadTransferee))
      this.leadTransferee = NO_NODE;
    // The quorum changed: something may be committed now; new members need the log.
    if (this.maybeCommit()) this.broadcastAppend();
    else
      this.forEachPeer((id, pr) => pr.state === ProgressState.Probe && !pr.probeSent && this.sendAppend(id));
    this.handOverIfNotVoter();
  }

  /**
   * Leader: members of `before` that are no member of `after` start departing (removed at
   * `index`); re-added ones stop. A removed learner never campaigns, but it is told too: its
   * host learns from its log that the replica was removed and can stop it.
   */
  private trackDeparting(before: ConfState, after: ConfState, index: LogIndex): void {
    const members = new Set([...after.voters, ...after.learners]);
    for (const id of [...this.departing.keys()]) if (members.has(id)) this.departing.delete(id);
    if (this.testOnlyDefects.has('keep-no-progress-for-removed')) return;
    for (const id of [...before.voters, ...before.learners]) {
      if (id === this.id || members.has(id) || this.departing.has(id)) continue;
      this.departing.set(id, { removedAt: index, silentTicks: 0 });
    }
  }

  private departingIds(): Set<NodeId> {
    return new Set(this.departing.keys());
  }

  /**
   * Leader: the rejection `m` shows that its sender's log ends before its match (the hint is at
   * most the follower's last index, and a follower holding `match` never hints below it): its
   * replica lost what it acknowledged, e.g. it was deleted and started empty under the same id.
   * The progress starts over at the hint (a snapshot follows when that is compacted away);
   * otherwise the leader would probe at match + 1 forever. A rejection of an Append before the
   * match is an old answer and changes nothing. True when the progress was reset.
   */
  followerLostLog(pr: Progress, m: Message): boolean {
    if (this.testOnlyDefects.has('no-restart-after-loss')) return false;
    if (m.index < pr.match || m.rejectHint >= pr.match) return false;
    pr.restartAfterLoss(logIndex(m.rejectHint + 1));
    return true;
  }

  /** Leader: `id` was removed and is still sent the log until it knows (see `departing`). */
  isDeparting(id: NodeId): boolean {
    return this.departing.has(id);
  }

  /**
   * Leader: the departing node `id` answered, reporting commit index `commit` when the answer
   * carries one. Returns true when that covers its removal: it knows, and is let go.
   */
  heardFromDeparting(id: NodeId, commit?: LogIndex): boolean {
    const departure = this.departing.get(id);
    if (!departure) return false;
    departure.silentTicks = 0;
    if (commit === undefined || commit < departure.removedAt) return false;
    this.releaseDeparting(id);
    return true;
  }

  /** Leader: `id`'s removal committed but `id` has not said it knows: tell it (an Append carries the commit). */
  mustTellRemoval(id: NodeId): boolean {
    const departure = this.departing.get(id);
    return departure !== undefined && this.log.committed >= departure.removedAt;
  }

  private releaseDeparting(id: NodeId): void {
    this.departing.delete(id);
    this.tracker.progress.delete(id);
  }

  /** Leader tick: let go of departing nodes silent for an election timeout since their removal committed. */
  private tickDeparting(): void {
    for (const [id, departure] of this.departing) {
      if (this.log.committed < departure.removedAt) continue;
      if (++departure.silentTicks >= this.electionTicks) this.releaseDeparting(id);
    }
  }

  /**
   * A leader that removed or demoted itself keeps leading (without counting itself) until it
   * has handed leadership to the most caught-up voter. Stepping down at once can leave the
   * group without a leader for good: the remaining voters may not know the change committed,
   * and the one holding the newest log may be the old leader, which can no longer campaign.
   */
  handOverIfNotVoter(): void {
    if (this.role !== StateRole.Leader || this.tracker.isVoter(this.id) || this.leadTransferee !== NO_NODE)
      return;
    // Keep managing the group until the change that removed us is committed (thesis §4.2.2).
    if (this.log.committed < this.pendingConfIndex) return;
    let best: NodeId = NO_NODE;
    let bestMatch = -1;
    for (const id of this.tracker.voters) {
      const pr = this.tracker.progress.get(id)!;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === NO_NODE) return;
    this.step(message({ type: MessageType.TransferLeader, from: best }));
  }

  // ---- follower handlers -------------------------------------------------------------------

  handleAppend(m: Message): void {
    // Every answer carries our commit index: a removed node tells the leader this way that it
    // knows its removal committed (see Raft.departing).
    const commit = () => this.log.committed;
    if (m.index < this.log.committed) {
      this.send(message({ type: MessageType.AppendResponse, to: m.from, index: commit(), commit: commit() }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(message({ type: MessageType.AppendResponse, to: m.from, index: lastNew, commit: commit() }));
      return;
    }
    // Reject, and suggest the last index whose term is <= the leader's term there, so the
    // leader skips a whole conflicting term per round trip instead of one entry.
    const hint = this.log.findConflictByTerm(logIndex(Math.min(m.index, this.log.lastIndex())), m.logTerm);
    this.send(
      message({
        type: MessageType.AppendResponse,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
        commit: commit(),
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    if (m.commit <= this.log.lastIndex()) this.log.commitTo(m.commit);
    this.send(
      message({
        type: MessageType.HeartbeatResponse,
        to: m.from,
        ...(m.context ? { context: m.context } : {}),
      }),
    );
  }

  handleSnapshot(m: Message): void {
    const snapshot = m.snapshot!;
    const addedAt = m.index > 0 ? { index: m.index, term: m.logTerm } : undefined;
    const index = this.restore(snapshot, addedAt) ? this.log.lastIndex() : this.log.committed;
    this.send(message({ type: MessageType.AppendResponse, to: m.from, index, commit: this.log.committed }));
  }

  /**
   * Installs `snapshot` unless our log already covers it; true when installed. `addedAt` is the
   * change that added this node after the snapshot, as the leader named it: it is kept in the
   * installed snapshot's membership (persisted with it), and the node is joining until its log
   * holds that change (see `isJoining`).
   */
  restore(snapshot: Snapshot, addedAt?: AddedAt): boolean {
    const { index, term: snapTerm } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    // Only a follower installs snapshots (candidates step down before handling one; a leader
    // never receives one for its own term).
    if (this.role !== StateRole.Follower) return false;
    if (this.log.matchTerm(index, snapTerm)) {
      // We hold the entry the snapshot ends at: just learn that it is committed.
      this.log.commitTo(index);
      return false;
    }
    const { voters, learners } = snapshot.metadata.confState;
    const confState: ConfState =
      addedAt !== undefined && addedAt.index > index ? { voters, learners, addedAt } : { voters, learners };
    this.log.restore({ metadata: { ...snapshot.metadata, confState }, data: snapshot.data });
    this.membership.restore(index, confState);
    this.switchToConfState(confState);
    return true;
  }

  /**
   * Rule 6 (docs/raft.md, Membership): this node was added to the group by a change after the
   * snapshot its log starts from, and its log does not hold that change yet. Its seat in any
   * older membership is a deleted predecessor's (same id, lost log and votes), so it must not
   * campaign with it: cut off right after installing the bootstrap snapshot of a group it once
   * founded alone, it would otherwise elect itself the sole voter and commit a different entry.
   */
  isJoining(): boolean {
    if (this.testOnlyDefects.has('rejoin-trusts-old-seat')) return false;
    const addedAt = this.membership.addedAt();
    if (addedAt === undefined) return false;
    if (this.log.firstIndex() - 1 >= addedAt.index) return false; // our own snapshot covers it
    return !this.log.matchTerm(addedAt.index, addedAt.term);
  }

  /**
   * A joining node grants no vote to a candidate whose log ends before the change that added
   * it: that candidate's membership is older than the change, so the seat it would count is the
   * deleted predecessor's. A candidate whose log reaches the change is answered as usual (a
   * leader that added this node as a second voter may need its vote to be elected again).
   */
  private seatIsOursFor(candidateLastIndex: LogIndex): boolean {
    if (!this.isJoining()) return true;
    return candidateLastIndex >= this.membership.addedAt()!.index;
  }

  // ---- reads -------------------------------------------------------------------------------

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Leader: answers the read `m` (ours or forwarded) with `index`. The one place reads are answered. */
  respondToRead(m: Message, index: LogIndex): void {
    const context = m.context ?? new Uint8Array(0);
    if (m.from === NO_NODE || m.from === this.id) {
      this.readStates.push({ index, requestContext: context });
    } else {
      this.send(message({ type: MessageType.ReadIndexResponse, to: m.from, index, context }));
    }
  }

  /**
   * This node is the only voter of its latest membership, so its own log is the quorum and a
   * read needs no heartbeat round. Being the leader of a one-voter group is not enough: a leader
   * that removed or demoted itself ({1,2} -> {2}) still leads until the change commits, and the
   * one voter left may already have elected itself and committed newer writes.
   */
  private isSoleVoter(): boolean {
    if (this.testOnlyDefects.has('single-voter-read')) return this.tracker.voters.size === 1;
    return this.tracker.voters.size === 1 && this.tracker.isVoter(this.id);
  }

  handleLeaderRead(m: Message): void {
    if (this.isSoleVoter()) {
      this.respondToRead(m, this.log.committed);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the true one until this term's no-op commits (thesis §6.4 step 1).
      if (this.pendingReads.length < this.readOnly.maxPending) this.pendingReads.push(m);
      return;
    }
    const round = this.readOnly.add(this.log.committed, m, this.term);
    if (round === undefined) return; // full: the client times out and retries
    this.confirmReads(this.id, round);
    this.forEachPeer((id) => this.sendHeartbeat(id, round));
  }

  /**
   * `from` acknowledged the heartbeat round `context`: once a quorum of the voters has (this
   * leader's own acknowledgement counts only while it is a voter), every read up to that round
   * is answered. A leader that is no longer a voter thus needs the remaining voters, even when
   * only one is left.
   */
  confirmReads(from: NodeId, context: Uint8Array): void {
    const acks = this.readOnly.recordAck(from, context);
    if (!acks) return;
    let voterAcks = 0;
    for (const id of acks) if (this.tracker.isVoter(id)) voterAcks++;
    if (voterAcks < this.tracker.quorum()) return;
    for (const read of this.readOnly.advance(context)) this.respondToRead(read.request, read.index);
  }

  /** Leader: reads wait for a heartbeat round or for this term's no-op to commit. */
  hasPendingReads(): boolean {
    return this.readOnly.size() > 0 || this.pendingReads.length > 0;
  }

  /** Follower: forget having heard from a leader lately; the election timer may fire now. */
  expireLease(): void {
    if (this.role === StateRole.Leader) return;
    this.electionElapsed = Math.max(this.electionElapsed, this.electionTicks);
  }

  /** Leader: a new CheckQuorum window starts now; peers `heard` says the host heard from count as active in it. */
  restartQuorumCheck(heard: (peer: NodeId) => boolean): void {
    if (this.role !== StateRole.Leader) return;
    this.electionElapsed = 0;
    this.forEachPeer((id, pr) => {
      if (heard(id)) pr.recentActive = true;
    });
  }

  /**
   * Leader: run CheckQuorum now with the host's view of which peers are alive (each peer is
   * active exactly when `heard` says so); steps down when a quorum of voters is not. A new
   * window starts when it stays. Nothing happens when CheckQuorum is off.
   */
  checkQuorumNow(heard: (peer: NodeId) => boolean): void {
    if (this.role !== StateRole.Leader || !this.checkQuorum) return;
    this.forEachPeer((id, pr) => {
      pr.recentActive = heard(id);
    });
    this.electionElapsed = 0;
    this.step(message({ type: MessageType.CheckQuorum }));
  }

  releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const m of reads) this.handleLeaderRead(m);
  }

  // ---- leadership transfer -----------------------------------------------------------------

  sendTimeoutNow(to: NodeId): void {
    this.send(message({ type: MessageType.TimeoutNow, to }));
  }
}

// ---- role step functions -------------------------------------------------------------------

function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      r.broadcastHeartbeat();
      return;
    case MessageType.CheckQuorum:
      if (!r.tracker.quorumActive(r.id)) {
        r.becomeFollower(r.term, NO_NODE);
        return;
      }
      for (const [id, pr] of r.tracker.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.Propose: {
      r.checkProposal(m.entries);
      // Mark the change pending before appending it: it takes effect during the append, and a
      // leader that removes itself must see it as uncommitted then (it hands over only after).
      const first = r.log.lastIndex() + 1;
      m.entries.forEach((e, i) => {
        if (e.type === EntryType.ConfChange) r.pendingConfIndex = logIndex(first + i);
      });
      r.appendEntries(m.entries);
      r.broadcastAppend();
      return;
    }
    case MessageType.ReadIndex:
      r.handleLeaderRead(m);
      return;
  }

  const pr = r.tracker.progress.get(m.from);
  if (!pr) return; // not (or no longer) a member
  switch (m.type) {
    case MessageType.AppendResponse: {
      pr.recentActive = true;
      pr.noteReportedCommit(m.commit);
      if (r.heardFromDeparting(m.from, m.commit)) return; // it knows it was removed: let it go
      if (m.reject) {
        if (r.followerLostLog(pr, m)) {
          r.sendAppend(m.from);
          return;
        }
        let hint = m.rejectHint;
        if (m.logTerm > 0) {
          // Skip to the last entry of ours in a term <= the follower's conflicting term.
          hint = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
        }
        if (pr.maybeDecrTo(m.index, hint)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      const wasPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) {
        if (wasPaused && pr.state === ProgressState.Probe) r.sendAppend(m.from);
        return;
      }
      if (pr.state === ProgressState.Probe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) {
        pr.inflights.freeLE(m.index);
      }
      if (r.maybeCommit()) {
        r.releasePendingReads();
        r.broadcastAppend();
      } else if (wasPaused) {
        // The follower was waiting on this answer; it may still lack the commit index.
        r.sendAppend(m.from);
      }
      // Pipelining: keep the window full.
      while (r.sendAppend(m.from, false)) {}
      if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) r.sendTimeoutNow(m.from);
      // A leader that removed itself hands over as soon as that change commits.
      r.handOverIfNotVoter();
      return;
    }
    case MessageType.HeartbeatResponse: {
      pr.recentActive = true;
      pr.probeSent = false;
      r.heardFromDeparting(m.from);
      // Appends may have been lost with the window full; free one slot so the next Append
      // goes out, and a gap it leaves is answered by a rejection that resets to probing.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirst();
      // A heartbeat answer carries no commit index: a departing node is asked with an Append.
      if (pr.match < r.log.lastIndex() || r.mustTellRemoval(m.from)) r.sendAppend(m.from);
      if (m.context) r.confirmReads(m.from, m.context);
      return;
    }
    case MessageType.SnapshotStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = logIndex(0);
      pr.becomeProbe();
      // Wait for a heartbeat response before probing again.
      pr.probeSent = true;
      return;
    case MessageType.Unreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.TransferLeader: {
      if (!r.tracker.isVoter(m.from)) return; // learners and departing nodes cannot lead
      const target = m.from;
      if (r.leadTransferee === target) return;
      if (target === r.id) return;
      r.leadTransferee = target;
      r.electionElapsed = 0; // the transfer must finish within an election timeout
      if (pr.match === r.log.lastIndex()) r.sendTimeoutNow(target);
      else r.sendAppend(target);
      return;
    }
  }
}

function stepCandidate(r: Raft, m: Message): void {
  const myResponse =
    r.role === StateRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
  switch (m.type) {
    case MessageType.Propose:
      throw new ProposalDroppedError(`node ${r.id} is campaigning; no leader yet`, NO_NODE);
    case MessageType.Append:
      r.becomeFollower(m.term, m.from);
      r.handleAppend(m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.Snapshot:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case myResponse: {
      const outcome = r.recordVoteResponse(m);
      if (outcome === 'won') {
        if (r.role === StateRole.PreCandidate) {
          r.campaign('election', false);
        } else {
          r.becomeLeader();
          r.broadcastAppend();
        }
      } else if (outcome === 'lost') {
        r.becomeFollower(r.term, NO_NODE);
      }
      return;
    }
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Propose:
      throw new ProposalDroppedError(
        r.leader === NO_NODE ? `node ${r.id} knows no leader` : `node ${r.id} is not the leader`,
        r.leader,
      );
    case MessageType.Append:
      r.electionElapsed = 0;
      r.leader = m.from;
      r.handleAppend(m);
      return;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.leader = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.Snapshot:
      r.electionElapsed = 0;
      r.leader = m.from;
      r.handleSnapshot(m);
      return;
    case MessageType.TransferLeader:
      if (r.leader === NO_NODE) return;
      r.send({ ...m, to: r.leader }); // `from` stays the node that should lead
      return;
    case MessageType.TimeoutNow:
      // The leader chose us: campaign at once, skipping pre-vote and leases (thesis §3.10).
      r.hup(true);
      return;
    case MessageType.ReadIndex:
      if (r.leader === NO_NODE) return; // dropped: the client retries
      r.send({ ...m, to: r.leader }); // `from` stays the node that asked
      return;
    case MessageType.ReadIndexResponse:
      r.readStates.push({ index: m.index, requestContext: m.context ?? new Uint8Array(0) });
      return;
  }
}

function tickElection(r: Raft): void {
  r.electionElapsed++;
  if (r.promotable() && r.pastElectionTimeout()) {
    r.electionElapsed = 0;
    r.step(message({ type: MessageType.Hup }));
  }
}

function tickHeartbeat(r: Raft): void {
  r.tickLeader();
}
