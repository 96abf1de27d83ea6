/**
 * A small RecordBatch v2 encoder for the storage tests (independent of src/protocol/records.ts,
 * so these tests check the storage layer against a second reading of the format).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../../src/protocol/crc32c.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: Array<{ key: string; value: Buffer | null }>;
}

export interface TestBatch {
  baseOffset: number;
  term?: number;
  baseTimestamp?: number;
  /** Milliseconds between consecutive records' timestamps. */
  timestampStepMs?: number;
  /** Kafka codec id in attributes bits 0-2. */
  codec?: number;
  records: TestRecord[];
}

function varint(value: number): Buffer {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function bytesField(value: Buffer | null | undefined): Buffer {
  return value == null ? varint(-1) : Buffer.concat([varint(value.length), value]);
}

/** Encodes one batch; `compress` turns the records section into the codec's bytes. */
export function encodeBatch(batch: TestBatch, compress?: (codec: number, data: Buffer) => Buffer): Buffer {
  const step = batch.timestampStepMs ?? 1;
  const baseTimestamp = batch.baseTimestamp ?? 1_700_000_000_000;
  const records = batch.records.map((record, i) => {
    const headers = record.headers ?? [];
    const body = Buffer.concat([
      Buffer.from([0]),
      varint(i * step),
      varint(i),
      bytesField(record.key),
      bytesField(record.value),
      varint(headers.length),
      ...headers.flatMap((h) => [bytesField(Buffer.from(h.key)), bytesField(h.value)]),
    ]);
    return Buffer.concat([varint(body.length), body]);
  });
  let section: Buffer = Buffer.concat(records);
  const codec = batch.codec ?? 0;
  if (codec !== 0) {
    if (!compress) throw new Error('a compressed test batch needs a compress function');
    section = compress(codec, section);
  }
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(BigInt(batch.baseOffset), 0);
  header.writeInt32BE(49 + section.length, 8);
  header.writeInt32BE(batch.term ?? 0, 12);
  header.writeInt8(2, 16);
  header.writeInt16BE(codec, 21);
  header.writeInt32BE(batch.records.length - 1, 23);
  header.writeBigInt64BE(BigInt(baseTimestamp), 27);
  header.writeBigInt64BE(BigInt(baseTimestamp + (batch.records.length - 1) * step), 35);
  header.writeBigInt64BE(-1n, 43);
  header.writeInt16BE(-1, 51);
  header.writeInt32BE(-1, 53);
  header.writeInt32BE(batch.records.length, 57);
  const out = Buffer.concat([header, section]);
  out.writeUInt32BE(crc32c(out, 21), 17);
  return out;
}

/** `count` records with values "<prefix>-<i>" padded to `valueBytes`. */
export function values(count: number, prefix = 'v', valueBytes = 16): TestRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    value: Buffer.from(`${prefix}-${i}`.padEnd(valueBytes, '.')),
  }));
}

/** Consecutive batches from `baseOffset`, each with `recordsPerBatch` records. */
export function batchRun(options: {
  count: number;
  baseOffset?: number;
  term?: number;
  recordsPerBatch?: number;
  valueBytes?: number;
  baseTimestamp?: number;
}): Buffer[] {
  const out: Buffer[] = [];
  let offset = options.baseOffset ?? 0;
  const per = options.recordsPerBatch ?? 1;
  for (let i = 0; i < options.count; i++) {
    out.push(
      encodeBatch({
        baseOffset: offset,
        term: options.term ?? 1,
        baseTimestamp: (options.baseTimestamp ?? 1_000_000) + i * 1000,
        records: values(per, `b${offset}`, options.valueBytes),
      }),
    );
    offset += per;
  }
  return out;
}

/** A fresh temporary directory and its remover. */
export function tempDir(name = 'goqueue-storage-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), name));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads the 20-digit segment names of a log directory, ascending. */
export function segmentName(baseOffset: number, extension: 'log' | 'index' | 'timeindex'): string {
  return `${String(baseOffset).padStart(20, '0')}.${extension}`;
}
