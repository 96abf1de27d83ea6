import { assert } from '../lib/assert.js';
import type { LogIndex, NodeId } from '../lib/ids.js';
import { logIndex } from '../lib/ids.js';
import type { ConfState } from './types.js';

/**
 * The last index of each Append in flight to one follower, oldest first, in a ring of fixed
 * capacity: the bound on un-acknowledged appends (flow control, pipelining depth).
 */
export class Inflights {
  private readonly buffer: LogIndex[];
  private start = 0;
  count = 0;

  constructor(readonly capacity: number) {
    assert(capacity > 0, 'inflight capacity must be positive');
    this.buffer = new Array<LogIndex>(capacity);
  }

  add(last: LogIndex): void {
    assert(!this.full(), 'inflights full');
    this.buffer[(this.start + this.count) % this.capacity] = last;
    this.count++;
  }

  /** Frees every append whose last index is <= `index` (the follower acknowledged it). */
  freeLE(index: LogIndex): void {
    while (this.count > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export enum ProgressState {
  /** Unknown match: one Append at a time, waiting for each answer (or a heartbeat response). */
  Probe = 'probe',
  /** Match known: stream Appends optimistically, up to the inflight window. */
  Replicate = 'replicate',
  /** Sending a snapshot; no Appends until it is acknowledged or fails. */
  Snapshot = 'snapshot',
}

/**
 * The leader's view of one peer. Invariant: match < next (asserted on every change; set the
 * indexes through the methods). In Replicate, next - 1 is the last index sent; in Probe, next
 * is the index being probed.
 */
export class Progress {
  /** Highest index known to match the leader's log. */
  private matchIndex: LogIndex = logIndex(0);
  /** Next index to send. */
  private nextIndex: LogIndex;
  state = ProgressState.Probe;
  /** Probe: an Append was sent and no answer came yet. */
  probeSent = false;
  /** Snapshot: index of the snapshot being sent. */
  pendingSnapshot: LogIndex = logIndex(0);
  /** Snapshot: leader ticks since it was sent (a lost snapshot is re-sent after a timeout). */
  snapshotTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /**
   * The highest commit index the peer reported (every Append answer carries its own). A
   * leader goes quiet only once every peer knows its commit: a learner never campaigns, so
   * one that missed the last commit would wait for the next write to learn it.
   */
  reportedCommit: LogIndex = logIndex(0);
  readonly inflights: Inflights;

  constructor(
    next: LogIndex,
    maxInflight: number,
    readonly isLearner: boolean,
  ) {
    this.nextIndex = next;
    this.inflights = new Inflights(maxInflight);
    this.checkIndexes();
  }

  get match(): LogIndex {
    return this.matchIndex;
  }

  get next(): LogIndex {
    return this.nextIndex;
  }

  /** Checked after every change of `match` or `next`. */
  private checkIndexes(): void {
    assert(this.match < this.next, `progress match ${this.match} not below next ${this.next}`);
  }

  /** Sets both indexes (a new leader's starting point, or a member's progress carried over). */
  resetIndexes(match: LogIndex, next: LogIndex): void {
    this.matchIndex = match;
    this.nextIndex = next;
    this.reportedCommit = logIndex(0);
    this.checkIndexes();
  }

  /** The peer answered an Append, reporting its commit index `commit`. */
  noteReportedCommit(commit: LogIndex): void {
    if (commit > this.reportedCommit) this.reportedCommit = commit;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = logIndex(0);
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.nextIndex = logIndex(Math.max(this.match + 1, pending + 1));
    } else {
      this.resetState(ProgressState.Probe);
      this.nextIndex = logIndex(this.match + 1);
    }
    this.checkIndexes();
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.nextIndex = logIndex(this.match + 1);
    this.checkIndexes();
  }

  becomeSnapshot(index: LogIndex): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = index;
  }

  /** Records an Append of entries ending at `last` (or an empty probe). */
  sentEntries(count: number, last: LogIndex): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.nextIndex = logIndex(last + 1);
        this.inflights.add(last);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
    this.checkIndexes();
  }

