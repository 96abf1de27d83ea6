import test, { type ExecutionContext } from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { ATTRIBUTE_CONTROL, Codec } from '../../src/protocol/record-batch-header.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records.js';
import { nativeCodecs, nativeCrc32c } from '../../src/storage/index.js';
import { bootstrap, kcat, RawClient, startBroker, temporaryDirectory, waitForLeadership } from './helpers.js';

interface StoredBatch {
  baseOffset: number;
  /** Offset after the batch's last record. */
  nextOffset: number;
  /** A control batch (a Raft leader's no-op): consumers skip it. */
  isControl: boolean;
  codec: number;
  byteLength: number;
  crcValid: boolean;
  bytes: Buffer;
}

/** Walks the raw record bytes of a Fetch response, batch by batch, as a consumer receives them. */
function storedBatches(records: Buffer): StoredBatch[] {
  const batches: StoredBatch[] = [];
  let at = 0;
  while (at + 61 <= records.length) {
    const byteLength = records.readInt32BE(at + 8) + 12;
    if (at + byteLength > records.length) break;
    batches.push({
      baseOffset: Number(records.readBigInt64BE(at)),
      nextOffset: Number(records.readBigInt64BE(at)) + records.readInt32BE(at + 23) + 1,
      isControl: (records.readInt16BE(at + 21) & ATTRIBUTE_CONTROL) !== 0,
      codec: records.readInt16BE(at + 21) & 0x07,
      byteLength,
      crcValid: nativeCrc32c(records.subarray(at + 21, at + byteLength)) === records.readUInt32BE(at + 17),
      bytes: records.subarray(at, at + byteLength),
    });
    at += byteLength;
  }
  return batches;
}

async function createTopic(client: RawClient, name: string, configs: Record<string, string>): Promise<void> {
  const response = await client.request(ApiKey.CreateTopics, 4, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
      },
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  if (response.body.topics[0].errorCode !== ErrorCode.NONE) {
    throw new Error(`CreateTopics ${name}: ${JSON.stringify(response.body.topics[0])}`);
  }
}

/**
 * Every stored data batch of partition 0 of `topic`, read with raw Fetch requests from offset 0;
 * control batches (the leaders' no-ops) are skipped as consumers skip them.
 */
async function fetchAll(
  client: RawClient,
  topic: string,
): Promise<{ batches: StoredBatch[]; highWatermark: number }> {
  const batches: StoredBatch[] = [];
  let offset = 0;
  for (;;) {
    const response = await client.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const partition = response.body.responses[0].partitions[0];
    if (partition.errorCode !== ErrorCode.NONE) throw new Error(`Fetch error ${partition.errorCode}`);
    const found = storedBatches(partition.records ?? Buffer.alloc(0));
    batches.push(...found.filter((stored) => !stored.isControl));
    const last = found.at(-1);
    if (last === undefined) return { batches, highWatermark: partition.highWatermark };
    offset = last.nextOffset;
    if (offset >= partition.highWatermark) return { batches, highWatermark: partition.highWatermark };
  }
}

function produceRequest(topic: string, batches: Buffer[]) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: Buffer.concat(batches) }] }],
  };
}

/** A batch of `count` records `<prefix>-<i>` padded to `valueBytes`, compressed with `codec`. */
function batch(prefix: string, count: number, valueBytes: number, codec: number): Buffer {
  return encodeRecordBatch(
    {
      baseTimestamp: 1_700_000_000_000,
      attributes: codec,
      records: Array.from({ length: count }, (_, i) => ({
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`${prefix}-${i}-`.padEnd(valueBytes, 'x')),
        headers: [{ key: 'h', value: Buffer.from(String(i)) }],
        timestamp: 1_700_000_000_000 + i,
      })),
    },
    nativeCodecs,
  );
}

async function open(t: ExecutionContext, broker: Broker): Promise<RawClient> {
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  return client;
}

