/**
 * The native segmented log on real files: reopen, crash recovery, index rebuild, segments and
 * retention.
 */

import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { type KafkaOffset, kafkaOffset, type LogIndex, logIndex } from '../../src/lib/ids.js';
import { openNativeLog, StorageError, type StorageOptions } from '../../src/storage/index.js';
import { batchRun, encodeBatch, segmentName, tempDir } from './helpers.js';

const i = (n: number): LogIndex => logIndex(n);
const o = (n: number): KafkaOffset => kafkaOffset(n);
const small: StorageOptions = { segmentBytes: 4096, indexIntervalBytes: 256, maxBatchBytes: 4096 };

function logFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

test('a cleanly closed log reopens with every entry, term and offset, scanning nothing', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const first = batchRun({ count: 50, recordsPerBatch: 2, term: 1 });
  const second = batchRun({ count: 50, baseOffset: 100, recordsPerBatch: 2, term: 3 });
  const log = openNativeLog(temp.dir, small);
  log.append(first);
  log.append(second);
  t.true(log.segmentCount > 2, 'small segments roll');
  await log.close();
  t.true(logFiles(temp.dir).every((name) => /^\d{20}\.log$/.test(name)));
  const reopened = openNativeLog(temp.dir, small);
  t.teardown(() => reopened.close());
  t.deepEqual(reopened.recovery, {
    usedRecoveryPoint: true,
    scannedBytes: 0,
    truncatedBytes: 0,
    rebuiltIndexes: [],
    quarantined: [],
  });
  t.is<number, number>(reopened.lastIndex, 100);
  t.is<number, number>(reopened.durableIndex, 100);
  t.is<number, number>(reopened.nextOffset, 200);
  t.deepEqual(reopened.readEntries(i(1), i(100), 1 << 20), [...first, ...second]);
  t.is<number | undefined, number>(reopened.termAt(i(50)), 1);
  t.is<number | undefined, number>(reopened.termAt(i(51)), 3);
  t.is<number | undefined, number>(reopened.indexOfOffset(o(151)), 76);
  t.deepEqual(
    reopened.termStarts().map((s) => [s.term, s.firstIndex, s.firstOffset]),
    [
      [1, 1, 0],
      [3, 51, 100],
    ],
  );
});

test('half a batch and garbage at the tail are cut on reopen; everything before stays', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const batches = batchRun({ count: 20, recordsPerBatch: 1 });
  const log = openNativeLog(temp.dir, { indexIntervalBytes: 100 });
  log.append(batches.slice(0, 10));
  await log.sync();
  log.append(batches.slice(10));
  await log.close();
  const file = join(temp.dir, segmentName(0, 'log'));
  const keep = batches.slice(0, 15).reduce((sum, b) => sum + b.length, 0);
  // A crash mid-write: batch 16 half written, then bytes that were never a batch.
  truncateSync(file, keep + Math.floor(batches[15]!.length / 2));
  appendFileSync(file, Buffer.from('not a record batch at all'));
  const tornBytes = statSync(file).size - keep;
  // The recovery point written at close lies beyond the cut: it must not be trusted blindly.
  const reopened = openNativeLog(temp.dir, { indexIntervalBytes: 100 });
  t.teardown(() => reopened.close());
  t.is<number, number>(reopened.lastIndex, 15);
  t.is<number, number>(reopened.nextOffset, 15);
  t.is(reopened.recovery.truncatedBytes, tornBytes);
  t.regex(reopened.recovery.truncationReason ?? '', /segment 0 byte \d+/);
  t.deepEqual(reopened.readEntries(i(1), i(15), 1 << 20), batches.slice(0, 15));
  t.is(statSync(file).size, keep);
  // The log continues where the valid part ends.
  t.is<number, number>(reopened.append([batches[15]!]).lastIndex, 16);
});

