import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Broker } from '../../src/broker/broker.js';
import {
  acceptBootstrapAliases,
  acceptBrokerWithoutSubcommand,
  normalizeArguments,
} from '../../src/cli/one-dash-flags.js';
import { apiVersionsV0, type LogLine, runCli, startCli } from './helpers.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-seed-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

const listening = (line: LogLine): boolean => /listening on/.test(line.msg);

test('the seed way, `goqueue -config=broker.json` with no subcommand, starts a broker', async (t) => {
  const file = join(directory, 'broker.json');
  writeFileSync(
    file,
    JSON.stringify({
      data_dir: join(directory, 'seed-data'),
      client_addr: '127.0.0.1:0',
      raft_addr: '127.0.0.1:0',
    }),
  );
  const broker = await startCli([`-config=${file}`], listening);
  t.teardown(() => broker.child.kill('SIGKILL'));
  t.is((await apiVersionsV0(broker.match.port as number, 3)).errorCode, 0);
  broker.child.kill('SIGTERM');
  t.is((await broker.exit).code, 0);
});

test('only a command line that starts with a broker flag gets the broker subcommand', (t) => {
  const argv = (...args: string[]) => ['node', 'goqueue', ...args];
  t.deepEqual(normalizeArguments(argv('-config=b.json')), argv('broker', '--config=b.json'));
  t.deepEqual(normalizeArguments(argv('--data-dir', 'd')), argv('broker', '--data-dir', 'd'));
  for (const untouched of [
    argv('--help'),
    argv('-V'),
    argv('topic', 'list'),
    argv('broker', '-config=x'),
    argv(),
  ])
    t.deepEqual(acceptBrokerWithoutSubcommand(untouched), untouched);
});

test('--bootstrap-server and --brokers are --bootstrap for the client commands, not for broker', (t) => {
  const argv = (...args: string[]) => ['node', 'goqueue', ...args];
  t.deepEqual(
    acceptBootstrapAliases(
      argv('consume', 't', '--bootstrap-server', 'h:1', '--brokers=h:2', '--', '--brokers'),
    ),
    argv('consume', 't', '--bootstrap', 'h:1', '--bootstrap=h:2', '--', '--brokers'),
  );
  t.deepEqual(acceptBootstrapAliases(argv('broker', '--brokers', 'x')), argv('broker', '--brokers', 'x'));
});

test('goqueue topic list --bootstrap-server reaches the broker through the alias', async (t) => {
  const broker = await Broker.start({ dataDir: join(directory, 'alias'), host: '127.0.0.1', port: 0 });
  t.teardown(() => broker.stop());
  const address = `127.0.0.1:${broker.address.port}`;
  const created = await runCli(['topic', 'create', 'aliased', '--bootstrap-server', address]);
  t.is(created.code, 0, created.stderr);
  const listed = await runCli(['topic', 'list', `--brokers=${address}`]);
  t.regex(listed.stdout, /aliased/);
});

test('with log_file set, a start failure is in the file with its stack, and on the terminal once', async (t) => {
  const dataDir = join(directory, 'locked-file');
  const logFile = join(directory, 'locked-file.log');
  const holder = await Broker.start({ dataDir, host: '127.0.0.1', port: 0 });
  t.teardown(() => holder.stop());
  const result = await runCli([
    ...['broker', '--data-dir', dataDir, '--client-addr', '127.0.0.1:0', '--raft-addr', '127.0.0.1:0'],
    ...['--log-file', logFile],
  ]);
  t.is(result.code, 1);
  t.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  t.is(result.stdout, '');
  const logged = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine & { err?: { stack?: string } });
  const failure = logged.find((line) => line.level === 50);
  t.regex(failure?.msg ?? '', /cannot start the broker: data directory/);
  t.regex(failure?.err?.stack ?? '', /\n\s+at /);
});
