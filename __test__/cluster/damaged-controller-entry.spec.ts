/**
 * A Raft group with another member holds a committed entry whose batch rotted on disk back from
 * its state machine until the scrubber's repair (ReplicaRepair) rewrites it from a peer. The
 * repair only covers partition replicas' logs (`ReplicaRepair.repairable`): the controller's own
 * log (`<dataDir>/controller`) is never repaired. A controller replica (voter or learner) whose
 * log holds a damaged committed entry after its last metadata snapshot (the whole span a restart
 * replays) therefore holds it for good: its metadata stops there, and as controller leader it
 * applies none of its own entries (every command then fails). Both cases below have a peer
 * answering with a healthy copy.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { READ_ENTRY_METHOD, type RepairRpc, ReplicaRepair } from '../../src/broker/replica-repair.js';
import { Scrubber } from '../../src/broker/scrubber.js';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { kafkaOffset, logIndex, type NodeId, nodeId, type Term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { batchRun, tempDir } from '../storage/helpers.js';

/**
 * A replica of a group of two voters (1, this one, and 2) whose log, in `<dataDir>/<where>`,
 * holds 40 committed batches with one of a sealed segment rotted; applied up to two before it.
 * Peer 2 answers a repair with its healthy copy of that batch.
 */
async function replicaWithRottedEntry(t: ExecutionContext, where: string) {
  const temp = tempDir('goqueue-damaged-controller-');
  t.teardown(temp.remove);
  const dataDir = temp.dir;
  const directory = join(dataDir, where);
  mkdirSync(directory, { recursive: true });
  const log = NativeLog.open(directory, { segmentBytes: 1024, indexIntervalBytes: 256, maxBatchBytes: 1024 });
  t.teardown(() => log.close());
  log.append(batchRun({ count: 40, term: 1, valueBytes: 60 }));
  const segment = join(
    directory,
    readdirSync(directory)
      .filter((name) => name.endsWith('.log'))
      .sort()[2]!,
  );
  const bytes = readFileSync(segment);
  const second = 12 + bytes.readInt32BE(8);
  const damagedIndex = log.indexOfOffset(kafkaOffset(Number(bytes.readBigInt64BE(second))))!;
  const healthy = Buffer.from(log.readEntries(logIndex(damagedIndex), logIndex(damagedIndex), 0)[0]!);
  bytes[second + 61 + 10]! ^= 0x20;
  writeFileSync(segment, bytes);

  const storage = new DurableRaftStorage({
    log,
    dir: directory,
    initialConfState: { voters: [nodeId(1), nodeId(2)], learners: [] },
    fsync: false,
  });
  await storage.saveHardState({ term: 1 as Term, vote: nodeId(0), commit: storage.lastIndex() });
  const node = new RawNode({
    id: nodeId(1),
    storage,
    prng: new Prng(1),
    applied: logIndex(damagedIndex - 2),
  });

  // Peer 2 holds the entry whole and hands it over.
  const rpc: RepairRpc = {
    handle() {},
    async call<T>(_to: NodeId, method: string): Promise<T> {
      if (method !== READ_ENTRY_METHOD) throw new Error(`unexpected ${method}`);
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
  return { node, storage, damagedIndex };
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

test.failing('a controller replica holding a rotted committed entry applies past it (the controller log is never repaired: it holds for good)', async (t) => {
  const { node, storage, damagedIndex } = await replicaWithRottedEntry(t, 'controller');
  await applyWithRetries(node);
  t.is(
    node.status().applied,
    storage.lastIndex(),
    `controller replica stuck before entry ${damagedIndex} (held: ${node.heldDamagedIndex()})`,
  );
});
