/**
 * AlterConfigs (33) and IncrementalAlterConfigs (44) on one in-process broker: kafkajs'
 * alterConfigs (v1) and raw requests for the incremental operations and the flexible versions;
 * DescribeConfigs' types, documentation, sources and synonyms; changes that take effect
 * (retention sweep, produce limit) and survive a restart.
 */
import test, { type ExecutionContext } from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import type { BrokerContext } from '../../src/broker/context.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { kafkaFor, RawClient, startBroker } from './helpers.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

interface Entry {
  name: string;
  value: string | null;
  configOperation?: number;
}

interface Resource {
  resourceType: number;
  resourceName: string;
  configs: Entry[];
}

interface Answer {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

async function setUp(t: ExecutionContext, options = {}): Promise<{ broker: Broker; client: RawClient }> {
  const broker = await startBroker(t, options);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  return { broker, client };
}

function contextOf(broker: Broker): BrokerContext {
  return (broker as unknown as { context: BrokerContext }).context;
}

async function createTopic(
  client: RawClient,
  name: string,
  configs: Array<{ name: string; value: string }> = [],
) {
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  if (created.body.topics[0].errorCode !== ErrorCode.NONE)
    throw new Error(`creating ${name} failed: ${created.body.topics[0].errorMessage}`);
}

async function incremental(
  client: RawClient,
  resources: Resource[],
  options: { version?: number; validateOnly?: boolean } = {},
): Promise<Answer[]> {
  const answer = await client.request(ApiKey.IncrementalAlterConfigs, options.version ?? 1, {
    resources,
    validateOnly: options.validateOnly ?? false,
  });
  return answer.body.responses;
}

async function alter(
  client: RawClient,
  resources: Resource[],
  options: { version?: number; validateOnly?: boolean } = {},
): Promise<Answer[]> {
  const answer = await client.request(ApiKey.AlterConfigs, options.version ?? 2, {
    resources,
    validateOnly: options.validateOnly ?? false,
  });
  return answer.body.responses;
}

interface Described {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  configType: number;
  documentation: string | null;
}

async function describe(
  client: RawClient,
  resourceType: number,
  resourceName: string,
  options: { version?: number; synonyms?: boolean; documentation?: boolean } = {},
): Promise<{ errorCode: number; configs: Map<string, Described> }> {
  const answer = await client.request(ApiKey.DescribeConfigs, options.version ?? 4, {
    resources: [{ resourceType, resourceName, configurationKeys: null }],
    includeSynonyms: options.synonyms ?? false,
    includeDocumentation: options.documentation ?? false,
  });
  const result = answer.body.results[0];
  return {
    errorCode: result.errorCode,
    configs: new Map(result.configs.map((config: Described) => [config.name, config])),
  };
}

async function topicValue(
  client: RawClient,
  topic: string,
  name: string,
): Promise<string | null | undefined> {
  return (await describe(client, TOPIC, topic)).configs.get(name)?.value;
}

/** Topic overrides as the topic record holds them. */
function overrides(broker: Broker, topic: string): Record<string, string> {
  return { ...contextOf(broker).topics.get(topic)!.record.configs };
}

test('kafkajs alterConfigs (v1) replaces a topic’s whole set of overrides, and DescribeConfigs shows the new set', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders', [
    { name: 'retention.ms', value: '60000' },
    { name: 'max.message.bytes', value: '500000' },
  ]);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const answer = await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: TOPIC,
        name: 'orders',
        configEntries: [{ name: 'retention.bytes', value: '1048576' }],
      },
    ],
  });
  t.is(answer.resources[0]!.errorCode, ErrorCode.NONE);
  t.deepEqual(overrides(broker, 'orders'), { 'retention.bytes': '1048576' });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC, name: 'orders' }],
  });
  const entries = new Map(described.resources[0]!.configEntries.map((entry) => [entry.configName, entry]));
  t.is(entries.get('retention.bytes')?.configValue, '1048576');
  t.false(entries.get('retention.bytes')?.isDefault);
  // retention.ms went back to the broker's default.
  t.is(entries.get('retention.ms')?.configValue, String(broker.config.retentionMs));
  t.true(entries.get('retention.ms')?.isDefault);
  t.is(contextOf(broker).topics.get('orders')!.config.maxMessageBytes, broker.config.maxMessageBytes);
});

