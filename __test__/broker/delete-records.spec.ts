import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { deleteRecordsOf, fetchOf, listOffsetOf } from './delete-records-requests.js';
import {
  kafkaFor,
  kcat,
  nativeStorageAvailable,
  RawClient,
  temporaryDirectory,
  userBatches,
  waitForLeadership,
} from './helpers.js';

// The restart and segment checks need the native storage core (the in-memory stand-in forgets).
const durable = nativeStorageAvailable ? test : test.skip;

async function startIn(dataDir: string): Promise<Broker> {
  return Broker.start({ dataDir, host: '127.0.0.1', port: 0 });
}

async function createTopic(client: RawClient, name: string, configs: Record<string, string> = {}) {
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  if (created.body.topics[0].errorCode !== ErrorCode.NONE)
    throw new Error(`creating ${name}: ${created.body.topics[0].errorMessage}`);
}

/** Produces one single-record batch per value (acks=all); returns each record's offset. */
async function produce(client: RawClient, topic: string, values: string[]): Promise<number[]> {
  const offsets: number[] = [];
  for (const value of values) {
    const response = await client.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [
        {
          name: topic,
          partitionData: [
            {
              index: 0,
              records: encodeRecordBatch({
                baseTimestamp: 1_700_000_000_000,
                attributes: Codec.None,
                records: [{ key: null, value: Buffer.from(value) }],
              }),
            },
          ],
        },
      ],
    });
    const answer = response.body.responses[0].partitionResponses[0];
    if (answer.errorCode !== ErrorCode.NONE) throw new Error(`produce answered ${answer.errorCode}`);
    offsets.push(Number(answer.baseOffset));
  }
  return offsets;
}

