import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { COMPRESSION_CODECS, type CompressionName } from '../../src/client/codecs.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { bootstrap, nativeStorageAvailable, startBroker } from '../broker/helpers.js';
import { assertFirstRecordFollowsControlBatches, storedBatches } from './control-batches.js';

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
      // One offset per record, consecutive, right after the partition leader's no-op (a control
      // batch that takes the first offset of a new partition).
      const firstOffset = result.offsets[0] ?? -1;
      t.deepEqual(
        result.offsets,
        Array.from({ length: 50 }, (_, i) => firstOffset + i),
      );
      await assertFirstRecordFollowsControlBatches(t, client, 'squeezed', 0, firstOffset);

      // The raw fetch shows the codec the producer chose in the stored batch's attributes.
      const [stored] = await storedBatches(client, 'squeezed', 0, firstOffset);
      t.is(stored?.baseOffset, firstOffset);
      t.is((stored?.attributes ?? -1) & 0x07, COMPRESSION_CODECS[name]);

      // From offset 0 the consumer skips the control batch and sees only the records.
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
      t.deepEqual(
        fetched.messages.map((m) => m.offset),
        result.offsets,
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
