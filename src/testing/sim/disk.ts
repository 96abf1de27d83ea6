/**
 * A simulated node's disk: two files, the Raft log and the state file (HardState), each with a
 * page cache in front of the platter.
 *
 * A write lands in the page cache at once (reads see it, and it survives the process being
 * killed: kill -9 leaves the page cache to the kernel); `syncLog()` / `syncState()` are the
 * fsyncs that put a file's writes on the platter. A power loss keeps the platter only, and of
 * each file's unsynced writes keeps whatever the kernel happened to write back — chosen at
 * random (each write was written back with a seed's `writebackRate`), for each file on its own:
 * - the log keeps a prefix of its unsynced writes, the last of them possibly torn (an append cut
 *   after any of its entries, or after its truncation and before any entry). A lost truncation
 *   brings the old tail back. A prefix is what the log's recovery scan leaves (it cuts the tail
 *   at the first batch that does not check out), and is what the Ready contract asks of storage.
 * - the state file holds its last synced value or any one of the values written after it — not
 *   necessarily the latest (the kernel may have written an intermediate version back).
 * So a later write to one file can survive while an earlier write to the other is lost: only a
 * host that syncs the log before it writes a HardState covering it is safe, which is the point.
 */
import { assert } from '../../lib/assert.js';
import type { LogIndex, Term } from '../../lib/ids.js';
import { logIndex } from '../../lib/ids.js';
import type { Prng } from '../../lib/prng.js';
import { bootstrapSnapshot, limitBytes, type RaftStorage } from '../../raft/storage.js';
import {
  type ConfState,
  EMPTY_SNAPSHOT,
  type Entry,
  type HardState,
  NO_NODE,
  NO_TERM,
  type Snapshot,
} from '../../raft/types.js';

/** A log's contents: the snapshot it starts after, then entries (entries[i] has index snapshot.index + 1 + i). */
interface LogImage {
  snapshot: Snapshot;
  entries: Entry[];
}

/** One write to the log file, kept until the next sync so a power loss can drop it. */
type LogWrite =
  | { kind: 'append'; entries: readonly Entry[] }
  | { kind: 'install'; snapshot: Snapshot }
  | { kind: 'compact'; snapshot: Snapshot };

/** What a power loss took away, for the statistics and the verbose trace. */
export interface PowerLossReport {
  /** Unsynced log writes dropped (a torn write counts once). */
  logWritesLost: number;
  /** The state file went back to an older value than the latest written. */
  stateReverted: boolean;
}

function appendTo(image: LogImage, entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  const snapshotIndex = image.snapshot.metadata.index;
  const first = entries[0]!.index;
  assert(first > snapshotIndex, `append at ${first} overwrites the snapshot at ${snapshotIndex}`);
  assert(
    first <= snapshotIndex + image.entries.length + 1,
    `append at ${first} leaves a gap after ${snapshotIndex + image.entries.length}`,
  );
  image.entries.length = first - snapshotIndex - 1;
  for (const entry of entries) image.entries.push(entry);
}

function applyWrite(image: LogImage, write: LogWrite): void {
  switch (write.kind) {
    case 'append':
      appendTo(image, write.entries);
      return;
    case 'install':
      // A follower installing the leader's image replaces its whole log.
      if (write.snapshot.metadata.index <= image.snapshot.metadata.index) return;
      image.snapshot = write.snapshot;
      image.entries = [];
      return;
    case 'compact': {
      // The host's own snapshot: entries up to it go, later ones stay.
      const drop = write.snapshot.metadata.index - image.snapshot.metadata.index;
      if (drop <= 0) return;
      image.entries = image.entries.slice(drop);
      image.snapshot = write.snapshot;
      return;
    }
  }
}

export class SimDisk implements RaftStorage {
  /** The page cache: what reads see. */
  private cached: LogImage;
  /**
   * The platter: `entries` may be the same array as `cached.entries` (appends that keep the
   * synced prefix need no copy), so only its first `syncedLength` entries count.
   */
  private synced: LogImage;
  private syncedLength: number;
  private unsyncedLog: LogWrite[] = [];
  private cachedState: HardState;
  private syncedState: HardState;
  private unsyncedStates: HardState[] = [];

