/**
 * A simulated disk for one Raft group on one node: the group's `PartitionLog` and its Raft state
 * file, each of which loses its unsynced writes on a crash, independently of the other.
 *
 * The log: every append, truncation and reset goes to the page cache (a journal of operations);
 * `sync()` makes the operations issued before it durable, after a seeded latency. On a power
 * loss the log comes back as its durable image plus a random prefix of the unsynced operations,
 * the last kept append possibly torn to a prefix of its batches (a journaling file system keeps
 * writes to one file in order; a torn tail is cut at the last valid batch). On a process kill
 * (`kill -9`) every issued operation survives: it reached the page cache.
 *
 * The state file: a replacement lands after a seeded latency (survives a kill from then on);
 * `sync()` makes the last landed one durable. On a power loss the file comes back as its durable
 * content or as any replacement landed since (renames are journaled in order).
 *
 * Like the native log, the log refuses every call while its `sync()` runs.
 */
import type { RaftStateFile } from '../../cluster/raft-state-file.js';
import { assert } from '../../lib/assert.js';
import { type KafkaOffset, kafkaOffset, type LogIndex, logIndex, type Term } from '../../lib/ids.js';
import type { Prng } from '../../lib/prng.js';
import { BatchField } from '../../protocol/record-batch-header.js';
import type { ConfState } from '../../raft/types.js';
import { MemoryLog } from '../../storage/memory-log.js';
import type { AppendResult, PartitionLog } from '../../storage/partition-log.js';

type LogOperation =
  | { kind: 'append'; batches: Buffer[] }
  | { kind: 'truncate-after'; index: number }
  | { kind: 'truncate-before'; index: number }
  | { kind: 'reset'; firstIndex: number; nextOffset: number };

/** A log's content as a disk holds it: first index, offset when empty, batches. */
interface LogImage {
  firstIndex: number;
  startOffset: number;
  batches: Buffer[];
}

function batchNextOffset(batch: Buffer): number {
  return (
    Number(batch.readBigInt64BE(BatchField.baseOffset)) + batch.readInt32BE(BatchField.lastOffsetDelta) + 1
  );
}

function applyOperation(image: LogImage, operation: LogOperation): void {
  const lastIndex = image.firstIndex + image.batches.length - 1;
  const nextOffset = () => {
    const last = image.batches[image.batches.length - 1];
    return last === undefined ? image.startOffset : batchNextOffset(last);
  };
  switch (operation.kind) {
    case 'append':
      image.batches.push(...operation.batches);
      return;
    case 'truncate-after': {
      if (operation.index >= lastIndex) return;
      const keep = Math.max(0, operation.index - image.firstIndex + 1);
      if (keep === 0 && image.batches.length > 0)
        image.startOffset = Number((image.batches[0] as Buffer).readBigInt64BE(BatchField.baseOffset));
      image.batches.length = keep;
      return;
    }
    case 'truncate-before': {
      const target = Math.min(operation.index, lastIndex + 1);
      if (target <= image.firstIndex) return;
      const offset = nextOffset();
      image.batches.splice(0, target - image.firstIndex);
      image.firstIndex = target;
      if (image.batches.length === 0) image.startOffset = offset;
      return;
    }
    case 'reset':
      image.batches = [];
      image.firstIndex = operation.firstIndex;
      image.startOffset = operation.nextOffset;
      return;
  }
}

export interface DiskLatency {
  /** A log fsync or a state-file replacement or sync takes a latency in [0, maxMs]. */
  maxMs: number;
}

/**
 * Everything one group keeps on one node's disk, across that node's incarnations. `open*`
 * give an incarnation its live objects; `crash` decides what survived.
 */
export class GroupDisk {
  private durableLog: LogImage = { firstIndex: 1, startOffset: 0, batches: [] };
  /** Operations not yet durable, oldest first; `journalBase` is the sequence number of the first. */
  private journal: LogOperation[] = [];
  private journalBase = 0;
  /** When each journal operation was issued (`writeOrder`), parallel to `journal`. */
  private journalOrder: number[] = [];
  private durableState: Buffer | null = null;
  /** State-file replacements that landed since the last state sync, oldest first. */
  private landedStates: Buffer[] = [];
  /** When each landed replacement landed (`writeOrder`), parallel to `landedStates`. */
  private landedOrder: number[] = [];
  /** Counts writes to both files, to tell which of two unsynced writes came first. */
  private writeOrder = 0;
  /** Bumped by every crash: completions of an earlier incarnation's I/O are ignored. */
  private epoch = 0;
  /** Writes since the last crash that a power loss would lose (for statistics). */
  losses = 0;

  constructor(
    /** Membership to open a brand-new group with (voters: founding member; none: joining). */
    readonly initialConfState: ConfState,
  ) {}

