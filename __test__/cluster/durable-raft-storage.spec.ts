import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  DurableRaftStorage,
  RAFT_STATE_FILE,
  RaftStorageError,
} from '../../src/cluster/durable-raft-storage.js';
import { kafkaOffset, type LogIndex, logIndex, nodeId, type Term, term } from '../../src/lib/ids.js';
import { type Entry, EntryType } from '../../src/raft/types.js';
import { producerBatch, producerBatchValue } from './fixtures/batches.js';
import { FileLog } from './fixtures/file-log.js';

const confState = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] };

function withDir(run: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goqueue-raft-storage-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function openStorage(dir: string): DurableRaftStorage {
  return new DurableRaftStorage({ log: new FileLog(join(dir, 'log')), dir, initialConfState: confState });
}

const normal = (index: number, entryTerm: number, value: string): Entry => ({
  index: logIndex(index),
  term: term(entryTerm),
  type: EntryType.Normal,
  data: producerBatch(Buffer.from(value)),
});

function describe(entries: Entry[]): Array<[LogIndex, Term, EntryType, string]> {
  return entries.map((e) => [
    e.index,
    e.term,
    e.type,
    e.type === EntryType.Normal ? producerBatchValue(e.data).toString() : Buffer.from(e.data).toString(),
  ]);
}

test('entries of every type, term, vote and commit survive a reopen from disk', async (t) => {
  await withDir(async (dir) => {
    const storage = openStorage(dir);
    t.deepEqual(
      storage.initialState(),
      { confState, hardState: { term: 1, vote: 0, commit: 1 } },
      'a new group starts from the bootstrap snapshot: its membership at index 1, term 1',
    );
    t.is(storage.firstIndex(), logIndex(2), 'the first real entry is index 2');
    storage.append([
      { index: logIndex(2), term: term(1), type: EntryType.Noop, data: new Uint8Array(0) },
      normal(3, 1, 'a'),
      normal(4, 2, 'b'),
      { index: logIndex(5), term: term(2), type: EntryType.ConfChange, data: Buffer.from('change') },
    ]);
    t.is(await storage.sync(), logIndex(5));
    await storage.saveHardState({ term: term(2), vote: nodeId(3), commit: logIndex(4) });
    await storage.close();

    const reopened = openStorage(dir);
    t.deepEqual(reopened.initialState().hardState, { term: 2, vote: 3, commit: 4 });
    t.deepEqual(reopened.initialState().confState, confState);
    t.is(reopened.firstIndex(), logIndex(2));
    t.is(reopened.lastIndex(), logIndex(5));
    t.is(reopened.term(logIndex(1)), term(1), 'the bootstrap snapshot answers for index 1');
    t.is(reopened.term(logIndex(4)), term(2));
    t.deepEqual(describe(reopened.entries(logIndex(2), logIndex(6), 1 << 20)), [
      [2, 1, EntryType.Noop, ''],
      [3, 1, EntryType.Normal, 'a'],
      [4, 2, EntryType.Normal, 'b'],
      [5, 2, EntryType.ConfChange, 'change'],
    ]);
    // Every entry took one Kafka offset, in index order, starting at 0.
    t.deepEqual(
      [2, 3, 4, 5].map((i) => reopened.log.offsetAt(logIndex(i))),
      [0, 1, 2, 3],
    );
    await reopened.close();
  })();
});

test('appending at an index already stored replaces the conflicting suffix and keeps offsets contiguous', async (t) => {
  await withDir(async (dir) => {
    const storage = openStorage(dir);
    storage.append([normal(2, 1, 'a'), normal(3, 1, 'b'), normal(4, 1, 'c'), normal(5, 1, 'd')]);
    storage.append([normal(4, 2, 'x'), normal(5, 2, 'y'), normal(6, 2, 'z')]);
    await storage.sync();
    // Term 2 is stored, as a node does before it acknowledges entries of that term (a restart
    // drops entries of a term beyond the stored one).
    await storage.saveHardState({ ...storage.hardState, term: term(2) });
    await storage.close();
    const reopened = openStorage(dir);
    t.deepEqual(
      describe(reopened.entries(logIndex(2), logIndex(7), 1 << 20)).map(([i, tm, , v]) => [i, tm, v]),
      [
        [2, 1, 'a'],
        [3, 1, 'b'],
        [4, 2, 'x'],
        [5, 2, 'y'],
        [6, 2, 'z'],
      ],
    );
    t.is(reopened.log.nextOffset, kafkaOffset(5));
    await reopened.close();
  })();
});

test('a corrupt state file refuses to open and a leftover temporary file is ignored', async (t) => {
  await withDir(async (dir) => {
    const storage = openStorage(dir);
    await storage.saveHardState({ term: term(7), vote: nodeId(2), commit: logIndex(0) });
    await storage.close();
    writeFileSync(join(dir, `${RAFT_STATE_FILE}.tmp`), 'half-written garbage');
    const reopened = openStorage(dir);
    t.is(reopened.initialState().hardState.term, term(7));
    await reopened.close();

    const bytes = readFileSync(join(dir, RAFT_STATE_FILE));
    bytes[6] = (bytes[6] as number) ^ 0xff;
    writeFileSync(join(dir, RAFT_STATE_FILE), bytes);
    const error = t.throws(() => openStorage(dir), { instanceOf: RaftStorageError });
    t.regex(error?.message ?? '', /CRC/);
  })();
});

test('a burst of hard state saves all resolve and the file ends with the last one', async (t) => {
  await withDir(async (dir) => {
    const storage = openStorage(dir);
    const saves = Array.from({ length: 100 }, (_, i) =>
      storage.saveHardState({ term: term(1), vote: nodeId(1), commit: logIndex(i + 1) }),
    );
    await Promise.all(saves);
    await storage.close();
    const reopened = openStorage(dir);
    t.deepEqual(reopened.initialState().hardState, { term: 1, vote: 1, commit: 100 });
    await reopened.close();
  })();
});

test('a joining node that saved its term and vote before receiving any snapshot reopens (smallest state file)', async (t) => {
  await withDir(async (dir) => {
    const joining = { voters: [], learners: [] };
    const storage = new DurableRaftStorage({
      log: new FileLog(join(dir, 'log')),
      dir,
      initialConfState: joining,
    });
    await storage.saveHardState({ term: term(5), vote: nodeId(2), commit: logIndex(0) });
    await storage.close();
    const reopened = new DurableRaftStorage({
      log: new FileLog(join(dir, 'log')),
      dir,
      initialConfState: joining,
    });
    t.deepEqual(reopened.initialState(), {
      hardState: { term: 5, vote: 2, commit: 0 },
      confState: joining,
    });
    await reopened.close();
  })();
});

test('a replica added back empty keeps, across a reopen, the change that added it (the membership of its installed snapshot)', async (t) => {
  // docs/raft.md, Membership, rule 6: lost on a restart, it would let the node campaign on its
  // deleted predecessor's seat in the bootstrap membership.
  await withDir(async (dir) => {
    const joining = { voters: [], learners: [] };
    const open = () =>
      new DurableRaftStorage({ log: new FileLog(join(dir, 'log')), dir, initialConfState: joining });
    const storage = open();
    const addedAt = { index: logIndex(7), term: term(3) };
    const installed = { voters: [nodeId(1)], learners: [], addedAt };
    await storage.applySnapshot({
      metadata: { index: logIndex(1), term: term(1), confState: installed },
      data: new Uint8Array(0),
    });
    await storage.close();
    const reopened = open();
    t.deepEqual(reopened.initialState().confState, installed);
    await reopened.close();
  })();
});
