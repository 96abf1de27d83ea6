import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { type LogIndex, logIndex, nodeId, term } from '../../src/lib/ids.js';
import { type Entry, EntryType } from '../../src/raft/types.js';
import { producerBatch } from './fixtures/batches.js';
import { FileLog } from './fixtures/file-log.js';

/** A FileLog that counts the syncs that reach it. */
class CountingLog extends FileLog {
  syncs = 0;
  override sync(): Promise<LogIndex> {
    this.syncs++;
    return super.sync();
  }
}

const normal = (index: number): Entry => ({
  index: logIndex(index),
  term: term(1),
  type: EntryType.Normal,
  data: producerBatch(Buffer.from(`v${index}`)),
});

function relaxedStorage(t: import('ava').ExecutionContext, relaxedSyncIntervalMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'goqueue-relaxed-sync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = { nowMs: 0 };
  const log = new CountingLog(join(dir, 'log'));
  const storage = new DurableRaftStorage({
    log,
    dir,
    initialConfState: { voters: [nodeId(1)], learners: [] },
    fsync: false,
    relaxedSyncIntervalMs,
    nowMs: () => clock.nowMs,
  });
  t.teardown(() => storage.close());
  return { storage, log, clock };
}

test('flush_interval with fsync off: a sync round syncs the log only once the interval has passed since its last sync', async (t) => {
  const { storage, log, clock } = relaxedStorage(t, 5_000);
  const rounds: Array<[number, number]> = [];
  for (const [index, atMs] of [
    [2, 1_000],
    [3, 4_999],
    [4, 5_000],
    [5, 9_000],
    [6, 10_500],
  ] as const) {
    clock.nowMs = atMs;
    storage.append([normal(index)]);
    // Every round answers at once with the appended index: acknowledgements never wait for
    // the interval, only a due round waits for its one fsync.
    t.is(await storage.sync(), logIndex(index));
    rounds.push([atMs, log.syncs]);
  }
  t.deepEqual(rounds, [
    [1_000, 0],
    [4_999, 0],
    [5_000, 1],
    [9_000, 1],
    [10_500, 2],
  ]);
});

test('flush_interval 0 with fsync off never syncs on purpose', async (t) => {
  const { storage, log, clock } = relaxedStorage(t, 0);
  for (const index of [2, 3, 4]) {
    clock.nowMs += 60_000;
    storage.append([normal(index)]);
    await storage.sync();
  }
  t.is(log.syncs, 0);
});
