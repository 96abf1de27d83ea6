import { createServer } from 'node:net';
import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { AbortError, ConnectionError, TimeoutError } from '../../src/client/errors.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { memoryStorage } from '../broker/fixtures/memory-storage.js';
import {
  bootstrap,
  nativeStorageAvailable,
  RawClient,
  spawnBroker,
  startBroker,
  temporaryDirectory,
} from '../broker/helpers.js';

test('a produce issued while the broker is down succeeds after it restarts on the same port (retries with backoff)', async (t) => {
  const dataDir = temporaryDirectory(t);
  const storage = nativeStorageAvailable ? {} : { storage: memoryStorage };
  let broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, ...storage });
  const port = broker.address.port;
  t.teardown(() => broker.stop());
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    timeoutMs: 2_000,
    retry: { retries: 30, initialMs: 20, maxMs: 100 },
  });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  const producer = new Producer(client);
  await admin.createTopic({ name: 'durable', partitions: 1 });
  await producer.produceMessage({ topic: 'durable', partition: 0, messages: [{ value: 'before' }] });

  await broker.stop();
  const pending = producer.produceMessage({
    topic: 'durable',
    partition: 0,
    messages: [{ value: 'during' }],
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  broker = await Broker.start({ dataDir, host: '127.0.0.1', port, ...storage });
  const result = await pending;
  t.is(result.partition, 0);

  const consumer = new Consumer(client);
  const fetched = await consumer.fetchFrom({
    topic: 'durable',
    partition: 0,
    offset: result.baseOffset,
    maxWaitMs: 0,
  });
  t.is(fetched.messages[0]?.value?.toString(), 'during');
});

test('with no broker reachable, calls fail with ConnectionError once the call timeout is spent', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    // A refused connection is retried until the call's timeout (connect-retry.spec.ts).
    timeoutMs: 200,
    retry: { retries: 2, initialMs: 1, maxMs: 2 },
  });
  t.teardown(() => client.close());
  const error = await t.throwsAsync(new Admin(client).listTopics());
  t.true(error instanceof ConnectionError);
  t.regex(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
});

test('a broker that accepts but never answers makes the call fail with TimeoutError', async (t) => {
  // Reads and drops everything (resume), so it also notices when the client hangs up.
  const silent = createServer((socket) => socket.on('error', () => undefined).resume());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const port = (silent.address() as { port: number }).port;
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    timeoutMs: 100,
    retry: { retries: 1, initialMs: 1, maxMs: 1 },
  });
  t.teardown(() => client.close());
  const error = await t.throwsAsync(new Admin(client).describeCluster());
  t.true(error instanceof TimeoutError);
  t.regex(error.message, /100 ms/);
});

test('aborting a long-polling fetch rejects with AbortError; aborting a stream ends it quietly', async (t) => {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'quiet', partitions: 1 });
  const consumer = new Consumer(client);
  // The log's end: a new partition holds its leader's no-op (a control batch, no message), so a
  // fetch at 0 answers as soon as that is committed, and one at the end waits for new data.
  const noOp = await consumer.fetchFrom({ topic: 'quiet', partition: 0, offset: 0, maxWaitMs: 10_000 });
  t.deepEqual(noOp.messages, []);
  t.true(noOp.highWatermark > 0);
  t.is(noOp.nextOffset, noOp.highWatermark);

  const controller = new AbortController();
  const fetching = consumer.fetchFrom({
    topic: 'quiet',
    partition: 0,
    offset: noOp.nextOffset,
    maxWaitMs: 10_000,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 30);
  await t.throwsAsync(fetching, { instanceOf: AbortError });

  const streamController = new AbortController();
  const seen: unknown[] = [];
  setTimeout(() => streamController.abort(), 30);
  for await (const message of consumer.stream({
    topic: 'quiet',
    partition: 0,
    from: 'earliest',
    maxWaitMs: 10_000,
    signal: streamController.signal,
  })) {
    seen.push(message);
  }
  t.deepEqual(seen, []);
});

test('acks=0 sends without waiting for an answer and the messages still arrive', async (t) => {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'fire', partitions: 1 });
  const producer = new Producer(client, { acks: 0 });
  const result = await producer.produceMessage({
    topic: 'fire',
    partition: 0,
    messages: [{ value: 'x' }, { value: 'y' }],
  });
  t.is(result.baseOffset, -1);
  const consumer = new Consumer(client);
  const values: string[] = [];
  for await (const message of consumer.stream({
    topic: 'fire',
    partition: 0,
    from: 'earliest',
    maxWaitMs: 50,
  })) {
    values.push(message.value?.toString() ?? '');
    if (values.length === 2) break;
  }
  t.deepEqual(values, ['x', 'y']);
});

