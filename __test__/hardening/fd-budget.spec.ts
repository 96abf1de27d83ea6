/**
 * The number of partitions is not bounded by the open-file limit: a broker process started under
 * `ulimit -n N` (soft and hard, so it cannot raise it) creates partitions with far more segment
 * files than N, produces to every one, is killed (-9), restarts under the same limit and reads
 * every record back, with no EMFILE and no error logged. Segment files are opened on demand
 * through the storage core's cache of handles, sized from the fd budget
 * (src/storage/file-limit.ts).
 *
 * `npm test` runs 200 partitions (600 files) under 256 (a cache of 16 files); `npm run
 * test:fd-budget` runs 2,000 (6,000 files) under 512; GOQUEUE_FD_SPEC_PARTITIONS and
 * GOQUEUE_FD_SPEC_LIMIT set any size (5,000 under 1,024: docs/operations.md, *Open files*).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { fileBudget } from '../../src/storage/file-limit.js';
import { RawClient, temporaryDirectory, userBatches } from '../broker/helpers.js';
import type { LogLine } from '../cluster-processes/harness.js';
import { type ObservedBroker, startObservedBroker } from './process.js';

const PARTITIONS = Number(process.env.GOQUEUE_FD_SPEC_PARTITIONS ?? 200);
const LIMIT = Number(process.env.GOQUEUE_FD_SPEC_LIMIT ?? 256);
/** Partitions per topic (below the default max_topic_partitions) and per request. */
const PER_TOPIC = 500;
const TOPICS = Array.from({ length: Math.ceil(PARTITIONS / PER_TOPIC) }, (_, i) => ({
  name: `fd-${i}`,
  partitions: Math.min(PER_TOPIC, PARTITIONS - i * PER_TOPIC),
}));

function start(dataDir: string): Promise<ObservedBroker> {
  return startObservedBroker(
    { dataDir, host: '127.0.0.1', port: 0, logLevel: 'info' },
    { command: ['bash', '-c', `ulimit -n ${LIMIT} && exec "$@"`, 'bash'] },
  );
}

/**
 * `request` unless the broker process ends or logs an EMFILE or an error first (RawClient would
 * wait forever, and groups failing with EMFILE leave requests retrying): then fails with what it
 * logged.
 */
async function unlessExited<T>(broker: ObservedBroker, request: Promise<T>): Promise<T> {
  const exited = broker.exited.then((code) => {
    const last = broker.lines.slice(-5).map((line) => JSON.stringify(line).slice(0, 400));
    throw new Error(`the broker exited (${code}); last lines:\n${last.join('\n')}`);
  });
  // Settled or not, the race below may be over by then: never an unhandled rejection.
  exited.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const troubled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const trouble = fileTrouble(broker.lines);
      if (trouble.length > 0) reject(new Error(`the broker logged:\n${trouble.slice(0, 3).join('\n')}`));
    }, 500);
  });
  try {
    return await Promise.race([request, exited, troubled]);
  } finally {
    clearInterval(timer);
  }
}

