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
  // The offsets the broker gave: the first message of a partition follows its leader's no-op
  // (a control batch), so they are read from the output rather than assumed.
  const produced = /Message produced at offset: (\d+)/.exec(producer.stdout);
  t.truthy(produced, producer.stdout);
  const sent = [...producer.stdout.matchAll(/Sent to partition (\d) at offset (\d+)/g)];
  t.is(sent.length, 3);

  const consumer = await runExample('consumer.ts', env);
  t.is(consumer.code, 0, consumer.stderr);
  t.regex(
    consumer.stdout,
    new RegExp(`Received message: key=key1, value=Hello, World!, offset=${produced?.[1]}\n`),
  );
  // Partition 0's fetch from offset 0 shows the produced messages only, not the leader's
  // control batch.
  t.deepEqual(
    [...consumer.stdout.matchAll(/Received message: .*, offset=(\d+)/g)].map((line) => line[1]),
    [produced?.[1], ...sent.filter((line) => line[1] === '0').map((line) => line[2])],
  );
  ['alice', 'bob', 'carol'].forEach((user, i) => {
    const [, partition, offset] = sent[i] ?? [];
    t.regex(
      consumer.stdout,
      new RegExp(`Streamed partition=${partition} offset=${offset} value=login ${user}\n`),
    );
  });

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
