/**
 * goqueue where its platform package (`goqueue-<platform>`) is not installed, simulated by
 * pointing napi's loader at a missing file (NAPI_RS_NATIVE_LIBRARY_PATH): the SDK still
 * imports and carries uncompressed and gzip messages with CRC32C in JS, says once which codecs
 * are unavailable, and `goqueue broker` stops with one line naming the platform and package.
 * The broker the SDK talks to runs in this test's process, with the native core.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { nativePlatform } from '../../src/storage/native-binding.js';
import { bootstrap, startBroker, temporaryDirectory } from '../broker/helpers.js';
import { repositoryRoot, runCli } from '../cli/helpers.js';

const withoutNative = { NAPI_RS_NATIVE_LIBRARY_PATH: join(repositoryRoot, 'no-such-native-module.node') };
const platform = nativePlatform();

test('goqueue broker without the native module exits 1 with one line naming the platform and package', async (t) => {
  const result = await runCli(['broker', '--data-dir', temporaryDirectory(t)], { env: withoutNative });
  t.is(result.code, 1, result.stderr);
  const lines = result.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, result.stderr);
  t.regex(lines[0]!, new RegExp(`^goqueue: cannot start the broker: the native module for ${platform} `));
  t.true(lines[0]!.includes(`npm install goqueue-${platform}@`), lines[0]);
  t.is(result.stdout, '', 'nothing logged before the refusal');
});

test('goqueue --version works without the native module', async (t) => {
  const result = await runCli(['--version'], { env: withoutNative });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout.trim(), /^\d+\.\d+\.\d+/);
});

// A client in a process without the native core: plain and gzip round trips, one warning, and
// snappy refused with a message naming the package to install.
const clientScript = `
const { Client, Consumer, Producer } = await import(process.argv[1]);
const client = new Client({ brokers: [process.argv[2]] });
const results = {};
for (const compression of ['none', 'gzip', 'snappy']) {
  try {
    const sent = await new Producer(client, { compression }).produceMessage({
      topic: 'plain', partition: 0, messages: [{ key: compression, value: compression + ' value' }],
    });
    const { messages } = await new Consumer(client).fetchFrom({ topic: 'plain', partition: 0, offset: sent.baseOffset });
    results[compression] = messages.map((m) => m.key.toString() + '=' + m.value.toString());
  } catch (error) {
    results[compression] = { error: error.name + ': ' + error.message };
  }
}
await client.close();
process.stdout.write(JSON.stringify(results));
`;

test('the SDK without the native module round-trips plain and gzip messages and warns once', async (t) => {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'plain', partitions: 1 });

  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--import=tsx',
        '--input-type=module',
        '-e',
        clientScript,
        join(repositoryRoot, 'src/index.ts'),
        bootstrap(broker),
      ],
      { cwd: repositoryRoot, env: { ...process.env, ...withoutNative }, timeout: 60_000 },
      (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve({ stdout: out, stderr: err }),
    );
  });
  const results = JSON.parse(stdout) as Record<string, unknown>;
  t.deepEqual(results.none, ['none=none value']);
  t.deepEqual(results.gzip, ['gzip=gzip value']);
  const refused = (results.snappy as { error?: string }).error ?? '';
  t.regex(refused, /^GoqueueError: snappy compression needs goqueue's native module/);
  t.true(refused.includes(`goqueue-${platform}`), refused);

  const warnings = stderr.split('\n').filter((line) => line.includes('GOQUEUE_NATIVE_MODULE_MISSING'));
  t.is(warnings.length, 1, stderr);
  t.regex(warnings[0]!, /snappy, lz4 and zstd compression are unavailable/);
  t.true(warnings[0]!.includes(`goqueue-${platform}`), warnings[0]);
});
