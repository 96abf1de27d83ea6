import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client, type ClientClock, parseBrokerAddress, parseDurationMs } from '../../src/client/client.js';
import { AbortError, KafkaProtocolError, TimeoutError } from '../../src/client/errors.js';
import { FakeBroker } from './fake-broker.js';

/** A clock whose sleeps return at once and are recorded. */
function recordingClock(): ClientClock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    nowMs: () => 0,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new AbortError('sleep');
      sleeps.push(ms);
    },
  };
}

/** A Metadata answer naming only the fake broker itself (id 1, the controller) and no topic. */
const soleBrokerMetadata = (port: number) => ({
  brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
  clusterId: 'c',
  controllerId: 1,
  topics: [],
});

const options = (clock: ClientClock) => ({
  brokers: ['127.0.0.1:1'],
  clock,
  random: () => 0.5,
  retry: { retries: 3, initialMs: 100, maxMs: 1_000 },
});

test('retriable failures are retried with exponential backoff and jitter from the injected clock and random', async (t) => {
  const clock = recordingClock();
  const client = new Client(options(clock));
  let calls = 0;
  const result = await client.retrying(async () => {
    calls++;
    if (calls < 3) throw new TimeoutError('op', 10);
    return 'done';
  });
  t.is(result, 'done');
  t.deepEqual(clock.sleeps, [50, 100]);
  await client.close();
});

test('non-retriable errors are thrown at once, without waiting', async (t) => {
  const clock = recordingClock();
  const client = new Client(options(clock));
  let calls = 0;
  await t.throwsAsync(
    client.retrying(async () => {
      calls++;
      throw new KafkaProtocolError(36, { topic: 'x' });
    }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(calls, 1);
  t.deepEqual(clock.sleeps, []);
  await client.close();
});

test('after `retries` retries the last error surfaces', async (t) => {
  const clock = recordingClock();
  const client = new Client(options(clock));
  let calls = 0;
  const error = await t.throwsAsync(
    client.retrying(async () => {
      calls++;
      throw new KafkaProtocolError(6, { topic: 'x', partition: 0 });
    }),
  );
  t.is((error as KafkaProtocolError).code, 6);
  t.is(calls, 4);
  t.deepEqual(clock.sleeps, [50, 100, 200]);
  await client.close();
});

test('an aborted signal stops retrying with AbortError', async (t) => {
  const clock = recordingClock();
  const client = new Client(options(clock));
  const controller = new AbortController();
  let calls = 0;
  await t.throwsAsync(
    client.retrying(
      async () => {
        calls++;
        controller.abort();
        throw new TimeoutError('op', 10);
      },
      { signal: controller.signal },
    ),
    { instanceOf: AbortError },
  );
  t.is(calls, 1);
  await client.close();
});

test("the seed's brokerAddrs and timeout names configure the client", async (t) => {
  const client = new Client({ brokerAddrs: ['localhost:9092'], timeout: '5s' });
  t.is(client.timeoutMs, 5_000);
  await client.close();
  t.deepEqual(parseBrokerAddress('[::1]:9093'), { host: '::1', port: 9093 });
  t.deepEqual(parseBrokerAddress('broker-a'), { host: 'broker-a', port: 9092 });
  t.is(parseDurationMs('250ms'), 250);
  t.throws(() => new Client({}), { message: /no brokers given/ });
  t.throws(() => parseBrokerAddress('h:99999'), { message: /invalid port/ });
});

test('admin calls rediscover the controller after NOT_CONTROLLER and retry there', async (t) => {
  let metadataRequests = 0;
  let createRequests = 0;
  let port = 0;
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      if (r.apiKey === 3) {
        metadataRequests++;
        r.reply(soleBrokerMetadata(port));
      } else if (r.apiKey === 19) {
        createRequests++;
        const errorCode = createRequests === 1 ? 41 : 0;
        r.reply({ topics: [{ name: r.body.topics[0].name, errorCode, errorMessage: null }] });
      }
    },
  });
  port = fake.port;
  const clock = recordingClock();
  const client = new Client({ ...options(clock), brokers: [`127.0.0.1:${fake.port}`] });
  try {
    await new Admin(client).createTopic({ name: 'orders', partitions: 3 });
    t.is(createRequests, 2);
    t.true(metadataRequests >= 2, `metadata asked ${metadataRequests} times`);
    t.is(clock.sleeps.length, 1);
  } finally {
    await client.close();
    await fake.stop();
  }
});

test('cached metadata is refreshed once it is older than metadataMaxAgeMs (by the injected clock)', async (t) => {
  let metadataRequests = 0;
  let port = 0;
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      if (r.apiKey !== 3) return;
      metadataRequests++;
      r.reply(soleBrokerMetadata(port));
    },
  });
  port = fake.port;
  let nowMs = 0;
  const clock = { ...recordingClock(), nowMs: () => nowMs };
  const client = new Client({ brokers: [`127.0.0.1:${fake.port}`], clock, metadataMaxAgeMs: 1_000 });
  try {
    await client.metadata();
    await client.metadata();
    t.is(metadataRequests, 1);
    nowMs = 999;
    await client.metadata();
    t.is(metadataRequests, 1);
    nowMs = 1_001;
    await client.metadata();
    t.is(metadataRequests, 2);
  } finally {
    await client.close();
    await fake.stop();
  }
});