  /** A founding member's disk (bootstrap snapshot) when `confState` has voters, else an empty one. */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    const founding = confState.voters.length > 0;
    const snapshot = founding ? bootstrapSnapshot(confState) : EMPTY_SNAPSHOT;
    this.cached = { snapshot, entries: [] };
    this.synced = this.cached;
    this.syncedLength = 0;
    this.cachedState = founding
      ? { term: snapshot.metadata.term, vote: NO_NODE, commit: snapshot.metadata.index }
      : { term: NO_TERM, vote: NO_NODE, commit: logIndex(0) };
    this.syncedState = this.cachedState;
  }

  // ---- RaftStorage (reads see the page cache) ----------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.cachedState, confState: this.cached.snapshot.metadata.confState };
  }

  firstIndex(): LogIndex {
    return logIndex(this.cached.snapshot.metadata.index + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.cached.snapshot.metadata.index + this.cached.entries.length);
  }

  term(index: LogIndex): Term | undefined {
    const offset = this.cached.snapshot.metadata.index;
    if (index === offset) return this.cached.snapshot.metadata.term;
    if (index < offset || index > this.lastIndex()) return undefined;
    return this.cached.entries[index - offset - 1]!.term;
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    assert(
      lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo < hi,
      `entries [${lo}, ${hi}) out of range`,
    );
    const offset = this.cached.snapshot.metadata.index + 1;
    return limitBytes(this.cached.entries.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.cached.snapshot;
  }

  /** The state file as the page cache holds it. */
  hardState(): HardState {
    return this.cachedState;
  }

  // ---- writes (page cache) -----------------------------------------------------------------

  /** Appends entries, replacing stored entries from the first new index on. Unsynced. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const keep = entries[0]!.index - this.cached.snapshot.metadata.index - 1;
    // The platter shares the array: copy its synced prefix before truncating into it.
    if (this.synced.entries === this.cached.entries && keep < this.syncedLength) this.detachSynced();
    this.write({ kind: 'append', entries });
  }

  /** Replaces the log with the leader's snapshot. Unsynced. */
  installSnapshot(snapshot: Snapshot): void {
    this.write({ kind: 'install', snapshot });
  }

  /** Records a snapshot the host took at `index` (<= applied) and drops the entries it covers. Unsynced. */
  compact(index: LogIndex, confState: ConfState, data: Uint8Array): void {
    assert(index <= this.lastIndex(), `snapshot at ${index} beyond last index ${this.lastIndex()}`);
    if (index <= this.cached.snapshot.metadata.index) return;
    const snapshot: Snapshot = { metadata: { index, term: this.term(index)!, confState }, data };
    this.write({ kind: 'compact', snapshot });
  }

  /** Overwrites the state file. Unsynced. */
  setHardState(state: HardState): void {
    this.cachedState = state;
    this.unsyncedStates.push(state);
  }

  private write(write: LogWrite): void {
    // Compaction and installs build a new array; appends mutate the cached one in place.
    applyWrite(this.cached, write);
    this.unsyncedLog.push(write);
  }

  private detachSynced(): void {
    this.synced = {
      snapshot: this.synced.snapshot,
      entries: this.synced.entries.slice(0, this.syncedLength),
    };
  }

  // ---- durability --------------------------------------------------------------------------

  get logDirty(): boolean {
    return this.unsyncedLog.length > 0;
  }

  get stateDirty(): boolean {
    return this.unsyncedStates.length > 0;
  }

  /** fsync of the log file. */
  syncLog(): void {
    this.synced = { snapshot: this.cached.snapshot, entries: this.cached.entries };
    this.syncedLength = this.cached.entries.length;
    this.unsyncedLog = [];
  }

  /** fsync of the state file. */
  syncState(): void {
    this.syncedState = this.cachedState;
    this.unsyncedStates = [];
  }

  /**
   * The machine loses power: each file keeps its platter plus what the kernel had written back
   * of its unsynced writes (see the file comment); each unsynced write had been written back
   * with probability `writebackRate`. The page cache is gone.
   */
  powerLoss(prng: Prng, writebackRate: number): PowerLossReport {
    const writes = this.unsyncedLog;
    const image: LogImage = {
      snapshot: this.synced.snapshot,
      entries: this.synced.entries.slice(0, this.syncedLength),
    };
    // The log keeps the writes up to the first one not written back, that one possibly torn.
    let kept = 0;
    while (kept < writes.length && prng.chance(writebackRate)) kept++;
    for (let i = 0; i < kept; i++) applyWrite(image, writes[i]!);
    const torn = writes[kept];
    if (torn?.kind === 'append' && prng.chance(0.5)) {
      // Torn: the truncation and the first few entries made it, the rest did not.
      const entries = torn.entries.slice(0, prng.int(0, torn.entries.length - 1));
      const keep = torn.entries[0]!.index - image.snapshot.metadata.index - 1;
      assert(
        keep >= 0 && keep <= image.entries.length,
        `torn append at ${torn.entries[0]!.index} out of range`,
      );
      image.entries.length = keep;
      for (const entry of entries) image.entries.push(entry);
    }
    // The state file holds one of the versions written back (not necessarily the latest), else
    // the synced one.
    const written = this.unsyncedStates.filter(() => prng.chance(writebackRate));
    const state = written.length > 0 ? prng.pick(written) : this.syncedState;
    const report = { logWritesLost: writes.length - kept, stateReverted: state !== this.cachedState };
    this.cached = image;
    this.synced = { snapshot: image.snapshot, entries: image.entries };
    this.syncedLength = image.entries.length;
    this.unsyncedLog = [];
    this.cachedState = state;
    this.syncedState = state;
    this.unsyncedStates = [];
    return report;
  }

  /** The log's terms from `first` on, for the log-matching check. */
  logTerms(): { first: number; terms: Term[] } {
    return { first: this.firstIndex(), terms: this.cached.entries.map((e) => e.term) };
  }
}
