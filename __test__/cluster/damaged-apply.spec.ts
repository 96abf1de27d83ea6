/**
 * A committed entry whose batch rotted on disk after it was written, read back by Raft to be
 * applied (a restart replays the last committed entries; a follower applies what it stored
 * earlier). NativeLog.readEntries returns a damaged batch as read when it is the first one asked
 * for, so that a leader has something to send (the follower refuses it). Raft's apply path asks
 * for the same entries through the same storage call; before, the damaged batch reached the
 * state machine as a committed entry (the partition's producer state, its log start, its consumer
 * groups' records and the term history took its bytes). Now storage marks it `damaged` and Raft
 * holds applying there until it is repaired from a peer; a replica with no peer gets it marked.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { logIndex, nodeId } from '../../src/lib/ids.js';
import { DAMAGED_HOLDS_MAX, type DamagedEntryPolicy, RaftLog } from '../../src/raft/log.js';
import { type Entry, EntryType } from '../../src/raft/types.js';
import { verifyStoredBatch } from '../../src/storage/native-log.js';
import { tempDir } from '../storage/helpers.js';
import { logWithRottedBatch } from './fixtures/rotted-log.js';

/** Whether `entry`'s batch passes the storage core's checks. */
function whole(entry: Entry): boolean {
  try {
    verifyStoredBatch(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
    return true;
  } catch {
    return false;
  }
}

/** A log of 40 batches over several segments, one batch of a sealed segment flipped; the storage over it. */
function damagedLog(t: ExecutionContext) {
  const temp = tempDir('goqueue-damaged-apply-');
  t.teardown(temp.remove);
  const directory = join(temp.dir, 'partition');
  const { log, damagedIndex, original } = logWithRottedBatch(t, directory);
  const storage = new DurableRaftStorage({
    log,
    dir: directory,
    initialConfState: { voters: [nodeId(1)], learners: [] },
    fsync: false,
  });
  t.true(storage.lastIndex() > damagedIndex);
  // A replica restarting with entries up to the end committed, applied up to two before the damage.
  const raftLog = new RaftLog(storage, logIndex(damagedIndex - 2));
  raftLog.commitTo(storage.lastIndex());
  return { log, storage, raftLog, damagedIndex, original };
}

/** Applies what `raftLog` hands over until it holds or runs out; returns the entries. */
function applyAll(raftLog: RaftLog, holdDamaged: DamagedEntryPolicy): Entry[] {
  const applied: Entry[] = [];
  for (let round = 0; round < 100 && raftLog.hasNextCommittedEntries(); round++) {
    const entries = raftLog.nextCommittedEntries(1 << 20, holdDamaged);
    if (entries.length === 0) break;
    applied.push(...entries);
    raftLog.appliedTo(entries[entries.length - 1]!.index);
  }
  return applied;
}

test('Raft holds a committed entry whose batch rotted on disk back from the state machine until it is repaired', (t) => {
  const { log, storage, raftLog, damagedIndex, original } = damagedLog(t);
  const before = applyAll(raftLog, 'hold');
  t.deepEqual(
    before.filter((entry) => !whole(entry)).map((entry) => entry.index),
    [],
    `entries handed over to be applied that fail their CRC32C (damaged at ${damagedIndex})`,
  );
  t.is(raftLog.applied as number, damagedIndex - 1, 'applying stops just before the damaged entry');
  t.is(raftLog.heldDamaged as number | undefined, damagedIndex);
  t.false(raftLog.hasNextCommittedEntries(), 'a held entry gives the host no work (no busy loop)');

  // Read again before the repair: held again.
  raftLog.releaseDamaged();
  t.deepEqual(applyAll(raftLog, 'hold'), []);
  t.is(raftLog.heldDamaged as number | undefined, damagedIndex);

  // The batch as a peer holds it is written back; released, the rest is applied, all whole.
  t.true(log.repairBatch(logIndex(damagedIndex), original));
  raftLog.releaseDamaged();
  const after = applyAll(raftLog, 'hold');
  t.is(after[0]?.index, damagedIndex);
  t.is(raftLog.applied, storage.lastIndex());
  t.deepEqual(
    after.filter((entry) => !whole(entry) || entry.damaged === true).map((entry) => entry.index),
    [],
  );
});

test('a replica with no peer to repair from is handed the damaged entry alone and marked, never as a whole one', (t) => {
  const { raftLog, storage, damagedIndex } = damagedLog(t);
  const applied = applyAll(raftLog, 'pass');
  t.is(raftLog.applied, storage.lastIndex(), 'applying goes on past it');
  const damaged = applied.filter((entry) => !whole(entry));
  t.deepEqual(
    damaged.map((entry) => ({ index: entry.index, damaged: entry.damaged, type: entry.type })),
    [{ index: damagedIndex, damaged: true, type: EntryType.Normal }],
  );
  t.is(damaged[0]?.term, 1 as never, "its term is the log term map's, not read from its bytes");
});

test('with only learners to repair from, a damaged entry is held for a bounded number of reads, then handed over marked', (t) => {
  const { raftLog, storage, damagedIndex } = damagedLog(t);
  for (let read = 0; read < DAMAGED_HOLDS_MAX; read++) {
    t.deepEqual(
      applyAll(raftLog, 'bounded').filter((entry) => entry.index >= damagedIndex),
      [],
      `read ${read + 1}: held`,
    );
    t.is(raftLog.heldDamaged as number | undefined, damagedIndex);
    raftLog.releaseDamaged();
  }
  const applied = applyAll(raftLog, 'bounded');
  t.is(applied[0]?.index as number | undefined, damagedIndex);
  t.true(applied[0]?.damaged === true);
  t.is(raftLog.applied, storage.lastIndex());
});
