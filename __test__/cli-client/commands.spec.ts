import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import { percentile } from '../../src/cli/client/bench.js';
import { Client } from '../../src/client/client.js';
import { bootstrap, repositoryRoot, startBroker } from '../broker/helpers.js';
import { assertFirstRecordFollowsControlBatches } from '../client/control-batches.js';
import { run } from './run.js';

const at = (broker: Broker) => ['--bootstrap', bootstrap(broker)];

test('topic create, list, describe and delete print what the cluster holds', async (t) => {
  const broker = await startBroker(t);
  t.regex(
    (await run(['topic', 'create', 'events', '--partitions', '3', ...at(broker)])).stdout,
    /created topic events with 3/,
  );
  const list = await run(['topic', 'list', ...at(broker)]);
  t.regex(list.stdout, /TOPIC\s+PARTITIONS\nevents\s+3/);
  const described = await run(['topic', 'describe', 'events', '--json', ...at(broker)]);
  const parsed = JSON.parse(described.stdout);
  t.is(parsed.partitions.length, 3);
  t.is(parsed.partitions[0].leader, broker.brokerId);
  const text = await run(['topic', 'describe', 'events', ...at(broker)]);
  t.regex(text.stdout, /PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+START\s+END/);
  await run(['topic', 'delete', 'events', ...at(broker)]);
  t.regex((await run(['topic', 'list', ...at(broker)])).stdout, /no topics/);
});

test('produce reads stdin lines with a key separator; consume prints them back as text and JSON', async (t) => {
  const broker = await startBroker(t);
  await run(['topic', 'create', 'lines', ...at(broker)]);
  const produced = await run(
    ['produce', 'lines', '--key-separator', ':', ...at(broker)],
    'k1:first\nsecond\nk3:third\n',
  );
  t.regex(produced.stderr, /produced 3 message/);
  const text = await run([
    'consume',
    'lines',
    '--from-beginning',
    '--exit-at-end',
    '--print-key',
    '--key-separator',
    '=',
    ...at(broker),
  ]);
  t.is(text.stdout, 'k1=first\n=second\nk3=third\n');
  const jsonRows = async (from: string[]) =>
    (await run(['consume', 'lines', ...from, '-e', '--format', 'json', ...at(broker)])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  // The offsets the broker gave: consecutive from the first record's, which follows the
  // partition leader's no-op (a control batch the consumer skips).
  const all = await jsonRows(['--from-beginning']);
  const first: number = all[0]?.offset;
  t.deepEqual(
    all.map((r) => [r.offset, r.key, r.value]),
    [
      [first, 'k1', 'first'],
      [first + 1, null, 'second'],
      [first + 2, 'k3', 'third'],
    ],
  );
  const client = new Client({ brokers: [bootstrap(broker)] });
  t.teardown(() => client.close());
  await assertFirstRecordFollowsControlBatches(t, client, 'lines', 0, first);
  const rows = await jsonRows(['--offset', String(first + 1)]);
  t.deepEqual(
    rows.map((r) => [r.offset, r.key, r.value]),
    [
      [first + 1, null, 'second'],
      [first + 2, 'k3', 'third'],
    ],
  );
  const latest = await run(['consume', 'lines', '-e', ...at(broker)]);
  t.is(latest.stdout, '', 'without --from-beginning only new messages are printed');
});

test('produce --file reads the file; consume --follow --max-messages stops after that many', async (t) => {
  const broker = await startBroker(t);
  const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, 'input.txt');
  writeFileSync(file, 'one\ntwo\nthree\n');
  await run(['topic', 'create', 'filed', ...at(broker)]);
  await run(['produce', 'filed', '--file', file, '--partition', '0', ...at(broker)]);
  const followed = await run([
    'consume',
    'filed',
    '--from-beginning',
    '--follow',
    '--max-messages',
    '2',
    ...at(broker),
  ]);
  t.is(followed.stdout, 'one\ntwo\n');
});

test('cluster shows the broker as controller', async (t) => {
  const broker = await startBroker(t);
  const out = await run(['cluster', ...at(broker)]);
  t.regex(
    out.stdout,
    new RegExp(`${broker.brokerId}\\s+127\\.0\\.0\\.1\\s+${broker.address.port}\\s+-\\s+controller`),
  );
});

test('bench produce and consume report msgs/s, MB/s and latency percentiles', async (t) => {
  const broker = await startBroker(t);
  const produced = await run([
    'bench',
    'produce',
    '--messages',
    '2000',
    '--size',
    '64',
    '--json',
    ...at(broker),
  ]);
  const summary = JSON.parse(produced.stdout);
  t.is(summary.messages, 2000);
  t.is(summary.bytes, 2000 * 64);
  t.true(summary.messagesPerSecond > 0);
  t.true(summary.latencyP99Ms >= summary.latencyP50Ms);
  const consumed = await run(['bench', 'consume', '--messages', '2000', ...at(broker)]);
  t.regex(consumed.stdout, /consume: 2000 msgs in .* msgs\/s, .* MB\/s, latency p50 .* ms, p99 .* ms/);
});

test('bench draws a live progress line on a terminal and none when piped', async (t) => {
  const broker = await startBroker(t);
  const onTty = await run(
    ['bench', 'produce', '--messages', '3000', '--batch', '50', ...at(broker)],
    '',
    true,
  );
  t.regex(onTty.stderr, /\rproduce \[#+\.*\] \d+\/3000 \d+ msgs\/s/);
  t.regex(onTty.stderr, /\rproduce \[#{30}\] 3000\/3000/);
  const piped = await run(['bench', 'produce', '--messages', '300', ...at(broker)]);
  t.is(piped.stderr, '');
});

test('percentile uses nearest rank', (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.is(percentile(values, 0.5), 50);
  t.is(percentile(values, 0.99), 99);
  t.is(percentile([7], 0.99), 7);
  t.is(percentile([], 0.5), 0);
});

test('the goqueue process reports an unknown topic in one line with exit code 1, and a bad flag with 2', async (t) => {
  const broker = await startBroker(t);
  const spawnCli = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import=tsx', join(repositoryRoot, 'src/cli/main.ts'), ...args],
        {
          cwd: repositoryRoot,
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('close', (code) => resolve({ code, stderr }));
    });
  const missing = await spawnCli(['consume', 'nope', '--from-beginning', '-e', ...at(broker)]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^goqueue: UNKNOWN_TOPIC_OR_PARTITION \[3\].*create the topic first/);
  t.is(missing.stderr.trim().split('\n').length, 1);
  const bad = await spawnCli(['consume', 'x', '--format', 'xml', ...at(broker)]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--format must be text or json/);
});
