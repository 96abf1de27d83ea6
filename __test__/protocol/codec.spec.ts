/**
 * The generic codec end to end: round trips for every API, version and direction; the hot
 * paths give the generic codec's results; version rules, the KIP-511 ApiVersions fallback and
 * the error table.
 */
import test from 'ava';
import { Prng } from '../../src/lib/prng.js';
import {
  API_SCHEMAS,
  decodeProduceRequest,
  decodeRequestBody,
  decodeRequestBodyGeneric,
  decodeRequestHeader,
  decodeResponse,
  ERROR_TABLE,
  ErrorCode,
  encodeApiVersionsFallback,
  encodeFetchResponseChunks,
  encodeRequest,
  encodeResponse,
  encodeResponseBodyGeneric,
  errorInfo,
  isSupported,
  ProtocolError,
  SUPPORTED_APIS,
} from '../../src/protocol/index.js';
import { randomBody } from './helpers.js';

function versionsOf(schema: { versions: readonly [number, number] }): number[] {
  const result: number[] = [];
  for (let v = schema.versions[0]; v <= schema.versions[1]; v++) result.push(v);
  return result;
}

for (const schema of API_SCHEMAS) {
  for (const version of versionsOf(schema)) {
    test(`${schema.name} v${version}: random requests and responses survive encode → decode unchanged`, (t) => {
      const prng = new Prng(schema.apiKey * 1000 + version);
      for (let round = 0; round < 25; round++) {
        const request = randomBody(schema.request, version, prng);
        const header = {
          apiKey: schema.apiKey,
          apiVersion: version,
          correlationId: prng.nextU32() | 0,
          clientId: null,
        };
        const frame = encodeRequest(header, request).subarray(4);
        const decodedHeader = decodeRequestHeader(frame);
        t.like(decodedHeader, header);
        t.deepEqual(decodeRequestBody(schema.apiKey, version, frame, decodedHeader.bodyOffset), request);

        const response = randomBody(schema.response, version, prng);
        const responseFrame = encodeResponse(schema.apiKey, version, 77, response);
        t.deepEqual(decodeResponse(schema.apiKey, version, responseFrame.subarray(4)), {
          correlationId: 77,
          body: response,
        });
      }
    });
  }
}

test('the Produce hot-path decoder returns exactly what the generic decoder returns, every version', (t) => {
  const produce = API_SCHEMAS.find((schema) => schema.apiKey === 0)!;
  const prng = new Prng(42);
  for (let version = 0; version <= produce.versions[1]; version++) {
    for (let round = 0; round < 50; round++) {
      const frame = encodeRequest(
        { apiKey: 0, apiVersion: version, correlationId: 1, clientId: 'c' },
        randomBody(produce.request, version, prng),
      ).subarray(4);
      const { bodyOffset } = decodeRequestHeader(frame);
      t.deepEqual(
        decodeProduceRequest(frame, bodyOffset, version),
        decodeRequestBodyGeneric(0, version, frame, bodyOffset),
      );
    }
  }
});

test('Produce records are views into the request frame, not copies', (t) => {
  const records = Buffer.from('not-really-a-batch');
  const frame = encodeRequest(
    { apiKey: 0, apiVersion: 7, correlationId: 1, clientId: null },
    { acks: 1, timeoutMs: 100, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] },
  ).subarray(4);
  const body = decodeRequestBody(0, 7, frame, decodeRequestHeader(frame).bodyOffset);
  const decoded: Buffer = body.topicData[0].partitionData[0].records;
  t.deepEqual(decoded, records);
  t.is(decoded.buffer, frame.buffer);
});

test('the Fetch hot-path encoder writes exactly the generic encoder bytes, every version', (t) => {
  const fetch = API_SCHEMAS.find((schema) => schema.apiKey === 1)!;
  const prng = new Prng(43);
  for (let version = 0; version <= fetch.versions[1]; version++) {
    for (let round = 0; round < 50; round++) {
      const body = randomBody(fetch.response, version, prng);
      t.deepEqual(encodeResponse(1, version, 9, body), encodeResponseBodyGeneric(1, version, 9, body));
    }
  }
});

