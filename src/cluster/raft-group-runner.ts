/**
 * The I/O shell for one Raft group on a broker (DESIGN decision 10): a tick timer, the Ready
 * loop, proposals that resolve when committed, and the `ReplicatedLog` seam the broker's
 * partition handlers use (src/broker/replicated-log.ts).
 *
 * Ready loop, in the order `Ready` prescribes (DESIGN decision 5):
 *   1. persist: snapshot, entries (page cache), `await log.sync()` and, in parallel, the hard
 *      state when term or vote changed (a commit-only change is written every
 *      `commitSaveTicks`: the commit index may lag on disk);
 *   2. send messages (only now: a vote or an append acknowledgement promises the disk state);
 *   3. apply committed entries: resolve proposals, move the high watermark, call `onApply`;
 *   4. `advance()`, and loop while the node has more work.
 * Messages, ticks and proposals arriving while a Ready is being persisted are stepped into the
 * node at once; their effects come out in the next Ready.
 *
 * A proposal resolves once its entry is committed and applied with the term it was proposed in.
 * It rejects with `ProposalDroppedError` when this node is not the leader, when it loses
 * leadership before the commit (the entry may still commit under the next leader: the outcome
 * is unknown to the caller, as with a Kafka produce that times out), or when its slot was
 * overwritten by another leader's entry.
 */
import { EventEmitter } from 'node:events';
import type { ProposeResult, ReplicatedLog } from '../broker/replicated-log.js';
import {
  type KafkaOffset,
  kafkaOffset,
  type LogIndex,
  logIndex,
  type NodeId,
  type Term,
} from '../lib/ids.js';
import type { Prng } from '../lib/prng.js';
import { checkBatch } from '../raft/entry.js';
import { ProposalDroppedError } from '../raft/errors.js';
import { RawNode, type RawNodeOptions, type Ready, type Status } from '../raft/raw-node.js';
import { type Entry, type HardState, type Message, NO_NODE, StateRole } from '../raft/types.js';
import type { DurableRaftStorage } from './durable-raft-storage.js';
import { decodeRaftMessage, encodeRaftMessage, RaftMessageCodecError } from './raft-message-codec.js';
import type { Transport, TransportLogger } from './transport.js';

/** What the runner needs from the transport (a `Transport`, or a fake in tests). */
export interface GroupSender {
  send(to: NodeId, groupId: number, payload: Buffer): boolean;
}

export interface RaftGroupRunnerOptions {
  groupId: number;
  nodeId: NodeId;
  storage: DurableRaftStorage;
  sender: GroupSender;
  prng: Prng;
  logger?: TransportLogger;
  /** Milliseconds per Raft tick. Default 100 (election after 1-2 s with electionTicks 10). */
  tickMs?: number;
  /** How often (in ticks) a commit-only hard state change is written. Default 10. */
  commitSaveTicks?: number;
  /** Options passed to the RawNode (electionTicks, heartbeatTicks, preVote, ...). */
  raft?: Omit<RawNodeOptions, 'id' | 'storage' | 'prng'>;
  /** Called with each run of committed entries, in log order, before proposals resolve. */
  onApply?: (entries: readonly Entry[]) => void;
}

/** Where a committed proposal landed. */
export interface CommittedEntry {
  index: LogIndex;
  term: Term;
  baseOffset: KafkaOffset;
  /** Offset after the entry's last record. */
  nextOffset: KafkaOffset;
}

interface PendingProposal {
  index: LogIndex;
  term: Term;
  resolve(entry: CommittedEntry): void;
  reject(error: unknown): void;
}

/** First offset of each term among applied entries (answers OffsetForLeaderEpoch). */
interface TermRun {
  term: number;
  firstOffset: KafkaOffset;
}

