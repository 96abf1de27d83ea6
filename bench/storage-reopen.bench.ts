/**
 * Reopen time of a 1 GiB log: cleanly closed (the recovery point covers everything, nothing is
 * scanned) against after a crash that left a 64 MiB tail past the recovery point (the tail is
 * scanned and checked batch by batch). Target: clean reopen under 200 ms.
 * The log is written by a child process (this file with `write <dir> <clean|crash>`), which for
 * the crash case kills itself with SIGKILL after the unsynced tail.
 * Run: npm run bench -- storage-reopen
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeBatch, tempDir } from '../__test__/storage/helpers.js';
import { openNativeLog } from '../src/storage/index.js';

const LOG_BYTES = 2 ** 30;
const TAIL_BYTES = 64 * 2 ** 20;
const OPTIONS = { segmentBytes: 256 * 2 ** 20 };

async function write(dir: string, mode: string): Promise<void> {
  const batch = encodeBatch({
    baseOffset: 0,
    term: 1,
    records: Array.from({ length: 4 }, (_, i) => ({ value: Buffer.alloc(230, i) })),
  });
  const count = Math.floor(LOG_BYTES / batch.length);
  const synced = mode === 'crash' ? count - Math.floor(TAIL_BYTES / batch.length) : count;
  const log = openNativeLog(dir, OPTIONS);
  for (let i = 0; i < count; i++) {
    if (i === synced) await log.sync();
    batch.writeBigInt64BE(BigInt(i * 4), 0);
    log.append([batch]);
  }
  if (mode === 'crash') process.kill(process.pid, 'SIGKILL');
  await log.close();
}

async function measure(
  mode: 'clean' | 'crash',
): Promise<{ ms: number; scannedBytes: number; entries: number }> {
  const temp = tempDir('goqueue-bench-reopen-');
  try {
    const self = fileURLToPath(import.meta.url);
    const child = spawnSync(process.execPath, ['--import=tsx', self, 'write', temp.dir, mode], {
      stdio: 'inherit',
    });
    if (mode === 'clean' ? child.status !== 0 : child.signal !== 'SIGKILL')
      throw new Error(`writer failed: ${child.status}`);
    const started = process.hrtime.bigint();
    const log = openNativeLog(temp.dir, OPTIONS);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const result = { ms, scannedBytes: log.recovery.scannedBytes, entries: log.lastIndex };
    await log.close();
    return result;
  } finally {
    temp.remove();
  }
}

if (process.argv[2] === 'write') {
  await write(process.argv[3]!, process.argv[4]!);
} else {
  const clean = await measure('clean');
  const crash = await measure('crash');
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  console.log(`reopen of a 1 GiB log (${clean.entries} entries, 256 MiB segments)`);
  console.log(
    `  cleanly closed   ${clean.ms.toFixed(1).padStart(7)} ms   scanned ${mib(clean.scannedBytes)} MiB`,
  );
  console.log(
    `  after SIGKILL    ${crash.ms.toFixed(1).padStart(7)} ms   scanned ${mib(crash.scannedBytes)} MiB of unsynced tail`,
  );
  console.log(`  ratio crash/clean ${(crash.ms / clean.ms).toFixed(1)}x`);
}