  /**
   * The follower lost entries it had acknowledged (its log ends before `match`: a replica
   * deleted and started empty under the same id). Start over from what it has: probe `next`,
   * match nothing, so neither commit nor the next probe relies on what is gone.
   */
  restartAfterLoss(next: LogIndex): void {
    this.resetState(ProgressState.Probe);
    this.matchIndex = logIndex(0);
    this.reportedCommit = logIndex(0);
    this.nextIndex = next;
    this.checkIndexes();
  }

  /** The follower acknowledged `index`; false when the answer is stale. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (this.match < index) {
      this.matchIndex = index;
      updated = true;
      this.probeSent = false;
    }
    this.nextIndex = logIndex(Math.max(this.next, index + 1));
    this.checkIndexes();
    return updated;
  }

  /**
   * The follower rejected the Append after `rejected`, suggesting `hint`. Returns false when
   * the rejection is stale (an answer to an older Append).
   */
  maybeDecrTo(rejected: LogIndex, hint: LogIndex): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.nextIndex = logIndex(this.match + 1);
      this.checkIndexes();
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.nextIndex = logIndex(Math.max(Math.min(rejected, hint + 1), this.match + 1, 1));
    this.probeSent = false;
    this.checkIndexes();
    return true;
  }

  /** No Append may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}

/** The membership in force and each member's progress, plus vote tallies. */
export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();
  /** Simulator self-check only (`TestOnlyDefect` 'readded-keeps-progress'). */
  testOnlyKeepReaddedProgress = false;

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    const sorted = (ids: Set<NodeId>) => [...ids].sort((a, b) => a - b);
    return { voters: sorted(this.voters), learners: sorted(this.learners) };
  }

  /**
   * Switches to `state`, keeping the progress of members that stay and of the nodes in `keep`
   * (a leader's departing nodes: removed, still sent the log, never counted). A node that
   * becomes a member again gets fresh progress: what a departing node acknowledged was its
   * old replica's, which may have been deleted since — a stale match would count toward commit
   * entries the new replica does not hold, and would stop the leader from probing below it.
   */
  applyConfState(state: ConfState, lastIndex: LogIndex, keep: ReadonlySet<NodeId> = new Set()): void {
    const wasMember = new Set([...this.voters, ...this.learners]);
    this.voters = new Set(state.voters);
    this.learners = new Set(state.learners);
    const members = new Set([...state.voters, ...state.learners]);
    for (const id of [...this.progress.keys()])
      if (!members.has(id) && !keep.has(id)) this.progress.delete(id);
    for (const id of keep) {
      if (members.has(id) || this.progress.has(id)) continue;
      const progress = new Progress(logIndex(lastIndex + 1), this.maxInflight, false);
      progress.recentActive = true;
      this.progress.set(id, progress);
    }
    for (const id of members) {
      const learner = this.learners.has(id);
      const keepsProgress = wasMember.has(id) || this.testOnlyKeepReaddedProgress;
      const existing = keepsProgress ? this.progress.get(id) : undefined;
      if (existing && existing.isLearner === learner) continue;
      const progress = new Progress(logIndex(lastIndex + 1), this.maxInflight, learner);
      if (existing) {
        progress.resetIndexes(existing.match, existing.next);
        progress.state = existing.state;
        progress.recentActive = existing.recentActive;
      } else {
        // A new member counts as active so CheckQuorum does not depose a leader right away.
        progress.recentActive = true;
      }
      this.progress.set(id, progress);
    }
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** The largest index stored on a quorum of voters (§5.3). */
  committedIndex(): LogIndex {
    if (this.voters.size === 0) return logIndex(0);
    const matches = [...this.voters].map((id) => this.progress.get(id)?.match ?? 0).sort((a, b) => b - a);
    return logIndex(matches[this.quorum() - 1]!);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** 'won' with a quorum of grants, 'lost' once a quorum is impossible, else 'pending'. */
  tallyVotes(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const vote = this.votes.get(id);
      if (vote === true) granted++;
      if (vote === false) rejected++;
    }
    if (granted >= this.quorum()) return 'won';
    if (rejected > this.voters.size - this.quorum()) return 'lost';
    return 'pending';
  }

  /** A quorum of voters was heard from recently (the leader counts itself). */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) if (id === self || this.progress.get(id)?.recentActive) active++;
    return active >= this.quorum();
  }
}
