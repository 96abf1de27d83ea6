/**
 * One partition replica hosted on this broker: its Raft group on the broker's MultiRaftNode,
 * seen by the handlers as a `ReplicatedLog` plus who leads it. Produce goes through Raft only on
 * the leader; a follower (or a leader that loses its term) answers NOT_LEADER_OR_FOLLOWER so the
 * client refreshes its metadata and retries at the new leader.
 */
import { EventEmitter } from 'node:events';
import type { DurableRaftStorage } from '../cluster/durable-raft-storage.js';
import type { MultiRaftNode } from '../cluster/multi-raft-node.js';
import { type KafkaOffset, kafkaOffset, type LogIndex, logIndex } from '../lib/ids.js';
import { readSingleRecord } from '../raft/entry.js';
import { ProposalDroppedError } from '../raft/errors.js';
import { ProgressState } from '../raft/progress.js';
import { type Entry, EntryType, StateRole } from '../raft/types.js';
import { recordHashes } from '../storage/index.js';
import { type ContentWindow, duplicateOf } from './content-dedup.js';
import { decodeGroupRecord, type GroupLogState } from './group-log.js';
import {
  type AppliedLogStart,
  encodeLogStartBatch,
  type LogStartFile,
  logStartOfBatch,
} from './log-start.js';
import { AppliedProducers, type ProducerEntry } from './producer-table.js';
import type { ProposeResult, ReplicatedLog } from './replicated-log.js';
import { testOnlySwitches } from './test-only-switches.js';

/** How far behind the commit (in entries) a voter may be and still count as in sync. */
const IN_SYNC_LAG_ENTRIES = 1_000;

/** How often a write held by min.insync.replicas checks its voters. */
const HELD_BY_VOTERS_POLL_MS = 5;

/** A produce or fetch reached a replica that does not lead its partition. */
/** Bytes of a RecordBatch v2 header (through the record count). */
const BATCH_HEADER_BYTES = 61;

export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  readonly code = 'NOT_LEADER_OR_FOLLOWER';
  constructor(
    message: string,
    readonly leader: number,
  ) {
    super(message);
  }
}

/** First Kafka offset of each Raft term among committed entries (OffsetForLeaderEpoch). */
export interface TermRun {
  term: number;
  firstOffset: KafkaOffset;
}

export class PartitionReplica extends EventEmitter implements ReplicatedLog {
  private readonly view: ReplicatedLog;
  private readonly termRuns: TermRun[];
  private role: StateRole = StateRole.Follower;
  /** Set by close(): waits on this replica end. */
  private closed = false;
  /**
   * Idempotent producers' last batches, derived from the entries this replica applies (every
   * replica, leader or not), so a new leader de-duplicates a retry of a batch its predecessor
   * committed (DESIGN §6). Restored on open from the producer checkpoint or the group's snapshot
   * (Topics), then extended by the entries applied after it.
   */
  producers = new AppliedProducers();
  private leader = 0;
  /**
   * On replicas of `__consumer_offsets`: the consumer groups' applied state (Topics attaches it,
   * restored from the group's snapshot). Entries at or below its `appliedIndex` are already in it.
   */
  groupLog: GroupLogState | undefined;
  /** Committed records' content hashes, when `deduplication_enabled` (Topics attaches it). */
  contentWindow: ContentWindow | undefined;
  /** Entries up to this index were committed before this start (applied again at open). */
  replayedUpTo = 0;
  /** Largest batch the topic accepts (bounds the decompression when hashing). */
  maxBatchBytes = 1 << 20;
  /** Group-log entries that did not decode (skipped alike on every replica). */
  undecodableGroupRecords = 0;
  /** Damaged entries applied without their effects (a replica with no peer to repair them from). */
  appliedDamaged = 0;
  /**
   * The highest log start applied from DeleteRecords entries (src/broker/log-start.ts): records
   * below it are hidden; whole segments below it are released in the background.
   */
  private deletedBelow: AppliedLogStart = { offset: kafkaOffset(0), index: logIndex(0) };
  /** Where `deletedBelow` is kept (Topics attaches it with the value read at open). */
  private logStartFile: LogStartFile | undefined;
  /** True while the applied log start could not be saved (a disk error; saved again later). */
  private logStartUnsaved = false;
  /** Reports a failed background step (saving the log start, releasing segments). */
  onBackgroundError: (error: unknown, what: string) => void = () => undefined;

