/**
 * Admin.alterConfigs and Admin.incrementalAlterConfigs against an in-process broker: the
 * changes show in describeConfigs, validateOnly changes nothing, the broker's refusals come back
 * as KafkaProtocolErrors with its message, and wrong shapes are TypeErrors naming the field.
 */
import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { bootstrap, startBroker } from '../broker/helpers.js';

async function setup(t: Parameters<typeof startBroker>[0]) {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)], clientId: 'admin-configs', timeoutMs: 10_000 });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  await admin.createTopic({ name: 'orders', partitions: 1 });
  return { broker, admin };
}

/** The topic's (or broker's) configs that are not defaults, as `{ key: value }`. */
async function overrides(
  admin: Admin,
  type: 'topic' | 'broker',
  name: string,
): Promise<Record<string, string>> {
  const entries = await admin.describeConfigs({ type, name });
  return Object.fromEntries(
    entries.filter((entry) => !entry.isDefault).map((entry) => [entry.name, entry.value ?? '']),
  );
}

test('incrementalAlterConfigs sets, deletes and appends topic keys; validateOnly changes nothing', async (t) => {
  const { admin } = await setup(t);
  await admin.incrementalAlterConfigs({
    type: 'topic',
    name: 'orders',
    changes: [
      { name: 'retention.ms', op: 'set', value: '60000' },
      { name: 'max.message.bytes', op: 'set', value: '200000' },
    ],
  });
  t.deepEqual(await overrides(admin, 'topic', 'orders'), {
    'retention.ms': '60000',
    'max.message.bytes': '200000',
  });

  await admin.incrementalAlterConfigs({
    type: 'topic',
    name: 'orders',
    changes: [{ name: 'retention.ms', op: 'set', value: '1000' }],
    validateOnly: true,
  });
  t.is((await overrides(admin, 'topic', 'orders'))['retention.ms'], '60000', 'validateOnly applied nothing');

  // A list key: APPEND starts from the inherited value ("delete") and keeps items unique.
  await admin.incrementalAlterConfigs({
    type: 'topic',
    name: 'orders',
    changes: [
      { name: 'max.message.bytes', op: 'delete' },
      { name: 'cleanup.policy', op: 'append', value: 'delete' },
    ],
  });
  t.deepEqual(await overrides(admin, 'topic', 'orders'), {
    'retention.ms': '60000',
    'cleanup.policy': 'delete',
  });
});

test('alterConfigs replaces the whole set: keys not named return to their defaults', async (t) => {
  const { admin } = await setup(t);
  await admin.alterConfigs({
    type: 'topic',
    name: 'orders',
    configs: { 'retention.ms': '60000', 'retention.bytes': '1048576' },
  });
  t.deepEqual(await overrides(admin, 'topic', 'orders'), {
    'retention.ms': '60000',
    'retention.bytes': '1048576',
  });
  await admin.alterConfigs({ type: 'topic', name: 'orders', configs: { 'retention.bytes': '2097152' } });
  t.deepEqual(await overrides(admin, 'topic', 'orders'), { 'retention.bytes': '2097152' });
});

test('a broker resource is altered by id and by "" (every broker), and shows in describeConfigs of that broker', async (t) => {
  const { broker, admin } = await setup(t);
  const id = broker.brokerId;
  await admin.incrementalAlterConfigs({
    type: 'broker',
    name: id,
    changes: [{ name: 'log.retention.ms', op: 'set', value: '120000' }],
  });
  t.is((await overrides(admin, 'broker', String(id)))['log.retention.ms'], '120000');
  await admin.incrementalAlterConfigs({
    type: 'broker',
    name: String(id),
    changes: [{ name: 'log.retention.ms', op: 'delete' }],
  });
  // The static value (from the broker's own settings) applies again.
  t.not((await overrides(admin, 'broker', String(id)))['log.retention.ms'], '120000');
  await admin.alterConfigs({ type: 'broker', name: '', configs: { 'log.retention.bytes': '1073741824' } });
  t.is((await overrides(admin, 'broker', String(id)))['log.retention.bytes'], '1073741824');
});

