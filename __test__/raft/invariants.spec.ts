/**
 * The invariants docs/raft.md lists are asserted where they can break, not only described:
 * a broken one stops the node with an AssertionError instead of corrupting state quietly.
 */
import test from 'ava';
import { AssertionError } from '../../src/lib/assert.js';
import { logIndex, term } from '../../src/lib/ids.js';
import { UnstableLog } from '../../src/raft/log.js';
import { Progress } from '../../src/raft/progress.js';
import { type Entry, EntryType } from '../../src/raft/types.js';

function entries(first: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: logIndex(first + i),
    term: term(1),
    type: EntryType.Normal,
    data: new Uint8Array(0),
  }));
}

test('Progress: match < next holds through every change, and indexes that break it are refused', (t) => {
  const progress = new Progress(logIndex(6), 4, false);
  progress.maybeUpdate(logIndex(8));
  t.true(progress.match < progress.next);
  progress.becomeReplicate();
  progress.sentEntries(2, logIndex(10));
  t.deepEqual([progress.match, progress.next], [logIndex(8), logIndex(11)]);
  t.throws(() => progress.resetIndexes(logIndex(5), logIndex(5)), {
    instanceOf: AssertionError,
    message: /match 5 not below next 5/,
  });
  t.throws(() => new Progress(logIndex(0), 4, false), { instanceOf: AssertionError });
});

test('UnstableLog: entries[i].index === offset + i; a gap or a non-contiguous append is refused', (t) => {
  const unstable = new UnstableLog(logIndex(5));
  unstable.truncateAndAppend(entries(5, 3));
  unstable.truncateAndAppend(entries(7, 2)); // replaces 7, appends 8
  t.deepEqual(
    unstable.entries.map((e) => e.index),
    [5, 6, 7, 8].map(logIndex),
  );
  t.throws(() => unstable.truncateAndAppend(entries(10, 1)), {
    instanceOf: AssertionError,
    message: /append at 10 leaves a gap after 8/,
  });
  const broken = [...entries(9, 1), ...entries(11, 1)];
  t.throws(() => unstable.truncateAndAppend(broken), {
    instanceOf: AssertionError,
    message: /not contiguous at 11/,
  });
});
