import test from 'ava';
import { ContentWindow, duplicateOf } from '../../src/broker/content-dedup.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { nativeCodecs, recordHashes } from '../../src/storage/index.js';
import { RawClient, startBroker, temporaryDirectory } from './helpers.js';

function batch(values: string[], options: { codec?: Codec; headers?: boolean } = {}): Buffer {
  return encodeRecordBatch(
    {
      baseTimestamp: Date.now(),
      attributes: options.codec ?? Codec.None,
      records: values.map((value) => ({
        key: Buffer.from(`k-${value}`),
        value: Buffer.from(value),
        timestamp: Date.now(),
        headers: options.headers ? [{ key: 'h', value: Buffer.from('1') }] : [],
      })),
    },
    nativeCodecs,
  );
}

const hashes = (values: string[]) => recordHashes(batch(values), 1 << 20);

test("the window answers a batch whose every record it holds with the first record's original offset, and forgets by count and by time", (t) => {
  const window = new ContentWindow({ windowMs: 1_000, maxRecords: 3 });
  window.add(hashes(['a', 'b']), 10, 0);
  t.is(duplicateOf(window, hashes(['a', 'b']), 500), 10);
  t.is(duplicateOf(window, hashes(['b']), 500), 11);
  t.is(duplicateOf(window, hashes(['a', 'new']), 500), undefined, 'one new record: not a duplicate');
  window.add(hashes(['c', 'd']), 20, 100); // four records: the oldest ('a') goes
  t.is(duplicateOf(window, hashes(['a']), 500), undefined);
  t.is(duplicateOf(window, hashes(['d']), 500), 21);
  t.is(duplicateOf(window, hashes(['d']), 1_200), undefined, 'past the window time');
  t.true(window.size <= 3);
});

test('hashes cover key, value and headers, and not the codec: a gzip copy of a batch is the same content', (t) => {
  t.deepEqual(recordHashes(batch(['x', 'y'], { codec: Codec.Gzip }), 1 << 20), hashes(['x', 'y']));
  t.notDeepEqual(recordHashes(batch(['x'], { headers: true }), 1 << 20), hashes(['x']));
  t.throws(() => recordHashes(batch(['x']).subarray(0, 40), 1 << 20));
});

async function produce(client: RawClient, records: Buffer) {
  const reply = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
  });
  return reply.body.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: number };
}

test('with deduplication_enabled the same batch sent twice is stored once (also after a restart, and in another codec); other content is stored', async (t) => {
  const dataDir = temporaryDirectory(t);
  const broker = await startBroker(t, { dataDir, deduplicationEnabled: true });
  let client = await RawClient.open(broker.address.port);
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const first = await produce(client, batch(['reading-1', 'reading-2']));
  t.is(first.errorCode, ErrorCode.NONE);
  const again = await produce(client, batch(['reading-1', 'reading-2']));
  t.like(again, { errorCode: ErrorCode.NONE, baseOffset: first.baseOffset });
  const gzipAgain = await produce(client, batch(['reading-1', 'reading-2'], { codec: Codec.Gzip }));
  t.like(gzipAgain, { errorCode: ErrorCode.NONE, baseOffset: first.baseOffset });
  const other = await produce(client, batch(['reading-3']));
  t.is(other.baseOffset, first.baseOffset + 2, 'nothing was stored for the duplicates');
  client.close();
  await broker.stop();

  const restarted = await startBroker(t, { dataDir, deduplicationEnabled: true });
  client = await RawClient.open(restarted.address.port);
  t.teardown(() => client.close());
  const afterRestart = await produce(client, batch(['reading-3']));
  t.like(afterRestart, { errorCode: ErrorCode.NONE, baseOffset: other.baseOffset });
});

test('without deduplication_enabled (the default) the same batch sent twice is stored twice', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const first = await produce(client, batch(['same']));
  const second = await produce(client, batch(['same']));
  t.is(second.baseOffset, first.baseOffset + 1);
});

// The window used to stamp records with the time a replica applied them: a restart replays the
// last entries, so a record far older than the window came back as "just seen" and a new message
// with the same content was answered with the old offset and never stored.
test('a record older than deduplication_window is not taken for a duplicate after a restart (the window uses the batch time)', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = { dataDir, deduplicationEnabled: true, deduplicationWindowMs: 1_000 };
  const broker = await startBroker(t, options);
  let client = await RawClient.open(broker.address.port);
  await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const first = await produce(client, batch(['reading']));
  t.is(first.errorCode, ErrorCode.NONE);
  // The original falls out of the 1 s window (no timing is asserted: only "later than").
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  client.close();
  await broker.stop();
  const restarted = await startBroker(t, options);
  client = await RawClient.open(restarted.address.port);
  t.teardown(() => client.close());
  const later = await produce(client, batch(['reading']));
  t.is(later.errorCode, ErrorCode.NONE);
  t.true(later.baseOffset > first.baseOffset, 'the new message was stored, not answered with the old offset');
});
