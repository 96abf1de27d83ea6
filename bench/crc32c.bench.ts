/**
 * CRC32C: the native core (crc32c crate, SSE4.2/ARMv8 CRC instructions) against the pure-JS
 * slicing-by-8 in src/protocol/crc32c.ts, on 1 KiB, 16 KiB and 1 MiB buffers. Target: native >= 20x
 * (per-call overhead of a napi call, ~0.2 us, bounds the ratio for small buffers).
 * Run: npm run bench -- crc32c
 */
import { crc32c as nativeCrc32c } from '#native';
import { crc32c as jsCrc32c } from '../src/protocol/crc32c.js';

function throughput(bytes: Buffer, totalBytes: number, run: (b: Buffer) => number): number {
  const rounds = Math.max(1, Math.floor(totalBytes / bytes.length));
  for (let i = 0; i < Math.min(rounds, 100); i++) run(bytes); // warm up
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sink ^= run(bytes);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (sink === 0.5) console.log('unreachable');
  return (rounds * bytes.length) / seconds / 2 ** 20;
}

if (nativeCrc32c(Buffer.from('123456789')) !== jsCrc32c(Buffer.from('123456789')))
  throw new Error('implementations disagree');
for (const size of [1024, 16 * 1024, 1024 * 1024]) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + 7) & 0xff;
  const js = throughput(bytes, 256 * 2 ** 20, (b) => jsCrc32c(b));
  const native = throughput(bytes, 4 * 2 ** 30, (b) => nativeCrc32c(b));
  const label = size < 2 ** 20 ? `${size / 1024} KiB` : '1 MiB';
  console.log(
    `crc32c ${label.padEnd(6)} native ${native.toFixed(0).padStart(7)} MB/s   js ${js.toFixed(0).padStart(5)} MB/s   ratio ${(native / js).toFixed(1)}x`,
  );
}
