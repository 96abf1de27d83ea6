/**
 * Many Raft groups on one node (DESIGN decision 6): every partition is a group, and a broker
 * holds thousands. What this host adds over a bag of RawNodes is what keeps the cost flat:
 *
 * - **One batch per peer node per flush.** All groups' outbound messages for node N travel in
 *   one `PeerBatch`, bounded by `maxMessagesPerPeer`.
 * - **Coalesced heartbeats.** Group heartbeats and their responses become small items inside that
 *   batch instead of messages of their own, so a node pair exchanges one batch per heartbeat
 *   interval however many groups they share.
 * - **Quiescence.** A leader whose group is idle (every member has every entry, all applied, no
 *   reads or transfer pending) tells the followers to go quiet and stops ticking it; so do they.
 *   A quiet group costs nothing per tick. Any message, proposal or campaign wakes it.
 * - **Node liveness instead of per-group timers.** Each node sends every peer a (possibly empty)
 *   batch every heartbeat interval. When a peer stays silent for `livenessTicks`, every quiet
 *   group led by that peer wakes up, so its election timer runs and a new leader is elected.
 *   The other way round, when this node has not heard from a quorum of a quiet group's voters
 *   for an election timeout, the group it leads wakes with those voters marked inactive, so
 *   CheckQuorum steps it down at once: a leader cut off from its followers never keeps claiming
 *   leadership. Both checks run only when a peer turns silent, never per group per tick.
 * - **Liveness both ways.** Hearing a peer's node does not mean it hears ours (a one-way cut).
 *   A node therefore also notes when each peer last *answered* it (any response in its batch),
 *   and probes a peer that has not answered lately with one quiesce heartbeat of a quiet group
 *   it leads there (one item per peer, whatever the number of groups), which that group
 *   answers. When a quorum of a quiet group's voters has not answered for an election timeout,
 *   the group wakes and proves contact: it stays awake for an election timeout with every peer
 *   inactive, and CheckQuorum keeps the leader only if a quorum answered its heartbeats. So a
 *   leader that still hears a quorum but reaches no one steps down even when no campaign
 *   reaches it (the others elected a leader without it). A follower's (pre-)vote request
 *   reaching a quiet leader makes it prove contact the same way.
 *
 * Pure like the rest of src/raft: the broker's shell persists, sends and applies.
 */
import { assert } from '../../lib/assert.js';
import type { LogIndex, NodeId, Term } from '../../lib/ids.js';
import { Prng } from '../../lib/prng.js';
import type { ConfChange } from '../conf-change.js';
import { RawNode, type RawNodeOptions, type Ready } from '../raw-node.js';
import type { RaftStorage } from '../storage.js';
import { type Message, MessageType, message, StateRole } from '../types.js';

/** A Raft group's id within the cluster (a partition, or the controller). */
export type GroupId = number;

/** A group heartbeat carried inside a PeerBatch (instead of a Message of its own). */
export interface CoalescedHeartbeat {
  group: GroupId;
  term: Term;
  commit: LogIndex;
  context?: Uint8Array;
  /** The leader's group is idle: the follower may stop ticking it. */
  quiesce?: boolean;
}

export interface CoalescedHeartbeatResponse {
  group: GroupId;
  term: Term;
  context?: Uint8Array;
}

/**
 * Everything one node sends another in one flush. An empty batch is a node-liveness heartbeat.
 * The transport serialises it; `from`/`to` of each message are the batch's nodes.
 */
export interface PeerBatch {
  from: NodeId;
  to: NodeId;
  messages: Array<{ group: GroupId; message: Message }>;
  heartbeats: CoalescedHeartbeat[];
  heartbeatResponses: CoalescedHeartbeatResponse[];
}

/**
 * One flush of the host. Order, as for a single `Ready`: persist every group's snapshot,
 * entries and HardState (one group-commit fsync for all of them), then send `batches`, then
 * apply each group's committed entries, then `advance()`.
 */
export interface HostReady {
  groups: Array<{ group: GroupId; ready: Ready }>;
  batches: PeerBatch[];
}

