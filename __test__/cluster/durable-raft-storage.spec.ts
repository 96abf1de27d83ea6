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
      storage.initialState().confState,
      confState,
      'a new group starts from its initial membership',
    );
    storage.append([
      { index: logIndex(1), term: term(1), type: EntryType.Noop, data: new Uint8Array(0) },
      normal(2, 1, 'a'),
      normal(3, 2, 'b'),
      { index: logIndex(4), term: term(2), type: EntryType.ConfChange, data: Buffer.from('change') },
    ]);
    t.is(await storage.sync(), logIndex(4));
    await storage.saveHardState({ term: term(2), vote: nodeId(3), commit: logIndex(3) });
    await storage.close();

    const reopened = openStorage(dir);
    t.deepEqual(reopened.initialState().hardState, { term: 2, vote: 3, commit: 3 });
    t.is(reopened.firstIndex(), logIndex(1));
    t.is(reopened.lastIndex(), logIndex(4));
    t.is(reopened.term(logIndex(0)), term(0));
    t.is(reopened.term(logIndex(3)), term(2));
    t.deepEqual(describe(reopened.entries(logIndex(1), logIndex(5), 1 << 20)), [
      [1, 1, EntryType.Noop, ''],
      [2, 1, EntryType.Normal, 'a'],
      [3, 2, EntryType.Normal, 'b'],
      [4, 2, EntryType.ConfChange, 'change'],
    ]);
    // Every entry took one Kafka offset, in index order.
    t.deepEqual(
      [1, 2, 3, 4].map((i) => reopened.log.offsetAt(logIndex(i))),
      [0, 1, 2, 3],
    );
    await reopened.close();
  })();
});

test('appending at an index already stored replaces the conflicting suffix and keeps offsets contiguous', async (t) => {
  await withDir(async (dir) => {
    const storage = openStorage(dir);
    storage.append([normal(1, 1, 'a'), normal(2, 1, 'b'), normal(3, 1, 'c'), normal(4, 1, 'd')]);
    storage.append([normal(3, 2, 'x'), normal(4, 2, 'y'), normal(5, 2, 'z')]);
    await storage.sync();
    await storage.close();
    const reopened = openStorage(dir);
    t.deepEqual(
      describe(reopened.entries(logIndex(1), logIndex(6), 1 << 20)).map(([i, tm, , v]) => [i, tm, v]),
      [
        [1, 1, 'a'],
        [2, 1, 'b'],
        [3, 2, 'x'],
        [4, 2, 'y'],
        [5, 2, 'z'],
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
