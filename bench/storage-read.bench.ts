/**
 * Log read throughput against raw `fs.readSync` of the same segment files, both from the page
 * cache: a consumer reading the whole log with Fetch-style `readFrom(offset, 1 MiB, upTo)`
 * calls, and a follower reading `readEntries` by LogIndex, versus 1 MiB `readSync` calls.
 * Run: npm run bench -- storage-read
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBatch, tempDir } from '../__test__/storage/helpers.js';
import { kafkaOffset, logIndex } from '../src/lib/ids.js';
import { openNativeLog } from '../src/storage/index.js';

const TOTAL_BYTES = 256 * 2 ** 20;
const CHUNK_BYTES = 2 ** 20;

async function main(): Promise<void> {
  const temp = tempDir('goqueue-bench-read-');
  try {
    const batch = encodeBatch({
      baseOffset: 0,
      term: 1,
      records: Array.from({ length: 4 }, (_, i) => ({ value: Buffer.alloc(230, i) })),
    });
    const count = Math.floor(TOTAL_BYTES / batch.length);
    const log = openNativeLog(temp.dir, { segmentBytes: 64 * 2 ** 20 });
    for (let i = 0; i < count; i++) {
      batch.writeBigInt64BE(BigInt(i * 4), 0);
      log.append([batch]);
    }
    await log.sync();
    const end = log.nextOffset;
    const files = readdirSync(temp.dir)
      .filter((name) => name.endsWith('.log'))
      .sort()
      .map((name) => join(temp.dir, name));

    const readRaw = (): number => {
      let bytes = 0;
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      for (const file of files) {
        const fd = openSync(file, 'r');
        for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) bytes += n;
        closeSync(fd);
      }
      return bytes;
    };
    // What any read API that hands out its buffer pays: a fresh buffer per call.
    const readRawFresh = (): number => {
      let bytes = 0;
      for (const file of files) {
        const fd = openSync(file, 'r');
        for (let n = 1; n > 0; ) {
          n = readSync(fd, Buffer.allocUnsafe(CHUNK_BYTES));
          bytes += n;
        }
        closeSync(fd);
      }
      return bytes;
    };
    const readOffsets = (): number => {
      let bytes = 0;
      for (let offset = 0; offset < end; ) {
        const data = log.readFrom(kafkaOffset(offset), CHUNK_BYTES, end);
        bytes += data.length;
        const last = data.length - batch.length;
        offset = Number(data.readBigInt64BE(last)) + 4;
      }
      return bytes;
    };
    const readIndexes = (): number => {
      let bytes = 0;
      const perCall = Math.floor(CHUNK_BYTES / batch.length);
      for (let index = 1; index <= count; index += perCall) {
        for (const entry of log.readEntries(logIndex(index), logIndex(index + perCall - 1), CHUNK_BYTES)) {
          bytes += entry.length;
        }
      }
      return bytes;
    };
    const time = (run: () => number): number => {
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 5; round++) {
        const started = process.hrtime.bigint();
        const bytes = run();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (bytes !== count * batch.length)
          throw new Error(`read ${bytes} bytes, expected ${count * batch.length}`);
        best = Math.min(best, seconds);
      }
      return (count * batch.length) / best / 2 ** 20;
    };
    readRaw(); // warm the page cache
    const raw = time(readRaw);
    const rawFresh = time(readRawFresh);
    const byOffset = time(readOffsets);
    const byIndex = time(readIndexes);
    console.log(`read ${count} batches of ${batch.length} B, 1 MiB per call (page cache)`);
    const ratio = (value: number) =>
      `${((value / raw) * 100).toFixed(0)}% of reused, ${((value / rawFresh) * 100).toFixed(0)}% of fresh`;
    console.log(`  raw readSync, one reused buffer  ${raw.toFixed(0).padStart(6)} MB/s`);
    console.log(`  raw readSync, fresh buffer/call  ${rawFresh.toFixed(0).padStart(6)} MB/s`);
    console.log(
      `  log readFrom (offset)            ${byOffset.toFixed(0).padStart(6)} MB/s   ${ratio(byOffset)}`,
    );
    console.log(
      `  log readEntries (index, split)   ${byIndex.toFixed(0).padStart(6)} MB/s   ${ratio(byIndex)}`,
    );
    await log.close();
  } finally {
    temp.remove();
  }
}

await main();