test('after a SIGKILL the synced entries survive and what survives is a prefix of what was appended', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import=tsx', writer, temp.dir, '50', '200']);
  t.is(child.signal, 'SIGKILL', child.stderr.toString());
  const batches = batchRun({ count: 200, recordsPerBatch: 2 });
  const reopened = openNativeLog(temp.dir, small);
  t.teardown(() => reopened.close());
  t.true(reopened.recovery.usedRecoveryPoint);
  t.is(reopened.recovery.truncatedBytes, 0);
  t.true(reopened.lastIndex >= 50, `lastIndex ${reopened.lastIndex}`);
  t.true(reopened.lastIndex > 50, 'appends flushed by segment rolls survive too');
  t.deepEqual(reopened.readEntries(i(1), i(200), 1 << 22), batches.slice(0, reopened.lastIndex));
  t.is<number, number>(reopened.append(batches.slice(reopened.lastIndex)).lastIndex, 200);
});

test('missing or damaged index files are rebuilt from the segments', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const batches = batchRun({ count: 100, recordsPerBatch: 3 });
  const log = openNativeLog(temp.dir, small);
  log.append(batches);
  await log.close();
  const names = logFiles(temp.dir);
  rmSync(join(temp.dir, names[0]!.replace('.log', '.index')));
  writeFileSync(join(temp.dir, names[1]!.replace('.log', '.timeindex')), 'damaged');
  const reopened = openNativeLog(temp.dir, small);
  t.teardown(() => reopened.close());
  t.true(reopened.recovery.rebuiltIndexes.length >= names.length - 1);
  t.is(reopened.recovery.truncatedBytes, 0);
  t.true(existsSync(join(temp.dir, names[0]!.replace('.log', '.index'))));
  for (let n = 1; n <= 100; n++) {
    t.is<number | undefined, number>(reopened.offsetAt(i(n)), (n - 1) * 3);
    t.is<number | undefined, number>(reopened.indexOfOffset(o((n - 1) * 3 + 2)), n);
  }
  t.deepEqual(reopened.readEntries(i(1), i(100), 1 << 20), batches);
});

test('a corrupt batch inside an older segment cuts the log there when no recovery point covers it', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const batches = batchRun({ count: 60, recordsPerBatch: 1 });
  const log = openNativeLog(temp.dir, small);
  log.append(batches);
  await log.close();
  rmSync(join(temp.dir, 'recovery-point'));
  const names = logFiles(temp.dir);
  const second = join(temp.dir, names[1]!);
  const bytes = readFileSync(second);
  bytes[bytes.length - 5]! ^= 0xff; // inside the second segment's last batch
  writeFileSync(second, bytes);
  const base = Number(names[1]!.slice(0, 20));
  const lastOfSecond = base + bytes.length / batches[0]!.length - 1;
  const reopened = openNativeLog(temp.dir, small);
  t.teardown(() => reopened.close());
  t.is<number, number>(reopened.nextOffset, lastOfSecond);
  t.regex(reopened.recovery.truncationReason ?? '', /crc/);
  t.deepEqual(logFiles(temp.dir), names.slice(0, 2));
  t.deepEqual(reopened.readEntries(i(1), i(60), 1 << 20), batches.slice(0, lastOfSecond));
});

test('retention by size and by time drops whole old segments and never the active one', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const log = openNativeLog(temp.dir, small);
  t.teardown(() => log.close());
  const batches = batchRun({ count: 200, baseTimestamp: 1_000_000 });
  log.append(batches);
  const segments = log.segmentCount;
  const half = log.sizeBytes / 2;
  const first = log.applyRetention({ nowMs: 2_000_000, retentionMs: -1, retentionBytes: half });
  t.true(first > 1);
  t.true(log.sizeBytes >= half);
  t.true(log.segmentCount < segments);
  t.is(logFiles(temp.dir).length, log.segmentCount);
  // keepFrom protects entries the caller still needs.
  t.is<number, number>(
    log.applyRetention({ nowMs: 1e12, retentionMs: 0, retentionBytes: -1, keepFrom: first }),
    first,
  );
  const last = log.applyRetention({ nowMs: 1e12, retentionMs: 1000, retentionBytes: -1 });
  t.is(log.segmentCount, 1);
  t.is<number, number>(log.firstIndex, last);
  t.is<number, number>(log.lastIndex, 200);
  t.deepEqual(log.readEntries(last, i(200), 1 << 20), batches.slice(last - 1));
});

