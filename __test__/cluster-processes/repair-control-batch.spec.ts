/**
 * A partition replica whose log holds a rotted Raft control batch (here the first leader's no-op,
 * the log's first batch, in a closed segment), on real broker processes (3 brokers, RF 3). At
 * restart the group's membership scan reads it damaged and refuses to open over it
 * (DamagedEntryError: it may have been a membership change); the read asks a peer for its copy.
 * The open used to close the log at once, before the peer answered, so the repair always found
 * the log closed and every retry of the open (backing off up to a minute) lost the same race: the
 * replica never opened. It now waits for that repair with its log open, then opens.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { eventually } from './harness.js';
import {
  flipByte,
  partitionDirectory,
  produceAll,
  readFrom,
  recordValues,
  repairCluster,
  segmentFiles,
  TOPIC,
} from './repair-helpers.js';
import { servingLeader } from './requests.js';

test.serial(
  'a replica refused at open over a rotted control batch is repaired from a peer and opens',
  async (t) => {
    t.timeout(300_000);
    // No background scrub: the membership scan at open is what finds the damage.
    const { cluster, args } = await repairCluster(t, { scrub_rate: 0 });
    const values = recordValues(0, 60);
    await produceAll(cluster, values);
    const leader = (await servingLeader(cluster, TOPIC, 0)).leaderId;
    const target = [1, 2, 3].find((id) => id !== leader)!;
    const directoryOf = (id: number): string => partitionDirectory(cluster.member(id).dataDir);
    // Every replica holds the first segments, byte for byte.
    const firstSegment = await eventually(
      () => {
        const files = [1, 2, 3].map((id) => segmentFiles(directoryOf(id)));
        const name = files[0]![0];
        if (name === undefined || files.some((list) => list.length < 3 || list[0] !== name)) return undefined;
        const contents = [1, 2, 3].map((id) => readFileSync(join(directoryOf(id), name)));
        return contents.every((bytes) => bytes.equals(contents[0]!)) ? name : undefined;
      },
      60_000,
      'every replica with the same first segment',
    );

    await cluster.stop(target);
    const path = join(directoryOf(target), firstSegment);
    const original = readFileSync(path);
    t.not(original.readInt16BE(21) & 0x20, 0, 'the first batch is a control batch');
    const last = 12 + original.readInt32BE(8) - 1; // its record's last byte: the CRC fails, the control flag stays
    flipByte(path, last, original[last]!, 0x01);
    const member = await cluster.start(target, args.get(target));

    await eventually(
      () => (readFileSync(path).equals(original) ? true : undefined),
      90_000,
      `broker ${target} rewriting the rotted batch with a peer's copy`,
    );
    t.truthy(
      member.lines.find((line) =>
        line.msg.startsWith('a damaged entry stopped the partition replica from opening'),
      ),
      'the refusal and the open after the repair are logged',
    );
    // The replica runs again: it takes new writes like the others.
    const more = recordValues(60, 40);
    await produceAll(cluster, more);
    await eventually(
      () => {
        const mine = segmentFiles(directoryOf(target));
        const theirs = segmentFiles(directoryOf(leader));
        return mine.length === theirs.length && mine.every((name, at) => name === theirs[at])
          ? true
          : undefined;
      },
      60_000,
      `broker ${target} holding the new writes`,
    );
    t.deepEqual(await readFrom(cluster.member(leader)), [...values, ...more]);
  },
);
