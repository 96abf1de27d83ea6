import { assert } from '../lib/assert.js';
import type { LogIndex, Term } from '../lib/ids.js';
import { logIndex } from '../lib/ids.js';
import {
  type ConfState,
  EMPTY_SNAPSHOT,
  type Entry,
  entryBytes,
  type HardState,
  NO_NODE,
  NO_TERM,
  type Snapshot,
} from './types.js';

/**
 * The stable (persisted) part of a node's log, read by the core. The core never writes through
 * this interface: the host persists what `Ready` hands it and then calls `advance()`.
 *
 * Index ranges: entries live in [firstIndex, lastIndex]; `firstIndex - 1` is the index of the
 * latest snapshot, whose term `term()` still answers (the log-matching check for the first
 * entry needs it). A `PartitionLog` adapter backs this for partitions; `MemoryRaftStorage`
 * backs it in tests and the simulator.
 */
export interface RaftStorage {
  /** HardState and membership saved before the last shutdown. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), stopping once `maxBytes` is passed (always at least one). Requires
   * firstIndex <= lo < hi <= lastIndex + 1. */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[];
  /** Term of entry `index` for index in [firstIndex - 1, lastIndex], else undefined. */
  term(index: LogIndex): Term | undefined;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  /**
   * The most recent snapshot (index 0 when none was taken), with its whole metadata as the
   * core handed it over (`Ready.snapshot`, or `confStateAt` for one the host takes): also
   * `confState.addedAt`, without which a replica added back empty could, after a restart,
   * campaign on its deleted predecessor's seat (docs/raft.md, Membership, rule 6).
   */
  snapshot(): Snapshot;
}

/** Takes entries from `entries` until `maxBytes` is passed; always keeps the first. */
export function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    total += entryBytes(entries[i]!);
    if (i > 0 && total > maxBytes) return entries.slice(0, i);
  }
  return entries;
}

/**
 * How a group starts: every founding member stores the same snapshot at index 1, term 1 whose
 * metadata is the initial membership (and HardState term 1, commit 1). The membership is thus
 * never only implied: a node added later cannot find entry 1 in anyone's log, so the leader
 * sends it this snapshot (or a newer one) first, and it learns the full membership from it.
 */
export function bootstrapSnapshot(confState: ConfState, data: Uint8Array = new Uint8Array(0)): Snapshot {
  return { metadata: { index: logIndex(1), term: 1 as Term, confState }, data };
}

/**
 * In-memory `RaftStorage` with the write operations a host performs. Everything written here
 * counts as durable: the simulator keeps this object across a crash and throws away the
 * `RawNode` (whose unstable entries are therefore lost).
 */
export class MemoryRaftStorage implements RaftStorage {
  private hardState: HardState = { term: NO_TERM, vote: NO_NODE, commit: logIndex(0) };
  private snap: Snapshot;
  /** entries[i] has index snap.metadata.index + 1 + i. */
  private log: Entry[] = [];

  /**
   * A fresh storage. With voters in `confState` it is a founding member: the initial membership
   * is a snapshot at index 1, term 1 (see `bootstrapSnapshot`). Without, it is an empty node
   * waiting to be added; the leader sends it a snapshot, which carries the membership.
   */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    if (confState.voters.length === 0) {
      this.snap = EMPTY_SNAPSHOT;
      return;
    }
    this.snap = bootstrapSnapshot(confState);
    this.hardState = { term: this.snap.metadata.term, vote: NO_NODE, commit: this.snap.metadata.index };
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  firstIndex(): LogIndex {
    return logIndex(this.snap.metadata.index + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.snap.metadata.index + this.log.length);
  }

  term(index: LogIndex): Term | undefined {
    const offset = this.snap.metadata.index;
    if (index === offset) return this.snap.metadata.term;
    if (index < offset || index > this.lastIndex()) return undefined;
    return this.log[index - offset - 1]!.term;
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    assert(
      lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo < hi,
      `entries [${lo}, ${hi}) out of range`,
    );
    const offset = this.snap.metadata.index + 1;
    return limitBytes(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  setHardState(state: HardState): void {
    this.hardState = state;
  }

  /** Appends entries, replacing any stored entries at or after the first new index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.snap.metadata.index, `append at ${first} overwrites the snapshot`);
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.log.length = first - this.snap.metadata.index - 1;
    for (const entry of entries) this.log.push(entry);
  }

  /** Replaces the whole log with `snapshot` (a follower installing the leader's image). */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.snap.metadata.index) return;
    this.snap = snapshot;
    this.log = [];
  }

  /**
   * Records a snapshot the application took at `index` (<= applied) and drops entries up to
   * it. Later entries stay, so lagging followers can still be served from the log.
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Snapshot {
    assert(index <= this.lastIndex(), `snapshot at ${index} beyond last index ${this.lastIndex()}`);
    if (index <= this.snap.metadata.index) return this.snap;
    const entryTerm = this.term(index)!;
    this.log = this.log.slice(index - this.snap.metadata.index);
    this.snap = { metadata: { index, term: entryTerm, confState }, data };
    return this.snap;
  }
}
