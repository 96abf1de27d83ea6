import test from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import { ApiKey, ErrorCode, encodeRequest } from '../../src/protocol/index.js';
import { ATTRIBUTE_CONTROL, Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { latestOffset, RawClient, readValues, startBroker } from './helpers.js';

async function createTopic(client: RawClient, name: string, partitions = 1): Promise<void> {
  const response = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  if (response.body.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`create ${name} failed`);
}

function batch(values: string[]): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: values.map((value) => ({ key: null, value: Buffer.from(value) })),
  });
}

function produce(client: RawClient, topic: string, records: Buffer, acks = -1) {
  return client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
}

/**
 * The proof a refused produce stored nothing: a good produce afterwards is acknowledged (so
 * everything before it is committed) and its record is the only one a consumer reads.
 */
async function storedOnlyAfter(t: import('ava').ExecutionContext, client: RawClient, topic: string) {
  const after = await produce(client, topic, batch(['after']));
  const partition = after.body.responses[0].partitionResponses[0];
  t.is(partition.errorCode, ErrorCode.NONE);
  t.deepEqual(await readValues(client, topic), ['after']);
  t.is((await latestOffset(client, topic)).offset, partition.baseOffset + 1);
}

/** The proof the broker survived: a fresh client still gets metadata and can produce. */
async function stillServes(t: import('ava').ExecutionContext, broker: Broker): Promise<void> {
  const client = await RawClient.open(broker.address.port);
  const metadata = await client.request(ApiKey.Metadata, 8, { topics: null, allowAutoTopicCreation: false });
  t.is(metadata.body.brokers[0].nodeId, broker.brokerId);
  client.close();
}

test('garbage bytes close only that connection; the broker keeps serving others', async (t) => {
  const broker = await startBroker(t);
  const bystander = await RawClient.open(broker.address.port);
  const attacker = await RawClient.open(broker.address.port);
  // A plausible size followed by a header too short to decode.
  attacker.write(Buffer.from([0, 0, 0, 3, 0xff, 0xfe, 0xfd]));
  await attacker.whenClosed();
  t.true(attacker.closed);
  t.false(bystander.closed);
  const versions = await bystander.request(ApiKey.ApiVersions, 2, {});
  t.is(versions.body.errorCode, ErrorCode.NONE);
  bystander.close();
  await stillServes(t, broker);
});

test('a negative frame size and random bytes close the connection', async (t) => {
  const broker = await startBroker(t);
  const negative = await RawClient.open(broker.address.port);
  negative.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4]));
  await negative.whenClosed();
  const noise = await RawClient.open(broker.address.port);
  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 0xff;
  random.writeInt32BE(random.length - 4, 0);
  noise.write(random);
  await noise.whenClosed();
  t.true(negative.closed && noise.closed);
  await stillServes(t, broker);
});

test('a frame over the size cap closes the connection before the broker buffers it', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  const header = Buffer.alloc(4);
  // Announce one byte over max_request_size (100 MiB by default) and send only the prefix.
  header.writeInt32BE(broker.config.maxRequestBytes + 1, 0);
  client.write(header);
  await client.whenClosed();
  t.true(client.closed);
  await stillServes(t, broker);
});

test('an unknown API key closes the connection', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  const frame = Buffer.alloc(4 + 10);
  frame.writeInt32BE(10, 0);
  frame.writeInt16BE(9999, 4); // api key
  frame.writeInt16BE(0, 6); // version
  frame.writeInt32BE(1, 8); // correlation id
  frame.writeInt16BE(-1, 12); // null client id
  client.write(frame);
  await client.whenClosed();
  t.true(client.closed);
  await stillServes(t, broker);
});

