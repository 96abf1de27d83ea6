/**
 * What the cache of open segment files costs when it is too small: the same workloads over
 * LOGS partition logs with the cache holding every file (3 per log) and with the cache forced to
 * thrash (THRASH_CAPACITY handles for LOGS × 3 files, so nearly every operation opens a file
 * and closes another; a closed file that had unsynced writes is fdatasynced first).
 *
 * - reads: `readFrom` of one batch at a random offset of a random log (a consumer fetch);
 * - appends: rounds of one batch appended to every log, then every log synced at once (the
 *   broker's group commit: the syncs run on the libuv pool together).
 *
 * Runs alternate (big, thrash, big, thrash, …) and medians are printed with the ratio.
 * Run: npm run bench -- storage-fd-cache
 */
import { encodeBatch, tempDir } from '../__test__/storage/helpers.js';
import { kafkaOffset } from '../src/lib/ids.js';
import { openNativeLog } from '../src/storage/index.js';
import { type NativeLog, segmentFileCacheStats, setSegmentFileCapacity } from '../src/storage/native-log.js';

const LOGS = 300;
const BATCHES_PER_LOG = 200;
const THRASH_CAPACITY = 16;
const READS = 40_000;
const APPEND_ROUNDS = 4;
const RUNS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** xorshift32, so both configurations read the same offsets. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

async function main(): Promise<void> {
  const temp = tempDir('goqueue-bench-fd-');
  const batch = encodeBatch({
    baseOffset: 0,
    term: 1,
    records: Array.from({ length: 4 }, (_, i) => ({ value: Buffer.alloc(240, i) })),
  });
  const append = (log: NativeLog): void => {
    batch.writeBigInt64BE(BigInt(log.nextOffset), 0);
    log.append([batch]);
  };
  try {
    setSegmentFileCapacity(LOGS * 3 + 64);
    const logs = Array.from({ length: LOGS }, (_, i) => openNativeLog(`${temp.dir}/p${i}`));
    for (const log of logs) for (let i = 0; i < BATCHES_PER_LOG; i++) append(log);
    await Promise.all(logs.map((log) => log.sync()));

    const reads = (): number => {
      const next = random(12345);
      const started = performance.now();
      let bytes = 0;
      for (let i = 0; i < READS; i++) {
        const log = logs[Math.floor(next() * LOGS)] as NativeLog;
        const offset = Math.floor(next() * BATCHES_PER_LOG) * 4;
        bytes += log.readFrom(kafkaOffset(offset), 1, kafkaOffset(offset + 4)).length;
      }
      if (bytes !== READS * batch.length) throw new Error(`read ${bytes} bytes`);
      return READS / ((performance.now() - started) / 1000);
    };
    const appends = async (): Promise<number> => {
      const started = performance.now();
      for (let round = 0; round < APPEND_ROUNDS; round++) {
        for (const log of logs) append(log);
        await Promise.all(logs.map((log) => log.sync()));
      }
      return (APPEND_ROUNDS * LOGS) / ((performance.now() - started) / 1000);
    };

    const results = {
      big: { reads: [] as number[], appends: [] as number[] },
      thrash: { reads: [] as number[], appends: [] as number[] },
    };
    let thrashStats = segmentFileCacheStats();
    for (let run = 0; run < RUNS; run++) {
      for (const mode of ['big', 'thrash'] as const) {
        setSegmentFileCapacity(mode === 'big' ? LOGS * 3 + 64 : THRASH_CAPACITY);
        if (mode === 'big') for (const log of logs) log.readFrom(kafkaOffset(0), 1, kafkaOffset(4)); // warm
        const before = segmentFileCacheStats();
        results[mode].reads.push(reads());
        results[mode].appends.push(await appends());
        if (mode === 'thrash') {
          const after = segmentFileCacheStats();
          thrashStats = {
            ...after,
            opens: after.opens - before.opens,
            evictions: after.evictions - before.evictions,
            dirtyEvictions: after.dirtyEvictions - before.dirtyEvictions,
            hits: after.hits - before.hits,
          };
        }
      }
    }
    const line = (name: string, big: number, thrash: number, unit: string) =>
      console.log(
        `  ${name.padEnd(34)} ${big.toFixed(0).padStart(8)} ${unit}  ${thrash.toFixed(0).padStart(8)} ${unit}   thrash/big ${(thrash / big).toFixed(2)}`,
      );
    console.log(
      `${LOGS} logs (${LOGS * 3} segment files); cache of ${LOGS * 3 + 64} (all open) vs ${THRASH_CAPACITY} (thrash); medians of ${RUNS}`,
    );
    console.log(`  ${''.padEnd(34)} ${'all open'.padStart(15)}  ${'thrash'.padStart(15)}`);
    line('read one batch, random log', median(results.big.reads), median(results.thrash.reads), 'reads/s');
    line(
      'append 1 batch to each log + sync',
      median(results.big.appends),
      median(results.thrash.appends),
      'appends/s',
    );
    console.log(
      `  last thrash run: ${thrashStats.opens} opens, ${thrashStats.evictions} evictions (${thrashStats.dirtyEvictions} fsynced first), ${thrashStats.hits} hits`,
    );
    for (const log of logs) await log.close();
  } finally {
    temp.remove();
  }
}

await main();