  constructor(
    private readonly node: MultiRaftNode,
    readonly groupId: number,
    private readonly storage: DurableRaftStorage,
    readonly topic: string,
    readonly partition: number,
    /** `termHistory(storage)`, taken before the group joined the node (while no sync runs). */
    termRuns: TermRun[],
  ) {
    super();
    this.setMaxListeners(0);
    this.termRuns = termRuns;
    this.view = node.replicatedLog(groupId);
    this.view.on('commit', (offset: KafkaOffset) => this.emit('commit', offset));
    this.view.on('truncate', (offset: KafkaOffset) => this.emit('truncate', offset));
  }

  /** MultiRaftNode's onApply for this group: extends the term history. */
  readonly onApply = (entries: readonly Entry[]): void => {
    const log = this.storage.log;
    for (const entry of entries) {
      if (entry.damaged === true) {
        // Only a replica with no peer to repair it from applies a damaged entry: its bytes
        // change no state (reads of it are refused with CORRUPT_MESSAGE: NativeLog's mark).
        this.appliedDamaged++;
        this.producers.skip(entry.index);
        if (this.groupLog !== undefined && entry.index > this.groupLog.appliedIndex) {
          this.groupLog.appliedIndex = entry.index;
          this.undecodableGroupRecords++;
        }
      } else if (entry.type === EntryType.Normal) {
        const deleteBelow = logStartOfBatch(entry.data);
        if (deleteBelow !== undefined) this.applyLogStart({ offset: deleteBelow, index: entry.index });
        const baseOffset = log.offsetAt(entry.index);
        this.recordProducer(entry, baseOffset);
        if (this.contentWindow !== undefined && baseOffset !== undefined)
          this.recordContent(entry, baseOffset);
      } else this.producers.skip(entry.index);
      if (this.groupLog !== undefined && entry.index > this.groupLog.appliedIndex)
        this.applyGroupRecord(entry);
      const last = this.termRuns[this.termRuns.length - 1];
      if (last !== undefined && entry.term <= last.term) continue;
      const offset = log.offsetAt(entry.index);
      if (offset !== undefined) this.termRuns.push({ term: entry.term, firstOffset: offset });
    }
  };

  private applyGroupRecord(entry: Entry): void {
    const groupLog = this.groupLog as GroupLogState;
    groupLog.appliedIndex = entry.index;
    if (entry.type !== EntryType.Normal) return;
    try {
      const { value } = readSingleRecord(
        Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
      );
      if (value === null) throw new Error('group record without a value');
      groupLog.apply(decodeGroupRecord(Buffer.from(value.buffer, value.byteOffset, value.byteLength)));
    } catch {
      this.undecodableGroupRecords++;
    }
  }

  private recordProducer(entry: Entry, baseOffset: KafkaOffset | undefined): void {
    const batch = entry.data;
    if (batch.length < BATCH_HEADER_BYTES || baseOffset === undefined) {
      this.producers.skip(entry.index);
      return;
    }
    const view = new DataView(batch.buffer, batch.byteOffset, batch.length);
    this.producers.record(entry.index, {
      producerId: Number(view.getBigInt64(43)),
      producerEpoch: view.getInt16(51),
      baseSequence: view.getInt32(53),
      lastOffsetDelta: view.getInt32(23),
      baseOffset,
      maxTimestampMs: Number(view.getBigInt64(35)),
    });
  }

