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
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { RpcError } from '../../src/broker/controller-rpc.js';
import { READ_ENTRY_METHOD, type RepairRpc, ReplicaRepair } from '../../src/broker/replica-repair.js';
import { Scrubber } from '../../src/broker/scrubber.js';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { withoutDamagedAppends } from '../../src/cluster/entry-integrity.js';
import { logIndex, type NodeId, nodeId, type Term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { type ConfState, MessageType, message } from '../../src/raft/types.js';
import { verifyStoredBatch } from '../../src/storage/native-log.js';
import { tempDir } from '../storage/helpers.js';
import { logWithRottedBatch } from './fixtures/rotted-log.js';

/**
 * Replica 1 of a group of membership `conf` (with a member 2), whose log in `<dataDir>/<where>`
 * holds 40 committed batches with one of a sealed segment rotted; applied up to two before it.
 * Member 2 answers a repair with its healthy copy of that batch when `peerHasCopy`, else as a
 * replica lacking the entry does.
 */
async function replicaWithRottedEntry(
  t: ExecutionContext,
  where: string,
  conf: ConfState = { voters: [nodeId(1), nodeId(2)], learners: [] },
  peerHasCopy = true,
) {
  const temp = tempDir('goqueue-damaged-held-');
  t.teardown(temp.remove);
  const dataDir = temp.dir;
  const directory = join(dataDir, where);
  const { log, damagedIndex, original: healthy } = logWithRottedBatch(t, directory);

  const storage = new DurableRaftStorage({
    log,
    dir: directory,
    initialConfState: conf,
    fsync: false,
  });
  await storage.saveHardState({ term: 1 as Term, vote: nodeId(0), commit: storage.lastIndex() });
  const node = new RawNode({
    id: nodeId(1),
    storage,
    prng: new Prng(1),
    applied: logIndex(damagedIndex - 2),
  });

  const rpc: RepairRpc = {
    handle() {},
    async call<T>(_to: NodeId, method: string): Promise<T> {
      if (method !== READ_ENTRY_METHOD) throw new Error(`unexpected ${method}`);
      if (!peerHasCopy) throw new RpcError('OFFSET_NOT_AVAILABLE', 'entry not stored here');
      return { batch: healthy.toString('base64') } as T;
    },
  };
  const logger = pino({ level: 'silent' });
  const repair = new ReplicaRepair({
    rpc,
    brokerId: 1,
    dataDir,
    replicasOf: () => [1, 2],
    logs: () => [log],
    logger,
  });
  const scrubber = new Scrubber(0, logger, () => [log], repair);
  scrubber.start();
  t.teardown(() => scrubber.stop());
  return {
    node,
    storage,
    damagedIndex,
    damagedAsRead: storage.entries(logIndex(damagedIndex), logIndex(damagedIndex + 1), 0)[0]!,
  };
}

/**
 * Drives `node` as MultiRaftHost does: each Ready's committed entries applied, and the held
 * damaged entry read again (MultiRaftNode retries every 10 ticks). Gives the repair 50 rounds.
 */
async function applyWithRetries(node: RawNode): Promise<void> {
  for (let round = 0; round < 50; round++) {
    if (round > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (node.heldDamagedIndex() !== undefined) node.releaseDamaged();
    }
    while (node.hasReady()) {
      node.ready();
      node.advance();
    }
    if (node.status().applied === node.status().commit) return;
  }
}

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
