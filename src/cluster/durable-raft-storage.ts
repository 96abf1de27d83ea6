/**
 * The Raft core's `RaftStorage` for one group on a broker: entries live in the group's
 * `PartitionLog` (one entry = one RecordBatch, see src/raft/entry.ts); term, vote, commit and the
 * snapshot metadata live in a small state file in the group's directory.
 *
 * Durability (DESIGN decision 5): `append` only reaches the page cache; the host awaits
 * `sync()` (log fsync) and then `saveHardState()` (state file) before it sends any message
 * produced by the same Ready — in that order, because a saved commit index must never cover an
 * entry the log could still lose (a power loss would bring back a stale tail under it). The
 * state file is replaced atomically (`RaftStateFile`: write a temporary file, fsync it, rename it
 * over the old one, fsync the directory). A crash leaves either the old or the new file, never a
 * mix; a file that fails its CRC refuses to open.
 *
 * State file layout (big-endian): magic "GQRS", version:u8, term:u48, vote:u32, commit:u48,
 * snapshotIndex:u48, snapshotTerm:u48, voterCount:u16, voter:u32*, learnerCount:u16,
 * learner:u32*, addedAtIndex:u48, addedAtTerm:u48, snapshotDataLength:u32, snapshotData,
 * crc32c:u32 over everything before it. `addedAt` (0, 0 when absent) is the membership's
 * `ConfState.addedAt`: the change that added this node after its snapshot, which keeps a
 * replica added back empty from campaigning on its deleted predecessor's seat after a restart
 * (docs/raft.md, Membership, rule 6). Version 1 files have no addedAt fields.
 *
 * Starting a group (docs/raft.md, "Starting a group"): a founding member stores the core's
 * `bootstrapSnapshot(confState)` — snapshot at index 1, term 1, holding the initial membership —
 * and HardState {term 1, commit 1}; its log is reset so that its first real entry is LogIndex 2
 * (at Kafka offset 0: the snapshot's entry takes no offset). A node added later starts empty
 * (no voters): entry 1 is in nobody's log, so the leader sends it a snapshot first and it learns
 * the whole membership from it, never only the later changes.
 *
 * Snapshot data (what a partition's snapshot is): `nextOffset:u64` — the Kafka offset that
 * follows the snapshot's last entry — then opaque application bytes. Empty data means offset 0
 * (the bootstrap snapshot). A follower installing a snapshot its log does not reach restarts
 * the log there with `PartitionLog.reset(index + 1, nextOffset)`.
 */
import { join } from 'node:path';
import { assert } from '../lib/assert.js';
import {
  type KafkaOffset,
  kafkaOffset,
  type LogIndex,
  logIndex,
  type NodeId,
  type Term,
} from '../lib/ids.js';
import { crc32c } from '../protocol/crc32c.js';
import { BatchField, stampBatch } from '../protocol/record-batch-header.js';
import { entryToBatch, verifiedBatchToEntry } from '../raft/entry.js';
import { bootstrapSnapshot, type RaftStorage } from '../raft/storage.js';
import {
  type ConfState,
  EMPTY_SNAPSHOT,
  type Entry,
  EntryType,
  type HardState,
  NO_NODE,
  type Snapshot,
} from '../raft/types.js';
import { reportNoSpace, retryingWhileFull } from '../storage/disk-space.js';
import { isNoSpaceError } from '../storage/errors.js';
import { isDamagedRead, verifyStoredBatch } from '../storage/native-log.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { FsRaftStateFile, RAFT_STATE_FILE, type RaftStateFile } from './raft-state-file.js';

export { RAFT_STATE_FILE, type RaftStateFile };

const STATE_MAGIC = Buffer.from('GQRS', 'latin1');
const STATE_VERSION = 2;
/** Version 1 had no addedAt fields; it is still read. */
const STATE_VERSION_WITHOUT_ADDED_AT = 1;
/**
 * The smallest state file: magic, version, term, vote, commit, snapshot index and term, the two
 * (empty) member counts, the (empty) data length and the CRC — a joining node's before any
 * snapshot reached it, in version 1 (version 2 adds the 12 bytes of addedAt).
 */
