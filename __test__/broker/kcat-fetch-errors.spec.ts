/**
 * Partition-level Fetch errors reach librdkafka (kcat) as errors, not as parse failures. Kafka
 * sends an errored partition with an empty `records` field; a null one (length -1) made
 * librdkafka reject the whole response ("invalid MessageSetSize -1") and retry forever, so
 * `auto.offset.reset` never fired and a deleted topic was never reported.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { bootstrap, kafkaFor, kcat, RawClient, startBroker } from './helpers.js';

test('an errored Fetch partition carries empty records (length 0), as Kafka sends it, not null', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const response = await client.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    topics: [{ topic: 'absent', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
  });
  const partition = response.body.responses[0].partitions[0];
  t.is(partition.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  t.deepEqual(partition.records, Buffer.alloc(0));
});

test('kcat starting past the end of a partition gets OFFSET_OUT_OF_RANGE and auto.offset.reset=earliest rereads it', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true });
  const sent = Array.from({ length: 20 }, (_, i) => `value-${i}`);
  await kcat(['-b', bootstrap(broker), '-P', '-t', 'reset', '-X', 'acks=all'], `${sent.join('\n')}\n`);
  const received = await kcat([
    ...['-b', bootstrap(broker), '-C', '-t', 'reset', '-o', '1000', '-e', '-q'],
    ...['-X', 'auto.offset.reset=earliest', '-f', '%s\n'],
  ]);
  t.deepEqual(received.split('\n').slice(0, -1), sent);
});

test('kcat starting past the end with auto.offset.reset=error reports the out-of-range offset', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true });
  await kcat(['-b', bootstrap(broker), '-P', '-t', 'strict', '-X', 'acks=all'], 'one\ntwo\n');
  const error = await t.throwsAsync(
    kcat([
      ...['-b', bootstrap(broker), '-C', '-t', 'strict', '-o', '1000', '-e', '-q'],
      ...['-X', 'auto.offset.reset=error'],
    ]),
  );
  t.regex(error!.message, /out of range/i);
});

test('kcat consuming a topic that is then deleted gets UNKNOWN_TOPIC_OR_PARTITION and stops with that error', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true });
  await kcat(['-b', bootstrap(broker), '-P', '-t', 'doomed', '-X', 'acks=all'], 'first\nsecond\n');
  const child = spawn(
    'kcat',
    ['-b', bootstrap(broker), '-C', '-u', '-t', 'doomed', '-o', 'beginning', '-f', '%s\n'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // A safety net, not an assertion: a consumer stuck in a retry loop never exits by itself.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  t.teardown(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.split('\n').length > 2) resolve();
    });
    child.on('close', () => resolve());
  });
  t.is(stdout, 'first\nsecond\n', stderr);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.deleteTopics({ topics: ['doomed'] });
  const code = await exited;
  t.not(code, 0);
  t.notRegex(stderr, /MessageSetSize|parse failure/i);
  t.regex(stderr, /unknown (topic|partition)/i);
});