test("one caller's abort does not break the connection another caller is waiting for", async (t) => {
  const fake = await FakeBroker.start({ onRequest: () => undefined });
  const client = new Client({ brokers: [`127.0.0.1:${fake.port}`] });
  try {
    const controller = new AbortController();
    controller.abort();
    const aborted = client.connection('127.0.0.1', fake.port, { signal: controller.signal });
    const patient = client.connection('127.0.0.1', fake.port);
    await t.throwsAsync(aborted, { instanceOf: AbortError });
    const connection = await patient;
    t.false(connection.closed);
    t.is(connection.versionFor(18), 2);
  } finally {
    await client.close();
    await fake.stop();
  }
});

test('a topic this client has seen is retried when a broker answers it unknown (a restarting broker before it replays its metadata); a topic never seen fails at once', async (t) => {
  let port = 0;
  let hideTopic = false;
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      if (r.apiKey !== 3) return;
      const asked: string[] = (r.body.topics ?? []).map((topic: { name: string }) => topic.name);
      r.reply({
        brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
        clusterId: 'c',
        controllerId: 1,
        topics: asked.map((name) =>
          name === 'orders' && !hideTopic
            ? {
                errorCode: 0,
                name,
                isInternal: false,
                partitions: [
                  {
                    errorCode: 0,
                    partitionIndex: 0,
                    leaderId: 1,
                    leaderEpoch: 1,
                    replicaNodes: [1],
                    isrNodes: [1],
                    offlineReplicas: [],
                  },
                ],
              }
            : { errorCode: 3, name, isInternal: false, partitions: [] },
        ),
      });
    },
  });
  port = fake.port;
  const clock = recordingClock();
  const client = new Client({ ...options(clock), brokers: [`127.0.0.1:${fake.port}`] });
  try {
    await client.leaderConnection('orders', 0);
    // The broker restarts and answers without the topic for a while.
    hideTopic = true;
    client.invalidateMetadata();
    let lookups = 0;
    const connection = await client.retrying(async () => {
      if (++lookups === 3) hideTopic = false;
      return client.leaderConnection('orders', 0);
    });
    t.truthy(connection);
    t.is(lookups, 3);
    t.is(clock.sleeps.length, 2);
    const error = await t.throwsAsync(
      client.retrying(() => client.leaderConnection('never-seen', 0)),
      {
        instanceOf: KafkaProtocolError,
      },
    );
    t.is(error?.code, 3);
    t.is(clock.sleeps.length, 2, 'an unknown topic never seen is not retried');
  } finally {
    await client.close();
    await fake.stop();
  }
});

/**
 * A CreateTopics whose outcome the client never learned (the broker answered REQUEST_TIMED_OUT
 * while creating, or the answer was lost) may have created the topic; the retry then meets
 * TOPIC_ALREADY_EXISTS, which is the caller's own topic and not a failure. A loaded broker did
 * this to `createTopic` with a 500 ms timeout.
 */
async function createAfter(
  firstAnswer: 'timed-out' | 'lost' | 'exists',
): Promise<{ error?: unknown; creates: number }> {
  let creates = 0;
  let port = 0;
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      if (r.apiKey === 3) {
        r.reply(soleBrokerMetadata(port));
      } else if (r.apiKey === 19) {
        creates++;
        const name = r.body.topics[0].name;
        if (creates > 1 || firstAnswer === 'exists')
          r.reply({ topics: [{ name, errorCode: 36, errorMessage: 'exists' }] });
        else if (firstAnswer === 'timed-out')
          r.reply({ topics: [{ name, errorCode: 7, errorMessage: null }] });
        // 'lost': no answer; the client's request timeout ends the attempt.
      }
    },
  });
  port = fake.port;
  const client = new Client({
    ...options(recordingClock()),
    brokers: [`127.0.0.1:${fake.port}`],
    timeoutMs: 300,
  });
  try {
    await new Admin(client).createTopic({ name: 'orders', partitions: 3 });
    return { creates };
  } catch (error) {
    return { error, creates };
  } finally {
    await client.close();
    await fake.stop();
  }
}

test('createTopic succeeds when its retry finds the topic an unanswered earlier attempt may have created', async (t) => {
  for (const firstAnswer of ['timed-out', 'lost'] as const) {
    const { error, creates } = await createAfter(firstAnswer);
    t.is(error, undefined, `first answer ${firstAnswer}: ${String(error)}`);
    t.is(creates, 2, `first answer ${firstAnswer}`);
  }
});

test('createTopic of a topic that already existed before the call fails with TOPIC_ALREADY_EXISTS', async (t) => {
  const { error, creates } = await createAfter('exists');
  t.true(error instanceof KafkaProtocolError && error.code === 36, String(error));
  t.is(creates, 1);
});
