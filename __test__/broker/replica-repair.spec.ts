/**
 * ReplicaRepair on native logs in one process, with the broker RPC replaced by direct calls:
 * a damaged batch is rewritten from a peer's healthy copy; a peer never hands on a copy that is
 * damaged or of another term; without a healthy copy the batch stays marked and unreadable.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { RpcError } from '../../src/broker/controller-rpc.js';
import { type RepairRpc, ReplicaRepair } from '../../src/broker/replica-repair.js';
import { kafkaOffset, logIndex, type NodeId } from '../../src/lib/ids.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { batchRun, tempDir } from '../storage/helpers.js';

const TOPIC_ID = '5f0c2a4e-3b1d-4c8e-9a7f-2d6b8e1c4a90';

/** Brokers reachable by id; a call runs the peer's handler on a JSON copy of the body. */
class DirectRpc implements RepairRpc {
  private readonly handlers = new Map<string, (from: NodeId, body: unknown) => Promise<unknown>>();
  constructor(
    private readonly self: number,
    private readonly brokers: Map<number, DirectRpc>,
  ) {
    brokers.set(self, this);
  }
  handle(method: string, handler: (from: NodeId, body: unknown) => Promise<unknown>): void {
    this.handlers.set(method, handler);
  }
  async call<T>(to: NodeId, method: string, body: unknown): Promise<T> {
    const handler = this.brokers.get(to)?.handlers.get(method);
    if (handler === undefined) throw new RpcError('REQUEST_TIMED_OUT', `no broker ${to}`);
    const answer = await handler(this.self as NodeId, JSON.parse(JSON.stringify(body)));
    return JSON.parse(JSON.stringify(answer)) as T;
  }
}

interface Replica {
  log: NativeLog;
  repair: ReplicaRepair;
  directory: string;
  warnings: string[];
}

/**
 * Brokers 1..terms.length, each with a replica of the same partition: 20 batches of term 1,
 * then 20 of the broker's term in `terms` (1 KiB segments, so the batches span many).
 */
function replicas(t: ExecutionContext, terms: number[]): Replica[] {
  const temp = tempDir('goqueue-repair-');
  t.teardown(temp.remove);
  const brokers = new Map<number, DirectRpc>();
  const everyone = terms.map((_, i) => i + 1);
  return terms.map((term, i) => {
    const dataDir = join(temp.dir, `broker-${i + 1}`);
    const directory = join(dataDir, 'partitions', `${TOPIC_ID}-0`);
    mkdirSync(directory, { recursive: true });
    const log = NativeLog.open(directory, {
      segmentBytes: 1024,
      indexIntervalBytes: 256,
      maxBatchBytes: 1024,
    });
    t.teardown(() => log.close());
    log.append(batchRun({ count: 20, term: 1, valueBytes: 60 }));
    log.append(batchRun({ count: 20, baseOffset: 20, term, valueBytes: 60 }));
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const repair = new ReplicaRepair({
      rpc: new DirectRpc(i + 1, brokers),
      brokerId: i + 1,
      dataDir,
      replicasOf: () => everyone,
      logs: () => NativeLog.openLogs().filter((open) => open.directory.startsWith(temp.dir)),
      // Every entry each replica stores counts as committed here.
      committedIndexOf: () => log.lastIndex,
      logger,
    });
    return { log, repair, directory, warnings };
  });
}

/** The replica's segment file `n` (0 = oldest). */
function segmentPath(replica: Replica, n: number): string {
  const names = readdirSync(replica.directory)
    .filter((name) => name.endsWith('.log'))
    .sort();
  return join(replica.directory, names[n]!);
}

/** Flips a byte inside a record of the second batch of segment `n`; returns that batch's offset. */
function damage(replica: Replica, n: number): number {
  const path = segmentPath(replica, n);
  const bytes = readFileSync(path);
  const second = 12 + bytes.readInt32BE(8);
  bytes[second + 61 + 10] ^= 0x20;
  writeFileSync(path, bytes);
  return Number(bytes.readBigInt64BE(second));
}

test('a damaged batch is rewritten from a peer: the file equals the peer’s again and reads serve it', async (t) => {
  const [first, second] = replicas(t, [2, 2]);
  const healthy = readFileSync(segmentPath(first!, 4));
  const offset = damage(first!, 4);
  first!.log.markCorrupt(offset);
  t.throws(() => first!.log.readFrom(kafkaOffset(offset), 1 << 20, kafkaOffset(40)), {
    message: /CORRUPT_MESSAGE|failed its CRC32C/,
  });
  t.is(await first!.repair.repair(first!.log, { offset }), 2);
  t.true(readFileSync(segmentPath(first!, 4)).equals(healthy));
  t.true(readFileSync(segmentPath(first!, 4)).equals(readFileSync(segmentPath(second!, 4))));
  first!.log.clearCorrupt();
  t.true(first!.log.readFrom(kafkaOffset(offset), 1 << 20, kafkaOffset(40)).length > 0);
});

