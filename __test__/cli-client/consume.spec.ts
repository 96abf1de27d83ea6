import test from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Producer } from '../../src/client/producer.js';
import { bootstrap, startBroker } from '../broker/helpers.js';
import { finished, spawnCli } from '../cli/helpers.js';
import { run } from './run.js';

const at = (broker: Broker) => ['--bootstrap', bootstrap(broker)];

/** A topic of one partition holding m0..m4 with timestamps 1000..5000; the first offset. */
async function fiveMessages(t: Parameters<typeof startBroker>[0], broker: Broker, topic: string) {
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: topic, partitions: 1 });
  const produced = await new Producer(client).produceMessage({
    topic,
    partition: 0,
    messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}`, timestamp: (i + 1) * 1000 })),
  });
  return { client, first: produced.baseOffset };
}

test('consume -o takes beginning, end, -N, +N, an offset and @<ms>, like kcat and rpk', async (t) => {
  const broker = await startBroker(t);
  const { first } = await fiveMessages(t, broker, 'positions');
  const consume = async (offset: string) =>
    (await run(['consume', 'positions', '-o', offset, '-e', ...at(broker)])).stdout
      .split('\n')
      .filter(Boolean);
  t.deepEqual(await consume('beginning'), ['m0', 'm1', 'm2', 'm3', 'm4']);
  t.deepEqual(await consume('end'), []);
  t.deepEqual(await consume('-2'), ['m3', 'm4']);
  t.deepEqual(await consume(String(first + 3)), ['m3', 'm4']);
  t.deepEqual(await consume(`+${first + 4}`), ['m4']);
  t.deepEqual(await consume('@3000'), ['m2', 'm3', 'm4']);
  t.deepEqual(await consume('@9999'), []);
  await t.throwsAsync(run(['consume', 'positions', '-o', 'middle', ...at(broker)]), {
    message: /-o\/--offset takes beginning, end, an offset, -N .* not "middle"/,
  });
  await t.throwsAsync(run(['consume', 'positions', '-o', '1', '--from-beginning', ...at(broker)]), {
    message: /--from-beginning and -o\/--offset both say where to start/,
  });
});

test('an offset past the end (or before the start) is refused with the partition range, with or without -e', async (t) => {
  const broker = await startBroker(t);
  const { first } = await fiveMessages(t, broker, 'range');
  const end = first + 5;
  for (const extra of [['-e'], []]) {
    await t.throwsAsync(run(['consume', 'range', '-o', '999', ...extra, ...at(broker)]), {
      message: new RegExp(
        `^offset 999 is out of range for range partition 0: it holds offsets \\d+ to ${end - 1}, and the next message gets offset ${end}; use -o beginning`,
      ),
    });
  }
  // The end itself is where new messages go: not an error.
  t.is((await run(['consume', 'range', '-o', String(end), '-e', ...at(broker)])).stdout, '');
});

test('goqueue consume with no flags keeps printing new messages until Ctrl-C, then exits 0; --bootstrap-server works', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true });
  const { client } = await fiveMessages(t, broker, 'live');
  const child = spawnCli(['consume', 'live', '--bootstrap-server', bootstrap(broker)]);
  t.teardown(() => child.kill('SIGKILL'));
  const exit = finished(child);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  // It starts at the end: the five old messages never show. New ones do, for as long as it runs
  // (produced until two have shown, since it may start after the first few).
  const producer = new Producer(client);
  for (let i = 0; stdout.split('\n').filter(Boolean).length < 2; i++) {
    await producer.produceMessage({ topic: 'live', partition: 0, messages: [{ value: `new${i}` }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGINT');
  const result = await exit;
  t.is(result.code, 0, result.stderr);
  const printed = result.stdout.split('\n').filter(Boolean);
  t.true(printed.length >= 2);
  for (const line of printed) t.regex(line, /^new\d+$/);
  // In order and without gaps from the first one printed.
  const first = Number(printed[0]!.slice(3));
  t.deepEqual(
    printed,
    printed.map((_, i) => `new${first + i}`),
  );
});