test("the broker's refusals are KafkaProtocolErrors with the Kafka code and the broker's reason", async (t) => {
  const { admin } = await setup(t);
  const invalid = await t.throwsAsync(
    admin.incrementalAlterConfigs({
      type: 'topic',
      name: 'orders',
      changes: [{ name: 'retention.ms', op: 'set', value: 'soon' }],
    }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(invalid.code, 40);
  t.is(invalid.errorName, 'INVALID_CONFIG');
  t.is(invalid.topic, 'orders');
  t.regex(invalid.message, /retention\.ms/);

  // SUBTRACT of a key that is not a list.
  const notList = await t.throwsAsync(
    admin.incrementalAlterConfigs({
      type: 'topic',
      name: 'orders',
      changes: [{ name: 'retention.ms', op: 'subtract', value: '1' }],
    }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(notList.code, 40);
  t.regex(notList.message, /not a list/);

  const unknownKey = await t.throwsAsync(
    admin.alterConfigs({ type: 'topic', name: 'orders', configs: { 'no.such.key': '1' } }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(unknownKey.code, 40);
  t.regex(unknownKey.message, /unknown topic config no\.such\.key/);

  const unknownTopic = await t.throwsAsync(
    admin.incrementalAlterConfigs({
      type: 'topic',
      name: 'missing',
      changes: [{ name: 'retention.ms', op: 'set', value: '1' }],
    }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(unknownTopic.code, 3);
  t.false(unknownTopic.retriable);
  t.deepEqual(await overrides(admin, 'topic', 'orders'), {}, 'nothing refused was applied');
});

// biome-ignore lint/suspicious/noExplicitAny: the point is calling without the types.
const untyped = (value: unknown): any => value;

test('wrong shapes throw a TypeError naming the field before anything is sent', async (t) => {
  const client = new Client({ brokers: ['127.0.0.1:1'], timeoutMs: 1_000 });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  const cases: Array<[() => Promise<unknown>, RegExp]> = [
    [
      () => admin.alterConfigs(untyped({ type: 'group', name: 'g', configs: {} })),
      /admin\.alterConfigs\(request\)\.type must be "topic" or "broker", not "group"/,
    ],
    [
      () => admin.alterConfigs(untyped({ type: 'topic', name: 'orders', configs: { 'retention.ms': 5 } })),
      /admin\.alterConfigs\(request\)\.configs\.retention\.ms must be a string/,
    ],
    [
      () => admin.alterConfigs(untyped({ type: 'broker', name: 'one', configs: {} })),
      /admin\.alterConfigs\(request\)\.name must be a broker id or ""/,
    ],
    [
      () => admin.incrementalAlterConfigs(untyped({ type: 'topic', name: 'orders', changes: [] })),
      /admin\.incrementalAlterConfigs\(request\)\.changes must be a non-empty array/,
    ],
    [
      () =>
        admin.incrementalAlterConfigs(
          untyped({
            type: 'topic',
            name: 'orders',
            changes: [{ name: 'retention.ms', op: 'put', value: '1' }],
          }),
        ),
      /changes\[0\]\.op must be one of set, delete, append, subtract, not "put"/,
    ],
    [
      () =>
        admin.incrementalAlterConfigs(
          untyped({ type: 'topic', name: 'orders', changes: [{ name: 'retention.ms', op: 'set' }] }),
        ),
      /changes\[0\]\.value must be a string for op "set"/,
    ],
    [
      () =>
        admin.incrementalAlterConfigs(
          untyped({
            type: 'topic',
            name: 'orders',
            changes: [
              { name: 'retention.ms', op: 'delete' },
              { name: 'retention.ms', op: 'set', value: '1' },
            ],
          }),
        ),
      /changes names config retention\.ms more than once/,
    ],
    [
      () =>
        admin.incrementalAlterConfigs(
          untyped({
            type: 'topic',
            name: 'orders',
            changes: [{ name: 'x', op: 'delete' }],
            validateOnly: 'yes',
          }),
        ),
      /validateOnly must be a boolean/,
    ],
  ];
  for (const [call, message] of cases) {
    const error = await t.throwsAsync(call, { instanceOf: TypeError });
    t.regex(error.message, message);
  }
});