  openLog(schedule: (delayMs: number, run: () => void) => void, prng: Prng, latency: DiskLatency): SimLog {
    const live = new MemoryLog();
    const image = this.durableLog;
    live.reset(logIndex(image.firstIndex), kafkaOffset(image.startOffset));
    if (image.batches.length > 0) live.append(image.batches);
    return new SimLog(this, live, schedule, prng, latency);
  }

  openStateFile(
    schedule: (delayMs: number, run: () => void) => void,
    prng: Prng,
    latency: DiskLatency,
  ): SimStateFile {
    return new SimStateFile(this, schedule, prng, latency);
  }

  // ---- used by SimLog / SimStateFile ----

  get currentEpoch(): number {
    return this.epoch;
  }

  record(operation: LogOperation): void {
    this.journal.push(operation);
    this.journalOrder.push(this.writeOrder++);
  }

  /** Sequence number just after the last operation issued. */
  get journalEnd(): number {
    return this.journalBase + this.journal.length;
  }

  /** The operations before sequence `end` are durable. */
  logDurableTo(end: number): void {
    while (this.journalBase < end && this.journal.length > 0) {
      applyOperation(this.durableLog, this.journal.shift() as LogOperation);
      this.journalOrder.shift();
      this.journalBase++;
    }
  }

  get stateContent(): Buffer | null {
    return this.landedStates[this.landedStates.length - 1] ?? this.durableState;
  }

  stateLanded(bytes: Buffer): void {
    this.landedStates.push(bytes);
    this.landedOrder.push(this.writeOrder++);
  }

  get landedStateCount(): number {
    return this.landedStates.length;
  }

  /** The first `count` landed replacements are durable (the last of them is the content). */
  stateDurableTo(count: number): void {
    const durable = Math.min(count, this.landedStates.length);
    if (durable === 0) return;
    this.durableState = this.landedStates[durable - 1] as Buffer;
    this.landedStates.splice(0, durable);
    this.landedOrder.splice(0, durable);
  }

  writeStateDurably(bytes: Buffer): void {
    this.durableState = bytes;
    this.landedStates = [];
    this.landedOrder = [];
  }

  /**
   * The node died. A power loss keeps a random prefix of the log's unsynced operations (the
   * last kept append possibly torn) and a random one of the state file's landed contents,
   * independently; a kill keeps everything that was issued or landed.
   */
  crash(prng: Prng, powerLoss: boolean): { lostLogOperations: number; lostStateWrites: number } {
    this.epoch++;
    let keptOperations = this.journal.length;
    let keptStates = this.landedStates.length;
    if (powerLoss) {
      // Usually something is lost: each file independently keeps a strict prefix most times.
      const keep = (count: number, loseRate: number) =>
        count > 0 && prng.chance(loseRate) ? prng.int(0, count - 1) : count;
      keptOperations = keep(this.journal.length, 0.8);
      keptStates = keep(this.landedStates.length, 0.3);
    }
    const lost = {
      lostLogOperations: this.journal.length - keptOperations,
      lostStateWrites: this.landedStates.length - keptStates,
    };
    for (let i = 0; i < keptOperations; i++) {
      let operation = this.journal[i] as LogOperation;
      if (
        powerLoss &&
        i === keptOperations - 1 &&
        operation.kind === 'append' &&
        operation.batches.length > 1
      )
        operation = {
          kind: 'append',
          batches: operation.batches.slice(0, prng.int(1, operation.batches.length)),
        };
      applyOperation(this.durableLog, operation);
    }
    this.journal = [];
    this.journalOrder = [];
    this.journalBase = 0;
    if (keptStates > 0) this.durableState = this.landedStates[keptStates - 1] as Buffer;
    this.landedStates = [];
    this.landedOrder = [];
    if (lost.lostLogOperations + lost.lostStateWrites > 0) this.losses++;
    return lost;
  }

  /** Writes to either file a power loss would lose now. */
  get hasUnsyncedWrites(): boolean {
    return this.journal.length > 0 || this.landedStates.length > 0;
  }

  /** Log writes a power loss would lose now. */
  get hasUnsyncedLogWrites(): boolean {
    return this.journal.length > 0;
  }

  /** State-file replacements a power loss could undo now. */
  get hasUnsyncedStateWrites(): boolean {
    return this.landedStates.length > 0;
  }

  /**
   * A state-file replacement landed after a log write that is still unsynced: a power loss now
   * can keep the newer write and lose the older one (the worst moment to crash).
   */
  get hasReorderedWrites(): boolean {
    const oldestUnsynced = this.journalOrder[0];
    if (oldestUnsynced === undefined) return false;
    return this.landedOrder.some((order) => order > oldestUnsynced);
  }

  /** Last index of the durable log image (for checks after a crash). */
  get durableLastIndex(): number {
    return this.durableLog.firstIndex + this.durableLog.batches.length - 1;
  }
}

/** One incarnation's view of a group's log (see the file comment). */
export class SimLog implements PartitionLog {
  private syncing = 0;
  private durable: number;
  private storedBytes: number;
  private readonly epoch: number;