  private recordContent(entry: Entry, baseOffset: number): void {
    const batch = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    // Only what clients produce: not idempotent producers' batches, not control batches.
    if (
      batch.length < BATCH_HEADER_BYTES ||
      batch.readBigInt64BE(43) >= 0n ||
      (batch.readInt16BE(21) & 0x20) !== 0
    )
      return;
    try {
      // A record counts from when this replica applies it, except for the entries a restart
      // applies again: those count from their batch's own time (at the latest now), so records
      // older than the window are not taken for recent ones after a restart. (Producer
      // timestamps may be event times, so live applies do not trust them.)
      const nowMs = Date.now();
      const batchTimeMs = Number(batch.readBigInt64BE(35));
      const timeMs =
        entry.index <= this.replayedUpTo && batchTimeMs > 0 ? Math.min(nowMs, batchTimeMs) : nowMs;
      (this.contentWindow as ContentWindow).add(recordHashes(batch, this.maxBatchBytes), baseOffset, timeMs);
    } catch {
      // A batch the core cannot hash was validated when produced; it simply stays out of the window.
    }
  }

  /**
   * The offset of the original when every record of `batch` (from a producer that is not
   * idempotent) is inside the content window; undefined otherwise or when de-duplication is off.
   */
  contentDuplicateOf(batch: Buffer, producerId: number, maxBatchBytes: number): number | undefined {
    if (this.contentWindow === undefined || producerId >= 0) return undefined;
    let hashes: Buffer;
    try {
      hashes = recordHashes(batch, maxBatchBytes);
    } catch {
      return undefined;
    }
    return duplicateOf(this.contentWindow, hashes, Date.now());
  }

  /** The producer's last committed batches here, if any. */
  appliedProducer(producerId: number): ProducerEntry<number> | undefined {
    return this.producers.get(producerId);
  }

  /** MultiRaftNode's onSnapshot for this group: the leader's snapshot replaces the producer
   * state (when it carries one; else the state restarts at the snapshot's index). */
  restoreProducers(state: AppliedProducers): void {
    this.producers = state;
  }

