/**
 * Cost of re-validating every entry Raft reads from a partition log. `NativeLog.readEntries`
 * (what a leader sends to followers and what a replica applies) runs one native
 * `validateBatches` pass (framing, magic, CRC32C, record count) over the whole read, then checks
 * each batch's term against the term map (`termAt`, one binding call per batch) and its
 * baseOffset against the previous batch's end. Compared, on the same log in one run, with the
 * same read without those checks: the binding's `Log.readEntries` and the same `splitBatches`.
 * To show where the cost goes, the raw read plus each check alone is timed too (the
 * `validateBatches` pass; the `termAt` call per batch), and plus one bare CRC32C over each read
 * (the checksum work without `validateBatches`'s per-batch result objects).
 *
 * Reads walk the whole log the way Raft does: `readEntries(next, lastIndex, 1 MiB)` (1 MiB is
 * the default `max_message_size`, Raft's `maxMessageBytes`), from the page cache (one untimed
 * pass first). Shapes: one 100 B record per batch (~6,000 entries per read), ten 100 B records
 * per batch, and 64 KiB batches (15 per read). The sides are interleaved read by read (each
 * 1 MiB range is read by every side in turn, the first side rotating), since on this machine a
 * process's 1 MiB reads can slow down several-fold midway through a run and whole-walk rounds
 * would charge that to whichever side ran then. Each side's time is summed over a walk; the
 * median of 5 walks is printed as entries/s and MB/s, with the time ratio validating / raw.
 *
 * The raw side reaches the `binding.Log` the NativeLog wraps (a private field: TypeScript's
 * `private` is not enforced at run time), so both read the same open log.
 *
 * Run: npm run bench -- raft-read-validation   (one shape: BENCH_SHAPE=64 npm run bench -- ...;
 * each walk's seconds per side: BENCH_DEBUG=1)
 */
import { crc32c, type Log, validateBatches } from '#native';
import { encodeBatch, tempDir } from '../__test__/storage/helpers.js';
import { type LogIndex, logIndex } from '../src/lib/ids.js';
import { type NativeLog, openNativeLog, splitBatches } from '../src/storage/index.js';

const READ_BYTES = 2 ** 20;
/** What NativeLog checks stored batches against (Kafka's ceiling on one batch). */
const STORED_BATCH_BYTES_MAX = 2 ** 31 - 1;
/** Walks of the whole log; the median is reported (the machine is shared and noisy). */
const REPEATS = 5;

interface Shape {
  name: string;
  recordsPerBatch: number;
  valueBytes: number;
  logBytes: number;
}

const SHAPES: Shape[] = [
  { name: '1 x 100 B records', recordsPerBatch: 1, valueBytes: 100, logBytes: 24 * 2 ** 20 },
  { name: '10 x 100 B records', recordsPerBatch: 10, valueBytes: 100, logBytes: 48 * 2 ** 20 },
  { name: '16 x 4 KiB (64 KiB)', recordsPerBatch: 16, valueBytes: 4096 - 10, logBytes: 128 * 2 ** 20 },
];

type Read = (from: LogIndex, to: LogIndex) => Buffer[];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Appends `shape.logBytes` of batches (term 1, offsets continuing each other). */
function fill(log: NativeLog, shape: Shape): number {
  const batch = encodeBatch({
    baseOffset: 0,
    term: 1,
    records: Array.from({ length: shape.recordsPerBatch }, (_, i) => ({
      value: Buffer.alloc(shape.valueBytes, i),
    })),
  });
  const count = Math.floor(shape.logBytes / batch.length);
  const perAppend = Math.max(1, Math.floor(READ_BYTES / batch.length));
  for (let first = 0; first < count; first += perAppend) {
    const group: Buffer[] = [];
    for (let i = first; i < Math.min(count, first + perAppend); i++) {
      // baseOffset lies outside the CRC: each copy stays valid.
      const copy = Buffer.from(batch);
      copy.writeBigInt64BE(BigInt(i * shape.recordsPerBatch), 0);
      group.push(copy);
    }
    log.append(group);
  }
  return count;
}

/**
 * One walk of entries 1..last: at each step every side reads the same range (the first side
 * rotating step by step), and must return the same entries. Returns each side's seconds.
 */