const STATE_MIN_BYTES = 4 + 1 + 6 + 4 + 6 + 6 + 6 + 2 + 2 + 4 + 4;

/** The state file is unreadable or a requested operation cannot be done on this log. */
export class RaftStorageError extends Error {
  override name = 'RaftStorageError';
}

export interface DurableRaftStorageOptions {
  /** The group's entries. Owned by the storage from now on (closed by `close()`). */
  log: PartitionLog;
  /** Directory holding the state file (created if missing). Required unless `stateFile` is given. */
  dir?: string;
  /** Where term, vote, commit and snapshot metadata live. Default: `<dir>/raft-state` (node:fs). */
  stateFile?: RaftStateFile;
  /**
   * Membership of a brand-new group (used only when no state file exists). With voters, this
   * node is a founding member and stores the bootstrap snapshot at index 1; with no voters it
   * is a node being added to a running group, and waits for the leader's snapshot.
   */
  initialConfState: ConfState;
  /** When false, skip fsync (unsafe; for users who relax durability). Default true. */
  fsync?: boolean;
  /**
   * With `fsync: false` (`flush_interval`): a sync round that comes at least this long after the
   * log's last real sync syncs it, so that acknowledged writes stay unsynced for at most about
   * this long while writes keep coming. 0 (default): never. Acknowledgements never wait for the
   * interval: at most, once per interval, one round waits for one fsync.
   */
  relaxedSyncIntervalMs?: number;
  /** Monotonic time for `relaxedSyncIntervalMs`. Default performance.now. */
  nowMs?: () => number;
  /** Timestamp written into Raft's own control batches (no-op, membership). Default Date.now. */
  wallMs?: () => number;
}

/** What the state file holds. */
export interface RaftStateImage {
  hardState: HardState;
  snapshot: Snapshot;
}

/** Bytes of the Kafka offset at the start of a partition snapshot's data. */
const SNAPSHOT_OFFSET_BYTES = 8;

/** Snapshot data for a partition: the Kafka offset after the snapshot's last entry, then `extra`. */
export function encodePartitionSnapshotData(
  nextOffset: KafkaOffset,
  extra: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const data = new Uint8Array(SNAPSHOT_OFFSET_BYTES + extra.length);
  new DataView(data.buffer).setBigUint64(0, BigInt(nextOffset));
  data.set(extra, SNAPSHOT_OFFSET_BYTES);
  return data;
}

/** The Kafka offset following a partition snapshot's last entry (0 for empty data). */
export function partitionSnapshotNextOffset(snapshot: Snapshot): KafkaOffset {
  const { data } = snapshot;
  if (data.length === 0) return kafkaOffset(0);
  if (data.length < SNAPSHOT_OFFSET_BYTES)
    throw new RaftStorageError(`snapshot data of ${data.length} bytes holds no offset`);
  return kafkaOffset(Number(new DataView(data.buffer, data.byteOffset, data.length).getBigUint64(0)));
}