function value(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** Asks `ask` until every partition answers NONE (a restarted group elects itself first). */
async function untilAllAnswer(ask: () => Promise<number[]>, what: string): Promise<void> {
  for (;;) {
    const errors = await ask();
    if (errors.every((code) => code === ErrorCode.NONE)) return;
    const unexpected = errors.find(
      (code) =>
        code !== ErrorCode.NONE &&
        code !== ErrorCode.NOT_LEADER_OR_FOLLOWER &&
        code !== ErrorCode.LEADER_NOT_AVAILABLE &&
        code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
        code !== ErrorCode.REQUEST_TIMED_OUT,
    );
    if (unexpected !== undefined) throw new Error(`${what} answered error ${unexpected}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function produceToAll(
  broker: ObservedBroker,
  client: RawClient,
  topic: string,
  partitions: number,
): Promise<void> {
  const done = new Set<number>();
  await untilAllAnswer(async () => {
    const partitionData = [];
    for (let index = 0; index < partitions; index++) {
      if (done.has(index)) continue;
      const records = encodeRecordBatch({
        baseTimestamp: 1_700_000_000_000,
        attributes: Codec.None,
        records: [{ key: null, value: Buffer.from(value(topic, index)) }],
      });
      partitionData.push({ index, records });
    }
    const response = await unlessExited(
      broker,
      client.request(ApiKey.Produce, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 60_000,
        topicData: [{ name: topic, partitionData }],
      }),
    );
    const answers: Array<{ index: number; errorCode: number }> =
      response.body.responses[0].partitionResponses;
    for (const answer of answers) if (answer.errorCode === ErrorCode.NONE) done.add(answer.index);
    return answers.map((answer) => answer.errorCode);
  }, `produce to ${topic}`);
}

/** The record values of every partition of `topic`, read with one Fetch. */
async function readAll(
  broker: ObservedBroker,
  client: RawClient,
  topic: string,
  partitions: number,
): Promise<string[][]> {
  let values: string[][] = [];
  await untilAllAnswer(async () => {
    const response = await unlessExited(
      broker,
      client.request(ApiKey.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 64 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: Array.from({ length: partitions }, (_, partition) => ({
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              logStartOffset: -1,
              partitionMaxBytes: 64 << 10,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      }),
    );
    const answers: Array<{ partitionIndex: number; errorCode: number; records: Buffer }> =
      response.body.responses[0].partitions;
    values = Array.from({ length: partitions }, () => []);
    for (const answer of answers)
      if (answer.errorCode === ErrorCode.NONE)
        values[answer.partitionIndex] = userBatches(answer.records).flatMap((batch) =>
          batch.records.map((record) => record.value?.toString() ?? ''),
        );
    return answers.map((answer) => answer.errorCode);
  }, `fetch from ${topic}`);
  return values;
}

function fileTrouble(lines: readonly LogLine[]): string[] {
  return lines
    .filter((line) => JSON.stringify(line).includes('EMFILE') || (line.level as number) >= 50)
    .map((line) => JSON.stringify(line).slice(0, 300));
}

test(`${PARTITIONS} partitions under ulimit -n ${LIMIT}: created, produced to, restarted after kill -9 and read back, no EMFILE`, async (t) => {
  t.timeout(Math.max(20, PARTITIONS / 100) * 60_000);
  const dataDir = temporaryDirectory(t);
  let broker = await start(dataDir);
  t.teardown(() => broker.kill());
  t.regex(
    readFileSync(`/proc/${broker.pid}/limits`, 'utf8'),
    new RegExp(`Max open files\\s+${LIMIT}\\s+${LIMIT}`),
  );
  const budgetLine = broker.lines.find((line) => line.msg === 'open file limit');
  t.is(budgetLine?.segmentFiles, fileBudget(LIMIT).segmentFiles);

  let client = await RawClient.open(broker.port);
  const startedMs = performance.now();
  for (const { name, partitions } of TOPICS) {
    const created = await unlessExited(
      broker,
      client.request(ApiKey.CreateTopics, 4, {
        topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 600_000,
        validateOnly: false,
      }),
    );
    t.is(created.body.topics[0].errorCode, ErrorCode.NONE, `create ${name}`);
  }
  const createdMs = performance.now();
  for (const { name, partitions } of TOPICS) await produceToAll(broker, client, name, partitions);
  const producedMs = performance.now();
  const directories = readdirSync(join(dataDir, 'partitions')).filter((name) => !name.startsWith('__'));
  t.is(directories.length, PARTITIONS);
  const segmentFiles = directories.length * 3;
  t.true(segmentFiles > LIMIT * 2, `${segmentFiles} segment files, limit ${LIMIT}`);
  const openNow = readdirSync(`/proc/${broker.pid}/fd`).length;
  t.true(openNow < LIMIT, `${openNow} descriptors open`);
  t.log(
    `created in ${((createdMs - startedMs) / 1000).toFixed(0)} s, produced in ${((producedMs - createdMs) / 1000).toFixed(0)} s, ${openNow} descriptors open`,
  );
  t.deepEqual(fileTrouble(broker.lines), []);
  client.close();

  broker.kill('SIGKILL');
  await broker.exited;
  const restartedMs = performance.now();
  broker = await start(dataDir);
  client = await RawClient.open(broker.port);
  t.teardown(() => client.close());
  for (const { name, partitions } of TOPICS) {
    const values = await readAll(broker, client, name, partitions);
    const wrong = values
      .map((read, partition) => ({ partition, read }))
      // A produce retried after a timeout may have been stored twice (no idempotence here).
      .filter(({ partition, read }) => read.length === 0 || read.some((v) => v !== value(name, partition)));
    t.deepEqual(wrong.slice(0, 5), [], `${name}: ${wrong.length} partitions read back wrong`);
  }
  t.log(
    `restarted and read back in ${((performance.now() - restartedMs) / 1000).toFixed(0)} s, ${readdirSync(`/proc/${broker.pid}/fd`).length} descriptors open`,
  );
  t.deepEqual(fileTrouble(broker.lines), []);
});
