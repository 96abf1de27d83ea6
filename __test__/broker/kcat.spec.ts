import test from 'ava';
import { bootstrap, kcat, startBroker } from './helpers.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const MESSAGE_COUNT = 10_000;

function messages(codec: string): string[] {
  return Array.from({ length: MESSAGE_COUNT }, (_, i) => `${codec}-message-${i}-${'x'.repeat(i % 97)}`);
}

for (const codec of CODECS) {
  test(`kcat produces ${MESSAGE_COUNT} ${codec}-compressed messages and reads them back identical and in order`, async (t) => {
    const broker = await startBroker(t, { autoCreateTopics: true });
    const topic = `kcat-${codec}`;
    const sent = messages(codec);
    await kcat(
      ['-b', bootstrap(broker), '-P', '-t', topic, '-z', codec, '-X', 'acks=all'],
      `${sent.join('\n')}\n`,
    );
    const received = await kcat([
      ...['-b', bootstrap(broker), '-C', '-t', topic, '-o', 'beginning', '-e', '-q'],
      ...['-f', '%o %s\n'],
    ]);
    const rows = received
      .split('\n')
      .slice(0, -1)
      .map((row) => row.split(' ') as [string, string]);
    t.deepEqual(
      rows.map(([, value]) => value),
      sent,
    );
    // One offset per record, consecutive: the leader's no-op (a control batch kcat skips) may
    // come first, so the offsets count from the first record's, not from 0.
    const firstOffset = Number(rows[0]?.[0]);
    t.deepEqual(
      rows.map(([offset]) => Number(offset)),
      sent.map((_, i) => firstOffset + i),
    );
    const offsets = await kcat(['-b', bootstrap(broker), '-Q', '-t', `${topic}:0:-1`]);
    t.regex(offsets, new RegExp(`offset ${firstOffset + MESSAGE_COUNT}\\b`));
  });
}

test('kcat with acks=1 and acks=0 stores every message of a partitioned auto-created topic', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true, defaultPartitions: 3 });
  const lines = Array.from({ length: 300 }, (_, i) => `key${i % 7}:value-${i}`);
  const half = lines.length / 2;
  await kcat(
    ['-b', bootstrap(broker), '-P', '-t', 'acks', '-K', ':', '-X', 'acks=1'],
    `${lines.slice(0, half).join('\n')}\n`,
  );
  await kcat(
    ['-b', bootstrap(broker), '-P', '-t', 'acks', '-K', ':', '-X', 'acks=0'],
    `${lines.slice(half).join('\n')}\n`,
  );
  // -c waits for every message (acks=0 gets no answer, so the count is the proof they were stored).
  const received = await kcat([
    '-b',
    bootstrap(broker),
    '-C',
    '-t',
    'acks',
    '-o',
    'beginning',
    '-c',
    String(lines.length),
    '-f',
    '%p %k:%s\n',
  ]);
  const rows = received.split('\n').slice(0, -1);
  t.deepEqual(rows.map((row) => row.split(' ')[1]).sort(), [...lines].sort());
  // A key always maps to one partition.
  const partitionOfKey = new Map<string, string>();
  for (const row of rows) {
    const [partition, keyed] = row.split(' ') as [string, string];
    const key = keyed.split(':')[0]!;
    t.is(partitionOfKey.get(key) ?? partition, partition);
    partitionOfKey.set(key, partition);
  }
  t.true(new Set(partitionOfKey.values()).size > 1);
});

test('kcat cannot produce to a topic that does not exist when auto-creation is off (the default)', async (t) => {
  const broker = await startBroker(t);
  const error = await t.throwsAsync(
    kcat(['-b', bootstrap(broker), '-P', '-t', 'missing', '-X', 'message.timeout.ms=2000'], 'lost\n'),
  );
  t.regex(error!.message, /Unknown topic|UNKNOWN_TOPIC|not available|timed out/i);
});