function encodeState(image: RaftStateImage): Buffer {
  const { hardState, snapshot } = image;
  const { voters, learners, addedAt } = snapshot.metadata.confState;
  const bytes =
    4 +
    1 +
    6 +
    4 +
    6 +
    6 +
    6 +
    2 +
    4 * voters.length +
    2 +
    4 * learners.length +
    6 +
    6 +
    4 +
    snapshot.data.length +
    4;
  const out = Buffer.allocUnsafe(bytes);
  let at = STATE_MAGIC.copy(out, 0);
  out[at++] = STATE_VERSION;
  at = out.writeUIntBE(hardState.term, at, 6);
  at = out.writeUInt32BE(hardState.vote, at);
  at = out.writeUIntBE(hardState.commit, at, 6);
  at = out.writeUIntBE(snapshot.metadata.index, at, 6);
  at = out.writeUIntBE(snapshot.metadata.term, at, 6);
  at = out.writeUInt16BE(voters.length, at);
  for (const id of voters) at = out.writeUInt32BE(id, at);
  at = out.writeUInt16BE(learners.length, at);
  for (const id of learners) at = out.writeUInt32BE(id, at);
  at = out.writeUIntBE(addedAt?.index ?? 0, at, 6);
  at = out.writeUIntBE(addedAt?.term ?? 0, at, 6);
  at = out.writeUInt32BE(snapshot.data.length, at);
  out.set(snapshot.data, at);
  at += snapshot.data.length;
  at = out.writeUInt32BE(crc32c(out, 0, at), at);
  assert(at === bytes, 'state image size');
  return out;
}

/** Decodes a state file's bytes (`path` names it in errors); throws `RaftStorageError` when invalid. */
export function decodeRaftState(buf: Buffer, path = RAFT_STATE_FILE): RaftStateImage {
  const fail = (why: string): never => {
    throw new RaftStorageError(`${path}: ${why}`);
  };
  if (buf.length < STATE_MIN_BYTES) fail(`file of ${buf.length} bytes is too short`);
  if (!buf.subarray(0, 4).equals(STATE_MAGIC)) fail('wrong magic (not a goqueue raft state file)');
  const stored = buf.readUInt32BE(buf.length - 4);
  if (crc32c(buf, 0, buf.length - 4) !== stored) fail('CRC mismatch (file is corrupt)');
  const version = buf[4];
  if (version !== STATE_VERSION && version !== STATE_VERSION_WITHOUT_ADDED_AT)
    fail(`version ${version} is not supported`);
  let at = 5;
  const need = (bytes: number) => {
    if (at + bytes > buf.length - 4) fail('truncated');
  };
  const u48 = () => {
    need(6);
    const v = buf.readUIntBE(at, 6);
    at += 6;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = buf.readUInt32BE(at);
    at += 4;
    return v;
  };
  const u16 = () => {
    need(2);
    const v = buf.readUInt16BE(at);
    at += 2;
    return v;
  };
  const term = u48() as Term;
  const vote = u32() as NodeId;
  const commit = u48() as LogIndex;
  const snapshotIndex = u48() as LogIndex;
  const snapshotTerm = u48() as Term;
  const voters = Array.from({ length: u16() }, () => u32() as NodeId);
  const learners = Array.from({ length: u16() }, () => u32() as NodeId);
  const addedAtIndex = version === STATE_VERSION ? (u48() as LogIndex) : 0;
  const addedAtTerm = version === STATE_VERSION ? (u48() as Term) : 0;
  const dataBytes = u32();
  need(dataBytes);
  const data = Uint8Array.prototype.slice.call(buf, at, at + dataBytes);
  at += dataBytes;
  if (at !== buf.length - 4) fail('trailing bytes');
  return {
    hardState: { term, vote, commit },
    snapshot: {
      metadata: {
        index: snapshotIndex,
        term: snapshotTerm,
        confState:
          addedAtIndex > 0
            ? { voters, learners, addedAt: { index: addedAtIndex as LogIndex, term: addedAtTerm as Term } }
            : { voters, learners },
      },
      data,
    },
  };
}

/** A write that failed on a full disk is retried this often until it succeeds (or the storage
 * closes): bounded work while full, and writes resume by themselves once space is freed. */
export const NO_SPACE_RETRY_MS = 1000;

/** Calls `write` until it succeeds, waiting `NO_SPACE_RETRY_MS` after each failure on a full
 * disk (reported to the broker's disk-space guard, which refuses produce meanwhile); any other
 * failure, or one while `closing()` or with no guard running (the broker is stopping, or no
 * broker runs this storage), is thrown. */
