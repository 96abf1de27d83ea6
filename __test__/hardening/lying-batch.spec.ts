/**
 * A compressed batch whose header claims more (or fewer) records than its compressed records
 * section holds is refused with INVALID_RECORD and nothing of it is stored, on a broker process
 * with the native core: before, a gzip batch claiming 2^31 - 1 records was answered errorCode 0
 * and the next produce got baseOffset 2147483647.
 */
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { nativeCodecs, nativeCrc32c } from '../../src/storage/index.js';
import {
  RawClient,
  readValues,
  spawnBroker,
  temporaryDirectory,
  waitForLeadership,
} from '../broker/helpers.js';

function batch(codec: number, values: string[]): Buffer {
  return encodeRecordBatch(
    {
      baseTimestamp: 1_700_000_000_000,
      attributes: codec,
      records: values.map((value) => ({ key: null, value: Buffer.from(value) })),
    },
    nativeCodecs,
  );
}

/** `honest` with recordsCount (and lastOffsetDelta, so the header agrees with itself) set to
 * `claimed`, and a correct CRC: only the compressed section tells the truth. */
function lying(honest: Buffer, claimed: number): Buffer {
  const out = Buffer.from(honest);
  out.writeInt32BE(claimed - 1, 23);
  out.writeInt32BE(claimed, 57);
  out.writeUInt32BE(nativeCrc32c(out.subarray(21)), 17);
  return out;
}

async function produce(client: RawClient, topic: string, records: Buffer) {
  const response = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return response.body.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: number };
}

async function createTopic(client: RawClient, name: string, configs: Array<{ name: string; value: string }>) {
  const response = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  if (response.body.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`create ${name} failed`);
  await waitForLeadership(client, name);
}

test('a compressed batch lying about its record count is refused and the next produce gets the right offset', async (t) => {
  const broker = await spawnBroker({ dataDir: temporaryDirectory(t), host: '127.0.0.1', port: 0 });
  t.teardown(() => {
    broker.child.kill('SIGKILL');
  });
  const client = await RawClient.open(broker.port);
  t.teardown(() => client.close());
  // As sent (no compression.type), and recompressed to zstd by the broker.
  await createTopic(client, 'as-sent', []);
  await createTopic(client, 'recompressed', [{ name: 'compression.type', value: 'zstd' }]);
  for (const topic of ['as-sent', 'recompressed']) {
    const first = await produce(client, topic, batch(Codec.Gzip, ['a', 'b']));
    t.is(first.errorCode, ErrorCode.NONE, topic);
    for (const codec of [Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd]) {
      for (const claimed of [2 ** 31 - 1, 1, 3]) {
        const refused = await produce(client, topic, lying(batch(codec, ['x', 'y']), claimed));
        t.is(refused.errorCode, ErrorCode.INVALID_RECORD, `${topic} codec ${codec} claiming ${claimed}`);
      }
    }
    const next = await produce(client, topic, batch(Codec.Lz4, ['c']));
    t.is(next.errorCode, ErrorCode.NONE);
    t.is(next.baseOffset, first.baseOffset + 2, `${topic}: nothing of the refused batches took an offset`);
    t.deepEqual(await readValues(client, topic, 0, nativeCodecs), ['a', 'b', 'c']);
  }
});