test('without a healthy copy (every copy damaged) the batch stays marked and the file is not written', async (t) => {
  const [first, second] = replicas(t, [2, 2]);
  const offset = damage(first!, 4);
  t.is(damage(second!, 4), offset);
  const damaged = readFileSync(segmentPath(first!, 4));
  first!.log.markCorrupt(offset);
  t.is(await first!.repair.repair(first!.log, { offset }), undefined);
  t.is(first!.log.corruptOffset, offset);
  t.true(readFileSync(segmentPath(first!, 4)).equals(damaged));
  const warning = first!.warnings.find((line) => line.includes('no replica could give a healthy copy'));
  t.truthy(warning);
  t.regex(warning!, /broker 2: .*CORRUPT_MESSAGE|damaged/);
});

test('a peer whose entry at that index has another term does not hand it over', async (t) => {
  // Broker 2's entries from offset 20 on are of term 3: the same offsets, other entries.
  const [first] = replicas(t, [2, 3]);
  const last = readdirSync(first!.directory).filter((name) => name.endsWith('.log')).length;
  const offset = damage(first!, last - 2);
  t.true(offset >= 20, `offset ${offset} lies in the entries of the later term`);
  const damaged = readFileSync(segmentPath(first!, last - 2));
  t.is(await first!.repair.repair(first!.log, { offset }), undefined);
  t.true(readFileSync(segmentPath(first!, last - 2)).equals(damaged));
  t.truthy(first!.warnings.find((line) => line.includes('is not stored here')));
});

test('a Raft read across a flipped baseOffset serves the entries before it, marks it at its true offset, and the repair rewrites it', async (t) => {
  const [first, second] = replicas(t, [2, 2]);
  const path = segmentPath(first!, 4);
  const healthy = readFileSync(path);
  const base = Number(healthy.readBigInt64BE(0));
  const batchAt = 12 + healthy.readInt32BE(8);
  const damaged = Buffer.from(healthy);
  damaged[batchAt + 5]! ^= 0x10; // the second batch's baseOffset, outside the CRC
  writeFileSync(path, damaged);
  const index = first!.log.indexOfOffset(kafkaOffset(base))!;
  const found: Array<{ offset: number; index: number }> = [];
  const unsubscribe = NativeLog.onDamage((log, read) => {
    if (log === first!.log) found.push(read);
  });
  t.teardown(unsubscribe);
  const read = first!.log.readEntries(index, logIndex(index + 5), 1 << 20);
  t.is(read.length, 1, 'only the batch before the damaged one');
  t.deepEqual(found, [{ offset: base + 1, index: index + 1 }]);
  t.is(first!.log.corruptOffset, base + 1);
  t.is(await first!.repair.repair(first!.log, found[0]!), 2);
  t.true(readFileSync(path).equals(healthy));
  t.true(readFileSync(path).equals(readFileSync(segmentPath(second!, 4))));
});

test('a peer restoring committed entries is never sent a batch whose term rotted (partitionLeaderEpoch lies outside the CRC)', async (t) => {
  const [first, second, third] = replicas(t, [2, 2, 2]);
  const last = second!.log.lastIndex;
  t.is(Number(second!.log.termAt(last)), 2);
  // Broker 2's last batch now says term 3 on disk; its CRC still verifies.
  await second!.log.sync();
  const segments = readdirSync(second!.directory).filter((name) => name.endsWith('.log')).length;
  for (let n = segments - 1; n >= 0; n--) {
    const path = segmentPath(second!, n);
    const bytes = readFileSync(path);
    let lastBatchAt: number | undefined;
    for (
      let at = 0;
      at + 12 <= bytes.length && bytes.readInt32BE(at + 8) > 0;
      at += 12 + bytes.readInt32BE(at + 8)
    )
      lastBatchAt = at;
    if (lastBatchAt === undefined) continue;
    bytes.writeInt32BE(3, lastBatchAt + 12);
    writeFileSync(path, bytes);
    break;
  }
  // Broker 1 lost its last entry (recovery cut it) though its commit covers it; broker 2 is asked first.
  first!.log.truncateAfter(logIndex(last - 1));
  await first!.repair.restoreCommitted(first!.directory, first!.log, last);
  t.is(first!.log.lastIndex, last);
  t.is(
    first!.log.termAt(last),
    third!.log.termAt(last),
    'the entry restored has the term every healthy copy has',
  );
});