async function retryWhileFull<T>(write: () => Promise<T>, closing: () => boolean): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (error) {
      if (!isNoSpaceError(error) || closing() || !retryingWhileFull()) throw error;
      reportNoSpace();
      await new Promise((resolve) => setTimeout(resolve, NO_SPACE_RETRY_MS));
    }
  }
}

export class DurableRaftStorage implements RaftStorage {
  private closing = false;
  readonly log: PartitionLog;
  private readonly stateFile: RaftStateFile;
  private readonly fsync: boolean;
  private readonly relaxedSyncIntervalMs: number;
  private readonly nowMs: () => number;
  private lastRelaxedSyncMs: number;
  private readonly wallMs: () => number;
  private image: RaftStateImage;
  /** Log bounds and sizes mirrored in JS: readable while the log's sync() is in flight. */
  private logFirstIndex: LogIndex;
  private logLastIndex: LogIndex;
  private cachedLogStartOffset: KafkaOffset;
  private cachedSizeBytes: number;
  private syncing = 0;
  /** The state file write in progress, and the one waiting for it (see writeState). */
  private runningWrite: Promise<void> | null = null;
  private queuedWrite: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | null =
    null;

  /** Opens (or creates) the storage; reads the state file synchronously. */
  constructor(options: DurableRaftStorageOptions) {
    this.log = options.log;
    this.fsync = options.fsync ?? true;
    this.relaxedSyncIntervalMs = options.relaxedSyncIntervalMs ?? 0;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.lastRelaxedSyncMs = this.nowMs();
    this.wallMs = options.wallMs ?? Date.now;
    if (options.stateFile !== undefined) {
      this.stateFile = options.stateFile;
    } else {
      if (options.dir === undefined) throw new RangeError('DurableRaftStorage needs a dir or a stateFile');
      this.stateFile = new FsRaftStateFile(options.dir, { fsync: this.fsync });
    }
    const path = options.dir === undefined ? RAFT_STATE_FILE : join(options.dir, RAFT_STATE_FILE);
    const bytes = this.stateFile.read();
    if (bytes === null) {
      // A new group. A founding member stores the bootstrap snapshot durably before anything
      // else can happen; a joining node starts empty and learns the membership from the leader.
      const founding = options.initialConfState.voters.length > 0;
      const snapshot = founding ? bootstrapSnapshot(options.initialConfState) : EMPTY_SNAPSHOT;
      this.image = {
        hardState: { term: snapshot.metadata.term, vote: NO_NODE, commit: snapshot.metadata.index },
        snapshot,
      };
      if (founding) this.stateFile.writeAtomicallySync(encodeState(this.image));
    } else {
      this.image = decodeRaftState(bytes, path);
    }
    this.restartLogAtSnapshotIfBehind();
    this.dropEntriesBeyondStoredTerm();
    this.logFirstIndex = this.log.firstIndex;
    this.logLastIndex = this.log.lastIndex;
    this.cachedLogStartOffset = this.log.logStartOffset;
    this.cachedSizeBytes = this.log.sizeBytes;
    const snapshotIndex = this.image.snapshot.metadata.index;
    if (this.logLastIndex < snapshotIndex || this.logFirstIndex > snapshotIndex + 1)
      throw new RaftStorageError(
        `log holds [${this.logFirstIndex}, ${this.logLastIndex}], which does not continue the snapshot at ${snapshotIndex}`,
      );
  }

  /**
   * When the log does not hold the snapshot's last entry with the snapshot's term (a new group;
   * a crash between writing an installed snapshot's state and restarting the log; a log that
   * was lost), it restarts right after the snapshot: its entries are covered by the snapshot or
   * belong to a history the snapshot replaced.
   */
  private restartLogAtSnapshotIfBehind(): boolean {
    const { index, term } = this.image.snapshot.metadata;
    if (index === 0) return false;
    if (this.log.firstIndex <= index && this.log.termAt(index) === term) return false;
    if (this.log.firstIndex === index + 1 && this.log.lastIndex >= index) return false; // starts right after it
    const reset = this.log.reset?.bind(this.log);
    if (reset === undefined)
      throw new RaftStorageError(
        `the log must restart at ${index + 1} (after the snapshot) but this PartitionLog has no reset operation`,
      );
    reset(logIndex(index + 1), partitionSnapshotNextOffset(this.image.snapshot));
    return true;
  }