test('IncrementalAlterConfigs v0 and v1 apply SET, DELETE, APPEND and SUBTRACT to the named keys only', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders', [{ name: 'retention.ms', value: '60000' }]);
  for (const version of [0, 1]) {
    const answers = await incremental(
      client,
      [
        {
          resourceType: TOPIC,
          resourceName: 'orders',
          configs: [
            { name: 'retention.bytes', configOperation: SET, value: String(1000 + version) },
            { name: 'max.message.bytes', configOperation: SET, value: '4000' },
          ],
        },
      ],
      { version },
    );
    t.deepEqual(
      answers.map((answer) => answer.errorCode),
      [ErrorCode.NONE],
    );
    t.deepEqual(overrides(broker, 'orders'), {
      'max.message.bytes': '4000',
      'retention.bytes': String(1000 + version),
      'retention.ms': '60000',
    });
  }
  const deleted = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [
        { name: 'retention.bytes', configOperation: DELETE, value: null },
        // Deleting a key the topic does not override is no change, and no error.
        { name: 'compression.type', configOperation: DELETE, value: null },
      ],
    },
  ]);
  t.is(deleted[0]!.errorCode, ErrorCode.NONE);
  t.deepEqual(overrides(broker, 'orders'), { 'max.message.bytes': '4000', 'retention.ms': '60000' });
  // cleanup.policy is a list: APPEND starts from the inherited value, and keeps items unique.
  const appended = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [{ name: 'cleanup.policy', configOperation: APPEND, value: 'delete' }],
    },
  ]);
  t.is(appended[0]!.errorCode, ErrorCode.NONE);
  t.is(overrides(broker, 'orders')['cleanup.policy'], 'delete');
  // SUBTRACT to an empty list is not a valid cleanup.policy here: nothing changes.
  const subtracted = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }],
    },
  ]);
  t.is(subtracted[0]!.errorCode, ErrorCode.INVALID_CONFIG);
  t.regex(subtracted[0]!.errorMessage ?? '', /cleanup\.policy/);
  t.is(overrides(broker, 'orders')['cleanup.policy'], 'delete');
});

test('APPEND or SUBTRACT on a key that is not a list is INVALID_CONFIG, and an unknown operation INVALID_REQUEST', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders');
  for (const configOperation of [APPEND, SUBTRACT]) {
    const [answer] = await incremental(client, [
      {
        resourceType: TOPIC,
        resourceName: 'orders',
        configs: [{ name: 'retention.ms', configOperation, value: '1000' }],
      },
    ]);
    t.is(answer!.errorCode, ErrorCode.INVALID_CONFIG);
    t.regex(answer!.errorMessage ?? '', /retention\.ms is not a list/);
  }
  const [unknown] = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [{ name: 'retention.ms', configOperation: 9, value: '1' }],
    },
  ]);
  t.is(unknown!.errorCode, ErrorCode.INVALID_REQUEST);
  t.deepEqual(overrides(broker, 'orders'), {});
});

