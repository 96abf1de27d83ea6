/**
 * A sole voter whose learner holds a healthy copy of a committed entry that rotted on the voter's
 * disk. When only another voter made Raft hold a damaged entry, the voter applied the entry at
 * once, marked damaged, and its state machine passed over it, while the learner applied the
 * healthy entry: the two state machines differed. This is the default layout of a two-broker
 * cluster's controller group (controllerVoterCount(2) = 1: broker 1 votes, broker 2 learns): at a
 * restart replay broker 1 skipped a metadata record broker 2 has. With learners only, the entry is
 * now held for a bounded number of reads (DAMAGED_HOLDS_MAX, about 30 s), long enough for the
 * repair from the learner's copy; only then is it applied marked (a learner may lack it).
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { READ_ENTRY_METHOD, type RepairRpc, ReplicaRepair } from '../../src/broker/replica-repair.js';
import { Scrubber } from '../../src/broker/scrubber.js';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { logIndex, type NodeId, nodeId, type Term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { ConfState, Entry } from '../../src/raft/types.js';
import { tempDir } from '../storage/helpers.js';
import { logWithRottedBatch } from './fixtures/rotted-log.js';

/**
 * Replica 1 of membership `conf` whose controller log holds a rotted committed entry that member 2
 * holds healthy; the entry its state machine is handed at that index.
 */
async function appliedRottedEntry(t: ExecutionContext, conf: ConfState): Promise<Entry | undefined> {
  const temp = tempDir('goqueue-damaged-learner-copy-');
  t.teardown(temp.remove);
  const directory = join(temp.dir, 'controller');
  const { log, damagedIndex, original } = logWithRottedBatch(t, directory);
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

  // Learner 2 holds the entry healthy and answers the repair (from a timer, as a socket does).
  const rpc: RepairRpc = {
    handle() {},
    call<T>(_to: NodeId, method: string): Promise<T> {
      if (method !== READ_ENTRY_METHOD) return Promise.reject(new Error(`unexpected ${method}`));
      return new Promise((resolve) =>
        setTimeout(() => resolve({ batch: original.toString('base64') } as T), 2),
      );
    },
  };
  const logger = pino({ level: 'silent' });
  const repair = new ReplicaRepair({ rpc, brokerId: 1, dataDir: temp.dir, replicasOf: () => [1, 2], logger });
  const scrubber = new Scrubber(0, logger, () => [log], repair);
  scrubber.start();
  t.teardown(() => scrubber.stop());

  // Applies as MultiRaftNode does, reading a held entry again every round (it retries each 10 ticks).
  const applied: Entry[] = [];
  for (let round = 0; round < 50 && node.status().applied < storage.lastIndex(); round++) {
    if (round > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (node.heldDamagedIndex() !== undefined) node.releaseDamaged();
    }
    while (node.hasReady()) {
      applied.push(...node.ready().committedEntries);
      node.advance();
    }
  }
  const entry = applied.find((candidate) => candidate.index === damagedIndex);
  t.truthy(entry, `entry ${damagedIndex} applied`);
  return entry;
}

test('control: with a second voter the entry is held, repaired from its copy and applied healthy', async (t) => {
  const entry = await appliedRottedEntry(t, { voters: [nodeId(1), nodeId(2)], learners: [] });
  t.not(entry?.damaged, true);
});

test("a sole voter does not pass over a rotted committed entry that its learner holds healthy (the learner's state machine applied it)", async (t) => {
  const entry = await appliedRottedEntry(t, { voters: [nodeId(1)], learners: [nodeId(2)] });
  t.not(entry?.damaged, true, 'the voter passed over an entry its learner applied healthy');
});
