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
import test from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { logIndex, nodeId, term } from '../../src/lib/ids.js';
import { type Entry, EntryType, NO_NODE } from '../../src/raft/types.js';
import { NativeLog } from '../../src/storage/native-log.js';
import { tempDir } from '../storage/helpers.js';
import { producerBatch } from './fixtures/batches.js';

const confState = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] };

test('a restart drops entries whose term is beyond the stored term (a flipped partitionLeaderEpoch)', async (t) => {
  const temp = tempDir('goqueue-term-');
  t.teardown(temp.remove);
  const first = new DurableRaftStorage({
    log: NativeLog.open(temp.dir),
    dir: temp.dir,
    initialConfState: confState,
  });
  await first.saveHardState({ term: term(4), vote: NO_NODE, commit: first.lastIndex() });
  const from = first.lastIndex() + 1;
  const entries: Entry[] = Array.from({ length: 5 }, (_, i) => ({
    index: logIndex(from + i),
    term: term(4),
    type: EntryType.Normal,
    data: producerBatch(Buffer.from(`value-${i}`)),
  }));
  first.append(entries);
  await first.sync();
  await first.close();

  // Bit 22 of the last batch's partitionLeaderEpoch: term 4 reads 4194308. Without the
  // recovery point the whole log is scanned, so the term map takes the flipped term.
  const segment = readdirSync(temp.dir).find((name) => name.endsWith('.log'))!;
  const bytes = readFileSync(join(temp.dir, segment));
  let last = 0;
  while (last + 12 + bytes.readInt32BE(last + 8) < bytes.length) last += 12 + bytes.readInt32BE(last + 8);
  t.is(bytes.readInt32BE(last + 12), 4);
  bytes[last + 13]! ^= 0x40;
  writeFileSync(join(temp.dir, segment), bytes);
  rmSync(join(temp.dir, 'recovery-point'));

  const reopened = new DurableRaftStorage({
    log: NativeLog.open(temp.dir),
    dir: temp.dir,
    initialConfState: confState,
  });
  t.teardown(() => reopened.close());
  t.is<number, number>(reopened.lastIndex(), from + 3, 'the entry of the flipped term is dropped');
  t.is<number | undefined, number>(reopened.term(logIndex(from + 3)), 4);
  // The replica appends after it again, in the next term.
  reopened.append([
    {
      index: logIndex(from + 4),
      term: term(5),
      type: EntryType.Normal,
      data: producerBatch(Buffer.from('again')),
    },
  ]);
  t.is<number, number>(reopened.lastIndex(), from + 4);
});

test('a committed entry whose term is beyond the stored term makes the group refuse to open (it is not dropped)', async (t) => {
  const temp = tempDir('goqueue-term-');
  t.teardown(temp.remove);
  const first = new DurableRaftStorage({
    log: NativeLog.open(temp.dir),
    dir: temp.dir,
    initialConfState: confState,
  });
  const from = first.lastIndex() + 1;
  first.append(
    Array.from({ length: 3 }, (_, i) => ({
      index: logIndex(from + i),
      term: term(4),
      type: EntryType.Normal,
      data: producerBatch(Buffer.from(`value-${i}`)),
    })),
  );
  await first.sync();
  await first.saveHardState({ term: term(4), vote: NO_NODE, commit: logIndex(from + 2) });
  await first.close();
  const segment = readdirSync(temp.dir).find((name) => name.endsWith('.log'))!;
  const bytes = readFileSync(join(temp.dir, segment));
  let last = 0;
  while (last + 12 + bytes.readInt32BE(last + 8) < bytes.length) last += 12 + bytes.readInt32BE(last + 8);
  bytes[last + 13]! ^= 0x40;
  writeFileSync(join(temp.dir, segment), bytes);
  rmSync(join(temp.dir, 'recovery-point'));
  const log = NativeLog.open(temp.dir);
  t.teardown(() => log.close());
  t.throws(() => new DurableRaftStorage({ log, dir: temp.dir, initialConfState: confState }), {
    message: /beyond the stored term 4/,
  });
  t.is<number, number>(log.lastIndex, from + 2, 'nothing dropped');
});