test('an unknown key or a bad value is INVALID_CONFIG naming the key, and leaves its whole resource unchanged while another resource of the request applies', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'left');
  await createTopic(client, 'right');
  const answers = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'left',
      configs: [
        { name: 'retention.ms', configOperation: SET, value: '5000' },
        { name: 'retention.bytes', configOperation: SET, value: 'lots' },
      ],
    },
    {
      resourceType: TOPIC,
      resourceName: 'right',
      configs: [{ name: 'retention.ms', configOperation: SET, value: '7000' }],
    },
    {
      resourceType: TOPIC,
      resourceName: 'missing',
      configs: [{ name: 'retention.ms', configOperation: SET, value: '7000' }],
    },
    {
      resourceType: TOPIC,
      resourceName: 'right-too',
      configs: [{ name: 'no.such.key', configOperation: SET, value: '1' }],
    },
  ]);
  t.deepEqual(
    answers.map((answer) => [answer.resourceName, answer.errorCode]),
    [
      ['left', ErrorCode.INVALID_CONFIG],
      ['right', ErrorCode.NONE],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['right-too', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ],
  );
  t.regex(answers[0]!.errorMessage ?? '', /retention\.bytes must be an integer; got lots/);
  t.deepEqual(overrides(broker, 'left'), {});
  t.deepEqual(overrides(broker, 'right'), { 'retention.ms': '7000' });
  const [unknownKey] = await alter(client, [
    { resourceType: TOPIC, resourceName: 'right', configs: [{ name: 'no.such.key', value: '1' }] },
  ]);
  t.is(unknownKey!.errorCode, ErrorCode.INVALID_CONFIG);
  t.regex(unknownKey!.errorMessage ?? '', /unknown topic config no\.such\.key/);
  t.deepEqual(overrides(broker, 'right'), { 'retention.ms': '7000' });
});

test('validateOnly answers as a real change would and changes nothing (AlterConfigs v0-2, IncrementalAlterConfigs v0-1)', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders', [{ name: 'retention.ms', value: '60000' }]);
  for (const version of [0, 1, 2]) {
    const good = await alter(
      client,
      [{ resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1' }] }],
      { version, validateOnly: true },
    );
    t.is(good[0]!.errorCode, ErrorCode.NONE);
    const bad = await alter(
      client,
      [{ resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '-2' }] }],
      { version, validateOnly: true },
    );
    t.is(bad[0]!.errorCode, ErrorCode.INVALID_CONFIG);
  }
  for (const version of [0, 1]) {
    const good = await incremental(
      client,
      [
        {
          resourceType: TOPIC,
          resourceName: 'orders',
          configs: [{ name: 'retention.ms', configOperation: DELETE, value: null }],
        },
      ],
      { version, validateOnly: true },
    );
    t.is(good[0]!.errorCode, ErrorCode.NONE);
  }
  t.deepEqual(overrides(broker, 'orders'), { 'retention.ms': '60000' });
  t.is(await topicValue(client, 'orders', 'retention.ms'), '60000');
});

test('segment.bytes and segment.ms are fixed at creation: a change is INVALID_CONFIG, giving the same value again is fine', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders', [{ name: 'segment.bytes', value: '65536' }]);
  const [changed] = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [{ name: 'segment.bytes', configOperation: SET, value: '131072' }],
    },
  ]);
  t.is(changed!.errorCode, ErrorCode.INVALID_CONFIG);
  t.regex(changed!.errorMessage ?? '', /segment\.bytes is fixed/);
  // AlterConfigs replaces every config: leaving segment.bytes out would remove it.
  const [omitted] = await alter(client, [
    { resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1000' }] },
  ]);
  t.is(omitted!.errorCode, ErrorCode.INVALID_CONFIG);
  t.regex(omitted!.errorMessage ?? '', /give it again/);
  const [kept] = await alter(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [
        { name: 'retention.ms', value: '1000' },
        { name: 'segment.bytes', value: '65536' },
      ],
    },
  ]);
  t.is(kept!.errorCode, ErrorCode.NONE);
  t.deepEqual(overrides(broker, 'orders'), { 'retention.ms': '1000', 'segment.bytes': '65536' });
  const described = await describe(client, TOPIC, 'orders');
  t.true(described.configs.get('segment.bytes')?.readOnly);
  t.false(described.configs.get('retention.ms')?.readOnly);
});

function oldBatch(index: number, valueBytes: number): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_000_000_000_000 + index,
    attributes: Codec.None,
    records: [{ key: null, value: Buffer.alloc(valueBytes, index) }],
  });
}

