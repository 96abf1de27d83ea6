import test from 'ava';
import { kcat, nativeStorageAvailable, spawnBroker, temporaryDirectory } from './helpers.js';

// Durability needs the native storage core; the in-memory stand-in forgets on exit.
const durable = nativeStorageAvailable ? test.serial : test.serial.skip;

const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

async function produce(port: number, topic: string, codec: string, values: string[]): Promise<void> {
  await kcat(
    ['-b', `127.0.0.1:${port}`, '-P', '-t', topic, '-z', codec, '-X', 'acks=all'],
    `${values.join('\n')}\n`,
  );
}

async function consume(port: number, topic: string): Promise<string[]> {
  const out = await kcat(['-b', `127.0.0.1:${port}`, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
  return out.split('\n').slice(0, -1);
}

durable('a broker process stopped with SIGTERM restarts with every topic and message', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = { dataDir, port: 0, autoCreateTopics: true };
  const first = await spawnBroker(options);
  t.teardown(() => first.child.kill('SIGKILL'));
  await produce(first.port, 'clean', 'lz4', lines('a', 3000));
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0);
  const second = await spawnBroker(options);
  t.teardown(() => second.child.kill('SIGKILL'));
  t.deepEqual(await consume(second.port, 'clean'), lines('a', 3000));
  // Appends continue at the right offset after the restart.
  await produce(second.port, 'clean', 'none', ['after']);
  t.deepEqual((await consume(second.port, 'clean')).slice(-2), ['a-2999', 'after']);
});

durable('after kill -9 every acknowledged message of every codec is read back identical', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = { dataDir, port: 0, autoCreateTopics: true };
  const first = await spawnBroker(options);
  t.teardown(() => first.child.kill('SIGKILL'));
  const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
  for (const codec of codecs) await produce(first.port, `k9-${codec}`, codec, lines(codec, 10_000));
  first.child.kill('SIGKILL');
  await first.exited;
  const second = await spawnBroker(options);
  t.teardown(() => second.child.kill('SIGKILL'));
  for (const codec of codecs) t.deepEqual(await consume(second.port, `k9-${codec}`), lines(codec, 10_000));
});