/** ListOffsets of partition 0: earliest (-2) by default, else the first record at `timestamp`. */
async function earliest(client: RawClient, topic: string, timestamp = -2): Promise<number> {
  const answer = await listOffsetOf(client, topic, timestamp);
  if (answer.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets answered ${answer.errorCode}`);
  return answer.offset;
}

/** Fetch of partition 0 at `offset`: the error code and the user records' values. */
async function fetchAt(
  client: RawClient,
  topic: string,
  offset: number,
): Promise<{ errorCode: number; values: string[]; firstOffset: number }> {
  const answer = await fetchOf(client, topic, offset);
  const records = userBatches(answer.records).flatMap((batch) => batch.records);
  // A consumer drops the records of a batch below its fetch offset.
  const kept = records.filter((record) => record.offset >= offset);
  return {
    errorCode: answer.errorCode,
    values: kept.map((record) => record.value?.toString() ?? ''),
    firstOffset: kept[0]?.offset ?? -1,
  };
}

/** DeleteRecords of partition 0 of `topic` at `version`; the partition's answer. */
function deleteRecords(client: RawClient, version: number, topic: string, offset: number) {
  return deleteRecordsOf(client, topic, offset, { version });
}

/** Base offsets of the partition's segment files (their 20-digit names). */
function segmentBases(dataDir: string): number[] {
  const root = join(dataDir, 'partitions');
  const [partitionDirectory] = readdirSync(root);
  if (partitionDirectory === undefined) return [];
  return readdirSync(join(root, partitionDirectory))
    .filter((name) => /^\d{20}\.log$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
}

const values = (count: number) => Array.from({ length: count }, (_, i) => `v${i}-${'x'.repeat(400)}`);

durable(
  'kafkajs deleteTopicRecords moves the log start: fetch below it is OFFSET_OUT_OF_RANGE, ListOffsets earliest answers it, segments below it go, and a restart keeps it',
  async (t) => {
    const dataDir = temporaryDirectory(t);
    let broker = await startIn(dataDir);
    t.teardown(() => broker.stop());
    let client = await RawClient.open(broker.address.port);
    t.teardown(() => client.close());
    // 4 KiB segments: the 30 records of ~450 bytes fill several.
    await createTopic(client, 'trim', { 'segment.bytes': '4096' });
    const offsets = await produce(client, 'trim', values(30));
    // Mid-segment on purpose: the start is then kept by the log-start file, not by the segments.
    const start = offsets[17] as number;

    const admin = kafkaFor(broker).admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await admin.fetchTopicMetadata({ topics: ['trim'] }); // deleteTopicRecords needs it loaded
    await admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: String(start) }] });

    const [low] = await admin.fetchTopicOffsets('trim');
    t.is(Number(low?.low), start);
    t.is(await earliest(client, 'trim'), start);
    t.is((await fetchAt(client, 'trim', offsets[3] as number)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const fromStart = await fetchAt(client, 'trim', start);
    t.is(fromStart.errorCode, ErrorCode.NONE);
    t.is(fromStart.firstOffset, start);
    t.deepEqual(fromStart.values.slice(0, 2), values(30).slice(17, 19));
    // A smaller offset changes nothing and answers the current low watermark.
    t.deepEqual(await deleteRecords(client, 0, 'trim', offsets[5] as number), {
      lowWatermark: start,
      errorCode: ErrorCode.NONE,
    });
    // The whole segments below the start are released (in the background, through a snapshot).
    while ((segmentBases(dataDir)[0] ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const firstSegment = segmentBases(dataDir)[0] as number;
    t.true(firstSegment > 0 && firstSegment <= start, `first segment at ${firstSegment}, start ${start}`);

    await admin.disconnect();
    client.close();
    await broker.stop();
    broker = await startIn(dataDir);
    client = await RawClient.open(broker.address.port);
    await waitForLeadership(client, 'trim');
    t.is(await earliest(client, 'trim'), start);
    t.is((await fetchAt(client, 'trim', firstSegment)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    t.deepEqual((await fetchAt(client, 'trim', start)).values.slice(0, 1), values(30).slice(17, 18));
  },
);

test('DeleteRecords v1 and v2 (flexible): -1 deletes up to the high watermark; above it OFFSET_OUT_OF_RANGE; unknown topics and __consumer_offsets refused', async (t) => {
  const broker = await startIn(temporaryDirectory(t));
  t.teardown(() => broker.stop());
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await createTopic(client, 'edges');
  const offsets = await produce(client, 'edges', ['a', 'b', 'c']);
  const highWatermark = (offsets[2] as number) + 1;

  t.deepEqual(await deleteRecords(client, 2, 'edges', highWatermark + 1), {
    lowWatermark: -1,
    errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
  });
  t.deepEqual(await deleteRecords(client, 1, 'edges', -7), {
    lowWatermark: -1,
    errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
  });
  t.deepEqual(await deleteRecords(client, 2, 'missing', 0), {
    lowWatermark: -1,
    errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  });
  await client.findCoordinator('any-group'); // creates __consumer_offsets
  t.deepEqual(await deleteRecords(client, 2, '__consumer_offsets', -1), {
    lowWatermark: -1,
    errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
  });
  t.deepEqual(await deleteRecords(client, 2, 'edges', -1), {
    lowWatermark: highWatermark,
    errorCode: ErrorCode.NONE,
  });
  t.is(await earliest(client, 'edges'), highWatermark);
  // Everything was deleted: nothing to read from the start; later records are read as usual.
  t.deepEqual((await fetchAt(client, 'edges', highWatermark)).values, []);
  const [next] = await produce(client, 'edges', ['d']);
  t.deepEqual((await fetchAt(client, 'edges', highWatermark)).values, ['d']);
  t.true((next as number) > highWatermark); // the log-start entry took an offset, as a control batch
  // A lookup by time finds no deleted record (the first batch is older than any other).
  t.is(await earliest(client, 'edges', 0), next);
});

test('kcat consuming from the beginning after DeleteRecords starts at the new log start', async (t) => {
  const broker = await startIn(temporaryDirectory(t));
  t.teardown(() => broker.stop());
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await createTopic(client, 'kc');
  const offsets = await produce(client, 'kc', ['m0', 'm1', 'm2', 'm3', 'm4']);
  t.is((await deleteRecords(client, 1, 'kc', offsets[3] as number)).errorCode, ErrorCode.NONE);
  const out = await kcat([
    '-b',
    `127.0.0.1:${broker.address.port}`,
    '-C',
    '-t',
    'kc',
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%o %s\\n',
  ]);
  t.deepEqual(out.trim().split('\n'), [`${offsets[3]} m3`, `${offsets[4]} m4`]);
});