async function produce(client: RawClient, topic: string, records: Buffer): Promise<number> {
  const response = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return response.body.responses[0].partitionResponses[0].errorCode;
}

test('a topic’s retention.ms set by IncrementalAlterConfigs is what the next retention sweep uses', async (t) => {
  // The broker's own timer does not fire within the test: the sweeps below are the only ones.
  const { broker, client } = await setUp(t, { cleanupIntervalMs: 3_600_000 });
  await createTopic(client, 'old', [
    { name: 'retention.ms', value: '-1' },
    { name: 'segment.bytes', value: '4096' },
  ]);
  for (let i = 0; i < 12; i++) t.is(await produce(client, 'old', oldBatch(i, 1000)), ErrorCode.NONE);
  const { topics } = contextOf(broker);
  t.is(await topics.runRetention(Date.now()), 0, 'retention.ms -1 keeps everything');
  const [answer] = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'old',
      configs: [{ name: 'retention.ms', configOperation: SET, value: '60000' }],
    },
  ]);
  t.is(answer!.errorCode, ErrorCode.NONE);
  t.true((await topics.runRetention(Date.now())) > 0, 'the altered retention.ms drops the old segments');
});

test('a topic’s max.message.bytes set by AlterConfigs changes which batches produce accepts', async (t) => {
  const { client } = await setUp(t);
  await createTopic(client, 'sized');
  t.is(await produce(client, 'sized', oldBatch(0, 3000)), ErrorCode.NONE);
  const [answer] = await alter(client, [
    { resourceType: TOPIC, resourceName: 'sized', configs: [{ name: 'max.message.bytes', value: '2000' }] },
  ]);
  t.is(answer!.errorCode, ErrorCode.NONE);
  t.is(await produce(client, 'sized', oldBatch(1, 3000)), ErrorCode.MESSAGE_TOO_LARGE);
  t.is(await produce(client, 'sized', oldBatch(2, 100)), ErrorCode.NONE);
  await alter(client, [{ resourceType: TOPIC, resourceName: 'sized', configs: [] }]);
  t.is(await produce(client, 'sized', oldBatch(3, 3000)), ErrorCode.NONE);
});

test('dynamic broker configs: cluster-wide and per-broker log.retention.ms become the default of topics without an override, with their sources and synonyms', async (t) => {
  const { broker, client } = await setUp(t, { cleanupIntervalMs: 3_600_000, retentionMs: -1 });
  const self = String(broker.brokerId);
  await createTopic(client, 'plain', [{ name: 'segment.bytes', value: '4096' }]);
  await createTopic(client, 'own', [{ name: 'retention.ms', value: '-1' }]);
  for (let i = 0; i < 12; i++) t.is(await produce(client, 'plain', oldBatch(i, 1000)), ErrorCode.NONE);
  const { topics } = contextOf(broker);
  t.is(await topics.runRetention(Date.now()), 0);

  const [cluster] = await incremental(client, [
    {
      resourceType: BROKER,
      resourceName: '',
      configs: [{ name: 'log.retention.ms', configOperation: SET, value: '60000' }],
    },
  ]);
  t.is(cluster!.errorCode, ErrorCode.NONE);
  const plain = await describe(client, TOPIC, 'plain', { synonyms: true });
  t.like(plain.configs.get('retention.ms'), { value: '60000', configSource: 3 });
  t.deepEqual(plain.configs.get('retention.ms')?.synonyms, [
    { name: 'log.retention.ms', value: '60000', source: 3 },
    { name: 'log.retention.ms', value: '-1', source: 5 },
  ]);
  t.like((await describe(client, TOPIC, 'own')).configs.get('retention.ms'), {
    value: '-1',
    configSource: 1,
  });
  t.true((await topics.runRetention(Date.now())) > 0, 'the cluster-wide default drops old segments');

  const [own] = await incremental(client, [
    {
      resourceType: BROKER,
      resourceName: self,
      configs: [{ name: 'log.retention.ms', configOperation: SET, value: '-1' }],
    },
  ]);
  t.is(own!.errorCode, ErrorCode.NONE);
  const brokerView = await describe(client, BROKER, self, { synonyms: true });
  t.like(brokerView.configs.get('log.retention.ms'), { value: '-1', configSource: 2, readOnly: false });
  t.deepEqual(
    brokerView.configs.get('log.retention.ms')?.synonyms.map((synonym) => synonym.source),
    [2, 3, 4],
  );
  t.is(topics.get('plain')!.config.retentionMs, -1);
  const defaults = await describe(client, BROKER, '');
  t.deepEqual([...defaults.configs.keys()], ['log.retention.ms']);
  t.like(defaults.configs.get('log.retention.ms'), { value: '60000', configSource: 3 });

  // AlterConfigs on the cluster-wide resource replaces its set: the default goes.
  const [cleared] = await alter(client, [{ resourceType: BROKER, resourceName: '', configs: [] }]);
  t.is(cleared!.errorCode, ErrorCode.NONE);
  t.is((await describe(client, BROKER, '')).configs.size, 0);
});

