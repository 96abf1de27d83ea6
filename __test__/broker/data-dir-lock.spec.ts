import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import { runCli } from '../cli/helpers.js';
import { memoryStorage } from './fixtures/memory-storage.js';
import { kafkaFor, spawnBroker, temporaryDirectory } from './helpers.js';

const loopback = { host: '127.0.0.1', port: 0 } as const;

test('a second embedded broker on a running broker’s data directory fails with DATA_DIR_LOCKED and starts once the first stops', async (t) => {
  const dataDir = temporaryDirectory(t);
  const first = await Broker.start({ dataDir, ...loopback });
  t.teardown(() => first.stop());
  t.is(readFileSync(join(dataDir, '.lock'), 'utf8').trim(), String(process.pid));

  const refused = await t.throwsAsync(Broker.start({ dataDir, ...loopback }));
  t.is((refused as Error & { code?: string }).code, 'DATA_DIR_LOCKED');
  t.true(refused?.message.includes(dataDir), refused?.message);
  t.true(refused?.message.includes(`pid ${process.pid}`), refused?.message);
  // The refusal left the first broker's directory and data alone: it still serves.
  const admin = kafkaFor(first).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }] });
  await admin.disconnect();

  await first.stop();
  const second = await Broker.start({ dataDir, ...loopback });
  t.teardown(() => second.stop());
  const admin2 = kafkaFor(second).admin();
  await admin2.connect();
  t.deepEqual(await admin2.listTopics(), ['kept']);
  await admin2.disconnect();
  await second.stop();
  // Stopped and started again in the same process: the lock is taken again each time.
  const third = await Broker.start({ dataDir, ...loopback });
  await third.stop();
});

test('a broker on injected in-memory storage still locks its data directory', async (t) => {
  const dataDir = temporaryDirectory(t);
  const first = await Broker.start({ dataDir, ...loopback, storage: memoryStorage });
  t.teardown(() => first.stop());
  const refused = await t.throwsAsync(Broker.start({ dataDir, ...loopback, storage: memoryStorage }));
  t.is((refused as Error & { code?: string }).code, 'DATA_DIR_LOCKED');
  const native = await t.throwsAsync(Broker.start({ dataDir, ...loopback }));
  t.is((native as Error & { code?: string }).code, 'DATA_DIR_LOCKED');
});

test('brokers on different data directories run side by side', async (t) => {
  const one = await Broker.start({ dataDir: temporaryDirectory(t), ...loopback });
  t.teardown(() => one.stop());
  const two = await Broker.start({ dataDir: temporaryDirectory(t), ...loopback });
  t.teardown(() => two.stop());
  t.not(one.address.port, two.address.port);
});

test('a second broker process on a held data directory is refused with the holder’s pid', async (t) => {
  const dataDir = temporaryDirectory(t);
  const holder = await spawnBroker({ dataDir, ...loopback });
  t.teardown(() => holder.child.kill('SIGKILL'));
  const refused = await t.throwsAsync(spawnBroker({ dataDir, ...loopback }));
  t.regex(refused?.message ?? '', /DATA_DIR_LOCKED|locked by another goqueue broker/);
  t.true(refused?.message.includes(dataDir), refused?.message);
  t.true(refused?.message.includes(`pid ${holder.child.pid}`), refused?.message);
  // An embedded broker in this process is refused too: the lock is the OS's, not the process's.
  const embedded = await t.throwsAsync(Broker.start({ dataDir, ...loopback }));
  t.is((embedded as Error & { code?: string }).code, 'DATA_DIR_LOCKED');
  holder.child.kill('SIGTERM');
  t.is(await holder.exited, 0);
});

test('`goqueue broker` on a held data directory exits 1 with one line naming the directory, and prints nothing else', async (t) => {
  const dataDir = temporaryDirectory(t);
  const holder = await Broker.start({ dataDir, ...loopback });
  t.teardown(() => holder.stop());
  const result = await runCli([
    'broker',
    '--data-dir',
    dataDir,
    '--client-addr',
    '127.0.0.1:0',
    '--raft-addr',
    '127.0.0.1:0',
  ]);
  t.is(result.code, 1);
  // Only that line: no log record of the failure (with its stack trace) on stdout either.
  t.notRegex(result.stdout, /locked|"level":50|\n\s+at /);
  const stderr = result.stderr.trim();
  t.is(stderr.split('\n').length, 1, stderr);
  t.true(stderr.startsWith('goqueue: cannot start the broker: data directory '), stderr);
  t.true(stderr.includes(dataDir), stderr);
  t.true(stderr.includes(`pid ${process.pid}`), stderr);
});

test('after kill -9 of the holder a new broker starts on the data directory and reads its data', async (t) => {
  const dataDir = temporaryDirectory(t);
  const holder = await spawnBroker({ dataDir, ...loopback, autoCreateTopics: true });
  t.teardown(() => holder.child.kill('SIGKILL'));
  const kafka = kafkaFor({ address: { host: '127.0.0.1', port: holder.port } } as Broker);
  const producer = kafka.producer();
  await producer.connect();
  const values = Array.from({ length: 100 }, (_, i) => `before-crash-${i}`);
  await producer.send({ topic: 'survives', acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();

  holder.child.kill('SIGKILL');
  t.is(await holder.exited, null);
  // The dead holder's pid is still in the file; the lock itself went with the process.
  t.is(readFileSync(join(dataDir, '.lock'), 'utf8').trim(), String(holder.child.pid));

  const next = await Broker.start({ dataDir, ...loopback });
  t.teardown(() => next.stop());
  t.is(readFileSync(join(dataDir, '.lock'), 'utf8').trim(), String(process.pid));
  const consumer = kafkaFor(next).consumer({ groupId: 'after-crash' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'survives', fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          if (seen.length === values.length) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  t.deepEqual(seen, values);
});