test('against a broker process killed with SIGKILL and restarted, acknowledged messages survive and the stream resumes', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = {
    dataDir,
    host: '127.0.0.1',
    port: 0,
    ...(nativeStorageAvailable ? {} : { memoryStorage: true }),
  };
  let process1 = await spawnBroker(options);
  t.teardown(() => {
    process1.child.kill('SIGKILL');
  });
  const port = process1.port;
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    timeoutMs: 2_000,
    retry: { retries: 40, initialMs: 25, maxMs: 250 },
  });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'crash', partitions: 1 });
  const producer = new Producer(client);
  const consumer = new Consumer(client);
  await producer.produceMessage({
    topic: 'crash',
    partition: 0,
    messages: [{ value: 'one' }, { value: 'two' }],
  });

  const seen: string[] = [];
  const reading = (async () => {
    for await (const message of consumer.stream({
      topic: 'crash',
      partition: 0,
      from: 'earliest',
      maxWaitMs: 100,
    })) {
      seen.push(message.value?.toString() ?? '');
      if (seen.length === 3) return;
    }
  })();
  while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));

  process1.child.kill('SIGKILL');
  await process1.exited;
  process1 = await spawnBroker({ ...options, port });
  await producer.produceMessage({ topic: 'crash', partition: 0, messages: [{ value: 'three' }] });
  await reading;
  t.deepEqual(seen, ['one', 'two', 'three']);
});

test('a stream outlives a broker outage longer than its retries and resumes where it stopped', async (t) => {
  const dataDir = temporaryDirectory(t);
  const storage = nativeStorageAvailable ? {} : { storage: memoryStorage };
  let broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, ...storage });
  const port = broker.address.port;
  t.teardown(() => broker.stop());
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    timeoutMs: 1_000,
    retry: { retries: 1, initialMs: 10, maxMs: 40 },
  });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'outage', partitions: 1 });
  const producer = new Producer(client);
  await producer.produceMessage({ topic: 'outage', partition: 0, messages: [{ value: 'before' }] });

  const seen: string[] = [];
  const reading = (async () => {
    for await (const message of new Consumer(client).stream({
      topic: 'outage',
      partition: 0,
      from: 'earliest',
      maxWaitMs: 50,
    })) {
      seen.push(message.value?.toString() ?? '');
      if (seen.length === 2) return;
    }
  })();
  while (seen.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
  await broker.stop();
  // Far longer than one retry round (1 retry of at most 40 ms).
  await new Promise((resolve) => setTimeout(resolve, 400));
  broker = await Broker.start({ dataDir, host: '127.0.0.1', port, ...storage });
  await producer.produceMessage({ topic: 'outage', partition: 0, messages: [{ value: 'after' }] });
  await reading;
  t.deepEqual(seen, ['before', 'after']);
});

test('with keepRetrying: false a stream ends with the error once retries are spent', async (t) => {
  const broker = await startBroker(t);
  const client = new Client({
    brokers: [bootstrap(broker)],
    timeoutMs: 500,
    retry: { retries: 1, initialMs: 5, maxMs: 10 },
  });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'fragile', partitions: 1 });
  const stream = new Consumer(client).stream({
    topic: 'fragile',
    partition: 0,
    from: 'earliest',
    maxWaitMs: 20,
    keepRetrying: false,
  });
  const first = stream.next();
  first.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await broker.stop();
  await t.throwsAsync(first, { instanceOf: ConnectionError });
});

// A broker bug (open): the Kafka listener is bound early in Broker.start but its 'connection'
// handler is attached only at the end, so a client that connects meanwhile is never served,
// never tracked and never closed, and stop() (server.close) waits for it forever. A restart
// opens every partition replica and waits for it to lead before it serves, so a topic of 50
// partitions keeps that window open for seconds. The broker runs in a child process so that
// the hang cannot outlive the test (SIGKILL at teardown).
test('a client that connects while the broker is still starting is served, and a stopped broker exits', async (t) => {
  t.timeout(60_000);
  const dataDir = temporaryDirectory(t);
  const options = { dataDir, host: '127.0.0.1', ...(nativeStorageAvailable ? {} : { memoryStorage: true }) };
  const first = await spawnBroker({ ...options, port: 0 });
  t.teardown(() => {
    first.child.kill('SIGKILL');
  });
  const client = new Client({ brokers: [`127.0.0.1:${first.port}`] });
  await new Admin(client).createTopic({ name: 'wide', partitions: 50 });
  await client.close();
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0);

  const starting = spawnBroker({ ...options, port: first.port });
  let started = false;
  void starting.then((running) => {
    started = true;
    t.teardown(() => {
      running.child.kill('SIGKILL');
    });
  });
  let raw: RawClient | undefined;
  while (raw === undefined) {
    raw = await RawClient.open(first.port).catch(() => undefined);
    if (raw === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.teardown(() => raw?.close());
  t.false(started, 'precondition: the connection is made while the broker is starting');
  const second = await starting;
  t.is((await raw.request(ApiKey.ApiVersions, 0, {})).body.errorCode, 0);
  raw.close();
  second.child.kill('SIGTERM');
  t.is(await second.exited, 0);
});