export interface MultiRaftHostOptions {
  nodeId: NodeId;
  /** Seeds each group's Prng (group election timeouts stay independent and reproducible). */
  seed: number;
  /** Options every group gets (id, storage and prng are supplied by the host). */
  groupOptions?: Omit<RawNodeOptions, 'id' | 'storage' | 'prng'>;
  /** A node sends each peer a batch at least this often (ticks). Default: groups' heartbeatTicks. */
  heartbeatTicks?: number;
  /** A peer silent this long (ticks) is presumed down; its quiet groups wake. Default: 2 × electionTicks. */
  livenessTicks?: number;
  /** Messages per peer per flush; beyond it messages are dropped and the group told the peer is unreachable. */
  maxMessagesPerPeer?: number;
  /** Let idle groups go quiet (default true; off only to measure what quiescence saves). */
  quiesce?: boolean;
  /**
   * Tests only: plants a known defect back so the simulator can show it catches it.
   * 'quiet-leader-never-wakes': a quiet leader is never woken by the silence of its followers,
   * nor made to prove contact by their campaigns.
   */
  testOnlyDefects?: ReadonlySet<'quiet-leader-never-wakes'>;
}

interface Group {
  id: GroupId;
  node: RawNode;
  /** Not ticked: idle leader, or follower told so by its leader. */
  quiet: boolean;
  /** Leader: stays awake until this tick, so CheckQuorum judges contact on fresh answers. */
  proveContactUntilTick: number;
  /** The group's election timeout in ticks. */
  electionTicks: number;
  /**
   * Leader idle but for peers that have not reported its commit: the tick at which it sends
   * them the commit again (0: not waiting). Their answers usually come first.
   */
  resendCommitAtTick: number;
}

export class MultiRaftHost {
  readonly nodeId: NodeId;
  private readonly groups = new Map<GroupId, Group>();
  /** Groups holding back a damaged committed entry (RaftLog.nextCommittedEntries) until `retryDamaged`. */
  private readonly heldDamaged = new Set<Group>();
  /** Groups that tick. Quiet groups are not visited per tick: idle cost stays flat. */
  private readonly awake = new Set<Group>();
  /** Quiet follower groups by the node leading them, woken together when that node falls silent. */
  private readonly quietByLeader = new Map<NodeId, Set<Group>>();
  /** Quiet groups this node leads, checked for a lost quorum when a peer falls silent. */
  private readonly quietLeaders = new Set<Group>();
  /** Peers not heard from for an election timeout (`quorumSilenceTicks`). */
  private readonly silentPeers = new Set<NodeId>();
  /** Quiet groups this node leads, by peer: where a probe of that peer comes from. */
  private readonly quietLedByPeer = new Map<NodeId, Set<Group>>();
  /** When each peer last answered one of our messages (its node hears ours). */
  private readonly lastAnsweredTick = new Map<NodeId, number>();
  /** Peers that have not answered for an election timeout. */
  private readonly unansweringPeers = new Set<NodeId>();
  private readonly lastProbeTick = new Map<NodeId, number>();
  /** A peer that has not answered for this long is probed (a third of an election timeout). */
  private readonly probeTicks: number;
  private peerCache: Set<NodeId> | undefined;
  /** Groups stepped since the last flush (a quiet group may still owe an answer). */
  private readonly touched = new Set<Group>();
  private readonly groupOptions: Omit<RawNodeOptions, 'id' | 'storage' | 'prng'>;
  private readonly seed: number;
  private readonly heartbeatTicks: number;
  private readonly livenessTicks: number;
  /** A peer silent this long no longer counts toward a quiet leader's quorum: an election timeout. */
  private readonly quorumSilenceTicks: number;
  private readonly quietLeaderNeverWakes: boolean;
  private readonly maxMessagesPerPeer: number;
  /** Group ticks run (for the idle-cost tests: quiet groups cost none). */
  private groupTicks = 0;
  private readonly quiesceIdle: boolean;
  private now = 0;
  private readonly lastHeardTick = new Map<NodeId, number>();
  private lastBatchTick = 0;
  private pendingQuiesce: Array<{ to: NodeId; heartbeat: CoalescedHeartbeat }> = [];
  private pending: HostReady | undefined;

