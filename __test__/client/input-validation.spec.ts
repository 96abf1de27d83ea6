import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';

// Plain-JavaScript callers have no TypeScript types: wrong shapes must throw a TypeError naming
// the field before anything is sent (nothing listens on the client's address).

function offline(): { client: Client; producer: Producer; consumer: Consumer } {
  const client = new Client({ brokers: ['127.0.0.1:1'], timeoutMs: 1_000 });
  return { client, producer: new Producer(client), consumer: new Consumer(client) };
}

// biome-ignore lint/suspicious/noExplicitAny: the point is calling without the types.
const untyped = (value: unknown): any => value;

test("producer.send with KafkaJS's { topic, messages } shape throws a TypeError that says what send takes", async (t) => {
  const { client, producer } = offline();
  t.teardown(() => client.close());
  const error = await t.throwsAsync(
    producer.send(untyped({ topic: 'demo', messages: [{ value: 'hello' }] })),
    { instanceOf: TypeError },
  );
  t.regex(error.message, /producer\.send\(record\) takes one record .*not KafkaJS's \{ topic, messages \}/);
});

test('producer.send names the missing value, a bad key, topic and partition', async (t) => {
  const { client, producer } = offline();
  t.teardown(() => client.close());
  const cases: Array<[unknown, RegExp]> = [
    [{ topic: 'demo' }, /producer\.send\(record\)\.value must be a string, a Buffer or null/],
    [{ topic: 'demo', value: 42 }, /producer\.send\(record\)\.value must be .*, not number 42/],
    [{ topic: 'demo', value: 'v', key: 7 }, /producer\.send\(record\)\.key must be/],
    [{ topic: '', value: 'v' }, /producer\.send\(record\)\.topic must be a non-empty string/],
    [{ value: 'v' }, /producer\.send\(record\)\.topic must be a non-empty string/],
    [
      { topic: 'demo', value: 'v', partition: -1 },
      /producer\.send\(record\)\.partition must be a non-negative integer/,
    ],
    [
      { topic: 'demo', value: 'v', headers: { a: 1 } },
      /producer\.send\(record\)\.headers\.a must be a string or a Buffer/,
    ],
    [{ topic: 'demo', value: 'v', timestamp: 'now' }, /producer\.send\(record\)\.timestamp must be a number/],
    ['demo', /producer\.send\(record\) must be an object/],
  ];
  for (const [record, message] of cases) {
    const error = await t.throwsAsync(producer.send(untyped(record)), { instanceOf: TypeError });
    t.regex(error.message, message);
  }
});

test('producer.produceMessage names the bad field: messages, one message, topic, timeoutMs', async (t) => {
  const { client, producer } = offline();
  t.teardown(() => client.close());
  const cases: Array<[unknown, RegExp]> = [
    [{ topic: 'demo' }, /produceMessage\(request\)\.messages must be a non-empty array/],
    [
      { topic: 'demo', messages: [] },
      /produceMessage\(request\)\.messages must be a non-empty array .*not an empty array/,
    ],
    [
      { topic: 'demo', messages: [{ value: 'a' }, { key: 'k' }] },
      /produceMessage\(request\)\.messages\[1\]\.value must be/,
    ],
    [{ topic: 'demo', messages: ['a'] }, /produceMessage\(request\)\.messages\[0\] must be an object/],
    [{ topic: 3, messages: [{ value: 'a' }] }, /produceMessage\(request\)\.topic must be a non-empty string/],
    [
      { topic: 'demo', messages: [{ value: 'a' }], timeoutMs: '5s' },
      /produceMessage\(request\)\.timeoutMs must be a positive number/,
    ],
  ];
  for (const [request, message] of cases) {
    const error = await t.throwsAsync(producer.produceMessage(untyped(request)), { instanceOf: TypeError });
    t.regex(error.message, message);
  }
});

test('consumer.fetchFrom and consumer.stream name a bad offset, partition or start position', async (t) => {
  const { client, consumer } = offline();
  t.teardown(() => client.close());
  t.throws(() => consumer.fetchFrom(untyped({ topic: 'demo', partition: 0, offset: '5' })), {
    instanceOf: TypeError,
    message: /consumer\.fetchFrom\(request\)\.offset must be a non-negative integer, not the string "5"/,
  });
  t.throws(() => consumer.fetchFrom(untyped({ topic: 'demo', offset: 0 })), {
    instanceOf: TypeError,
    message: /consumer\.fetchFrom\(request\)\.partition must be a non-negative integer/,
  });
  await t.throwsAsync(consumer.stream(untyped({ topic: 'demo', partition: 0, from: 'beginning' })).next(), {
    instanceOf: TypeError,
    message: /consumer\.stream\(options\)\.from must be 'earliest', 'latest', an offset .* not "beginning"/,
  });
});

test('new Client names bad brokers', (t) => {
  t.throws(() => new Client(untyped({ brokers: [9092] })), {
    instanceOf: TypeError,
    message: /new Client\(options\)\.brokers must be an array of "host:port" strings/,
  });
});

test('admin.createTopic and deleteTopic name a bad topic name or partition count', async (t) => {
  const { client } = offline();
  t.teardown(() => client.close());
  const admin = new Admin(client);
  await t.throwsAsync(admin.createTopic(untyped({ topic: 'demo' })), {
    instanceOf: TypeError,
    message: /admin\.createTopic\(request\)\.name must be a non-empty string, not undefined/,
  });
  await t.throwsAsync(admin.createTopic(untyped({ name: 'demo', partitions: '3' })), {
    instanceOf: TypeError,
    message: /admin\.createTopic\(request\)\.partitions must be a positive integer \(or -1\), not "3"/,
  });
  await t.throwsAsync(admin.deleteTopic(untyped(undefined)), {
    instanceOf: TypeError,
    message: /admin\.deleteTopic\(name\) must be a non-empty string/,
  });
});
