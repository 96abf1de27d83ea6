/**
 * A broker whose controller log holds a damaged stored control batch (a leader's no-op that rotted
 * on disk) while the controller group has other voters: MembershipHistory.fromStorage refuses the
 * group (DamagedEntryError). Broker.start added the controller group without waiting for
 * `node.addGroup`, whose promise swallows the refusal, so the broker started and served with no
 * controller group at all: nothing was logged, the group was never retried (nor repaired: the
 * scrubber subscribed to NativeLog.onDamage only later in start), and the broker never followed
 * the controller again until a restart. Now start logs it and waits for the repair from another
 * broker (here none comes up), then refuses to start, naming the damaged entry.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { CONTROLLER_GROUP } from '../../src/broker/controller.js';
import { freePorts } from '../../src/broker/free-ports.js';
import { nativeStorage } from '../../src/broker/native-storage.js';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import type { MultiRaftNode } from '../../src/cluster/multi-raft-node.js';
import { logIndex, nodeId, type Term } from '../../src/lib/ids.js';
import { EntryType } from '../../src/raft/types.js';
import { temporaryDirectory } from './helpers.js';

test('a broker whose controller log holds a rotted no-op does not silently start without its controller group', async (t) => {
  t.timeout(90_000);
  const dataDir = temporaryDirectory(t);
  const [client, raft1, raft2, raft3] = await freePorts('127.0.0.1', 4);
  const options = {
    brokerId: 1,
    dataDir,
    host: '127.0.0.1',
    port: client!,
    raftHost: '127.0.0.1',
    raftPort: raft1!,
    initialCluster: [
      { brokerId: 1, raftHost: '127.0.0.1', raftPort: raft1! },
      { brokerId: 2, raftHost: '127.0.0.1', raftPort: raft2! },
      { brokerId: 3, raftHost: '127.0.0.1', raftPort: raft3! },
    ],
  };
  // A founding member of three, started once alone (its peers never come up), then stopped.
  const first = await Broker.start(options);
  await first.stop();

  // Its controller log gets a no-op of term 1, committed; then one byte of its record rots.
  const controllerDir = join(dataDir, 'controller');
  const storage = new DurableRaftStorage({
    log: nativeStorage.openLog(controllerDir, {
      segmentBytes: 4 * 1024 * 1024,
      segmentMs: 7 * 24 * 3600 * 1000,
      maxBatchBytes: 8 * 1024 * 1024,
    }),
    dir: controllerDir,
    initialConfState: { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] },
    wallMs: () => -1,
  });
  const noopIndex = logIndex(storage.lastIndex() + 1);
  storage.append([{ index: noopIndex, term: 1 as Term, type: EntryType.Noop, data: new Uint8Array(0) }]);
  await storage.sync();
  await storage.saveHardState({ term: 1 as Term, vote: nodeId(1), commit: noopIndex });
  await storage.close();
  const segment = join(controllerDir, readdirSync(controllerDir).find((name) => name.endsWith('.log'))!);
  const bytes = readFileSync(segment);
  t.true(bytes.length > 61, 'the no-op is stored');
  bytes[bytes.length - 1]! ^= 0x01; // the record's last byte: the CRC fails, the control flag stays
  writeFileSync(segment, bytes);

  const lines: Array<{ level: number; msg: string; err?: { type?: string; message?: string } }> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
  );
  let broker: Broker;
  try {
    broker = await Broker.start({ ...options, logger });
  } catch (error) {
    // Refusing to start, naming the damaged entry, is a fine answer too.
    t.regex((error as Error).message, /damaged/);
    return;
  }
  t.teardown(() => broker.stop());
  const node = (broker as unknown as { raft: { node: MultiRaftNode } }).raft.node;
  const reported = lines.some(
    (line) => line.level >= 50 && `${line.msg} ${line.err?.message ?? ''}`.includes('damaged'),
  );
  t.true(
    node.status(CONTROLLER_GROUP) !== undefined || reported,
    'the broker runs without a controller group and nothing says why',
  );
});
