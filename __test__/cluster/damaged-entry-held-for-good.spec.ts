/**
 * A Raft group with another voter holds a committed entry whose batch rotted on disk back from
 * its state machine until the scrubber's repair (ReplicaRepair) rewrites it from a peer's copy.
 * Two groups where that hold once lasted for good:
 *
 * - the controller's own log (`<dataDir>/controller`): ReplicaRepair repaired partition logs only.
 *   A controller replica whose log held a damaged committed entry after its last metadata
 *   snapshot (the span every restart replays) stopped its metadata there; as controller leader it
 *   never applied its own first entry, so every command failed. It is now repaired like a
 *   partition's, from any other broker;
 * - a partition's sole voter whose other member is a learner still catching up: a committed entry
 *   is stored on a quorum of voters, not on learners. The learner cannot answer the repair, nor
 *   receive the entry (the follower refuses the leader's damaged copy: entry-integrity.ts), so
 *   the voter stopped applying (produce acknowledgements, high watermark). Only another voter
 *   now makes Raft hold; a sole voter applies the entry marked damaged.
 *
 * The first case is the control: a partition replica whose peer voter holds a healthy copy.
 */
import { join } from 'node:path';
import test from 'ava';
import { withoutDamagedAppends } from '../../src/cluster/entry-integrity.js';
import { logIndex, nodeId, type Term } from '../../src/lib/ids.js';
import { MessageType, message } from '../../src/raft/types.js';
import { verifyStoredBatch } from '../../src/storage/native-log.js';
import { applyWithRetries, replicaWithRottedEntry } from './fixtures/rotted-replica.js';

test('a partition replica holding a rotted committed entry applies past it once repaired from a peer', async (t) => {
  const { node, storage, damagedIndex } = await replicaWithRottedEntry(t, join('partitions', 'topic-0'));
  await applyWithRetries(node);
  t.true(node.status().applied > damagedIndex);
  t.is(node.status().applied, storage.lastIndex());
  t.is(node.heldDamagedIndex(), undefined);
});

test('a controller replica holding a rotted committed entry applies past it once repaired from a peer (the controller log was never repaired: it held for good)', async (t) => {
  const { node, storage, damagedIndex } = await replicaWithRottedEntry(t, 'controller');
  await applyWithRetries(node);
  t.is(
    node.status().applied,
    storage.lastIndex(),
    `controller replica stuck before entry ${damagedIndex} (held: ${node.heldDamagedIndex()})`,
  );
});

test('a sole voter whose only other member is a learner lacking the entry applies past a rotted committed entry, marked damaged (it held for good: no copy can come)', async (t) => {
  const { node, storage, damagedIndex, damagedAsRead } = await replicaWithRottedEntry(
    t,
    join('partitions', 'topic-0'),
    { voters: [nodeId(1)], learners: [nodeId(2)] },
    false,
  );
  // The learner cannot get the entry from the leader either: its Append is refused.
  const append = message({
    type: MessageType.Append,
    from: nodeId(1),
    to: nodeId(2),
    term: 1 as Term,
    index: logIndex(damagedIndex - 1),
    logTerm: 1 as Term,
    entries: [damagedAsRead],
  });
  const filtered = withoutDamagedAppends(
    {
      from: nodeId(1),
      to: nodeId(2),
      messages: [{ group: 1, message: append }],
      heartbeats: [],
      heartbeatResponses: [],
    },
    verifyStoredBatch,
  );
  t.is(filtered.refused.length, 1, 'the learner refuses the damaged entry the voter sends');
  await applyWithRetries(node);
  t.is(
    node.status().applied,
    storage.lastIndex(),
    `sole voter stuck before entry ${damagedIndex} (held: ${node.heldDamagedIndex()})`,
  );
});
