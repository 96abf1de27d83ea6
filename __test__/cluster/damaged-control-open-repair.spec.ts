/**
 * A partition replica whose stored log holds a rotted control batch (a leader's no-op, written at
 * the start of every term) refuses to open (MembershipHistory.fromStorage: DamagedEntryError)
 * until the repair the read asked for rewrote it. The read tells NativeLog.onDamage; the scrubber
 * starts ReplicaRepair.repair, which awaits a peer's answer over the network. The refused open
 * used to close the log at once, in the same macrotask as the read, so the peer's copy always
 * arrived for a closed log: the repair failed, the scrubber forgot the closed log, and each retry
 * of the open found the damage again and lost the same race. The replica never opened. Topics now
 * waits for the repair (Scrubber.repaired) with the log open before it closes it or tries again
 * (the real-process proof: __test__/cluster-processes/repair-control-batch.spec.ts).
 *
 * This drives the same components in the order the partition open uses them: open the native
 * log, build DurableRaftStorage, construct the Raft node (host.addGroup does); on refusal either
 * close the storage at once (the old order) or wait for the repair first, then try again. The
 * peer answers from a timer, as a socket would.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { READ_ENTRY_METHOD, type RepairRpc, ReplicaRepair } from '../../src/broker/replica-repair.js';
import { Scrubber } from '../../src/broker/scrubber.js';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { logIndex, type NodeId, nodeId, type Term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { DamagedEntryError } from '../../src/raft/errors.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { type Entry, EntryType } from '../../src/raft/types.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { batchRun, tempDir } from '../storage/helpers.js';

const TOPIC_ID = '7b0e4a52-3f7c-4d0a-9a34-2d3f1c6f5e01';
const LOG_OPTIONS = { segmentBytes: 1024, indexIntervalBytes: 256, maxBatchBytes: 1024 };

/** A replica of voters {1, 2} whose sealed segment holds a no-op of term 2 that rotted. */
async function replicaWithRottedNoop(t: ExecutionContext) {
  const temp = tempDir('goqueue-damaged-control-open-');
  t.teardown(temp.remove);
  const dataDir = temp.dir;
  const directory = join(dataDir, 'partitions', `${TOPIC_ID}-0`);
  const options = (log: NativeLog) => ({
    log,
    dir: directory,
    initialConfState: { voters: [nodeId(1), nodeId(2)], learners: [] },
    fsync: false,
    wallMs: () => -1,
  });
  const log = NativeLog.open(directory, LOG_OPTIONS);
  const storage = new DurableRaftStorage(options(log));
  let index = storage.lastIndex() + 1;
  const normal =
    (term: number) =>
    (data: Buffer): Entry => ({ index: logIndex(index++), term: term as Term, type: EntryType.Normal, data });
  const entries: Entry[] = batchRun({ count: 10, valueBytes: 60 }).map(normal(1));
  const noopIndex = logIndex(index++);
  entries.push({ index: noopIndex, term: 2 as Term, type: EntryType.Noop, data: new Uint8Array(0) });
  entries.push(...batchRun({ count: 20, term: 2, valueBytes: 60 }).map(normal(2)));
  storage.append(entries);
  await storage.sync();
  await storage.saveHardState({ term: 2 as Term, vote: nodeId(1), commit: storage.lastIndex() });
  const healthy = Buffer.from(log.readEntries(noopIndex, noopIndex, 0)[0]!);
  await storage.close();
  const segment = readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .map((name) => join(directory, name))
    .find((path) => readFileSync(path).includes(healthy))!;
  const bytes = readFileSync(segment);
  bytes[bytes.indexOf(healthy) + healthy.length - 1]! ^= 0x01; // in the record: CRC fails, control flag stays
  writeFileSync(segment, bytes);
  return { dataDir, directory, options, healthy, noopIndex };
}

/** Peer 2 holding a healthy copy, answering from a timer (a socket's answer comes in a later task). */
function peerWithCopy(healthy: Buffer): RepairRpc {
  return {
    handle() {},
    call<T>(_to: NodeId, method: string): Promise<T> {
      if (method !== READ_ENTRY_METHOD) return Promise.reject(new Error(`unexpected ${method}`));
      return new Promise((resolve) =>
        setTimeout(() => resolve({ batch: healthy.toString('base64') } as T), 2),
      );
    },
  };
}

/** One open as openReplica does it: the Raft node refuses, the log is closed; true once it opened. */
async function openAsTopicsDoes(
  directory: string,
  options: (log: NativeLog) => ConstructorParameters<typeof DurableRaftStorage>[0],
  scrubber: Scrubber,
  waitForRepair: boolean,
): Promise<{ opened: boolean; close: () => Promise<void> }> {
  const log = NativeLog.open(directory, LOG_OPTIONS);
  const storage = new DurableRaftStorage(options(log));
  const open = (): boolean => {
    try {
      new RawNode({ id: nodeId(1), storage, prng: new Prng(1) });
      return true;
    } catch (error) {
      if (!(error instanceof DamagedEntryError)) throw error;
      return false;
    }
  };
  if (open() || (waitForRepair && (await scrubber.repaired(log, 5_000)) && open()))
    return { opened: true, close: () => storage.close() };
  await storage.close();
  return { opened: false, close: async () => undefined };
}

async function retryOpen(t: ExecutionContext, waitForRepair: boolean): Promise<boolean> {
  const { dataDir, directory, options, healthy } = await replicaWithRottedNoop(t);
  const logger = pino({ level: 'silent' });
  const repair = new ReplicaRepair({
    rpc: peerWithCopy(healthy),
    brokerId: 1,
    dataDir,
    replicasOf: () => [1, 2],
    logger,
  });
  const scrubber = new Scrubber(0, logger, NativeLog.openLogs, repair);
  scrubber.start();
  t.teardown(() => scrubber.stop());
  const leftOpen: Array<() => Promise<void>> = [];
  t.teardown(async () => {
    for (const close of leftOpen) await close().catch(() => undefined);
  });
  // The reconciler tries again after a backoff (1 s, doubling); ten tries, 50 ms apart, here.
  for (let attempt = 0; attempt < 10; attempt++) {
    const result = await openAsTopicsDoes(directory, options, scrubber, waitForRepair);
    leftOpen.push(result.close);
    if (result.opened) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

test('the old order: a refused open closes its log before the peer answers, and no retry ever opens it', async (t) => {
  t.false(await retryOpen(t, false));
});

test('a partition replica refused at open for a rotted no-op waits, log open, for the repair its read asked for, then opens', async (t) => {
  t.true(await retryOpen(t, true));
});