function lines(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}-${'y'.repeat(i % 61)}`);
}

async function kcatProduce(broker: Broker, topic: string, codec: string, sent: string[]): Promise<void> {
  await kcat(
    ['-b', bootstrap(broker), '-P', '-t', topic, '-z', codec, '-X', 'acks=all'],
    `${sent.join('\n')}\n`,
  );
}

async function kcatConsume(broker: Broker, topic: string): Promise<string[]> {
  const out = await kcat(['-b', bootstrap(broker), '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
  return out.split('\n').slice(0, -1);
}

test('compression.type=zstd stores uncompressed and gzip batches from kcat as zstd (codec 4, valid CRC) and kcat reads the same messages back', async (t) => {
  const broker = await startBroker(t);
  const client = await open(t, broker);
  await createTopic(client, 'zstd-topic', { 'compression.type': 'zstd' });
  const plain = lines('plain', 500);
  const gzipped = lines('gzipped', 500);
  await kcatProduce(broker, 'zstd-topic', 'none', plain);
  await kcatProduce(broker, 'zstd-topic', 'gzip', gzipped);
  const { batches, highWatermark } = await fetchAll(client, 'zstd-topic');
  t.true(batches.length >= 2);
  // The leader's no-op may come first: offsets count from the first stored record's.
  const base = batches[0]!.baseOffset;
  t.is(highWatermark, base + 1000);
  t.deepEqual(new Set(batches.map((b) => b.codec)), new Set([Codec.Zstd]));
  t.true(batches.every((b) => b.crcValid));
  const decoded = batches.flatMap((b) => decodeRecordBatches(b.bytes, nativeCodecs)[0]!.records);
  t.deepEqual(
    decoded.map((r) => r.value!.toString()),
    [...plain, ...gzipped],
  );
  t.deepEqual(
    decoded.map((r) => r.offset),
    Array.from({ length: 1000 }, (_, i) => base + i),
  );
  t.deepEqual(await kcatConsume(broker, 'zstd-topic'), [...plain, ...gzipped]);
});

test('compression.type=producer stores each batch in the codec it was sent with even when the broker default recompresses, and the broker default applies to topics without an override', async (t) => {
  const broker = await startBroker(t, {
    compressionEnabled: true,
    compressionType: 'gzip',
    compressionThresholdBytes: 0,
  });
  const client = await open(t, broker);
  await createTopic(client, 'as-sent', { 'compression.type': 'producer' });
  await createTopic(client, 'defaulted', {});
  const codecs = [Codec.Snappy, Codec.Lz4, Codec.None, Codec.Zstd, Codec.Gzip];
  const sent = codecs.map((codec) => batch(`codec${codec}`, 40, 60, codec));
  for (const topic of ['as-sent', 'defaulted']) {
    for (const one of sent) {
      const response = await client.request(ApiKey.Produce, 7, produceRequest(topic, [one]));
      t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
  }
  const asSent = await fetchAll(client, 'as-sent');
  t.deepEqual(
    asSent.batches.map((b) => b.codec),
    codecs,
  );
  t.deepEqual(
    asSent.batches.map((b) => b.bytes.subarray(16)),
    sent.map((b) => b.subarray(16)),
  );
  const defaulted = await fetchAll(client, 'defaulted');
  t.deepEqual(
    defaulted.batches.map((b) => b.codec),
    codecs.map(() => Codec.Gzip),
  );
  t.true(defaulted.batches.every((b) => b.crcValid));
  const values = codecs.flatMap((codec) =>
    Array.from({ length: 40 }, (_, i) => `codec${codec}-${i}-`.padEnd(60, 'x')),
  );
  t.deepEqual(await kcatConsume(broker, 'as-sent'), values);
  t.deepEqual(await kcatConsume(broker, 'defaulted'), values);
});

test('with compression_enabled a batch whose records section is below compression_threshold is stored byte for byte as sent, a larger one in compression_type', async (t) => {
  const broker = await startBroker(t, {
    compressionEnabled: true,
    compressionType: 'lz4',
    compressionThresholdBytes: 1024,
  });
  const client = await open(t, broker);
  await createTopic(client, 'threshold', {});
  const small = batch('small', 3, 50, Codec.None);
  const smallGzip = batch('small-gzip', 3, 50, Codec.Gzip);
  const large = batch('large', 100, 100, Codec.None);
  t.true(small.length - 61 < 1024 && smallGzip.length - 61 < 1024 && large.length - 61 >= 1024);
  for (const sent of [small, smallGzip, large]) {
    const response = await client.request(ApiKey.Produce, 7, produceRequest('threshold', [sent]));
    t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
  const { batches } = await fetchAll(client, 'threshold');
  t.deepEqual(
    batches.map((b) => b.codec),
    [Codec.None, Codec.Gzip, Codec.Lz4],
  );
  // Apart from baseOffset and partitionLeaderEpoch, which the leader writes (bytes 0-7 and
  // 12-15, outside the CRC), the small batches are the bytes that were sent.
  for (const [stored, sent] of [
    [batches[0]!.bytes, small],
    [batches[1]!.bytes, smallGzip],
  ] as const) {
    t.deepEqual(stored.subarray(8, 12), sent.subarray(8, 12));
    t.deepEqual(stored.subarray(16), sent.subarray(16));
  }
  t.true(batches[2]!.crcValid);
  t.true(batches[2]!.byteLength < large.length);
  const records = decodeRecordBatches(batches[2]!.bytes, nativeCodecs)[0]!.records;
  const original = decodeRecordBatches(large, nativeCodecs)[0]!.records;
  t.deepEqual(
    records.map((r) => [
      r.key!.toString(),
      r.value!.toString(),
      r.timestamp,
      r.headers[0]!.value!.toString(),
    ]),
    original.map((r) => [
      r.key!.toString(),
      r.value!.toString(),
      r.timestamp,
      r.headers[0]!.value!.toString(),
    ]),
  );
  // Three records in each small batch came before it.
  t.is(records[0]!.offset, batches[0]!.baseOffset + 6);
});

test('a batch that recompression would grow past max.message.bytes fails the whole partition request with MESSAGE_TOO_LARGE and stores nothing', async (t) => {
  const broker = await startBroker(t);
  const client = await open(t, broker);
  await createTopic(client, 'grows', { 'compression.type': 'none', 'max.message.bytes': '4096' });
  const fits = batch('fits', 2, 20, Codec.Zstd);
  const grows = batch('grows', 200, 200, Codec.Zstd);
  t.true(grows.length < 4096);
  const response = await client.request(ApiKey.Produce, 8, produceRequest('grows', [fits, grows]));
  const partition = response.body.responses[0].partitionResponses[0];
  t.is(partition.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  t.regex(partition.errorMessage, /codec 4 to codec 0/);
  t.is((await fetchAll(client, 'grows')).batches.length, 0);
  // Once a later produce is acknowledged everything before it is committed: the batch that fits
  // (decompressed, as the topic asks) is all there is, and its two records end the log.
  const alone = await client.request(ApiKey.Produce, 7, produceRequest('grows', [fits]));
  t.is(alone.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  const base: number = alone.body.responses[0].partitionResponses[0].baseOffset;
  const after = await fetchAll(client, 'grows');
  t.deepEqual(
    after.batches.map((b) => [b.baseOffset, b.codec]),
    [[base, Codec.None]],
  );
  t.is(after.highWatermark, base + 2);
});

test('recompressed batches read back the same after a broker restart', async (t) => {
  const dataDir = temporaryDirectory(t);
  const config = {
    dataDir,
    compressionEnabled: true,
    compressionType: 'zstd' as const,
    compressionThresholdBytes: 512,
  };
  const first = await startBroker(t, config);
  const client = await open(t, first);
  await createTopic(client, 'durable', {});
  await createTopic(client, 'durable-lz4', { 'compression.type': 'lz4' });
  const sent = lines('durable', 400);
  await kcatProduce(first, 'durable', 'gzip', sent);
  await kcatProduce(first, 'durable-lz4', 'none', sent);
  const before = await fetchAll(client, 'durable');
  const beforeLz4 = await fetchAll(client, 'durable-lz4');
  client.close();
  await first.stop();

  const second = await startBroker(t, config);
  const again = await open(t, second);
  await waitForLeadership(again, 'durable');
  await waitForLeadership(again, 'durable-lz4');
  const after = await fetchAll(again, 'durable');
  const afterLz4 = await fetchAll(again, 'durable-lz4');
  // All 400 records, ending where the log ended before the restart (the restarted leader's
  // no-op comes after them).
  t.is(
    after.batches.reduce((sum, b) => sum + b.nextOffset - b.baseOffset, 0),
    400,
  );
  t.is(after.batches.at(-1)!.nextOffset, before.highWatermark);
  t.true(after.batches.some((b) => b.codec === Codec.Zstd));
  t.deepEqual(new Set(afterLz4.batches.map((b) => b.codec)), new Set([Codec.Lz4]));
  t.deepEqual(
    after.batches.map((b) => b.bytes),
    before.batches.map((b) => b.bytes),
  );
  t.deepEqual(
    afterLz4.batches.map((b) => b.bytes),
    beforeLz4.batches.map((b) => b.bytes),
  );
  t.deepEqual(await kcatConsume(second, 'durable'), sent);
  t.deepEqual(await kcatConsume(second, 'durable-lz4'), sent);
});

test("compression.type=uncompressed (Kafka's older word for none) stores a gzip batch uncompressed, and compression_enabled with compression_type=producer stores it as sent", async (t) => {
  const broker = await startBroker(t, {
    compressionEnabled: true,
    compressionType: 'producer',
    compressionThresholdBytes: 0,
  });
  const client = await open(t, broker);
  await createTopic(client, 'uncompressed', { 'compression.type': 'uncompressed' });
  await createTopic(client, 'enabled-producer', {});
  const sent = batch('gz', 30, 80, Codec.Gzip);
  for (const topic of ['uncompressed', 'enabled-producer']) {
    const response = await client.request(ApiKey.Produce, 7, produceRequest(topic, [sent]));
    t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
  const [stored] = (await fetchAll(client, 'uncompressed')).batches;
  t.is(stored!.codec, Codec.None);
  t.true(stored!.crcValid);
  t.deepEqual(
    decodeRecordBatches(stored!.bytes)[0]!.records.map((r) => r.value!.toString()),
    decodeRecordBatches(sent, nativeCodecs)[0]!.records.map((r) => r.value!.toString()),
  );
  const [asSent] = (await fetchAll(client, 'enabled-producer')).batches;
  t.is(asSent!.codec, Codec.Gzip);
  t.deepEqual(asSent!.bytes.subarray(16), sent.subarray(16));
});
