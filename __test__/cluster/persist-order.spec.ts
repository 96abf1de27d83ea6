/**
 * The Ready contract's persistence order through MultiRaftNode and DurableRaftStorage: a group's
 * entries are durable before any HardState whose commit covers them is written (DESIGN §6,
 * "Persist before you tell"). A state file that names a commit index beyond the durable log is
 * what a power loss turns into stale applied entries or a node that cannot restart.
 *
 * The log's fsync is held open by the test, and every state-file write is checked against what
 * the log has made durable at that instant.
 */
import test from 'ava';
import { DurableRaftStorage, decodeRaftState } from '../../src/cluster/durable-raft-storage.js';
import { type MultiRaftDefect, MultiRaftNode } from '../../src/cluster/multi-raft-node.js';
import type { RaftScheduler } from '../../src/cluster/raft-scheduler.js';
import type { RaftStateFile } from '../../src/cluster/raft-state-file.js';
import type { RaftTransport } from '../../src/cluster/raft-transport.js';
import { type KafkaOffset, type LogIndex, logIndex, nodeId, type Term } from '../../src/lib/ids.js';
import { StateRole } from '../../src/raft/types.js';
import { MemoryLog } from '../../src/storage/memory-log.js';
import type { AppendResult, PartitionLog } from '../../src/storage/partition-log.js';
import { producerBatch } from './fixtures/batches.js';

/** A MemoryLog whose fsyncs complete only when the test releases them; counts syncs. */
class GatedLog implements PartitionLog {
  private readonly inner = new MemoryLog();
  private durable = 0;
  private readonly waiting: Array<{ target: number; resolve(index: LogIndex): void }> = [];
  syncs = 0;

  get syncPending(): boolean {
    return this.waiting.length > 0;
  }
  /** Completes every fsync in flight. */
  release(): void {
    for (const { target, resolve } of this.waiting.splice(0)) {
      this.durable = Math.max(this.durable, target);
      resolve(logIndex(this.durable));
    }
  }
  private idle(): MemoryLog {
    // Like the native log: no call while an fsync runs off the JS thread.
    if (this.syncPending) throw new Error('log touched during its sync');
    return this.inner;
  }
  get firstIndex() {
    return this.inner.firstIndex;
  }
  get lastIndex() {
    return this.inner.lastIndex;
  }
  get durableIndex() {
    return logIndex(Math.min(this.durable, this.inner.lastIndex));
  }
  get logStartOffset() {
    return this.inner.logStartOffset;
  }
  get nextOffset() {
    return this.inner.nextOffset;
  }
  get sizeBytes() {
    return this.inner.sizeBytes;
  }
  append(batches: readonly Buffer[]): AppendResult {
    return this.idle().append(batches);
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
  }
  truncateBefore(index: LogIndex): LogIndex {
    return this.idle().truncateBefore(index);
  }
  reset(firstIndex: LogIndex, nextOffset: KafkaOffset): void {
    this.idle().reset(firstIndex, nextOffset);
    this.durable = firstIndex - 1;
  }
  sync(): Promise<LogIndex> {
    this.syncs++;
    const target = this.inner.lastIndex;
    return new Promise((resolve) => this.waiting.push({ target, resolve }));
  }
  async close(): Promise<void> {}
}

/** An in-memory state file that checks each write's commit index against the durable log. */
class CheckedStateFile implements RaftStateFile {
  bytes: Buffer | null = null;
  readonly writes: Array<{ term: number; commit: number; durable: number }> = [];
  constructor(private readonly log: GatedLog) {}
  read(): Buffer | null {
    return this.bytes;
  }
  async writeAtomically(bytes: Buffer): Promise<void> {
    // From here on a power loss may keep this content: it must not run ahead of the log.
    const { hardState } = decodeRaftState(bytes);
    this.writes.push({ term: hardState.term, commit: hardState.commit, durable: this.log.durableIndex });
    this.bytes = bytes;
  }
  async sync(): Promise<void> {}
  writeAtomicallySync(bytes: Buffer): void {
    this.bytes = bytes;
  }
}

const noTransport: RaftTransport = {
  onMessage() {},
  onPeerDisconnected() {},
  send: () => false,
  flush() {},
};

/** Ticks only when the test says so; flushes run on setImmediate as in production. */
class ManualScheduler implements RaftScheduler {
  private tickers: Array<() => void> = [];
  repeat(_intervalMs: number, callback: () => void): () => void {
    this.tickers.push(callback);
    return () => {
      this.tickers = this.tickers.filter((t) => t !== callback);
    };
  }
  soon(callback: () => void): void {
    setImmediate(callback);
  }
  tick(): void {
    for (const ticker of this.tickers) ticker();
  }
}

async function until(probe: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (probe()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A one-voter group: an election (term + vote + commit), then a write (commit only). */
async function runScenario(defects: ReadonlySet<MultiRaftDefect>) {
  const log = new GatedLog();
  const stateFile = new CheckedStateFile(log);
  const storage = new DurableRaftStorage({
    log,
    stateFile,
    initialConfState: { voters: [nodeId(1)], learners: [] },
    wallMs: () => 0,
  });
  const scheduler = new ManualScheduler();
  const node = new MultiRaftNode({
    nodeId: nodeId(1),
    transport: noTransport,
    seed: 1,
    scheduler,
    commitSaveTicks: 1,
    raft: { electionTicks: 10, heartbeatTicks: 1 },
    testOnlyDefects: defects,
  });
  node.addGroup(1, storage);
  node.start();
  node.campaign(1);
  // The election's Ready: the leader's no-op (index 2) and HardState {term 2, vote 1, commit 2}.
  await until(() => log.syncPending, 'the no-op is being synced');
  await settle();
  log.release();
  await until(() => node.status(1)?.role === StateRole.Leader, 'leader');
  await settle();
  // A write: its Ready moves only the commit index, which is saved lazily on a tick.
  const committed = node.propose(1, producerBatch(Buffer.from('a')));
  await until(() => log.syncPending, 'the write is being synced');
  scheduler.tick(); // the commit-save timer fires while the fsync runs
  await settle();
  log.release();
  const placed = await committed;
  scheduler.tick(); // and again once it is durable
  await settle();
  await node.close();
  return { log, writes: stateFile.writes, placed };
}

test('a HardState is written only after the log entries its commit index covers are durable (election and commit-only saves)', async (t) => {
  const { log, writes, placed } = await runScenario(new Set());
  for (const write of writes)
    t.true(
      write.commit <= write.durable,
      `state written with commit ${write.commit} while the log was durable to ${write.durable}`,
    );
  t.is(placed.index, logIndex(3));
  t.is(writes[0]?.term, 2, 'the new term and vote were saved');
  t.is(writes.at(-1)?.commit, 3, 'the commit index of the write was saved behind, once durable');
  t.is(log.syncs, 2, 'one log fsync per flush with new entries');
  t.is(writes.length, 2, 'the state file only for the term change and the lazy commit save');
});

test('the planted defect (HardState written beside the log fsync) is caught by the same check', async (t) => {
  const { writes } = await runScenario(new Set(['hard-state-with-entries']));
  const early = writes.filter((w) => w.commit > w.durable);
  t.true(early.length > 0, 'a state write ran ahead of the durable log');
});
