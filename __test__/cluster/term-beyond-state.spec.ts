/**
 * An entry whose term is beyond the group's stored term was never acknowledged (a node saves a
 * new term before it sends anything in it), so a restart drops it. It is what bit rot in a
 * batch's partitionLeaderEpoch (outside the CRC) looks like: torture seed 108 flipped bit 22 of
 * a follower's last batch, recovery took term 4194308 into the term map, that replica's log then
 * looked newer than every other's, it won the partition's election and its first append (term 5
 * after 4194308) stopped the broker, at every restart.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { type LogIndex, logIndex, nodeId, type Term, term } from '../../src/lib/ids.js';
import { type Entry, EntryType, NO_NODE } from '../../src/raft/types.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { tempDir } from '../storage/helpers.js';
import { producerBatch } from './fixtures/batches.js';

const confState = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] };

function open(dir: string, log = NativeLog.open(dir)): DurableRaftStorage {
  return new DurableRaftStorage({ log, dir, initialConfState: confState });
}

function entries(from: number, count: number, entryTerm: Term): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: logIndex(from + i),
    term: entryTerm,
    type: EntryType.Normal,
    data: producerBatch(Buffer.from(`value-${from + i}`)),
  }));
}

/**
 * Stores `count` entries of term 4 after the bootstrap with `commit` (a function of the first
 * entry's index) and term 4 saved; then flips bit 22 of the last batch's partitionLeaderEpoch
 * (term 4 reads 4194308) and removes the recovery point, so the reopened log scans every batch
 * and its term map takes the flipped term. Returns the first entry's index.
 */
async function storeAndFlipLastTerm(
  t: ExecutionContext,
  dir: string,
  count: number,
  commit: (from: number) => number,
): Promise<number> {
  const first = open(dir);
  const from = first.lastIndex() + 1;
  first.append(entries(from, count, term(4)));
  await first.sync();
  await first.saveHardState({ term: term(4), vote: NO_NODE, commit: commit(from) as LogIndex });
  await first.close();
  const segment = readdirSync(dir).find((name) => name.endsWith('.log'))!;
  const bytes = readFileSync(join(dir, segment));
  let last = 0;
  while (last + 12 + bytes.readInt32BE(last + 8) < bytes.length) last += 12 + bytes.readInt32BE(last + 8);
  t.is(bytes.readInt32BE(last + 12), 4);
  bytes[last + 13]! ^= 0x40;
  writeFileSync(join(dir, segment), bytes);
  rmSync(join(dir, 'recovery-point'));
  return from;
}

test('a restart drops entries whose term is beyond the stored term (a flipped partitionLeaderEpoch)', async (t) => {
  const temp = tempDir('goqueue-term-');
  t.teardown(temp.remove);
  const from = await storeAndFlipLastTerm(t, temp.dir, 5, (first) => first - 1);
  const reopened = open(temp.dir);
  t.teardown(() => reopened.close());
  t.is<number, number>(reopened.lastIndex(), from + 3, 'the entry of the flipped term is dropped');
  t.is<number | undefined, number>(reopened.term(logIndex(from + 3)), 4);
  // The replica appends after it again, in the next term.
  reopened.append(entries(from + 4, 1, term(5)));
  t.is<number, number>(reopened.lastIndex(), from + 4);
});

test('a committed entry whose term is beyond the stored term makes the group refuse to open (it is not dropped)', async (t) => {
  const temp = tempDir('goqueue-term-');
  t.teardown(temp.remove);
  const from = await storeAndFlipLastTerm(t, temp.dir, 3, (first) => first + 2);
  const log = NativeLog.open(temp.dir);
  t.teardown(() => log.close());
  t.throws(() => open(temp.dir, log), { message: /beyond the stored term 4/ });
  t.is<number, number>(log.lastIndex, from + 2, 'nothing dropped');
});