test('options out of range are rejected with INVALID_ARGUMENT naming the option', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const error = t.throws(() => openNativeLog(temp.dir, { segmentBytes: 10 }));
  t.true(error instanceof StorageError);
  t.is((error as StorageError).code, 'INVALID_ARGUMENT');
  t.regex(error?.message ?? '', /segmentBytes/);
  const negative = t.throws(() => openNativeLog(temp.dir, { indexIntervalBytes: -1 }));
  t.is((negative as StorageError).code, 'INVALID_ARGUMENT');
  t.regex(negative?.message ?? '', /indexIntervalBytes must be a non-negative integer/);
  // maxBatchBytes above segmentBytes is lowered to it: every batch must fit a segment.
  const log = openNativeLog(temp.dir, { segmentBytes: 4096, maxBatchBytes: 8192 });
  t.teardown(() => log.close());
  const big = encodeBatch({ baseOffset: 0, records: [{ value: Buffer.alloc(5000) }] });
  t.is((t.throws(() => log.append([big])) as StorageError).code, 'MESSAGE_TOO_LARGE');
});

test('offsetForTimestamp finds the first batch at or after a time across segments', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const log = openNativeLog(temp.dir, small);
  t.teardown(() => log.close());
  log.append(batchRun({ count: 100, baseTimestamp: 5_000 }));
  t.true(log.segmentCount > 2);
  for (const n of [0, 1, 17, 50, 99]) {
    t.is<number | undefined, number>(log.offsetForTimestamp(5_000 + n * 1000), n);
    t.is<number | undefined, number>(log.offsetForTimestamp(5_000 + n * 1000 - 500), n);
  }
  t.is(log.offsetForTimestamp(1e12), undefined);
});

test('the log stays usable while an fsync runs: reads, appends and truncation do not wait for it', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const batches = batchRun({ count: 40, recordsPerBatch: 1, term: 1, valueBytes: 512 });
  const log = openNativeLog(temp.dir, small);
  log.append(batches.slice(0, 20));
  const firstSync = log.sync();
  // All of these ran into "cannot be borrowed mutably" while a sync was pending.
  t.is<number, number>(log.nextOffset, 20);
  log.append(batches.slice(20, 30));
  t.deepEqual(log.readEntries(i(1), i(30), 1 << 20), batches.slice(0, 30));
  t.true(log.readFrom(o(0), 1 << 20, o(30)).length > 0);
  t.is<number, number>(await firstSync, 20);
  const secondSync = log.sync();
  log.truncateAfter(i(25));
  // The fence keeps an fsync prepared before the truncation from marking entries 26..30 durable.
  t.true((await secondSync) <= 25);
  log.append(batches.slice(25, 40));
  t.is<number, number>(await log.sync(), 40);
  await log.close();
  const reopened = openNativeLog(temp.dir, small);
  t.teardown(() => reopened.close());
  t.deepEqual(reopened.readEntries(i(1), i(40), 1 << 20), batches);
});

test('a log of 1 KiB segments opens with the default index interval (lowered to the segment size)', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  // Before: indexIntervalBytes (4096) above segmentBytes was refused, so a topic with
  // segment.bytes below 4 KiB could never open its partitions.
  const log = openNativeLog(temp.dir, { segmentBytes: 1024, maxBatchBytes: 1024 });
  t.teardown(() => log.close());
  log.append(batchRun({ count: 20, recordsPerBatch: 1, term: 1 }));
  t.true(log.segmentCount > 1);
});

test('a log marked corrupt at an offset serves what is before it and refuses reads from it', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const log = openNativeLog(temp.dir, small);
  t.teardown(() => log.close());
  const batches = batchRun({ count: 10, recordsPerBatch: 2, term: 1 });
  log.append(batches);
  log.markCorrupt(6);
  const before = log.readFrom(o(0), 1 << 20, o(20));
  t.deepEqual(before, Buffer.concat(batches.slice(0, 3)));
  const refused = t.throws(() => log.readFrom(o(6), 1 << 20, o(20)));
  t.is((refused as StorageError).code, 'CORRUPT_MESSAGE');
});