  /**
   * Drops the log's last entries whose term is beyond the stored term. No one was told of them:
   * a node saves a new term before it sends anything in it (`persistInOrder`: entries, then the
   * HardState, then messages), so they are the tail of an append whose HardState save a crash
   * cut short, or a `partitionLeaderEpoch` damaged on disk (it lies outside the CRC). Kept, a too
   * high term makes this replica's log look newer than every other's: it wins elections and its
   * first append in the real term is refused, which stops the node. An entry the stored commit
   * covers cannot have such a term (commit and term are saved together), so one that does is
   * damaged: it is not dropped (this replica acknowledged it), the group refuses to open instead
   * and the broker keeps serving its other replicas (docs/storage.md, *Repair*).
   */
  private dropEntriesBeyondStoredTerm(): void {
    const { term, commit } = this.image.hardState;
    const floor = Math.max(this.log.firstIndex - 1, this.image.snapshot.metadata.index, commit);
    let keep = this.log.lastIndex as number;
    while (keep > floor && (this.log.termAt(logIndex(keep)) ?? 0) > term) keep--;
    if (keep < this.log.lastIndex) this.log.truncateAfter(logIndex(keep));
    const last = this.log.lastIndex;
    if (
      last > this.image.snapshot.metadata.index &&
      last >= this.log.firstIndex &&
      (this.log.termAt(last) ?? 0) > term
    )
      throw new RaftStorageError(
        `committed entry ${last} has term ${this.log.termAt(last)}, beyond the stored term ${term}: its partitionLeaderEpoch is damaged on disk`,
      );
  }

