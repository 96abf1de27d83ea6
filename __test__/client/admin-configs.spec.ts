/**
 * Admin.alterConfigs and Admin.incrementalAlterConfigs against an in-process broker: the
 * changes show in describeConfigs, validateOnly changes nothing, the broker's refusals come back
 * as KafkaProtocolErrors with its message, and wrong shapes are TypeErrors naming the field.
 */
import test, { type ExecutionContext } from 'ava';
import type { Admin } from '../../src/client/admin.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { assertTypeErrors, brokerWithTopic, untyped } from './admin-helpers.js';

const setup = (t: ExecutionContext) => brokerWithTopic(t, { name: 'orders', partitions: 1 });

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
  const refusals: Array<[() => Promise<void>, { code: number; topic: string; message: RegExp }]> = [
    [
      () =>
        admin.incrementalAlterConfigs({
          type: 'topic',
          name: 'orders',
          changes: [{ name: 'retention.ms', op: 'set', value: 'soon' }],
        }),
      {
        code: 40,
        topic: 'orders',
        message: /^INVALID_CONFIG \[40\].*retention\.ms must be an integer; got soon/,
      },
    ],
    [
      // SUBTRACT of a key that is not a list.
      () =>
        admin.incrementalAlterConfigs({
          type: 'topic',
          name: 'orders',
          changes: [{ name: 'retention.ms', op: 'subtract', value: '1' }],
        }),
      { code: 40, topic: 'orders', message: /retention\.ms is not a list/ },
    ],
    [
      () => admin.alterConfigs({ type: 'topic', name: 'orders', configs: { 'no.such.key': '1' } }),
      { code: 40, topic: 'orders', message: /unknown topic config no\.such\.key/ },
    ],
    [
      () =>
        admin.incrementalAlterConfigs({
          type: 'topic',
          name: 'missing',
          changes: [{ name: 'retention.ms', op: 'set', value: '1' }],
        }),
      { code: 3, topic: 'missing', message: /^UNKNOWN_TOPIC_OR_PARTITION \[3\] \(topic "missing"\)/ },
    ],
  ];
  for (const [call, expected] of refusals) {
    const error = await t.throwsAsync(call(), { instanceOf: KafkaProtocolError });
    t.deepEqual([error.code, error.topic], [expected.code, expected.topic]);
    t.regex(error.message, expected.message);
    // Fresh metadata does not make a missing topic appear, nor a bad value good.
    t.false(error.retriable);
  }
  t.deepEqual(await overrides(admin, 'topic', 'orders'), {}, 'nothing refused was applied');
});

test('wrong shapes throw a TypeError naming the field before anything is sent', async (t) => {
  await assertTypeErrors(t, [
    [
      (admin) => admin.alterConfigs(untyped({ type: 'group', name: 'g', configs: {} })),
      /admin\.alterConfigs\(request\)\.type must be "topic" or "broker", not "group"/,
    ],
    [
      (admin) =>
        admin.alterConfigs(untyped({ type: 'topic', name: 'orders', configs: { 'retention.ms': 5 } })),
      /admin\.alterConfigs\(request\)\.configs\.retention\.ms must be a string/,
    ],
    [
      (admin) => admin.alterConfigs(untyped({ type: 'broker', name: 'one', configs: {} })),
      /admin\.alterConfigs\(request\)\.name must be a broker id or ""/,
    ],
    [
      (admin) => admin.incrementalAlterConfigs(untyped({ type: 'topic', name: 'orders', changes: [] })),
      /admin\.incrementalAlterConfigs\(request\)\.changes must be a non-empty array/,
    ],
    [
      (admin) =>
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
      (admin) =>
        admin.incrementalAlterConfigs(
          untyped({ type: 'topic', name: 'orders', changes: [{ name: 'retention.ms', op: 'set' }] }),
        ),
      /changes\[0\]\.value must be a string for op "set"/,
    ],
    [
      (admin) =>
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
      (admin) =>
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
  ]);
});
