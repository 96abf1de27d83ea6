/**
 * What a replica serves to a peer restoring committed entries (replica-read-committed,
 * src/broker/replica-repair.ts) must be committed entries as its log stores them. Raft's commit
 * index runs ahead of the stored log on a follower that has just taken an Append: the new
 * entries are committed in memory while the log still holds, at those indices, a deposed
 * leader's entries that were never committed, until the Ready writes the new ones. Served up to
 * the commit index, those stale entries would be appended by the peer as committed ones.
 */
import test from 'ava';
import { servableCommitIndex } from '../../src/broker/replica-repair.js';
import { logIndex, nodeId, type Term, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { MemoryRaftStorage } from '../../src/raft/storage.js';
import { type Entry, EntryType, MessageType, message, NO_NODE } from '../../src/raft/types.js';

function noop(index: number, entryTerm: Term): Entry {
  return { index: logIndex(index), term: entryTerm, type: EntryType.Noop, data: new Uint8Array(0) };
}

test('a follower never serves as committed the stale entries an Append is replacing', (t) => {
  // Node 2 stores entries 2..5 of term 2; only 2..3 are committed. Entries 4 and 5 were written
  // by a leader of term 2 that was deposed before they committed.
  const storage = new MemoryRaftStorage({ voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] });
  storage.append([noop(2, term(2)), noop(3, term(2)), noop(4, term(2)), noop(5, term(2))]);
  storage.setHardState({ term: term(2), vote: NO_NODE, commit: logIndex(3) });
  const node = new RawNode({ id: nodeId(2), storage, prng: new Prng(2) });
  const committedTerms = new Map<number, Term>([
    [2, term(2)],
    [3, term(2)],
    [4, term(3)],
    [5, term(3)],
  ]);
  /** Each index up to what the replica would serve holds the committed entry in its storage. */
  const servesOnlyCommitted = (when: string): void => {
    const upTo = servableCommitIndex(node.status()) ?? 0;
    for (let index = storage.firstIndex(); index <= upTo; index++)
      t.is(
        storage.term(logIndex(index)),
        committedTerms.get(index),
        `${when}: entry ${index} served (up to ${upTo}) is not the committed one`,
      );
  };
  servesOnlyCommitted('at start');

  // The leader of term 3 replaces 4 and 5 and says they are committed.
  node.step(
    message({
      type: MessageType.Append,
      from: nodeId(3),
      to: nodeId(2),
      term: term(3),
      index: logIndex(3),
      logTerm: term(2),
      entries: [noop(4, term(3)), noop(5, term(3))],
      commit: logIndex(5),
    }),
  );
  t.is(node.status().commit, logIndex(5), 'committed in memory before the Ready is written');
  servesOnlyCommitted('before the Ready is written');

  while (node.hasReady()) {
    const ready = node.ready();
    storage.append(ready.entries);
    if (ready.hardState) storage.setHardState(ready.hardState);
    node.advance();
  }
  t.is(servableCommitIndex(node.status()), 5, 'once written and applied, everything committed is served');
  servesOnlyCommitted('after the Ready');
});
