/**
 * Fuzzing with a seeded Prng (replayable): random frames, and valid frames with flipped bits,
 * truncations and splices. Whatever the bytes, the decoders return or throw ProtocolError —
 * never a RangeError, TypeError or anything else that would take a broker connection down
 * unexpectedly.
 */
import test from 'ava';
import { Prng } from '../../src/lib/prng.js';
import {
  API_SCHEMAS,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  ProtocolError,
} from '../../src/protocol/index.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import { randomBody } from './helpers.js';

const SEED = 20261124;

/** Runs `decode` and reports anything thrown that is not a ProtocolError. */
function foreignError(decode: () => unknown): unknown {
  try {
    decode();
    return undefined;
  } catch (error) {
    return error instanceof ProtocolError ? undefined : error;
  }
}

function decodeAsBroker(frame: Buffer): void {
  const header = decodeRequestHeader(frame);
  decodeRequestBody(header.apiKey, header.apiVersion, frame, header.bodyOffset);
}

function mutate(prng: Prng, frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  switch (prng.int(0, 4)) {
    case 0: {
      const flips = prng.int(1, 4);
      for (let i = 0; i < flips && copy.length > 0; i++)
        copy[prng.int(0, copy.length - 1)]! ^= 1 << prng.int(0, 7);
      return copy;
    }
    case 1:
      return copy.subarray(0, prng.int(0, copy.length));
    case 2: {
      // Overwrite a length-sized run with extreme values (0x7f.., 0xff.., 0x80..).
      const at = prng.int(0, Math.max(0, copy.length - 4));
      const value = prng.pick([0x7fffffff, -1, -2, 0x80000000 | 0, 0x7fff, 0xffff]);
      if (copy.length >= at + 4) copy.writeInt32BE(value | 0, at);
      return copy;
    }
    case 3: {
      const extra = Buffer.alloc(prng.int(1, 16));
      for (let i = 0; i < extra.length; i++) extra[i] = prng.int(0, 255);
      return Buffer.concat([copy, extra]);
    }
    default: {
      const at = prng.int(0, copy.length);
      return Buffer.concat([copy.subarray(0, at), copy.subarray(Math.min(copy.length, at + prng.int(1, 8)))]);
    }
  }
}

test('random frames never make the request decoders throw anything but ProtocolError', (t) => {
  const prng = new Prng(SEED);
  const apiKeys = API_SCHEMAS.map((schema) => schema.apiKey);
  for (let round = 0; round < 40000; round++) {
    const frame = Buffer.alloc(prng.int(0, 64));
    for (let i = 0; i < frame.length; i++) frame[i] = prng.int(0, 255);
    // Half the time a plausible header, so the body decoders get exercised too.
    if (frame.length >= 4 && prng.chance(0.5)) {
      frame.writeInt16BE(prng.pick(apiKeys), 0);
      frame.writeInt16BE(prng.int(0, 12), 2);
    }
    const error = foreignError(() => decodeAsBroker(frame));
    if (error !== undefined)
      return t.fail(`round ${round}, frame ${frame.toString('hex')}: ${String(error)}`);
  }
  t.pass();
});

test('mutated valid requests and responses of every API and version only ever throw ProtocolError', (t) => {
  const prng = new Prng(SEED + 1);
  let decodedCleanly = 0;
  let rejected = 0;
  for (let round = 0; round < 12; round++) {
    for (const schema of API_SCHEMAS) {
      for (let version = schema.versions[0]; version <= schema.versions[1]; version++) {
        const request = encodeRequest(
          { apiKey: schema.apiKey, apiVersion: version, correlationId: round, clientId: 'fuzz' },
          randomBody(schema.request, version, prng),
        ).subarray(4);
        const response = encodeResponse(
          schema.apiKey,
          version,
          round,
          randomBody(schema.response, version, prng),
        ).subarray(4);
        for (let m = 0; m < 12; m++) {
          const badRequest = mutate(prng, request);
          const requestError = foreignError(() => decodeAsBroker(badRequest));
          if (requestError !== undefined)
            return t.fail(
              `${schema.name} v${version} request ${badRequest.toString('hex')}: ${String(requestError)}`,
            );
          const badResponse = mutate(prng, response);
          let threw = false;
          try {
            decodeResponse(schema.apiKey, version, badResponse);
          } catch (error) {
            threw = true;
            if (!(error instanceof ProtocolError))
              return t.fail(
                `${schema.name} v${version} response ${badResponse.toString('hex')}: ${String(error)}`,
              );
          }
          if (threw) rejected++;
          else decodedCleanly++;
        }
      }
    }
  }
  // Both outcomes happen: the mutations are neither all harmless nor all fatal.
  t.true(rejected > 100);
  t.true(decodedCleanly > 100);
});

test('mutated record batches only ever throw ProtocolError', (t) => {
  const prng = new Prng(SEED + 2);
  for (let round = 0; round < 3000; round++) {
    const batch = encodeRecordBatch({
      baseOffset: prng.int(0, 1000),
      baseTimestamp: 1700000000000,
      records: Array.from({ length: prng.int(1, 5) }, (_, i) => ({
        key: prng.chance(0.5) ? null : `key-${i}`,
        value: 'v'.repeat(prng.int(0, 50)),
        headers: prng.chance(0.5) ? [{ key: 'h', value: prng.chance(0.5) ? null : 'x' }] : [],
      })),
    });
    const bad = mutate(prng, batch);
    const verifyCrc = prng.chance(0.5);
    const error = foreignError(() => decodeRecordBatches(bad, undefined, { verifyCrc }));
    if (error !== undefined) return t.fail(`round ${round}, batch ${bad.toString('hex')}: ${String(error)}`);
  }
  t.pass();
});