  /** Resolves true once this leader has committed an entry of its term (false on timeout or
   * when it stops leading): only then has it applied everything its predecessors committed. */
  async ownTermCommitted(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.isLeader && !this.committedInOwnTerm) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.off('commit', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(remaining, 50));
        this.on('commit', done);
      });
    }
    return this.isLeader;
  }

  /** MultiRaftNode's 'role' event for this group. Parked fetches re-check on a change. */
  onRole(role: StateRole, leader: number): void {
    const changed = role !== this.role || leader !== this.leader;
    this.role = role;
    this.leader = leader;
    if (changed) this.emit('commit', this.highWatermark);
  }

  get isLeader(): boolean {
    return this.role === StateRole.Leader;
  }

  /**
   * Leader: the followers streaming its log within `lagEntries` of its end, by broker id (a
   * preferred read replica must be one of them, src/broker/follower-read.ts). Empty elsewhere.
   */
  caughtUpFollowers(lagEntries: number): number[] {
    const status = this.node.status(this.groupId);
    if (status === undefined || status.role !== StateRole.Leader) return [];
    return (status.progress ?? [])
      .filter(
        (peer) =>
          !peer.departing &&
          peer.id !== status.id &&
          peer.state === ProgressState.Replicate &&
          peer.match + lagEntries >= status.lastIndex,
      )
      .map((peer) => Number(peer.id));
  }

  /**
   * Leader (`min.insync.replicas`): the group's voters, and how many of them are in sync — this
   * broker, and each voter that `live` accepts (an unfenced broker) whose replication runs
   * (Raft's Replicate state) and whose log reaches within IN_SYNC_LAG_ENTRIES of the commit (a
   * follower streaming a backlog is not in sync, as in Kafka). Zero voters elsewhere.
   */
  inSyncVoters(live: (brokerId: number) => boolean): { voters: number; inSync: number } {
    const status = this.node.status(this.groupId);
    if (this.closed || status === undefined || status.role !== StateRole.Leader)
      return { voters: 0, inSync: 0 };
    let voters = 0;
    let inSync = 0;
    for (const peer of status.progress ?? []) {
      if (peer.learner || peer.departing) continue;
      voters++;
      if (
        peer.id === status.id ||
        (peer.state === ProgressState.Replicate &&
          peer.match + IN_SYNC_LAG_ENTRIES >= status.commit &&
          live(Number(peer.id)))
      )
        inSync++;
    }
    return { voters, inSync };
  }

  /**
   * Leader (`min.insync.replicas` above a majority): waits until `count` voters, this one
   * included, hold everything committed when the call began. 'held' then; 'not-held' after
   * `timeoutMs`; 'not-leader' once this broker no longer leads or the replica closed.
   */
  async heldByVoters(count: number, timeoutMs: number): Promise<'held' | 'not-held' | 'not-leader'> {
    const deadline = performance.now() + timeoutMs;
    const target = this.node.status(this.groupId)?.commit;
    for (;;) {
      const status = this.node.status(this.groupId);
      if (this.closed || target === undefined || status === undefined || status.role !== StateRole.Leader)
        return 'not-leader';
      let holding = 0;
      for (const peer of status.progress ?? [])
        if (!peer.learner && !peer.departing && peer.match >= target) holding++;
      if (holding >= count) return 'held';
      if (performance.now() >= deadline) return 'not-held';
      // Polled: the Raft core announces no follower acknowledgement (this runs only for a topic
      // whose min.insync.replicas is above a majority).
      await new Promise((resolve) => setTimeout(resolve, HELD_BY_VOTERS_POLL_MS).unref());
    }
  }

  /**
   * Strict follower reads: resolves true once this replica has applied everything committed
   * when the call began, as a Raft read index confirmed by the leader with a quorum (so nothing
   * acknowledged before the call is missing); false after `timeoutMs`.
   */
  async readIndexApplied(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    let index: LogIndex;
    try {
      index = await this.node.readIndex(this.groupId, timeoutMs);
    } catch {
      return false;
    }
    while ((this.node.status(this.groupId)?.applied ?? 0) < index) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.off('commit', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(remaining, 50));
        this.on('commit', done);
      });
    }
    return true;
  }

  /** The leader this replica knows of (-1 when none). */
  get leaderId(): number {
    return this.leader === 0 ? -1 : this.leader;
  }

  /**
   * True once this leader has committed an entry of its own term (its no-op): until then its
   * high watermark may lag the previous leader's, and ListOffsets answers OFFSET_NOT_AVAILABLE
   * instead of a "latest" that could move backwards (Kafka does the same).
   */
  get committedInOwnTerm(): boolean {
    const last = this.termRuns[this.termRuns.length - 1];
    return last !== undefined && last.term >= this.leaderEpoch;
  }

  get highWatermark(): KafkaOffset {
    return this.view.highWatermark;
  }

  /** The first offset served: where the stored log starts, or above it where DeleteRecords
   * moved the start (never above the high watermark). */
  get logStartOffset(): KafkaOffset {
    const stored = this.view.logStartOffset;
    if (this.deletedBelow.offset <= stored) return stored;
    return kafkaOffset(Math.max(stored, Math.min(this.deletedBelow.offset, this.highWatermark)));
  }

  /** Restores the log start saved by `file` (at open, before any entry is applied again). */
  restoreLogStart(file: LogStartFile, saved: AppliedLogStart | undefined): void {
    this.logStartFile = file;
    if (saved !== undefined && saved.offset > this.deletedBelow.offset) this.deletedBelow = saved;
    // A crash may have come between saving the log start and releasing the segments below it.
    if (this.deletedBelow.offset > this.view.logStartOffset) this.releaseBelowLogStart();
  }

  /**
   * DeleteRecords on the leader: proposes "the log starts at `offset`" (at most the high
   * watermark) and resolves once the entry is committed and applied here. Throws NotLeaderError
   * like `propose`.
   */
  async deleteRecordsBelow(offset: KafkaOffset): Promise<void> {
    await this.propose([encodeLogStartBatch(offset)]);
  }

  /**
   * Applies a committed log-start entry (every replica, in log order; again on a replay). The
   * start never moves back. It is saved at once, before anything that lets a restart skip this
   * entry (a producer checkpoint, a snapshot) can be written; then the segments below it go.
   */
  private applyLogStart(applied: AppliedLogStart): void {
    if (applied.offset <= this.deletedBelow.offset) return;
    this.deletedBelow = applied;
    this.emit('truncate', this.logStartOffset);
    if (this.logStartFile === undefined) return;
    try {
      this.logStartFile.save(applied);
      this.logStartUnsaved = false;
    } catch (error) {
      this.logStartUnsaved = true;
      this.onBackgroundError(error, 'saving the log start offset');
      return;
    }
    this.releaseBelowLogStart();
  }

  /** Makes sure the applied log start is on disk (it is, unless saving it failed: then it is
   * saved now, or this throws). The producer checkpoint and snapshots call it first, since a
   * restart applies only the entries after them. */
  async logStartSaved(): Promise<void> {
    if (!this.logStartUnsaved || this.logStartFile === undefined) return;
    this.logStartFile.save(this.deletedBelow);
    this.logStartUnsaved = false;
  }

  /** Releases the whole segments below the applied log start: a snapshot at the last entry
   * before the one holding it (state file first), as retention does. */
  private releaseBelowLogStart(): void {
    const run = async (): Promise<void> => {
      await this.node.logsIdle();
      const status = this.node.status(this.groupId);
      if (status === undefined) return;
      const holding = this.storage.log.indexOfOffset(this.deletedBelow.offset);
      if (holding === undefined) return;
      const cut = logIndex(holding - 1);
      if (cut <= this.storage.snapshot().metadata.index || cut > status.applied) return;
      const startBefore = this.view.logStartOffset;
      await this.logStartSaved();
      await this.node.compact(this.groupId, cut, this.producers.encode());
      if (this.view.logStartOffset !== startBefore) this.emit('truncate', this.logStartOffset);
    };
    run().catch((error: unknown) => this.onBackgroundError(error, 'releasing segments below the log start'));
  }

  /** The group's current Raft term: the leader epoch Kafka clients see. */
  get leaderEpoch(): number {
    return this.view.leaderEpoch;
  }

  get sizeBytes(): number {
    return this.view.sizeBytes;
  }

  /** Log end offset (entries appended here, committed or not). */
  async logEndOffset(): Promise<KafkaOffset> {
    await this.node.logsIdle();
    return this.storage.log.nextOffset;
  }

  async propose(batches: readonly Buffer[]): Promise<ProposeResult> {
    if (!this.isLeader)
      throw new NotLeaderError(`broker does not lead ${this.topic}-${this.partition}`, this.leaderId);
    try {
      if (testOnlySwitches.acknowledgeBeforeCommit) {
        // The planted bug (test-only, see test-only-switches.ts): answer before the commit.
        this.view.propose(batches).catch(() => undefined);
        return { baseOffset: kafkaOffset(-1), nextOffset: kafkaOffset(-1) };
      }
      return await this.view.propose(batches);
    } catch (error) {
      if (error instanceof ProposalDroppedError)
        throw new NotLeaderError(`${this.topic}-${this.partition}: ${error.message}`, error.leader || -1);
      if (this.removed) throw this.goneError();
      throw error;
    }
  }

  async read(fromOffset: KafkaOffset, maxBytes: number): Promise<Buffer> {
    if (this.removed) throw this.goneError();
    // Nothing below the log start; and nothing from a new leader before it has applied all its
    // predecessors committed (a DeleteRecords entry among them may hide what it would serve).
    if (fromOffset < this.logStartOffset || (this.isLeader && !this.committedInOwnTerm))
      return Buffer.alloc(0);
    try {
      return await this.view.read(fromOffset, maxBytes);
    } catch (error) {
      if (this.removed) throw this.goneError();
      throw error;
    }
  }

  /** True once the group left this node (its topic was deleted meanwhile). */
  private get removed(): boolean {
    return this.node.status(this.groupId) === undefined;
  }

  private goneError(): Error {
    const error = new Error(`${this.topic}-${this.partition} was deleted`) as Error & { code: string };
    error.code = 'UNKNOWN_TOPIC_OR_PARTITION';
    return error;
  }

  /** Never below the log start: records DeleteRecords hid are not found by time either. */
  async offsetForTimestamp(timestampMs: number): Promise<KafkaOffset | undefined> {
    const found = await this.view.offsetForTimestamp(timestampMs);
    return found === undefined ? undefined : kafkaOffset(Math.max(found, this.logStartOffset));
  }

  /** The end of `epoch`: the first offset of the next larger term, or the high watermark. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset } {
    const runs = this.termRuns;
    let found = -1;
    for (let i = 0; i < runs.length && (runs[i] as TermRun).term <= epoch; i++) found = i;
    if (found < 0) return { epoch: -1, endOffset: kafkaOffset(-1) };
    return {
      epoch: (runs[found] as TermRun).term,
      endOffset: runs[found + 1]?.firstOffset ?? this.highWatermark,
    };
  }

  /**
   * Retention under Raft, on every replica independently: find where retention would cut
   * (never past what is applied here), record a snapshot at the entry before the cut (state
   * file first, so a crash leaves a snapshot the log continues), then drop the whole segments
   * below it. A follower that later needs those entries receives the snapshot instead.
   */
  async applyRetention(policy: {
    nowMs: number;
    retentionMs: number;
    retentionBytes: number;
  }): Promise<number> {
    await this.node.logsIdle();
    const status = this.node.status(this.groupId);
    const log = this.storage.log;
    if (status === undefined || log.retentionCut === undefined) return 0;
    const before = log.firstIndex;
    const cut = log.retentionCut({ ...policy, keepFrom: status.applied + 1 });
    if (cut <= before) return 0;
    const startBefore = this.logStartOffset;
    // The snapshot carries the producer state (as of what is applied, at or past the cut), so a
    // follower that installs it de-duplicates like this replica; a restart then replays only
    // what follows, so an applied DeleteRecords must be saved first.
    await this.logStartSaved();
    await this.node.compact(this.groupId, logIndex(cut - 1), this.producers.encode());
    const removed = this.storage.log.firstIndex - before;
    if (this.logStartOffset !== startBefore) this.emit('truncate', this.logStartOffset);
    return removed;
  }

  /** The group's lifetime is the reconciler's (ReplicaManager): closing the view does nothing. */
  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Term runs of the committed log, found by binary search (terms never decrease along the log),
 * so the history survives restarts without a file of its own: O(terms × log n) term lookups.
 */
export function termHistory(storage: DurableRaftStorage): TermRun[] {
  const log = storage.log;
  const first = log.firstIndex;
  const last = Math.min(log.lastIndex, storage.hardState.commit);
  const runs: TermRun[] = [];
  let at: number = first;
  while (at <= last) {
    const runTerm = log.termAt(logIndex(at));
    const offset = log.offsetAt(logIndex(at));
    if (runTerm === undefined || offset === undefined) break;
    runs.push({ term: runTerm, firstOffset: offset });
    // First index in (at, last] with a larger term.
    let low = at + 1;
    let high = last + 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((log.termAt(logIndex(middle)) ?? Number.MAX_SAFE_INTEGER) > runTerm) high = middle;
      else low = middle + 1;
    }
    at = low;
  }
  return runs;
}

export type { LogIndex };
