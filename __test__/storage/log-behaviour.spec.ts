/**
 * One behavioural spec, run against both PartitionLog implementations: the native segmented
 * log on real files and the in-memory log used by pure tests.
 */
import test from 'ava';
import { type KafkaOffset, kafkaOffset, type LogIndex, logIndex } from '../../src/lib/ids.js';
import { MemoryLog, openNativeLog, type PartitionLog, StorageError } from '../../src/storage/index.js';
import { batchRun, encodeBatch, tempDir, values } from './helpers.js';

interface Subject {
  log: PartitionLog;
  done: () => Promise<void>;
}

const implementations: Array<[string, (maxBatchBytes?: number) => Subject]> = [
  [
    'NativeLog',
    (maxBatchBytes) => {
      const temp = tempDir();
      const log = openNativeLog(temp.dir, {
        segmentBytes: 4096,
        indexIntervalBytes: 256,
        maxBatchBytes: maxBatchBytes ?? 4096,
      });
      return {
        log,
        done: async () => {
          await log.close();
          temp.remove();
        },
      };
    },
  ],
  [
    'MemoryLog',
    (maxBatchBytes) => {
      const log = new MemoryLog({ maxBatchBytes: maxBatchBytes ?? 4096 });
      return { log, done: () => log.close() };
    },
  ],
];

const i = (n: number): LogIndex => logIndex(n);
const o = (n: number): KafkaOffset => kafkaOffset(n);

function codeOf(error: unknown): string | undefined {
  return error instanceof StorageError ? error.code : undefined;
}