test('ApiVersions at a version we do not serve gets the KIP-511 answer: error 35 and our ranges in v0', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  // ApiVersions v5 (above our max, 4): flexible header with tagged fields, compact strings.
  const body = Buffer.from([0x07, ...Buffer.from('kcat12'), 0x04, ...Buffer.from('1.7'), 0x00]);
  const header = Buffer.alloc(8);
  header.writeInt16BE(ApiKey.ApiVersions, 0);
  header.writeInt16BE(5, 2);
  header.writeInt32BE(77, 4);
  const rest = Buffer.concat([header, Buffer.from([0xff, 0xff]), Buffer.from([0x00]), body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(rest.length, 0);
  client.write(Buffer.concat([size, rest]));
  const frame = await client.nextFrame();
  const { decodeResponse } = await import('../../src/protocol/index.js');
  const response = decodeResponse(ApiKey.ApiVersions, 0, frame);
  t.is(response.correlationId, 77);
  t.is(response.body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  const produce = response.body.apiKeys.find((api: { apiKey: number }) => api.apiKey === ApiKey.Produce);
  t.deepEqual({ min: produce.minVersion, max: produce.maxVersion }, { min: 0, max: 13 });
  t.false(client.closed);
  client.close();
});

test('Produce v2 (advertised for old clients, not served) gets UNSUPPORTED_VERSION and stores nothing', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  await createTopic(client, 'old');
  client.write(
    encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 2, correlationId: 5, clientId: 'old' },
      {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: 'old', partitionData: [{ index: 0, records: batch(['a']) }] }],
      },
    ),
  );
  const outcome = await Promise.race([
    client.nextFrame().then((frame) => frame),
    client.whenClosed().then(() => null),
  ]);
  t.not(outcome, null, 'the broker answers in v2 rather than closing');
  const { decodeResponse } = await import('../../src/protocol/index.js');
  const response = decodeResponse(ApiKey.Produce, 2, outcome!);
  t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.UNSUPPORTED_VERSION);
  const other = await RawClient.open(broker.address.port);
  await storedOnlyAfter(t, other, 'old');
  other.close();
});

test('a batch with a bad CRC gets CORRUPT_MESSAGE and nothing of the request is stored', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  await createTopic(client, 'crc');
  const good = batch(['first', 'second']);
  const bad = batch(['third']);
  bad[bad.length - 1]! ^= 0xff; // flip a byte of the last record: CRC no longer matches
  const response = await produce(client, 'crc', Buffer.concat([good, bad]));
  t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  // The connection and the partition still work, and neither batch of the request is stored.
  await storedOnlyAfter(t, client, 'crc');
});

test('a truncated batch and an empty records field get CORRUPT_MESSAGE', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  await createTopic(client, 'short');
  const cut = batch(['a', 'b']).subarray(0, 40);
  const truncated = await produce(client, 'short', cut);
  t.is(truncated.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  const empty = await produce(client, 'short', Buffer.alloc(0));
  t.is(empty.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  await storedOnlyAfter(t, client, 'short');
});

test('a produce to an unknown topic or partition gets UNKNOWN_TOPIC_OR_PARTITION', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  const unknownTopic = await produce(client, 'nowhere', batch(['x']));
  t.is(unknownTopic.body.responses[0].partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await createTopic(client, 'one');
  const unknownPartition = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: 'one', partitionData: [{ index: 5, records: batch(['x']) }] }],
  });
  t.is(
    unknownPartition.body.responses[0].partitionResponses[0].errorCode,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  );
  await stillServes(t, broker);
});

test('invalid acks get INVALID_REQUIRED_ACKS and store nothing', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  await createTopic(client, 'acks');
  const response = await produce(client, 'acks', batch(['x']), 2);
  t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
  await storedOnlyAfter(t, client, 'acks');
});

test('a batch larger than max_message_size gets MESSAGE_TOO_LARGE', async (t) => {
  const broker = await startBroker(t, { maxMessageBytes: 2048 });
  const client = await RawClient.open(broker.address.port);
  await createTopic(client, 'big');
  const response = await produce(client, 'big', batch(['y'.repeat(3000)]));
  t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  await storedOnlyAfter(t, client, 'big');
});

test('a Fetch version the codec cannot read (v12, flexible) closes only that connection', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  const frame = Buffer.alloc(4 + 12);
  frame.writeInt32BE(12, 0);
  frame.writeInt16BE(ApiKey.Fetch, 4);
  frame.writeInt16BE(12, 6);
  frame.writeInt32BE(9, 8);
  frame.writeInt16BE(-1, 12);
  frame.writeUInt16BE(0, 14); // empty tagged fields + junk
  client.write(frame);
  await client.whenClosed();
  t.true(client.closed);
  await stillServes(t, broker);
});

test('a control batch from a client gets INVALID_RECORD and nothing of the request is stored', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await createTopic(client, 'control');
  const control = encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: ATTRIBUTE_CONTROL,
    records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }],
  });
  const response = await produce(client, 'control', Buffer.concat([batch(['ordinary']), control]));
  t.is(response.body.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_RECORD);
  await storedOnlyAfter(t, client, 'control');
  await stillServes(t, broker);
});
