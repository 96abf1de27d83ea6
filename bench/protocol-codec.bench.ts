/**
 * The protocol hot paths against the generic schema-driven codec, in one run:
 * - Produce request decode: `decodeProduceRequest` vs `decodeRequestBodyGeneric`;
 * - Fetch response encode: `encodeFetchResponseChunks` (records by reference) vs
 *   `encodeResponseBodyGeneric` (one buffer, records copied);
 * - the flexible versions' hot paths (Produce v9 decode, Fetch v12 encode; KIP-482 compact
 *   lengths and tagged fields), and the newest ones the Java client 4.x sends (Produce v13,
 *   Fetch v18: topics by id), against the non-flexible ones (Produce v8, Fetch v11).
 * Run: npm run bench -- protocol-codec
 */
import {
  decodeProduceRequest,
  decodeRequestBodyGeneric,
  decodeRequestHeader,
  encodeFetchResponseChunks,
  encodeRequest,
  encodeResponseBodyGeneric,
} from '../src/protocol/index.js';

const TOPICS = 4;
const PARTITIONS = 8;
const RECORD_BYTES = 16 * 1024;

function measure(name: string, iterations: number, run: () => unknown): number {
  for (let i = 0; i < Math.min(2000, iterations / 10); i++) run(); // warm up
  const started = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i++) sink += run() ? 1 : 0;
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const opsPerSecond = (iterations / elapsedNs) * 1e9;
  console.log(
    `  ${name.padEnd(42)} ${opsPerSecond.toFixed(0).padStart(10)} ops/s  (${sink === iterations ? 'ok' : 'bad'})`,
  );
  return opsPerSecond;
}

function compare(title: string, iterations: number, fast: () => unknown, generic: () => unknown): void {
  console.log(title);
  // Alternate twice so neither side always runs on a colder or hotter process.
  const fastRuns = [measure('hot path', iterations, fast)];
  const genericRuns = [measure('generic', iterations, generic)];
  fastRuns.push(measure('hot path (again)', iterations, fast));
  genericRuns.push(measure('generic (again)', iterations, generic));
  const best = (runs: number[]) => Math.max(...runs);
  console.log(`  ratio hot path / generic: ${(best(fastRuns) / best(genericRuns)).toFixed(2)}x\n`);
}

const records = Buffer.alloc(RECORD_BYTES, 0x61);
/** A topic id per bench topic (the newest versions name topics by id). */
const topicIdOf = (t: number) => `00000000-0000-4000-8000-${String(t).padStart(12, '0')}`;
const topicData = Array.from({ length: TOPICS }, (_, t) => ({
  name: `bench-topic-${t}`,
  topicId: topicIdOf(t),
  partitionData: Array.from({ length: PARTITIONS }, (_, p) => ({ index: p, records })),
}));
const produceFrame = encodeRequest(
  { apiKey: 0, apiVersion: 7, correlationId: 1, clientId: 'bench' },
  { transactionalId: null, acks: -1, timeoutMs: 30000, topicData },
).subarray(4);
const { bodyOffset } = decodeRequestHeader(produceFrame);
console.log(`Produce v7 request: ${TOPICS} topics x ${PARTITIONS} partitions x ${RECORD_BYTES} B records`);
compare(
  'decode',
  200_000,
  () => decodeProduceRequest(produceFrame, bodyOffset, 7),
  () => decodeRequestBodyGeneric(0, 7, produceFrame, bodyOffset),
);

const fetchBody = {
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 0,
  responses: Array.from({ length: TOPICS }, (_, t) => ({
    topic: `bench-topic-${t}`,
    topicId: topicIdOf(t),
    partitions: Array.from({ length: PARTITIONS }, (_, p) => ({
      partitionIndex: p,
      errorCode: 0,
      highWatermark: 1_000_000 + p,
      lastStableOffset: 1_000_000 + p,
      logStartOffset: 0,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records,
    })),
  })),
};
console.log(`Fetch v11 response: ${TOPICS} topics x ${PARTITIONS} partitions x ${RECORD_BYTES} B records`);
compare(
  'encode',
  20_000,
  () => encodeFetchResponseChunks(11, 1, fetchBody).byteLength,
  () => encodeResponseBodyGeneric(1, 11, 1, fetchBody).length,
);

const emptyFetchBody = {
  ...fetchBody,
  responses: fetchBody.responses.map((r) => ({
    ...r,
    partitions: r.partitions.map((p) => ({ ...p, records: null })),
  })),
};
console.log('Fetch v11 response without records (an empty long-poll answer)');
compare(
  'encode',
  200_000,
  () => encodeFetchResponseChunks(11, 1, emptyFetchBody).byteLength,
  () => encodeResponseBodyGeneric(1, 11, 1, emptyFetchBody).length,
);

/**
 * Flexible against non-flexible hot path: five alternating rounds each (the machine is shared,
 * so one round can land on a busy moment), best round of each side compared.
 */
function compareVersions(
  title: string,
  iterations: number,
  flexible: () => unknown,
  classic: () => unknown,
): void {
  console.log(title);
  const flexibleRuns: number[] = [];
  const classicRuns: number[] = [];
  for (let round = 0; round < 5; round++) {
    flexibleRuns.push(measure(`flexible (round ${round + 1})`, iterations, flexible));
    classicRuns.push(measure(`non-flexible (round ${round + 1})`, iterations, classic));
  }
  const best = (runs: number[]) => Math.max(...runs);
  console.log(`  ratio flexible / non-flexible: ${(best(flexibleRuns) / best(classicRuns)).toFixed(2)}x\n`);
}

function produceFrameOf(version: number): { frame: Buffer; offset: number } {
  const frame = encodeRequest(
    { apiKey: 0, apiVersion: version, correlationId: 1, clientId: 'bench' },
    { transactionalId: null, acks: -1, timeoutMs: 30000, topicData },
  ).subarray(4);
  return { frame, offset: decodeRequestHeader(frame).bodyOffset };
}
const produceV8 = produceFrameOf(8);
const produceV9 = produceFrameOf(9);
compareVersions(
  'Produce request decode, hot path: v9 (flexible) vs v8',
  200_000,
  () => decodeProduceRequest(produceV9.frame, produceV9.offset, 9),
  () => decodeProduceRequest(produceV8.frame, produceV8.offset, 8),
);
compareVersions(
  'Fetch response encode with records, hot path: v12 (flexible) vs v11',
  20_000,
  () => encodeFetchResponseChunks(12, 1, fetchBody).byteLength,
  () => encodeFetchResponseChunks(11, 1, fetchBody).byteLength,
);
compareVersions(
  'Fetch response encode without records, hot path: v12 (flexible) vs v11',
  200_000,
  () => encodeFetchResponseChunks(12, 1, emptyFetchBody).byteLength,
  () => encodeFetchResponseChunks(11, 1, emptyFetchBody).byteLength,
);
const produceV13 = produceFrameOf(13);
compareVersions(
  'Produce request decode, hot path: v13 (flexible, topic ids) vs v8',
  200_000,
  () => decodeProduceRequest(produceV13.frame, produceV13.offset, 13),
  () => decodeProduceRequest(produceV8.frame, produceV8.offset, 8),
);
compareVersions(
  'Fetch response encode with records, hot path: v18 (flexible, topic ids) vs v11',
  20_000,
  () => encodeFetchResponseChunks(18, 1, fetchBody).byteLength,
  () => encodeFetchResponseChunks(11, 1, fetchBody).byteLength,
);