test('read-only broker configs are refused with INVALID_REQUEST, bad broker values and unknown keys with INVALID_CONFIG', async (t) => {
  const { broker, client } = await setUp(t);
  const answers = await incremental(client, [
    {
      resourceType: BROKER,
      resourceName: '',
      configs: [{ name: 'log.segment.bytes', configOperation: SET, value: '1' }],
    },
    {
      resourceType: BROKER,
      resourceName: String(broker.brokerId),
      configs: [
        { name: 'message.max.bytes', configOperation: SET, value: String(broker.config.maxMessageBytes + 1) },
      ],
    },
    {
      resourceType: BROKER,
      resourceName: '7',
      configs: [{ name: 'no.such.key', configOperation: SET, value: '1' }],
    },
    { resourceType: BROKER, resourceName: 'x', configs: [] },
    { resourceType: 8, resourceName: 'root', configs: [] },
    // Above Kafka's int32 broker ids: refused here, not by the controller's record check.
    {
      resourceType: BROKER,
      resourceName: '4294967295',
      configs: [{ name: 'log.retention.ms', configOperation: SET, value: '1' }],
    },
  ]);
  t.deepEqual(
    answers.map((answer) => answer.errorCode),
    [
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ],
  );
  t.regex(
    answers[0]!.errorMessage ?? '',
    /log\.segment\.bytes is read-only: it is set at start by segment_size/,
  );
  t.regex(answers[1]!.errorMessage ?? '', /message\.max\.bytes cannot exceed/);
  t.regex(answers[2]!.errorMessage ?? '', /unknown broker config no\.such\.key/);
  t.is(Object.keys(contextOf(broker).controller.state.brokerConfigs()).length, 0);
});

test('DescribeConfigs v3+ answers each config’s Kafka type and, when asked, a documentation line; v0-2 and no flag answer none', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders');
  const topic = await describe(client, TOPIC, 'orders', { version: 4, documentation: true });
  t.deepEqual(Object.fromEntries([...topic.configs].map(([name, config]) => [name, config.configType])), {
    'retention.ms': 5,
    'retention.bytes': 5,
    'segment.bytes': 3,
    'segment.ms': 5,
    'max.message.bytes': 3,
    'compression.type': 2,
    'cleanup.policy': 7,
    'message.timestamp.type': 2,
    'min.insync.replicas': 3,
  });
  for (const config of topic.configs.values()) t.regex(config.documentation ?? '', /^\S.*\.$/, config.name);
  const own = await describe(client, BROKER, String(broker.brokerId), { version: 3, documentation: true });
  t.is(own.configs.get('auto.create.topics.enable')?.configType, 1);
  t.is(own.configs.get('log.dirs')?.configType, 2);
  t.truthy(own.configs.get('log.retention.ms')?.documentation);
  const plain = await describe(client, TOPIC, 'orders', { version: 3 });
  t.is(plain.configs.get('retention.ms')?.documentation, null);
  t.is(plain.configs.get('retention.ms')?.configType, 5);
  const old = await describe(client, TOPIC, 'orders', { version: 2, synonyms: true });
  t.is(old.configs.get('retention.ms')?.value, String(broker.config.retentionMs));
});