  constructor(options: MultiRaftHostOptions) {
    this.nodeId = options.nodeId;
    this.seed = options.seed;
    this.groupOptions = options.groupOptions ?? {};
    const electionTicks = this.groupOptions.electionTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? this.groupOptions.heartbeatTicks ?? 1;
    this.livenessTicks = options.livenessTicks ?? 2 * electionTicks;
    this.quorumSilenceTicks = electionTicks;
    this.probeTicks = Math.max(1, Math.floor(electionTicks / 3));
    this.quietLeaderNeverWakes = options.testOnlyDefects?.has('quiet-leader-never-wakes') ?? false;
    this.maxMessagesPerPeer = options.maxMessagesPerPeer ?? 4096;
    this.quiesceIdle = options.quiesce ?? true;
  }

  addGroup(id: GroupId, storage: RaftStorage, options: Partial<RawNodeOptions> = {}): RawNode {
    assert(!this.groups.has(id), `group ${id} exists`);
    const node = new RawNode({
      ...this.groupOptions,
      ...options,
      id: this.nodeId,
      storage,
      prng: new Prng((this.seed ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0),
    });
    const electionTicks = options.electionTicks ?? this.groupOptions.electionTicks ?? 10;
    const group: Group = {
      id,
      node,
      quiet: false,
      proveContactUntilTick: 0,
      electionTicks,
      resendCommitAtTick: 0,
    };
    this.groups.set(id, group);
    this.awake.add(group);
    this.peerCache = undefined;
    return node;
  }

  removeGroup(id: GroupId): void {
    const group = this.groups.get(id);
    if (!group) return;
    this.wake(group);
    this.awake.delete(group);
    this.touched.delete(group);
    this.heldDamaged.delete(group);
    this.groups.delete(id);
    this.peerCache = undefined;
  }

  group(id: GroupId): RawNode | undefined {
    return this.groups.get(id)?.node;
  }

  /** Counts for metrics and the idle-cost benchmark. */
  stats(): { groups: number; quiet: number; leaders: number; groupTicks: number; heldDamaged: number } {
    let quiet = 0;
    let leaders = 0;
    for (const g of this.groups.values()) {
      if (g.quiet) quiet++;
      if (g.node.role === StateRole.Leader) leaders++;
    }
    return {
      groups: this.groups.size,
      quiet,
      leaders,
      groupTicks: this.groupTicks,
      heldDamaged: this.heldDamaged.size,
    };
  }

  private wake(group: Group): void {
    if (!group.quiet) return;
    group.quiet = false;
    this.awake.add(group);
    this.quietLeaders.delete(group);
    for (const set of this.quietByLeader.values()) set.delete(group);
    for (const set of this.quietLedByPeer.values()) set.delete(group);
    // A leader restarts its CheckQuorum window: nobody answered while there was nothing to
    // answer, so peers whose node was heard lately count as active in it.
    group.node.restartQuorumCheck(
      (id) => this.now - (this.lastHeardTick.get(id) ?? -Infinity) <= this.livenessTicks,
    );
  }

  /**
   * A member campaigns against this leader: it has lost us, though its node may still reach
   * ours (a one-way cut), so node liveness cannot tell. The group stays awake for a whole
   * election timeout with every peer marked inactive; CheckQuorum then keeps the leader only
   * if a quorum answered its heartbeats. Without this a leader that hears its followers but
   * cannot reach them goes quiet again at once and, when no other quorum can form, leads forever.
   */
  private proveContact(group: Group): void {
    if (group.proveContactUntilTick > this.now) return; // already proving: keep that window
    this.wake(group);
    group.proveContactUntilTick = this.now + group.electionTicks + 1;
    // A check that passes (everyone counted) opens a new window in which nobody has answered
    // yet: the real check comes one election timeout from now, on answers to our heartbeats.
    group.node.checkQuorumNow(() => true);
  }

  /** Heard from within an election timeout (this node always counts as heard). */
  private recentlyHeard(id: NodeId): boolean {
    if (id === this.nodeId) return true;
    return this.now - (this.lastHeardTick.get(id) ?? -Infinity) <= this.quorumSilenceTicks;
  }

  /** Answered one of our messages within an election timeout (this node always counts). */
  private recentlyAnswered(id: NodeId): boolean {
    if (id === this.nodeId) return true;
    return this.now - (this.lastAnsweredTick.get(id) ?? -Infinity) <= this.quorumSilenceTicks;
  }

  /** A quorum of the group's voters passes `live`. */
  private quorumOf(group: Group, live: (id: NodeId) => boolean): boolean {
    const voters = group.node.confState().voters;
    let count = 0;
    for (const id of voters) if (live(id)) count++;
    return count >= Math.floor(voters.length / 2) + 1;
  }

  /**
   * A peer fell silent or stopped answering. Every quiet group led here that no longer hears
   * from a quorum wakes and runs CheckQuorum at once with this node's liveness view, so it
   * steps down now rather than lead, unticked, a group that elected someone else. One that
   * still hears a quorum but not a quorum's answers (its messages may not get through) proves
   * contact: the group's own heartbeats decide, so a peer that answers nothing only because it
   * lost the probed group's replica costs an election timeout awake, not a leader.
   */
  private wakeLeadersWithoutQuorum(): void {
    for (const group of [...this.quietLeaders]) {
      if (!this.quorumOf(group, (id) => this.recentlyHeard(id))) {
        this.wake(group);
        this.touched.add(group); // its role change goes out with the next Ready
        group.node.checkQuorumNow((id) => this.recentlyHeard(id));
      } else if (!this.quorumOf(group, (id) => this.recentlyAnswered(id))) {
        this.proveContact(group);
        this.touched.add(group);
      }
    }
  }

  private makeQuiet(group: Group): void {
    if (group.quiet) return;
    group.quiet = true;
    this.awake.delete(group);
    const leader = group.node.leader;
    if (leader === this.nodeId) {
      this.quietLeaders.add(group);
      for (const peer of group.node.peers()) {
        let set = this.quietLedByPeer.get(peer);
        if (!set) {
          set = new Set();
          this.quietLedByPeer.set(peer, set);
        }
        set.add(group);
      }
      return;
    }
    let set = this.quietByLeader.get(leader);
    if (!set) {
      set = new Set();
      this.quietByLeader.set(leader, set);
    }
    set.add(group);
  }

  propose(id: GroupId, data: Uint8Array): { index: LogIndex; term: Term } {
    const group = this.mustGroup(id);
    this.wake(group);
    this.touched.add(group);
    return group.node.propose(data);
  }

  /** Proposes a membership change of group `id` (wakes it, like `propose`). */
  proposeConfChange(id: GroupId, change: ConfChange): { index: LogIndex; term: Term } {
    const group = this.mustGroup(id);
    this.wake(group);
    this.touched.add(group);
    return group.node.proposeConfChange(change);
  }

  /**
   * The transport lost its connection to `peer`: every group leading it stops streaming appends
   * to it and probes instead. Visits every group, but only on a disconnect.
   */
  reportUnreachable(peer: NodeId): void {
    for (const group of this.groups.values()) {
      if (!group.node.replicatesTo(peer)) continue;
      this.touched.add(group);
      group.node.reportUnreachable(peer);
    }
  }

  /** Asks group `id`, when led here, to hand leadership to `transferee` (thesis §3.10). */
  transferLeadership(id: GroupId, transferee: NodeId): void {
    const group = this.mustGroup(id);
    this.wake(group);
    this.touched.add(group);
    group.node.transferLeadership(transferee);
  }

  /** Asks group `id` for a read index (thesis §6.4); it comes back as a ReadState in its Ready. */
  readIndex(id: GroupId, context: Uint8Array): void {
    const group = this.mustGroup(id);
    this.wake(group);
    this.touched.add(group);
    group.node.readIndex(context);
  }

  campaign(id: GroupId): void {
    const group = this.mustGroup(id);
    this.wake(group);
    this.touched.add(group);
    group.node.campaign();
  }

  private mustGroup(id: GroupId): Group {
    const group = this.groups.get(id);
    if (!group) throw new RangeError(`no group ${id} on node ${this.nodeId}`);
    return group;
  }

  /** Advances time one tick: ticks every awake group, quiets idle leaders, wakes orphans. */
  tick(): void {
    this.now++;
    let newlySilent = false;
    for (const [peer, heard] of this.lastHeardTick) {
      if (this.now - heard <= this.quorumSilenceTicks) this.silentPeers.delete(peer);
      else if (!this.silentPeers.has(peer)) {
        this.silentPeers.add(peer);
        newlySilent = true;
      }
    }
    for (const [peer, answered] of this.lastAnsweredTick) {
      if (this.now - answered <= this.quorumSilenceTicks) this.unansweringPeers.delete(peer);
      else if (!this.unansweringPeers.has(peer)) {
        this.unansweringPeers.add(peer);
        newlySilent = true;
      }
    }
    if (newlySilent && !this.quietLeaderNeverWakes) this.wakeLeadersWithoutQuorum();
    for (const [leader, set] of this.quietByLeader) {
      if (set.size === 0 || this.now - (this.lastHeardTick.get(leader) ?? this.now) <= this.livenessTicks)
        continue;
      // The leader's node fell silent: its quiet followers must run their election timers
      // again, with the lease already expired (they have not heard from it in a while).
      for (const group of [...set]) {
        this.wake(group);
        group.node.expireLease();
      }
    }
    for (const group of [...this.awake]) {
      this.groupTicks++;
      group.node.tick();
      if (this.canQuiesce(group)) this.quiesce(group);
      else if (this.quiesceIdle) this.remindCommit(group);
    }
  }

  /** The group is idle: a leader whose followers hold, and have applied, everything. */
  private canQuiesce(group: Group): boolean {
    if (!this.quiesceIdle || group.proveContactUntilTick > this.now) return false;
    if (!group.node.isIdleLeader()) return false;
    // Peers whose node is silent or does not answer keep the group awake (CheckQuorum needs to
    // notice), and a quiet leader relies on its peers turning silent or unanswering later
    // (wakeLeadersWithoutQuorum).
    return group.node.peers().every((id) => this.recentlyHeard(id) && this.recentlyAnswered(id));
  }

  /**
   * An idle leader waits for its peers to report the commit before going quiet; a peer whose
   * report has not come within a heartbeat interval (the Append carrying the commit, or its
   * answer, was lost) is sent the commit again, once per heartbeat interval.
   */
  private remindCommit(group: Group): void {
    if (!group.node.awaitsCommitReports()) {
      group.resendCommitAtTick = 0;
      return;
    }
    if (group.resendCommitAtTick === 0) {
      group.resendCommitAtTick = this.now + this.heartbeatTicks;
      return;
    }
    if (this.now < group.resendCommitAtTick) return;
    group.node.resendCommit();
    group.resendCommitAtTick = this.now + this.heartbeatTicks;
  }

  private quiesce(group: Group): void {
    this.makeQuiet(group);
    this.touched.add(group); // its last heartbeats of this tick still go out
    const node = group.node;
    for (const id of node.peers()) {
      this.pendingQuiesce.push({
        to: id,
        heartbeat: { group: group.id, term: node.term, commit: node.commitIndex, quiesce: true },
      });
    }
  }

  /** Feeds one batch from a peer: expands coalesced heartbeats and steps every group. */
  receive(batch: PeerBatch): void {
    assert(batch.to === this.nodeId, `batch for node ${batch.to} delivered to ${this.nodeId}`);
    this.lastHeardTick.set(batch.from, this.now);
    if (batch.heartbeatResponses.length > 0 || batch.messages.some(({ message: m }) => isAnswer(m.type)))
      this.lastAnsweredTick.set(batch.from, this.now);
    for (const { group: id, message: m } of batch.messages) {
      const group = this.groups.get(id);
      if (!group) continue; // not (yet) a replica here: the controller's metadata decides (decision 8)
      this.touched.add(group);
      this.wake(group);
      const node = group.node;
      const campaign = m.type === MessageType.Vote || m.type === MessageType.PreVote;
      if (campaign && node.role === StateRole.Leader && m.term > node.term && !this.quietLeaderNeverWakes)
        this.proveContact(group);
      group.node.step(m);
    }
    for (const hb of batch.heartbeats) {
      const group = this.groups.get(hb.group);
      if (!group) continue;
      this.touched.add(group);
      const node = group.node;
      const m = message({
        type: MessageType.Heartbeat,
        from: batch.from,
        to: this.nodeId,
        term: hb.term,
        commit: hb.commit,
        ...(hb.context ? { context: hb.context } : {}),
      });
      if (hb.term < node.term) {
        // A deposed leader's heartbeat (a probe, perhaps): the core answers with our term, which
        // deposes it. Waking a quiet group that follows a newer leader would only make it
        // campaign against that leader once its election timer ran out.
        node.step(m);
        continue;
      }
      if (hb.quiesce) {
        // Go quiet only when in step with that leader; otherwise let the heartbeat catch us up.
        group.node.step(m);
        const caughtUp = node.leader === batch.from && node.term === hb.term && node.lastIndex === hb.commit;
        if (caughtUp && node.commitIndex === hb.commit && node.role === StateRole.Follower)
          this.makeQuiet(group);
        else this.wake(group);
        continue;
      }
      this.wake(group);
      group.node.step(m);
    }
    for (const response of batch.heartbeatResponses) {
      const group = this.groups.get(response.group);
      if (!group) continue;
      this.touched.add(group);
      group.node.step(
        message({
          type: MessageType.HeartbeatResponse,
          from: batch.from,
          to: this.nodeId,
          term: response.term,
          ...(response.context ? { context: response.context } : {}),
        }),
      );
    }
  }

  hasReady(): boolean {
    if (this.pendingQuiesce.length > 0 || this.now - this.lastBatchTick >= this.heartbeatTicks) return true;
    for (const group of this.active()) if (group.node.hasReady()) return true;
    return false;
  }

  /** Groups that may have work: awake ones and those stepped since the last flush. */
  private active(): Set<Group> {
    if (this.touched.size === 0) return this.awake;
    const active = new Set(this.awake);
    for (const group of this.touched) if (this.groups.get(group.id) === group) active.add(group);
    return active;
  }

  /** Collects every group's Ready and coalesces their messages into one batch per peer. */
  ready(): HostReady {
    assert(this.pending === undefined, 'ready() called twice without advance()');
    const batches = new Map<NodeId, PeerBatch>();
    const batchFor = (to: NodeId): PeerBatch => {
      let batch = batches.get(to);
      if (!batch) {
        batch = { from: this.nodeId, to, messages: [], heartbeats: [], heartbeatResponses: [] };
        batches.set(to, batch);
      }
      return batch;
    };
    const groups: HostReady['groups'] = [];
    const active = this.active();
    this.touched.clear();
    for (const group of active) {
      if (!group.node.hasReady()) continue;
      const ready = group.node.ready();
      if (group.node.heldDamagedIndex() !== undefined) this.heldDamaged.add(group);
      groups.push({ group: group.id, ready });
      for (const m of ready.messages) {
        const batch = batchFor(m.to);
        const count = batch.messages.length + batch.heartbeats.length + batch.heartbeatResponses.length;
        if (count >= this.maxMessagesPerPeer) {
          // Bounded: drop, and let the group fall back to probing this peer.
          group.node.reportUnreachable(m.to);
          continue;
        }
        if (m.type === MessageType.Heartbeat) {
          batch.heartbeats.push({
            group: group.id,
            term: m.term,
            commit: m.commit,
            ...(m.context ? { context: m.context } : {}),
          });
        } else if (m.type === MessageType.HeartbeatResponse) {
          batch.heartbeatResponses.push({
            group: group.id,
            term: m.term,
            ...(m.context ? { context: m.context } : {}),
          });
        } else {
          batch.messages.push({ group: group.id, message: m });
        }
      }
    }
    for (const { to, heartbeat } of this.pendingQuiesce) batchFor(to).heartbeats.push(heartbeat);
    this.pendingQuiesce = [];
    if (this.now - this.lastBatchTick >= this.heartbeatTicks) {
      // Node liveness: every peer hears from us once per heartbeat interval, even if idle.
      for (const peer of this.peers()) batchFor(peer);
      if (!this.quietLeaderNeverWakes) this.probeQuietPeers(batchFor);
      this.lastBatchTick = this.now;
    }
    this.pending = { groups, batches: [...batches.values()] };
    return this.pending;
  }

  /**
   * Liveness both ways: a peer of a quiet group led here that has not answered lately gets one
   * quiesce heartbeat of such a group (rotating among them), which that group answers, staying
   * quiet. One item per peer per probe interval, however many groups: idle cost stays flat.
   */
  private probeQuietPeers(batchFor: (to: NodeId) => PeerBatch): void {
    for (const [peer, groups] of this.quietLedByPeer) {
      if (groups.size === 0) continue;
      if (this.now - (this.lastAnsweredTick.get(peer) ?? -Infinity) < this.probeTicks) continue;
      if (this.now - (this.lastProbeTick.get(peer) ?? -Infinity) < this.probeTicks) continue;
      const group = groups.values().next().value as Group;
      groups.delete(group);
      groups.add(group); // the next probe of this peer names another group
      this.lastProbeTick.set(peer, this.now);
      const node = group.node;
      batchFor(peer).heartbeats.push({
        group: group.id,
        term: node.term,
        commit: node.commitIndex,
        quiesce: true,
      });
    }
  }

  /**
   * Every group holding back a damaged committed entry reads it again at the next Ready (its
   * repair from a peer may have landed; if not, it holds again). Returns how many.
   */
  retryDamaged(): number {
    let retried = 0;
    for (const group of this.heldDamaged) {
      if (this.groups.get(group.id) !== group) continue;
      group.node.releaseDamaged();
      this.touched.add(group);
      retried++;
    }
    this.heldDamaged.clear();
    return retried;
  }

  advance(): void {
    const pending = this.pending;
    assert(pending !== undefined, 'advance() without ready()');
    this.pending = undefined;
    for (const { group } of pending.groups) this.groups.get(group)?.node.advance();
  }

  /**
   * Every node sharing a group with us. Computed over all groups when groups come and go;
   * otherwise, once per liveness period, only awake groups are consulted (membership changes
   * append entries, so a group whose membership changed is awake), keeping idle cost flat.
   */
  private peers(): Set<NodeId> {
    const addFrom = (peers: Set<NodeId>, group: Group) => {
      const conf = group.node.confState();
      for (const id of conf.voters) if (id !== this.nodeId) peers.add(id);
      for (const id of conf.learners) if (id !== this.nodeId) peers.add(id);
    };
    if (!this.peerCache) {
      this.peerCache = new Set();
      for (const group of this.groups.values()) addFrom(this.peerCache, group);
    } else if (this.now % this.livenessTicks === 0) {
      for (const group of this.awake) addFrom(this.peerCache, group);
    }
    return this.peerCache;
  }

  /** Marks a peer as heard from, and answering, now (tests; a fresh host treats every peer as alive). */
  notePeerAlive(peer: NodeId): void {
    this.lastHeardTick.set(peer, this.now);
    this.lastAnsweredTick.set(peer, this.now);
  }
}

/** Messages sent only in answer to one of ours: they show the peer's node hears this one. */
function isAnswer(type: MessageType): boolean {
  switch (type) {
    case MessageType.AppendResponse:
    case MessageType.HeartbeatResponse:
    case MessageType.VoteResponse:
    case MessageType.PreVoteResponse:
    case MessageType.ReadIndexResponse:
      return true;
    default:
      return false;
  }
}