for (const version of [11, 12, 16]) {
  test(`the Fetch v${version} hot path hands record buffers through by reference`, (t) => {
    const records = Buffer.from('records-bytes');
    const { chunks, byteLength } = encodeFetchResponseChunks(version, 3, {
      responses: [
        {
          topic: 't',
          topicId: '0123456789abcdef0123456789abcdef',
          partitions: [
            { partitionIndex: 0, errorCode: 0, highWatermark: 1, records },
            { partitionIndex: 1, errorCode: 0, highWatermark: 1, records },
          ],
        },
      ],
    });
    t.is(chunks.filter((chunk) => chunk === records).length, 2);
    t.is(
      chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      byteLength,
    );
    t.is(Buffer.concat(chunks).readInt32BE(0), byteLength - 4);
  });
}

test('an absent field is written with its schema default (Metadata v1 controllerId -1, Fetch v11 rackId "")', (t) => {
  const metadata = decodeResponse(3, 1, encodeResponse(3, 1, 1, { brokers: [], topics: [] }).subarray(4));
  t.deepEqual(metadata.body, { brokers: [], controllerId: -1, topics: [] });
  const frame = encodeRequest(
    { apiKey: 1, apiVersion: 11, correlationId: 1, clientId: null },
    { maxWaitMs: 1, minBytes: 1, topics: [] },
  ).subarray(4);
  const fetch = decodeRequestBody(1, 11, frame, decodeRequestHeader(frame).bodyOffset);
  t.like(fetch, {
    replicaId: -1,
    maxBytes: 0x7fffffff,
    sessionEpoch: -1,
    rackId: '',
    forgottenTopicsData: [],
  });
});

test('a body value of the wrong type is a ProtocolError, not a RangeError', (t) => {
  const error = t.throws(
    () => encodeResponse(3, 1, 1, { brokers: [{ nodeId: 'one', host: 'h', port: 1 }], topics: [] }),
    { instanceOf: ProtocolError },
  );
  t.regex(error!.message, /Metadata v1 response/);
  t.throws(() => encodeResponse(18, 0, 1, { errorCode: 70000, apiKeys: [] }), { instanceOf: ProtocolError });
  t.throws(
    () => encodeResponse(1, 4, 1, { responses: [{ topic: 't', partitions: [{ partitionIndex: 1e12 }] }] }),
    {
      instanceOf: ProtocolError,
    },
  );
});

test('a version the codec does not know is UNSUPPORTED_VERSION, an unknown API key INVALID_REQUEST', (t) => {
  const frame = encodeRequest(
    { apiKey: 3, apiVersion: 8, correlationId: 1, clientId: null },
    { topics: null },
  );
  t.is(t.throws(() => decodeRequestBody(3, 14, frame, 14), { instanceOf: ProtocolError })?.code, 35);
  t.is(t.throws(() => decodeRequestBody(1000, 0, frame, 14), { instanceOf: ProtocolError })?.code, 42);
  t.is(t.throws(() => encodeResponse(0, 14, 1, {}), { instanceOf: ProtocolError })?.code, 35);
});

test('SUPPORTED_APIS advertises min 0 for Produce while isSupported serves only Produce 3 and up', (t) => {
  const produceMax = SUPPORTED_APIS.find((api) => api.apiKey === 0)!.maxVersion;
  t.like(
    SUPPORTED_APIS.find((api) => api.apiKey === 0),
    { minVersion: 0 },
  );
  t.true(produceMax >= 9);
  t.false(isSupported(0, 2));
  t.true(isSupported(0, 3));
  t.true(isSupported(0, produceMax));
  t.false(isSupported(0, produceMax + 1));
  t.true(isSupported(18, 3));
  t.true(isSupported(18, 4));
  t.false(isSupported(18, 5));
  t.false(isSupported(1, 3));
  t.true(isSupported(1, 11));
  t.false(isSupported(5, 0)); // StopReplica: an inter-broker API goqueue never serves
  for (const api of SUPPORTED_APIS) {
    const schema = API_SCHEMAS.find((s) => s.apiKey === api.apiKey);
    t.truthy(schema, `schema for API ${api.apiKey}`);
    t.true(api.maxVersion <= schema!.versions[1], `API ${api.apiKey} max within the codec`);
  }
});

/** An ApiVersions v3+ request as librdkafka sends it: header v2 (tagged fields) and a compact body. */
function apiVersionsRequest(version: number, correlationId: number): Buffer {
  return Buffer.concat([
    Buffer.from([0, 18, 0, version]),
    Buffer.from([
      correlationId >>> 24,
      (correlationId >>> 16) & 0xff,
      (correlationId >>> 8) & 0xff,
      correlationId & 0xff,
    ]),
    Buffer.from([0, 7]),
    Buffer.from('rdkafka'),
    Buffer.from([0]), // header tagged fields: none
    Buffer.from([11]),
    Buffer.from('librdkafka'),
    Buffer.from([6]),
    Buffer.from('2.0.2'),
    Buffer.from([0]), // body tagged fields: none
  ]);
}

