/**
 * Cost of one durable append, one at a time (an acks=all produce on an idle partition): append
 * one 1 KiB batch, then `sync`, repeated. Compares the default sync (fdatasync of the segment's
 * `.log` only; index files and the recovery point every `checkpointIntervalBytes` /
 * `checkpointIntervalMs`, on roll and on close) with a log opened with
 * `checkpointIntervalBytes: 0`, which checkpoints at every sync as the log did before (fdatasync
 * of `.log`, `.index`, `.timeindex`, then recovery-point.tmp written, fsynced, renamed and the
 * directory fsynced). Both run in one process, in alternating blocks, on the same disk.
 *
 * The default side goes through `openNativeLog` (src/storage), the production path; the other
 * side opens the binding directly, since `StorageOptions` does not carry the checkpoint interval.
 *
 * Run: npm run bench -- storage-sync
 * Syscalls per sync: BENCH_SYNC_ONLY=default|every-sync BENCH_SYNC_COUNT=200 \
 *   strace -f -c -e trace=fsync,fdatasync,rename,pwrite64 node --import=tsx bench/storage-sync.bench.ts
 */

import { join } from 'node:path';
import * as binding from '#native';
import { encodeBatch, tempDir } from '../__test__/storage/helpers.js';
import { openNativeLog } from '../src/storage/index.js';

type Mode = 'default' | 'every-sync';

interface SyncingLog {
  append(batches: Buffer[]): unknown;
  sync(): Promise<number>;
  close(): Promise<void>;
}

function open(dir: string, mode: Mode): SyncingLog {
  if (mode === 'default') {
    const log = openNativeLog(dir);
    return {
      append: (batches) => log.append(batches),
      sync: () => log.sync(),
      close: () => log.close(),
    };
  }
  const log = binding.Log.open(dir, { checkpointIntervalBytes: 0 });
  return {
    append: (batches) => log.append(batches),
    sync: () => log.prepareSync().run(),
    close: async () => log.close(),
  };
}

const only = process.env.BENCH_SYNC_ONLY as Mode | undefined;
const modes: Mode[] = only ? [only] : ['default', 'every-sync'];
const syncsPerBlock = Number(process.env.BENCH_SYNC_COUNT ?? 250);
const blocks = only ? 1 : 4;

const batch = encodeBatch({
  baseOffset: 0,
  term: 1,
  records: [{ value: Buffer.alloc(1024 - 61 - 10, 7) }],
});
const temp = tempDir('goqueue-bench-sync-');
try {
  const logs = new Map(modes.map((mode) => [mode, open(join(temp.dir, mode), mode)]));
  const next = new Map(modes.map((mode) => [mode, 0]));
  const latencies = new Map<Mode, number[]>(modes.map((mode) => [mode, []]));
  const runBlock = async (mode: Mode): Promise<void> => {
    const log = logs.get(mode)!;
    const times = latencies.get(mode)!;
    let offset = next.get(mode)!;
    for (let i = 0; i < syncsPerBlock; i++) {
      batch.writeBigInt64BE(BigInt(offset), 0);
      const started = process.hrtime.bigint();
      log.append([batch]);
      const durable = await log.sync();
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      offset++;
      if (durable !== offset) throw new Error(`sync made ${durable} durable, expected ${offset}`);
    }
    next.set(mode, offset);
  };
  // Alternate which side goes first so neither always meets a busier disk.
  for (let block = 0; block < blocks; block++) {
    const order = block % 2 === 0 ? modes : [...modes].reverse();
    for (const mode of order) await runBlock(mode);
  }
  for (const log of logs.values()) await log.close();
  const quantile = (sorted: number[], q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const summary = new Map<Mode, { p50: number; p99: number; mean: number }>();
  for (const [mode, times] of latencies) {
    const sorted = [...times].sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    summary.set(mode, { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean });
    console.log(
      `append 1 KiB + sync, ${mode.padEnd(10)} x${times.length}: p50 ${quantile(sorted, 0.5).toFixed(3)} ms   p99 ${quantile(sorted, 0.99).toFixed(3)} ms   mean ${mean.toFixed(3)} ms   ${(1000 / mean).toFixed(0)} syncs/s`,
    );
  }
  const fast = summary.get('default');
  const slow = summary.get('every-sync');
  if (fast && slow) {
    console.log(
      `every-sync checkpoint / default: p50 ${(slow.p50 / fast.p50).toFixed(2)}x   p99 ${(slow.p99 / fast.p99).toFixed(2)}x   mean ${(slow.mean / fast.mean).toFixed(2)}x`,
    );
  }
} finally {
  temp.remove();
}
