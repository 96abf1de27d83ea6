import { assert } from '../lib/assert.js';
import type { LogIndex, Term } from '../lib/ids.js';
import { logIndex } from '../lib/ids.js';
import { limitBytes, type RaftStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

/**
 * Entries and a snapshot not yet handed to the host for persisting, or handed but not yet
 * acknowledged by `advance()`. They are lost in a crash.
 *
 * Invariant: entries[i].index === offset + i; when a snapshot is pending, offset === its index + 1.
 * Asserted after every change: appended entries must be contiguous, so checking the ends
 * checks every position.
 */
export class UnstableLog {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: LogIndex;

  constructor(offset: LogIndex) {
    this.offset = offset;
  }

  private checkOrder(): void {
    const count = this.entries.length;
    if (count > 0) {
      assert(
        this.entries[0]!.index === this.offset && this.entries[count - 1]!.index === this.offset + count - 1,
        `unstable entries [${this.entries[0]!.index}..${this.entries[count - 1]!.index}] do not start at offset ${this.offset}`,
      );
    }
    if (this.snapshot) {
      assert(
        this.offset === this.snapshot.metadata.index + 1,
        `unstable offset ${this.offset} does not follow the pending snapshot at ${this.snapshot.metadata.index}`,
      );
    }
  }

  maybeFirstIndex(): LogIndex | undefined {
    return this.snapshot ? logIndex(this.snapshot.metadata.index + 1) : undefined;
  }

  maybeLastIndex(): LogIndex | undefined {
    if (this.entries.length > 0) return logIndex(this.offset + this.entries.length - 1);
    return this.snapshot?.metadata.index;
  }

  maybeTerm(index: LogIndex): Term | undefined {
    if (index < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === index) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** The host persisted entries up to `index`; drop them unless they were replaced since. */
  stableTo(index: LogIndex, entryTerm: Term): void {
    const current = this.maybeTerm(index);
    if (current === undefined || index < this.offset) return;
    if (current !== entryTerm) return; // replaced by a newer leader's entries: still unstable
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = logIndex(index + 1);
    this.checkOrder();
  }

  stableSnapshotTo(index: LogIndex): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = logIndex(snapshot.metadata.index + 1);
    this.entries = [];
    this.snapshot = snapshot;
    this.checkOrder();
  }

  /** Appends `entries`, first dropping every unstable entry at or after their first index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    for (let i = 1; i < entries.length; i++) {
      assert(entries[i]!.index === first + i, `appended entries not contiguous at ${entries[i]!.index}`);
    }
    assert(
      first <= this.offset + this.entries.length,
      `append at ${first} leaves a gap after ${this.offset + this.entries.length - 1}`,
    );
    if (first === this.offset + this.entries.length) {
      this.entries.push(...entries);
    } else if (first <= this.offset) {
      // Replaces everything unstable; the stable entries from `first` on are superseded too
      // (the host's append truncates them when it persists these).
      this.offset = first;
      this.entries = [...entries];
    } else {
      this.entries = this.entries.slice(0, first - this.offset).concat(entries);
    }
    this.checkOrder();
  }

  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length, `unstable slice [${lo}, ${hi})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/** What `nextCommittedEntries` does with a damaged entry that is next to apply. */
export type DamagedEntryPolicy = 'hold' | 'bounded' | 'pass';

/**
 * How many reads of a damaged entry a 'bounded' hold lasts: the host reads it again every second
 * or so (MultiRaftNode), which gives a repair from a learner's copy that long.
 */
export const DAMAGED_HOLDS_MAX = 30;

/**
 * A node's view of its log: stable entries in `storage`, then `unstable`.
 *
 * Durability stages and their order (asserted in commitTo/appliedTo):
 *   applied <= committed <= lastIndex
 * `committed` may exceed what is persisted on this node (a leader counts its own unstable
 * entries), but the host persists a Ready's entries before applying its committed entries.
 */
export class RaftLog {
  readonly storage: RaftStorage;
  readonly unstable: UnstableLog;
  /** Highest index known to be stored on a quorum. */
  committed: LogIndex;
  /** Highest index the application has applied. */
  applied: LogIndex;
  /** Called with every batch of entries appended (after any truncation they caused). */
  onAppend: ((entries: readonly Entry[]) => void) | undefined;
  /**
   * The committed entry `applied + 1`, held back because storage found it damaged: nothing is
   * applied until `releaseDamaged()` lets it be read again (once repaired from a peer).
   */
  heldDamaged: LogIndex | undefined = undefined;
  /** How many times in a row the entry at `damagedIndex` was found damaged and held. */
  private damagedHolds = 0;
  private damagedIndex: LogIndex | undefined = undefined;

  constructor(storage: RaftStorage, applied?: LogIndex) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(logIndex(last + 1));
    this.committed = logIndex(first - 1);
    this.applied = logIndex(first - 1);
    if (applied !== undefined && applied > this.applied) this.applied = applied;
  }

  firstIndex(): LogIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): Term {
    return this.term(this.lastIndex())!;
  }

  /** Term of `index`, or undefined when it is compacted away or beyond the log. */
  term(index: LogIndex): Term | undefined {
    const dummy = this.firstIndex() - 1;
    if (index < dummy || index > this.lastIndex()) return undefined;
    return this.unstable.maybeTerm(index) ?? this.storage.term(index);
  }

  matchTerm(index: LogIndex, entryTerm: Term): boolean {
    return this.term(index) === entryTerm;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries (§5.3): when our entry at `prevIndex` has `prevTerm`,
   * append the entries that are new or conflicting, advance commit to min(leaderCommit, last
   * new index), and return the last new index; otherwise undefined.
   */
  maybeAppend(
    prevIndex: LogIndex,
    prevTerm: Term,
    leaderCommit: LogIndex,
    entries: Entry[],
  ): LogIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = logIndex(prevIndex + entries.length);
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        `entry ${conflict} conflicts with committed entry (commit ${this.committed})`,
      );
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(logIndex(Math.min(leaderCommit, lastNew)));
    return lastNew;
  }

  /** Index of the first entry whose term differs from ours or that we lack; 0 when none. */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return logIndex(0);
  }

  /**
   * The largest index <= `index` whose term is <= `entryTerm`, with that term: the leader
   * can skip every entry of a term the follower does not have in one round trip.
   */
  findConflictByTerm(index: LogIndex, entryTerm: Term): { index: LogIndex; term: Term } {
    let probe = index;
    for (;;) {
      const t = this.term(probe);
      if (t === undefined) return { index: probe, term: 0 as Term };
      if (t <= entryTerm) return { index: probe, term: t };
      probe = logIndex(probe - 1);
    }
  }

  append(entries: readonly Entry[]): LogIndex {
    if (entries.length === 0) return this.lastIndex();
    assert(
      entries[0]!.index > this.committed,
      `append at ${entries[0]!.index} below commit ${this.committed}`,
    );
    this.unstable.truncateAndAppend(entries);
    this.onAppend?.(entries);
    return this.lastIndex();
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** Entries [lo, hi) from storage and unstable, bounded by `maxBytes` (at least one). */
  slice(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, `slice [${lo}, ${hi}) out of range`);
    if (lo >= hi) return [];
    let result: Entry[] = [];
    const split = this.unstable.offset;
    if (lo < split) {
      result = this.storage.entries(lo, logIndex(Math.min(hi, split)), maxBytes);
      if (result.length < Math.min(hi, split) - lo) return result; // byte limit reached
    }
    if (hi > split) result = result.concat(this.unstable.slice(logIndex(Math.max(lo, split)), hi));
    return limitBytes(result, maxBytes);
  }

  /** Entries from `lo` to the end, bounded by `maxBytes`. */
  entriesFrom(lo: LogIndex, maxBytes: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, logIndex(this.lastIndex() + 1), maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > this.applied && !this.unstable.snapshot && this.heldDamaged === undefined;
  }

  /**
   * Committed entries not yet applied (never while a snapshot awaits installation). They end
   * before the first entry storage found damaged. When that entry is the next to apply,
   * `holdDamaged` says what happens:
   * - 'hold' (another voter has a healthy copy): nothing is returned and applying stops there
   *   until `releaseDamaged()`: a replica applies the bytes its peers applied, never rotted ones;
   * - 'bounded' (only learners may have a copy): the same, for DAMAGED_HOLDS_MAX reads of it,
   *   then as 'pass' (a learner may lack it: committed entries are on a quorum of voters only);
   * - 'pass' (no other member): the damaged entry is returned alone, marked, for the state
   *   machine to pass over.
   */
  nextCommittedEntries(maxBytes: number, holdDamaged: DamagedEntryPolicy = 'hold'): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = logIndex(Math.max(this.applied + 1, this.firstIndex()));
    const entries = this.slice(lo, logIndex(this.committed + 1), maxBytes);
    const damagedAt = entries.findIndex((entry) => entry.damaged === true);
    if (damagedAt < 0) return entries;
    if (damagedAt > 0) return entries.slice(0, damagedAt);
    if (this.damagedIndex !== lo) {
      this.damagedIndex = lo;
      this.damagedHolds = 0;
    }
    if (holdDamaged === 'pass' || (holdDamaged === 'bounded' && this.damagedHolds >= DAMAGED_HOLDS_MAX))
      return entries.slice(0, 1);
    this.damagedHolds++;
    this.heldDamaged = lo;
    return [];
  }

  /** Lets the held damaged entry be read again (after a repair, or to retry one). */
  releaseDamaged(): void {
    this.heldDamaged = undefined;
  }

  /** The snapshot to hand to the host, else the storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(index: LogIndex): void {
    if (index <= this.committed) return; // commit never moves back
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Leader: commit `index` if it holds an entry of the current term (§5.4.2, figure 8). */
  maybeCommit(index: LogIndex, currentTerm: Term): boolean {
    if (index > this.committed && this.term(index) === currentTerm) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: LogIndex): void {
    if (index === 0) return;
    assert(
      index <= this.committed && index >= this.applied,
      `applied ${index} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  stableTo(index: LogIndex, entryTerm: Term): void {
    this.unstable.stableTo(index, entryTerm);
  }

  stableSnapshotTo(index: LogIndex): void {
    this.unstable.stableSnapshotTo(index);
  }

  /** Replace the whole log with `snapshot` (a follower far behind the leader). */
  restore(snapshot: Snapshot): void {
    this.heldDamaged = undefined;
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
