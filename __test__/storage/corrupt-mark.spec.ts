/**
 * The corrupt mark of a native log (set by the scrubber) names a batch; once a truncation,
 * retention or a snapshot install removes that batch, nothing damaged is left at that offset and
 * reads from the offsets after it must be served again.
 */
import test from 'ava';
import { type KafkaOffset, kafkaOffset, type LogIndex, logIndex } from '../../src/lib/ids.js';
import { openNativeLog, type StorageOptions } from '../../src/storage/index.js';
import { batchRun, tempDir } from './helpers.js';

const i = (n: number): LogIndex => logIndex(n);
const o = (n: number): KafkaOffset => kafkaOffset(n);
const small: StorageOptions = { segmentBytes: 4096, indexIntervalBytes: 256, maxBatchBytes: 4096 };

test('retention that releases the segment holding the marked batch drops the mark', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const log = openNativeLog(temp.dir, small);
  t.teardown(() => log.close());
  log.append(batchRun({ count: 100, recordsPerBatch: 2, term: 1 }));
  t.true(log.segmentCount > 2);
  log.markCorrupt(6); // entry 4, in the first segment
  const firstKept = log.truncateBefore(i(60));
  t.true(log.logStartOffset > 6, `log start ${log.logStartOffset}`);
  t.is(log.corruptOffset, null);
  t.true(log.readFrom(log.logStartOffset, 1 << 20, o(200)).length > 0);
  t.true(firstKept > 4);
});

test('a snapshot install (reset) past the marked batch drops the mark', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const log = openNativeLog(temp.dir, small);
  t.teardown(() => log.close());
  log.append(batchRun({ count: 10, recordsPerBatch: 2, term: 1 }));
  log.markCorrupt(6);
  log.reset(i(101), o(500));
  log.append(batchRun({ count: 3, baseOffset: 500, recordsPerBatch: 2, term: 2 }));
  t.is(log.corruptOffset, null);
  t.true(log.readFrom(o(500), 1 << 20, o(506)).length > 0);
});

test('a Raft truncation that cuts the marked batch drops the mark; a cut after it keeps it', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const log = openNativeLog(temp.dir, small);
  t.teardown(() => log.close());
  log.append(batchRun({ count: 10, recordsPerBatch: 2, term: 1 }));
  log.markCorrupt(12); // entry 7
  log.truncateAfter(i(8));
  t.is(log.corruptOffset, 12, 'the marked batch is still stored');
  log.truncateAfter(i(2)); // keeps offsets 0..3
  t.is(log.corruptOffset, null);
  log.append(batchRun({ count: 8, baseOffset: 4, recordsPerBatch: 2, term: 2 }));
  t.true(log.readFrom(o(12), 1 << 20, o(20)).length > 0);
});
