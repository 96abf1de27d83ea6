import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { COMPRESSION_CODECS, type CompressionName } from '../../src/client/codecs.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { readBatchHeader } from '../../src/protocol/record-batch-header.js';
import { bootstrap, nativeStorageAvailable, startBroker } from '../broker/helpers.js';

// Compression runs through the native codecs (src/storage), so these need the built module.
const codecTest = nativeStorageAvailable ? test : test.skip;

for (const name of Object.keys(COMPRESSION_CODECS) as CompressionName[]) {
  codecTest(
    `${name}: batches are stored with codec id ${COMPRESSION_CODECS[name]} and read back intact`,
    async (t) => {
      const broker = await startBroker(t);
      const client = new Client({ brokers: [bootstrap(broker)] });
      t.teardown(() => client.close());
      await new Admin(client).createTopic({ name: 'squeezed', partitions: 1 });
      const producer = new Producer(client, { compression: name });
      const values = Array.from({ length: 50 }, (_, i) => `${name} value ${i} ${'repetitive '.repeat(20)}`);
      const result = await producer.produceMessage({
        topic: 'squeezed',
        partition: 0,
        messages: values.map((value, i) => ({ key: `k${i}`, value, headers: { codec: name } })),
      });
      t.deepEqual(
        result.offsets,
        Array.from({ length: 50 }, (_, i) => i),
      );

      // The raw fetch shows the codec the producer chose in the stored batch's attributes.
      const connection = await client.leaderConnection('squeezed', 0);
      const raw = await client.send(connection, 1, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [
          { topic: 'squeezed', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] },
        ],
      });
      const records: Buffer = raw.responses[0].partitions[0].records;
      t.is(readBatchHeader(records, 0).attributes & 0x07, COMPRESSION_CODECS[name]);

      const fetched = await new Consumer(client).fetchFrom({
        topic: 'squeezed',
        partition: 0,
        offset: 0,
        maxWaitMs: 0,
      });
      t.deepEqual(
        fetched.messages.map((m) => m.value?.toString()),
        values,
      );
      t.is(fetched.messages[7]?.key?.toString(), 'k7');
      t.is(fetched.messages[7]?.headers[0]?.value?.toString(), name);
    },
  );
}

test('an unknown compression name is refused with the list of valid ones', (t) => {
  const client = new Client({ brokers: ['127.0.0.1:1'] });
  t.throws(() => new Producer(client, { compression: 'brotli' as CompressionName }), {
    message: /unknown compression "brotli"; use one of none, gzip, snappy, lz4, zstd/,
  });
});
