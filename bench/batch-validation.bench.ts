/**
 * Produce-path validation of compressed batches: the header-only check (size, magic, CRC32C,
 * recordsCount against lastOffsetDelta: `validateBatches`) against the honest one that also
 * streams the compressed records through the decoder and counts them (`validateProduceBatches`),
 * per codec, on one batch of 100 JSON log lines (~15.6 KB uncompressed), the broker-recompression
 * bench's payload. Prints µs per batch of each (median of 7 alternating rounds) and the ratio
 * (honest / header-only).
 * Run: npm run bench -- batch-validation
 */
import { validateBatches, validateProduceBatches } from '#native';
import { Codec } from '../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../src/protocol/records.js';
import { nativeCodecs } from '../src/storage/index.js';

const ROUNDS = 5_000;
/** Alternating rounds per mode; the median is reported (the machine is shared and noisy). */
const REPEATS = 7;

function logLine(i: number): string {
  return JSON.stringify({
    ts: 1_700_000_000_000 + i,
    level: i % 7 === 0 ? 'warn' : 'info',
    service: 'checkout',
    msg: `order ${100_000 + i} paid`,
    amount: (i * 37) % 1000,
  });
}

function microsPerBatch(batch: Buffer, validate: (b: Buffer) => unknown): number {
  for (let i = 0; i < 500; i++) validate(batch);
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) validate(batch);
  return Number(process.hrtime.bigint() - started) / 1e3 / ROUNDS;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const records = Array.from({ length: 100 }, (_, i) => ({ key: null, value: Buffer.from(logLine(i)) }));
for (const [name, codec] of [
  ['none', Codec.None],
  ['gzip', Codec.Gzip],
  ['snappy', Codec.Snappy],
  ['lz4', Codec.Lz4],
  ['zstd', Codec.Zstd],
] as const) {
  const batch = encodeRecordBatch(
    { baseTimestamp: 1_700_000_000_000, attributes: codec, records },
    nativeCodecs,
  );
  const headerOnlyRuns: number[] = [];
  const honestRuns: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    headerOnlyRuns.push(microsPerBatch(batch, (b) => validateBatches(b, 1 << 20)));
    honestRuns.push(microsPerBatch(batch, (b) => validateProduceBatches(b, 1 << 20)));
  }
  const headerOnly = median(headerOnlyRuns);
  const honest = median(honestRuns);
  console.log(
    `${name.padEnd(6)} ${String(batch.length).padStart(6)} B   header-only ${headerOnly.toFixed(2).padStart(6)} µs   counted ${honest.toFixed(2).padStart(6)} µs   ratio ${(honest / headerOnly).toFixed(2)}x   (+${((honest - headerOnly) / 100).toFixed(3)} µs per record)`,
  );
}