test('topic and broker configs altered through the controller survive a restart', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'kept');
  const answers = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'kept',
      configs: [{ name: 'retention.bytes', configOperation: SET, value: '9999' }],
    },
    {
      resourceType: BROKER,
      resourceName: '',
      configs: [{ name: 'log.retention.ms', configOperation: SET, value: '123456' }],
    },
  ]);
  t.deepEqual(
    answers.map((answer) => answer.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
  );
  const dataDir = broker.config.dataDir;
  client.close();
  await broker.stop();
  const again = await setUp(t, { dataDir });
  const described = await describe(again.client, TOPIC, 'kept');
  t.is(described.configs.get('retention.bytes')?.value, '9999');
  t.like(described.configs.get('retention.ms'), { value: '123456', configSource: 3 });
  t.is(contextOf(again.broker).topics.get('kept')!.config.retentionMs, 123456);
});

test('a resource named twice in one request is refused both times with INVALID_REQUEST, as is a key named twice', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'orders');
  const twice = await alter(client, [
    { resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1' }] },
    { resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '2' }] },
  ]);
  t.deepEqual(
    twice.map((answer) => answer.errorCode),
    [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
  );
  const [key] = await incremental(client, [
    {
      resourceType: TOPIC,
      resourceName: 'orders',
      configs: [
        { name: 'retention.ms', configOperation: SET, value: '1' },
        { name: 'retention.ms', configOperation: DELETE, value: null },
      ],
    },
  ]);
  t.is(key!.errorCode, ErrorCode.INVALID_REQUEST);
  t.deepEqual(overrides(broker, 'orders'), {});
});

test('replication throttles: deleting one (what kafka-reassign-partitions --verify always does) succeeds and changes nothing; setting one is INVALID_CONFIG saying moves are bounded by max_replica_moves instead', async (t) => {
  const { broker, client } = await setUp(t);
  await createTopic(client, 'throttled');
  const deletes = await incremental(client, [
    {
      resourceType: BROKER,
      resourceName: String(broker.brokerId),
      configs: [
        { name: 'leader.replication.throttled.rate', configOperation: DELETE, value: null },
        { name: 'follower.replication.throttled.rate', configOperation: DELETE, value: null },
        { name: 'replica.alter.log.dirs.io.max.bytes.per.second', configOperation: DELETE, value: null },
      ],
    },
    {
      resourceType: TOPIC,
      resourceName: 'throttled',
      configs: [
        { name: 'leader.replication.throttled.replicas', configOperation: DELETE, value: null },
        { name: 'follower.replication.throttled.replicas', configOperation: DELETE, value: null },
      ],
    },
  ]);
  t.deepEqual(
    deletes.map((answer) => answer.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
  );
  const sets = await incremental(client, [
    {
      resourceType: BROKER,
      resourceName: '',
      configs: [{ name: 'leader.replication.throttled.rate', configOperation: SET, value: '1000' }],
    },
    {
      resourceType: TOPIC,
      resourceName: 'throttled',
      configs: [{ name: 'leader.replication.throttled.replicas', configOperation: SET, value: '*' }],
    },
  ]);
  t.deepEqual(
    sets.map((answer) => answer.errorCode),
    [ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG],
  );
  for (const answer of sets) t.regex(answer.errorMessage ?? '', /not supported.*max_replica_moves/);
  t.is(Object.keys(contextOf(broker).controller.state.brokerConfigs()).length, 0);
  t.deepEqual(overrides(broker, 'throttled'), {});
});
