/**
 * Golden bytes in both directions against the Java client 4.x's own serialization (fixtures
 * generated once by interop/java-fixtures, committed): for every flexible version the broker
 * serves, plus the hot paths' newest non-flexible versions, our encoder writes exactly the Java
 * client's bytes (headers included) and our decoder reads the Java bytes back to the same body.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestBodyGeneric,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeResponseBodyGeneric,
  SERVED_APIS,
} from '../../src/protocol/index.js';
import { schemaFor } from '../../src/protocol/schemas/index.js';
import { fromJava, JAVA_NAMES, toJava } from './java-json.js';

interface Fixture {
  name: string;
  apiKey: number;
  version: number;
  kind: 'request' | 'response';
  headerVersion: number;
  correlationId: number;
  clientId?: string | null;
  body: Record<string, unknown>;
  hex: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const fixtures: Fixture[] = JSON.parse(readFileSync(join(here, 'fixtures', 'java-golden.json'), 'utf8'));

/** Drops the 4-byte size prefix after checking it. */
function frameOf(bytes: Buffer): Buffer {
  if (bytes.readInt32BE(0) !== bytes.length - 4) throw new Error('bad size prefix');
  return bytes.subarray(4);
}

for (const fixture of fixtures) {
  const schema = schemaFor(fixture.apiKey)!;
  const flexible = schema.flexibleFrom !== undefined && fixture.version >= schema.flexibleFrom;
  const fields = fixture.kind === 'request' ? schema.request : schema.response;
  const names = JAVA_NAMES[fixture.apiKey] ?? {};
  const ours = fromJava(fields, fixture.version, flexible, fixture.body, names);
  const javaBytes = Buffer.from(fixture.hex, 'hex');
  const title = `${fixture.name} v${fixture.version} ${fixture.kind}`;

  test(`${title}: we encode the Java client's bytes`, (t) => {
    if (fixture.kind === 'request') {
      const frame = encodeRequest(
        {
          apiKey: fixture.apiKey,
          apiVersion: fixture.version,
          correlationId: fixture.correlationId,
          clientId: fixture.clientId ?? null,
        },
        ours,
      );
      t.is(frameOf(frame).toString('hex'), fixture.hex);
    } else {
      const generic = encodeResponseBodyGeneric(fixture.apiKey, fixture.version, fixture.correlationId, ours);
      t.is(frameOf(generic).toString('hex'), fixture.hex);
      // The hot path (Fetch) writes the same bytes.
      const served = encodeResponse(fixture.apiKey, fixture.version, fixture.correlationId, ours);
      t.is(frameOf(served).toString('hex'), fixture.hex);
    }
  });

  test(`${title}: we decode the Java client's bytes`, (t) => {
    if (fixture.kind === 'request') {
      const header = decodeRequestHeader(javaBytes);
      t.like(header, {
        apiKey: fixture.apiKey,
        apiVersion: fixture.version,
        correlationId: fixture.correlationId,
        clientId: fixture.clientId ?? null,
        flexible: fixture.headerVersion === 2,
      });
      const body = decodeRequestBody(fixture.apiKey, fixture.version, javaBytes, header.bodyOffset);
      t.deepEqual(toJava(fields, fixture.version, flexible, body, names), fixture.body);
      // The hot path (Produce) reads what the generic decoder reads.
      const generic = decodeRequestBodyGeneric(fixture.apiKey, fixture.version, javaBytes, header.bodyOffset);
      t.deepEqual(toJava(fields, fixture.version, flexible, generic, names), fixture.body);
    } else {
      const { correlationId, body } = decodeResponse(fixture.apiKey, fixture.version, javaBytes);
      t.is(correlationId, fixture.correlationId);
      t.deepEqual(toJava(fields, fixture.version, flexible, body, names), fixture.body);
    }
  });
}

test('every flexible version the broker serves has a Java golden request and response', (t) => {
  const covered = new Set(fixtures.map((fixture) => `${fixture.apiKey}:${fixture.version}:${fixture.kind}`));
  const missing: string[] = [];
  for (const api of SERVED_APIS) {
    const flexibleFrom = schemaFor(api.apiKey)?.flexibleFrom;
    if (flexibleFrom === undefined || api.apiKey === ApiKey.SaslHandshake) continue;
    for (let version = Math.max(flexibleFrom, api.minVersion); version <= api.maxVersion; version++)
      for (const kind of ['request', 'response'])
        if (!covered.has(`${api.apiKey}:${version}:${kind}`))
          missing.push(`${api.apiKey} v${version} ${kind}`);
  }
  t.deepEqual(missing, []);
});
