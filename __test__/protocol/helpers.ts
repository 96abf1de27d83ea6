import { createRequire } from 'node:module';
import { type Field, schemaFor } from '../../src/protocol/index.js';

export const require = createRequire(import.meta.url);

const KAFKAJS = '../../node_modules/kafkajs/src/protocol';

/** kafkajs' own encoder for `api` version `version` (e.g. 'metadata', 6): the body bytes. */
export async function kafkajsRequestBody(api: string, version: number, args: object): Promise<Buffer> {
  const build = require(`${KAFKAJS}/requests/${api}/v${version}/request.js`);
  const encoder = await build(args).encode();
  return encoder.buffer as Buffer;
}

/** kafkajs' own response decoder (the `decode` step, which does not throw on error codes). */
export async function kafkajsDecodeResponse(api: string, version: number, body: Buffer): Promise<unknown> {
  const { decode } = require(`${KAFKAJS}/requests/${api}/v${version}/response.js`);
  return decode(body);
}

export const KafkajsRecordBatchDecoder = require(`${KAFKAJS}/recordBatch/v0/decoder.js`);
export const KafkajsRecordBatch = require(`${KAFKAJS}/recordBatch/v0/index.js`).RecordBatch;
export const KafkajsLong = require('../../node_modules/kafkajs/src/utils/long.js');
export const KafkajsRecord = require(`${KAFKAJS}/recordBatch/record/v0/index.js`);
export const KafkajsDecoder = require(`${KAFKAJS}/decoder.js`);

function inVersion(range: readonly [number, number], version: number): boolean {
  return version >= range[0] && version <= range[1];
}

/**
 * The part of `value` that exists in `version` by the schema's field table: what a decoder of
 * that version must return. Values are the test's own; only the key set comes from the table.
 */
export function projectToVersion(fields: readonly Field[], version: number, value: Record<string, unknown>) {
  const result: Record<string, unknown> = {};
  for (const field of fields) {
    if (!inVersion(field.versions, version)) continue;
    const item = value[field.name];
    if (typeof field.type === 'string' || item === null || item === undefined) result[field.name] = item;
    else if (field.array)
      result[field.name] = (item as Record<string, unknown>[]).map((element) =>
        projectToVersion(field.type as readonly Field[], version, element),
      );
    else
      result[field.name] = projectToVersion(
        field.type as readonly Field[],
        version,
        item as Record<string, unknown>,
      );
  }
  return result;
}

export function requestFields(apiKey: number): readonly Field[] {
  return schemaFor(apiKey)!.request;
}

export function responseFields(apiKey: number): readonly Field[] {
  return schemaFor(apiKey)!.response;
}

/** A request frame (no size prefix) with header v1 and the given body bytes. */
export function requestFrame(apiKey: number, apiVersion: number, body: Buffer, correlationId = 7): Buffer {
  const header = Buffer.alloc(10 + 6);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(6, 8);
  header.write('oracle', 10);
  return Buffer.concat([header, body]);
}

/** A random value for every field of `fields` in `version` (nullable fields sometimes null). */
export function randomBody(
  fields: readonly Field[],
  version: number,
  prng: { int(min: number, max: number): number; chance(p: number): boolean; nextU32(): number },
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const field of fields) {
    if (!inVersion(field.versions, version)) continue;
    const nullable = field.nullableVersions !== undefined && inVersion(field.nullableVersions, version);
    if (nullable && prng.chance(0.25)) {
      result[field.name] = null;
      continue;
    }
    const one = () =>
      typeof field.type === 'string'
        ? randomPrimitive(field.type, prng, nullable && !field.array)
        : randomBody(field.type, version, prng);
    result[field.name] = field.array ? Array.from({ length: prng.int(0, 3) }, one) : one();
  }
  return result;
}

const SAMPLE_TEXT = ['', 'a', 'topic-1', 'grüße', '日本語', 'x'.repeat(300)];

function randomPrimitive(
  type: string,
  prng: { int(min: number, max: number): number; chance(p: number): boolean; nextU32(): number },
  nullable: boolean,
): unknown {
  switch (type) {
    case 'int8':
      return prng.int(-128, 127);
    case 'int16':
      return prng.int(-32768, 32767);
    case 'int32':
      return prng.nextU32() | 0;
    case 'uint32':
      return prng.nextU32();
    case 'int64':
      return prng.int(-(2 ** 20), 2 ** 20) * 2 ** 32 + prng.nextU32();
    case 'bool':
      return prng.chance(0.5);
    case 'float64':
      return prng.nextU32() / 7;
    case 'string':
      return SAMPLE_TEXT[prng.int(0, SAMPLE_TEXT.length - 1)];
    case 'bytes':
    case 'records': {
      if (type === 'records' && nullable && prng.chance(0.2)) return null;
      const bytes = Buffer.alloc(prng.int(0, 40));
      for (let i = 0; i < bytes.length; i++) bytes[i] = prng.int(0, 255);
      return bytes;
    }
    case 'uuid':
      return Buffer.from(Array.from({ length: 16 }, () => prng.int(0, 255))).toString('hex');
    default:
      throw new Error(`no generator for ${type}`);
  }
}