test('ApiVersions v3 as librdkafka sends it is decoded (header v2, compact strings)', (t) => {
  const frame = apiVersionsRequest(3, 0x01020304);
  const header = decodeRequestHeader(frame);
  t.like(header, {
    apiKey: 18,
    apiVersion: 3,
    correlationId: 0x01020304,
    clientId: 'rdkafka',
    flexible: true,
  });
  t.true(isSupported(header.apiKey, header.apiVersion));
  t.deepEqual(decodeRequestBody(18, 3, frame, header.bodyOffset), {
    clientSoftwareName: 'librdkafka',
    clientSoftwareVersion: '2.0.2',
  });
});

test('KIP-511: an ApiVersions request above our max is parsed and answered with error 35 in a v0 body and v0 header', (t) => {
  const frame = apiVersionsRequest(9, 0x01020304);
  const header = decodeRequestHeader(frame);
  t.like(header, { apiKey: 18, apiVersion: 9, correlationId: 0x01020304, flexible: true });
  t.false(isSupported(header.apiKey, header.apiVersion));
  t.like(decodeRequestBody(18, 9, frame, header.bodyOffset), {
    clientSoftwareName: 'librdkafka',
    clientSoftwareVersion: '2.0.2',
  });
  const answer = encodeApiVersionsFallback(header.correlationId);
  t.is(answer.readInt32BE(0), answer.length - 4);
  t.is(answer.readInt32BE(4), 0x01020304);
  // v0 body right after the v0 header: errorCode, then the array; no tagged-field byte anywhere.
  const { body } = decodeResponse(18, 0, answer.subarray(4));
  t.is(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  t.deepEqual(
    body.apiKeys,
    SUPPORTED_APIS.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })),
  );
  t.is(answer.length, 4 + 4 + 2 + 4 + 6 * SUPPORTED_APIS.length);
});

test('a flexible header of another API skips its tagged fields; a truncated header is a ProtocolError', (t) => {
  // Metadata v12 (flexible) with one tagged field of 2 bytes in the header.
  const frame = Buffer.from([0, 3, 0, 12, 0, 0, 0, 5, 0xff, 0xff, 1, 0, 2, 0xaa, 0xbb, 0x55]);
  const header = decodeRequestHeader(frame);
  t.like(header, {
    apiKey: 3,
    apiVersion: 12,
    correlationId: 5,
    clientId: null,
    flexible: true,
    bodyOffset: 15,
  });
  for (let cut = 0; cut < 10; cut++)
    t.throws(() => decodeRequestHeader(frame.subarray(0, cut)), { instanceOf: ProtocolError });
});

test('the error table is complete from -1 to 120, names match ErrorCode, and retriable flags follow Kafka', (t) => {
  for (let code = -1; code <= 120; code++) {
    const info = errorInfo(code);
    t.false(info.name.startsWith('UNKNOWN_ERROR_CODE'), `code ${code}`);
    t.is((ErrorCode as Record<string, number>)[info.name], code);
    t.true(info.message.length > 5);
  }
  t.is(ERROR_TABLE.length, 122);
  t.true(errorInfo(ErrorCode.NOT_LEADER_OR_FOLLOWER).retriable);
  t.true(errorInfo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).retriable);
  t.true(errorInfo(ErrorCode.REQUEST_TIMED_OUT).retriable);
  t.false(errorInfo(ErrorCode.TOPIC_ALREADY_EXISTS).retriable);
  t.false(errorInfo(ErrorCode.UNSUPPORTED_VERSION).retriable);
  t.is(errorInfo(999).name, 'UNKNOWN_ERROR_CODE_999');
});

test('the Fetch hot path turns malformed bodies into ProtocolError too', (t) => {
  const bad = [
    {
      responses: [
        { topic: 't', partitions: [{ partitionIndex: 0, errorCode: 1e6, highWatermark: 0, records: null }] },
      ],
    },
    { responses: [{ topic: 'x'.repeat(40000), partitions: [] }] },
    { responses: [{ topic: 't' }] },
    {},
  ];
  for (const body of bad)
    t.throws(() => encodeFetchResponseChunks(11, 1, body as never), { instanceOf: ProtocolError });
});
