/**
 * A failed fsync fences the partition: the producers of the unsynced batches are told it failed,
 * and nothing written after (or before the next successful fsync) ever becomes visible.
 */
import test from 'ava';
import { pino } from 'pino';
import { GroupCommit } from '../../src/broker/group-commit.js';
import { LocalReplicatedLog } from '../../src/broker/replicated-log.js';
import { type KafkaOffset, kafkaOffset, type LogIndex } from '../../src/lib/ids.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import { MemoryLog } from '../../src/storage/memory-log.js';

/** A MemoryLog whose next fsync fails, as a disk error would. */
class FailingOnceLog extends MemoryLog {
  failNextSync = false;
  override async sync(): Promise<LogIndex> {
    if (this.failNextSync) {
      this.failNextSync = false;
      throw Object.assign(new Error('EIO: input/output error, fsync'), { code: 'IO_ERROR' });
    }
    return super.sync();
  }
}

const batch = (value: string): Buffer =>
  encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: [{ key: null, value }],
  });

test('after a failed fsync the partition refuses writes and its high watermark never covers the failed batches', async (t) => {
  const storage = new FailingOnceLog();
  const commit = new GroupCommit(0, pino({ level: 'silent' }));
  const log = new LocalReplicatedLog(storage, commit, { fsyncEnabled: true, leaderEpoch: 1 });
  t.deepEqual(await log.propose([batch('a')]), { baseOffset: kafkaOffset(0), nextOffset: kafkaOffset(1) });

  storage.failNextSync = true;
  const failed = await t.throwsAsync(log.propose([batch('b')]));
  t.regex(failed!.message, /EIO/);
  t.is<KafkaOffset, KafkaOffset>(log.highWatermark, kafkaOffset(1));

  // The next write is refused with KAFKA_STORAGE_ERROR instead of fsyncing 'b' along with it.
  const refused = await t.throwsAsync(log.propose([batch('c')]));
  t.is((refused as Error & { code?: string }).code, 'KAFKA_STORAGE_ERROR');
  await commit.drain();
  t.is<KafkaOffset, KafkaOffset>(log.highWatermark, kafkaOffset(1));
  const visible = decodeRecordBatches(await log.read(kafkaOffset(0), 1 << 20));
  t.deepEqual(
    visible.flatMap((b) => b.records.map((r) => r.value?.toString())),
    ['a'],
  );
  t.is((await log.read(kafkaOffset(1), 1 << 20)).length, 0);
});
