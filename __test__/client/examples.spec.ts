import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { bootstrap, nativeStorageAvailable, repositoryRoot, startBroker } from '../broker/helpers.js';

/** Runs `examples/<name>` as a user would (`npx tsx examples/<name>`), returning its output. */
function runExample(
  name: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', join(repositoryRoot, 'examples', name)], {
      cwd: repositoryRoot,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('examples/admin.ts, producer.ts and consumer.ts run in order against a broker and show the messages', async (t) => {
  const broker = await startBroker(t);
  const env = { GOQUEUE_BROKERS: bootstrap(broker) };

  const admin = await runExample('admin.ts', env);
  t.is(admin.code, 0, admin.stderr);
  t.regex(admin.stdout, /Topic created: my-topic/);
  t.regex(admin.stdout, /Topic: my-topic, Partitions: 3/);
  t.regex(admin.stdout, /Partition 2: leader \d+/);

  const producer = await runExample('producer.ts', env);
  t.is(producer.code, 0, producer.stderr);
  t.regex(producer.stdout, /Message produced at offset: 0/);
  t.is(producer.stdout.match(/Sent to partition \d at offset \d+/g)?.length, 3);

  const consumer = await runExample('consumer.ts', env);
  t.is(consumer.code, 0, consumer.stderr);
  t.regex(consumer.stdout, /Received message: key=key1, value=Hello, World!, offset=0/);
  for (const user of ['alice', 'bob', 'carol']) t.regex(consumer.stdout, new RegExp(`value=login ${user}`));

  const again = await runExample('admin.ts', env);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /Topic exists: my-topic/);
});

// The embedded example starts a broker on the native storage core, so it needs the built module.
(nativeStorageAvailable ? test : test.skip)(
  'examples/embedded-broker.ts starts a broker in-process, round-trips a message and stops',
  async (t) => {
    const result = await runExample('embedded-broker.ts');
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /broker \d+ on port \d+ returned: embedded hello/);
  },
);