for (const [name, make] of implementations) {
  test(`${name}: a new log is empty at index 1 and offset 0`, async (t) => {
    const { log, done } = make();
    t.is<number | undefined, number | undefined>(log.firstIndex, 1);
    t.is<number | undefined, number | undefined>(log.lastIndex, 0);
    t.is<number | undefined, number | undefined>(log.nextOffset, 0);
    t.is<number | undefined, number | undefined>(log.logStartOffset, 0);
    t.deepEqual(log.readEntries(i(1), i(10), 1000), []);
    t.is<number | undefined, number | undefined>(log.readFrom(o(0), 1000, o(100)).length, 0);
    await done();
  });

  test(`${name}: appended batches read back byte for byte by LogIndex and by KafkaOffset`, async (t) => {
    const { log, done } = make();
    const batches = batchRun({ count: 30, recordsPerBatch: 3, term: 2 });
    const result = log.append(batches.slice(0, 10));
    t.deepEqual(result, { firstIndex: 1, lastIndex: 10, baseOffset: 0, nextOffset: 30 });
    for (const batch of batches.slice(10)) log.append([batch]);
    t.is<number | undefined, number | undefined>(log.lastIndex, 30);
    t.is<number | undefined, number | undefined>(log.nextOffset, 90);
    t.is(
      log.sizeBytes,
      batches.reduce((s, b) => s + b.length, 0),
    );
    t.deepEqual(log.readEntries(i(1), i(30), 1 << 20), batches);
    // Infinity means "no bound" for the upper index, maxBytes and upTo.
    t.deepEqual(log.readEntries(i(1), i(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY), batches);
    t.deepEqual(
      log.readFrom(o(0), Number.POSITIVE_INFINITY, o(Number.POSITIVE_INFINITY)),
      Buffer.concat(batches),
    );
    t.deepEqual(log.readEntries(i(7), i(9), 1 << 20), batches.slice(6, 9));
    // maxBytes stops after the first entry that would pass it; the first always comes whole.
    t.deepEqual(log.readEntries(i(5), i(30), 1), [batches[4]]);
    t.deepEqual(log.readEntries(i(5), i(30), batches[4]!.length * 2), batches.slice(4, 6));
    // Offsets: a fetch from inside a batch returns that whole batch.
    t.deepEqual(log.readFrom(o(31), 1 << 20, o(90)), Buffer.concat(batches.slice(10)));
    t.deepEqual(log.readFrom(o(31), 0, o(90)), batches[10]);
    // upTo (the high watermark) stops before a batch starting at or after it.
    t.deepEqual(log.readFrom(o(30), 1 << 20, o(36)), Buffer.concat(batches.slice(10, 12)));
    t.is<number | undefined, number | undefined>(log.readFrom(o(90), 1000, o(90)).length, 0);
    t.is<number | undefined, number | undefined>(log.termAt(i(30)), 2);
    t.is<number | undefined, number | undefined>(log.termAt(i(31)), undefined);
    t.is<number | undefined, number | undefined>(log.offsetAt(i(11)), 30);
    t.is<number | undefined, number | undefined>(log.indexOfOffset(o(32)), 11);
    t.is<number | undefined, number | undefined>(log.indexOfOffset(o(90)), undefined);
    await done();
  });

  test(`${name}: terms, offsets and timestamps are looked up across term changes`, async (t) => {
    const { log, done } = make();
    const a = batchRun({ count: 5, term: 1, baseTimestamp: 1000 });
    const b = batchRun({ count: 5, baseOffset: 5, term: 4, baseTimestamp: 100_000 });
    log.append([...a, ...b]);
    t.is<number | undefined, number | undefined>(log.termAt(i(5)), 1);
    t.is<number | undefined, number | undefined>(log.termAt(i(6)), 4);
    t.is<number | undefined, number | undefined>(log.offsetForTimestamp(0), 0);
    t.is<number | undefined, number | undefined>(log.offsetForTimestamp(2001), 2);
    t.is<number | undefined, number | undefined>(log.offsetForTimestamp(100_000), 5);
    t.is<number | undefined, number | undefined>(log.offsetForTimestamp(10_000_000), undefined);
    const older = encodeBatch({ baseOffset: 10, term: 3, records: values(1) });
    t.is(codeOf(t.throws(() => log.append([older]))), 'INVALID_RECORD');
    await done();
  });

  test(`${name}: truncateAfter removes the suffix and appends continue from there`, async (t) => {
    const { log, done } = make();
    const batches = batchRun({ count: 40, recordsPerBatch: 2 });
    log.append(batches);
    log.truncateAfter(i(25));
    t.is<number | undefined, number | undefined>(log.lastIndex, 25);
    t.is<number | undefined, number | undefined>(log.nextOffset, 50);
    t.is<number | undefined, number | undefined>(log.termAt(i(26)), undefined);
    t.deepEqual(log.readEntries(i(20), i(40), 1 << 20), batches.slice(19, 25));
    const replacement = encodeBatch({ baseOffset: 50, term: 3, records: values(4, 'new') });
    t.deepEqual(log.append([replacement]), { firstIndex: 26, lastIndex: 26, baseOffset: 50, nextOffset: 54 });
    t.is<number | undefined, number | undefined>(log.termAt(i(26)), 3);
    t.deepEqual(log.readFrom(o(50), 1 << 20, o(1000)), replacement);
    log.truncateAfter(i(0));
    t.is<number | undefined, number | undefined>(log.lastIndex, 0);
    t.is<number | undefined, number | undefined>(log.nextOffset, 0);
    await done();
  });

  test(`${name}: truncateBefore drops a prefix, keeps the rest addressable, and reads before it fail`, async (t) => {
    const { log, done } = make();
    const batches = batchRun({ count: 60, recordsPerBatch: 2 });
    log.append(batches);
    const first = log.truncateBefore(i(40));
    t.true(first > 1 && first <= 40, `first index ${first}`);
    t.is<number | undefined, number | undefined>(log.firstIndex, first);
    t.is<number | undefined, number | undefined>(log.logStartOffset, (first - 1) * 2);
    t.deepEqual(log.readEntries(first, i(60), 1 << 20), batches.slice(first - 1));
    t.is<number | undefined, number | undefined>(log.termAt(first), 1);
    t.is<number | undefined, number | undefined>(log.termAt(i(first - 1)), undefined);
    t.is(codeOf(t.throws(() => log.readEntries(i(first - 1), i(60), 100))), 'OFFSET_OUT_OF_RANGE');
    t.is(codeOf(t.throws(() => log.readFrom(o(0), 100, o(1000)))), 'OFFSET_OUT_OF_RANGE');
    t.is(codeOf(t.throws(() => log.truncateAfter(i(first - 2)))), 'OFFSET_OUT_OF_RANGE');
    // Dropping everything leaves an empty log that continues at the same offset.
    t.is<number | undefined, number | undefined>(log.truncateBefore(i(61)), 61);
    t.is<number | undefined, number | undefined>(log.lastIndex, 60);
    t.is<number | undefined, number | undefined>(log.nextOffset, 120);
    t.deepEqual(log.append(batchRun({ count: 1, baseOffset: 120 })).firstIndex, 61);
    await done();
  });

  test(`${name}: bad batches are rejected with a code and leave the log unchanged`, async (t) => {
    const { log, done } = make(2048);
    log.append(batchRun({ count: 3 }));
    const before = { last: log.lastIndex, next: log.nextOffset, size: log.sizeBytes };
    const good = encodeBatch({ baseOffset: 3, term: 1, records: values(2) });
    const badCrc = Buffer.from(encodeBatch({ baseOffset: 5, term: 1, records: values(1) }));
    badCrc[badCrc.length - 1]! ^= 0xff;
    const badMagic = Buffer.from(encodeBatch({ baseOffset: 5, term: 1, records: values(1) }));
    badMagic[16] = 1;
    const truncated = encodeBatch({ baseOffset: 5, term: 1, records: values(1) }).subarray(0, 70);
    const oversized = encodeBatch({ baseOffset: 5, term: 1, records: [{ value: Buffer.alloc(3000) }] });
    const gap = encodeBatch({ baseOffset: 9, term: 1, records: values(1) });
    const cases: Array<[string, Buffer, string, RegExp]> = [
      ['wrong CRC', badCrc, 'CORRUPT_MESSAGE', /crc/],
      ['wrong magic', badMagic, 'CORRUPT_MESSAGE', /magic is 1/],
      ['truncated buffer', truncated, 'CORRUPT_MESSAGE', /truncated/],
      ['oversized batch', oversized, 'MESSAGE_TOO_LARGE', /maxBatchBytes 2048/],
      ['offset gap', gap, 'INVALID_OFFSET', /baseOffset 9 but the log expects 5/],
    ];
    for (const [what, bad, code, message] of cases) {
      const error = t.throws(() => log.append([good, bad]), undefined, what);
      t.is(codeOf(error), code, what);
      t.regex(error?.message ?? '', message, what);
      t.regex(error?.message ?? '', /batch 1/, what);
      t.deepEqual({ last: log.lastIndex, next: log.nextOffset, size: log.sizeBytes }, before, what);
    }
    t.is(codeOf(t.throws(() => log.append([Buffer.concat([good, good])]))), 'CORRUPT_MESSAGE');
    t.is<number | undefined, number | undefined>(log.append([good]).lastIndex, 4);
    await done();
  });

  test(`${name}: sync makes every appended entry durable`, async (t) => {
    const { log, done } = make();
    log.append(batchRun({ count: 5 }));
    t.is<number, number>(await log.sync(), 5);
    t.is<number | undefined, number | undefined>(log.durableIndex, 5);
    log.truncateAfter(i(2));
    t.is<number | undefined, number | undefined>(log.durableIndex, 2);
    await done();
  });

  test(`${name}: reset restarts an empty log at a given index and offset`, async (t) => {
    const { log, done } = make();
    log.append(batchRun({ count: 5 }));
    log.reset?.(i(100), o(1000));
    t.is<number | undefined, number | undefined>(log.firstIndex, 100);
    t.is<number | undefined, number | undefined>(log.lastIndex, 99);
    t.is<number | undefined, number | undefined>(log.nextOffset, 1000);
    t.is<number | undefined, number | undefined>(
      log.append(batchRun({ count: 2, baseOffset: 1000 })).lastIndex,
      101,
    );
    t.is<number | undefined, number | undefined>(log.offsetAt(i(101)), 1001);
    await done();
  });

  test(`${name}: a closed log refuses every call with LOG_CLOSED`, async (t) => {
    const { log, done } = make();
    log.append(batchRun({ count: 1 }));
    await log.close();
    t.is(codeOf(t.throws(() => log.append(batchRun({ count: 1, baseOffset: 1 })))), 'LOG_CLOSED');
    t.is(codeOf(t.throws(() => log.readEntries(i(1), i(1), 10))), 'LOG_CLOSED');
    await done();
  });
}