  /** The last saved (or loaded) hard state. */
  get hardState(): HardState {
    return this.image.hardState;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.image.hardState, confState: this.image.snapshot.metadata.confState };
  }

  firstIndex(): LogIndex {
    return logIndex(Math.max(this.logFirstIndex, this.image.snapshot.metadata.index + 1));
  }

  lastIndex(): LogIndex {
    return logIndex(Math.max(this.logLastIndex, this.image.snapshot.metadata.index));
  }

  term(index: LogIndex): Term | undefined {
    const { metadata } = this.image.snapshot;
    if (index === metadata.index) return metadata.term;
    if (index < metadata.index || index > this.logLastIndex) return undefined;
    this.assertNotSyncing();
    return this.log.termAt(index);
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    assert(
      lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo < hi,
      `entries [${lo}, ${hi}) out of range`,
    );
    this.assertNotSyncing();
    const batches = this.log.readEntries(lo, logIndex(hi - 1), maxBytes);
    return batches.map((batch, i) => {
      const index = logIndex(lo + i);
      if (isDamagedRead(batch)) return damagedEntry(batch, index, this.log.termAt(index) as Term);
      return verifiedBatchToEntry(batch, index);
    });
  }

  snapshot(): Snapshot {
    return this.image.snapshot;
  }

  /**
   * Appends entries to the log's page cache, first removing any stored entries at or after
   * `entries[0].index` (a follower overwriting a deposed leader's suffix). Stamps each batch's
   * offset and term. Durable only after `sync()`.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    assert(first > this.image.snapshot.metadata.index, `append at ${first} overwrites the snapshot`);
    this.assertNotSyncing();
    if (first <= this.logLastIndex) this.log.truncateAfter(logIndex(first - 1));
    assert(first === this.log.lastIndex + 1, `append at ${first} leaves a gap after ${this.log.lastIndex}`);
    // Offsets follow the log prefix, so every replica stamps the same offset on an entry.
    let nextOffset = this.log.nextOffset as number;
    const nowMs = this.wallMs();
    const batches = entries.map((entry) => {
      const batch = entryToBatch(entry, nowMs);
      stampBatch(batch, 0, nextOffset, entry.term);
      nextOffset += batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
      return batch;
    });
    const result = this.log.append(batches);
    assert(result.lastIndex === (entries[entries.length - 1] as Entry).index, 'log placed entries elsewhere');
    this.logLastIndex = result.lastIndex;
    this.logFirstIndex = this.log.firstIndex;
    this.cachedLogStartOffset = this.log.logStartOffset;
    this.cachedSizeBytes = this.log.sizeBytes;
  }

  /**
   * Makes every appended entry durable. While it runs the log itself must not be touched (the
   * native log refuses every call during its off-thread sync): bounds and sizes are served from
   * the JS mirror, and `isSyncing` tells the host to hold back work that reads entries.
   */
  async sync(): Promise<LogIndex> {
    // fsync_enabled=false (unsafe, opt-in): appends count as durable once in the page cache;
    // the log is synced only when flush_interval has passed since its last sync.
    if (!this.fsync) {
      const nowMs = this.nowMs();
      const due =
        this.relaxedSyncIntervalMs > 0 && nowMs - this.lastRelaxedSyncMs >= this.relaxedSyncIntervalMs;
      if (!due) {
        // Without an fsync the writes still leave this process: acknowledged data must survive a
        // kill -9 (only a power loss or kernel crash may take it, as documented).
        await retryWhileFull(
          async () => this.log.writeBuffered?.(),
          () => this.closing,
        );
        return this.logLastIndex;
      }
      this.lastRelaxedSyncMs = nowMs;
    }
    this.syncing++;
    try {
      // A full disk holds the sync (and so the Ready loop) until space is back instead of
      // failing the node: nothing after it is acknowledged meanwhile, and nothing is lost, since
      // the native log keeps unwritten batches in its buffer (see Segment::append).
      return await retryWhileFull(
        () => this.log.sync(),
        () => this.closing,
      );
    } finally {
      this.syncing--;
    }
  }

  /** True while a log sync is in flight (see `sync`). */
  get isSyncing(): boolean {
    return this.syncing > 0;
  }

  get logStartOffset(): KafkaOffset {
    return this.cachedLogStartOffset;
  }

  get sizeBytes(): number {
    return this.cachedSizeBytes;
  }

  private assertNotSyncing(): void {
    assert(this.syncing === 0, 'the log was touched while its sync() was in flight');
  }

  /** Replaces the state file with `hardState` (atomic, durable when the promise resolves). */
  saveHardState(hardState: HardState): Promise<void> {
    this.image = { ...this.image, hardState };
    return this.writeState();
  }

  /**
   * Installs a snapshot received from the leader. When this log holds the snapshot's last entry
   * with the same term, entries after it stay and those before are released; otherwise the log
   * restarts right after the snapshot (`PartitionLog.reset`) at the offset the snapshot names.
   * The state file is written first: a crash before the log restarts is repaired on open.
   */
  async applySnapshot(snapshot: Snapshot): Promise<void> {
    const { index } = snapshot.metadata;
    if (index <= this.image.snapshot.metadata.index) return;
    this.assertNotSyncing();
    partitionSnapshotNextOffset(snapshot); // refuse malformed data before anything is written
    const hardState = this.image.hardState;
    this.image = {
      hardState: { ...hardState, commit: logIndex(Math.max(hardState.commit, index)) },
      snapshot,
    };
    await this.writeState();
    this.assertNotSyncing();
    if (this.restartLogAtSnapshotIfBehind()) {
      this.logFirstIndex = this.log.firstIndex;
      this.logLastIndex = this.log.lastIndex;
      await this.sync();
    } else {
      this.logFirstIndex = this.log.truncateBefore(logIndex(index + 1));
    }
    this.cachedLogStartOffset = this.log.logStartOffset;
    this.cachedSizeBytes = this.log.sizeBytes;
  }

  /**
   * Takes a snapshot at `index` (at most the applied index; `confState` must be the membership
   * at that index, `RawNode.confStateAt(index)`) and releases the log before it. Lagging
   * followers needing earlier entries then receive this snapshot.
   */
  async compact(index: LogIndex, confState: ConfState, extra?: Uint8Array): Promise<Snapshot> {
    const current = this.image.snapshot;
    if (index <= current.metadata.index) return current;
    assert(index <= this.logLastIndex, `snapshot at ${index} beyond the last entry ${this.logLastIndex}`);
    this.assertNotSyncing();
    const entryTerm = this.log.termAt(index);
    assert(entryTerm !== undefined, `no entry ${index} to snapshot`);
    const nextOffset =
      index >= this.log.lastIndex ? this.log.nextOffset : this.log.offsetAt(logIndex(index + 1));
    assert(nextOffset !== undefined, `no offset after entry ${index}`);
    const snapshot: Snapshot = {
      metadata: { index, term: entryTerm, confState },
      data: encodePartitionSnapshotData(nextOffset, extra),
    };
    this.image = { ...this.image, snapshot };
    await this.writeState();
    this.assertNotSyncing();
    this.logFirstIndex = this.log.truncateBefore(logIndex(index + 1));
    this.cachedLogStartOffset = this.log.logStartOffset;
    this.cachedSizeBytes = this.log.sizeBytes;
    return snapshot;
  }

  async close(): Promise<void> {
    this.closing = true;
    while (this.runningWrite !== null) await this.runningWrite.catch(() => undefined);
    try {
      await this.log.close();
    } catch (error) {
      // On a full disk the last buffered batches cannot be written: they were never synced,
      // so never acknowledged, and the log recovers to its last whole batch when it reopens.
      if (!isNoSpaceError(error)) throw error;
    }
  }

  /**
   * Writes the current image. At most one write runs and at most one waits: callers arriving
   * while a write runs share the next one, which takes the image as it is when it starts, so a
   * fast Ready loop never builds a queue of stale writes.
   */
  private writeState(): Promise<void> {
    if (this.queuedWrite !== null) return this.queuedWrite.promise;
    if (this.runningWrite === null) {
      this.runningWrite = this.runWrite();
      return this.runningWrite;
    }
    let resolve: () => void = () => {};
    let reject: (error: unknown) => void = () => {};
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queuedWrite = { promise, resolve, reject };
    return promise;
  }

  private async runWrite(): Promise<void> {
    try {
      await retryWhileFull(
        async () => {
          await this.stateFile.writeAtomically(encodeState(this.image));
          if (this.fsync) await this.stateFile.sync();
        },
        () => this.closing,
      );
    } finally {
      const queued = this.queuedWrite;
      this.queuedWrite = null;
      this.runningWrite = queued === null ? null : this.runWrite();
      this.runningWrite?.then(queued?.resolve, queued?.reject);
    }
  }
}

/**
 * A stored entry a read found damaged, marked so Raft holds it back from applying. Its term
 * comes from the log's term map. When its CRC32C still holds (what rotted lies outside it: the
 * batch's `partitionLeaderEpoch` or `baseOffset`), its type is read from its bytes, so a damaged
 * membership change is still sent and tracked as one; otherwise nothing of it is trusted and it
 * is typed Normal.
 */
function damagedEntry(batch: Buffer, index: LogIndex, entryTerm: Term): Entry {
  try {
    verifyStoredBatch(batch);
    return { ...verifiedBatchToEntry(batch, index), term: entryTerm, damaged: true };
  } catch {
    return { index, term: entryTerm, type: EntryType.Normal, data: batch, damaged: true };
  }
}