  constructor(
    private readonly disk: GroupDisk,
    private readonly live: MemoryLog,
    private readonly schedule: (delayMs: number, run: () => void) => void,
    private readonly prng: Prng,
    private readonly latency: DiskLatency,
  ) {
    this.epoch = disk.currentEpoch;
    this.durable = live.lastIndex;
    this.storedBytes = live.sizeBytes;
  }

  private idle(): MemoryLog {
    // The native log refuses every call while its fsync runs off the JS thread.
    assert(this.syncing === 0, 'log called while its sync() runs');
    assert(this.disk.currentEpoch === this.epoch, 'log of a dead incarnation called');
    return this.live;
  }

  get firstIndex(): LogIndex {
    return this.live.firstIndex;
  }
  get lastIndex(): LogIndex {
    return this.live.lastIndex;
  }
  get durableIndex(): LogIndex {
    return logIndex(Math.min(this.durable, this.live.lastIndex));
  }
  get logStartOffset(): KafkaOffset {
    return this.live.logStartOffset;
  }
  get nextOffset(): KafkaOffset {
    return this.live.nextOffset;
  }
  get sizeBytes(): number {
    return this.storedBytes;
  }

  append(batches: readonly Buffer[]): AppendResult {
    const result = this.idle().append(batches);
    const copies = batches.map((batch) => Buffer.from(batch));
    for (const copy of copies) this.storedBytes += copy.length;
    this.disk.record({ kind: 'append', batches: copies });
    return result;
  }
  termAt(index: LogIndex): Term | undefined {
    return this.idle().termAt(index);
  }
  offsetAt(index: LogIndex): KafkaOffset | undefined {
    return this.idle().offsetAt(index);
  }
  indexOfOffset(offset: KafkaOffset): LogIndex | undefined {
    return this.idle().indexOfOffset(offset);
  }
  readEntries(from: LogIndex, to: LogIndex, maxBytes: number): Buffer[] {
    return this.idle().readEntries(from, to, maxBytes);
  }
  readFrom(from: KafkaOffset, maxBytes: number, upTo: KafkaOffset): Buffer {
    return this.idle().readFrom(from, maxBytes, upTo);
  }
  offsetForTimestamp(timestampMs: number): KafkaOffset | undefined {
    return this.idle().offsetForTimestamp(timestampMs);
  }
  truncateAfter(index: LogIndex): void {
    this.idle().truncateAfter(index);
    this.durable = Math.min(this.durable, index);
    this.storedBytes = this.live.sizeBytes;
    this.disk.record({ kind: 'truncate-after', index });
  }
  truncateBefore(index: LogIndex): LogIndex {
    const first = this.idle().truncateBefore(index);
    this.storedBytes = this.live.sizeBytes;
    this.disk.record({ kind: 'truncate-before', index });
    return first;
  }
  reset(firstIndex: LogIndex, nextOffset: KafkaOffset): void {
    this.idle().reset(firstIndex, nextOffset);
    this.durable = firstIndex - 1;
    this.storedBytes = 0;
    this.disk.record({ kind: 'reset', firstIndex, nextOffset });
  }

  sync(): Promise<LogIndex> {
    this.idle();
    this.syncing++;
    const end = this.disk.journalEnd;
    const target = this.live.lastIndex;
    return new Promise((resolve) => {
      this.schedule(this.prng.int(0, this.latency.maxMs), () => {
        // A crash in between: this incarnation is gone and its fsync never returns.
        if (this.disk.currentEpoch !== this.epoch) return;
        this.disk.logDurableTo(end);
        this.syncing--;
        this.durable = Math.max(this.durable, target);
        resolve(this.durableIndex);
      });
    });
  }

  async close(): Promise<void> {
    this.idle();
  }
}

/** One incarnation's view of a group's state file (see the file comment). */
export class SimStateFile implements RaftStateFile {
  private readonly epoch: number;

  constructor(
    private readonly disk: GroupDisk,
    private readonly schedule: (delayMs: number, run: () => void) => void,
    private readonly prng: Prng,
    private readonly latency: DiskLatency,
  ) {
    this.epoch = disk.currentEpoch;
  }

  read(): Buffer | null {
    return this.disk.stateContent;
  }

  writeAtomically(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      this.schedule(this.prng.int(0, this.latency.maxMs), () => {
        if (this.disk.currentEpoch !== this.epoch) return;
        this.disk.stateLanded(bytes);
        resolve();
      });
    });
  }

  sync(): Promise<void> {
    // Durable: the replacements that had landed when the sync was issued.
    const count = this.disk.landedStateCount;
    return new Promise((resolve) => {
      this.schedule(this.prng.int(0, this.latency.maxMs), () => {
        if (this.disk.currentEpoch !== this.epoch) return;
        this.disk.stateDurableTo(count);
        resolve();
      });
    });
  }

  writeAtomicallySync(bytes: Buffer): void {
    this.disk.writeStateDurably(bytes);
  }
}