function walk(last: number, sides: readonly Read[]): number[] {
  const nanos = sides.map(() => 0n);
  for (let next = 1, step = 0; next <= last; step++) {
    let read = -1;
    for (let k = 0; k < sides.length; k++) {
      const side = (step + k) % sides.length;
      const started = process.hrtime.bigint();
      const batches = sides[side]!(logIndex(next), logIndex(last));
      nanos[side]! += process.hrtime.bigint() - started;
      if (batches.length === 0 || (read !== -1 && batches.length !== read))
        throw new Error(`side ${side} read ${batches.length} entries at ${next}, another ${read}`);
      read = batches.length;
    }
    next += read;
  }
  return nanos.map((value) => Number(value) / 1e9);
}

async function runShape(shape: Shape): Promise<void> {
  const temp = tempDir('goqueue-bench-raft-read-');
  try {
    const log = openNativeLog(temp.dir, { segmentBytes: 64 * 2 ** 20 });
    const count = fill(log, shape);
    await log.sync();
    const last = log.lastIndex;
    if (last !== count) throw new Error(`log holds ${last} entries, ${count} appended`);
    const raw = (log as unknown as { log: Log }).log;

    const sides: Array<{ name: string; read: Read }> = [
      { name: 'raw', read: (from, to) => splitBatches(raw.readEntries(from, to, READ_BYTES)) },
      { name: 'validating', read: (from, to) => log.readEntries(from, to, READ_BYTES) },
      {
        name: 'raw + validateBatches only',
        read: (from, to) => {
          const bytes = raw.readEntries(from, to, READ_BYTES);
          validateBatches(bytes, STORED_BATCH_BYTES_MAX);
          return splitBatches(bytes);
        },
      },
      {
        name: 'raw + termAt only',
        read: (from, to) => {
          const batches = splitBatches(raw.readEntries(from, to, READ_BYTES));
          for (let at = 0; at < batches.length; at++)
            if (batches[at]!.readInt32BE(12) !== log.termAt(logIndex(from + at)))
              throw new Error(`term of entry ${from + at} differs`);
          return batches;
        },
      },
      {
        name: 'raw + crc32c of the read',
        read: (from, to) => {
          const bytes = raw.readEntries(from, to, READ_BYTES);
          crc32c(bytes);
          return splitBatches(bytes);
        },
      },
    ];
    const reads = sides.map((side) => side.read);

    // Warm the page cache; the validating read must find nothing damaged.
    let totalBytes = 0;
    for (let next = 1; next <= last; ) {
      const batches = log.readEntries(logIndex(next), logIndex(last), READ_BYTES);
      for (const batch of batches) totalBytes += batch.length;
      next += batches.length;
    }
    if (log.corruptOffset !== null) throw new Error(`the log was found damaged at ${log.corruptOffset}`);

    const runs = sides.map((): number[] => []);
    for (let round = 0; round < REPEATS; round++)
      walk(last, reads).forEach((seconds, side) => {
        runs[side]!.push(seconds);
      });
    if (process.env.BENCH_DEBUG) console.log(runs);
    const seconds = runs.map(median);
    const rawSeconds = seconds[0]!;
    const batchBytes = totalBytes / count;
    console.log(
      `${shape.name}: ${count} batches of ${batchBytes} B (${(totalBytes / 2 ** 20).toFixed(0)} MiB), ${Math.floor(READ_BYTES / batchBytes)} per 1 MiB read, page cache`,
    );
    sides.forEach((side, at) => {
      const rate = `${Math.round(count / seconds[at]!)
        .toLocaleString('en-US')
        .padStart(9)} entries/s ${(totalBytes / seconds[at]! / 2 ** 20).toFixed(0).padStart(5)} MB/s`;
      const extra =
        at === 0 ? '' : `   +${(((seconds[at]! - rawSeconds) / count) * 1e6).toFixed(3)} µs per entry`;
      console.log(`  ${side.name.padEnd(26)} ${rate}${extra}`);
    });
    console.log(`  ratio validating / raw (time) ${(seconds[1]! / rawSeconds).toFixed(2)}x`);
    await log.close();
  } finally {
    temp.remove();
  }
}

// BENCH_SHAPE=64 runs only the shapes whose name contains "64".
const only = process.env.BENCH_SHAPE;
for (const shape of SHAPES) if (only === undefined || shape.name.includes(only)) await runShape(shape);