const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class RaftGroupRunner extends EventEmitter implements ReplicatedLog {
  readonly groupId: number;
  readonly node: RawNode;
  private readonly storage: DurableRaftStorage;
  private readonly sender: GroupSender;
  private readonly logger: TransportLogger;
  private readonly tickMs: number;
  private readonly onApply: ((entries: readonly Entry[]) => void) | undefined;
  private pending: PendingProposal[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private readyScheduled = false;
  private processing: Promise<void> | null = null;
  private stopped = false;
  private failure: unknown = null;
  private appliedIndex: LogIndex;
  private committedOffset: KafkaOffset;
  private role: StateRole = StateRole.Follower;
  /** A commit-only hard state change not yet written (saved every `commitSaveTicks`). */
  private lazyHardState: HardState | null = null;
  /** Work that reads the log, held while the log's sync() runs (see whenLogIdle). */
  private deferred: Array<() => void> = [];
  private readonly termRuns: TermRun[] = [];
  private ticks = 0;
  private readonly commitSaveTicks: number;
  private leader: NodeId = NO_NODE;

  constructor(options: RaftGroupRunnerOptions) {
    super();
    this.groupId = options.groupId;
    this.storage = options.storage;
    this.sender = options.sender;
    this.logger = options.logger ?? silentLogger;
    this.tickMs = options.tickMs ?? 100;
    this.onApply = options.onApply;
    this.commitSaveTicks = options.commitSaveTicks ?? 10;
    this.node = new RawNode({
      ...options.raft,
      id: options.nodeId,
      storage: options.storage,
      prng: options.prng,
    });
    this.appliedIndex = this.node.status().applied;
    // Entries up to `applied` are already reflected; nothing is known committed beyond them yet.
    this.committedOffset = this.offsetAfter(this.appliedIndex);
  }

  /** Starts ticking. */
  start(): void {
    if (this.ticker !== null || this.stopped) return;
    this.ticker = setInterval(() => {
      this.whenLogIdle(() => this.node.tick());
      if (++this.ticks % this.commitSaveTicks === 0) this.saveLazyHardState();
      this.scheduleReady();
    }, this.tickMs);
    this.scheduleReady();
  }

  /** Feeds one message received for this group. */
  step(message: Message): void {
    if (this.stopped) return;
    this.whenLogIdle(() => {
      try {
        this.node.step(message);
      } catch (error) {
        this.logger.warn({ err: error, groupId: this.groupId, from: message.from }, 'raft message refused');
        return;
      }
      this.scheduleReady();
    });
  }

  /** Decodes and steps a payload `sender` sent; a malformed or misaddressed one is logged and dropped. */
  receive(payload: Buffer, sender: NodeId): void {
    let message: Message;
    try {
      message = decodeRaftMessage(payload);
    } catch (error) {
      if (!(error instanceof RaftMessageCodecError)) throw error;
      this.logger.warn({ err: error, groupId: this.groupId }, 'undecodable raft message dropped');
      return;
    }
    // The connection's handshake names the sender; a message claiming another origin or meant
    // for another node is a misrouted or forged one.
    if (message.from !== sender || message.to !== this.node.id) {
      this.logger.warn(
        { groupId: this.groupId, sender, from: message.from, to: message.to },
        'raft message with a wrong sender or recipient dropped',
      );
      return;
    }
    this.step(message);
  }

  /** The transport lost its connection to `peer`: a leader stops streaming to it and probes. */
  reportUnreachable(peer: NodeId): void {
    if (this.stopped) return;
    this.whenLogIdle(() => {
      this.node.reportUnreachable(peer);
      this.scheduleReady();
    });
  }

  /** Starts an election now. */
  campaign(): void {
    this.whenLogIdle(() => {
      this.node.campaign();
      this.scheduleReady();
    });
  }

  /** Proposes one entry; resolves with its place once it is committed and applied. */
  proposeEntry(data: Uint8Array): Promise<CommittedEntry> {
    if (this.stopped || this.failure !== null)
      return Promise.reject(this.failure ?? new ProposalDroppedError('raft group is stopped', NO_NODE));
    return new Promise((resolve, reject) => {
      this.whenLogIdle(() => {
        let placed: { index: LogIndex; term: Term };
        try {
          placed = this.node.propose(data);
        } catch (error) {
          reject(error);
          return;
        }
        this.pending.push({ index: placed.index, term: placed.term, resolve, reject });
        this.scheduleReady();
      });
    });
  }

  // ---- ReplicatedLog ----

  get highWatermark(): KafkaOffset {
    return this.committedOffset;
  }

  get logStartOffset(): KafkaOffset {
    return this.storage.logStartOffset;
  }

  get leaderEpoch(): number {
    return this.node.raft.term;
  }

  get sizeBytes(): number {
    return this.storage.sizeBytes;
  }

  /**
   * Proposes whole RecordBatches, one entry each; resolves when all are committed. The log
   * stamps offsets and the term as it persists them; the result is what it stamped.
   */
  async propose(batches: readonly Buffer[]): Promise<ProposeResult> {
    if (batches.length === 0) throw new RangeError('propose needs at least one batch');
    for (const batch of batches) checkBatch(batch);
    const placed = await Promise.all(batches.map((batch) => this.proposeEntry(batch)));
    return {
      baseOffset: (placed[0] as CommittedEntry).baseOffset,
      nextOffset: (placed[placed.length - 1] as CommittedEntry).nextOffset,
    };
  }

  async read(fromOffset: KafkaOffset, maxBytes: number): Promise<Buffer> {
    await this.logIdle();
    if (fromOffset >= this.committedOffset) return Buffer.alloc(0);
    return this.storage.log.readFrom(fromOffset, maxBytes, this.committedOffset);
  }

  async offsetForTimestamp(timestampMs: number): Promise<KafkaOffset | undefined> {
    await this.logIdle();
    const offset = this.storage.log.offsetForTimestamp(timestampMs);
    return offset === undefined || offset >= this.committedOffset ? undefined : offset;
  }

  /**
   * The end of `epoch` (a Raft term) among applied entries: the first offset of the next larger
   * term, or the high watermark when `epoch` is the latest. Answered from the term runs kept
   * in memory, so it never waits for the log.
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: KafkaOffset } {
    let found = -1;
    for (let i = 0; i < this.termRuns.length && (this.termRuns[i] as TermRun).term <= epoch; i++) found = i;
    if (found < 0) return { epoch: -1, endOffset: kafkaOffset(-1) };
    const next = this.termRuns[found + 1];
    return {
      epoch: (this.termRuns[found] as TermRun).term,
      endOffset: next?.firstOffset ?? this.committedOffset,
    };
  }

  /**
   * Retention under Raft must first record a snapshot at the cut (so lagging followers get one
   * instead of entries that are gone); not done yet, so nothing is removed.
   */
  async applyRetention(_policy: {
    nowMs: number;
    retentionMs: number;
    retentionBytes: number;
  }): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.storage.close();
  }

  // ---- observation ----

  status(): Status & { groupId: number; highWatermark: KafkaOffset } {
    return { ...this.node.status(), groupId: this.groupId, highWatermark: this.committedOffset };
  }

  get isLeader(): boolean {
    return this.role === StateRole.Leader;
  }

  /** Stops ticking, finishes the Ready in progress and rejects pending proposals. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    await this.processing;
    this.runDeferred();
    this.saveLazyHardState();
    this.rejectPending(new ProposalDroppedError('raft group stopped', this.leader));
  }

  // ---- the Ready loop ----

  private scheduleReady(): void {
    if (this.readyScheduled || this.processing !== null || this.stopped || this.failure !== null) return;
    this.readyScheduled = true;
    setImmediate(() => {
      this.readyScheduled = false;
      if (this.processing !== null || this.stopped) return;
      this.processing = this.drainReady().finally(() => {
        this.processing = null;
        if (!this.stopped && this.failure === null && this.node.hasReady()) this.scheduleReady();
      });
    });
  }

  private async drainReady(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) await this.handleReady(this.node.ready());
    } catch (error) {
      // A disk error leaves the group unable to promise anything: stop it loudly.
      this.failure = error;
      this.logger.error({ err: error, groupId: this.groupId }, 'raft group failed; stopping it');
      if (this.ticker !== null) clearInterval(this.ticker);
      this.ticker = null;
      this.rejectPending(error);
      this.emit('error', error);
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    if (ready.softState !== undefined) this.onSoftState(ready.softState.role, ready.softState.leader);
    // 1. Persist. The log fsync and a term/vote change run in parallel; a commit-only change
    //    is written behind (it may lag, and the writer coalesces bursts into one write).
    if (ready.snapshot !== undefined) await this.storage.applySnapshot(ready.snapshot);
    const durable: Array<Promise<unknown>> = [];
    if (ready.entries.length > 0) {
      this.storage.append(ready.entries);
      durable.push(this.storage.sync());
    }
    if (ready.hardState !== undefined) {
      const previous = this.storage.hardState;
      if (ready.hardState.term !== previous.term || ready.hardState.vote !== previous.vote) {
        this.lazyHardState = null;
        durable.push(this.storage.saveHardState(ready.hardState));
      } else {
        this.lazyHardState = ready.hardState;
      }
    }
    await Promise.all(durable);
    this.runDeferred();
    // 2. Send.
    for (const message of ready.messages)
      this.sender.send(message.to, this.groupId, encodeRaftMessage(message));
    // 3. Apply.
    if (ready.committedEntries.length > 0) this.apply(ready.committedEntries);
    // 4. Advance.
    this.node.advance();
  }

  /**
   * Writes a commit-only hard state change. The commit index may lag on disk (a restarted node
   * learns it again from the leader); writing it on every Ready would add two fsyncs per Ready.
   */
  private saveLazyHardState(): void {
    const state = this.lazyHardState;
    if (state === null) return;
    this.lazyHardState = null;
    this.storage
      .saveHardState(state)
      .catch((error) => this.logger.error({ err: error, groupId: this.groupId }, 'hard state write failed'));
  }

  private onSoftState(role: StateRole, leader: NodeId): void {
    const wasLeader = this.role === StateRole.Leader;
    this.role = role;
    this.leader = leader;
    if (wasLeader && role !== StateRole.Leader)
      this.rejectPending(new ProposalDroppedError('leadership lost before the entry committed', leader));
    this.logger.info({ groupId: this.groupId, role, leader }, 'raft role changed');
    this.emit('role', role, leader);
  }

  private apply(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1] as Entry;
    this.onApply?.(entries);
    for (const entry of entries) {
      const lastRun = this.termRuns[this.termRuns.length - 1];
      const needsRun = lastRun === undefined || lastRun.term !== entry.term;
      const matches = this.pending.length > 0 && (this.pending[0] as PendingProposal).index <= entry.index;
      if (!needsRun && !matches) continue;
      const baseOffset = this.storage.log.offsetAt(entry.index) ?? this.committedOffset;
      if (needsRun) this.termRuns.push({ term: entry.term, firstOffset: baseOffset });
      while (this.pending.length > 0 && (this.pending[0] as PendingProposal).index <= entry.index) {
        const proposal = this.pending.shift() as PendingProposal;
        if (proposal.index === entry.index && proposal.term === entry.term)
          proposal.resolve({
            index: entry.index,
            term: entry.term,
            baseOffset,
            nextOffset: this.offsetAfter(entry.index),
          });
        else proposal.reject(new ProposalDroppedError('entry was replaced by another leader', this.leader));
      }
    }
    this.appliedIndex = last.index;
    const offset = this.offsetAfter(last.index);
    if (offset > this.committedOffset) {
      this.committedOffset = offset;
      this.emit('commit', offset);
    }
  }

  /** Kafka offset just after entry `index` (the log start offset for index 0). */
  private offsetAfter(index: LogIndex): KafkaOffset {
    const log = this.storage.log;
    if (index < log.firstIndex) return log.logStartOffset;
    if (index >= log.lastIndex) return log.nextOffset;
    return log.offsetAt(logIndex(index + 1)) ?? log.nextOffset;
  }

  /**
   * Runs `work` now, or right after the log sync in flight. The native log refuses every call
   * while its off-thread sync runs, and stepping or ticking the node may read entries, so
   * messages, ticks and proposals that arrive during a sync are held and run in arrival order
   * as soon as it completes (they then ride in the next Ready).
   */
  private whenLogIdle(work: () => void): void {
    if (this.storage.isSyncing) this.deferred.push(work);
    else work();
  }

  private logIdle(): Promise<void> {
    if (!this.storage.isSyncing) return Promise.resolve();
    return new Promise<void>((resolve) => this.deferred.push(() => resolve())).then(() => this.logIdle());
  }

  private runDeferred(): void {
    while (this.deferred.length > 0 && !this.storage.isSyncing) {
      const work = this.deferred;
      this.deferred = [];
      for (const item of work) item();
    }
  }

  private rejectPending(error: unknown): void {
    const pending = this.pending;
    this.pending = [];
    for (const proposal of pending) proposal.reject(error);
  }
}

/**
 * Routes every message the transport receives to its group's runner, and reports a lost peer
 * connection to every group (the map may change afterwards: groups added later are routed too).
 */
export function routeRaftMessages(transport: Transport, groups: ReadonlyMap<number, RaftGroupRunner>): void {
  transport.onMessage((from, groupId, payload) => groups.get(groupId)?.receive(payload, from));
  transport.onPeerDisconnected((peer) => {
    for (const runner of groups.values()) runner.reportUnreachable(peer);
  });
}
