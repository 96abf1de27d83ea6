import { assert } from '../lib/assert.js';
import type { LogIndex, NodeId } from '../lib/ids.js';
import { logIndex } from '../lib/ids.js';
import { applyConfChange, decodeConfChange } from './conf-change.js';
import { mayBeControlBatch } from './entry.js';
import { DamagedEntryError } from './errors.js';
import type { RaftStorage } from './storage.js';
import { type AddedAt, type ConfState, type Entry, EntryType } from './types.js';

/** The membership a ConfChange entry at `index` produces. */
export interface MembershipChange {
  readonly index: LogIndex;
  readonly state: ConfState;
}

/**
 * A node's membership history. Membership takes effect when its entry is appended, committed
 * or not (thesis §4.1, docs/raft.md "Membership"): the configuration in force is the one the
 * latest ConfChange entry in the log produces, else the snapshot's. A change whose entry is
 * truncated away is forgotten again.
 *
 * Invariant: `changes` is in log order, every index above `base.index`.
 */
export class MembershipHistory {
  /** The membership as of the snapshot the log starts after. */
  private base: MembershipChange;
  /** Each ConfChange entry after the snapshot, with the membership it produces. */
  private changes: MembershipChange[] = [];

  constructor(snapshotIndex: LogIndex, snapshotState: ConfState) {
    this.base = { index: snapshotIndex, state: snapshotState };
  }

  /**
   * Restart: the snapshot's membership plus every ConfChange entry of the stored log (one scan).
   * A damaged entry that may have been a membership change stops the scan when another voter
   * can give a healthy copy (DamagedEntryError); node `self`, the sole voter, passes over it.
   */
  static fromStorage(storage: RaftStorage, snapshotState: ConfState, self: NodeId): MembershipHistory {
    const history = new MembershipHistory(storage.snapshot().metadata.index, snapshotState);
    let index = storage.firstIndex();
    const last = storage.lastIndex();
    while (index <= last) {
      const batch = storage.entries(index, logIndex(last + 1), 8 * 1024 * 1024);
      // A damaged entry that may have been a membership change: no guess at the membership.
      const damaged = batch.find(
        (entry) => entry.damaged === true && entry.type === EntryType.Normal && mayBeControlBatch(entry.data),
      );
      if (damaged !== undefined && history.current().voters.some((voter) => voter !== self))
        throw new DamagedEntryError(
          `stored entry ${damaged.index} (term ${damaged.term}) may be a membership change and is damaged on disk; the group opens once it is repaired from a peer`,
        );
      history.track(batch);
      index = logIndex(index + batch.length);
    }
    return history;
  }

  /** The membership in force: the latest in the log. */
  current(): ConfState {
    return this.latestChange()?.state ?? this.base.state;
  }

  /** The newest ConfChange entry after the snapshot, if any. */
  latestChange(): MembershipChange | undefined {
    return this.changes[this.changes.length - 1];
  }

  /** The membership before the latest change (the snapshot's when there is at most one change). */
  previous(): ConfState {
    return this.changes[this.changes.length - 2]?.state ?? this.base.state;
  }

  /** Index of the entry the membership in force comes from (the snapshot's index when none). */
  currentIndex(): LogIndex {
    return this.latestChange()?.index ?? this.base.index;
  }

  /**
   * The membership as of entry `index` (what a snapshot taken at `index` must record). Before
   * the change that added this node (`addedAt`), it carries `addedAt` on: a snapshot this node
   * takes there must keep the node joining after a restart.
   */
  at(index: LogIndex): ConfState {
    assert(index >= this.base.index, `membership at ${index} precedes the snapshot at ${this.base.index}`);
    let state = this.base.state;
    for (const change of this.changes) {
      if (change.index > index) break;
      state = change.state;
    }
    const addedAt = this.addedAt();
    const { voters, learners } = state;
    return addedAt !== undefined && index < addedAt.index
      ? { voters, learners, addedAt }
      : { voters, learners };
  }

  /** The change that added this node after its snapshot, as the leader named it (see `AddedAt`). */
  addedAt(): AddedAt | undefined {
    return this.base.state.addedAt;
  }

  /**
   * Leader: index of the latest change after `index` that made `node` a member (voter or
   * learner) when it was none, or undefined when `node` has been a member since `index` or
   * earlier. A node sent a snapshot at `index` must hold that change before it may count its own
   * seat (see `AddedAt`).
   */
  addedAfter(node: NodeId, index: LogIndex): LogIndex | undefined {
    const isMember = (state: ConfState) => state.voters.includes(node) || state.learners.includes(node);
    let added: LogIndex | undefined;
    let before = this.base.state;
    for (const change of this.changes) {
      if (change.index > index && !isMember(before) && isMember(change.state)) added = change.index;
      before = change.state;
    }
    return added;
  }

  /**
   * Entries were appended from `entries[0].index` on, replacing what was there: forget the
   * changes they overwrote and record the ones they hold. True when the membership in force
   * may have changed.
   */
  track(entries: readonly Entry[]): boolean {
    if (entries.length === 0) return false;
    const first = entries[0]!.index;
    assert(first > this.base.index, `entries at ${first} overwrite the snapshot at ${this.base.index}`);
    const before = this.changes.length;
    while (this.changes.length > 0 && this.changes[this.changes.length - 1]!.index >= first)
      this.changes.pop();
    let changed = this.changes.length !== before;
    for (const entry of entries) {
      if (entry.type !== EntryType.ConfChange) continue;
      const state = applyConfChange(this.current(), decodeConfChange(entry.data));
      assert(entry.index > this.currentIndex(), `ConfChange at ${entry.index} out of log order`);
      this.changes.push({ index: entry.index, state });
      changed = true;
    }
    return changed;
  }

  /** The log was replaced by a snapshot at `index` whose membership is `state`. */
  restore(index: LogIndex, state: ConfState): void {
    this.base = { index, state };
    this.changes = [];
  }
}
