/**
 * Log append throughput (no fsync) against raw `fs.writeSync` of the same bytes, one call per
 * batch, for 1 KiB and 1 MiB batches. The log validates each batch (CRC32C, header, records of
 * uncompressed batches), writes it and maintains the sparse indexes. Target: >= 70% of raw.
 * Run: npm run bench -- storage-append
 */
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBatch, tempDir } from '../__test__/storage/helpers.js';
import { openNativeLog } from '../src/storage/index.js';

/** One batch of about `batchBytes`, re-stamped per append (baseOffset lies outside the CRC). */
function template(batchBytes: number): Buffer {
  const recordBytes = 1000;
  const count = Math.max(1, Math.round(batchBytes / (recordBytes + 10)));
  const valueBytes = Math.floor((batchBytes - 61) / count) - 10;
  const records = Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(valueBytes, i & 0xff) }));
  return encodeBatch({ baseOffset: 0, term: 1, records });
}

async function run(label: string, batchBytes: number, totalBytes: number): Promise<void> {
  const batch = template(batchBytes);
  const records = batch.readInt32BE(57);
  const count = Math.floor(totalBytes / batch.length);
  const temp = tempDir('goqueue-bench-append-');
  try {
    const rawTimes: number[] = [];
    const logTimes: number[] = [];
    const timeRaw = (round: number): void => {
      const file = join(temp.dir, `raw-${round}.bin`);
      const fd = openSync(file, 'w');
      const started = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        batch.writeBigInt64BE(BigInt(i * records), 0);
        writeSync(fd, batch);
      }
      rawTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
      // Flush and delete outside the timed part so dirty pages never throttle the next run.
      fsyncSync(fd);
      closeSync(fd);
      rmSync(file);
    };
    const timeLog = async (round: number): Promise<void> => {
      const dir = join(temp.dir, `log-${round}`);
      const log = openNativeLog(dir, { maxBatchBytes: 2 * 2 ** 20 });
      const started = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        batch.writeBigInt64BE(BigInt(i * records), 0);
        log.append([batch]);
      }
      logTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (log.lastIndex !== count) throw new Error('append lost batches');
      await log.close();
      rmSync(dir, { recursive: true });
    };
    // Alternate which side goes first so neither always meets a busier page cache.
    for (let round = 0; round < 4; round++) {
      if (round % 2 === 0) {
        timeRaw(round);
        await timeLog(round);
      } else {
        await timeLog(round);
        timeRaw(round);
      }
    }
    const best = (times: number[]) => Math.min(...times);
    const mbps = (seconds: number) => (count * batch.length) / seconds / 2 ** 20;
    const raw = mbps(best(rawTimes));
    const appended = mbps(best(logTimes));
    console.log(
      `append ${label.padEnd(6)} x${count}: log ${appended.toFixed(0).padStart(5)} MB/s   raw writeSync ${raw.toFixed(0).padStart(5)} MB/s   ratio ${((appended / raw) * 100).toFixed(0)}%`,
    );
  } finally {
    temp.remove();
  }
}

await run('1 KiB', 1024, 64 * 2 ** 20);
await run('1 MiB', 2 ** 20, 256 * 2 ** 20);
