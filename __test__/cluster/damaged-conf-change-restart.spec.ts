/**
 * At restart a Raft group rebuilds its membership from every ConfChange entry of its stored log
 * (MembershipHistory.fromStorage), read through the storage. A stored entry whose batch rotted
 * on disk is handed over marked `damaged`, typed Normal, since its bytes cannot be trusted to tell
 * what it was. A rotted ConfChange was then passed over without a word: the replica restarted
 * with a membership its peers do not have (here it forgot the learner it added); before the
 * `damaged` mark the rotted bytes were decoded instead (learner 35 in place of 3), as silently.
 * With another voter to repair it from, the group now refuses to open (DamagedEntryError) until
 * the repair the read asked for has rewritten it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { logIndex, nodeId, type Term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { ConfChangeType, encodeConfChange } from '../../src/raft/conf-change.js';
import { DamagedEntryError } from '../../src/raft/errors.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { type ConfState, type Entry, EntryType } from '../../src/raft/types.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { batchRun, tempDir } from '../storage/helpers.js';

/**
 * A log of ten batches, a membership change adding learner 3, twenty batches (over many
 * segments), committed; and where the change's batch lies in its segment file.
 */
async function logWithConfChange(t: ExecutionContext) {
  const temp = tempDir('goqueue-damaged-conf-change-');
  t.teardown(temp.remove);
  const log = NativeLog.open(temp.dir, { segmentBytes: 1024, indexIntervalBytes: 256, maxBatchBytes: 1024 });
  t.teardown(() => log.close());
  const bootstrap: ConfState = { voters: [nodeId(1), nodeId(2)], learners: [] };
  const options = { log, dir: temp.dir, initialConfState: bootstrap, fsync: false, wallMs: () => -1 };
  const storage = new DurableRaftStorage(options);
  let index = storage.lastIndex() + 1;
  const normal = (data: Buffer): Entry => ({
    index: logIndex(index++),
    term: 1 as Term,
    type: EntryType.Normal,
    data,
  });
  const entries: Entry[] = batchRun({ count: 10, valueBytes: 60 }).map(normal);
  const changeIndex = logIndex(index++);
  entries.push({
    index: changeIndex,
    term: 1 as Term,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddLearner, node: nodeId(3) }),
  });
  entries.push(...batchRun({ count: 20, valueBytes: 60 }).map(normal));
  storage.append(entries);
  await storage.sync();
  await storage.saveHardState({ term: 1 as Term, vote: nodeId(0), commit: storage.lastIndex() });
  const stored = log.readEntries(changeIndex, changeIndex, 0)[0]!;
  const segment = readdirSync(temp.dir)
    .filter((name) => name.endsWith('.log'))
    .map((name) => join(temp.dir, name))
    .find((path) => readFileSync(path).includes(stored))!;
  /** Flips `mask` in byte `at` of the change's batch, in its (sealed) segment file. */
  const flip = (at: number, mask: number): void => {
    const bytes = readFileSync(segment);
    bytes[bytes.indexOf(stored) + at]! ^= mask;
    writeFileSync(segment, bytes);
  };
  return { options, storage, changeIndex, length: stored.length, flip };
}

test('a replica whose stored ConfChange rotted on disk does not restart with a membership that silently lacks it', async (t) => {
  const { options, storage, length, flip } = await logWithConfChange(t);
  const before = new RawNode({ id: nodeId(1), storage, prng: new Prng(1) }).status().confState;
  t.deepEqual(before.learners, [nodeId(3)], 'the change is in force before the damage');
  // One bit of the change's node id flips.
  flip(length - 2, 0x20);
  // The restart's membership scan, over the same log.
  let after: ConfState;
  try {
    after = new RawNode({
      id: nodeId(1),
      storage: new DurableRaftStorage(options),
      prng: new Prng(1),
    }).status().confState;
  } catch (error) {
    t.true(error instanceof DamagedEntryError, `refused with ${(error as Error).message}`);
    return;
  }
  t.deepEqual(after, before, 'the replica restarted with another membership');
});

// partitionLeaderEpoch lies outside the CRC: a rot there leaves the batch readable, and its
// type must survive, or a leader sends the change as data and its follower misses it.
test('a stored ConfChange whose epoch rotted is still read as a membership change, marked damaged, with the term map’s term', async (t) => {
  const { options, changeIndex, flip } = await logWithConfChange(t);
  flip(15, 0x04);
  const entry = new DurableRaftStorage(options).entries(changeIndex, logIndex(changeIndex + 1), 0)[0]!;
  t.like(entry, { index: changeIndex, type: EntryType.ConfChange, term: 1 as Term, damaged: true });
});
