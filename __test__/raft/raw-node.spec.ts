/**
 * RawNode's contract with its host, beyond what the scripted interaction tests show: what a
 * node refuses to start from, and the methods a host uses instead of reaching into the core.
 */
import test from 'ava';
import { AssertionError } from '../../src/lib/assert.js';
import { logIndex, nodeId, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { MemoryRaftStorage } from '../../src/raft/storage.js';
import { EntryType, NO_NODE } from '../../src/raft/types.js';

function storageWithLog(lastIndex: number): MemoryRaftStorage {
  const storage = new MemoryRaftStorage({ voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] });
  const entries = [];
  for (let index = 2; index <= lastIndex; index++)
    entries.push({ index: logIndex(index), term: term(2), type: EntryType.Noop, data: new Uint8Array(0) });
  storage.append(entries);
  return storage;
}

test('a stored commit index beyond the stored log stops the node at start instead of being clamped', (t) => {
  // The HardState (commit 5) reached the disk, the entries 4 and 5 it covers did not: the
  // host broke "entries before the HardState" (or the disk lost synced data).
  const storage = storageWithLog(3);
  storage.setHardState({ term: term(2), vote: NO_NODE, commit: logIndex(5) });
  const error = t.throws(() => new RawNode({ id: nodeId(1), storage, prng: new Prng(1) }), {
    instanceOf: AssertionError,
  });
  t.regex(error.message, /stored commit 5 is beyond the stored log \(last index 3\)/);
});

test('a stored commit index within the stored log is restored as it is', (t) => {
  const storage = storageWithLog(5);
  storage.setHardState({ term: term(2), vote: NO_NODE, commit: logIndex(4) });
  const node = new RawNode({ id: nodeId(1), storage, prng: new Prng(1) });
  t.is(node.status().commit, logIndex(4));
});
